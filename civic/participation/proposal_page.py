"""The one page of a budget proposal, and what its author and readers do there besides
commenting: edit it while its phase allows, see its history, support it while it is open.

``/proposals/<id>`` is the canonical page: it shows what ``/budget/projects/<id>`` (workflow,
support list, reviews) and ``/layers/budget-proposals/<id>`` (council opinions) showed, plus the
execution, the comments and the history of edits. Those two addresses redirect here.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.accounts import Invalid
from civic.audit import record_audit
from civic.participation import form as pf
from civic.participation import proposal_comments as pcm
from civic.participation import proposal_lists as pl
from civic.participation import proposals as pp
from civic.participation.errors import Collector, Msg, field_error
from civic.participation.limits import from_pb
from civic.participation.proposals import TABLE, Actor, form_field, is_public
from civic.pb import pages as pbp
from civic.pb.errors import PbError
from civic.pb.phases import PHASE_TITLES, require_phase
from civic.pb.states import DECIDED_STATES, WINNING_STATES
from layers import query as lq

EDITABLE_STATES = ("submitted", "correction")
EDIT_PHASE = "submission"
# a proposal in one of these states (or of a closed edition) takes no more supports
CLOSED_STATES = (*DECIDED_STATES, "rejected", "withdrawn", "merged", "no_support_list")
EDIT_FIELDS = ("title", "description")
_LABELS = {"title": N_("Tytuł"), "description": N_("Opis")}


def _edition_closed(conn: Connection, edition: int) -> bool:
    return bool(
        conn.execute(
            text("SELECT closed FROM pb_editions WHERE year = :e"), {"e": edition}
        ).scalar()
    )


def support_closed(conn: Connection, status: str, edition: int) -> bool:
    """A past project (decided, rejected, withdrawn, merged, or of a closed edition)."""
    return status in CLOSED_STATES or _edition_closed(conn, edition)


def check_supportable(conn: Connection, proposal_id: int) -> None:
    """Refuse (409, field ``proposal_id``, code ``closed``) a support of a closed project."""
    row = conn.execute(
        text("SELECT status, edition, hidden_at FROM budget_proposals WHERE id = :id"),
        {"id": proposal_id},
    ).first()
    if (
        row is not None
        and is_public(row.status, row.hidden_at)
        and support_closed(conn, row.status, row.edition)
    ):
        raise field_error(
            "proposal_id",
            "closed",
            Msg(
                N_("Ten projekt jest już zamknięty (edycja %(edition)s): nie można go poprzeć."),
                edition=row.edition,
            ),
            status=409,
        )


def support(
    conn: Connection, actor: Actor, proposal_id: int, withdraw: bool = False
) -> tuple[bool, bool, int]:
    """Support a proposal as today (civic.participation.proposals.set_support), except a
    closed past project (409); withdrawing stays possible."""
    if not withdraw:
        check_supportable(conn, proposal_id)
    return pp.set_support(conn, actor, proposal_id, withdraw=withdraw)


def edit_refusal(
    conn: Connection, p: dict[str, Any], now: datetime | None = None
) -> Invalid | None:
    """Why the author may not edit now (None: they may). The submission phase of the
    proposal's edition decides (civic.pb.phases), and only before the formal review."""
    if p["status"] not in EDITABLE_STATES:
        return field_error(
            "phase",
            "not_editable",
            Msg(
                N_("Projektu o statusie „%(status)s” nie można już edytować."),
                status=p["status"],
            ),
            status=409,
        )
    try:
        require_phase(conn, p["edition"], EDIT_PHASE, now)
    except PbError as exc:
        return from_pb(exc)
    return None


def edit(
    conn: Connection, actor: Actor, proposal_id: int, form: dict[str, Any], now=None
) -> dict[str, Any]:
    """The author changes the title or the description; the previous values are kept as a
    version (``proposal_versions``) and the change is in the audit log. 409 naming the phase
    outside the submission phase."""
    p = conn.execute(
        text(
            "SELECT id, title, description, status, edition, author_id FROM budget_proposals "
            "WHERE id = :id FOR UPDATE"
        ),
        {"id": proposal_id},
    ).first()
    if p is None or p.author_id != actor.id:
        raise field_error(
            "proposal_id", "not_found", Msg(N_("Nie ma takiego projektu.")), status=404
        )
    p = dict(p._mapping)
    refusal = edit_refusal(conn, p, now)
    if refusal is not None:
        raise refusal
    errors = Collector()
    new: dict[str, Any] = {}
    for name in EDIT_FIELDS:
        new[name] = errors.attempt(
            lambda name=name: pf.value(
                form_field(name), form.get(name), Msg(_LABELS[name]), required=True
            ),
            "",
        )
    errors.raise_if_any()
    changes = {k: {"from": p[k], "to": v} for k, v in new.items() if (p[k] or "") != v}
    if not changes:
        return {"changed": False}
    conn.execute(
        text(
            "UPDATE budget_proposals SET title = :title, description = :description WHERE id = :id"
        ),
        {**new, "id": proposal_id},
    )
    audit = record_audit(conn, actor.id, "proposal.edit", TABLE, proposal_id, ", ".join(changes))
    conn.execute(
        text(
            "INSERT INTO proposal_versions (proposal_id, audit_id, editor_id, phase, changes) "
            "VALUES (:p, :a, :u, :ph, CAST(:c AS jsonb))"
        ),
        {
            "p": proposal_id,
            "a": audit,
            "u": actor.id,
            "ph": EDIT_PHASE,
            "c": json.dumps(changes, ensure_ascii=False),
        },
    )
    return {"changed": True, "fields": list(changes)}


