"""GIS exports of every public layer (and the districts): ``/exports/<layer>.<fmt>``, and the
administrators' sync log (``/admin/sync-log``).

The collections, the rows (from layers.query) and the writing (geo.export) are in
layers.collections, shared with the CLI (``civicmap export``); this module parses the
request and sends the file. Every export is recorded in ``sync_log``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, Response, current_app, request, url_for

from app.db import engine
from app.errors import ApiError
from app.ogc.common import client_label
from geo import export as gx
from layers.collections import collections, district_count, export_collection, get_collection

bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.get("/")
def index():
    out = []
    for c in collections():
        out.append(
            {
                "layer": c.name,
                "title": c.layer.title("pl"),
                "formats": {
                    k: url_for("exports.download", filename=f"{c.name}.{k}", _external=True)
                    for k in gx.FORMATS
                },
            }
        )
    return {
        "exports": out,
        "crs": [gx.crs_label(s) for s in (4326, 2180, 2178, 3857)],
        "parameters": {"crs": "EPSG:2178 …", "district": "1–18"},
    }


@bp.get("/<filename>")
def download(filename: str):
    name, _, fmt = filename.partition(".")
    coll = get_collection(name)
    if coll is None:
        raise ApiError(404, "not_found", f"no public layer named {name!r}", "layer")
    if not fmt:
        raise ApiError(
            404, "not_found", f"name a format: {name}.gpkg, .shp, .geojson, .csv or .kml", "format"
        )
    try:
        f = gx.get_format(fmt)
        crs_raw = request.args.get("crs")
        srid = gx.parse_crs(crs_raw) if crs_raw else (f.fixed_crs or 4326)
        srid = gx.check_crs(f, srid)
    except gx.ExportError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), exc.parameter) from None
    district = _district_arg()
    tmp = Path(tempfile.mkdtemp(prefix="civicmap-export-"))
    try:
        path, _n = export_collection(
            engine(),
            coll,
            f.key,
            srid,
            district,
            out_dir=tmp,
            client=client_label(),
            url=request.url,
        )
        body = path.read_bytes()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    resp = Response(body, mimetype=f.media_type.split(";")[0])
    if ";" in f.media_type:
        resp.headers["Content-Type"] = f.media_type
    resp.headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _district_arg() -> int | None:
    raw = request.args.get("district")
    if raw in (None, ""):
        return None
    with engine().connect() as conn:
        n = district_count(conn)
    if not raw.isdigit() or not 1 <= int(raw) <= n:
        raise ApiError(
            400, "invalid_parameter", f"parameter 'district' must be a number 1–{n}", "district"
        )
    return int(raw)


def admin_allowed() -> bool:
    """Administrators only: a signed-in user with the ``admin`` role (app.auth), or a
    machine holding the deployment's ``ADMIN_TOKEN`` (``X-Admin-Token: <token>`` or
    ``Authorization: Bearer <token>``). With neither, the sync log is closed.
    """
    import hmac

    try:
        from app.auth import current_user
    except ImportError:  # accounts not installed
        current_user = None  # type: ignore[assignment]
    user = current_user() if current_user is not None else None
    if user is not None and user.has_role("admin"):
        return True
    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        return False
    given = request.headers.get("X-Admin-Token") or ""
    auth = request.headers.get("Authorization") or ""
    if not given and auth.startswith("Bearer "):
        given = auth[7:]
    return hmac.compare_digest(given.encode(), str(token).encode())


admin_bp = Blueprint("sync_log", __name__)


@admin_bp.get("/admin/sync-log")
def sync_log():
    if not admin_allowed():
        raise ApiError(403, "forbidden", "the sync log is for administrators", None)
    limit = request.args.get("limit", "200")
    if not limit.isdigit() or not 1 <= int(limit) <= 5000:
        raise ApiError(400, "invalid_parameter", "parameter 'limit' must be 1–5000", "limit")
    layer = request.args.get("layer") or None
    op = request.args.get("op") or None
    with engine().connect() as conn:
        rows = gx.read_sync_log(conn, limit=int(limit), layer=layer, op=op)
    return {"entries": rows, "count": len(rows)}
