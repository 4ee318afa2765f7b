"""Budget proposals as residents browse them: the list's filters and SQL, the map's GeoJSON
(built in the database), one proposal's page and a resident's own contributions.

The public filter is the layer's (layers.query.where_clause: public states, not hidden).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.participation.errors import Collector, Msg
from civic.participation.proposals import _DISTRICT_NAMES, _SUPPORTS, MAP_LIMIT, SORTS, layer
from layers import query as lq

PAGE_SIZE = 20
Q_MAX = 100


@dataclass
class Browse:
    district: int | None = None
    category: str | None = None
    status: str | None = None
    edition: int | None = None
    q: str | None = None
    sort: str = "newest"
    page: int = 1


def browse_args(args: Any) -> Browse:
    """Filters from a query string; a wrong value is an Invalid naming the parameter, whose
    message (a Msg) is the reason alone: "podaj numer dzielnicy"."""
    b = Browse()
    errors = Collector()

    def bad(name: str, why: str) -> None:
        errors.add(name, "invalid_parameter", Msg(why))

    if args.get("district"):
        try:
            b.district = int(args["district"])
        except ValueError:
            b.district = 0
        if not 1 <= b.district <= 99:
            bad("district", N_("podaj numer dzielnicy"))
    choices = layer().field(layer().category_field or "category").choices
    if args.get("category"):
        if args["category"] not in choices:
            bad("category", N_("nieznana kategoria"))
        b.category = args["category"]
    if args.get("status"):
        wf = layer().workflow
        if wf is None or args["status"] not in wf.public_states:
            bad("status", N_("nieznany status"))
        b.status = args["status"]
    if args.get("edition"):
        try:
            b.edition = int(args["edition"])
        except ValueError:
            b.edition = 0
        if not 2013 <= b.edition <= 2100:
            bad("edition", N_("podaj rok edycji"))
    q = (args.get("q") or "").strip()
    if len(q) > Q_MAX:
        bad("q", N_("najwyżej 100 znaków"))
    b.q = q or None
    sort = args.get("sort") or "newest"
    if sort not in SORTS:
        bad("sort", N_("nieznany porządek"))
    b.sort = sort
    try:
        b.page = max(1, min(int(args.get("page") or 1), 10_000))
    except ValueError:
        bad("page", N_("podaj numer strony"))
    errors.raise_if_any()
    return b


def _query(b: Browse, **kw: Any) -> lq.FeatureQuery:
    filters: dict[str, Any] = {}
    if b.category:
        filters["category"] = b.category
    if b.status:
        filters["status"] = b.status
    if b.edition:
        filters["edition"] = b.edition
    return lq.FeatureQuery(district=b.district, filters=filters, search=b.q, public=True, **kw)


def _where(b: Browse, params: dict[str, Any]) -> str:
    return lq.where_clause(layer(), _query(b), params)


def list_proposals(
    conn: Connection, b: Browse, limit: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], bool]:
    """One page of public proposals; (items, has_more)."""
    params: dict[str, Any] = {"limit": limit + 1, "offset": (b.page - 1) * limit}
    where = _where(b, params)
    rows = conn.execute(
        text(
            f"""
            SELECT t.id, t.title, t.category, t.status, t.cost, t.edition, t.scope, t.districts,
                   t.address, {_SUPPORTS} AS supports, {_DISTRICT_NAMES}
            FROM budget_proposals t
            WHERE {where}
            ORDER BY {SORTS[b.sort]}
            LIMIT :limit OFFSET :offset"""
        ),
        params,
    ).all()
    return [dict(r._mapping) for r in rows[:limit]], len(rows) > limit


# A whole-district proposal (no geometry of its own) sits at a point inside its districts on
# the map; its permalink shows the districts' area.
_INSIDE_DISTRICTS = """SELECT ST_PointOnSurface(ST_Union(d.geom)) FROM districts d
                       WHERE d.number = ANY(t.districts)"""
_DISTRICTS_AREA = """SELECT ST_Multi(ST_Union(d.geom)) FROM districts d
                     WHERE d.number = ANY(t.districts)"""


def _collection(page: lq.FeaturePage) -> str:
    """The FeatureCollection as json_build_object writes it (the map's answer since it was
    published: '"k" : v', features joined by ", ")."""
    return '{"type" : "FeatureCollection", "features" : [' + page.text + "]}"


def proposals_geojson(
    conn: Connection,
    b: Browse,
    link: str,
    categories: dict[str, str],
    states: dict[str, str],
    limit: int = MAP_LIMIT,
    located_only: bool = False,
) -> str:
    """The map's FeatureCollection (a whole-district proposal sits inside its district;
    ``located_only``: only proposals with a geometry of their own, the /proposals map draws
    the others as their districts: proposal_districts.py);
    ``link`` + id is a feature's page, ``categories``/``states`` their titles to show.
    Read through the one read path (layers.query.features) with the map's own properties."""
    q = _query(
        b,
        limit=limit,
        precision=6,
        build_object=True,
        sort=SORTS[b.sort],
        geometry_fallback=_INSIDE_DISTRICTS,
        where=(
            ("t.geom IS NOT NULL",)
            if located_only
            else ("t.geom IS NOT NULL OR cardinality(t.districts) > 0",)
        ),
        properties=(
            ("title", None),
            ("category", None),
            ("category_title", "CAST(:categories AS jsonb) ->> t.category"),
            ("status", None),
            ("status_title", "CAST(:states AS jsonb) ->> t.status"),
            ("cost", None),
            ("edition", None),
            ("scope", None),
            ("districts", None),
            ("whole_district", "t.geom IS NULL"),
            ("supports", _SUPPORTS),
            ("url", ":link || t.id"),
        ),
        params={
            "link": link,
            "categories": json.dumps(categories, ensure_ascii=False),
            "states": json.dumps(states, ensure_ascii=False),
        },
    )
    return _collection(lq.features(conn, layer(), q))


