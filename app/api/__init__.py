"""The JSON API the maps and other systems use: /api/districts… and /api/layers….

Three blueprints, ``api`` (districts), ``api_layers`` (every registered public layer) and
``api_openapi`` (its OpenAPI document, /api/openapi.json); the features come from the one
read path, layers.query.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.api import districts, layers, openapi

    app.register_blueprint(districts.bp)
    app.register_blueprint(layers.bp)
    app.register_blueprint(openapi.bp)
