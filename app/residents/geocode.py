"""GET /api/geocode?q=&limit=&kind= — the offline gazetteer as GeoJSON (geo/gazetteer.py).

Used by the propose form's address search and by any map search box. Nothing leaves the
machine: the answer comes from the local ``gazetteer`` table (OSM places, civic-place
addresses, district names, and PRG address points when imported).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from app import engine
from app.errors import ApiError
from app.params import int_arg
from geo import gazetteer

bp = Blueprint("geocode", __name__, url_prefix="/api")


@bp.get("/geocode")
def geocode():
    limit = int_arg("limit", default=8)
    kinds = tuple(k for k in (request.args.get("kind") or "").split(",") if k)
    bad = [k for k in kinds if k not in gazetteer.KINDS]
    if bad:
        raise ApiError(
            400,
            "invalid_parameter",
            f"parameter 'kind': unknown kind {bad[0]!r}; known: {', '.join(gazetteer.KINDS)}",
            "kind",
        )
    try:
        query = gazetteer.check_query(request.args.get("q"), limit)
    except gazetteer.QueryError as exc:
        raise ApiError(400, "invalid_parameter", str(exc), exc.field) from None
    if kinds:
        query = gazetteer.GeocodeQuery(q=query.q, limit=query.limit, kinds=kinds)
    with engine().connect() as conn:
        body = gazetteer.search(conn, query)
    resp = Response(body, mimetype="application/geo+json")
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp
