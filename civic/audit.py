"""The audit log (who did what, when, why) and in-app notifications, framework-free.

Every decision of a process (moderation, council opinions, budget phases and reviews) appends
to ``audit_log`` in the same transaction as the change itself. Notifications store a message
key and its parameters; the web renders the text in the reader's language when shown.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from civic import N_


def record_audit(
    conn: Connection,
    actor_id: int | None,
    action: str,
    target_table: str,
    target_id: int | None,
    reason: str | None = None,
) -> int:
    """Append to the audit log (who, what, when, why); returns the entry's id."""
    return conn.execute(
        text(
            "INSERT INTO audit_log (actor_id, action, target_table, target_id, reason) "
            "VALUES (:a, :act, :tt, :tid, :r) RETURNING id"
        ),
        {"a": actor_id, "act": action, "tt": target_table, "tid": target_id, "r": reason},
    ).scalar_one()


# --- notifications ---------------------------------------------------------------------------

# message_key -> Polish msgid with %(name)s placeholders, translated when shown.
MESSAGES: dict[str, str] = {
    "content_hidden": N_("Moderator ukrył Twój wpis (%(kind)s) „%(title)s”. Powód: %(reason)s"),
    "content_restored": N_(
        "Moderator przywrócił Twój wpis (%(kind)s) „%(title)s”. Powód: %(reason)s"
    ),
    "content_published": N_(
        "Twój wpis (%(kind)s) „%(title)s” został zatwierdzony przez moderatora i jest publiczny."
    ),
    "content_pending": N_(
        "Twój wpis (%(kind)s) „%(title)s” czeka na moderatora, bo adres e-mail nie jest "
        "jeszcze potwierdzony."
    ),
    "content_flagged": N_("Ktoś zgłosił Twój wpis (%(kind)s) „%(title)s” do moderacji."),
}


def register_message(key: str, msgid: str) -> None:
    """Add a notification text (wrap the msgid in N_() at the call site for extraction)."""
    MESSAGES[key] = msgid


def notify(conn: Connection, user_id: int | None, message_key: str, **params: Any) -> None:
    """An in-app notification; the text is rendered in the reader's language when shown."""
    if user_id is None:
        return
    conn.execute(
        text("INSERT INTO notifications (user_id, message_key, params) VALUES (:u, :k, :p)"),
        {"u": user_id, "k": message_key, "p": json.dumps(params, default=str)},
    )


def notifications(conn: Connection, user_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """A person's notifications, newest first: id, message_key, params (a dict), created_at,
    read. The web renders the text (:data:`MESSAGES`) in the reader's language."""
    rows = conn.execute(
        text(
            "SELECT id, message_key, params, created_at, read_at IS NOT NULL AS read "
            "FROM notifications WHERE user_id = :u ORDER BY created_at DESC, id DESC LIMIT :l"
        ),
        {"u": user_id, "l": limit},
    ).all()
    return [
        {
            "id": r.id,
            "message_key": r.message_key,
            "params": r.params if isinstance(r.params, dict) else json.loads(r.params or "{}"),
            "created_at": r.created_at,
            "read": r.read,
        }
        for r in rows
    ]


def unread_count(conn: Connection, user_id: int) -> int:
    return conn.execute(
        text("SELECT count(*) FROM notifications WHERE user_id = :u AND read_at IS NULL"),
        {"u": user_id},
    ).scalar_one()


def mark_read(conn: Connection, user_id: int) -> None:
    """Every notification of this person is read now."""
    conn.execute(
        text("UPDATE notifications SET read_at = now() WHERE user_id = :u AND read_at IS NULL"),
        {"u": user_id},
    )


def audit_entries(conn: Connection, before: int | None = None, limit: int = 100) -> list[dict]:
    """The audit log, newest first, with the actor's name (``before``: an entry id, to page)."""
    rows = conn.execute(
        text(
            "SELECT l.id, l.at, l.action, l.target_table, l.target_id, l.reason, l.actor_id, "
            "u.name AS actor_name, u.deleted_at IS NOT NULL AS actor_deleted "
            "FROM audit_log l LEFT JOIN users u ON u.id = l.actor_id "
            "WHERE (CAST(:b AS bigint) IS NULL OR l.id < :b) ORDER BY l.id DESC LIMIT :l"
        ),
        {"b": before, "l": limit},
    ).all()
    return [dict(r._mapping) for r in rows]
