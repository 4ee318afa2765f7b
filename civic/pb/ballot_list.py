"""The ballot list: positively verified projects (and upheld protests), numbered per pool.

Numbers are given when staff publish the list (in the ballot-list or withdrawals phase):
per pool (city-wide, then each district) in Polish alphabetical order of the title, 1, 2, 3…
Publishing again after withdrawals and merges renumbers (the numbers are unique per pool by a
deferrable constraint, so a renumbering in one statement never collides halfway). Withdrawn
and merged projects lose their number. The voting helper reads :func:`ballot_list`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.pb.errors import PbError
from civic.pb.phases import require_phase

ON_LIST = ("accepted_for_vote",)
# Polish alphabetical order (the database's collation here is C: "Ł" would sort after "Z")
_ALPHABET = "0123456789aąbcćdeęfghijklłmnńoóprsśtuvwxyzźż"
_RANK = {c: i for i, c in enumerate(_ALPHABET)}


def polish_key(title: str) -> tuple[int, ...]:
    return tuple(_RANK.get(c, 100 + ord(c)) for c in title.lower())


def ballot_list(conn: Connection, edition: int) -> list[dict[str, Any]]:
    """Pools in order, each with its projects (number, id, title, cost, districts)."""
    rows = conn.execute(
        text(
            """SELECT p.id, p.title, p.cost, p.scope, p.pool_district, p.ballot_number,
                      p.merged_from, coalesce(d.name, '') AS district_name
               FROM budget_proposals p LEFT JOIN districts d ON d.number = p.pool_district
               WHERE p.edition = :e AND p.status = ANY(:s) AND p.hidden_at IS NULL
               ORDER BY p.scope = 'district', p.pool_district,
                        p.ballot_number NULLS LAST, lower(p.title), p.id"""
        ),
        {"e": edition, "s": list(ON_LIST)},
    ).mappings()
    pools: dict[tuple[str, int], dict[str, Any]] = {}
    for r in rows:
        key = (r["scope"], r["pool_district"])
        pool = pools.setdefault(
            key,
            {
                "scope": r["scope"],
                "district": r["pool_district"],
                "name": r["district_name"],
                "projects": [],
            },
        )
        pool["projects"].append(dict(r))
    return list(pools.values())


def publish_ballot_list(
    conn: Connection, edition: int, actor: int, now: datetime | None = None
) -> int:
    """Number the list per pool and publish it; returns how many projects are on it."""
    require_phase(conn, edition, ("ballot_list", "withdrawals"), now)
    pending = conn.execute(
        text(
            """SELECT count(*) FROM budget_proposals WHERE edition = :e
               AND status IN ('submitted', 'correction', 'under_review', 'protested')"""
        ),
        {"e": edition},
    ).scalar_one()
    if pending:
        raise PbError(
            "reviews_pending",
            "ballot_list",
            N_("Nie wszystkie projekty mają decyzję (%(n)s w toku)."),
            409,
            n=pending,
        )
    conn.execute(
        text(
            """UPDATE budget_proposals SET ballot_number = NULL
               WHERE edition = :e AND ballot_number IS NOT NULL AND status <> ALL(:s)"""
        ),
        {"e": edition, "s": list(ON_LIST)},
    )
    rows = conn.execute(
        text(
            """SELECT id, title, scope, pool_district FROM budget_proposals
               WHERE edition = :e AND status = ANY(:s) AND hidden_at IS NULL"""
        ),
        {"e": edition, "s": list(ON_LIST)},
    ).all()
    pools: dict[tuple[str, int], list[Any]] = {}
    for r in rows:
        pools.setdefault((r.scope, r.pool_district), []).append(r)
    n = 0
    for members in pools.values():
        members.sort(key=lambda r: (polish_key(r.title), r.id))
        for number, r in enumerate(members, start=1):
            conn.execute(
                text("UPDATE budget_proposals SET ballot_number = :n WHERE id = :id"),
                {"n": number, "id": r.id},
            )
            n += 1
    conn.execute(
        text(
            "UPDATE pb_editions SET ballot_published_at = coalesce(CAST(:at AS timestamptz), now())"
            " WHERE year = :e"
        ),
        {"e": edition, "at": now},
    )
    record_audit(
        conn, actor, "pb.ballot_list_publish", "pb_editions", edition, reason=f"{n} projects"
    )
    return n
