"""Read models of the budget pages: one function per page, all the SQL in civic.pb."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from civic.pb import ballot_list as bl
from civic.pb import feasibility, merges, protests, review, summary, support, workflow
from civic.pb.clock import today
from civic.pb.editions import get_edition, list_editions
from civic.pb.phases import PHASES, current_phase, next_phase, schedule

STAFF_ROLES = ("official", "admin")


def editions_page(conn: Connection) -> list[dict[str, Any]]:
    return list_editions(conn)


def edition_page(
    conn: Connection, year: int, district: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    e = get_edition(conn, year)
    day = today(now)
    current = None if e.closed else current_phase(conn, year, now)
    timeline = [
        {
            "phase": w.phase,
            "starts_on": w.starts_on,
            "ends_on": w.ends_on,
            "state": "open" if w.contains(day) else ("past" if w.ends_on < day else "future"),
        }
        for w in schedule(conn, year)
    ]
    nxt = None if e.closed else next_phase(conn, year, now)
    bounds = (
        conn.execute(
            text(
                "SELECT ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north"
                " FROM (SELECT ST_Extent(geom) AS e FROM districts"
                " WHERE CAST(:d AS int) IS NULL OR number = :d) x"
            ),
            {"d": district},
        )
        .mappings()
        .first()
    )
    names = {r.number: r.name for r in conn.execute(text("SELECT number, name FROM districts"))}
    return {
        "edition": e,
        "current": current,
        "next": {"phase": nxt.phase, "starts_on": nxt.starts_on} if nxt else None,
        "timeline": timeline,
        "summary": summary.summary(conn, year, district),
        "district": district,
        "district_names": names,
        "bounds": dict(bounds) if bounds and bounds["west"] is not None else None,
        "phases": PHASES,
    }


def _is_staff(roles: tuple[str, ...] | list[str]) -> bool:
    return any(r in STAFF_ROLES for r in roles)


def project_page(
    conn: Connection,
    proposal_id: int,
    user_id: int | None,
    roles: tuple[str, ...] | list[str] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    p = workflow.get_proposal(conn, proposal_id)
    extra = (
        conn.execute(
            text(
                "SELECT description, review_reasons, location_kind, ST_AsGeoJSON(geom, 6) AS geojson"
                " FROM budget_proposals WHERE id = :id"
            ),
            {"id": proposal_id},
        )
        .mappings()
        .one()
    )
    e = get_edition(conn, p.edition)
    staff = _is_staff(roles)
    units = review.verifier_units(conn, user_id)
    verifier = p.unit is not None and p.unit in units
    signed = (
        user_id is not None
        and conn.execute(
            text("SELECT 1 FROM pb_supports WHERE proposal_id = :p AND user_id = :u"),
            {"p": proposal_id, "u": user_id},
        ).first()
        is not None
    )
    is_author = user_id is not None and p.author_id == user_id
    feas = feasibility.check(conn, proposal_id) if (staff or verifier) else None
    pending_merges = merges.merges_for(conn, proposal_id)
    public = p.status != "draft" or is_author or staff
    return {
        "p": p,
        "public": public,
        "description": extra["description"],
        "review_reasons": extra["review_reasons"],
        "location_kind": extra["location_kind"],
        "geojson": extra["geojson"],
        "edition": e,
        "current": None if e.closed else current_phase(conn, p.edition, now),
        "history": workflow.history(conn, proposal_id),
        "support": support.support_state(conn, proposal_id),
        "signed": signed,
        "reviews": review.reviews(conn, proposal_id) if (staff or verifier or is_author) else [],
        "protest": protests.protest_for(conn, proposal_id),
        "merges": pending_merges,
        "feasibility": feas,
        "is_author": is_author,
        "is_staff": staff,
        "is_verifier": verifier,
        "units": review.units(conn) if staff else [],
        "checklist": list(review.CHECKLIST),
        "merge_candidates": _merge_candidates(conn, p) if is_author else [],
    }


def _merge_candidates(conn: Connection, p: workflow.Proposal) -> list[dict[str, Any]]:
    if p.status != "accepted_for_vote":
        return []
    rows = conn.execute(
        text(
            """SELECT id, title FROM budget_proposals WHERE edition = :e AND id <> :id
               AND status = 'accepted_for_vote' AND scope = :s AND pool_district = :d
               ORDER BY lower(title)"""
        ),
        {"e": p.edition, "id": p.id, "s": p.scope, "d": p.pool_district},
    ).mappings()
    return [dict(r) for r in rows]


def review_page(
    conn: Connection, year: int, user_id: int | None, roles, now: datetime | None = None
) -> dict[str, Any]:
    e = get_edition(conn, year)
    staff = _is_staff(roles)
    if staff and not e.closed:
        support.close_support_lists(conn, year, now)
        review.expire_corrections(conn, year, now)
    return {
        "edition": e,
        "current": None if e.closed else current_phase(conn, year, now),
        "rows": review.review_queue(conn, year, user_id, staff),
        "protests": protests.protests(conn, year),
        "staff": staff,
    }


def ballot_page(conn: Connection, year: int) -> dict[str, Any]:
    return {"edition": get_edition(conn, year), "pools": bl.ballot_list(conn, year)}
