"""GET /api/districts…: the district boundaries, one district, the district of a point (GeoJSON
built in SQL by geo.districts)."""

from __future__ import annotations

from flask import Blueprint, Response

from app.db import engine
from app.errors import ApiError
from app.params import float_arg
from geo import districts as gd

bp = Blueprint("api", __name__, url_prefix="/api")

GEOJSON = "application/geo+json"


def geojson_response(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype=GEOJSON)


@bp.get("/districts")
def districts():
    tol = float_arg("simplify", required=False, default=0.0, lo=0.0, hi=0.01)
    with engine().connect() as conn:
        return geojson_response(gd.districts_geojson(conn, tol))


@bp.get("/districts/<int:number>")
def district(number: int):
    tol = float_arg("simplify", required=False, default=0.0, lo=0.0, hi=0.01)
    with engine().connect() as conn:
        body = gd.district_geojson(conn, number, tol)
    if body is None:
        raise ApiError(404, "not_found", f"no district number {number}", "number")
    return geojson_response(body)


@bp.get("/districts/locate")
def locate():
    lon = float_arg("lon", lo=-180, hi=180)
    lat = float_arg("lat", lo=-90, hi=90)
    with engine().connect() as conn:
        found = gd.locate(conn, lon, lat)
    if found is None:
        raise ApiError(
            404, "outside_city", f"({lon}, {lat}) lies in no district of the city", "lon"
        )
    return found
