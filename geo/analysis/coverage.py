"""Coverage: how far each part of the city is from the nearest NGO or civic venue.

For every cell of the hexagonal grid (:mod:`geo.analysis.grid`) we measure the distance from
the cell's centre (its centroid, or a point on its surface when a clipped cell's centroid falls
outside it) to the nearest target feature, on the ellipsoid (geography), in metres.

Nearest-neighbour search uses the GiST index of the target table through KNN (``<->``) on the
stored EPSG:4326 geometry. Degrees are not metres (at 50° N a degree of longitude is ~64 % of
a degree of latitude), so the feature nearest in degrees need not be nearest in metres; we take
the KNN distance ``dd`` (degrees) of the first feature and then measure every feature within
``dd · k`` degrees, where ``k = 1 / cos(latitude)`` of the city's most poleward point plus a
margin: no feature outside that band can be nearer (the exact bound, not a heuristic).

Each cell carries population: a district's residents spread evenly over its area, i.e.
``Σ_d population_d · area(cell ∩ d) / area(d)``. Cells farther than ``threshold_m`` from every
target are under-served; the result gives their population and the population-weighted mean
distance, for the city and per district.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from geo.analysis.grid import GRID_CTE, grid_params, grid_pop_cte
from geo.analysis.source import Source


@dataclass(frozen=True)
class CoverageCell:
    id: int
    geojson: str  # clipped cell, EPSG:4326
    area_m2: float
    lon: float  # the point distances are measured from (EPSG:4326)
    lat: float
    population: float  # estimated residents in the cell
    distance_m: float | None  # to the nearest target (None: there are no targets)
    nearest_id: int | None
    underserved: bool


@dataclass(frozen=True)
class DistrictCoverage:
    number: int
    name: str
    population: float  # residents attributed to the district's cells
    mean_distance_m: float | None  # population-weighted
    underserved_population: float
    underserved_share: float | None


@dataclass(frozen=True)
class CoverageResult:
    cells: list[CoverageCell]
    districts: list[DistrictCoverage]
    size: float
    threshold_m: float
    targets: int  # how many target features there are
    population: float
    mean_distance_m: float | None  # population-weighted, over the city
    underserved_population: float

    @property
    def underserved_share(self) -> float | None:
        return self.underserved_population / self.population if self.population else None


def coverage(
    conn: Connection,
    targets: Source,
    size: float = 500.0,
    *,
    threshold_m: float = 1000.0,
    city: str | None = None,
    baseline: str = "area",
) -> CoverageResult:
    """Distance from each grid cell to the nearest feature of ``targets``, with population."""
    if not threshold_m > 0:
        raise ValueError("threshold_m must be positive")
    tg_sql, params = targets.select(prefix="cv")
    params.update(grid_params(size, city))
    sql = f"""
        WITH {GRID_CTE},
        tg AS NOT MATERIALIZED ({tg_sql}),
        -- 1/cos(latitude) at the city's most poleward point, +2 % for the ellipsoid and the
        -- straight-line approximation over a few kilometres
        band AS MATERIALIZED (
            SELECT 1.02 / cos(radians(greatest(abs(ST_YMax(e)), abs(ST_YMin(e))) + 0.05)) AS k
            FROM (SELECT ST_Extent(ST_Transform(g, 4326)) AS e FROM grid_city) x
        ),
        cells AS MATERIALIZED (
            SELECT g.id, g.geom, g.area_m2,
                   ST_Transform(CASE WHEN ST_Intersects(g.geom, ST_Centroid(g.geom))
                                     THEN ST_Centroid(g.geom)
                                     ELSE ST_PointOnSurface(g.geom) END, 4326) AS c
            FROM grid g
        ),
        nearest AS (
            SELECT c.id, n.tid, n.dist
            FROM cells c
            CROSS JOIN band
            LEFT JOIN LATERAL (
                SELECT tg.geom <-> c.c AS dd FROM tg ORDER BY tg.geom <-> c.c LIMIT 1
            ) k ON true
            LEFT JOIN LATERAL (
                SELECT tg.id AS tid, ST_Distance(tg.geom::geography, c.c::geography) AS dist
                FROM tg
                WHERE ST_DWithin(tg.geom, c.c, k.dd * band.k)
                ORDER BY dist, tg.id
                LIMIT 1
            ) n ON k.dd IS NOT NULL
        ),
        {grid_pop_cte(baseline).lstrip()},
        pops AS (
            SELECT id, json_object_agg(number, population)::text AS pops
            FROM grid_pop GROUP BY id
        )
        SELECT c.id, ST_AsGeoJSON(ST_Transform(c.geom, 4326), 6), c.area_m2,
               ST_X(c.c), ST_Y(c.c), n.dist, n.tid,
               coalesce(pops.pops, '{{}}'), (SELECT count(*) FROM tg)
        FROM cells c JOIN nearest n ON n.id = c.id LEFT JOIN pops ON pops.id = c.id
        ORDER BY c.id"""
    import json

    rows = conn.execute(text(sql), params).all()
    cells: list[CoverageCell] = []
    per_district: dict[int, list[float]] = {}  # number -> [population, pop·dist, underserved]
    n_targets = int(rows[0][-1]) if rows else 0
    for cid, geojson, area, lon, lat, dist, tid, pops_json, _ in rows:
        pops = {int(k): float(v) for k, v in json.loads(pops_json).items()}
        population = sum(pops.values())
        underserved = dist is None or dist > threshold_m
        cells.append(
            CoverageCell(
                id=int(cid),
                geojson=geojson,
                area_m2=float(area),
                lon=float(lon),
                lat=float(lat),
                population=population,
                distance_m=float(dist) if dist is not None else None,
                nearest_id=int(tid) if tid is not None else None,
                underserved=underserved,
            )
        )
        for number, p in pops.items():
            acc = per_district.setdefault(number, [0.0, 0.0, 0.0])
            acc[0] += p
            acc[1] += p * (dist or 0.0)
            acc[2] += p if underserved else 0.0
    names = dict(conn.execute(text("SELECT number, name FROM districts")).all())
    has_targets = n_targets > 0
    districts = [
        DistrictCoverage(
            number=number,
            name=names.get(number, str(number)),
            population=acc[0],
            mean_distance_m=(acc[1] / acc[0]) if acc[0] and has_targets else None,
            underserved_population=acc[2],
            underserved_share=(acc[2] / acc[0]) if acc[0] else None,
        )
        for number, acc in sorted(per_district.items())
    ]
    total = sum(c.population for c in cells)
    weighted = sum(c.population * (c.distance_m or 0.0) for c in cells)
    return CoverageResult(
        cells=cells,
        districts=districts,
        size=float(size),
        threshold_m=float(threshold_m),
        targets=n_targets,
        population=total,
        mean_distance_m=(weighted / total) if total and has_targets else None,
        underserved_population=sum(c.population for c in cells if c.underserved),
    )


def rows(result: CoverageResult) -> list[dict[str, Any]]:
    """Cells as plain dicts (without geometry) for tables and CSV."""
    return [
        {
            "id": c.id,
            "population": round(c.population, 1),
            "distance_m": None if c.distance_m is None else round(c.distance_m, 1),
            "nearest_id": c.nearest_id,
            "underserved": c.underserved,
        }
        for c in result.cells
    ]
