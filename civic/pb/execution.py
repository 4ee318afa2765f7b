"""Execution of the selected projects: responsible unit, status, progress, dated milestones,
actual cost; followers get an e-mail on each update (the web sends what :func:`update` and
:func:`add_milestone` return, after the commit).

A milestone may carry a photo: the web re-encodes the upload without EXIF/GPS with the very
helper proposal photos use (civic.participation.photos.store_photo, same folder, same random
file names) *after* :func:`parse_milestone` has accepted the date and note, then writes the row
here in one transaction, and deletes the file again if that transaction refuses — so a bad
photo or a bad field leaves neither a row nor a file."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.pb.errors import PbError
from civic.pb.states import WINNING_STATES

STATES = ("planned", "design", "tender", "works", "completed", "abandoned")
STATE_TITLES = {
    "planned": N_("zaplanowany"),
    "design": N_("projektowanie"),
    "tender": N_("przetarg"),
    "works": N_("prace"),
    "completed": N_("zakończony"),
    "abandoned": N_("zaniechany"),
}


def _project(conn: Connection, proposal_id: int) -> dict:
    row = conn.execute(
        text("SELECT id, title, status, edition FROM budget_proposals WHERE id = :i"),
        {"i": proposal_id},
    ).first()
    if row is None:
        raise PbError("not_found", "proposal_id", N_("Nie ma takiego projektu."), 404)
    if row.status not in WINNING_STATES:
        raise PbError(
            "not_selected",
            "proposal_id",
            N_("Realizację śledzi się tylko dla wybranych projektów."),
            409,
        )
    return dict(row._mapping)


def _followers(conn: Connection, proposal_id: int) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            text(
                "SELECT u.email FROM pb_follows f JOIN users u ON u.id = f.user_id "
                "WHERE f.proposal_id = :i AND u.email IS NOT NULL"
            ),
            {"i": proposal_id},
        )
    ]


def update(conn: Connection, proposal_id: int, actor: int | None, form: dict[str, Any]) -> dict:
    """Set the execution state of a selected project; returns {project, mails: [addresses]}."""
    project = _project(conn, proposal_id)
    status = (form.get("status") or "planned").strip()
    if status not in STATES:
        raise PbError("bad_status", "status", N_("Nieznany etap realizacji."))
    try:
        progress = int(form.get("progress") or (100 if status == "completed" else 0))
    except (TypeError, ValueError):
        progress = -1
    if not 0 <= progress <= 100 or (status == "completed" and progress != 100):
        raise PbError(
            "bad_progress", "progress", N_("Postęp to liczba od 0 do 100 (100 dla zakończonego).")
        )
    cost = form.get("actual_cost")
    try:
        cost = None if cost in (None, "") else Decimal(str(cost))
    except InvalidOperation:
        cost = Decimal(-1)
    if cost is not None and (not cost.is_finite() or cost < 0):
        raise PbError(
            "bad_cost", "actual_cost", N_("Koszt rzeczywisty to kwota nie mniejsza niż 0.")
        )
    reason = (form.get("abandoned_reason") or "").strip() or None
    if status == "abandoned" and not reason:
        raise PbError("reason_required", "abandoned_reason", N_("Podaj powód zaniechania."))
    conn.execute(
        text(
            """INSERT INTO pb_execution (proposal_id, responsible_unit, status, progress,
                   actual_cost, abandoned_reason)
               VALUES (:i, :u, :s, :p, :c, :r)
               ON CONFLICT (proposal_id) DO UPDATE SET responsible_unit = EXCLUDED.responsible_unit,
                   status = EXCLUDED.status, progress = EXCLUDED.progress,
                   actual_cost = EXCLUDED.actual_cost, abandoned_reason = EXCLUDED.abandoned_reason,
                   updated_at = now()"""
        ),
        {
            "i": proposal_id,
            "u": (form.get("responsible_unit") or "").strip()[:200] or None,
            "s": status,
            "p": progress,
            "c": cost,
            "r": reason if status == "abandoned" else None,
        },
    )
    record_audit(conn, actor, "pb.execution", "budget_proposals", proposal_id, reason=status)
    return {"project": project, "mails": _followers(conn, proposal_id)}


MILESTONE_PHOTO = re.compile(r"^[0-9a-f]{32}\.(jpg|png)$")  # the stored name (pb_milestones' check)


def parse_milestone(form: dict) -> dict:
    """A milestone's date and note, checked before anything is stored (the web stores the
    photo only after this, so a bad date leaves no file behind)."""
    try:
        on = date.fromisoformat(str(form.get("on_date") or "").strip())
    except ValueError:
        raise PbError("bad_date", "on_date", N_("Podaj datę (RRRR-MM-DD).")) from None
    note = str(form.get("note") or "").strip()
    if not 1 <= len(note) <= 2000:
        raise PbError("bad_note", "note", N_("Opisz etap (1–2000 znaków)."))
    return {"on_date": on, "note": note}


def _photo_name(photo: str | None) -> str | None:
    if photo is not None and not MILESTONE_PHOTO.match(photo):
        raise ValueError(f"not a stored photo name: {photo!r}")  # a caller's bug, not input
    return photo


def add_milestone(
    conn: Connection, proposal_id: int, actor: int | None, form: dict, photo: str | None = None
) -> dict:
    """A dated milestone with a note and, optionally, a photo already stored (re-encoded without
    EXIF/GPS by civic.participation.photos.store_photo; ``photo`` is its file name). Returns
    {project, mails, milestone}."""
    project = _project(conn, proposal_id)
    m = parse_milestone(form)
    conn.execute(
        text("INSERT INTO pb_execution (proposal_id) VALUES (:i) ON CONFLICT DO NOTHING"),
        {"i": proposal_id},
    )
    mid = conn.execute(
        text(
            "INSERT INTO pb_milestones (proposal_id, on_date, note, photo, actor_id) "
            "VALUES (:i, :d, :n, :ph, :a) RETURNING id"
        ),
        {"i": proposal_id, "d": m["on_date"], "n": m["note"], "ph": _photo_name(photo), "a": actor},
    ).scalar_one()
    record_audit(conn, actor, "pb.milestone", "budget_proposals", proposal_id, reason=str(mid))
    return {"project": project, "mails": _followers(conn, proposal_id), "milestone": mid}


def update_milestone(
    conn: Connection,
    proposal_id: int,
    milestone_id: int,
    actor: int | None,
    form: dict,
    photo: str | None = None,
) -> dict:
    """Edit a milestone: its date and note, and its photo — replaced by ``photo`` (a stored
    file name), removed when the form says ``remove_photo``, else kept. Returns {project,
    mails, milestone, replaced_photo}: the file no row uses any more (the caller deletes it
    after the commit)."""
    project = _project(conn, proposal_id)
    m = parse_milestone(form)
    old = conn.execute(
        text("SELECT photo FROM pb_milestones WHERE id = :m AND proposal_id = :i FOR UPDATE"),
        {"m": milestone_id, "i": proposal_id},
    ).first()
    if old is None:
        raise PbError("not_found", "milestone_id", N_("Nie ma takiego etapu realizacji."), 404)
    remove = str(form.get("remove_photo") or "").lower() in ("1", "on", "true", "yes")
    new_photo = _photo_name(photo) or (None if remove else old.photo)
    conn.execute(
        text(
            "UPDATE pb_milestones SET on_date = :d, note = :n, photo = :ph, actor_id = :a "
            "WHERE id = :m"
        ),
        {"d": m["on_date"], "n": m["note"], "ph": new_photo, "a": actor, "m": milestone_id},
    )
    record_audit(
        conn, actor, "pb.milestone_edit", "budget_proposals", proposal_id, reason=str(milestone_id)
    )
    return {
        "project": project,
        "mails": _followers(conn, proposal_id),
        "milestone": milestone_id,
        "replaced_photo": old.photo if old.photo and old.photo != new_photo else None,
    }


def milestones(conn: Connection, proposal_id: int) -> list[dict]:
    """A project's milestones, oldest first (id, on_date, note, photo)."""
    rows = conn.execute(
        text(
            "SELECT id, on_date, note, photo FROM pb_milestones WHERE proposal_id = :i "
            "ORDER BY on_date, id"
        ),
        {"i": proposal_id},
    ).all()
    return [dict(r._mapping) for r in rows]


