"""geo.analysis.revitalisation: features inside or near revitalisation areas, and the money.

Two overlapping round areas (300 m radius) around Rynek (A) and 500 m east of it (B); the
features are placed in metres (EPSG:2180) relative to Rynek so every expectation is known.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.analysis.revitalisation import revitalisation_overlap
from geo.analysis.source import Source
from geo.schema import feature_table_sql

RYNEK = (19.9373, 50.0617)

# ref, cost, WKT in metres relative to Rynek
FEATURES = [
    (1, 100, "POINT(0 0)"),  # inside A; 200 m from B
    (2, 200, "POINT(-400 0)"),  # 100 m outside A
    (3, 400, "POINT(-1500 0)"),  # far from both
    (4, 50, "LINESTRING(-50 -250, -50 -450)"),  # crosses A's edge: inside A
    (5, 25, "POLYGON((830 -20, 870 -20, 870 20, 830 20, 830 -20))"),  # 30 m outside B
    (6, 1000, "POINT(250 0)"),  # inside A and inside B
    (7, None, "POINT(-100 100)"),  # inside A, no cost
]


# A shape given in metres around Rynek (EPSG:2180 offsets) as EPSG:4326 (parameter :wkt).
AROUND_RYNEK = f"""
    SELECT ST_Transform(ST_Translate(ST_SetSRID(ST_GeomFromText(:wkt), 2180), ST_X(p), ST_Y(p)), 4326)
    FROM ST_Transform(ST_SetSRID(ST_MakePoint({RYNEK[0]}, {RYNEK[1]}), 4326), 2180) p"""


@pytest.fixture(scope="module")
def layers(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql(
            feature_table_sql(
                "t_rev_f", "ref int, cost numeric", ("Point", "LineString", "Polygon"), True
            )
        )
        conn.exec_driver_sql(
            feature_table_sql("t_rev_a", "name text", ("Polygon", "MultiPolygon"), True)
        )
        for name, wkt in (("A", "POINT(0 0)"), ("B", "POINT(500 0)")):
            conn.execute(
                text(
                    "INSERT INTO t_rev_a (name, geom) SELECT :name, "
                    f"ST_Transform(ST_Buffer(ST_Transform(g, 2180), 300), 4326) FROM ({AROUND_RYNEK}) x(g)"
                ),
                {"name": name, "wkt": wkt},
            )
        for ref, cost, wkt in FEATURES:
            conn.execute(
                text(
                    f"INSERT INTO t_rev_f (ref, cost, geom) SELECT :ref, :cost, g FROM ({AROUND_RYNEK}) x(g)"
                ),
                {"ref": ref, "cost": cost, "wkt": wkt},
            )
        fids = dict(conn.execute(text("SELECT id, ref FROM t_rev_f")).all())
        aids = dict(conn.execute(text("SELECT name, id FROM t_rev_a")).all())
    return fids, aids


def test_inside_near_money_per_area_and_in_total(engine, layers):
    fids, aids = layers
    with engine.connect() as conn:
        res = revitalisation_overlap(conn, Source("t_rev_f"), Source("t_rev_a"), distance_m=250)
    by_area = {a.name: a for a in res.areas}
    a, b = by_area["A"], by_area["B"]
    assert (a.inside_count, a.near_count, a.inside_money, a.near_money) == (4, 1, 1150.0, 200.0)
    assert (b.inside_count, b.near_count, b.inside_money, b.near_money) == (1, 2, 1000.0, 125.0)
    # totals count a feature once; inside any area beats near another one
    assert (res.inside_count, res.inside_money) == (4, 1150.0)
    assert (res.near_count, res.near_money) == (2, 225.0)
    hits = {(fids[h.feature_id], h.area_id): h for h in res.hits}
    assert set(hits) == {
        (1, aids["A"]), (4, aids["A"]), (6, aids["A"]), (7, aids["A"]), (2, aids["A"]),
        (6, aids["B"]), (1, aids["B"]), (5, aids["B"]),
    }  # fmt: skip
    assert hits[(2, aids["A"])].distance_m == pytest.approx(100, abs=1)
    assert hits[(5, aids["B"])].distance_m == pytest.approx(30, abs=1)
    assert hits[(1, aids["B"])].distance_m == pytest.approx(200, abs=1)
    assert all(h.distance_m == 0 for h in res.hits if h.inside)
    assert hits[(7, aids["A"])].cost is None


def test_distance_zero_area_filter_and_no_cost(engine, layers):
    with engine.connect() as conn:
        inside_only = revitalisation_overlap(
            conn, Source("t_rev_f"), Source("t_rev_a"), distance_m=0
        )
        only_a = revitalisation_overlap(
            conn, Source("t_rev_f"), Source("t_rev_a", filters={"name": "A"}), distance_m=250
        )
        no_cost = revitalisation_overlap(
            conn, Source("t_rev_f"), Source("t_rev_a"), cost_column=None
        )
        with pytest.raises(ValueError):
            revitalisation_overlap(conn, Source("t_rev_f"), Source("t_rev_a"), distance_m=-1)
    assert (inside_only.inside_count, inside_only.near_count) == (4, 0)
    assert [a.name for a in only_a.areas] == ["A"] and only_a.near_count == 1
    assert no_cost.inside_money == 0 and no_cost.inside_count == 4


def test_default_areas_table_is_the_layer_table(engine, layers):
    with engine.connect() as conn:
        res = revitalisation_overlap(conn, Source("t_rev_f"))  # revitalisation_areas: empty here
    assert res.areas == [] and res.inside_count == 0
