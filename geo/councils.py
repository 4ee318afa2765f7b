"""District councils (Rady Dzielnic): what lies in a district, opinions, priorities, a report.

Framework-free SQL over the tables named in :class:`Tables` (migrations 0002, 0003, 0006).
The caller (app/councils.py) passes what the public may see (:class:`Visibility`: the
layers' public workflow states), so the rules live in the layer registry, not here.

"In district n" means ``districts @> ARRAY[n]`` — the containment operator the GIN index
on ``districts`` serves (``n = ANY(districts)`` means the same but no index can answer it).
A city-wide proposal is in every district its geometry touches; a district proposal whose
geometry crosses a boundary counts in each district it lies in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import Connection, text

from geo import export as gx
from geo.schema import ident

OPINIONS = ("positive", "negative", "remarks")
KINDS = ("proposals", "comments")
JUSTIFICATION_MAX = 5000
RESOLUTION_REF_MAX = 120
RANK_MAX = 1000


@dataclass(frozen=True)
class Tables:
    proposals: str = "budget_proposals"
    comments: str = "consultation_comments"
    consultations: str = "consultations"
    opinions: str = "council_opinions"
    priorities: str = "council_priorities"
    pools: str = "budget_pools"
    users: str = "users"
    districts: str = "districts"

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            ident(getattr(self, name))


TABLES = Tables()


@dataclass(frozen=True)
class Visibility:
    """The workflow states the public sees (layers' Workflow.public_states)."""

    proposal_states: tuple[str, ...]
    comment_states: tuple[str, ...]


@dataclass
class QueueFilter:
    kind: str | None = None  # "proposals" | "comments" | None (both)
    status: str | None = None
    edition: int | None = None  # proposals only: a set edition leaves comments out
    category: str | None = None  # proposals only

    def wants(self, kind: str) -> bool:
        if self.kind and self.kind != kind:
            return False
        if kind == "comments" and (self.edition is not None or self.category):
            return False
        return True


@dataclass
class QueuePage:
    rows: list[dict[str, Any]]
    has_more: bool


def _in_district(alias: str) -> str:
    return f"{alias}.districts @> ARRAY[CAST(:district AS smallint)]"


def _proposal_conds(
    vis: Visibility, f: QueueFilter, params: dict[str, Any], *, with_status: bool = True
) -> str:
    conds = [_in_district("p"), "p.hidden_at IS NULL", "p.status = ANY(:p_states)"]
    params["p_states"] = list(vis.proposal_states)
    if with_status and f.status:
        conds.append("p.status = :status")
        params["status"] = f.status
    if f.edition is not None:
        conds.append("p.edition = :edition")
        params["edition"] = f.edition
    if f.category:
        conds.append("p.category = :category")
        params["category"] = f.category
    return " AND ".join(conds)


def _comment_conds(
    vis: Visibility, f: QueueFilter, params: dict[str, Any], *, with_status: bool = True
) -> str:
    conds = [_in_district("c"), "c.hidden_at IS NULL", "c.status = ANY(:c_states)"]
    params["c_states"] = list(vis.comment_states)
    if with_status and f.status:
        conds.append("c.status = :status")
        params["status"] = f.status
    return " AND ".join(conds)


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
            WHERE {_proposal_conds(vis, f, params)}
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
            WHERE {_comment_conds(vis, f, params)}
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
            f"WHERE {_proposal_conds(vis, f, params, with_status=False)} GROUP BY p.status"
        )
    if f.wants("comments"):
        parts.append(
            f"SELECT 'comments' AS kind, c.status, count(*) AS n FROM {t.comments} c "
            f"WHERE {_comment_conds(vis, f, params, with_status=False)} GROUP BY c.status"
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
    where = _proposal_conds(vis, QueueFilter(), params)
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


# --- opinions --------------------------------------------------------------------------------


def proposal_in_district(
    conn: Connection, proposal_id: int, district: int, vis: Visibility, tables: Tables = TABLES
) -> dict[str, Any] | None:
    """A public proposal located in the district (the only ones a council gives opinions on)."""
    params: dict[str, Any] = {"district": district, "id": proposal_id}
    where = _proposal_conds(vis, QueueFilter(), params)
    row = (
        conn.execute(
            text(
                f"""SELECT p.id, p.title, p.edition, p.scope, p.status, p.category,
                           p.cost::float8 AS cost, p.districts, p.description
                    FROM {tables.proposals} p WHERE p.id = :id AND {where}"""
            ),
            params,
        )
        .mappings()
        .one_or_none()
    )
    return dict(row) if row else None


def opinions_for(
    conn: Connection, proposal_ids: Sequence[int], tables: Tables = TABLES
) -> dict[int, list[dict[str, Any]]]:
    """The public opinions of the councils on these proposals, by proposal, by district."""
    if not proposal_ids:
        return {}
    rows = conn.execute(
        text(
            f"""SELECT o.proposal_id, o.district, d.name AS district_name,
                       d.full_name AS district_full_name, o.opinion::text AS opinion,
                       o.justification, o.resolution_date, o.resolution_ref, o.updated_at
                FROM {tables.opinions} o JOIN {tables.districts} d ON d.number = o.district
                WHERE o.proposal_id = ANY(:ids) ORDER BY o.proposal_id, o.district"""
        ),
        {"ids": list(proposal_ids)},
    ).mappings()
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["proposal_id"], []).append(dict(r))
    return out