def project_execution(conn: Connection, proposal_id: int) -> dict:
    """One selected project's execution page: the project, its execution state (planned when
    nothing is reported) and its milestones. A hidden project is not found."""
    row = conn.execute(
        text(
            """SELECT p.id, p.external_id, p.title, p.edition, p.scope, p.pool_district,
                      p.status AS project_status, p.hidden_at,
                      coalesce(e.status, 'planned') AS status, coalesce(e.progress, 0) AS progress,
                      e.responsible_unit, e.actual_cost, e.abandoned_reason, e.updated_at
               FROM budget_proposals p LEFT JOIN pb_execution e ON e.proposal_id = p.id
               WHERE p.id = :i"""
        ),
        {"i": proposal_id},
    ).first()
    if row is None or row.hidden_at is not None:
        raise PbError("not_found", "proposal_id", N_("Nie ma takiego projektu."), 404)
    _project(conn, proposal_id)  # selected ones only
    return {**dict(row._mapping), "milestones": milestones(conn, proposal_id)}


def milestone_photo_visible(conn: Connection, name: str) -> bool:
    """Whether a stored photo belongs to a milestone of a selected, not hidden project (the
    photo route serves nothing else)."""
    if not MILESTONE_PHOTO.match(name):
        return False
    return (
        conn.execute(
            text(
                """SELECT 1 FROM pb_milestones m JOIN budget_proposals p ON p.id = m.proposal_id
                   WHERE m.photo = :n AND p.status = ANY(:win) AND p.hidden_at IS NULL
                   LIMIT 1"""
            ),
            {"n": name, "win": list(WINNING_STATES)},
        ).first()
        is not None
    )


