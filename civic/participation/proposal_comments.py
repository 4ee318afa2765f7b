"""Residents' comments on budget proposals: threaded, moderated like consultation comments.

The machinery is the consultations' (civic/participation/consultations.py): the same body
field and limits, the same threading (:func:`consultations.thread`), the same form key
(``external_id`` = ``web:<form_key>``: the same form twice leaves one comment), the same
states (``pending`` while an unconfirmed account's comment waits for a moderator,
``published``, ``hidden``) and the same moderation queue (civic/moderation.py lists
``proposal_comments`` among its targets). Supports: one per person, the insert and the counter
in one statement.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.moderation import announce, needs_moderation
from civic.participation import consultations as pc
from civic.participation import form as pf
from civic.participation.errors import Collector, Msg, field_error
from civic.participation.proposals import FORM_KEY, Actor, is_public

TABLE = "proposal_comments"
thread = pc.thread


def _proposal(conn: Connection, proposal_id: int) -> Any:
    p = conn.execute(
        text("SELECT id, status, hidden_at FROM budget_proposals WHERE id = :id"),
        {"id": proposal_id},
    ).first()
    if p is None or not is_public(p.status, p.hidden_at):
        raise field_error(
            "proposal_id", "not_found", Msg(N_("Nie ma takiego projektu.")), status=404
        )
    return p


def comments_for(conn: Connection, proposal_id: int, user_id: int | None) -> list[dict[str, Any]]:
    """Published comments, plus the signed-in person's own that wait for a moderator."""
    rows = conn.execute(
        text(
            """
            SELECT c.id, c.body, c.reply_to, c.status, c.supports, c.created_at, c.author_id,
                   coalesce(u.name, '') AS author_name, u.deleted_at IS NOT NULL AS author_deleted,
                   EXISTS (SELECT 1 FROM proposal_comment_supports s
                           WHERE s.comment_id = c.id AND s.user_id = :u) AS supported
            FROM proposal_comments c
            LEFT JOIN users u ON u.id = c.author_id
            WHERE c.proposal_id = :p
              AND (c.status = 'published' OR (c.status = 'pending' AND c.author_id = :u))
            ORDER BY c.id
            LIMIT :lim"""
        ),
        {"p": proposal_id, "u": user_id if user_id is not None else -1, "lim": pc.THREAD_LIMIT},
    )
    return [dict(r._mapping) for r in rows]


def comment_place(conn: Connection, comment_id: int) -> Any:
    """(proposal_id, status, author_id) of a comment, or None."""
    return conn.execute(
        text("SELECT proposal_id, status, author_id FROM proposal_comments WHERE id = :id"),
        {"id": comment_id},
    ).first()


def parse_comment(
    conn: Connection, form: dict[str, Any], proposal_id: int
) -> tuple[str, str, int | None]:
    """(form_key, body, reply_to) of the comment form; every problem at once."""
    form_key = str(form.get("form_key") or "")
    if not FORM_KEY.match(form_key):
        raise field_error("form_key", "invalid", Msg(N_("Formularz wygasł — odśwież stronę.")))
    errors = Collector()
    body = errors.attempt(
        lambda: pf.value(pc.body_field(), form.get("body"), Msg(N_("Komentarz")), required=True),
        "",
    )
    reply_to = None
    if form.get("reply_to"):
        try:
            reply_to = int(form["reply_to"])
        except ValueError:
            reply_to = -1
        ok = conn.execute(
            text(
                "SELECT 1 FROM proposal_comments WHERE id = :id AND proposal_id = :p "
                "AND status = 'published'"
            ),
            {"id": reply_to if -(2**63) < reply_to < 2**63 else -1, "p": proposal_id},
        ).scalar()
        if not ok:
            errors.add("reply_to", "not_found", Msg(N_("Nie ma komentarza, na który odpowiadasz.")))
    errors.raise_if_any()
    return form_key, body, reply_to


@pf.database_refusals
def add_comment(
    conn: Connection, actor: Actor, proposal_id: int, form: dict[str, Any]
) -> tuple[int, bool, bool]:
    """A resident's comment (or reply) on a public proposal; returns (id, duplicate, pending)."""
    _proposal(conn, proposal_id)
    form_key, body, reply_to = parse_comment(conn, form, proposal_id)
    eid = f"web:{form_key}"
    pending = needs_moderation(actor)  # type: ignore[arg-type]
    row = conn.execute(
        text(
            """
            INSERT INTO proposal_comments
                (external_id, proposal_id, body, reply_to, status, author_id)
            VALUES (:eid, :p, :body, :reply_to, :status, :u)
            ON CONFLICT (external_id) DO NOTHING
            RETURNING id"""
        ),
        {
            "eid": eid,
            "p": proposal_id,
            "body": body,
            "reply_to": reply_to,
            "status": "pending" if pending else "published",
            "u": actor.id,
        },
    ).first()
    if row is None:
        return pf.replayed(conn, TABLE, eid, actor.id), True, pending
    record_audit(conn, actor.id, "comment.create", TABLE, row.id)
    announce(conn, actor.id, TABLE, row.id, body[:80], pending=pending)
    return row.id, False, pending


def set_support(
    conn: Connection, actor: Actor, comment_id: int, withdraw: bool = False
) -> tuple[bool, int]:
    """Support a published comment (not one's own) or withdraw it; (supported, total)."""
    c = conn.execute(
        text("SELECT id, author_id, status FROM proposal_comments WHERE id = :id"),
        {"id": comment_id},
    ).first()
    if c is None or c.status != "published":
        raise field_error(
            "comment_id", "not_found", Msg(N_("Nie ma takiego komentarza.")), status=404
        )
    if c.author_id == actor.id:
        raise field_error(
            "comment_id", "own_content", Msg(N_("Nie możesz poprzeć własnego komentarza."))
        )
    if withdraw:
        total = conn.execute(
            text(
                """
                WITH del AS (
                    DELETE FROM proposal_comment_supports WHERE comment_id = :c AND user_id = :u
                    RETURNING comment_id)
                UPDATE proposal_comments t SET supports = greatest(t.supports - 1, 0)
                FROM del WHERE t.id = del.comment_id RETURNING t.supports"""
            ),
            {"c": comment_id, "u": actor.id},
        ).scalar()
        return False, total if total is not None else _supports(conn, comment_id)
    total = conn.execute(
        text(
            """
            WITH ins AS (
                INSERT INTO proposal_comment_supports (comment_id, user_id) VALUES (:c, :u)
                ON CONFLICT DO NOTHING RETURNING comment_id)
            UPDATE proposal_comments t SET supports = t.supports + 1
            FROM ins WHERE t.id = ins.comment_id RETURNING t.supports"""
        ),
        {"c": comment_id, "u": actor.id},
    ).scalar()
    return True, total if total is not None else _supports(conn, comment_id)


def _supports(conn: Connection, comment_id: int) -> int:
    return conn.execute(
        text("SELECT supports FROM proposal_comments WHERE id = :id"), {"id": comment_id}
    ).scalar_one()
