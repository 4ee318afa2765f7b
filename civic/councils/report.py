"""The report for a council meeting: the numbers of one budget edition in the district."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from civic.councils.common import (
    OPINIONS,
    TABLES,
    QueueFilter,
    Tables,
    Visibility,
    comment_conds,
    in_district,
    proposal_conds,
)
from civic.councils.queue import editions


@dataclass
class Report:
    district: dict[str, Any]
    edition: int | None
    editions: list[int]
    proposals: list[dict[str, Any]]  # the district's own proposals, numbered (``no``)
    citywide: list[dict[str, Any]]  # city-wide proposals touching the district
    status_counts: dict[str, int]  # of the district's own proposals
    opinion_counts: dict[str, int]  # positive / negative / remarks / none
    money_asked: float  # sum of costs of the district's own proposals
    money_in_play: float  # the same without rejected ones
    citywide_money: float
    pool: dict[str, Any] | None  # {"edition", "budget"} of the latest edition with a pool
    consultations: list[dict[str, Any]]  # comments per consultation
    comments_in_district: int
    generated_at: datetime = field(default_factory=datetime.now)

    @property
    def count(self) -> int:
        return len(self.proposals)

    @property
    def pool_ratio(self) -> float | None:
        if not self.pool or not self.pool["budget"]:
            return None
        return self.money_asked / float(self.pool["budget"])


_REPORT_COLUMNS = """p.id, p.external_id, p.title, p.edition, p.scope, p.status, p.category,
    p.cost::float8 AS cost, p.votes, p.selected, p.districts, p.created_at,
    ST_GeometryType(p.geom) AS geometry_type"""


def report(
    conn: Connection,
    district: int,
    vis: Visibility,
    edition: int | None = None,
    tables: Tables = TABLES,
) -> Report | None:
    """The numbers a council meeting needs for one budget edition (default: the newest).

    None when the district does not exist.
    """
    t = tables
    d = (
        conn.execute(
            text(
                f"SELECT number, name, full_name, population FROM {t.districts} WHERE number = :n"
            ),
            {"n": district},
        )
        .mappings()
        .one_or_none()
    )
    if d is None:
        return None
    eds = editions(conn, district, vis, tables)
    if edition is None and eds:
        edition = eds[0]
    proposals: list[dict[str, Any]] = []
    citywide: list[dict[str, Any]] = []
    if edition is not None:
        params: dict[str, Any] = {"district": district}
        where = proposal_conds(vis, QueueFilter(edition=edition), params)
        rows = conn.execute(
            text(
                f"""SELECT {_REPORT_COLUMNS}, pr.rank,
                           o.opinion::text AS opinion, o.justification, o.resolution_date,
                           o.resolution_ref
                    FROM {t.proposals} p
                    LEFT JOIN {t.priorities} pr ON pr.proposal_id = p.id
                         AND pr.district = :district AND pr.edition = p.edition
                    LEFT JOIN {t.opinions} o ON o.proposal_id = p.id AND o.district = :district
                    WHERE {where}
                    ORDER BY (p.scope = 'citywide'), pr.rank NULLS LAST, p.title, p.id"""
            ),
            params,
        ).mappings()
        for r in rows:
            row = dict(r)
            row["geometry_type"] = (row["geometry_type"] or "").removeprefix("ST_") or None
            (citywide if row["scope"] == "citywide" else proposals).append(row)
    for i, row in enumerate(proposals + citywide, start=1):
        row["no"] = i
    status: dict[str, int] = {}
    ops = {k: 0 for k in (*OPINIONS, "none")}
    for row in proposals:
        status[row["status"]] = status.get(row["status"], 0) + 1
        ops[row["opinion"] or "none"] += 1
    asked = sum(r["cost"] or 0.0 for r in proposals)
    in_play = sum(r["cost"] or 0.0 for r in proposals if r["status"] != "rejected")
    pool = pool_for(conn, district, edition, tables)
    consultations, in_dist = comments_per_consultation(conn, district, vis, tables)
    return Report(
        district=dict(d),
        edition=edition,
        editions=eds,
        proposals=proposals,
        citywide=citywide,
        status_counts=status,
        opinion_counts=ops,
        money_asked=float(asked),
        money_in_play=float(in_play),
        citywide_money=float(sum(r["cost"] or 0.0 for r in citywide)),
        pool=pool,
        consultations=consultations,
        comments_in_district=in_dist,
    )


def pool_for(
    conn: Connection, district: int, edition: int | None, tables: Tables = TABLES
) -> dict[str, Any] | None:
    """The district's pool for ``edition`` if there is one, else for the latest edition
    that has a pool (its edition is returned with it, so the page can say which)."""
    row = (
        conn.execute(
            text(
                f"""SELECT edition, budget::float8 AS budget FROM {tables.pools}
                    WHERE scope = 'district' AND district = :d
                    ORDER BY (edition = CAST(:e AS smallint)) IS TRUE DESC, edition DESC
                    LIMIT 1"""
            ),
            {"d": district, "e": edition},
        )
        .mappings()
        .one_or_none()
    )
    return dict(row) if row else None


def comments_per_consultation(
    conn: Connection, district: int, vis: Visibility, tables: Tables = TABLES, limit: int = 100
) -> tuple[list[dict[str, Any]], int]:
    """Consultations whose area touches the district: public comments located in the
    district and in all, newest consultation first. Also the district's total."""
    t = tables
    params: dict[str, Any] = {"district": district, "limit": limit}
    where = comment_conds(vis, QueueFilter(), params)
    rows = conn.execute(
        text(
            f"""SELECT k.id, k.title, k.stage, k.opens_on, k.closes_on,
                       (SELECT count(*) FROM {t.comments} c
                        WHERE c.consultation_id = k.id AND {where}) AS in_district,
                       (SELECT count(*) FROM {t.comments} c
                        WHERE c.consultation_id = k.id AND c.hidden_at IS NULL
                          AND c.status = ANY(:c_states)) AS total
                FROM {t.consultations} k
                WHERE {in_district("k")}
                ORDER BY k.opens_on DESC, k.id DESC LIMIT :limit"""
        ),
        params,
    ).mappings()
    out = [dict(r) for r in rows]
    total = conn.execute(
        text(f"SELECT count(*) FROM {t.comments} c WHERE {where}"), params
    ).scalar_one()
    return out, total
