"""The summary table of a generated edition equals the counts computed directly from its rows."""

from __future__ import annotations

import random

from sqlalchemy import text

from civic.pb import editions, summary
from tests.pb_support import add_user

STATES = (
    "submitted",
    "correction",
    "no_support_list",
    "under_review",
    "accepted_for_vote",
    "rejected",
    "protested",
    "withdrawn",
    "merged",
    "selected",
    "not_selected",
    "draft",
)


def test_summary_equals_direct_counts(engine):
    rng = random.Random(2025)
    with engine.begin() as conn:
        admin = add_user(conn, ("admin",))
        editions.create_edition(conn, 2033, admin)
        rows = []
        for i in range(400):
            scope = "citywide" if rng.random() < 0.15 else "district"
            district = 0 if scope == "citywide" else rng.randint(1, 18)
            status = rng.choice(STATES)
            merged_from = [1, 2] if status == "accepted_for_vote" and rng.random() < 0.1 else []
            conn.execute(
                text("""INSERT INTO budget_proposals (edition, title, scope, status, districts,
                            pool_district, merged_from)
                        VALUES (2033, :t, :s, :st, CAST(:d AS smallint[]), :pd, :mf)"""),
                {
                    "t": f"p{i}",
                    "s": scope,
                    "st": status,
                    "d": [district] if district else [],
                    "pd": district,
                    "mf": merged_from,
                },
            )
            rows.append((district, status, bool(merged_from)))
        table = summary.summary(conn, 2033)
    by = {r["district"]: r for r in table["rows"]}
    for n in range(0, 19):
        mine = [r for r in rows if r[0] == n and r[1] != "draft"]
        if not mine:
            assert n not in by
            continue
        got = by[n]
        assert got["submitted"] == sum(1 for r in mine if not r[2])
        for col, states in summary.GROUPS.items():
            assert got[col] == sum(1 for r in mine if r[1] in states), (n, col)
    live = [r for r in rows if r[1] != "draft"]
    assert table["total"]["rejected"] == sum(1 for r in live if r[1] == "rejected")
    assert table["total"]["withdrawn_or_merged"] == sum(
        1 for r in live if r[1] in ("withdrawn", "merged")
    )
    assert table["total"]["submitted"] == sum(1 for r in live if not r[2])
