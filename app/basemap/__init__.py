"""The basemap through our own host: ``/basemap/{z}/{x}/{y}.png`` (geo.basemap does the work).

Configuration (``CIVICMAP_*`` environment variables, or ``create_app({...})``):

- ``BASEMAP_UPSTREAM``: ``osm`` (https://tile.openstreetmap.org/{z}/{x}/{y}.png), ``none``,
  or a template URL (``{z}/{x}/{y}`` or ``{bbox}`` for WMS). Unset: the older ``BASEMAP``
  setting (``none``/``osm``/URL) decides.
- ``BASEMAP_ATTRIBUTION`` (default "© OpenStreetMap contributors" for OSM, else required),
  ``BASEMAP_ATTRIBUTION_URL``, ``BASEMAP_USER_AGENT``, ``BASEMAP_CACHE_MB`` (200),
  ``BASEMAP_CACHE_DIR`` (var/basemap/<upstream hash>), ``BASEMAP_MIN_ZOOM`` (9),
  ``BASEMAP_MAX_ZOOM`` (19).

Pages talk only to us, so the CSP's img-src stays 'self'.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from geo import basemap as gb
from geo.config import VAR_DIR

bp = Blueprint("basemap", __name__)

TILE_URL = "/basemap/{z}/{x}/{y}.png"


def _int(value: str, name: str) -> int:
    if not value.isdigit() or len(value) > 8:
        raise gb.BasemapError(f"{name} must be a whole number", name)
    return int(value)


def _cache(app: Flask) -> gb.TileCache:
    cache = app.extensions.get("basemap")
    if cache is not None:
        return cache
    cfg = app.config
    setting = cfg.get("BASEMAP_UPSTREAM")
    url = gb.resolve(setting if setting is not None else cfg.get("BASEMAP", "none"))
    upstream = None
    if url:
        attribution = cfg.get("BASEMAP_ATTRIBUTION") or (
            gb.OSM_ATTRIBUTION if "openstreetmap.org" in url else "© tile source"
        )
        lat, lon = app.extensions["city"].center
        upstream = gb.Upstream(
            url=url,
            attribution=attribution,
            attribution_url=cfg.get("BASEMAP_ATTRIBUTION_URL")
            or (gb.OSM_COPYRIGHT if "openstreetmap.org" in url else ""),
            min_zoom=int(cfg.get("BASEMAP_MIN_ZOOM", 9)),
            max_zoom=int(cfg.get("BASEMAP_MAX_ZOOM", 19)),
            bounds=(lon - 0.6, lat - 0.35, lon + 0.6, lat + 0.35),
        )
    key = hashlib.sha256((url or "none").encode()).hexdigest()[:12]
    root = Path(cfg.get("BASEMAP_CACHE_DIR") or VAR_DIR / "basemap" / key)
    cache = gb.TileCache(
        root,
        upstream,
        user_agent=cfg.get("BASEMAP_USER_AGENT") or gb.DEFAULT_USER_AGENT,
        max_bytes=int(float(cfg.get("BASEMAP_CACHE_MB", 200)) * 1024 * 1024),
        timeout=float(cfg.get("BASEMAP_TIMEOUT", 5)),
    )
    app.extensions["basemap"] = cache
    return cache


def basemap_spec() -> dict[str, Any] | None:
    """What app/maps.py needs to draw the basemap (None when none is configured)."""
    up = _cache(current_app).upstream
    if up is None:
        return None
    return {
        "url": TILE_URL,
        "attribution": up.attribution,
        "attribution_url": up.attribution_url,
        "min_zoom": up.min_zoom,
        "max_zoom": up.max_zoom,
    }


@bp.get("/basemap/<z>/<x>/<y>.png")
def tile(z: str, x: str, y: str):
    cache = _cache(current_app)
    try:
        zi, xi, yi = _int(z, "z"), _int(x, "x"), _int(y, "y")
        t = cache.get(zi, xi, yi)
    except gb.BasemapError as exc:
        body = {"error": {"code": "invalid_tile", "message": str(exc), "field": exc.param}}
        return jsonify(body), exc.status
    except gb.Unavailable as exc:
        resp = Response(f"basemap unavailable: {exc}\n", 503, mimetype="text/plain")
        resp.headers["Retry-After"] = "30"
        resp.headers["Cache-Control"] = "no-store"
        return resp
    if request.if_none_match.contains(t.etag.strip('"')):
        resp = Response(status=304)
    else:
        resp = Response(t.body, mimetype=t.content_type)
    resp.headers["ETag"] = t.etag
    resp.headers["Cache-Control"] = f"public, max-age={t.max_age}"
    resp.headers["X-Basemap-Source"] = t.source
    return resp
