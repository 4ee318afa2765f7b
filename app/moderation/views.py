"""Moderation pages: flagging (``POST /flag``), the moderators' queue (``/moderation``),
hide / restore / publish, and the audit log. The rules and the SQL are :mod:`civic.moderation`."""

from __future__ import annotations

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

from app.auth import current_user, login_required, role_required
from app.errors import wants_api
from app.forms import form_error_response, form_or_json, safe_next, translated
from app.moderation.content import content_url, kind_label, state_label
from app.security import rate_limit
from civic import audit, moderation
from civic.accounts import Invalid

bp = Blueprint("moderation", __name__)

AUDIT_PAGE = 100


def _engine():
    return current_app.extensions["engine"]


def _shown(items: list[dict]) -> list[dict]:
    return [
        dict(it, kind=kind_label(it["target_table"]), url=content_url(it["target_table"], it["id"]))
        for it in items
    ]


def _queue_page(errors: dict[str, str], status: int = 200):
    with _engine().connect() as conn:
        items = _shown(moderation.queue(conn))
        hidden = _shown(moderation.recently_moderated(conn))
    return render_template(
        "moderation/queue.html", items=items, hidden=hidden, errors=errors
    ), status


@bp.post("/flag")
@login_required
@rate_limit("flag", limit=20, per=3600)
def flag_view():
    user = current_user()
    assert user is not None
    form = form_or_json()
    table = str(form.get("target_table") or "")
    try:
        with _engine().begin() as conn:
            created = moderation.flag(conn, user, table, form.get("target_id"), form.get("reason"))
    except Invalid as exc:
        if wants_api():
            return form_error_response(exc, "error.html")
        _field, (_code, message) = next(iter(translated(exc).errors.items()))
        abort(exc.status, description=message)
    if wants_api():
        return jsonify({"flagged": True, "new": created}), 201 if created else 200
    flash(
        gettext("Dziękujemy, zgłoszenie trafiło do moderatorów.")
        if created
        else gettext("To zgłoszenie już od Ciebie mamy.")
    )
    return redirect(
        safe_next(
            form.get("next"),
            content_url(table, moderation.parse_id(form.get("target_id"), "target_id")),
        )
    )


@bp.get("/moderation")
@role_required("moderator", "admin")
def queue_view():
    return _queue_page({})


@bp.post("/moderation/<table>/<int:target_id>")
@role_required("moderator", "admin")
@rate_limit("moderate", limit=300, per=3600)
def moderate_view(table: str, target_id: int):
    user = current_user()
    assert user is not None
    form = form_or_json()
    try:
        with _engine().begin() as conn:
            state = moderation.moderate(
                conn, user, table, target_id, str(form.get("action") or ""), form.get("reason")
            )
    except Invalid as exc:
        if wants_api():
            return form_error_response(exc, "moderation/queue.html")
        errors = translated(exc).messages()
        return _queue_page({f"{table}-{target_id}-{f}": m for f, m in errors.items()}, exc.status)
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


@bp.get("/moderation/audit")
@role_required("moderator", "admin")
def audit_view():
    before = request.args.get("before")
    before_id = int(before) if before and before.isdigit() and len(before) < 19 else None
    with _engine().connect() as conn:
        entries = audit.audit_entries(conn, before_id, AUDIT_PAGE)
    return render_template(
        "moderation/audit.html",
        entries=entries,
        more=entries[-1]["id"] if len(entries) == AUDIT_PAGE else None,
    )
