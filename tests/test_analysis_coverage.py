"""geo.analysis.coverage: nearest NGO / venue per grid cell, population-weighted.

Distances are checked against an independent geodesic (pyproj.Geod, WGS 84) brute force.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod
from sqlalchemy import text

from geo.analysis.coverage import coverage, rows
from geo.analysis.source import Source

RYNEK = (19.9373, 50.0617)
GEOD = Geod(ellps="WGS84")
SIZE = 1000


def geodesic(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


@pytest.fixture(scope="module")
def targets(engine):
    with engine.begin() as conn:
        conn.execute(
            text(
                """CREATE TABLE t_targets (
                       id int PRIMARY KEY, geom geometry(Point, 4326) NOT NULL,
                       kind text NOT NULL, fields text[] NOT NULL DEFAULT '{}');
                   CREATE INDEX ON t_targets USING gist (geom);"""
            )
        )
        conn.execute(
            text(
                "INSERT INTO t_targets VALUES (1, ST_SetSRID(ST_MakePoint(:x, :y), 4326), 'rynek', '{culture}')"
            ),
            {"x": RYNEK[0], "y": RYNEK[1]},
        )
        # 30 random venues in the city, some tagged "education"
        conn.execute(
            text(
                """INSERT INTO t_targets (id, geom, kind, fields)
                   SELECT 100 + d.path[1], d.geom, 'random',
                          CASE WHEN d.path[1] % 3 = 0 THEN '{education}' ELSE '{}' END::text[]
                   FROM city, ST_Dump(ST_GeneratePoints(city.geom, 30, 5)) d"""
            )
        )


def test_one_target_distances_population_and_flags(engine, targets):
    with engine.connect() as conn:
        res = coverage(conn, Source("t_targets", filters={"kind": "rynek"}), SIZE, threshold_m=3000)
        population = dict(conn.execute(text("SELECT number, population FROM districts")).all())
    assert res.targets == 1 and len(res.cells) > 100
    for c in res.cells:
        assert c.nearest_id == 1
        assert c.distance_m == pytest.approx(geodesic(c.lon, c.lat, *RYNEK), abs=0.05)
        assert c.underserved == (c.distance_m > 3000)
    # residents: every district's population is spread over its cells, nothing lost
    assert res.population == pytest.approx(sum(population.values()), rel=1e-9)
    assert {d.number: d.population for d in res.districts} == pytest.approx(population, rel=1e-9)
    weighted = sum(c.population * c.distance_m for c in res.cells) / res.population
    assert res.mean_distance_m == pytest.approx(weighted)
    assert res.underserved_population == pytest.approx(
        sum(c.population for c in res.cells if c.underserved)
    )
    assert 0 < res.underserved_share < 1
    stare = next(d for d in res.districts if d.number == 1)  # Stare Miasto surrounds Rynek
    assert stare.mean_distance_m < 1500 and stare.underserved_population == 0
    assert rows(res)[0].keys() == {"id", "population", "distance_m", "nearest_id", "underserved"}


def test_nearest_is_nearest_in_metres_not_in_degrees(engine, targets):
    """A is 0.010° east (~716 m), B 0.007° north (~779 m) of a cell centre: B is nearer in
    degrees, A in metres. Then 30 random venues: every cell's nearest equals a brute force."""
    with engine.connect() as conn:
        base = coverage(conn, Source("t_targets", filters={"kind": "rynek"}), SIZE)
    centre = min(base.cells, key=lambda c: c.distance_m)  # the cell around Rynek
    lon, lat = centre.lon, centre.lat
    with engine.begin() as conn:
        conn.execute(
            text(
                """INSERT INTO t_targets VALUES
                   (2, ST_SetSRID(ST_MakePoint(:lon + 0.010, :lat), 4326), 'ab', '{}'),
                   (3, ST_SetSRID(ST_MakePoint(:lon, :lat + 0.007), 4326), 'ab', '{}')"""
            ),
            {"lon": lon, "lat": lat},
        )
        res = coverage(conn, Source("t_targets", filters={"kind": "ab"}), SIZE)
        venues = conn.execute(
            text("SELECT id, ST_X(geom), ST_Y(geom), fields FROM t_targets")
        ).all()
        conn.execute(text("DELETE FROM t_targets WHERE kind = 'ab'"))
    cell = next(c for c in res.cells if c.id == centre.id)
    assert cell.nearest_id == 2
    assert cell.distance_m == pytest.approx(geodesic(lon, lat, lon + 0.010, lat), abs=0.05)
    assert 700 < cell.distance_m < 730
    _matches_brute_force(res, [v for v in venues if v[0] in (2, 3)])

    with engine.connect() as conn:
        random = coverage(conn, Source("t_targets", filters={"kind": "random"}), SIZE)
        education = coverage(conn, Source("t_targets", contains={"fields": "education"}), SIZE)
    _matches_brute_force(random, [v for v in venues if v[0] >= 100])
    edu = [v for v in venues if "education" in v[3]]
    assert 0 < len(edu) < 30 and education.targets == len(edu)
    _matches_brute_force(education, edu)


def _matches_brute_force(res, venues) -> None:
    for c in res.cells:
        d = np.array([geodesic(c.lon, c.lat, x, y) for _, x, y, _ in venues])
        k = int(np.argmin(d))
        assert c.distance_m == pytest.approx(d[k], abs=0.05)
        # ties are broken by id; a different id must be exactly as near
        assert c.nearest_id == venues[k][0] or d[
            [v[0] for v in venues].index(c.nearest_id)
        ] == pytest.approx(d[k], abs=0.05)


def test_no_targets_means_everyone_is_underserved(engine, targets):
    with engine.connect() as conn:
        res = coverage(conn, Source("t_targets", filters={"kind": "none"}), SIZE)
        with pytest.raises(ValueError):
            coverage(conn, Source("t_targets"), SIZE, threshold_m=0)
    assert res.targets == 0 and res.mean_distance_m is None
    assert all(c.underserved and c.distance_m is None for c in res.cells)
    assert res.underserved_share == pytest.approx(1.0)
