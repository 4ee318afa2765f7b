"""District queries. GeoJSON is built in the database and returned as text."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

_FEATURE = """
json_build_object(
    'type', 'Feature',
    'id', d.number,
    'geometry', ST_AsGeoJSON(
        CASE WHEN :tol > 0 THEN ST_SimplifyPreserveTopology(d.geom, :tol) ELSE d.geom END, 6
    )::json,
    'properties', json_build_object(
        'number', d.number, 'name', d.name, 'full_name', d.full_name,
        'area_km2', round((ST_Area(ST_Transform(d.geom, 2180)) / 1e6)::numeric, 3),
        'population', d.population, 'population_date', d.population_date,
        'population_label', d.population_label))
"""


def districts_geojson(conn: Connection, simplify: float = 0.0) -> str:
    """All districts as a FeatureCollection (simplify: tolerance in degrees, 0 = none)."""
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection',
                                 'features', coalesce(json_agg({_FEATURE} ORDER BY d.number), '[]'))::text
        FROM districts d"""
    return conn.execute(text(sql), {"tol": simplify}).scalar_one()


def district_geojson(conn: Connection, number: int, simplify: float = 0.0) -> str | None:
    sql = f"SELECT ({_FEATURE})::text FROM districts d WHERE d.number = :n"
    return conn.execute(text(sql), {"tol": simplify, "n": number}).scalar_one_or_none()


def list_districts(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            """SELECT number, name, full_name, population, population_date, population_label,
                      round((ST_Area(ST_Transform(geom, 2180)) / 1e6)::numeric, 2) AS area_km2,
                      ST_Y(ST_PointOnSurface(geom)) AS lat, ST_X(ST_PointOnSurface(geom)) AS lon
               FROM districts ORDER BY number"""
        )
    )
    return [dict(r._mapping) for r in rows]


def get_district(conn: Connection, number: int) -> dict[str, Any] | None:
    row = conn.execute(
        text(
            """SELECT number, name, full_name, population, population_date, population_label, source,
                      round((ST_Area(ST_Transform(geom, 2180)) / 1e6)::numeric, 2) AS area_km2,
                      ST_XMin(geom) AS west, ST_YMin(geom) AS south,
                      ST_XMax(geom) AS east, ST_YMax(geom) AS north
               FROM districts WHERE number = :n"""
        ),
        {"n": number},
    ).one_or_none()
    return dict(row._mapping) if row else None


def locate(conn: Connection, lon: float, lat: float) -> dict[str, Any] | None:
    """The district containing a point (GiST-indexed), or None outside the city."""
    row = conn.execute(
        text(
            """SELECT number, name, full_name FROM districts
               WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
               ORDER BY number LIMIT 1"""
        ),
        {"lon": lon, "lat": lat},
    ).one_or_none()
    return dict(row._mapping) if row else None


def city_bounds(conn: Connection) -> tuple[float, float, float, float] | None:
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM city) s"
        )
    ).one()
    return None if row[0] is None else tuple(row)  # type: ignore[return-value]
