"""The planners' data stamp reads versions, not whole tables, and the quick analyses' results
are kept until their data changes (civic/planning/jobs.py, migration 0021; issue 11)."""

from __future__ import annotations

from sqlalchemy import event, text

from civic.planning import jobs
from civic.planning.demand import ANALYSIS as DEMAND

TABLES = DEMAND.tables


def statements(engine, fn):
    seen: list[str] = []

    def grab(conn, cursor, statement, *a):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", grab)
    try:
        out = fn()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return out, seen


def stamp(engine) -> str:
    with engine.connect() as conn:
        return jobs.data_stamp(conn, TABLES)


def test_the_stamp_reads_versions_and_changes_with_every_table(engine):
    first, seen = statements(engine, lambda: stamp(engine))
    assert not [s for s in seen if "count(*)" in s], seen  # every table has a version row
    assert stamp(engine) == first
    writes = {
        "budget_proposals": "UPDATE budget_proposals SET title = title WHERE id = "
        "(SELECT min(id) FROM budget_proposals)",
        "budget_pools": "UPDATE budget_pools SET budget = budget WHERE edition = 2024 "
        "AND district = 1",
        "proposal_supports": "DELETE FROM proposal_supports WHERE false",
        "districts": "UPDATE districts SET population = population WHERE number = 1",
    }
    before = first
    for table, sql in writes.items():
        with engine.begin() as conn:
            conn.execute(text(sql))
        now = stamp(engine)
        assert now != before, table
        before = now


def test_a_quick_result_is_computed_once_per_change(engine):
    calls = []

    def compute(conn):
        calls.append(1)
        return {"n": conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one()}

    a = jobs.memo(engine, "test-memo", {"edition": None}, compute, TABLES)
    a["n"] = -1  # a caller changing its copy changes nothing kept
    b = jobs.memo(engine, "test-memo", {"edition": None}, compute, TABLES)
    assert len(calls) == 1 and b["n"] >= 0
    other = jobs.memo(engine, "test-memo", {"edition": 2024}, compute, TABLES)
    assert len(calls) == 2 and other == b
    with engine.begin() as conn:
        conn.execute(text("UPDATE budget_proposals SET title = title WHERE id = 1"))
    jobs.memo(engine, "test-memo", {"edition": None}, compute, TABLES)
    assert len(calls) == 3