def opinion_of(
    conn: Connection, proposal_id: int, district: int, tables: Tables = TABLES
) -> dict[str, Any] | None:
    return next(
        (
            o
            for o in opinions_for(conn, [proposal_id], tables).get(proposal_id, [])
            if o["district"] == district
        ),
        None,
    )


@dataclass
class OpinionWrite:
    id: int
    created: bool
    previous: dict[str, Any] | None  # the replaced opinion (None when new)


def record_opinion(
    conn: Connection,
    *,
    proposal_id: int,
    district: int,
    opinion: str,
    justification: str,
    resolution_date: date,
    resolution_ref: str | None,
    author_id: int | None,
    tables: Tables = TABLES,
) -> OpinionWrite:
    """Insert the council's opinion, or replace its earlier one (one per council and proposal).

    The UNIQUE (proposal_id, district) constraint and ON CONFLICT make two members saving at
    once end with one row. The caller has checked the proposal lies in the district.
    """
    if opinion not in OPINIONS:
        raise ValueError(f"opinion must be one of {OPINIONS}")
    t = tables
    row = conn.execute(
        text(
            f"""
WITH prev AS (
    SELECT opinion::text AS opinion, justification, resolution_date, resolution_ref
    FROM {t.opinions} WHERE proposal_id = :pid AND district = :district)
INSERT INTO {t.opinions} AS o (proposal_id, district, opinion, justification, resolution_date,
                               resolution_ref, author_id)
VALUES (:pid, :district, CAST(:opinion AS council_opinion_kind), :justification, :rdate,
        :rref, :author)
ON CONFLICT ON CONSTRAINT council_opinions_one_per_council DO UPDATE SET
    opinion = EXCLUDED.opinion, justification = EXCLUDED.justification,
    resolution_date = EXCLUDED.resolution_date, resolution_ref = EXCLUDED.resolution_ref,
    author_id = EXCLUDED.author_id, updated_at = now()
RETURNING o.id, (o.xmax = 0) AS created, (SELECT row_to_json(prev)::text FROM prev) AS previous"""
        ),
        {
            "pid": proposal_id,
            "district": district,
            "opinion": opinion,
            "justification": justification,
            "rdate": resolution_date,
            "rref": resolution_ref,
            "author": author_id,
        },
    ).one()
    previous = json.loads(row.previous) if row.previous else None
    return OpinionWrite(
        id=row.id, created=bool(row.created) and previous is None, previous=previous
    )


# --- priorities ------------------------------------------------------------------------------


def district_proposals(
    conn: Connection, district: int, edition: int, vis: Visibility, tables: Tables = TABLES
) -> list[dict[str, Any]]:
    """The district's own (district-scope) public proposals of an edition, with their rank."""
    t = tables
    params: dict[str, Any] = {"district": district}
    where = _proposal_conds(vis, QueueFilter(edition=edition), params)
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
    where = _proposal_conds(vis, QueueFilter(edition=edition), params)
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


# --- the report ------------------------------------------------------------------------------


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
        where = _proposal_conds(vis, QueueFilter(edition=edition), params)
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
    consultations, in_district = comments_per_consultation(conn, district, vis, tables)
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
        comments_in_district=in_district,
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
    where = _comment_conds(vis, QueueFilter(), params)
    rows = conn.execute(
        text(
            f"""SELECT k.id, k.title, k.stage, k.opens_on, k.closes_on,
                       (SELECT count(*) FROM {t.comments} c
                        WHERE c.consultation_id = k.id AND {where}) AS in_district,
                       (SELECT count(*) FROM {t.comments} c
                        WHERE c.consultation_id = k.id AND c.hidden_at IS NULL
                          AND c.status = ANY(:c_states)) AS total
                FROM {t.consultations} k
                WHERE {_in_district("k")}
                ORDER BY k.opens_on DESC, k.id DESC LIMIT :limit"""
        ),
        params,
    ).mappings()
    out = [dict(r) for r in rows]
    total = conn.execute(
        text(f"SELECT count(*) FROM {t.comments} c WHERE {where}"), params
    ).scalar_one()
    return out, total


