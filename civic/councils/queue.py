"""A council's queue: everything public located in the district, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from civic.councils.common import (
    KINDS,
    TABLES,
    QueueFilter,
    Tables,
    Visibility,
    comment_conds,
    district,
    proposal_conds,
)
from geo import districts as gd


@dataclass
class QueuePage:
    rows: list[dict[str, Any]]
    has_more: bool


def queue(
    conn: Connection,
    district: int,
    vis: Visibility,
    f: QueueFilter | None = None,
    *,
    limit: int = 25,
    offset: int = 0,
    private: bool = False,
    tables: Tables = TABLES,
) -> QueuePage:
    """Everything public located in the district, newest first: proposals and comments.

    Each branch is cut to ``offset + limit + 1`` rows before the merge, so a page costs an
    index lookup per kind, not a scan. ``private`` adds the author's display name (council
    members only); the public queue has no personal data.
    """
    f = f or QueueFilter()
    t = tables
    params: dict[str, Any] = {"district": district, "branch": offset + limit + 1}
    branches = []
    author = "u.name" if private else "NULL::text"
    if f.wants("proposals"):
        join = f"LEFT JOIN {t.users} u ON u.id = p.author_id" if private else ""
        branches.append(f"""(
            SELECT 'proposals' AS kind, p.id, p.title AS title, p.status, p.edition, p.category,
                   p.cost::float8 AS cost, p.scope, p.votes, p.districts, p.created_at,
                   NULL::bigint AS consultation_id, NULL::text AS consultation_title,
                   p.council_opinion AS opinion_summary, o.opinion::text AS opinion,
                   o.resolution_date, o.resolution_ref, {author} AS author_name,
                   p.geom IS NOT NULL AS located
            FROM {t.proposals} p
            LEFT JOIN {t.opinions} o ON o.proposal_id = p.id AND o.district = :district
            {join}
            WHERE {proposal_conds(vis, f, params)}
            ORDER BY p.created_at DESC, p.id DESC LIMIT :branch)""")
    if f.wants("comments"):
        join = f"LEFT JOIN {t.users} u ON u.id = c.author_id" if private else ""
        branches.append(f"""(
            SELECT 'comments' AS kind, c.id, left(c.body, 300) AS title, c.status,
                   NULL::smallint AS edition, NULL::text AS category, NULL::float8 AS cost,
                   NULL::text AS scope, c.supports AS votes, c.districts, c.created_at,
                   c.consultation_id, k.title AS consultation_title,
                   NULL::text AS opinion_summary, NULL::text AS opinion,
                   NULL::date AS resolution_date, NULL::text AS resolution_ref,
                   {author} AS author_name, c.geom IS NOT NULL AS located
            FROM {t.comments} c
            JOIN {t.consultations} k ON k.id = c.consultation_id
            {join}
            WHERE {comment_conds(vis, f, params)}
            ORDER BY c.created_at DESC, c.id DESC LIMIT :branch)""")
    if not branches:
        return QueuePage(rows=[], has_more=False)
    params.update(limit=limit + 1, offset=offset)
    sql = (
        "SELECT * FROM (" + " UNION ALL ".join(branches) + ") q "
        "ORDER BY created_at DESC, kind, id DESC LIMIT :limit OFFSET :offset"
    )
    rows = [dict(r) for r in conn.execute(text(sql), params).mappings()]
    return QueuePage(rows=rows[:limit], has_more=len(rows) > limit)


def status_counts(
    conn: Connection,
    district: int,
    vis: Visibility,
    f: QueueFilter | None = None,
    tables: Tables = TABLES,
) -> dict[str, dict[str, int]]:
    """{kind: {status: count}} for the district under the filter (except the status itself).

    GROUP BY over the district's rows only (GIN index on ``districts``).
    """
    f = f or QueueFilter()
    t = tables
    params: dict[str, Any] = {"district": district}
    parts = []
    if f.wants("proposals"):
        parts.append(
            f"SELECT 'proposals' AS kind, p.status, count(*) AS n FROM {t.proposals} p "
            f"WHERE {proposal_conds(vis, f, params, with_status=False)} GROUP BY p.status"
        )
    if f.wants("comments"):
        parts.append(
            f"SELECT 'comments' AS kind, c.status, count(*) AS n FROM {t.comments} c "
            f"WHERE {comment_conds(vis, f, params, with_status=False)} GROUP BY c.status"
        )
    out: dict[str, dict[str, int]] = {k: {} for k in KINDS if f.wants(k)}
    if not parts:
        return out
    for kind, status, n in conn.execute(text(" UNION ALL ".join(parts)), params):
        out[kind][status] = n
    return out


def editions(
    conn: Connection, district: int, vis: Visibility, tables: Tables = TABLES
) -> list[int]:
    """Budget editions with public proposals in the district, newest first.

    A recursive "skip scan" over the (edition, status) index: one probe per edition instead
    of reading every proposal of the district.
    """
    params: dict[str, Any] = {"district": district}
    where = proposal_conds(vis, QueueFilter(), params)
    t = tables.proposals
    sql = f"""
        WITH RECURSIVE e(ed) AS (
            (SELECT p.edition FROM {t} p WHERE {where} ORDER BY p.edition DESC LIMIT 1)
            UNION ALL
            SELECT (SELECT p.edition FROM {t} p WHERE {where} AND p.edition < e.ed
                    ORDER BY p.edition DESC LIMIT 1)
            FROM e WHERE e.ed IS NOT NULL
        )
        SELECT ed FROM e WHERE ed IS NOT NULL"""
    return [r[0] for r in conn.execute(text(sql), params)]


@dataclass
class DistrictQueue:
    """One page of a district's queue, with what the page shows around it."""

    district: dict[str, Any]
    page: QueuePage
    counts: dict[str, dict[str, int]]
    editions: list[int]
    names: dict[int, str]  # district number -> name


def district_queue(
    conn: Connection,
    number: int,
    vis: Visibility,
    f: QueueFilter,
    *,
    page: int = 1,
    page_size: int = 25,
    private: bool = False,
) -> DistrictQueue:
    """The queue page of district ``number`` (:class:`~civic.councils.common.NotFound` when
    there is no such district)."""
    d = district(conn, number)
    found = queue(
        conn, number, vis, f, limit=page_size, offset=(page - 1) * page_size, private=private
    )
    return DistrictQueue(
        district=d,
        page=found,
        counts=status_counts(conn, number, vis, f),
        editions=editions(conn, number, vis),
        names={x["number"]: x["name"] for x in gd.list_districts(conn)},
    )