def follow(conn: Connection, proposal_id: int, user_id: int) -> bool:
    """Follow a selected project (once: primary key); True when newly followed."""
    _project(conn, proposal_id)
    return (
        conn.execute(
            text(
                "INSERT INTO pb_follows (proposal_id, user_id) VALUES (:i, :u) "
                "ON CONFLICT DO NOTHING RETURNING proposal_id"
            ),
            {"i": proposal_id, "u": user_id},
        ).first()
        is not None
    )


def tracked(
    conn: Connection,
    status: str | None = None,
    edition: int | None = None,
    district: int | None = None,
    limit: int = 500,
    updated_only: bool = False,
) -> list[dict]:
    """Selected projects of every edition with their execution state (filters optional);
    ``updated_only``: only those with an execution record); the execution page's list."""
    rows = conn.execute(
        text(
            """SELECT p.id, p.external_id, p.title, p.edition, p.scope, p.pool_district,
                      coalesce(e.status, 'planned') AS status, coalesce(e.progress, 0) AS progress,
                      e.responsible_unit, e.actual_cost, e.abandoned_reason,
                      ST_Y(ST_PointOnSurface(p.geom)) AS lat, ST_X(ST_PointOnSurface(p.geom)) AS lon,
                      (SELECT json_agg(json_build_object('id', m.id, 'on_date', m.on_date,
                                       'note', m.note, 'photo', m.photo) ORDER BY m.on_date, m.id)
                       FROM pb_milestones m WHERE m.proposal_id = p.id) AS milestones
               FROM budget_proposals p LEFT JOIN pb_execution e ON e.proposal_id = p.id
               WHERE p.status = ANY(:win) AND p.hidden_at IS NULL
                 AND (NOT :upd OR e.proposal_id IS NOT NULL)
                 AND (CAST(:s AS text) IS NULL OR coalesce(e.status, 'planned') = :s)
                 AND (CAST(:e AS int) IS NULL OR p.edition = :e)
                 AND (CAST(:d AS int) IS NULL OR p.pool_district = :d)
               ORDER BY p.edition DESC, p.id LIMIT :lim"""
        ),
        {
            "win": list(WINNING_STATES),
            "s": status,
            "e": edition,
            "d": district,
            "lim": limit,
            "upd": updated_only,
        },
    ).all()
    return [dict(r._mapping) for r in rows]
