"""Execution of selected projects on the web (``/budget/execution``): the list across all
editions with filters (status, edition, district), staff updates and milestones, following a
project (an e-mail to followers on each update). Thin over civic.pb.execution."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext

from app.auth import current_user, login_required, role_required
from app.db import engine
from app.errors import wants_api
from app.pb.common import refused
from app.views import district_spec, map_spec, page_map
from civic.pb import execution as X
from civic.pb.errors import PbError
from layers.pb_execution import LAYER as EXECUTION_LAYER

bp = Blueprint("pb_execution", __name__, url_prefix="/budget/execution")
log = logging.getLogger(__name__)
STAFF = ("official", "admin")


def _int(name: str) -> int | None:
    v = request.args.get(name, "")
    return int(v) if v.isdigit() else None


@bp.get("")
def index():
    status = request.args.get("status") or None
    if status is not None and status not in X.STATES:
        return refused(PbError("bad_status", "status", "Nieznany etap realizacji."))
    with engine().connect() as conn:
        edition, district = _int("edition"), _int("district")
        # without a filter: the projects whose execution has been reported (?all=1: every one)
        unfiltered = not (status or edition or district or request.args.get("all"))
        rows = X.tracked(conn, status, edition, district, updated_only=unfiltered)
    if wants_api():
        return jsonify({"projects": rows})
    titles = {k: gettext(v) for k, v in X.STATE_TITLES.items()}
    # the map: every selected project of every edition (the same filters), by stage
    params = {"status": status, "edition": edition}
    if district:
        params["district"] = district
    fmap = page_map([district_spec(selected=district), map_spec(EXECUTION_LAYER, params=params)])
    return render_template("pb/execution.html", rows=rows, titles=titles, status=status, fmap=fmap)


def _mail(result: dict) -> None:
    from app.mail import send_mail

    for to in result["mails"]:
        try:
            send_mail(
                to,
                gettext("Budżet Obywatelski: %(title)s", title=result["project"]["title"]),
                gettext("Realizacja projektu została zaktualizowana.")
                + "\n\n"
                + url_for("pb_execution.index", _external=True),
            )
        except Exception:  # committed; a mail failure must not undo it
            log.exception("execution mail to %s failed", to)


def _act(fn, proposal_id: int, *args):
    form = (request.get_json(silent=True) or {}) if request.is_json else request.form.to_dict()
    try:
        with engine().begin() as conn:
            result = fn(conn, proposal_id, *args, form) if args else fn(conn, proposal_id, form)
    except PbError as exc:
        return refused(exc, url_for("pb_execution.index"))
    _mail(result)
    if wants_api():
        return jsonify({"ok": True})
    return redirect(url_for("pb_execution.index"), 303)


@bp.post("/<int:proposal_id>")
@role_required(*STAFF)
def update(proposal_id: int):
    return _act(X.update, proposal_id, current_user().id)


@bp.post("/<int:proposal_id>/milestones")
@role_required(*STAFF)
def milestone(proposal_id: int):
    return _act(X.add_milestone, proposal_id, current_user().id)


@bp.post("/<int:proposal_id>/follow")
@login_required
def follow(proposal_id: int):
    try:
        with engine().begin() as conn:
            new = X.follow(conn, proposal_id, current_user().id)
    except PbError as exc:
        return refused(exc, url_for("pb_execution.index"))
    if wants_api():
        return jsonify({"ok": True, "new": new})
    return redirect(url_for("pb_execution.index"), 303)