# --- exports of the report -------------------------------------------------------------------

REPORT_EXPORT_COLUMNS: tuple[gx.Column, ...] = (
    gx.Column("lp", "int", "Lp. (numer na mapie)", "LP"),
    gx.Column("id", "int", "Identyfikator projektu", "ID"),
    gx.Column("tytul", "text", "Tytuł", "TYTUL"),
    gx.Column("edycja", "int", "Edycja", "EDYCJA"),
    gx.Column("zasieg", "text", "Zasięg (district / citywide)", "ZASIEG"),
    gx.Column("status", "text", "Status", "STATUS"),
    gx.Column("kategoria", "text", "Kategoria", "KATEGORIA"),
    gx.Column("koszt", "float", "Szacowany koszt (zł)", "KOSZT"),
    gx.Column("glosy", "int", "Głosy", "GLOSY"),
    gx.Column("priorytet", "int", "Priorytet rady (1 = najważniejszy)", "PRIORYTET"),
    gx.Column("opinia", "text", "Opinia rady (positive / negative / remarks)", "OPINIA_RD"),
    gx.Column("uzasadnienie", "text", "Uzasadnienie opinii", "UZASADN"),
    gx.Column("data_uchwaly", "date", "Data uchwały / posiedzenia", "DATA_UCHW"),
    gx.Column("nr_uchwaly", "text", "Numer uchwały", "NR_UCHW"),
    gx.Column("dzielnice", "text", "Dzielnice (numery)", "DZIELNICE"),
)


def report_frame(
    conn: Connection, rep: Report, srid: int = 4326, tables: Tables = TABLES
) -> gpd.GeoDataFrame:
    """The report's proposals (own, then city-wide) with opinions, geometry in ``srid``."""
    rows = rep.proposals + rep.citywide
    ids = [r["id"] for r in rows]
    geoms: dict[int, bytes | None] = {}
    if ids:
        g = "p.geom" if srid == 4326 else f"ST_Transform(p.geom, {int(srid)})"
        for pid, wkb in conn.execute(
            text(f"SELECT p.id, ST_AsBinary({g}) FROM {tables.proposals} p WHERE p.id = ANY(:ids)"),
            {"ids": ids},
        ):
            geoms[pid] = bytes(wkb) if wkb is not None else None
    data = {
        "lp": [r["no"] for r in rows],
        "id": ids,
        "tytul": [r["title"] for r in rows],
        "edycja": [r["edition"] for r in rows],
        "zasieg": [r["scope"] for r in rows],
        "status": [r["status"] for r in rows],
        "kategoria": [r["category"] for r in rows],
        "koszt": [r["cost"] for r in rows],
        "glosy": [r["votes"] for r in rows],
        "priorytet": [r["rank"] for r in rows],
        "opinia": [r["opinion"] for r in rows],
        "uzasadnienie": [r["justification"] for r in rows],
        "data_uchwaly": [r["resolution_date"] for r in rows],
        "nr_uchwaly": [r["resolution_ref"] for r in rows],
        "dzielnice": [",".join(str(n) for n in r["districts"]) for r in rows],
    }
    geometry = shapely.from_wkb([geoms.get(i) for i in ids]) if ids else []
    return gpd.GeoDataFrame(data, geometry=list(geometry), crs=srid)


