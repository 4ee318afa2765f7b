"""geo.analysis.demand: counts, money, per 1 000 residents and against the pool, per district."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.analysis.demand import demand_by_district, district_pools, rows
from geo.analysis.source import Source
from geo.schema import feature_table_sql

PODGORZE, DEBNIKI, KROWODRZA = 13, 8, 5


@pytest.fixture(scope="module")
def proposals(engine):
    """t_demand (feature table; the trigger computes districts):

    - two points in Podgórze (100 + 200 PLN), one point in Dębniki (50 PLN), edition 2024;
    - a line from Stare Miasto to Grzegórzki (1 000 PLN), 2024, crossing ≥ 2 districts;
    - a "whole district" proposal without geometry for Krowodrza (300 PLN), 2024;
    - a city-wide proposal without geometry and without districts (700 PLN), 2024;
    - a point in Podgórze from edition 2023 (9 999 PLN), filtered out by edition.
    """
    with engine.begin() as conn:
        conn.exec_driver_sql(
            feature_table_sql(
                "t_demand", "title text, cost numeric(14, 2), edition int", ("Point", "LineString")
            )
        )

        def at(n: int) -> str:
            return f"(SELECT ST_PointOnSurface(geom) FROM districts WHERE number = {n})"

        conn.execute(
            text(
                f"""INSERT INTO t_demand (title, cost, edition, geom, districts) VALUES
                ('a', 100, 2024, {at(PODGORZE)}, '{{}}'),
                ('b', 200, 2024, ST_Translate({at(PODGORZE)}, 0.0005, 0), '{{}}'),
                ('c', 50, 2024, {at(DEBNIKI)}, '{{}}'),
                ('line', 1000, 2024, ST_MakeLine({at(1)}, {at(2)}), '{{}}'),
                ('whole district', 300, 2024, NULL, '{{{KROWODRZA}}}'),
                ('city-wide', 700, 2024, NULL, '{{}}'),
                ('old', 9999, 2023, {at(PODGORZE)}, '{{}}')"""
            )
        )
        line_districts = conn.execute(
            text("SELECT districts FROM t_demand WHERE title = 'line'")
        ).scalar_one()
    assert {1, 2} <= set(line_districts)
    return line_districts


def test_counts_money_per_1000_and_pool(engine, proposals):
    line = proposals
    with engine.connect() as conn:
        res = demand_by_district(
            conn, Source("t_demand", filters={"edition": 2024}), {PODGORZE: 1000, 1: 4000}
        )
        population = dict(conn.execute(text("SELECT number, population FROM districts")).all())
    by = {d.number: d for d in res.districts}
    assert sorted(by) == list(range(1, 19))  # every district, also with nothing in it
    pod = by[PODGORZE]
    assert (pod.count, pod.money) == (2, 300.0)
    assert pod.population == population[PODGORZE] == 42298
    assert pod.per_1000 == pytest.approx(2 * 1000 / 42298)
    assert pod.money_per_resident == pytest.approx(300 / 42298)
    assert (pod.pool, pod.asked_to_pool) == (1000.0, pytest.approx(0.3))
    assert (by[DEBNIKI].count, by[DEBNIKI].money, by[DEBNIKI].pool) == (1, 50.0, None)
    assert by[DEBNIKI].asked_to_pool is None
    assert (by[KROWODRZA].count, by[KROWODRZA].money) == (1, 300.0)  # no geometry, still counted
    # the line counts fully in every district it crosses ("full" allocation)
    for n in line:
        assert by[n].count >= 1 and by[n].money >= 1000
    assert by[1].asked_to_pool == pytest.approx(by[1].money / 4000)
    untouched = set(range(1, 19)) - {PODGORZE, DEBNIKI, KROWODRZA, *line}
    assert all(by[n].count == 0 and by[n].money == 0 and by[n].per_1000 == 0 for n in untouched)
    assert (res.total_count, res.total_money, res.unlocated_count) == (6, 2350.0, 1)
    assert res.allocation == "full"
    assert rows(res)[PODGORZE - 1]["money"] == 300.0


def test_shared_allocation_adds_up(engine, proposals):
    line = proposals
    with engine.connect() as conn:
        res = demand_by_district(
            conn, Source("t_demand", filters={"edition": 2024}), allocation="shared"
        )
    by = {d.number: d for d in res.districts}
    # located money (all but the city-wide 700) is split, never counted twice
    assert sum(d.money for d in res.districts) == pytest.approx(2350 - 700)
    assert by[1].money == pytest.approx(1000 / len(line))  # only the line is in Stare Miasto
    assert by[PODGORZE].money == 300.0


def test_districts_from_geometry_when_the_source_has_no_districts_column(engine, proposals):
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TEMP TABLE plain AS SELECT id, geom, cost FROM t_demand WHERE edition = 2024 AND geom IS NOT NULL"
            )
        )
        res = demand_by_district(conn, Source("plain"), districts_column=None)
        full = demand_by_district(conn, Source("t_demand", filters={"edition": 2024}))
    by, ref = {d.number: d for d in res.districts}, {d.number: d for d in full.districts}
    for n in range(1, 19):
        if n != KROWODRZA:  # the geometry-less "whole district" proposal is not in `plain`
            assert (by[n].count, by[n].money) == (ref[n].count, ref[n].money)


def test_no_cost_column_counts_only(engine, proposals):
    with engine.connect() as conn:
        res = demand_by_district(conn, Source("t_demand"), cost_column=None)
    assert res.total_money == 0 and res.districts[PODGORZE - 1].count == 3


def test_pools_are_validated_and_read_from_budget_pools(engine, proposals):
    with engine.connect() as conn:
        for bad in ({1: -5}, {1: float("nan")}, {1: "lots"}):
            with pytest.raises(ValueError):
                demand_by_district(conn, Source("t_demand"), bad)
        with pytest.raises(ValueError):
            demand_by_district(conn, Source("t_demand"), allocation="area")
    with engine.begin() as conn:
        conn.execute(
            text(
                """INSERT INTO budget_pools (edition, scope, district, budget, source) VALUES
                   (2031, 'district', 13, 1500000, 'test'), (2031, 'district', 8, 2000000, 'test'),
                   (2031, 'citywide', 0, 9000000, 'test')"""
            )
        )
        assert district_pools(conn, 2031) == {13: 1_500_000.0, 8: 2_000_000.0}
        conn.execute(text("DELETE FROM budget_pools WHERE edition = 2031"))


def test_a_query_source_counts_rows_for_example_supports(engine, proposals):
    """A trusted subquery as the source: one row per support (here: two per proposal)."""
    supports = Source(
        query="SELECT p.id, p.geom, p.districts, p.cost, p.edition "
        "FROM t_demand p CROSS JOIN generate_series(1, 2)",
        filters={"edition": 2024},
    )
    with engine.connect() as conn:
        res = demand_by_district(conn, supports, cost_column=None)
        plain = demand_by_district(conn, Source("t_demand", filters={"edition": 2024}))
    assert res.total_count == 2 * plain.total_count
    assert [d.count for d in res.districts] == [2 * d.count for d in plain.districts]
