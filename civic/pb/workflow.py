"""The one way a budget proposal changes status: :func:`transition`.

It locks the proposal's row (``SELECT … FOR UPDATE``: two decisions at the same moment queue,
the second one sees the first one's result and is refused), checks that the layer's workflow
(``LAYER.workflow.transitions`` in layers/budget_proposals.py) allows the move, writes the new
status, a line of the proposal's public history (``pb_status_history``) and the audit log.
Every process step of civic.pb goes through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import notify, record_audit, register_message
from civic.pb.errors import PbError
from layers.budget_proposals import LAYER

TRANSITIONS: dict[str, tuple[str, ...]] = LAYER.workflow.transitions if LAYER.workflow else {}

# One in-app notification (and e-mail, sent by the web after the commit) per decision.
MESSAGES = {
    "pb_status": N_("Projekt „%(title)s”: nowy status „%(state)s”. %(reason)s"),
    "pb_gap": N_("Projekt „%(title)s” ma braki formalne: %(gap)s. Uzupełnij je do %(deadline)s."),
    "pb_protest_decided": N_("Protest w sprawie projektu „%(title)s”: %(outcome)s."),
    "pb_merge_asked": N_(
        "Autor projektu proponuje połączenie projektów w „%(merge_title)s”. Potwierdź na "
        "stronie projektu „%(title)s”."
    ),
}
for _k, _v in MESSAGES.items():
    register_message(_k, _v)

MAIL_KEY = "pb_mail"  # conn.info[MAIL_KEY]: mails for the web to send after the commit


@dataclass
class Proposal:
    id: int
    edition: int
    title: str
    status: str
    scope: str
    pool_district: int
    author_id: int | None
    cost: Any
    final_cost: Any
    category: str | None
    unit: str | None
    districts: list[int]
    submitted_at: Any
    support_deadline: Any
    correction_deadline: Any
    formal_gap: str | None
    rejection_stage: str | None
    rejection_reason: str | None
    ballot_number: int | None
    merged_into: int | None
    merged_from: list[int]
    has_geom: bool


_COLS = (
    "id, edition, title, status, scope, pool_district, author_id, cost, final_cost, category, "
    "unit, districts, submitted_at, support_deadline, correction_deadline, formal_gap, "
    "rejection_stage, rejection_reason, ballot_number, merged_into, merged_from, "
    "geom IS NOT NULL AS has_geom"
)


def get_proposal(conn: Connection, proposal_id: int, lock: bool = False) -> Proposal:
    row = conn.execute(
        text(
            f"SELECT {_COLS} FROM budget_proposals WHERE id = :id AND hidden_at IS NULL"
            + (" FOR UPDATE" if lock else "")
        ),
        {"id": proposal_id},
    ).first()
    if row is None:
        raise PbError("not_found", "proposal", N_("Nie ma takiego projektu."), 404)
    return Proposal(**row._mapping)


def allowed(from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, ())


def transition(
    conn: Connection,
    proposal_id: int,
    to: str,
    actor: int | None,
    reason: str | None = None,
    expect: tuple[str, ...] | None = None,
    now: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> Proposal:
    """Move a proposal to ``to``; refuses (409, field ``status``) a move the workflow does not
    allow, or (``expect``) a proposal that is not in one of the expected states. ``extra``:
    more columns to set in the same UPDATE. Returns the proposal as it was before."""
    p = get_proposal(conn, proposal_id, lock=True)
    if (expect and p.status not in expect) or not allowed(p.status, to):
        raise PbError(
            "transition_not_allowed",
            "status",
            N_("Projekt ma status „%(state)s”: tego kroku nie można teraz wykonać."),
            409,
            state=p.status,
        )
    sets = {"status": to, **(extra or {})}
    conn.execute(
        text(
            "UPDATE budget_proposals SET "
            + ", ".join(f"{k} = :{k}" for k in sets)
            + ", updated_at = now() WHERE id = :id"
        ),
        {**sets, "id": proposal_id},
    )
    conn.execute(
        text(
            "INSERT INTO pb_status_history (proposal_id, from_state, to_state, at, actor_id, reason)"
            " VALUES (:id, :f, :t, coalesce(CAST(:at AS timestamptz), now()), :a, :r)"
        ),
        {"id": proposal_id, "f": p.status, "t": to, "at": now, "a": actor, "r": reason},
    )
    record_audit(conn, actor, f"pb.status.{to}", "budget_proposals", proposal_id, reason=reason)
    tell_author(conn, p, "pb_status", state=to, reason=reason or "")
    return p


def tell_author(conn: Connection, p: Proposal, key: str, **params: Any) -> None:
    """An in-app notification to the author, and a mail queued for the web to send."""
    if p.author_id is None:
        return
    params = {"title": p.title, "proposal_id": p.id, **params}
    notify(conn, p.author_id, key, **params)
    row = conn.execute(
        text("SELECT email, name FROM users WHERE id = :u AND deleted_at IS NULL"),
        {"u": p.author_id},
    ).first()
    if row is not None and row.email:
        conn.info.setdefault(MAIL_KEY, []).append(
            {"to": row.email, "name": row.name, "key": key, "params": params}
        )


def take_mails(conn: Connection) -> list[dict[str, Any]]:
    """The mails queued on this connection (call after the commit; clears the queue)."""
    return conn.info.pop(MAIL_KEY, [])


def history(conn: Connection, proposal_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            """SELECT h.at, h.from_state, h.to_state, h.reason
               FROM pb_status_history h WHERE h.proposal_id = :id ORDER BY h.at, h.id"""
        ),
        {"id": proposal_id},
    ).mappings()
    return [dict(r) for r in rows]
