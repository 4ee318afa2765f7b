"""Overlap with revitalisation areas: which features lie inside or near them, and the money.

A feature (point, line or polygon) is *inside* an area when it intersects it, and *near* it
when it does not but lies within ``distance_m`` metres (measured in EPSG:2180). A feature can
touch several areas: the per-area summary counts it in each, the totals count it once (inside
wins over near).

The join probes the GiST index of the features with each area's bounding box widened by the
distance in degrees, then tests in 4326 (inside) and 2180 (distance) on the candidates only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from geo.analysis.degrees import city_margins
from geo.analysis.source import REVITALISATION_TABLE, Source
from geo.schema import ident


@dataclass(frozen=True)
class RevitalisationHit:
    feature_id: int
    area_id: int
    inside: bool
    distance_m: float  # 0 when inside
    cost: float | None


@dataclass(frozen=True)
class AreaSummary:
    area_id: int
    name: str
    inside_count: int
    near_count: int
    inside_money: float
    near_money: float


@dataclass(frozen=True)
class RevitalisationResult:
    hits: list[RevitalisationHit]  # one per (feature, area) pair, by area then distance
    areas: list[AreaSummary]  # every area, also with nothing in or near it
    distance_m: float
    inside_count: int  # distinct features inside any area
    near_count: int  # distinct features near an area and inside none
    inside_money: float
    near_money: float


def revitalisation_overlap(
    conn: Connection,
    features: Source,
    areas: Source | None = None,
    distance_m: float = 250.0,
    *,
    cost_column: str | None = "cost",
    area_name_column: str = "name",
) -> RevitalisationResult:
    """Features of ``features`` inside or within ``distance_m`` of the ``areas`` polygons."""
    if not 0 <= distance_m <= 10_000:
        raise ValueError("distance_m must be between 0 and 10 000 metres")
    areas = areas or Source(REVITALISATION_TABLE)
    cost_sql = (
        "CAST(NULL AS float8)" if cost_column is None else f"CAST(t.{ident(cost_column)} AS float8)"
    )
    f_sql, params = features.select(prefix="rf", expressions={"cost": cost_sql})
    a_sql, a_params = areas.select({"name": area_name_column}, prefix="ra")
    params.update(a_params)
    dx, dy = city_margins(conn, max(distance_m, 1.0))
    params.update(dist=float(distance_m), dx=dx, dy=dy)
    sql = f"""
        WITH f AS NOT MATERIALIZED ({f_sql}),
        a AS MATERIALIZED (
            SELECT id, name, geom, ST_Transform(geom, 2180) AS g2180,
                   ST_Expand(geom, :dx, :dy) AS box
            FROM ({a_sql}) x
        ),
        cand AS (
            SELECT a.id AS area_id, f.id AS fid, f.cost, f.geom, a.geom AS ageom, a.g2180
            FROM a JOIN f ON f.geom && a.box
        ),
        hits AS (
            SELECT area_id, fid, cost, inside,
                   CASE WHEN inside THEN 0 ELSE ST_Distance(g2180, ST_Transform(geom, 2180)) END
                       AS dist
            FROM (SELECT cand.*, ST_Intersects(ageom, geom) AS inside FROM cand) x
            WHERE inside OR ST_DWithin(g2180, ST_Transform(geom, 2180), :dist)
        )
        SELECT area_id, fid, inside, dist, cost FROM hits ORDER BY area_id, dist, fid"""
    hits = [
        RevitalisationHit(
            feature_id=int(f),
            area_id=int(a),
            inside=bool(i),
            distance_m=float(d),
            cost=float(c) if c is not None else None,
        )
        for a, f, i, d, c in conn.execute(text(sql), params)
    ]
    names = {
        int(i): n
        for i, n in conn.execute(
            text(f"SELECT x.id, x.name FROM ({a_sql}) x ORDER BY x.id"), a_params
        )
    }
    per: dict[int, list[float]] = {i: [0, 0, 0.0, 0.0] for i in names}
    best: dict[int, RevitalisationHit] = {}
    for h in hits:
        acc = per.setdefault(h.area_id, [0, 0, 0.0, 0.0])
        k = 0 if h.inside else 1
        acc[k] += 1
        acc[2 + k] += h.cost or 0.0
        prev = best.get(h.feature_id)
        if prev is None or (h.inside and not prev.inside):
            best[h.feature_id] = h
    areas_out = [
        AreaSummary(
            area_id=i,
            name=names.get(i, str(i)),
            inside_count=int(acc[0]),
            near_count=int(acc[1]),
            inside_money=float(acc[2]),
            near_money=float(acc[3]),
        )
        for i, acc in sorted(per.items())
    ]
    inside = [h for h in best.values() if h.inside]
    near = [h for h in best.values() if not h.inside]
    return RevitalisationResult(
        hits=hits,
        areas=areas_out,
        distance_m=float(distance_m),
        inside_count=len(inside),
        near_count=len(near),
        inside_money=sum(h.cost or 0.0 for h in inside),
        near_money=sum(h.cost or 0.0 for h in near),
    )
