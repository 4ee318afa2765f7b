"""The phases of an edition, in order, and the server's rule of what each phase allows.

An edition's schedule is rows of ``pb_edition_phases`` (dates in Europe/Warsaw, both ends
inclusive). Phases may overlap by a day (Kraków 2025 publishes the verification list on 9 June,
the first day of protests): "is phase X open?" asks X's own window; the *current* phase shown
to people is the last one, in order, whose window contains today.

A phase is audited when it opens: the first time the server sees it open (any request, or
``civicmap editions tick``) it writes ``pb_phase_log`` once (primary key) and the audit log.
An admin's change of the schedule (edit or "advance to the next phase") is audited too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.pb.clock import today
from civic.pb.errors import PbError

PHASES = (
    "submission",
    "formal_review",
    "merit_review",
    "protests",
    "ballot_list",
    "withdrawals",
    "voting",
    "results",
    "execution",
)
PHASE_TITLES = {
    "submission": N_("składanie projektów"),
    "formal_review": N_("weryfikacja formalna"),
    "merit_review": N_("weryfikacja merytoryczna"),
    "protests": N_("protesty"),
    "ballot_list": N_("lista do głosowania"),
    "withdrawals": N_("wycofania i łączenie projektów"),
    "voting": N_("głosowanie"),
    "results": N_("wyniki"),
    "execution": N_("realizacja"),
}


@dataclass(frozen=True)
class PhaseWindow:
    phase: str
    starts_on: date
    ends_on: date

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


def schedule(conn: Connection, edition: int) -> list[PhaseWindow]:
    rows = conn.execute(
        text("SELECT phase, starts_on, ends_on FROM pb_edition_phases WHERE edition = :e"),
        {"e": edition},
    ).all()
    order = {p: i for i, p in enumerate(PHASES)}
    return sorted(
        (PhaseWindow(r.phase, r.starts_on, r.ends_on) for r in rows), key=lambda w: order[w.phase]
    )


def window(conn: Connection, edition: int, phase: str) -> PhaseWindow | None:
    return next((w for w in schedule(conn, edition) if w.phase == phase), None)


def current_phase(
    conn: Connection, edition: int, now: datetime | None = None, observe: bool = True
) -> str | None:
    """The last phase (in order) open today; None before the first / between phases."""
    day = today(now)
    open_ = [w.phase for w in schedule(conn, edition) if w.contains(day)]
    phase = open_[-1] if open_ else None
    if observe:
        for p in open_:
            _observe(conn, edition, p)
    return phase


def next_phase(conn: Connection, edition: int, now: datetime | None = None) -> PhaseWindow | None:
    day = today(now)
    return next((w for w in schedule(conn, edition) if w.starts_on > day), None)


def _observe(conn: Connection, edition: int, phase: str) -> None:
    first = conn.execute(
        text(
            "INSERT INTO pb_phase_log (edition, phase) VALUES (:e, :p) "
            "ON CONFLICT DO NOTHING RETURNING edition"
        ),
        {"e": edition, "p": phase},
    ).first()
    if first is not None:
        record_audit(conn, None, "pb.phase_open", "pb_editions", edition, reason=phase)


def _is_closed(conn: Connection, edition: int) -> bool:
    closed = conn.execute(
        text("SELECT closed FROM pb_editions WHERE year = :e"), {"e": edition}
    ).scalar()
    if closed is None:
        raise PbError(
            "no_edition", "edition", N_("Nie ma edycji %(edition)s."), 404, edition=edition
        )
    return bool(closed)


def require_phase(
    conn: Connection,
    edition: int,
    phases: str | tuple[str, ...],
    now: datetime | None = None,
    field: str = "phase",
) -> str:
    """Refuse (409) unless one of ``phases`` is open today; the error says which phase is
    open and when the asked one opens. Returns the open phase asked for."""
    asked = (phases,) if isinstance(phases, str) else phases
    if _is_closed(conn, edition):
        raise PbError(
            "edition_closed",
            field,
            N_("Edycja %(edition)s jest zamknięta."),
            409,
            edition=edition,
        )
    day = today(now)
    sched = schedule(conn, edition)
    for w in sched:
        if w.phase in asked and w.contains(day):
            _observe(conn, edition, w.phase)
            return w.phase
    current = current_phase(conn, edition, now)
    target = next((w for w in sched if w.phase == asked[0]), None)
    raise PbError(
        "phase_closed",
        field,
        N_(
            "Ten etap nie jest teraz otwarty: „%(asked)s” trwa %(starts)s – %(ends)s; "
            "teraz trwa: %(current)s."
        ),
        409,
        asked=asked[0],
        starts=target.starts_on.isoformat() if target else "—",
        ends=target.ends_on.isoformat() if target else "—",
        current=current or "—",
    )


def set_phase(
    conn: Connection,
    edition: int,
    phase: str,
    starts_on: date,
    ends_on: date,
    actor: int | None,
) -> None:
    if phase not in PHASES:
        raise PbError("unknown_phase", "phase", N_("Nieznany etap: %(phase)s."), phase=phase)
    if ends_on < starts_on:
        raise PbError(
            "dates_order",
            f"phases.{phase}.ends_on",
            N_("Etap „%(phase)s”: koniec jest przed początkiem."),
            phase=phase,
        )
    conn.execute(
        text(
            "INSERT INTO pb_edition_phases (edition, phase, starts_on, ends_on) "
            "VALUES (:e, :p, :s, :f) ON CONFLICT (edition, phase) DO UPDATE SET "
            "starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on"
        ),
        {"e": edition, "p": phase, "s": starts_on, "f": ends_on},
    )
    record_audit(
        conn,
        actor,
        "pb.phase_set",
        "pb_editions",
        edition,
        reason=f"{phase}: {starts_on.isoformat()} – {ends_on.isoformat()}",
    )


def advance(conn: Connection, edition: int, actor: int | None, now: datetime | None = None) -> str:
    """Open the next phase today (an admin's decision, audited): every earlier phase ends
    yesterday, the next one starts today, later phases start after it."""
    _is_closed(conn, edition)
    day = today(now)
    sched = schedule(conn, edition)
    current = current_phase(conn, edition, now, observe=False)
    if current is None:
        upcoming = [w for w in sched if w.starts_on > day]
        target = upcoming[0] if upcoming else None
    else:
        idx = [w.phase for w in sched].index(current)
        target = sched[idx + 1] if idx + 1 < len(sched) else None
    if target is None:
        raise PbError("no_next_phase", "phase", N_("To jest ostatni etap edycji."), 409)
    tidx = [w.phase for w in sched].index(target.phase)
    yesterday = day - timedelta(days=1)
    for w in sched[:tidx]:
        end = min(w.ends_on, yesterday)
        conn.execute(
            text(
                "UPDATE pb_edition_phases SET starts_on = :s, ends_on = :f "
                "WHERE edition = :e AND phase = :p"
            ),
            {"e": edition, "p": w.phase, "s": min(w.starts_on, end), "f": end},
        )
    t_end = max(target.ends_on, day)
    conn.execute(
        text(
            "UPDATE pb_edition_phases SET starts_on = :s, ends_on = :f "
            "WHERE edition = :e AND phase = :p"
        ),
        {"e": edition, "p": target.phase, "s": day, "f": t_end},
    )
    after = t_end
    for w in sched[tidx + 1 :]:
        if w.starts_on <= after:
            length = (w.ends_on - w.starts_on).days
            start = after + timedelta(days=1)
            conn.execute(
                text(
                    "UPDATE pb_edition_phases SET starts_on = :s, ends_on = :f "
                    "WHERE edition = :e AND phase = :p"
                ),
                {"e": edition, "p": w.phase, "s": start, "f": start + timedelta(days=length)},
            )
            after = start + timedelta(days=length)
        else:
            after = w.ends_on
    record_audit(conn, actor, "pb.phase_advance", "pb_editions", edition, reason=target.phase)
    _observe(conn, edition, target.phase)
    return target.phase
