"""Voting in an edition: online by a confirmed account, on paper at a voting point.

One ballot per person and edition across channels is guaranteed by the database alone:
``pb_voter_register`` (PRIMARY KEY edition + identity key, civic/pb/register.py) and, for an
account, the conditional ``UPDATE pb_declarations SET voted = true ... WHERE NOT voted``; both
in the ballot's own transaction, so a second attempt — a double click, a second tab, a paper
ballot after an online one — inserts nothing, whatever the concurrency. A refused attempt is
logged (audit_log, action ``pb.vote_refused``, with the channel and the reason, never the
choices). The ballot itself goes to the urn (civic/pb/ballots.py) without any link to the voter.

The voting window is the edition's ``voting`` phase (civic/pb/phases.py). An extra check of the
voter (an SMS code, mObywatel) would go in :func:`extra_check`, an extension point that accepts
everyone today.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from civic import N_
from civic.audit import record_audit
from civic.pb import ballots as B
from civic.pb.clock import today
from civic.pb.errors import PbError
from civic.pb.phases import require_phase
from civic.pb.register import Identity, identity_key, parse_identity

log = logging.getLogger(__name__)

POINT_TYPES = ("library", "culture", "council_seat", "city_office")
INVALID_REASONS = {
    "too_many": N_("za dużo wskazanych projektów"),
    "too_few": N_("za mało wskazanych projektów"),
    "repeated": N_("ten sam projekt wskazany kilka razy"),
    "unknown_project": N_("numer spoza listy do głosowania"),
    "unreadable": N_("karta nieczytelna lub zniszczona"),
    "other": N_("inny powód"),
}


@dataclass(frozen=True)
class Cast:
    edition: int
    channel: str
    valid: bool
    waiting: int | None = None  # ballots in the urn before this one (None: not looked at)


def extra_check(conn: Connection, user_id: int, answer: str | None) -> None:
    """Extension point for a second factor (e.g. an SMS code); none is required today."""


def _district(conn: Connection, value: Any) -> int:
    try:
        d = int(value)
    except (TypeError, ValueError):
        d = 0
    name = conn.execute(text("SELECT name FROM districts WHERE number = :d"), {"d": d}).scalar()
    if name is None:
        raise PbError("unknown_district", "district", N_("Wybierz dzielnicę z listy."))
    return d


def declaration(conn: Connection, edition: int, user_id: int) -> dict | None:
    row = conn.execute(
        text(
            "SELECT d.district, x.name, d.voted FROM pb_declarations d "
            "JOIN districts x ON x.number = d.district WHERE d.edition = :e AND d.user_id = :u"
        ),
        {"e": edition, "u": user_id},
    ).first()
    return None if row is None else {"district": row.district, "name": row.name, "voted": row.voted}


def declare_district(
    conn: Connection, edition: int, user_id: int, district: Any, now: datetime | None = None
) -> dict:
    """Declare the district of residence once per edition (a second, different one: 409)."""
    require_phase(conn, edition, "voting", now, field="edition")
    d = _district(conn, district)
    conn.execute(
        text(
            "INSERT INTO pb_declarations (edition, user_id, district) VALUES (:e, :u, :d) "
            "ON CONFLICT (edition, user_id) DO NOTHING"
        ),
        {"e": edition, "u": user_id, "d": d},
    )
    got = declaration(conn, edition, user_id)
    if got["district"] != d:
        raise PbError(
            "district_declared",
            "district",
            N_("W tej edycji wskazano już dzielnicę zamieszkania: %(name)s."),
            409,
            name=got["name"],
        )
    return got


def _register(conn: Connection, edition: int, identity: Identity, channel: str) -> None:
    first = conn.execute(
        text(
            "INSERT INTO pb_voter_register (edition, identity_key, channel) VALUES (:e, :k, :c) "
            "ON CONFLICT DO NOTHING RETURNING edition"
        ),
        {"e": edition, "k": identity_key(identity), "c": channel},
    ).first()
    if first is None:
        raise PbError("already_voted", "identity", N_("Ta osoba już głosowała w tej edycji."), 409)


# Everything an online cast checks before writing, in one statement: the edition, its voting
# window today, whether the window's opening is logged yet, the account, the declaration.
_ONLINE_STATE = """
    SELECT e.closed,
           EXISTS (SELECT 1 FROM pb_edition_phases p WHERE p.edition = e.year
                   AND p.phase = 'voting' AND :day BETWEEN p.starts_on AND p.ends_on) AS open,
           EXISTS (SELECT 1 FROM pb_phase_log l
                   WHERE l.edition = e.year AND l.phase = 'voting') AS logged,
           (SELECT u.confirmed_at IS NOT NULL FROM users u
            WHERE u.id = :u AND u.deleted_at IS NULL) AS confirmed,
           d.district, d.voted
    FROM pb_editions e
    LEFT JOIN pb_declarations d ON d.edition = e.year AND d.user_id = :u
    WHERE e.year = :e"""

# The account's mark, the register row and the urn's two rows in one statement: the mark and
# the register row are each written at most once (the conditional UPDATE, the primary key);
# the urn gets the ballot only when both were; the caller rolls back unless both were.
_ONLINE_WRITE = f"""
    WITH marked AS (
        UPDATE pb_declarations SET voted = true
        WHERE edition = :e AND user_id = :u AND NOT voted RETURNING edition),
    registered AS (
        INSERT INTO pb_voter_register (edition, identity_key, channel)
        SELECT :e, :k, 'internet' FROM marked
        ON CONFLICT DO NOTHING RETURNING edition),
    urn AS ({B.URN_ROWS} WHERE EXISTS (SELECT 1 FROM registered) RETURNING 1)
    SELECT (SELECT count(*) FROM marked) AS marked,
           (SELECT count(*) FROM registered) AS registered,
           (SELECT count(*) FROM pb_urn WHERE edition = :e AND scope = 'citywide') AS waiting"""


def _online(conn, edition, user_id, form, now) -> Cast:
    st = conn.execute(text(_ONLINE_STATE), {"e": edition, "u": user_id, "day": today(now)}).first()
    if st is None or st.closed or not st.open or not st.logged:
        # the exact refusal (no edition, closed, not open), or the opening's first log entry
        require_phase(conn, edition, "voting", now, field="edition")
    if not st.confirmed:
        raise PbError(
            "unconfirmed", "account", N_("Głosowanie online wymaga potwierdzonego konta."), 403
        )
    if st.district is None:
        raise PbError("no_district", "district", N_("Najpierw wskaż dzielnicę zamieszkania."), 409)
    if st.voted:  # a fast answer only: the conditional UPDATE below is the guarantee
        raise PbError("already_voted", "account", N_("Już oddano głos w tej edycji."), 409)
    identity = parse_identity(form.get("full_name"), form.get("birth_date"), form.get("address"))
    extra_check(conn, user_id, form.get("extra_code"))
    ballot = B.check_ballot(conn, edition, st.district, form.get("citywide"), form.get("local"))
    done = conn.execute(
        text(_ONLINE_WRITE),
        {"u": user_id, "k": identity_key(identity), **B.urn_params(ballot, "internet", None)},
    ).one()
    if not done.marked:
        raise PbError("already_voted", "account", N_("Już oddano głos w tej edycji."), 409)
    if not done.registered:
        raise PbError("already_voted", "identity", N_("Ta osoba już głosowała w tej edycji."), 409)
    return Cast(edition, "internet", True, done.waiting)


def voting_point(conn: Connection, value: Any) -> dict:
    try:
        vid = int(value)
    except (TypeError, ValueError):
        vid = 0
    row = conn.execute(
        text("SELECT id, name, type FROM civic_venues WHERE id = :i AND type = ANY(:t)"),
        {"i": vid, "t": list(POINT_TYPES)},
    ).first()
    if row is None:
        raise PbError("voting_point", "voting_point", N_("Wybierz punkt głosowania z listy."))
    return dict(row._mapping)


def staff_points(conn: Connection, user_id: int) -> list[int]:
    """The voting points an account with the ``voting_point`` role enters ballots at."""
    return list(
        conn.execute(
            text("SELECT venue_id FROM pb_voting_point_staff WHERE user_id = :u ORDER BY 1"),
            {"u": user_id},
        ).scalars()
    )


def assign_voting_point(conn: Connection, user_id: int, venue: Any) -> dict:
    """Give an account the ``voting_point`` role at a voting point (once: primary key)."""
    point = voting_point(conn, venue)
    conn.execute(
        text(
            "UPDATE users SET roles = array_append(roles, 'voting_point') "
            "WHERE id = :u AND NOT 'voting_point' = ANY(roles)"
        ),
        {"u": user_id},
    )
    conn.execute(
        text(
            "INSERT INTO pb_voting_point_staff (user_id, venue_id) VALUES (:u, :v) "
            "ON CONFLICT DO NOTHING"
        ),
        {"u": user_id, "v": point["id"]},
    )
    return point


def assign_voting_point_by_email(conn: Connection, email: str, venue: Any) -> dict:
    uid = conn.execute(
        text("SELECT id FROM users WHERE lower(email) = lower(:e) AND deleted_at IS NULL"),
        {"e": email},
    ).scalar()
    if uid is None:
        raise PbError("not_found", "email", N_("Nie ma konta z tym adresem."), 404)
    return assign_voting_point(conn, uid, venue)


def _paper(conn, edition, form, now, allowed: list[int] | None = None) -> Cast:
    require_phase(conn, edition, "voting", now, field="edition")
    point = voting_point(conn, form.get("voting_point"))
    if allowed is not None and point["id"] not in allowed:
        raise PbError(
            "not_your_point",
            "voting_point",
            N_("Możesz wprowadzać karty tylko w swoim punkcie głosowania."),
            403,
        )
    identity = parse_identity(form.get("full_name"), form.get("birth_date"), form.get("address"))
    d = _district(conn, form.get("district"))
    reason = (form.get("invalid_reason") or "").strip()
    if reason:
        if reason not in INVALID_REASONS:
            raise PbError("invalid_reason", "invalid_reason", N_("Nieznany powód nieważności."))
        _register(conn, edition, identity, "paper")
        conn.execute(
            text(
                "INSERT INTO pb_invalid_ballots (edition, district, voting_point, reason, note) "
                "VALUES (:e, :d, :p, :r, :n)"
            ),
            {
                "e": edition,
                "d": d,
                "p": point["id"],
                "r": reason,
                "n": (form.get("note") or "").strip()[:500] or None,
            },
        )
        return Cast(edition, "paper", False)
    ballot = B.check_ballot(conn, edition, d, form.get("citywide"), form.get("local"))
    _register(conn, edition, identity, "paper")
    B.put_in_urn(conn, ballot, "paper", point["id"])
    return Cast(edition, "paper", True)


def _run(engine: Engine, fn, edition: int, actor: int | None, channel: str, *args) -> Cast:
    """One attempt in one transaction; a refusal is logged in its own; then the urn may be
    shuffled in (best effort: the ballot is already safe in the urn)."""
    try:
        with engine.begin() as conn:
            cast = fn(conn, edition, *args)
    except PbError as exc:
        try:
            with engine.begin() as conn:
                record_audit(
                    conn,
                    actor,
                    "pb.vote_refused",
                    "pb_editions",
                    edition,
                    reason=f"{channel}: {exc.code} ({exc.field})",
                )
        except OperationalError:
            log.warning("could not log a refused vote (database unavailable)")
        raise
    if cast.waiting is not None and cast.waiting + 1 < B.URN_BATCH:
        return cast  # the urn is not full yet: nothing to shuffle
    try:
        with engine.begin() as conn:
            B.flush(conn, edition)
    except OperationalError:
        log.warning("urn flush postponed (database unavailable)")
    return cast


def cast_online(
    engine: Engine, edition: int, user_id: int, form: dict, now: datetime | None = None
) -> Cast:
    """An online ballot: ``form`` has full_name, birth_date, address and the two ranked parts
    ``citywide`` and ``local`` (lists of 3 external ids, 1st choice first)."""
    return _run(engine, _online, edition, user_id, "internet", user_id, form, now)


def cast_paper(
    engine: Engine,
    edition: int,
    staff_id: int,
    form: dict,
    now: datetime | None = None,
    allowed: list[int] | None = None,
) -> Cast:
    """A paper ballot entered by staff: voting_point, the voter's identity and district, and
    the six numbers from the ballot list — or ``invalid_reason`` for an invalid card.
    ``allowed``: the voting points this clerk may use (None: any — officials, admins)."""
    return _run(engine, _paper, edition, staff_id, "paper", form, now, allowed)


def has_voted(conn: Connection, edition: int, form: dict) -> bool:
    """For the clerk, before entering a card: is this person already in the register?"""
    identity = parse_identity(form.get("full_name"), form.get("birth_date"), form.get("address"))
    return bool(
        conn.execute(
            text("SELECT 1 FROM pb_voter_register WHERE edition = :e AND identity_key = :k"),
            {"e": edition, "k": identity_key(identity)},
        ).first()
    )


def ballot_options(conn: Connection, edition: int, district: int | None) -> dict:
    """What a voter chooses from: the city-wide list and the district's, by ballot number."""
    rows = conn.execute(
        text(
            """SELECT p.id, p.external_id, p.ballot_number, p.title, p.scope, p.pool_district,
                      coalesce(p.final_cost, p.cost) AS cost,
                      ST_Y(ST_PointOnSurface(p.geom)) AS lat, ST_X(ST_PointOnSurface(p.geom)) AS lon
               FROM budget_proposals p
               WHERE p.edition = :e AND p.status = 'accepted_for_vote' AND p.external_id IS NOT NULL
                 AND p.hidden_at IS NULL
                 AND (p.scope = 'citywide' OR p.pool_district = :d)
               ORDER BY p.scope, p.ballot_number NULLS LAST, p.title"""
        ),
        {"e": edition, "d": district or -1},
    ).all()
    items = [dict(r._mapping) for r in rows]
    return {
        "citywide": [r for r in items if r["scope"] == "citywide"],
        "local": [r for r in items if r["scope"] == "district"],
    }


