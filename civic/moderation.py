"""Moderation, framework-free: flags, the moderators' queue, hide / restore / publish with a
reason, and holding new content from unconfirmed accounts. All its SQL is here.

Interface for other modules::

    from civic.moderation import needs_moderation, hold_for_moderation, announce

    if needs_moderation(user):        # unconfirmed account (or nobody): wait for a moderator
        hold_for_moderation(conn, "consultation_comments", comment_id)
    announce(conn, author_id, "budget_proposals", pid, title, pending=...)  # new content

Content waiting for a moderator: a consultation comment has status 'pending'; a budget
proposal has ``hidden_at`` set and ``hidden_reason = 'pending'`` (its public views already
leave hidden proposals out). Hiding sets ``hidden_at``/``hidden_reason`` (and a comment's status
'hidden'); restoring clears them (a comment becomes 'published').

Whenever content becomes public (new content that needs no moderator, or a moderator's
publish / restore) this module publishes the ``content_public`` event
(``table=..., target_id=...``) through :mod:`civic.events`: whoever must hear of it (the
district councils) subscribes there; nothing here imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from civic import N_, events
from civic.accounts import Invalid, User, invalid
from civic.audit import notify, record_audit

PENDING = "pending"
REASON_MAX = 1000
ACTIONS = ("hide", "restore", "publish")
CONTENT_PUBLIC = "content_public"


# --- what can be moderated -------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    table: str
    label_sql: str  # SQL for a short label of one row (alias t)
    kind: str  # msgid naming the kind of content
    layer: str  # layer name for the permalink /layers/<layer>/<id>
    status_column: bool = False  # a comment: status pending/published/hidden (not hidden_at)


TARGETS: dict[str, Target] = {
    "budget_proposals": Target(
        "budget_proposals", "t.title", N_("projekt budżetu obywatelskiego"), "budget-proposals"
    ),
    "consultation_comments": Target(
        "consultation_comments",
        "left(t.body, 120)",
        N_("komentarz w konsultacjach"),
        "consultation-comments",
        status_column=True,
    ),
    "proposal_comments": Target(
        "proposal_comments",
        "left(t.body, 120)",
        N_("komentarz do projektu"),
        "budget-proposals",
        status_column=True,
    ),
}


def _target(table: str) -> Target:
    t = TARGETS.get(table)
    if t is None:
        raise invalid("target_table", "invalid", N_("Pole „target_table”: nieznany rodzaj treści."))
    return t


def parse_id(raw: Any, field: str) -> int:
    """A row id from a form: a positive integer that fits a bigint."""
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        value = 0
    if not 0 < value < 2**63:
        raise invalid(field, "invalid", N_("Pole „%(field)s”: podaj numer."), field=field)
    return value


def _reason(raw: Any, required: bool) -> str:
    """The moderator's or flagger's reason, white space folded; at most REASON_MAX."""
    reason = " ".join(str(raw or "").split())
    if required and not reason:
        raise invalid("reason", "required", N_("Pole „Powód” jest wymagane."))
    if len(reason) > REASON_MAX:
        raise invalid(
            "reason", "too_long", N_("Pole „Powód” może mieć najwyżej %(n)d znaków."), n=REASON_MAX
        )
    return reason


def _not_found() -> Invalid:
    return invalid(
        "target_id", "not_found", N_("Pole „target_id”: nie ma takiej treści."), status=404
    )


def short(s: str | None, n: int = 80) -> str:
    s = " ".join((s or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"


# --- moderation state ------------------------------------------------------------------------


def needs_moderation(user: User | None) -> bool:
    """Content by this user waits for a moderator before the public sees it."""
    return user is None or not user.confirmed


def hold_for_moderation(conn: Connection, table: str, target_id: int) -> None:
    """Put a new piece of content in the moderators' queue (hidden from the public)."""
    if table in TARGETS and TARGETS[table].status_column:
        conn.execute(
            text(f"UPDATE {table} SET status = 'pending' WHERE id = :id"),
            {"id": target_id},
        )
    elif table == "budget_proposals":
        conn.execute(
            text(
                "UPDATE budget_proposals SET hidden_at = now(), hidden_reason = :p WHERE id = :id"
            ),
            {"id": target_id, "p": PENDING},
        )
    else:
        raise ValueError(f"not moderated: {table}")


def announce(
    conn: Connection, author_id: int, table: str, target_id: int, title: str, *, pending: bool
) -> None:
    """New content: its author hears that it waits for a moderator (when ``pending``);
    otherwise it is public now, and ``content_public`` is published (subscribers still check
    what the public may see, e.g. a draft)."""
    if pending:
        notify(conn, author_id, "content_pending", kind=table, id=target_id, title=title)
    else:
        events.publish(conn, CONTENT_PUBLIC, table=table, target_id=target_id)


def _load(conn: Connection, t: Target, target_id: int, lock: bool = False) -> Any:
    state = (
        "CASE WHEN t.status = 'pending' THEN 'pending' WHEN t.status = 'hidden' THEN 'hidden' "
        "ELSE 'published' END"
        if t.status_column
        else f"CASE WHEN t.hidden_reason = '{PENDING}' AND t.hidden_at IS NOT NULL THEN 'pending' "
        "WHEN t.hidden_at IS NOT NULL THEN 'hidden' ELSE 'published' END"
    )
    return conn.execute(
        text(
            f"SELECT t.id, t.author_id, {t.label_sql} AS label, {state} AS state "
            f"FROM {t.table} t WHERE t.id = :id{' FOR UPDATE' if lock else ''}"
        ),
        {"id": target_id},
    ).first()


