"""Formal review (completeness, with a correction window) and merit review by city units.

**Formal** (staff, in the formal-review phase): *complete* -> merit review (needs a complete
support list); *gap* -> the author is told what is missing and gets ``correction_days`` (5)
working days (:func:`civic.pb.clock.add_working_days`, Polish public holidays excluded) to
correct it; a gap not corrected by then rejects the project with the reason
(:func:`expire_corrections`); *reject* -> rejected with the reason.

**Merit** (a verifier of the project's city unit, in the merit-review phase): the project is
assigned to a unit by its category (``pb_units.categories``) or by hand; the verifier answers
the checklist, sets the final cost (which replaces the author's estimate) and decides. A
negative decision carries reasons (the failed checklist items plus free text), public on the
project page, the popup, the list, the exports and the OGC collection (``rejection_reason``,
``review_reasons``). One decision per project and stage (``UNIQUE (proposal_id, stage)``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.pb.clock import add_working_days, today
from civic.pb.editions import get_edition
from civic.pb.errors import PbError
from civic.pb.phases import require_phase
from civic.pb.submission import check_cost, check_submission
from civic.pb.support import is_complete
from civic.pb.workflow import get_proposal, tell_author, transition

CHECKLIST = {
    "own_task": N_("zadanie własne gminy lub powiatu"),
    "public_access": N_("ogólnodostępny"),
    "plans_compliant": N_("zgodny z dokumentami i planami miasta"),
    "city_land": N_("na terenie, którym miasto dysponuje"),
    "cost_within_limits": N_("koszt w limitach puli"),
}


def units(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(text("SELECT * FROM pb_units ORDER BY code")).mappings()]


def unit_for_category(conn: Connection, category: str | None) -> str | None:
    if not category:
        return None
    return conn.execute(
        text("SELECT code FROM pb_units WHERE :c = ANY(categories) ORDER BY code LIMIT 1"),
        {"c": category},
    ).scalar()


def add_verifier(conn: Connection, user_id: int, unit: str, actor: int | None) -> None:
    known = conn.execute(text("SELECT 1 FROM pb_units WHERE code = :u"), {"u": unit}).first()
    if known is None:
        raise PbError("bad_choice", "unit", N_("Nieznana jednostka miejska."))
    conn.execute(
        text("INSERT INTO pb_verifiers (user_id, unit) VALUES (:u, :n) ON CONFLICT DO NOTHING"),
        {"u": user_id, "n": unit},
    )
    record_audit(conn, actor, "pb.verifier_add", "users", user_id, reason=unit)


def add_verifier_by_email(conn: Connection, email: str, unit: str, actor: int | None) -> int:
    uid = conn.execute(
        text("SELECT id FROM users WHERE lower(email) = lower(:e) AND deleted_at IS NULL"),
        {"e": email},
    ).scalar()
    if uid is None:
        raise PbError("not_found", "email", N_("Nie ma konta z tym adresem."), 404)
    add_verifier(conn, uid, unit, actor)
    return uid


def verifier_units(conn: Connection, user_id: int | None) -> list[str]:
    if user_id is None:
        return []
    return list(
        conn.execute(
            text("SELECT unit FROM pb_verifiers WHERE user_id = :u ORDER BY unit"), {"u": user_id}
        ).scalars()
    )


# --- formal review ---------------------------------------------------------------------------


def formal_decide(
    conn: Connection,
    proposal_id: int,
    actor: int,
    decision: str,
    note: str | None = None,
    now: datetime | None = None,
) -> str:
    """``decision``: complete | gap | reject. Returns the new status."""
    p = get_proposal(conn, proposal_id)
    require_phase(conn, p.edition, "formal_review", now)
    note = (note or "").strip() or None
    if note and len(note) > 2000:
        raise PbError("too_long", "note", N_("Uwagi: najwyżej 2000 znaków."))
    if decision == "complete":
        if p.status != "submitted":
            _wrong_state(p.status)
        if not is_complete(conn, proposal_id):
            raise PbError(
                "support_incomplete",
                "support",
                N_("Lista poparcia nie jest jeszcze kompletna."),
                409,
            )
        unit = p.unit or unit_for_category(conn, p.category)
        transition(
            conn,
            proposal_id,
            "under_review",
            actor,
            reason=note,
            expect=("submitted",),
            now=now,
            extra={"unit": unit, "formal_gap": None},
        )
        _review_row(conn, proposal_id, "formal", actor, "positive", reason_text=note)
        return "under_review"
    if decision == "gap":
        if not note:
            raise PbError("required", "note", N_("Opisz, czego brakuje w projekcie."))
        e = get_edition(conn, p.edition)
        deadline = add_working_days(today(now), e.correction_days)
        transition(
            conn,
            proposal_id,
            "correction",
            actor,
            reason=note,
            expect=("submitted",),
            now=now,
            extra={"formal_gap": note, "correction_deadline": deadline},
        )
        tell_author(conn, p, "pb_gap", gap=note, deadline=deadline.isoformat())
        return "correction"
    if decision == "reject":
        if not note:
            raise PbError("required", "note", N_("Podaj powód odrzucenia."))
        transition(
            conn,
            proposal_id,
            "rejected",
            actor,
            reason=note,
            expect=("submitted", "correction"),
            now=now,
            extra={"rejection_reason": note, "rejection_stage": "formal"},
        )
        _review_row(conn, proposal_id, "formal", actor, "negative", reason_text=note)
        return "rejected"
    raise PbError("bad_choice", "decision", N_("Nieznana decyzja."))


def correct(
    conn: Connection,
    proposal_id: int,
    actor: int,
    fields: dict[str, Any],
    now: datetime | None = None,
) -> None:
    """The author corrects a formal gap within the window: the project returns to review."""
    p = get_proposal(conn, proposal_id)
    if p.author_id != actor:
        raise PbError("not_author", "proposal", N_("Tylko autor może poprawić projekt."), 403)
    if p.status != "correction":
        _wrong_state(p.status)
    if p.correction_deadline is not None and today(now) > p.correction_deadline:
        raise PbError(
            "correction_closed",
            "proposal",
            N_("Termin uzupełnienia braków minął %(deadline)s."),
            409,
            deadline=p.correction_deadline.isoformat(),
        )
    e = get_edition(conn, p.edition)
    base = {
        "title": p.title,
        "category": p.category,
        "cost": p.cost,
        "scope": p.scope,
        "district": p.pool_district,
        "declared_residency": True,
        "declared_district_residency": True,
    }
    base["description"] = conn.execute(
        text("SELECT description FROM budget_proposals WHERE id = :id"), {"id": proposal_id}
    ).scalar()
    clean = check_submission(
        conn, e, base | {k: v for k, v in fields.items() if v not in (None, "")}
    )
    conn.execute(
        text(
            """UPDATE budget_proposals SET title = :title, description = :description,
                   category = :category, cost = :cost WHERE id = :id"""
        ),
        {**{k: clean[k] for k in ("title", "description", "category", "cost")}, "id": proposal_id},
    )
    transition(
        conn,
        proposal_id,
        "submitted",
        actor,
        reason=N_("braki uzupełnione"),
        expect=("correction",),
        now=now,
        extra={"correction_deadline": None},
    )


def expire_corrections(conn: Connection, edition: int, now: datetime | None = None) -> list[int]:
    """Uncorrected gaps past their window -> rejected with the reason."""
    rows = conn.execute(
        text(
            """SELECT id, formal_gap FROM budget_proposals
               WHERE edition = :e AND status = 'correction' AND correction_deadline < :d"""
        ),
        {"e": edition, "d": today(now)},
    ).all()
    for r in rows:
        reason = f"nieuzupełnione braki formalne: {r.formal_gap or ''}".strip()
        transition(
            conn,
            r.id,
            "rejected",
            None,
            reason=reason,
            expect=("correction",),
            now=now,
            extra={"rejection_reason": reason, "rejection_stage": "formal"},
        )
        _review_row(conn, r.id, "formal", None, "negative", reason_text=reason)
    return [r.id for r in rows]


# --- merit review ----------------------------------------------------------------------------


def assign_unit(conn: Connection, proposal_id: int, unit: str, actor: int) -> None:
    p = get_proposal(conn, proposal_id)
    if p.status not in ("submitted", "correction", "under_review"):
        _wrong_state(p.status)
    if conn.execute(text("SELECT 1 FROM pb_units WHERE code = :u"), {"u": unit}).first() is None:
        raise PbError("bad_choice", "unit", N_("Nieznana jednostka miejska."))
    conn.execute(
        text("UPDATE budget_proposals SET unit = :u WHERE id = :id"), {"u": unit, "id": proposal_id}
    )
    record_audit(conn, actor, "pb.unit_assign", "budget_proposals", proposal_id, reason=unit)


def merit_decide(
    conn: Connection,
    proposal_id: int,
    verifier: int,
    checklist: dict[str, Any],
    final_cost: Any,
    decision: str,
    reason_text: str | None = None,
    now: datetime | None = None,
) -> str:
    p = get_proposal(conn, proposal_id)
    require_phase(conn, p.edition, "merit_review", now)
    if p.status != "under_review":
        _wrong_state(p.status)
    if p.unit is None or p.unit not in verifier_units(conn, verifier):
        raise PbError(
            "not_your_unit",
            "unit",
            N_("Ten projekt weryfikuje inna jednostka miejska."),
            403,
        )
    answers: dict[str, bool] = {}
    for key in CHECKLIST:
        v = checklist.get(key)
        if v in (True, "yes", "1", "true", "tak"):
            answers[key] = True
        elif v in (False, "no", "0", "false", "nie"):
            answers[key] = False
        else:
            raise PbError(
                "required", f"checklist.{key}", N_("Odpowiedz na każde pytanie listy kontrolnej.")
            )
    try:
        cost = Decimal(str(final_cost).replace(" ", "").replace(",", "."))
        if not cost.is_finite() or cost < 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise PbError("not_a_number", "final_cost", N_("Podaj koszt końcowy w złotych.")) from None
    reason_text = (reason_text or "").strip() or None
    if reason_text and len(reason_text) > 5000:
        raise PbError("too_long", "reason", N_("Uzasadnienie: najwyżej 5000 znaków."))
    failed = [k for k, ok in answers.items() if not ok]
    if decision == "positive":
        if failed:
            raise PbError(
                "checklist_failed",
                f"checklist.{failed[0]}",
                N_("Ocena pozytywna wymaga spełnienia wszystkich warunków listy kontrolnej."),
            )
        check_cost(get_edition(conn, p.edition), p.scope, p.pool_district, cost, "final_cost")
    elif decision == "negative":
        if not failed and not reason_text:
            raise PbError("reasons_required", "reason", N_("Ocena negatywna wymaga uzasadnienia."))
    else:
        raise PbError("bad_choice", "decision", N_("Nieznana decyzja."))
    _review_row(
        conn,
        proposal_id,
        "merit",
        verifier,
        decision,
        checklist=answers,
        final_cost=cost,
        reasons=failed,
        reason_text=reason_text,
        unit=p.unit,
    )
    estimate = f"{p.cost}" if p.cost is not None else "—"
    if decision == "positive":
        transition(
            conn,
            proposal_id,
            "accepted_for_vote",
            verifier,
            reason=f"koszt końcowy {cost:.2f} zł (szacunek autora {estimate})",
            expect=("under_review",),
            now=now,
            extra={"final_cost": cost, "cost": cost},
        )
        return "accepted_for_vote"
    public = public_reasons(failed, reason_text)
    transition(
        conn,
        proposal_id,
        "rejected",
        verifier,
        reason=public,
        expect=("under_review",),
        now=now,
        extra={
            "final_cost": cost,
            "cost": cost,
            "review_reasons": failed,
            "rejection_reason": public,
            "rejection_stage": "merit",
        },
    )
    return "rejected"


def public_reasons(failed: list[str], reason_text: str | None) -> str:
    """The public reason (Polish; the codes in ``review_reasons`` are translated on pages)."""
    parts = [f"niespełnione: {CHECKLIST[k]}" for k in failed]
    if reason_text:
        parts.append(reason_text)
    return "; ".join(parts)


def _review_row(
    conn,
    proposal_id,
    stage,
    reviewer,
    decision,
    checklist=None,
    final_cost=None,
    reasons=(),
    reason_text=None,
    unit=None,
) -> None:
    import json

    row = conn.execute(
        text(
            """INSERT INTO pb_reviews (proposal_id, stage, unit, reviewer_id, decision, checklist,
                   final_cost, reasons, reason_text)
               VALUES (:p, :s, :u, :r, :d, CAST(:c AS jsonb), :fc, :rs, :rt)
               ON CONFLICT ON CONSTRAINT pb_reviews_one_per_stage DO NOTHING RETURNING id"""
        ),
        {
            "p": proposal_id,
            "s": stage,
            "u": unit,
            "r": reviewer,
            "d": decision,
            "c": json.dumps(checklist or {}),
            "fc": final_cost,
            "rs": list(reasons),
            "rt": reason_text,
        },
    ).first()
    if row is None:
        raise PbError("already_decided", "proposal", N_("Ten projekt ma już decyzję."), 409)


def _wrong_state(state: str):
    raise PbError(
        "transition_not_allowed",
        "status",
        N_("Projekt ma status „%(state)s”: tego kroku nie można teraz wykonać."),
        409,
        state=state,
    )


def reviews(conn: Connection, proposal_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            """SELECT stage, unit, decision, checklist, final_cost, reasons, reason_text,
                      decided_at FROM pb_reviews WHERE proposal_id = :p ORDER BY decided_at"""
        ),
        {"p": proposal_id},
    ).mappings()
    return [dict(r) for r in rows]


def review_queue(conn: Connection, edition: int, user_id: int | None, staff: bool) -> list[dict]:
    """What a reviewer sees: staff everything in review; a verifier their units' projects."""
    mine = verifier_units(conn, user_id)
    rows = conn.execute(
        text(
            """SELECT id, title, status, scope, pool_district, unit, cost, support_deadline,
                      correction_deadline
               FROM budget_proposals
               WHERE edition = :e AND hidden_at IS NULL
                 AND status IN ('submitted', 'correction', 'under_review', 'protested')
                 AND (:staff OR unit = ANY(:units))
               ORDER BY status, id"""
        ),
        {"e": edition, "staff": staff, "units": mine},
    ).mappings()
    return [dict(r) for r in rows]