def versions(conn: Connection, proposal_id: int) -> list[dict[str, Any]]:
    """The edits of a proposal, the newest first (what changed, from what, to what)."""
    rows = conn.execute(
        text(
            """SELECT v.at, v.changes, coalesce(u.name, '') AS editor
               FROM proposal_versions v LEFT JOIN users u ON u.id = v.editor_id
               WHERE v.proposal_id = :p ORDER BY v.at DESC, v.id DESC"""
        ),
        {"p": proposal_id},
    ).mappings()
    return [
        {
            "at": r["at"],
            "editor": r["editor"],
            "changes": [
                {"field": k, "label": _LABELS.get(k, k), **v} for k, v in r["changes"].items()
            ],
        }
        for r in rows
    ]


def execution(conn: Connection, proposal_id: int, status: str) -> dict[str, Any] | None:
    """The execution record of a selected project (None for the others)."""
    if status not in WINNING_STATES:
        return None
    row = conn.execute(
        text(
            """SELECT coalesce(e.status, 'planned') AS status, coalesce(e.progress, 0) AS progress,
                      e.responsible_unit, e.actual_cost, e.abandoned_reason,
                      (SELECT coalesce(json_agg(json_build_object('on_date', m.on_date,
                              'note', m.note) ORDER BY m.on_date), '[]')
                       FROM pb_milestones m WHERE m.proposal_id = p.id) AS milestones
               FROM budget_proposals p LEFT JOIN pb_execution e ON e.proposal_id = p.id
               WHERE p.id = :p"""
        ),
        {"p": proposal_id},
    ).first()
    return dict(row._mapping) if row else None


def proposal_page(
    conn: Connection,
    proposal_id: int,
    user_id: int | None,
    roles: tuple[str, ...] | list[str] = (),
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Everything the canonical page shows; None when there is no such proposal."""
    p = pl.get_proposal(conn, proposal_id)
    if p is None:
        return None
    try:  # the budget workflow's part (an imported proposal of an unknown edition has none)
        project = pbp.project_page(conn, proposal_id, user_id, roles, now)
    except PbError:
        project = None
    public = is_public(p["status"], p["hidden_at"])
    closed = support_closed(conn, p["status"], p["edition"])
    mine = user_id is not None and user_id == p["author_id"]
    refusal = edit_refusal(conn, p, now) if mine else None
    phase = project["current"] if project else None
    return {
        "p": p,
        "v": project,
        "public": public,
        "support_closed": closed,
        "supported": user_id is not None
        and bool(
            conn.execute(
                text("SELECT 1 FROM proposal_supports WHERE proposal_id = :p AND user_id = :u"),
                {"p": proposal_id, "u": user_id},
            ).scalar()
        ),
        "mine": mine,
        "editable": mine and refusal is None,
        "edit_refusal": refusal,
        "phase": phase,
        "phase_msgid": PHASE_TITLES.get(phase or ""),
        "history": project["history"] if project else [],
        "versions": versions(conn, proposal_id),
        "execution": execution(conn, proposal_id, p["status"]),
        "comments": pcm.thread(pcm.comments_for(conn, proposal_id, user_id)) if public else [],
        "properties": _layer_properties(conn, proposal_id),
    }


def _layer_properties(conn: Connection, proposal_id: int) -> dict[str, Any]:
    """The layer's public properties (what /layers/budget-proposals/<id> listed): the read
    path of every layer (layers/query.py); empty for a proposal the public may not see."""
    found = lq.records(
        conn, pp.layer(), lq.FeatureQuery(ids=[proposal_id], limit=1, with_geometry=False)
    )
    return found.rows[0]["properties"] if found.rows else {}
