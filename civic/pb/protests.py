"""Protests (appeals) against a rejection, their hearing and outcome.

Within the protest phase (Kraków: the 10 days after the publication of the review results),
the author of a rejected project (formal or merit review) files one protest (``UNIQUE
(proposal_id)``) with a justification. Staff record the hearing — date, who took part (the
unit, the BO council, the district council for a district project), minutes — and the outcome:
*upheld* puts the project on the ballot list (``accepted_for_vote``), *dismissed* leaves it
rejected. Filing publishes ``pb_protest_filed`` (civic.events): the district councils of the
project's districts are notified by :mod:`civic.pb.council_notices` (a subscriber).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.events import publish
from civic.pb import council_notices  # noqa: F401  (subscribes to pb_protest_filed)
from civic.pb.errors import PbError
from civic.pb.phases import require_phase
from civic.pb.workflow import get_proposal, tell_author, transition

PARTICIPANTS = ("unit", "bo_council", "district_council", "author")
EVENT = "pb_protest_filed"


def file_protest(
    conn: Connection,
    proposal_id: int,
    actor: int,
    justification: str,
    now: datetime | None = None,
) -> int:
    p = get_proposal(conn, proposal_id)
    if p.author_id != actor:
        raise PbError(
            "not_author", "proposal", N_("Protest może złożyć tylko autor projektu."), 403
        )
    if p.status != "rejected" or p.rejection_stage not in ("formal", "merit"):
        raise PbError(
            "not_rejected",
            "proposal",
            N_("Protest można złożyć tylko od odrzucenia projektu."),
            409,
        )
    require_phase(conn, p.edition, "protests", now)
    justification = (justification or "").strip()
    if not 10 <= len(justification) <= 5000:
        raise PbError(
            "length",
            "justification",
            N_("Uzasadnienie protestu: od 10 do 5000 znaków."),
        )
    row = conn.execute(
        text(
            """INSERT INTO pb_protests (proposal_id, author_id, justification, filed_at)
               VALUES (:p, :a, :j, coalesce(CAST(:at AS timestamptz), now()))
               ON CONFLICT (proposal_id) DO NOTHING RETURNING id"""
        ),
        {"p": proposal_id, "a": actor, "j": justification, "at": now},
    ).first()
    if row is None:
        raise PbError(
            "already_protested", "proposal", N_("Od tej decyzji złożono już protest."), 409
        )
    transition(
        conn, proposal_id, "protested", actor, reason=justification, expect=("rejected",), now=now
    )
    publish(
        conn,
        EVENT,
        table="budget_proposals",
        target_id=proposal_id,
        title=p.title,
        districts=list(p.districts or ([p.pool_district] if p.pool_district else [])),
        scope=p.scope,
    )
    return row.id


def decide_protest(
    conn: Connection,
    protest_id: int,
    actor: int,
    outcome: str,
    hearing_date: date | str | None,
    participants: list[str],
    minutes: str,
    now: datetime | None = None,
) -> str:
    row = conn.execute(
        text("SELECT proposal_id, outcome FROM pb_protests WHERE id = :id FOR UPDATE"),
        {"id": protest_id},
    ).first()
    if row is None:
        raise PbError("not_found", "protest", N_("Nie ma takiego protestu."), 404)
    if row.outcome is not None:
        raise PbError("already_decided", "protest", N_("Ten protest ma już rozstrzygnięcie."), 409)
    if outcome not in ("upheld", "dismissed"):
        raise PbError("bad_choice", "outcome", N_("Rozstrzygnięcie: uwzględniony albo oddalony."))
    if isinstance(hearing_date, str):
        try:
            hearing_date = date.fromisoformat(hearing_date)
        except ValueError:
            hearing_date = None
    if hearing_date is None:
        raise PbError("required", "hearing_date", N_("Podaj datę rozpatrzenia protestu."))
    bad = [x for x in participants if x not in PARTICIPANTS]
    if bad or not participants:
        raise PbError("bad_choice", "participants", N_("Wskaż uczestników rozpatrzenia."))
    minutes = (minutes or "").strip()
    if not 1 <= len(minutes) <= 20000:
        raise PbError("required", "minutes", N_("Dodaj protokół z rozpatrzenia."))
    p = get_proposal(conn, row.proposal_id)
    require_phase(conn, p.edition, ("protests", "ballot_list"), now)
    conn.execute(
        text(
            """UPDATE pb_protests SET outcome = :o, hearing_date = :h, participants = :pa,
                   minutes = :m, decided_by = :a, decided_at = now() WHERE id = :id"""
        ),
        {
            "o": outcome,
            "h": hearing_date,
            "pa": participants,
            "m": minutes,
            "a": actor,
            "id": protest_id,
        },
    )
    if outcome == "upheld":
        transition(
            conn,
            p.id,
            "accepted_for_vote",
            actor,
            reason=minutes,
            expect=("protested",),
            now=now,
            extra={"rejection_reason": None, "review_reasons": [], "rejection_stage": None},
        )
    else:
        transition(
            conn,
            p.id,
            "rejected",
            actor,
            reason=minutes,
            expect=("protested",),
            now=now,
            extra={"rejection_stage": "protest"},
        )
    record_audit(conn, actor, f"pb.protest_{outcome}", "pb_protests", protest_id, reason=minutes)
    tell_author(conn, p, "pb_protest_decided", outcome=outcome)
    return outcome


def protests(conn: Connection, edition: int | None = None, proposal_id: int | None = None):
    rows = conn.execute(
        text(
            """SELECT r.id, r.proposal_id, p.title, r.justification, r.filed_at, r.hearing_date,
                      r.participants, r.minutes, r.outcome, r.decided_at
               FROM pb_protests r JOIN budget_proposals p ON p.id = r.proposal_id
               WHERE (CAST(:e AS int) IS NULL OR p.edition = :e)
                 AND (CAST(:p AS bigint) IS NULL OR r.proposal_id = :p)
               ORDER BY r.filed_at"""
        ),
        {"e": edition, "p": proposal_id},
    ).mappings()
    return [dict(r) for r in rows]


def protest_for(conn: Connection, proposal_id: int) -> dict[str, Any] | None:
    found = protests(conn, proposal_id=proposal_id)
    return found[0] if found else None