def editions(conn: Connection) -> list[int]:
    return list(
        conn.execute(
            text("SELECT DISTINCT edition FROM budget_proposals ORDER BY edition DESC")
        ).scalars()
    )


def get_proposal(conn: Connection, proposal_id: int) -> dict[str, Any] | None:
    """One proposal for its page (drafts and hidden ones too: the caller decides who sees it)."""
    row = conn.execute(
        text(
            f"""
            SELECT t.id, t.title, t.description, t.category, t.cost, t.scope, t.status, t.edition,
                   t.districts, t.address, t.photo, t.author_id, t.hidden_at, t.hidden_reason,
                   t.created_at, t.updated_at, t.votes, t.selected, t.source,
                   {_SUPPORTS} AS supports,
                   ST_AsGeoJSON(t.geom, 7) AS geometry, {_DISTRICT_NAMES},
                   ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north
            FROM budget_proposals t
            LEFT JOIN LATERAL (
                SELECT coalesce(ST_Expand(t.geom, 0.002), (
                    SELECT ST_Extent(d.geom)::geometry FROM districts d
                    WHERE d.number = ANY(t.districts))) AS e) b ON true
            WHERE t.id = :id"""
        ),
        {"id": proposal_id},
    ).first()
    return dict(row._mapping) if row else None


def visibility(conn: Connection, proposal_id: int) -> Any:
    """(author_id, status, hidden_at) of a proposal, or None."""
    return conn.execute(
        text("SELECT author_id, status, hidden_at FROM budget_proposals WHERE id = :id"),
        {"id": proposal_id},
    ).first()


def proposal_geojson(conn: Connection, proposal_id: int, url: str) -> str:
    """One proposal as a FeatureCollection (its permalink map; a whole district as its area).
    Any status: the caller decides who sees it."""
    q = lq.FeatureQuery(
        ids=[proposal_id],
        public=False,
        limit=1,
        precision=6,
        build_object=True,
        geometry_fallback=_DISTRICTS_AREA,
        properties=(
            ("title", None),
            ("status", None),
            ("supports", _SUPPORTS),
            ("whole_district", "t.geom IS NULL"),
            ("districts", None),
            ("url", "CAST(:url AS text)"),
        ),
        params={"url": url},
    )
    return _collection(lq.features(conn, layer(), q))


def contributions(conn: Connection, user_id: int) -> dict[str, Any]:
    """A resident's own proposals (drafts too), comments, and how many things they support."""
    proposals = [
        dict(r._mapping)
        for r in conn.execute(
            text(
                f"""SELECT t.id, t.title, t.status, t.edition, t.hidden_at, t.hidden_reason,
                           t.created_at, {_SUPPORTS} AS supports, {_DISTRICT_NAMES}
                    FROM budget_proposals t WHERE t.author_id = :u
                    ORDER BY t.created_at DESC, t.id DESC LIMIT 500"""
            ),
            {"u": user_id},
        )
    ]
    comments = [
        dict(r._mapping)
        for r in conn.execute(
            text(
                """SELECT c.id, c.body, c.status, c.supports, c.created_at, c.reply_to,
                          k.id AS consultation_id, k.title AS consultation_title
                   FROM consultation_comments c JOIN consultations k ON k.id = c.consultation_id
                   WHERE c.author_id = :u ORDER BY c.created_at DESC, c.id DESC LIMIT 500"""
            ),
            {"u": user_id},
        )
    ]
    supported = conn.execute(
        text(
            """SELECT (SELECT count(*) FROM proposal_supports WHERE user_id = :u),
                      (SELECT count(*) FROM comment_supports WHERE user_id = :u)"""
        ),
        {"u": user_id},
    ).one()
    return {
        "proposals": proposals,
        "comments": comments,
        "supported_proposals": supported[0],
        "supported_comments": supported[1],
    }