def summary_rows(rep: Report) -> list[tuple[str, str]]:
    """The report's numbers as (name, value) pairs (a table in the GeoPackage)."""
    pool = rep.pool
    out = [
        ("dzielnica", str(rep.district["number"])),
        ("nazwa", rep.district["full_name"]),
        ("edycja", "" if rep.edition is None else str(rep.edition)),
        ("projekty_dzielnicowe", str(rep.count)),
        ("projekty_ogolnomiejskie", str(len(rep.citywide))),
        ("kwota_wnioskowana", f"{rep.money_asked:.2f}"),
        ("kwota_bez_odrzuconych", f"{rep.money_in_play:.2f}"),
        ("pula_edycja", "" if not pool else str(pool["edition"])),
        ("pula", "" if not pool else f"{float(pool['budget']):.2f}"),
        ("uwagi_w_dzielnicy", str(rep.comments_in_district)),
    ]
    out += [(f"status_{k}", str(v)) for k, v in sorted(rep.status_counts.items())]
    out += [(f"opinia_{k}", str(v)) for k, v in rep.opinion_counts.items()]
    return out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (``=HYPERLINK(…)``) gets a leading ``'``
    (OWASP "CSV injection"); titles and justifications are typed by people."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_report(
    conn: Connection,
    rep: Report,
    fmt: str,
    meta: gx.ExportMeta,
    out_dir: Path,
    basename: str,
    tables: Tables = TABLES,
) -> Path:
    """The report as CSV (UTF-8 with BOM, WKT) or GeoPackage, via geo.export.

    A GeoPackage also holds the numbers (``podsumowanie``) and the comments per
    consultation (``konsultacje``) as attribute tables.
    """
    frame = report_frame(conn, rep, meta.crs, tables)
    if gx.get_format(fmt).key == "csv":
        for col in REPORT_EXPORT_COLUMNS:
            if col.type == "text":
                frame[col.name] = frame[col.name].map(csv_safe)
    geometry_types = (
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
    )
    path = gx.write_export(
        frame, REPORT_EXPORT_COLUMNS, fmt, meta, out_dir, basename, geometry_types
    )
    if gx.get_format(fmt).key == "gpkg":
        summary = pd.DataFrame(summary_rows(rep), columns=["nazwa", "wartosc"])
        pyogrio.write_dataframe(summary, path, layer="podsumowanie", driver="GPKG", append=True)
        cons = pd.DataFrame(
            {
                "id": pd.array([c["id"] for c in rep.consultations], dtype="Int64"),
                "tytul": [c["title"] for c in rep.consultations],
                "etap": [c["stage"] for c in rep.consultations],
                "uwagi_w_dzielnicy": pd.array(
                    [c["in_district"] for c in rep.consultations], dtype="Int64"
                ),
                "uwagi_razem": pd.array([c["total"] for c in rep.consultations], dtype="Int64"),
            }
        )
        pyogrio.write_dataframe(cons, path, layer="konsultacje", driver="GPKG", append=True)
    return path


# --- a static map for print ------------------------------------------------------------------

OPINION_COLORS = {
    "positive": "#1a7f37",
    "negative": "#b3261e",
    "remarks": "#9a6700",
    None: "#444444",
}


def _attr(value: Any) -> str:
    return escape(str(value), {'"': "&quot;"})


