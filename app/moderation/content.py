"""Content on the web: what a kind of content is called, where it lives (its link), and the
text of notifications about it in the reader's language."""

from __future__ import annotations

import logging
from typing import Any

from flask import url_for
from flask_babel import gettext
from sqlalchemy import Connection
from werkzeug.routing import BuildError

from civic.audit import MESSAGES, notifications
from civic.moderation import TARGETS

log = logging.getLogger(__name__)


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
    if table == "proposal_comments":
        tries.append(("proposal_page.comment", {"comment_id": target_id}))
    t = TARGETS.get(table)
    if t:
        tries.append(("layer_pages.feature_page", {"layer": t.layer, "feature_id": target_id}))
    for endpoint, values in tries:
        try:
            return url_for(endpoint, **values)
        except BuildError:
            continue
    return None


def state_label(state: str) -> str:
    return {
        "hidden": gettext("ukryty"),
        "published": gettext("opublikowany"),
        "pending": gettext("czeka na moderatora"),
    }.get(state, state)


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
    """A person's notifications as shown: text, link, when, read."""
    out = []
    for n in notifications(conn, user_id, limit):
        params = n["params"]
        out.append(
            {
                "id": n["id"],
                "text": render_notification(n["message_key"], params),
                "url": content_url(params.get("kind", ""), params["id"])
                if params.get("id") and params.get("kind")
                else None,
                "created_at": n["created_at"],
                "read": n["read"],
            }
        )
    return out
