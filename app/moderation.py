"""Moderation: flags, the moderators' queue, hide/restore with a reason, the audit log, and
in-app notifications.

Interface for other modules::

    from app.moderation import needs_moderation, hold_for_moderation, record_audit, notify

    if needs_moderation(user):        # unconfirmed account (or nobody): wait for a moderator
        hold_for_moderation(conn, "consultation_comments", comment_id)
    record_audit(conn, actor_id, "proposal.submit", "budget_proposals", pid, reason=None)
    notify(conn, author_id, "content_hidden", kind="budget_proposals", title=..., reason=...)
    announce(conn, author_id, "budget_proposals", pid, title, pending=...)  # new content

Content waiting for a moderator: a consultation comment has status 'pending'; a budget
proposal has ``hidden_at`` set and ``hidden_reason = 'pending'`` (its public views already
leave hidden proposals out). Hiding sets ``hidden_at``/``hidden_reason`` (and a comment's status
'hidden'); restoring clears them (a comment becomes 'published').
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from werkzeug.routing import BuildError

from app import engine
from app.auth import (
    N_,
    FormError,
    User,
    current_user,
    form_error_response,
    login_required,
    role_required,
    safe_next,
)
from app.errors import wants_api
from app.security import form_or_json, rate_limit
from civic.audit import MESSAGES, notify, record_audit

log = logging.getLogger(__name__)

bp = Blueprint("moderation", __name__)

PENDING = "pending"
REASON_MAX = 1000


# --- what can be moderated -------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    table: str
    label_sql: str  # SQL for a short label of one row (alias t)
    kind: str  # msgid naming the kind of content
    layer: str  # layer name for the permalink /layers/<layer>/<id>


TARGETS: dict[str, Target] = {
    "budget_proposals": Target(
        "budget_proposals", "t.title", N_("projekt budżetu obywatelskiego"), "budget-proposals"
    ),
    "consultation_comments": Target(
        "consultation_comments",
        "left(t.body, 120)",
        N_("komentarz w konsultacjach"),
        "consultation-comments",
    ),
}


def kind_label(table: str) -> str:
    t = TARGETS.get(table)
    return gettext(t.kind) if t else table


def content_url(table: str, target_id: int) -> str | None:
    """A link to a piece of content: the consultation page for comments when it exists,
    else the layer permalink."""
    tries: list[tuple[str, dict[str, Any]]] = []
    if table == "consultation_comments":
        tries.append(("consultations.comment", {"comment_id": target_id}))
    if table == "budget_proposals":
        tries.append(("proposals.detail", {"proposal_id": target_id}))
    t = TARGETS.get(table)
    if t:
        tries.append(("layer_pages.feature_page", {"layer": t.layer, "feature_id": target_id}))
    for endpoint, values in tries:
        try:
            return url_for(endpoint, **values)
        except BuildError:
            continue
    return None


# --- moderation state ------------------------------------------------------------------------


def needs_moderation(user: User | None) -> bool:
    """Content by this user waits for a moderator before the public sees it."""
    return user is None or not user.confirmed


def hold_for_moderation(conn: Connection, table: str, target_id: int) -> None:
    """Put a new piece of content in the moderators' queue (hidden from the public)."""
    if table == "consultation_comments":
        conn.execute(
            text("UPDATE consultation_comments SET status = 'pending' WHERE id = :id"),
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
    """New content: its author hears that it waits for a moderator (when ``pending``), and the
    district councils hear of it (notify_council skips what the public cannot see yet)."""
    if pending:
        notify(conn, author_id, "content_pending", kind=table, id=target_id, title=title)
    _tell_councils(conn, table, target_id)


def render_notification(message_key: str, params: dict[str, Any]) -> str:
    msgid = MESSAGES.get(message_key)
    if msgid is None:
        return message_key
    values = dict(params)
    if "kind" in values:
        values["kind"] = kind_label(str(values["kind"]))
    try:
        return gettext(msgid, **values)
    except (KeyError, ValueError, TypeError):
        log.warning("notification %s lacks parameters: %s", message_key, sorted(params))
        return gettext(msgid.split("%(")[0].strip())


def list_notifications(conn: Connection, user_id: int, limit: int = 50) -> list[dict]:
    rows = conn.execute(
        text(
            "SELECT id, message_key, params, created_at, read_at IS NOT NULL AS read "
            "FROM notifications WHERE user_id = :u ORDER BY created_at DESC, id DESC LIMIT :l"
        ),
        {"u": user_id, "l": limit},
    ).all()
    out = []
    for r in rows:
        params = r.params if isinstance(r.params, dict) else json.loads(r.params or "{}")
        out.append(
            {
                "id": r.id,
                "text": render_notification(r.message_key, params),
                "url": content_url(params.get("kind", ""), params["id"])
                if params.get("id") and params.get("kind")
                else None,
                "created_at": r.created_at,
                "read": r.read,
            }
        )
    return out


def unread_count(conn: Connection, user_id: int) -> int:
    return conn.execute(
        text("SELECT count(*) FROM notifications WHERE user_id = :u AND read_at IS NULL"),
        {"u": user_id},
    ).scalar_one()


# --- changing the state of content -------------------------------------------------------------

ACTIONS = ("hide", "restore", "publish")


def _target(table: str) -> Target:
    t = TARGETS.get(table)
    if t is None:
        raise FormError(
            {"target_table": ("invalid", gettext("Pole „target_table”: nieznany rodzaj treści."))}
        )
    return t


def _reason(raw: str | None, required: bool) -> str:
    """The moderator's or flagger's reason, white space folded; at most REASON_MAX."""
    reason = " ".join((raw or "").split())
    if required and not reason:
        raise FormError({"reason": ("required", gettext("Pole „Powód” jest wymagane."))})
    if len(reason) > REASON_MAX:
        raise FormError(
            {
                "reason": (
                    "too_long",
                    gettext("Pole „Powód” może mieć najwyżej %(n)d znaków.", n=REASON_MAX),
                )
            }
        )
    return reason


def _not_found() -> FormError:
    return FormError(
        {"target_id": ("not_found", gettext("Pole „target_id”: nie ma takiej treści."))},
        status=404,
    )


def _load(conn: Connection, t: Target, target_id: int, lock: bool = False) -> Any:
    state = (
        "CASE WHEN t.status = 'pending' THEN 'pending' WHEN t.status = 'hidden' THEN 'hidden' "
        "ELSE 'published' END"
        if t.table == "consultation_comments"
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
    conn: Connection, actor: User, table: str, target_id: int, action: str, reason: str | None
) -> str:
    """hide / restore / publish one item; audit, notify the author, close its flags.
    Returns the new state. Raises FormError for bad input."""
    t = _target(table)
    if action not in ACTIONS:
        raise FormError({"action": ("invalid", gettext("Pole „action”: nieznana czynność."))})
    reason = _reason(reason, required=action in ("hide", "restore"))
    row = _load(conn, t, target_id, lock=True)
    if row is None:
        raise _not_found()
    new_state = "hidden" if action == "hide" else "published"
    if table == "consultation_comments":
        conn.execute(
            text(
                "UPDATE consultation_comments SET status = :s, "
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
    if new_state == "published" and row.state == "pending":
        _tell_councils(conn, table, target_id)
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
            title=_short(row.label),
            reason=reason or "—",
        )
    return new_state


def _tell_councils(conn: Connection, table: str, target_id: int) -> None:
    """Content that waited is public now: its district councils hear of it (once per item)."""
    try:
        from app.councils import notify_council
    except ImportError:  # an installation without the councils module
        return
    notify_council(conn, None, table, target_id)


def _short(s: str | None, n: int = 80) -> str:
    s = " ".join((s or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"


def flag(conn: Connection, user: User, table: str, target_id: int, reason: str) -> bool:
    """Record a flag; False if this person had already flagged this item (no second row)."""
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
            if t.table == "consultation_comments"
            else f"(t.hidden_at IS NOT NULL AND t.hidden_reason = '{PENDING}')"
        )
        hidden = (
            "t.status = 'hidden'"
            if t.table == "consultation_comments"
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
    return [
        dict(
            r._mapping,
            kind=kind_label(r.target_table),
            url=content_url(r.target_table, r.id),
            reasons=[_short(x, 200) for x in (r.reasons or [])],
        )
        for r in rows
    ]


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
ORDER BY hidden_at DESC NULLS LAST LIMIT :l"""
        ),
        {"p": PENDING, "l": limit},
    ).all()
    return [
        dict(r._mapping, kind=kind_label(r.target_table), url=content_url(r.target_table, r.id))
        for r in rows
    ]


def audit_entries(conn: Connection, before: int | None = None, limit: int = 100) -> list[dict]:
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


# --- views -------------------------------------------------------------------------------------


def _int(raw: Any, field: str) -> int:
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        value = 0
    if not 0 < value < 2**63:
        raise FormError(
            {field: ("invalid", gettext("Pole „%(field)s”: podaj numer.", field=field))}
        )
    return value


@bp.post("/flag")
@login_required
@rate_limit("flag", limit=20, per=3600)
def flag_view():
    user = current_user()
    assert user is not None
    form = form_or_json()
    try:
        table = str(form.get("target_table") or "")
        target_id = _int(form.get("target_id"), "target_id")
        with engine().begin() as conn:
            created = flag(conn, user, table, target_id, str(form.get("reason") or ""))
    except FormError as exc:
        if wants_api():
            return form_error_response(exc, "error.html")
        field, (_code, message) = next(iter(exc.errors.items()))
        abort(exc.status, description=message)
    if wants_api():
        return jsonify({"flagged": True, "new": created}), 201 if created else 200
    flash(
        gettext("Dziękujemy, zgłoszenie trafiło do moderatorów.")
        if created
        else gettext("To zgłoszenie już od Ciebie mamy.")
    )
    return redirect(safe_next(form.get("next"), content_url(table, target_id)))


@bp.get("/moderation")
@role_required("moderator", "admin")
def queue_view():
    with engine().connect() as conn:
        items = queue(conn)
        hidden = recently_moderated(conn)
    return render_template("moderation/queue.html", items=items, hidden=hidden, errors={})


@bp.post("/moderation/<table>/<int:target_id>")
@role_required("moderator", "admin")
@rate_limit("moderate", limit=300, per=3600)
def moderate_view(table: str, target_id: int):
    user = current_user()
    assert user is not None
    form = form_or_json()
    try:
        with engine().begin() as conn:
            state = moderate(
                conn, user, table, target_id, str(form.get("action") or ""), form.get("reason")
            )
    except FormError as exc:
        if wants_api():
            return form_error_response(exc, "moderation/queue.html")
        with engine().connect() as conn:
            items, hidden = queue(conn), recently_moderated(conn)
        errors = {f"{table}-{target_id}-{f}": m for f, (_c, m) in exc.errors.items()}
        return render_template(
            "moderation/queue.html", items=items, hidden=hidden, errors=errors
        ), exc.status
    if wants_api():
        return jsonify({"target_table": table, "id": target_id, "state": state})
    flash(
        gettext(
            "Zapisano: %(kind)s nr %(id)d — %(state)s.",
            kind=kind_label(table),
            id=target_id,
            state=state_label(state),
        )
    )
    return redirect(url_for("moderation.queue_view"))


def state_label(state: str) -> str:
    return {
        "hidden": gettext("ukryty"),
        "published": gettext("opublikowany"),
        "pending": gettext("czeka na moderatora"),
    }.get(state, state)


@bp.get("/moderation/audit")
@role_required("moderator", "admin")
def audit_view():
    before = request.args.get("before")
    before_id = int(before) if before and before.isdigit() and len(before) < 19 else None
    with engine().connect() as conn:
        entries = audit_entries(conn, before_id)
    return render_template(
        "moderation/audit.html",
        entries=entries,
        more=entries[-1]["id"] if len(entries) == 100 else None,
    )


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["state_label"] = state_label

    @app.context_processor
    def _unread():
        def unread_notifications() -> int:
            user = current_user()
            if user is None:
                return 0
            with current_app.extensions["engine"].connect() as conn:
                return unread_count(conn, user.id)

        return {"unread_notifications": unread_notifications}
