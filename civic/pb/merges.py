"""Withdrawals and merges, until the withdrawal deadline.

**Withdrawal**: the author withdraws their project (from submission until the end of the
withdrawals phase); it leaves the review or the ballot list.

**Merge**: the author of one project on the ballot list proposes to merge two or more projects
of the same pool into one; every source's author confirms (``pb_merge_sources.confirmed_at``);
when the last one confirms, the merged project is created on the ballot list (its cost the sum,
its location the union of the sources', ``merged_from`` keeping links to them) and the sources
become "merged" with ``merged_into``. A project is in at most one open merge (partial unique
index). Completing a merge that an author has not confirmed is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.pb.errors import PbError
from civic.pb.phases import require_phase
from civic.pb.workflow import get_proposal, tell_author, transition

WITHDRAWABLE = ("submitted", "correction", "under_review", "accepted_for_vote", "protested")


def withdraw(
    conn: Connection,
    proposal_id: int,
    actor: int,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    p = get_proposal(conn, proposal_id)
    if p.author_id != actor:
        raise PbError("not_author", "proposal", N_("Wycofać projekt może tylko jego autor."), 403)
    require_phase(
        conn,
        p.edition,
        ("submission", "formal_review", "merit_review", "protests", "ballot_list", "withdrawals"),
        now,
    )
    if p.status == "protested":
        raise PbError(
            "protest_pending",
            "proposal",
            N_("Projekt ma protest w toku: poczekaj na rozstrzygnięcie."),
            409,
        )
    transition(
        conn,
        proposal_id,
        "withdrawn",
        actor,
        reason=(reason or "").strip()[:2000] or None,
        expect=WITHDRAWABLE,
        now=now,
        extra={"ballot_number": None},
    )


def propose_merge(
    conn: Connection,
    edition: int,
    proposal_ids: list[int],
    actor: int,
    title: str,
    description: str | None = None,
    now: datetime | None = None,
) -> int:
    require_phase(conn, edition, ("ballot_list", "withdrawals"), now)
    ids = sorted({int(i) for i in proposal_ids})
    if len(ids) < 2:
        raise PbError("too_few", "proposals", N_("Połączyć można co najmniej dwa projekty."))
    title = (title or "").strip()
    if not 1 <= len(title) <= 60:
        raise PbError("too_long", "title", N_("Pole „Tytuł”: od 1 do 60 znaków."))
    sources = [get_proposal(conn, i) for i in ids]
    for s in sources:
        if s.edition != edition or s.status != "accepted_for_vote":
            raise PbError(
                "not_on_list",
                "proposals",
                N_("Łączyć można tylko projekty z listy do głosowania tej edycji."),
                409,
            )
    if len({(s.scope, s.pool_district) for s in sources}) != 1:
        raise PbError(
            "different_pools", "proposals", N_("Łączone projekty muszą należeć do tej samej puli.")
        )
    if actor not in {s.author_id for s in sources}:
        raise PbError(
            "not_author", "proposals", N_("Połączenie proponuje autor jednego z projektów."), 403
        )
    merge_id = conn.execute(
        text("""INSERT INTO pb_merges (edition, title, description, proposed_by)
                VALUES (:e, :t, :d, :a) RETURNING id"""),
        {"e": edition, "t": title, "d": (description or "").strip() or None, "a": actor},
    ).scalar_one()
    for s in sources:
        row = conn.execute(
            text("""INSERT INTO pb_merge_sources (merge_id, proposal_id, author_id, confirmed_at)
                    VALUES (:m, :p, :a, CASE WHEN :a = :actor THEN now() END)
                    ON CONFLICT DO NOTHING RETURNING proposal_id"""),
            {"m": merge_id, "p": s.id, "a": s.author_id, "actor": actor},
        ).first()
        if row is None:  # pragma: no cover - the partial unique index raises instead
            raise PbError(
                "already_in_merge", "proposals", N_("Projekt jest już w innym połączeniu."), 409
            )
        if s.author_id != actor:
            tell_author(conn, s, "pb_merge_asked", merge_title=title)
    record_audit(
        conn, actor, "pb.merge_propose", "pb_merges", merge_id, reason=",".join(str(i) for i in ids)
    )
    return merge_id


def confirm_merge(
    conn: Connection, merge_id: int, actor: int, now: datetime | None = None
) -> int | None:
    """The actor confirms for every source they author; returns the merged project's id
    when this was the last confirmation."""
    m = _merge(conn, merge_id)
    require_phase(conn, m["edition"], ("ballot_list", "withdrawals"), now)
    done = conn.execute(
        text("""UPDATE pb_merge_sources SET confirmed_at = now()
                WHERE merge_id = :m AND author_id = :a AND open AND confirmed_at IS NULL
                RETURNING proposal_id"""),
        {"m": merge_id, "a": actor},
    ).all()
    if not done:
        raise PbError(
            "not_author",
            "merge",
            N_("Nie jesteś autorem projektu, który czeka na potwierdzenie."),
            403,
        )
    record_audit(conn, actor, "pb.merge_confirm", "pb_merges", merge_id)
    missing = conn.execute(
        text("SELECT count(*) FROM pb_merge_sources WHERE merge_id = :m AND confirmed_at IS NULL"),
        {"m": merge_id},
    ).scalar_one()
    if missing:
        return None
    return complete_merge(conn, merge_id, actor, now)


def decline_merge(conn: Connection, merge_id: int, actor: int) -> None:
    m = _merge(conn, merge_id)
    authors = (
        conn.execute(
            text("SELECT author_id FROM pb_merge_sources WHERE merge_id = :m"), {"m": merge_id}
        )
        .scalars()
        .all()
    )
    if actor not in authors:
        raise PbError(
            "not_author", "merge", N_("Nie jesteś autorem żadnego z łączonych projektów."), 403
        )
    conn.execute(text("UPDATE pb_merges SET state = 'cancelled' WHERE id = :m"), {"m": m["id"]})
    conn.execute(
        text("UPDATE pb_merge_sources SET open = false WHERE merge_id = :m"), {"m": m["id"]}
    )
    record_audit(conn, actor, "pb.merge_decline", "pb_merges", merge_id)


def complete_merge(
    conn: Connection, merge_id: int, actor: int | None, now: datetime | None = None
) -> int:
    m = _merge(conn, merge_id, lock=True)
    missing = (
        conn.execute(
            text(
                "SELECT proposal_id FROM pb_merge_sources WHERE merge_id = :m AND confirmed_at IS NULL"
            ),
            {"m": merge_id},
        )
        .scalars()
        .all()
    )
    if missing:
        raise PbError(
            "merge_not_confirmed",
            "confirmations",
            N_("Nie wszyscy autorzy potwierdzili połączenie (projekty: %(ids)s)."),
            409,
            ids=", ".join(str(i) for i in missing),
        )
    ids = (
        conn.execute(
            text(
                "SELECT proposal_id FROM pb_merge_sources WHERE merge_id = :m ORDER BY proposal_id"
            ),
            {"m": merge_id},
        )
        .scalars()
        .all()
    )
    new_id = conn.execute(
        text("""