def svg_map(
    conn: Connection,
    rep: Report,
    *,
    title: str,
    description: str,
    labels: Mapping[str | None, str] | None = None,
    tables: Tables = TABLES,
) -> str:
    """The district and the report's located proposals as an inline SVG (prints; no JS).

    Drawn in EPSG:2180 (metres, so the shape is true); every proposal carries its number
    from the report's table, so colour is never the only cue. ``title``/``description``
    label the image for screen readers; ``labels`` name the opinion colours in the legend.
    """
    t = tables
    ext = conn.execute(
        text(
            f"""SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g)
                FROM (SELECT ST_Transform(geom, 2180) g FROM {t.districts} WHERE number = :n) s"""
        ),
        {"n": rep.district["number"]},
    ).one()
    x0, y0, x1, y1 = (float(v) for v in ext)
    pad = max(x1 - x0, y1 - y0) * 0.04
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    w, h = x1 - x0, y1 - y0
    unit = max(w, h) / 600  # one "pixel" of a 600-px-wide drawing
    params = {"n": rep.district["number"], "x0": x0, "y0": y0, "x1": x1, "y1": y1}
    shapes = conn.execute(
        text(
            f"""SELECT number, number = :n AS selected,
                       ST_AsSVG(ST_Transform(geom, 2180), 0, 0) AS path
                FROM {t.districts}
                WHERE ST_Intersects(geom, ST_Transform(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 2180), 4326))
                ORDER BY number = :n, number"""
        ),
        params,
    ).all()
    rows = [r for r in rep.proposals + rep.citywide if r.get("geometry_type")]
    feats: list[Any] = []
    if rows:
        feats = list(
            conn.execute(
                text(
                    f"""SELECT p.id, ST_Dimension(p.geom) AS dim,
                               ST_AsSVG(ST_Transform(p.geom, 2180), 0, 0) AS path,
                               ARRAY(SELECT ARRAY[ST_X(ST_Transform(d.geom, 2180)),
                                                  -ST_Y(ST_Transform(d.geom, 2180))]
                                     FROM ST_DumpPoints(p.geom) d
                                     WHERE ST_Dimension(p.geom) = 0) AS points,
                               ST_X(ST_Transform(ST_PointOnSurface(p.geom), 2180)) AS lx,
                               -ST_Y(ST_Transform(ST_PointOnSurface(p.geom), 2180)) AS ly
                        FROM {t.proposals} p WHERE p.id = ANY(:ids)"""
                ),
                {"ids": [r["id"] for r in rows]},
            )
        )
    by_id = {r["id"]: r for r in rows}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="district-svg" role="img" '
        f'aria-labelledby="svg-title svg-desc" viewBox="{x0:.0f} {-y1:.0f} {w:.0f} {h:.0f}" '
        f'preserveAspectRatio="xMidYMid meet">',
        f'<title id="svg-title">{escape(title)}</title>',
        f'<desc id="svg-desc">{escape(description)}</desc>',
        f'<rect x="{x0:.0f}" y="{-y1:.0f}" width="{w:.0f}" height="{h:.0f}" fill="#ffffff"/>',
    ]
    for _number, selected, path in shapes:
        if selected:
            out.append(
                f'<path d="{_attr(path)}" fill="#fff3bf" stroke="#1f4e79" '
                f'stroke-width="{2.5 * unit:.1f}" fill-rule="evenodd"/>'
            )
        else:
            out.append(
                f'<path d="{_attr(path)}" fill="#f2f2f2" stroke="#9a9a9a" '
                f'stroke-width="{1 * unit:.1f}" fill-rule="evenodd"/>'
            )
    r_pt = 6 * unit
    font = 11 * unit
    for pid, dim, path, points, lx, ly in feats:
        row = by_id[pid]
        color = OPINION_COLORS.get(row.get("opinion"), OPINION_COLORS[None])
        out.append(f'<g class="proposal" data-id="{int(pid)}">')
        if dim == 0:
            for x, y in points or []:
                out.append(
                    f'<circle cx="{x:.0f}" cy="{y:.0f}" r="{r_pt:.1f}" fill="{color}" '
                    f'stroke="#ffffff" stroke-width="{1.5 * unit:.1f}"/>'
                )
        elif dim == 1:
            out.append(
                f'<path d="{_attr(path)}" fill="none" stroke="{color}" '
                f'stroke-width="{3 * unit:.1f}"/>'
            )
        else:
            out.append(
                f'<path d="{_attr(path)}" fill="{color}" fill-opacity="0.3" stroke="{color}" '
                f'stroke-width="{1.5 * unit:.1f}" fill-rule="evenodd"/>'
            )
        out.append(
            f'<text x="{lx + r_pt * 1.2:.0f}" y="{ly - r_pt * 0.6:.0f}" font-size="{font:.0f}" '
            f'font-family="sans-serif" font-weight="700" fill="#111111" stroke="#ffffff" '
            f'stroke-width="{2.5 * unit:.1f}" paint-order="stroke">{int(row["no"])}</text>'
        )
        out.append("</g>")
    if labels:
        lx0, ly0 = x0 + 8 * unit, -y1 + 8 * unit
        box_h = (len(labels) * 16 + 8) * unit
        out.append(
            f'<rect x="{lx0:.0f}" y="{ly0:.0f}" width="{150 * unit:.0f}" height="{box_h:.0f}" '
            f'fill="#ffffff" fill-opacity="0.9" stroke="#9a9a9a" stroke-width="{unit:.1f}"/>'
        )
        for i, (key, label) in enumerate(labels.items()):
            cy = ly0 + (12 + i * 16) * unit
            out.append(
                f'<circle cx="{lx0 + 10 * unit:.0f}" cy="{cy:.0f}" r="{5 * unit:.1f}" '
                f'fill="{OPINION_COLORS.get(key, OPINION_COLORS[None])}"/>'
            )
            out.append(
                f'<text x="{lx0 + 20 * unit:.0f}" y="{cy + 4 * unit:.0f}" font-size="{font:.0f}" '
                f'font-family="sans-serif" fill="#111111">{escape(label)}</text>'
            )
    out.append("</svg>")
    return "\n".join(out)


# --- who sits on a council -------------------------------------------------------------------


def council_members(
    conn: Connection, districts: Sequence[int], tables: Tables = TABLES
) -> list[dict[str, Any]]:
    """Live accounts with the council role for any of these districts."""
    if not districts:
        return []
    rows = conn.execute(
        text(
            f"""SELECT id, email, name, council_district, confirmed_at IS NOT NULL AS confirmed
                FROM {tables.users}
                WHERE council_district = ANY(CAST(:d AS smallint[])) AND 'council' = ANY(roles)
                  AND deleted_at IS NULL
                ORDER BY id"""
        ),
        {"d": [int(n) for n in districts]},
    ).mappings()
    return [dict(r) for r in rows]
