"""The planners' demand per district (issue 11): the plans of the statements the app runs, and
its numbers against a plain reference query.

The module's database gets 30 000 extra synthetic proposals (every public state and a few
draft and hidden ones, 10 editions, one to three districts, a few city-wide ones without
geometry, costs with grosze) so that the planner's choices are those of a large table. Timing
is bench/demand.py's job; here only the shape of the plans is asserted.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event, text

from civic.planning import common
from civic.planning.demand import demand_view

N = 30_000


@pytest.fixture(scope="module")
def bulk(engine):
    with engine.begin() as conn:
        # The test cluster commits asynchronously: VACUUM marks a page all-visible (what an
        # index-only scan needs) only once the inserting commit is flushed, so flush it now.
        conn.execute(text("SET LOCAL synchronous_commit = on"))
        conn.execute(text("ALTER TABLE budget_proposals DISABLE TRIGGER budget_proposals_write"))
        conn.execute(
            text(
                """
                INSERT INTO budget_proposals (external_id, edition, title, cost, scope, status,
                                              geom, districts, hidden_at)
                SELECT 'plan-test:' || i, 2015 + i % 10, 'Projekt ' || i,
                       CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 997) * 1000 + (i % 100) / 100.0 END,
                       CASE WHEN i % 97 = 0 THEN 'citywide' ELSE 'district' END,
                       CASE WHEN i % 53 = 0 THEN 'draft'
                            ELSE (CAST(:states AS text[]))[1 + i % cardinality(CAST(:states AS text[]))]
                       END,
                       CASE WHEN i % 97 = 0 THEN NULL ELSE ST_PointOnSurface(d.geom) END,
                       CASE WHEN i % 97 = 0 THEN '{}'
                            WHEN i % 7 = 0 THEN ARRAY[d.number, 1 + d.number % 18]
                            WHEN i % 13 = 0 THEN ARRAY[d.number, 1 + d.number % 18, 1 + (d.number + 1) % 18]
                            ELSE ARRAY[d.number] END,
                       CASE WHEN i % 61 = 0 THEN now() END
                FROM generate_series(1, :n) i
                JOIN districts d ON d.number = 1 + i % 18"""
            ),
            {"n": N, "states": list(common.public().proposal_states)},
        )
        conn.execute(text("ALTER TABLE budget_proposals ENABLE TRIGGER budget_proposals_write"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE budget_proposals"))
    return engine


def captured(engine, fn) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen


def explain(conn, statement: str, params, verbose: bool = False) -> list[str]:
    opts = "ANALYZE, BUFFERS, VERBOSE" if verbose else "ANALYZE, BUFFERS"
    return [r[0] for r in conn.exec_driver_sql(f"EXPLAIN ({opts}) {statement}", params)]


def newest(engine) -> int:
    with engine.connect() as conn:
        return common.editions(conn, common.public())[0]


def test_editions_list_probes_an_index(bulk):
    with bulk.connect() as conn:
        pub = common.public()
        stmts = captured(bulk, lambda: common.editions(conn, pub))
        assert len(stmts) == 1
        plan = "\n".join(explain(conn, *stmts[0]))
        eds = common.editions(conn, pub)
        want = conn.execute(
            text(
                "SELECT DISTINCT edition FROM budget_proposals WHERE hidden_at IS NULL "
                "AND status = ANY(:ps) AND edition IS NOT NULL ORDER BY edition DESC"
            ),
            {"ps": list(pub.proposal_states)},
        ).scalars()
        assert eds == list(want)
    assert "Seq Scan on budget_proposals" not in plan, plan
    assert "Index" in plan and "budget_proposals_" in plan, plan


@pytest.mark.parametrize("which", ["newest", "all"])
def test_aggregates_carry_no_geometry(bulk, which):
    ed = newest(bulk) if which == "newest" else None
    with bulk.connect() as conn:
        pub = common.public()
        stmts = captured(bulk, lambda: demand_view(conn, pub, ed))
        aggregates = [s for s in stmts if "WITH g AS" in s[0]]
        assert len(aggregates) == 4  # proposals, comments, and both kinds of supports
        for statement, params in aggregates:
            assert "MATERIALIZED" not in statement.upper()
            plan = explain(conn, statement, params, verbose=True)
            ctes = [plan[i + 1] for i, line in enumerate(plan) if "CTE Scan" in line]
            assert ctes and all("Output:" in o and "geom" not in o for o in ctes), "\n".join(plan)
        proposals = "\n".join(explain(conn, *aggregates[0]))
    if ed is not None:
        # One edition is a slice of an index (budget_proposals_demand: index-only, in order),
        # never a scan of the whole table.
        assert "Seq Scan on budget_proposals" not in proposals, proposals
        assert "using budget_proposals_" in proposals, proposals


REFERENCE = """
    SELECT d.number, d.population,
           (SELECT count(*) FROM budget_proposals p
            WHERE d.number = ANY(p.districts) AND p.hidden_at IS NULL AND p.status <> 'draft'
              AND (CAST(:e AS int) IS NULL OR p.edition = :e)),
           (SELECT coalesce(sum(p.cost), 0) FROM budget_proposals p
            WHERE d.number = ANY(p.districts) AND p.hidden_at IS NULL AND p.status <> 'draft'
              AND (CAST(:e AS int) IS NULL OR p.edition = :e)),
           (SELECT count(*) FROM consultation_comments c
            WHERE d.number = ANY(c.districts) AND c.hidden_at IS NULL AND c.status = 'published'),
           (SELECT count(*) FROM proposal_supports s JOIN budget_proposals p ON p.id = s.proposal_id
            WHERE d.number = ANY(p.districts) AND p.hidden_at IS NULL AND p.status <> 'draft'
              AND (CAST(:e AS int) IS NULL OR p.edition = :e))
           + (SELECT count(*) FROM comment_supports s
              JOIN consultation_comments c ON c.id = s.comment_id
              WHERE d.number = ANY(c.districts) AND c.hidden_at IS NULL
                AND c.status = 'published')
    FROM districts d ORDER BY d.number"""

TOTALS = """
    SELECT count(*), coalesce(sum(cost), 0), count(*) FILTER (WHERE cardinality(districts) = 0)
    FROM budget_proposals p
    WHERE p.hidden_at IS NULL AND p.status <> 'draft'
      AND (CAST(:e AS int) IS NULL OR p.edition = :e)"""


@pytest.mark.parametrize("which", ["newest", "all"])
def test_numbers_equal_a_reference_query(bulk, client, which):
    ed = newest(bulk) if which == "newest" else None
    with bulk.connect() as conn:
        ref = conn.execute(text(REFERENCE), {"e": ed}).all()
        total, money, unlocated = conn.execute(text(TOTALS), {"e": ed}).one()
        view = demand_view(conn, common.public(), ed)
    api = client.get(f"/planners/api/demand?edition={'' if ed is None else ed}")
    assert api.status_code == 200
    assert api.json["result"]["view"]["rows"] == view["rows"]
    assert [r["number"] for r in view["rows"]] == [r[0] for r in ref]
    assert sum(r[2] for r in ref) > N // 20  # the bulk rows are in it
    for row, (number, population, n, asked, comments, supports) in zip(
        view["rows"], ref, strict=True
    ):
        assert row["proposals"] == n, number
        assert row["money"] == float(Decimal(asked)), number  # summed exactly, as numeric
        assert row["comments"] == comments and row["supports"] == supports, number
        assert row["population"] == population
        if population:
            assert row["proposals_per_1000"] == pytest.approx(n * 1000 / population)
    assert view["total_proposals"] == total
    assert view["total_money"] == float(Decimal(money))
    assert view["unlocated"] == unlocated > 0
