"""What the budget routes share: the blueprint, running one domain call in a transaction
(then mailing the author), and answering a refused action (PbError) with its 4xx."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request
from flask_babel import gettext

from app.auth import current_user, external_url
from app.db import engine
from app.errors import wants_api
from civic.audit import MESSAGES
from civic.pb.errors import PbError
from civic.pb.phases import PHASE_TITLES
from civic.pb.workflow import take_mails
from layers.budget_proposals import STATE_TITLES

bp = Blueprint("pb", __name__, url_prefix="/budget")
log = logging.getLogger(__name__)

STAFF = ("official", "admin")


def lang() -> str:
    from app.views import lang as view_lang

    return view_lang()


def state_title(state: str | None) -> str:
    if not state:
        return "—"
    titles = STATE_TITLES.get(state)
    return (titles.get(lang()) or titles["pl"]) if titles else state


def phase_title(phase: str | None) -> str:
    return gettext(PHASE_TITLES[phase]) if phase in PHASE_TITLES else "—"


def _params(exc: PbError) -> dict[str, Any]:
    out = dict(exc.params)
    for k in ("asked", "current"):
        if k in out:
            out[k] = phase_title(out[k]) if out[k] in PHASE_TITLES else out[k]
    if "state" in out:
        out["state"] = state_title(out["state"])
    return out


def message(exc: PbError) -> str:
    return gettext(exc.message, **_params(exc))


def refused(exc: PbError, back: str | None = None):
    """A refused action: JSON {error: {code, field, message}} or a page saying why (4xx)."""
    text = message(exc)
    if wants_api():
        return jsonify(
            {"error": {"code": exc.code, "field": exc.field, "message": text}}
        ), exc.status
    return render_template("pb/refused.html", exc=exc, text=text, back=back), exc.status


def me() -> tuple[int | None, tuple[str, ...]]:
    u = current_user()
    return (u.id, tuple(u.roles)) if u else (None, ())


def is_staff() -> bool:
    u = current_user()
    return bool(u and u.has_role(*STAFF))


def act(fn: Callable[..., Any], *args: Any, back: str, done: str | None = None, **kw: Any):
    """Run one domain call in a transaction; mail the author after the commit; answer with
    JSON for scripts, a redirect (303) for people, or the refusal."""
    try:
        with engine().begin() as conn:
            take_mails(conn)  # nothing left over from an earlier request on this connection
            result = fn(conn, *args, **kw)
            mails = take_mails(conn)
    except PbError as exc:
        return refused(exc, back)
    send_mails(mails)
    if wants_api():
        return jsonify({"ok": True, "result": result if _jsonable(result) else None})
    return redirect(done or back, code=303)


def _jsonable(v: Any) -> bool:
    return v is None or isinstance(v, (int, str, float, bool, list))


def send_mails(mails: list[dict[str, Any]]) -> None:
    from app.mail import send_mail

    for m in mails:
        params = dict(m["params"])
        if "state" in params:
            params["state"] = state_title(params["state"])
        try:
            body = gettext(MESSAGES.get(m["key"], m["key"]), **params)
            link = external_url("proposals.detail", proposal_id=params["proposal_id"])
            send_mail(
                m["to"],
                gettext("Budżet Obywatelski: %(title)s", title=params.get("title", "")),
                f"{body}\n\n{link}\n",
            )
        except Exception:  # the decision is committed; a mail failure must not undo it
            log.exception("budget mail to %s failed", m["to"])


def form() -> dict[str, Any]:
    if request.is_json:
        from app.security import json_body

        return json_body()
    return request.form.to_dict()


def form_list(name: str) -> list[str]:
    if request.is_json:
        v = (request.get_json(silent=True) or {}).get(name) or []
        return [str(x) for x in v] if isinstance(v, list) else [str(v)]
    return request.form.getlist(name)


def local_back(data: dict[str, Any], default: str) -> str:
    """Where a form goes back to: one of the budget's own pages (an edition page or a
    proposal's page), never another host (no open redirect)."""
    back = data.get("back") or default
    if not back.startswith(("/budget/", "/proposals/")) or "//" in back or "\\" in back:
        return default
    return back