def moderate(
    conn: Connection, actor: User, table: str, target_id: int, action: str, reason: Any
) -> str:
    """hide / restore / publish one item; audit, notify the author, close its flags.
    Returns the new state. Raises :class:`~civic.accounts.Invalid` for bad input."""
    t = _target(table)
    if action not in ACTIONS:
        raise invalid("action", "invalid", N_("Pole „action”: nieznana czynność."))
    reason = _reason(reason, required=action in ("hide", "restore"))
    row = _load(conn, t, target_id, lock=True)
    if row is None:
        raise _not_found()
    new_state = "hidden" if action == "hide" else "published"
    if t.status_column:
        conn.execute(
            text(
                f"UPDATE {t.table} SET status = :s, "
                "hidden_at = CASE WHEN :s = 'hidden' THEN now() END, "
                "hidden_reason = CASE WHEN :s = 'hidden' THEN :r END WHERE id = :id"
            ),
            {"s": new_state, "r": reason, "id": target_id},
        )
    else:
        conn.execute(
            text(
                f"UPDATE {t.table} SET "
                "hidden_at = CASE WHEN :hide THEN now() END, "
                "hidden_reason = CASE WHEN :hide THEN :r END WHERE id = :id"
            ),
            {"hide": new_state == "hidden", "r": reason, "id": target_id},
        )
    record_audit(conn, actor.id, f"moderation.{action}", table, target_id, reason or None)
    conn.execute(
        text(
            "UPDATE flags SET resolved_at = now(), resolved_by = :a "
            "WHERE target_table = :tt AND target_id = :id AND resolved_at IS NULL"
        ),
        {"a": actor.id, "tt": table, "id": target_id},
    )
    if new_state == "published" and row.state != "published":
        # content that waited or was hidden is public now (subscribers tell each item once)
        events.publish(conn, CONTENT_PUBLIC, table=table, target_id=target_id)
    if row.state != new_state:
        key = {"hide": "content_hidden", "restore": "content_restored"}.get(
            action, "content_published" if row.state == "pending" else "content_restored"
        )
        notify(
            conn,
            row.author_id,
            key,
            kind=table,
            id=target_id,
            title=short(row.label),
            reason=reason or "—",
        )
    return new_state


def flag(conn: Connection, user: User, table: str, target_id: Any, reason: Any) -> bool:
    """Record a flag; False if this person had already flagged this item (no second row:
    a unique constraint decides, not a check first)."""
    target_id = parse_id(target_id, "target_id")
    t = _target(table)
    reason = _reason(reason, required=True)
    if _load(conn, t, target_id) is None:
        raise _not_found()
    new = conn.execute(
        text(
            "INSERT INTO flags (target_table, target_id, user_id, reason) VALUES (:t, :id, :u, :r) "
            "ON CONFLICT (user_id, target_table, target_id) DO NOTHING RETURNING id"
        ),
        {"t": table, "id": target_id, "u": user.id, "r": reason},
    ).scalar()
    if new:
        record_audit(conn, user.id, "flag", table, target_id, reason)
    return new is not None


# --- the queue ---------------------------------------------------------------------------------


def queue(conn: Connection, limit: int = 100) -> list[dict]:
    """Items with open flags or waiting for approval, the most flagged and oldest first."""
    parts = []
    for t in TARGETS.values():
        pending = (
            "t.status = 'pending'"
            if t.status_column
            else f"(t.hidden_at IS NOT NULL AND t.hidden_reason = '{PENDING}')"
        )
        hidden = (
            "t.status = 'hidden'"
            if t.status_column
            else f"(t.hidden_at IS NOT NULL AND t.hidden_reason IS DISTINCT FROM '{PENDING}')"
        )
        parts.append(
            f"""
SELECT '{t.table}' AS target_table, t.id, {t.label_sql} AS label, t.created_at,
       t.author_id, a.name AS author_name, a.confirmed_at IS NOT NULL AS author_confirmed,
       {pending} AS pending, {hidden} AS hidden,
       coalesce(f.n, 0) AS flags, f.reasons, coalesce(f.first_at, t.created_at) AS since
FROM {t.table} t
LEFT JOIN users a ON a.id = t.author_id
LEFT JOIN LATERAL (
    SELECT count(*) AS n, array_agg(reason ORDER BY created_at) AS reasons,
           min(created_at) AS first_at
    FROM flags WHERE target_table = '{t.table}' AND target_id = t.id AND resolved_at IS NULL
) f ON true
WHERE {pending} OR EXISTS (
    SELECT 1 FROM flags x
    WHERE x.target_table = '{t.table}' AND x.target_id = t.id AND x.resolved_at IS NULL)"""
        )
    sql = " UNION ALL ".join(f"({p})" for p in parts)
    rows = conn.execute(
        text(f"SELECT * FROM ({sql}) q ORDER BY flags DESC, since LIMIT :l"), {"l": limit}
    ).all()
    return [dict(r._mapping, reasons=[short(x, 200) for x in (r.reasons or [])]) for r in rows]


def recently_moderated(conn: Connection, limit: int = 50) -> list[dict]:
    """Hidden items, for restoring (the newest first)."""
    rows = conn.execute(
        text(
            """
(SELECT 'budget_proposals' AS target_table, id, title AS label, hidden_at, hidden_reason
 FROM budget_proposals WHERE hidden_at IS NOT NULL AND hidden_reason IS DISTINCT FROM :p)
UNION ALL
(SELECT 'consultation_comments', id, left(body, 120), hidden_at, hidden_reason
 FROM consultation_comments WHERE status = 'hidden')
UNION ALL
(SELECT 'proposal_comments', id, left(body, 120), hidden_at, hidden_reason
 FROM proposal_comments WHERE status = 'hidden')
ORDER BY hidden_at DESC NULLS LAST LIMIT :l"""
        ),
        {"p": PENDING, "l": limit},
    ).all()
    return [dict(r._mapping) for r in rows]
