"""Find an organisation: public profiles (and imported entries nobody has claimed yet)
filtered by field, target group and district, with a text search; what a profile page shows.

A district "has" an organisation when one of its places lies there, when it lists the
district among those it serves, or when its drawn service area reaches into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.ngos.common import Invalid, clean_text
from layers.ngos import FIELDS_OF_ACTIVITY, TARGET_GROUPS

PAGE_SIZE = 20


@dataclass
class Search:
    field: str | None = None
    target_group: str | None = None
    district: int | None = None
    q: str | None = None
    page: int = 1


def parse_search(args: dict[str, Any], district_count: int = 18) -> Search:
    """Query-string filters; a bad one is a 400 naming the parameter."""
    s = Search()
    field = (args.get("field") or "").strip() or None
    if field and field not in FIELDS_OF_ACTIVITY:
        raise Invalid("field", "unknown_choice", N_("Nieznany obszar działalności."))
    s.field = field
    group = (args.get("target_group") or "").strip() or None
    if group and group not in TARGET_GROUPS:
        raise Invalid("target_group", "unknown_choice", N_("Nieznana grupa odbiorców."))
    s.target_group = group
    raw = (args.get("district") or "").strip()
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= district_count:
            raise Invalid("district", "invalid", N_("Nieznana dzielnica."))
        s.district = int(raw)
    s.q = clean_text(args.get("q"), "q", max_len=200, multiline=False)
    page = (args.get("page") or "1").strip()
    if not page.isdigit() or not 1 <= int(page) <= 10_000:
        raise Invalid("page", "invalid", N_("Niepoprawny numer strony."))
    s.page = int(page)
    return s


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_ENTRIES = """
WITH entries AS (
    SELECT 'profile' AS source, o.id, o.name, o.fields, o.target_groups, o.offer,
           o.website, o.krs,
           ARRAY(SELECT DISTINCT unnest(
                   o.districts_served
                   || coalesce((SELECT array_agg(DISTINCT d) FROM ngo_locations l,
                                unnest(l.districts) d WHERE l.organisation_id = o.id),
                               '{}')
                   || coalesce((SELECT array_agg(dd.number) FROM districts dd
                                WHERE o.service_area IS NOT NULL
                                  AND ST_Intersects(dd.geom, o.service_area)
                                  AND NOT ST_Touches(dd.geom, o.service_area)), '{}'))
                 ORDER BY 1) AS districts,
           (SELECT count(*) FROM ngo_locations l WHERE l.organisation_id = o.id) AS places,
           (SELECT l.address FROM ngo_locations l WHERE l.organisation_id = o.id
            ORDER BY l.kind = 'seat' DESC, l.id LIMIT 1) AS address
    FROM ngo_organisations o WHERE o.status = 'public'
    UNION ALL
    SELECT 'entry', l.id, l.name, l.fields, l.target_groups, NULL, l.website, l.krs,
           ARRAY(SELECT DISTINCT unnest(l.districts || l.districts_served) ORDER BY 1),
           1, l.address
    FROM ngo_locations l WHERE l.organisation_id IS NULL
)
"""


def _where(s: Search, params: dict[str, Any]) -> str:
    conds = []
    if s.field:
        conds.append(":field = ANY(e.fields)")
        params["field"] = s.field
    if s.target_group:
        conds.append(":tg = ANY(e.target_groups)")
        params["tg"] = s.target_group
    if s.district:
        conds.append("CAST(:district AS smallint) = ANY(e.districts)")
        params["district"] = s.district
    if s.q:
        conds.append(
            "(unaccent(e.name) ILIKE unaccent(:q) OR unaccent(coalesce(e.offer, '')) "
            "ILIKE unaccent(:q) OR e.krs = :qkrs)"
        )
        params["q"] = _like(s.q)
        params["qkrs"] = s.q.replace(" ", "")
    return " AND ".join(conds) or "TRUE"


def search(conn: Connection, s: Search, page_size: int = PAGE_SIZE) -> dict[str, Any]:
    """One page of organisations (profiles first, then by name) and whether there is more."""
    params: dict[str, Any] = {"limit": page_size + 1, "offset": (s.page - 1) * page_size}
    rows = conn.execute(
        text(
            f"""{_ENTRIES}
            SELECT e.*, (SELECT string_agg(d.name, ', ' ORDER BY d.number) FROM districts d
                         WHERE d.number = ANY(e.districts)) AS district_names
            FROM entries e WHERE {_where(s, params)}
            ORDER BY e.source = 'profile' DESC, e.name, e.id
            LIMIT :limit OFFSET :offset"""
        ),
        params,
    ).all()
    items = [dict(r._mapping) for r in rows[:page_size]]
    return {"items": items, "has_more": len(rows) > page_size}


def organisations_in_district(conn: Connection, district: int, limit: int = 200) -> list[dict]:
    """For a district page: the public organisations working in ``district`` (by name).

    Each item: source ('profile' or 'entry'), id, name, fields, target_groups, address.
    """
    return search(conn, Search(district=district), page_size=limit)["items"]


def public_profile(conn: Connection, org_id: int) -> bool:
    return bool(
        conn.execute(
            text("SELECT 1 FROM ngo_organisations WHERE id = :o AND status = 'public'"),
            {"o": org_id},
        ).first()
    )


def activity(conn: Connection, org_id: int, limit: int = 50) -> dict[str, list[dict]]:
    """What an NGO page shows beside its places: its members' public consultation comments
    and budget projects, and the organisation's local initiatives."""
    members = "SELECT user_id FROM ngo_members WHERE organisation_id = :o"
    comments = conn.execute(
        text(
            f"""SELECT c.id, c.body, c.created_at, k.id AS consultation_id,
                       k.title AS consultation
                FROM consultation_comments c JOIN consultations k ON k.id = c.consultation_id
                WHERE c.author_id IN ({members}) AND c.status = 'published'
                  AND c.hidden_at IS NULL
                ORDER BY c.id DESC LIMIT :n"""
        ),
        {"o": org_id, "n": limit},
    )
    projects = conn.execute(
        text(
            f"""SELECT p.id, p.title, p.edition, p.status FROM budget_proposals p
                WHERE p.author_id IN ({members}) AND p.status <> 'draft' AND p.hidden_at IS NULL
                ORDER BY p.edition DESC, p.id DESC LIMIT :n"""
        ),
        {"o": org_id, "n": limit},
    )
    initiatives = conn.execute(
        text(
            """SELECT i.id, i.title, i.year, i.status FROM local_initiatives i
               WHERE i.organisation_id = :o ORDER BY i.year DESC, i.id DESC LIMIT :n"""
        ),
        {"o": org_id, "n": limit},
    )
    return {
        "comments": [dict(r._mapping) for r in comments],
        "projects": [dict(r._mapping) for r in projects],
        "initiatives": [dict(r._mapping) for r in initiatives],
    }
