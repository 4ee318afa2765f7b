"""A council's priorities: its ranking of the district's own proposals of an edition."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.councils.common import (
    RANK_MAX,
    TABLES,
    Invalid,
    QueueFilter,
    Tables,
    Visibility,
    proposal_conds,
    short,
)
from civic.councils.queue import editions


def district_proposals(
    conn: Connection, district: int, edition: int, vis: Visibility, tables: Tables = TABLES
) -> list[dict[str, Any]]:
    """The district's own (district-scope) public proposals of an edition, with their rank."""
    t = tables
    params: dict[str, Any] = {"district": district}
    where = proposal_conds(vis, QueueFilter(edition=edition), params)
    rows = conn.execute(
        text(
            f"""SELECT p.id, p.title, p.status, p.category, p.cost::float8 AS cost, p.votes,
                       pr.rank, o.opinion::text AS opinion
                FROM {t.proposals} p
                LEFT JOIN {t.priorities} pr
                       ON pr.proposal_id = p.id AND pr.district = :district AND pr.edition = :edition
                LEFT JOIN {t.opinions} o ON o.proposal_id = p.id AND o.district = :district
                WHERE {where} AND p.scope = 'district'
                ORDER BY pr.rank NULLS LAST, p.title, p.id"""
        ),
        params,
    ).mappings()
    return [dict(r) for r in rows]


def set_priorities(
    conn: Connection,
    district: int,
    edition: int,
    ranks: Mapping[int, int],
    author_id: int | None,
    vis: Visibility,
    tables: Tables = TABLES,
) -> int:
    """Replace the council's ranking of an edition with ``{proposal_id: rank}``.

    One ranking per (district, edition) at a time: a transaction-scoped advisory lock
    serialises two members saving at once (otherwise the second one's delete would not see
    the first one's new rows and its insert would hit the UNIQUE constraints). Rows for
    proposals that are not the district's public proposals of that edition are not
    inserted; the caller compares the returned count with ``len(ranks)``.
    """
    t = tables
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('council_priorities'), :key)"),
        {"key": district * 10000 + edition},
    )
    conn.execute(
        text(f"DELETE FROM {t.priorities} WHERE district = :d AND edition = :e"),
        {"d": district, "e": edition},
    )
    if not ranks:
        return 0
    params: dict[str, Any] = {"district": district}
    where = proposal_conds(vis, QueueFilter(edition=edition), params)
    params.update(
        ids=[int(k) for k in ranks], ranks=[int(v) for v in ranks.values()], author=author_id
    )
    return conn.execute(
        text(
            f"""INSERT INTO {t.priorities} (district, edition, proposal_id, rank, author_id)
                SELECT :district, :edition, p.id, r.rank, :author
                FROM unnest(CAST(:ids AS bigint[]), CAST(:ranks AS smallint[])) AS r(id, rank)
                JOIN {t.proposals} p ON p.id = r.id
                WHERE {where} AND p.scope = 'district'"""
        ),
        params,
    ).rowcount


def parse_ranks(form: Mapping[str, Any], ids: list[int]) -> dict[int, int]:
    """``rank-<id>`` fields: blank = unranked; a number 1..RANK_MAX, each used once."""
    errors: dict[str, tuple[str, str, dict[str, Any]]] = {}
    ranks: dict[int, int] = {}
    seen: dict[int, int] = {}
    allowed = set(ids)
    for key, raw in form.items():
        if not key.startswith("rank-"):
            continue
        suffix = key.removeprefix("rank-")
        if not suffix.isdigit() or int(suffix) not in allowed:
            errors[key] = (
                "unknown",
                N_("Pole „%(f)s”: nie ma takiego projektu na liście."),
                {"f": short(key, 40)},
            )
            continue
        value = str(raw if raw is not None else "").strip()
        if not value:
            continue
        if not value.isdigit() or not 1 <= int(value) <= RANK_MAX:
            errors[key] = (
                "invalid",
                N_("Pole „Priorytet”: podaj liczbę od 1 do %(n)d albo zostaw puste."),
                {"n": RANK_MAX},
            )
            continue
        rank = int(value)
        if rank in seen:
            errors[key] = (
                "duplicate",
                N_("Pole „Priorytet”: numer %(n)d jest już użyty."),
                {"n": rank},
            )
            continue
        seen[rank] = int(suffix)
        ranks[int(suffix)] = rank
    if errors:
        raise Invalid(errors)
    return ranks


@dataclass
class PrioritiesPage:
    district: dict[str, Any]
    edition: int | None  # the asked edition, else the newest with public proposals
    editions: list[int]
    rows: list[dict[str, Any]]  # the district's own proposals of the edition, ranked first


def priorities_page(
    conn: Connection, d: dict[str, Any], edition: int | None, vis: Visibility
) -> PrioritiesPage:
    """District ``d``'s own proposals of ``edition`` (default: the newest) with their ranks."""
    number = d["number"]
    eds = editions(conn, number, vis)
    edition = edition or (eds[0] if eds else None)
    rows = district_proposals(conn, number, edition, vis) if edition else []
    return PrioritiesPage(d, edition, eds, rows)


class Stale(Exception):
    """The district's list of proposals changed between the form and the save."""


def save_priorities(
    conn: Connection,
    number: int,
    edition: int,
    form: Mapping[str, Any],
    ids: list[int],
    author_id: int | None,
    vis: Visibility,
) -> dict[int, int]:
    """Parse the ``rank-<id>`` fields for the listed proposals ``ids`` and replace the
    council's ranking, with the audit log, in the caller's transaction. :class:`Invalid` for
    bad fields; :class:`Stale` (raise through the transaction: it rolls back) when a proposal
    left the list meanwhile. Returns ``{proposal_id: rank}``."""
    ranks = parse_ranks(form, ids)
    n = set_priorities(conn, number, edition, ranks, author_id, vis)
    if n != len(ranks):
        raise Stale
    record_audit(
        conn,
        author_id,
        "council.priorities",
        "council_priorities",
        None,
        reason=json.dumps(
            {"district": number, "edition": edition, "ranks": ranks}, ensure_ascii=False
        )[:2000],
    )
    return ranks
