"""MSIP and GIS clients: OGC API – Features at /ogc, the GIS exports at /exports, and the
administrators' sync log.

Three blueprints: ``ogc`` (app/ogc/routes.py, its OpenAPI document in openapi.py, the
parameters in common.py), ``exports`` and ``sync_log`` (app/ogc/exports.py). The features
come from the one read path, layers.query; the collections from layers.collections.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.ogc import exports, routes, tiles

    app.register_blueprint(routes.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(exports.admin_bp)
    app.register_blueprint(tiles.bp)  # OGC API – Tiles (issue 11)
