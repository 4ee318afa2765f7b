"""The support list (lista poparcia): online signatures and paper lists.

A project needs ``support_count`` supporters (15) who live in Kraków — for a district project,
in that district — within ``support_days`` (10) of its submission. Online: one signature per
person and project, guaranteed by ``UNIQUE (proposal_id, user_id)`` and ``INSERT … ON CONFLICT
DO NOTHING`` (a double click or fifty parallel requests count once). Paper: staff record the
number of signatures, the scan and who recorded it. A project whose list is not complete by its
deadline gets "no support list" (:func:`close_support_lists`, run by every review page and by
``civicmap editions tick``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.pb.clock import today
from civic.pb.editions import get_edition
from civic.pb.errors import PbError
from civic.pb.workflow import get_proposal, transition

COLLECTING = ("submitted", "correction")
MAX_SCAN = 10 * 1024 * 1024
SCAN_TYPES = ("application/pdf", "image/jpeg", "image/png")


def support_count(conn: Connection, proposal_id: int) -> dict[str, int]:
    row = conn.execute(
        text(
            """SELECT (SELECT count(*) FROM pb_supports WHERE proposal_id = :id) AS online,
                      (SELECT coalesce(sum(signatures), 0) FROM pb_paper_lists
                       WHERE proposal_id = :id) AS paper"""
        ),
        {"id": proposal_id},
    ).one()
    return {
        "online": int(row.online),
        "paper": int(row.paper),
        "total": int(row.online + row.paper),
    }


def support_state(conn: Connection, proposal_id: int) -> dict[str, Any]:
    p = get_proposal(conn, proposal_id)
    e = get_edition(conn, p.edition)
    c = support_count(conn, proposal_id)
    return {
        **c,
        "required": e.support_count,
        "deadline": p.support_deadline,
        "complete": c["total"] >= e.support_count,
    }


def is_complete(conn: Connection, proposal_id: int) -> bool:
    return bool(support_state(conn, proposal_id)["complete"])


def _open_for_support(conn: Connection, proposal_id: int, now: datetime | None):
    p = get_proposal(conn, proposal_id)
    if p.status not in COLLECTING or p.support_deadline is None:
        raise PbError(
            "not_collecting",
            "proposal",
            N_("Ten projekt nie zbiera teraz podpisów poparcia."),
            409,
        )
    if today(now) > p.support_deadline:
        raise PbError(
            "support_closed",
            "proposal",
            N_("Termin zbierania podpisów minął %(deadline)s."),
            409,
            deadline=p.support_deadline.isoformat(),
        )
    return p


def sign(
    conn: Connection,
    proposal_id: int,
    user_id: int,
    declared_residency: bool,
    district: int | None = None,
    now: datetime | None = None,
) -> int:
    """One online signature; refuses a second one by the same person (409) — by the UNIQUE
    constraint, so concurrent requests never double-count."""
    p = _open_for_support(conn, proposal_id, now)
    if not declared_residency:
        raise PbError(
            "declaration_required",
            "declared_residency",
            N_("Potwierdź, że mieszkasz w Krakowie."),
        )
    if p.scope == "district":
        if district is None:
            raise PbError("required", "district", N_("Podaj dzielnicę, w której mieszkasz."))
        if int(district) != p.pool_district:
            raise PbError(
                "wrong_district",
                "district",
                N_("Projekt dzielnicowy mogą poprzeć tylko mieszkańcy jego dzielnicy."),
            )
    row = conn.execute(
        text(
            """INSERT INTO pb_supports (proposal_id, user_id, district, declared_residency,
                   signed_at)
               VALUES (:p, :u, :d, true, coalesce(CAST(:at AS timestamptz), now()))
               ON CONFLICT ON CONSTRAINT pb_supports_one_per_person DO NOTHING RETURNING id"""
        ),
        {"p": proposal_id, "u": user_id, "d": district, "at": now},
    ).first()
    if row is None:
        raise PbError(
            "already_signed", "proposal", N_("Ten projekt już ma Twój podpis poparcia."), 409
        )
    return row.id


def record_paper_list(
    conn: Connection,
    proposal_id: int,
    signatures: Any,
    actor: int,
    scan: bytes | None = None,
    scan_name: str | None = None,
    scan_type: str | None = None,
    now: datetime | None = None,
) -> int:
    """Staff record a paper list: the count of valid signatures, the scan, who recorded it."""
    p = get_proposal(conn, proposal_id)
    if p.status not in COLLECTING:
        raise PbError(
            "not_collecting", "proposal", N_("Ten projekt nie zbiera teraz podpisów poparcia."), 409
        )
    try:
        n = int(str(signatures))
    except (TypeError, ValueError):
        raise PbError("not_a_number", "signatures", N_("Podaj liczbę podpisów.")) from None
    if not 1 <= n <= 10000:
        raise PbError("out_of_range", "signatures", N_("Liczba podpisów: od 1 do 10 000."))
    if scan is not None:
        if len(scan) > MAX_SCAN:
            raise PbError("too_large", "scan", N_("Skan może mieć najwyżej 10 MB."), 413)
        if scan_type not in SCAN_TYPES:
            raise PbError("bad_type", "scan", N_("Skan: PDF, JPEG albo PNG."))
    row = conn.execute(
        text(
            """INSERT INTO pb_paper_lists (proposal_id, signatures, scan_name, scan_type, scan,
                   recorded_by) VALUES (:p, :n, :sn, :st, :s, :a) RETURNING id"""
        ),
        {
            "p": proposal_id,
            "n": n,
            "sn": (scan_name or "")[:200] or None,
            "st": scan_type if scan else None,
            "s": scan,
            "a": actor,
        },
    ).one()
    record_audit(
        conn, actor, "pb.paper_list", "budget_proposals", proposal_id, reason=f"{n} signatures"
    )
    return row.id


def close_support_lists(conn: Connection, edition: int, now: datetime | None = None) -> list[int]:
    """Projects past their support deadline with an incomplete list -> "no support list"."""
    e = get_edition(conn, edition)
    rows = (
        conn.execute(
            text(
                """SELECT p.id FROM budget_proposals p
               WHERE p.edition = :e AND p.status IN ('submitted', 'correction')
                 AND p.support_deadline < :d
                 AND (SELECT count(*) FROM pb_supports s WHERE s.proposal_id = p.id)
                   + (SELECT coalesce(sum(signatures), 0) FROM pb_paper_lists l
                      WHERE l.proposal_id = p.id) < :need
               ORDER BY p.id"""
            ),
            {"e": edition, "d": today(now), "need": e.support_count},
        )
        .scalars()
        .all()
    )
    for pid in rows:
        transition(
            conn,
            pid,
            "no_support_list",
            None,
            reason=f"lista poparcia niepełna w terminie (wymagane {e.support_count})",
            expect=COLLECTING,
            now=now,
        )
    return list(rows)
