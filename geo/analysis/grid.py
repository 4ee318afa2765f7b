"""An equal-area hexagonal grid over the city, in EPSG:2180 (PUWG 1992).

``ST_HexagonGrid`` tiles the plane from the CRS origin, so a cell's ``(i, j)`` is stable for a
given size: the same place gets the same cell in every analysis and every run. Cells are
clipped to the city outline (table ``city``); a clipped cell keeps its full-hexagon ``hex``
for counting and neighbour relations and reports its clipped ``area_m2`` and ``share`` (the
clipped fraction of a full hexagon), which the statistics need at the city edge.

``size`` is the hexagon's edge length (= circumradius) in metres: a full cell covers
``3·√3/2·size²`` m² (size 500 m ≈ 0.65 km², about 575 cells over Kraków).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

MIN_SIZE = 50.0
MAX_SIZE = 10_000.0


def hex_area(size: float) -> float:
    """Area in m² of a full hexagon with edge length ``size`` metres."""
    return 3.0 * math.sqrt(3.0) / 2.0 * size * size


def check_size(size: float) -> float:
    size = float(size)
    if not math.isfinite(size) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"grid size must be between {MIN_SIZE:g} and {MAX_SIZE:g} metres")
    return size


def grid_params(size: float, city: str | None = None) -> dict[str, Any]:
    return {"grid_size": check_size(size), "grid_city": city}


# A WITH-list that ends in a CTE named ``grid`` with columns:
#   id (1..n, ordered by i, j), i, j, hex (full hexagon, 2180), geom (clipped, 2180),
#   hex4326 (full hexagon, 4326: probe the GiST indexes of 4326 tables with it),
#   area_m2 (clipped), share (clipped area / full hexagon area), cx, cy (hexagon centre, 2180).
# Parameters: :grid_size, :grid_city (NULL = every row of `city`).
# Hexagons wholly inside the city (ST_Covers against the whole outline, which PostGIS
# prepares once as the same geometry repeats) are kept as they are; only boundary hexagons
# are clipped, against ST_Subdivide pieces of the outline rather than its 8 800 vertices.
GRID_CTE = """
grid_city AS MATERIALIZED (
    SELECT ST_Transform(ST_CollectionExtract(ST_Collect(geom), 3), 2180) AS g
    FROM city WHERE CAST(:grid_city AS text) IS NULL OR slug = CAST(:grid_city AS text)
),
grid_parts AS MATERIALIZED (SELECT ST_Subdivide(g, 256) AS g FROM grid_city),
grid_hex AS MATERIALIZED (
    SELECT h.i, h.j, h.geom AS hex, ST_Covers(c.g, h.geom) AS is_inner
    FROM grid_city c, ST_HexagonGrid(CAST(:grid_size AS float8), c.g) h
    WHERE ST_Intersects(c.g, h.geom)
),
grid_clip AS MATERIALIZED (
    SELECT i, j, hex, ST_Multi(hex) AS geom FROM grid_hex WHERE is_inner
    UNION ALL
    SELECT gh.i, gh.j, gh.hex,
           ST_Multi(ST_CollectionExtract(ST_Union(ST_Intersection(gh.hex, p.g)), 3)) AS geom
    FROM grid_hex gh JOIN grid_parts p ON ST_Intersects(gh.hex, p.g)
    WHERE NOT gh.is_inner
    GROUP BY gh.i, gh.j, gh.hex
),
grid AS MATERIALIZED (
    SELECT row_number() OVER (ORDER BY i, j)::int AS id, i, j, hex, geom,
           ST_Transform(hex, 4326) AS hex4326,
           ST_Area(geom) AS area_m2,
           ST_Area(geom) / ST_Area(hex) AS share,
           ST_X(ST_Centroid(hex)) AS cx, ST_Y(ST_Centroid(hex)) AS cy
    FROM grid_clip
    WHERE NOT ST_IsEmpty(geom) AND ST_Area(geom) > 0
)"""


# Follows GRID_CTE: ``grid_pop`` (id, number, population) — the residents of district
# ``number`` living in cell ``id``. Districts lie inside the city, so the full hexagon can
# stand in for the clipped cell, and its 7 vertices are cheap to intersect; only hexagons on a
# district boundary are intersected at all. The district is the outer loop (LATERAL ...
# OFFSET 0) so that PostGIS prepares its polygon once for all hexagons.
#
# How a district's registered residents are spread over its cells is the *baseline*:
#
# * ``area`` — evenly over the district's area, fields, forests and the steelworks included:
#   population_d · area(cell ∩ d) / area(d). Simple, and wrong wherever a district is
#   half empty (Nowa Huta, Swoszowice).
# * ``settlement`` — where people live: a cell weighs its area times (SETTLEMENT_FLOOR + the
#   number of *settlement marks* within SETTLEMENT_RADIUS_M of it: address points, schools,
#   named neighbourhoods and quarters); population_d · w(cell) / Σ w over the district's
#   cells. A block estate with many marks outweighs a village with one, and a field with
#   none keeps only the floor. With the national
#   address register (PRG, every dwelling's address) loaded this is a dasymetric map of
#   where people live; with the shipped data it leans on ~1 500 OSM points (named
#   places, civic-place addresses, schools) — far better than area, still a proxy.
BASELINES = ("settlement", "area")
SETTLEMENT_RADIUS_M = 400.0
SETTLEMENT_FLOOR = 0.05
SETTLEMENT_KINDS = ("address", "neighbourhood", "quarter")
SETTLEMENT_VENUES = ("school",)

_GRID_SHARES = """
grid_district AS MATERIALIZED (
    SELECT number, g, population::float8 AS population
    FROM (SELECT number, population, ST_Transform(geom, 2180) AS g FROM districts
          WHERE population IS NOT NULL) x
),
grid_share AS MATERIALIZED (
    SELECT x.id, d.number, d.population, x.area
    FROM grid_district d
    CROSS JOIN LATERAL (
        SELECT g.id,
               ST_Area(CASE WHEN ST_Covers(d.g, g.hex) THEN g.hex
                            ELSE ST_Intersection(d.g, g.hex) END) AS area
        FROM grid g WHERE ST_Intersects(d.g, g.hex)
        OFFSET 0
    ) x
)"""

_AREA_POP = """,
grid_pop AS MATERIALIZED (
    SELECT id, number,
           population * area / nullif(sum(area) OVER (PARTITION BY number), 0) AS population
    FROM grid_share
)"""

# one GiST probe per cell on each point table (their geometries are EPSG:4326)
_SETTLED_POP = f""",
grid_settled AS MATERIALIZED (
    SELECT g.id,
           (SELECT count(*) FROM gazetteer z
            WHERE z.kind IN ({", ".join(f"'{k}'" for k in SETTLEMENT_KINDS)})
              AND ST_Intersects(z.geom, b.buf))
         + (SELECT count(*) FROM civic_venues v
            WHERE v.type IN ({", ".join(f"'{k}'" for k in SETTLEMENT_VENUES)})
              AND ST_Intersects(v.geom, b.buf)) AS marks
    FROM grid g
    CROSS JOIN LATERAL (SELECT ST_Transform(ST_Buffer(g.hex, {SETTLEMENT_RADIUS_M}), 4326) AS buf) b
),
grid_pop AS MATERIALIZED (
    SELECT s.id, s.number,
           s.population * w.w / nullif(sum(w.w) OVER (PARTITION BY s.number), 0) AS population
    FROM grid_share s JOIN grid_settled t ON t.id = s.id
    CROSS JOIN LATERAL (SELECT s.area * ({SETTLEMENT_FLOOR} + t.marks) AS w) w
)"""


def grid_pop_cte(baseline: str = "settlement") -> str:
    """The ``grid_pop`` CTEs (after GRID_CTE) for one of BASELINES."""
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {', '.join(BASELINES)}")
    return _GRID_SHARES + (_SETTLED_POP if baseline == "settlement" else _AREA_POP)


GRID_POP_CTE = grid_pop_cte("area")  # the even spread (kept for callers that name it)


@dataclass(frozen=True)
class Cell:
    id: int
    i: int
    j: int
    geojson: str  # the clipped cell, EPSG:4326, 6 decimals
    area_m2: float
    share: float  # clipped area / full hexagon area (1.0 inside the city)
    x: float  # hexagon centre, EPSG:2180
    y: float


def hex_grid(conn: Connection, size: float, city: str | None = None) -> list[Cell]:
    """The grid's cells (ordered by id)."""
    rows = conn.execute(
        text(
            f"""WITH {GRID_CTE}
            SELECT id, i, j, ST_AsGeoJSON(ST_Transform(geom, 4326), 6), area_m2, share, cx, cy
            FROM grid ORDER BY id"""
        ),
        grid_params(size, city),
    )
    return [Cell(*r) for r in rows]


def neighbours(cells: list[Cell], size: float, rings: int = 1) -> list[list[int]]:
    """For each cell (by position in ``cells``), the positions of cells within ``rings`` rings.

    Hexagon centres one ring apart are √3·size apart; ``rings`` rings is a distance band of
    rings·√3·size on the full-hexagon centres (ring 2 adds 12 cells, all within 2·√3·size).
    A cell is not its own neighbour.
    """
    from scipy.spatial import cKDTree

    if rings < 1:
        raise ValueError("rings must be at least 1")
    if not cells:
        return []
    xy = np.array([(c.x, c.y) for c in cells])
    tree = cKDTree(xy)
    band = rings * math.sqrt(3.0) * check_size(size) * 1.01
    found = tree.query_ball_point(xy, r=band)
    return [sorted(k for k in ks if k != n) for n, ks in enumerate(found)]
