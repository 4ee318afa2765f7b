"""A Kraków ballot: exactly 3 city-wide projects and exactly 3 of the voter's district, each
part ranked (1st = 3 points, 2nd = 2, 3rd = 1). Checking it, putting it in the urn, and the urn's
shuffle into the counted ``ballots`` table.

**Secrecy.** A cast ballot is written as two rows (the city-wide part and the district part)
of ``pb_urn`` in the same transaction as the voter's register row — with no voter id, no
account, no timestamp; the urn's key is a random UUID. When the urn holds
:data:`URN_BATCH` ballots or more of an edition, :func:`flush` moves them into ``ballots`` in
random order (``ORDER BY random()``) with random ids (``pb_random_id()``). So neither an id
nor the physical order of ``ballots`` says who cast it or when: in a dump a ballot can at best
be placed in a batch of :data:`URN_BATCH` or more. The tally counts ``ballots`` and the urn,
so results are exact at every moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from civic import N_
from civic.pb.errors import PbError

CHOICES = 3  # per part
URN_BATCH = 100


@dataclass(frozen=True)
class Ballot:
    edition: int
    district: int  # the voter's district: the district part's pool
    citywide: tuple[str, ...]  # external ids, 1st choice first
    local: tuple[str, ...]


def _refs(values) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = values.split(",")
    return [str(v).strip() for v in values if str(v).strip()]


def _shape(scope: str, refs: list[str], field: str) -> None:
    """Exactly 3 references, none repeated (before any lookup)."""
    if len(refs) != CHOICES:
        msg = (
            N_("Wybierz dokładnie 3 projekty ogólnomiejskie (wybrano: %(n)s).")
            if scope == "citywide"
            else N_("Wybierz dokładnie 3 projekty ze swojej dzielnicy (wybrano: %(n)s).")
        )
        raise PbError("too_few" if len(refs) < CHOICES else "too_many", field, msg, n=len(refs))
    if len(set(refs)) != len(refs):
        raise PbError("repeated", field, N_("Każdy projekt można wybrać tylko raz."))


def check_ballot(conn: Connection, edition: int, district: int, citywide, local) -> Ballot:
    """A valid ballot, or PbError naming the part ("citywide" / "district") and what is wrong.
    References are external ids, or ballot-list numbers (paper); both parts are looked up in
    one statement."""
    parts = (("citywide", _refs(citywide)), ("district", _refs(local)))
    for scope, refs in parts:
        _shape(scope, refs, scope)
    rows = conn.execute(
        text(
            """SELECT r.part, r.ref, p.external_id
               FROM unnest(CAST(:parts AS text[]), CAST(:refs AS text[])) AS r(part, ref)
               LEFT JOIN budget_proposals p ON p.edition = :e AND p.scope = r.part
                    AND p.status = 'accepted_for_vote' AND p.external_id IS NOT NULL
                    AND (p.scope = 'citywide' OR p.pool_district = :d)
                    AND (p.external_id = r.ref OR (r.ref ~ '^[0-9]{1,6}$'
                         AND p.ballot_number = CAST(r.ref AS integer)))"""
        ),
        {
            "parts": [scope for scope, refs in parts for _ in refs],
            "refs": [r for _, refs in parts for r in refs],
            "e": edition,
            "d": district,
        },
    ).all()
    found = {(r.part, r.ref): r.external_id for r in rows if r.external_id}
    chosen = []
    for scope, refs in parts:
        missing = [r for r in refs if (scope, r) not in found]
        if missing:
            raise PbError(
                "unknown_project",
                scope,
                N_("Nie ma projektu %(ref)s na liście do głosowania tej puli."),
                ref=missing[0],
            )
        ids = tuple(found[(scope, r)] for r in refs)
        if len(set(ids)) != len(ids):
            raise PbError("repeated", scope, N_("Każdy projekt można wybrać tylko raz."))
        chosen.append(ids)
    return Ballot(edition, district, chosen[0], chosen[1])


URN_ROWS = """INSERT INTO pb_urn (edition, scope, district, voter_district, voting_method,
                  voting_point, choices, source)
              SELECT :e, v.scope, v.district, :d, :m, :vp, v.choices, :src
              FROM (VALUES ('citywide', 0, CAST(:c AS text[])),
                           ('district', :d, CAST(:l AS text[]))) AS v(scope, district, choices)"""


def urn_params(ballot: Ballot, method: str, voting_point: int | None) -> dict:
    return {
        "e": ballot.edition,
        "d": ballot.district,
        "m": method,
        "vp": voting_point,
        "c": list(ballot.citywide),
        "l": list(ballot.local),
        "src": f"civicmap:{method}",
    }


def put_in_urn(conn: Connection, ballot: Ballot, method: str, voting_point: int | None) -> None:
    conn.execute(text(URN_ROWS), urn_params(ballot, method, voting_point))


def in_urn(conn: Connection, edition: int) -> int:
    """Ballots of the edition waiting in the urn (not yet shuffled into ``ballots``)."""
    return conn.execute(
        text("SELECT count(*) FROM pb_urn WHERE edition = :e AND scope = 'citywide'"),
        {"e": edition},
    ).scalar_one()


def flush(conn: Connection, edition: int, minimum: int = URN_BATCH) -> int:
    """Move the edition's urn into ``ballots`` in random order once it holds ``minimum`` ballots
    (0: whatever it holds, e.g. when voting closes). One flusher at a time (advisory lock);
    returns the rows moved."""
    got = conn.execute(
        text("SELECT pg_try_advisory_xact_lock(hashtext('pb_urn'), :e)"), {"e": edition}
    ).scalar_one()
    if not got:
        return 0
    n = in_urn(conn, edition)
    if n == 0 or n < minimum:
        return 0
    moved = conn.execute(
        text(
            """WITH moved AS (DELETE FROM pb_urn WHERE edition = :e RETURNING *)
               INSERT INTO ballots (edition, scope, district, voter_district, voting_method,
                   voting_point, choices, source)
               SELECT edition, scope, district, voter_district, voting_method, voting_point,
                      choices, source
               FROM moved ORDER BY random()"""
        ),
        {"e": edition},
    )
    return moved.rowcount


def turnout(conn: Connection, edition: int) -> list[dict]:
    """Per district of residence: online and paper ballots, invalid paper ballots."""
    rows = conn.execute(
        text(
            """WITH b AS (
                   SELECT voter_district AS d, voting_method AS m FROM ballots
                   WHERE edition = :e AND scope = 'citywide'
                   UNION ALL
                   SELECT voter_district, voting_method FROM pb_urn
                   WHERE edition = :e AND scope = 'citywide')
               SELECT d.number, d.name,
                   (SELECT count(*) FROM b WHERE b.d = d.number AND b.m = 'internet') AS online,
                   (SELECT count(*) FROM b WHERE b.d = d.number AND b.m = 'paper') AS paper,
                   (SELECT count(*) FROM b WHERE b.d = d.number AND b.m IS NULL) AS unknown,
                   (SELECT count(*) FROM pb_invalid_ballots i
                    WHERE i.edition = :e AND i.district = d.number) AS invalid
               FROM districts d ORDER BY d.number"""
        ),
        {"e": edition},
    ).all()
    return [dict(r._mapping) for r in rows]


def turnout_by_point(conn: Connection, edition: int) -> list[dict]:
    """Per voting point (a civic venue) with paper ballots: valid and invalid paper ballots."""
    rows = conn.execute(
        text(
            """WITH b AS (
                   SELECT voting_point AS p, count(*) AS n FROM (
                       SELECT voting_point FROM ballots
                       WHERE edition = :e AND scope = 'citywide' AND voting_point IS NOT NULL
                       UNION ALL
                       SELECT voting_point FROM pb_urn
                       WHERE edition = :e AND scope = 'citywide' AND voting_point IS NOT NULL
                   ) x GROUP BY voting_point),
               i AS (SELECT voting_point AS p, count(*) AS n FROM pb_invalid_ballots
                     WHERE edition = :e AND voting_point IS NOT NULL GROUP BY voting_point)
               SELECT v.id, v.name, v.type, v.districts[1] AS district,
                      coalesce(b.n, 0) AS paper, coalesce(i.n, 0) AS invalid
               FROM civic_venues v
               LEFT JOIN b ON b.p = v.id LEFT JOIN i ON i.p = v.id
               WHERE b.n IS NOT NULL OR i.n IS NOT NULL
               ORDER BY v.name, v.id"""
        ),
        {"e": edition},
    ).all()
    return [dict(r._mapping) for r in rows]