WITH src AS (SELECT * FROM budget_proposals WHERE id = ANY(:ids)),
u AS (SELECT ST_Union(geom) AS g FROM src WHERE geom IS NOT NULL)
INSERT INTO budget_proposals (edition, title, description, category, cost, final_cost, scope,
    pool_district, status, geom, districts, author_id, source, merged_from, location_kind,
    declared_residency, submitted_at)
SELECT :e, :t, coalesce(:d, (SELECT string_agg(description, E'\n\n' ORDER BY id) FROM src)),
    (SELECT category FROM src ORDER BY id LIMIT 1),
    (SELECT sum(coalesce(final_cost, cost)) FROM src),
    (SELECT sum(coalesce(final_cost, cost)) FROM src),
    (SELECT scope FROM src LIMIT 1), (SELECT pool_district FROM src LIMIT 1),
    'accepted_for_vote',
    (SELECT CASE WHEN g IS NULL THEN NULL
                 WHEN GeometryType(g) = 'GEOMETRYCOLLECTION' THEN ST_ConvexHull(g)
                 ELSE g END FROM u),
    (SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}') FROM src, unnest(districts) x),
    :a, 'merge', :ids, 'area', true, now()
RETURNING id"""),
        {
            "ids": list(ids),
            "e": m["edition"],
            "t": m["title"],
            "d": m["description"],
            "a": m["proposed_by"],
        },
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO pb_status_history (proposal_id, from_state, to_state, actor_id, reason)"
            " VALUES (:id, NULL, 'accepted_for_vote', :a, :r)"
        ),
        {"id": new_id, "a": actor, "r": "połączenie projektów " + ", ".join(f"#{i}" for i in ids)},
    )
    for pid in ids:
        transition(
            conn,
            pid,
            "merged",
            actor,
            reason=f"połączony w projekt #{new_id}",
            expect=("accepted_for_vote",),
            now=now,
            extra={"merged_into": new_id, "ballot_number": None},
        )
    conn.execute(
        text("UPDATE pb_merges SET state = 'done', result_id = :r, done_at = now() WHERE id = :m"),
        {"r": new_id, "m": merge_id},
    )
    conn.execute(
        text("UPDATE pb_merge_sources SET open = false WHERE merge_id = :m"), {"m": merge_id}
    )
    record_audit(conn, actor, "pb.merge_complete", "pb_merges", merge_id, reason=f"#{new_id}")
    return new_id


def _merge(conn: Connection, merge_id: int, lock: bool = False) -> dict[str, Any]:
    row = (
        conn.execute(
            text("SELECT * FROM pb_merges WHERE id = :m" + (" FOR UPDATE" if lock else "")),
            {"m": merge_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise PbError("not_found", "merge", N_("Nie ma takiego połączenia."), 404)
    if row["state"] != "pending":
        raise PbError("merge_closed", "merge", N_("To połączenie jest już zamknięte."), 409)
    return dict(row)


def merges_for(conn: Connection, proposal_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text("""SELECT m.id, m.title, m.state, m.result_id, s.author_id, s.confirmed_at,
                       (SELECT array_agg(proposal_id ORDER BY proposal_id)
                        FROM pb_merge_sources x WHERE x.merge_id = m.id) AS sources,
                       (SELECT array_agg(author_id) FROM pb_merge_sources x
                        WHERE x.merge_id = m.id AND x.confirmed_at IS NULL) AS waiting
                FROM pb_merges m JOIN pb_merge_sources s ON s.merge_id = m.id
                WHERE s.proposal_id = :p ORDER BY m.id"""),
        {"p": proposal_id},
    ).mappings()
    return [dict(r) for r in rows]
