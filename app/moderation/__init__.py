"""Moderation on the web: flags, the moderators' queue, hide/restore with a reason, the audit
log; the unread-notifications counter of every page.

The rules and the SQL are :mod:`civic.moderation` (``needs_moderation``,
``hold_for_moderation``, ``announce``) and :mod:`civic.audit` (``record_audit``, ``notify``);
import them from there. views.py holds the routes, content.py the names, links and
notification texts of content.
"""

from __future__ import annotations

from flask import Flask, current_app

from app.auth import current_user
from app.moderation.content import (
    content_url,
    kind_label,
    list_notifications,
    render_notification,
    state_label,
)
from app.moderation.views import bp
from civic import N_
from civic.audit import notify, record_audit, unread_count
from civic.moderation import announce, hold_for_moderation, needs_moderation

__all__ = [
    "N_",
    "announce",
    "bp",
    "content_url",
    "hold_for_moderation",
    "init_app",
    "kind_label",
    "list_notifications",
    "needs_moderation",
    "notify",
    "record_audit",
    "render_notification",
    "state_label",
]


def init_app(app: Flask) -> None:
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
