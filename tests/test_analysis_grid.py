"""geo.analysis.grid and geo.analysis.source, on the real Kraków outline in PostGIS."""

from __future__ import annotations

import json
import math

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import text

from geo.analysis.grid import check_size, hex_area, hex_grid, neighbours
from geo.analysis.source import Source, union_sql

RYNEK = (19.9373, 50.0617)  # Rynek Główny, lon/lat


@pytest.fixture(scope="module")
def cells500(engine):
    with engine.connect() as conn:
        return hex_grid(conn, 500)


def test_cells_tile_the_city_exactly(engine, cells500):
    with engine.connect() as conn:
        city_m2 = conn.execute(text("SELECT ST_Area(ST_Transform(geom, 2180)) FROM city")).scalar()
    assert sum(c.area_m2 for c in cells500) == pytest.approx(city_m2, rel=1e-9)
    assert 500 < len(cells500) < 650  # Kraków is ~326 km², a 500 m cell ~0.65 km²


def test_cells_are_equal_area_hexagons_clipped_at_the_edge(cells500):
    full = hex_area(500)
    assert full == pytest.approx(649_519.05, abs=0.01)
    inner = [c for c in cells500 if c.share == pytest.approx(1.0)]
    assert len(inner) > 0.6 * len(cells500)
    for c in inner:
        assert c.area_m2 == pytest.approx(full, rel=1e-9)
    assert all(0 < c.share <= 1 + 1e-9 for c in cells500)
    assert all(c.area_m2 == pytest.approx(c.share * full, rel=1e-9) for c in cells500)


def test_ids_are_stable_and_cells_unique(engine, cells500):
    assert [c.id for c in cells500] == list(range(1, len(cells500) + 1))
    assert len({(c.i, c.j) for c in cells500}) == len(cells500)
    with engine.connect() as conn:
        again = hex_grid(conn, 500)
    assert [(c.id, c.i, c.j) for c in again] == [(c.id, c.i, c.j) for c in cells500]


def test_geometry_is_lon_lat_and_rynek_falls_in_one_cell(cells500):
    rynek = Point(*RYNEK)
    holders = [c for c in cells500 if shape(json.loads(c.geojson)).covers(rynek)]
    assert len(holders) == 1
    # the cell centre (EPSG:2180) is within one circumradius of Rynek (~ x 566 km, y 244 km)
    from geo.crs import transform_xy

    x, y = transform_xy(*RYNEK, 4326, 2180)
    assert 560_000 < x < 575_000 and 240_000 < y < 250_000
    assert math.hypot(holders[0].x - x, holders[0].y - y) <= 500 + 1e-6


def test_neighbours_rings(cells500):
    nb1 = neighbours(cells500, 500, rings=1)
    nb2 = neighbours(cells500, 500, rings=2)
    inner = next(
        k
        for k, c in enumerate(cells500)
        if len(nb2[k]) == 18 and all(cells500[n].share == pytest.approx(1.0) for n in nb2[k])
    )
    assert len(nb1[inner]) == 6
    assert set(nb1[inner]) < set(nb2[inner])
    assert all(k not in nb1[k] for k in range(len(cells500)))
    # symmetric
    assert all(k in nb1[n] for k in range(len(cells500)) for n in nb1[k])
    with pytest.raises(ValueError):
        neighbours(cells500, 500, rings=0)


@pytest.mark.parametrize("bad", [0, -5, 10, float("nan"), float("inf"), 1e6])
def test_size_is_checked(bad):
    with pytest.raises(ValueError):
        check_size(bad)


# --------------------------------------------------------------------------- Source


@pytest.mark.parametrize(
    "kwargs",
    [
        {"table": "budget_proposals; DROP TABLE city"},
        {"table": "Budget"},
        {"table": "t", "geom": "geom)--"},
        {"table": "t", "filters": {"status = 'x' OR 1=1 --": "a"}},
        {"table": "t", "contains": {'fields"': "a"}},
        {},
        {"table": "t", "query": "SELECT 1"},
    ],
)
def test_source_refuses_unsafe_names(kwargs):
    with pytest.raises(ValueError):
        Source(**kwargs)


def test_source_binds_values_and_builds_filters():
    src = Source(
        "ngo_locations",
        filters={"status": ["a", "b"], "edition": 2024, "hidden_at": None},
        contains={"fields": "O'Reilly"},
        where="t.demo = :demo",
        params={"demo": False},
    )
    sql, params = src.select({"name": "name"}, prefix="q")
    assert "O'Reilly" not in sql and "2024" not in sql
    assert "t.edition = :q_f0" in sql and "t.hidden_at IS NULL" in sql
    assert "t.status = ANY(:q_f2)" in sql and ":q_c0 = ANY(t.fields)" in sql
    assert params == {"demo": False, "q_f0": 2024, "q_f2": ["a", "b"], "q_c0": "O'Reilly"}
    both, p2 = union_sql([Source("a", filters={"x": 1}), Source("b", filters={"x": 2})])
    assert both.count("UNION ALL") == 1 and p2 == {"s0_f0": 1, "s1_f0": 2}


def test_source_filter_values_cannot_inject(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE src_probe (id int, geom geometry(Point, 4326), tag text)"))
        conn.execute(
            text(
                "INSERT INTO src_probe VALUES (1, ST_SetSRID(ST_MakePoint(19.93, 50.06), 4326), "
                "'x'' OR ''1''=''1'), (2, ST_SetSRID(ST_MakePoint(19.94, 50.06), 4326), 'y')"
            )
        )
        sql, params = Source("src_probe", filters={"tag": "x' OR '1'='1"}).select()
        assert [r[0] for r in conn.execute(text(sql), params)] == [1]
        conn.execute(text("DROP TABLE src_probe"))
