"""Metres ↔ degrees bounds, so that metric searches can use the GiST index of 4326 columns.

A box widened by these margins around a geometry certainly contains everything within the
given distance in metres (the exact test follows on the few candidates).
"""

from __future__ import annotations

import math

from sqlalchemy import Connection, text

# Metres per degree of latitude (the minimum over the ellipsoid) and of longitude at the equator.
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0


def degree_margins(distance_m: float, max_abs_lat: float) -> tuple[float, float]:
    """(dx, dy) in degrees covering ``distance_m`` metres anywhere up to ``max_abs_lat``."""
    dy = distance_m / M_PER_DEG_LAT * 1.01
    lat = math.radians(min(abs(max_abs_lat) + 0.1, 89.0))
    dx = distance_m / (M_PER_DEG_LON * math.cos(lat)) * 1.01
    return dx, dy


def city_max_abs_lat(conn: Connection) -> float:
    """The largest |latitude| of the city outline (60° when there is no city yet)."""
    value = conn.execute(
        text(
            "SELECT greatest(abs(ST_YMax(e)), abs(ST_YMin(e))) "
            "FROM (SELECT ST_Extent(geom) AS e FROM city) x"
        )
    ).scalar_one()
    return float(value) if value is not None else 60.0


def city_margins(conn: Connection, distance_m: float) -> tuple[float, float]:
    return degree_margins(distance_m, city_max_abs_lat(conn))
