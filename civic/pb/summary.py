"""The edition's summary table, per district (pool) and status — like the city's own
(2025: submitted 1 152, positive 719, rejected 290, no support list 96, withdrawn or merged 47).

Columns, by the projects' current status (merge results are counted as positive, not as
submitted: they were never submitted by residents):

* ``submitted`` — every project residents submitted (not drafts, not merge results);
* ``in_review`` — submitted, correction, under review, protest pending;
* ``positive`` — on the ballot list or decided by the vote (accepted_for_vote, selected,
  not_selected, in_execution, completed);
* ``rejected``, ``no_support_list``, ``withdrawn_or_merged`` (withdrawn + merged).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from civic import N_

GROUPS = {
    "in_review": ("submitted", "correction", "under_review", "protested"),
    "positive": ("accepted_for_vote", "selected", "not_selected", "in_execution", "completed"),
    "rejected": ("rejected",),
    "no_support_list": ("no_support_list",),
    "withdrawn_or_merged": ("withdrawn", "merged"),
}
COLUMNS = ("submitted", *GROUPS)
COLUMN_TITLES = {
    "submitted": N_("złożone"),
    "in_review": N_("w weryfikacji"),
    "positive": N_("ocenione pozytywnie"),
    "rejected": N_("odrzucone"),
    "no_support_list": N_("bez listy poparcia"),
    "withdrawn_or_merged": N_("wycofane lub połączone"),
}


def summary(conn: Connection, edition: int, district: int | None = None) -> dict[str, Any]:
    """Rows per pool (0 = city-wide, then districts 1–18) plus a total row."""
    cases = [
        "count(*) FILTER (WHERE cardinality(merged_from) = 0) AS submitted",
        *(
            f"count(*) FILTER (WHERE status IN ({', '.join(repr(s) for s in states)})) AS {name}"
            for name, states in GROUPS.items()
        ),
    ]
    rows = conn.execute(
        text(
            f"""SELECT p.pool_district AS district, coalesce(d.name, '') AS name,
                       {", ".join(cases)}
                FROM budget_proposals p LEFT JOIN districts d ON d.number = p.pool_district
                WHERE p.edition = :e AND p.status <> 'draft' AND p.hidden_at IS NULL
                  AND (CAST(:d AS int) IS NULL OR p.pool_district = :d)
                GROUP BY p.pool_district, d.name ORDER BY p.pool_district"""
        ),
        {"e": edition, "d": district},
    ).mappings()
    out = [dict(r) for r in rows]
    total = {"district": None, "name": "", **{c: sum(r[c] for r in out) for c in COLUMNS}}
    return {"edition": edition, "columns": list(COLUMNS), "rows": out, "total": total}


def status_counts(conn: Connection, edition: int) -> dict[str, int]:
    rows = conn.execute(
        text(
            "SELECT status, count(*) AS n FROM budget_proposals WHERE edition = :e "
            "AND status <> 'draft' AND hidden_at IS NULL GROUP BY status"
        ),
        {"e": edition},
    )
    return {r.status: int(r.n) for r in rows}
