"""The public pages: the city map, the district pages, the layer lists and the permalinks.

Two blueprints, ``pages`` (``/``, ``/districts/<n>``) and ``layer_pages`` (``/layers…``);
their templates are app/templates/layers/. No SQL here: the lists come from layers.query,
the districts from geo.districts.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.assets import vendor_url
    from app.public import layers, pages

    app.add_template_global(vendor_url, "vendor_url")
    app.register_blueprint(pages.bp)
    app.register_blueprint(layers.bp)