def voting_points(conn: Connection, only: list[int] | None = None) -> list[dict]:
    rows = conn.execute(
        text(
            "SELECT id, name, type, address FROM civic_venues WHERE type = ANY(:t) "
            "AND (CAST(:only AS bigint[]) IS NULL OR id = ANY(:only)) ORDER BY name"
        ),
        {"t": list(POINT_TYPES), "only": only},
    ).all()
    return [dict(r._mapping) for r in rows]


def close_urn(engine: Engine, edition: int) -> int:
    """Shuffle whatever is left in the urn into ``ballots`` (when voting closes) and keep the
    edition's results for the pb-results layer."""
    from civic.pb import results as R

    with engine.begin() as conn:
        moved = B.flush(conn, edition, minimum=0)
        if edition in R.editions(conn):
            R.store(conn, edition)
        return moved


def review(conn: Connection, edition: int, user_id: int, form: dict) -> dict:
    """The review step before casting: everything checked as the cast will check it, nothing
    written; returns the chosen projects with their points, in ballot order."""
    require_phase(conn, edition, "voting", None, field="edition")
    decl = declaration(conn, edition, user_id)
    if decl is None:
        raise PbError("no_district", "district", N_("Najpierw wskaż dzielnicę zamieszkania."), 409)
    if decl["voted"]:
        raise PbError("already_voted", "account", N_("Już oddano głos w tej edycji."), 409)
    parse_identity(form.get("full_name"), form.get("birth_date"), form.get("address"))
    ballot = B.check_ballot(
        conn, edition, decl["district"], form.get("citywide"), form.get("local")
    )
    titles = dict(
        conn.execute(
            text("SELECT external_id, title FROM budget_proposals WHERE external_id = ANY(:x)"),
            {"x": [*ballot.citywide, *ballot.local]},
        ).all()
    )
    part = lambda ids: [  # noqa: E731
        {"external_id": x, "title": titles.get(x, x), "points": pts}
        for x, pts in zip(ids, (3, 2, 1), strict=True)
    ]
    return {"district": decl, "citywide": part(ballot.citywide), "local": part(ballot.local)}


def district_list(conn: Connection) -> list[dict]:
    return [
        dict(r._mapping)
        for r in conn.execute(text("SELECT number, name FROM districts ORDER BY number"))
    ]
