"""Execution of selected projects on the web (``/budget/execution``): the list across all
editions with filters (status, edition, district), one project's execution page
(``/budget/execution/<id>``) with its milestones and their photos, staff updates and
milestones (added and edited, with a photo), following a project (an e-mail to followers on
each update). Thin over civic.pb.execution.

Milestone photos are stored exactly as proposal photos are: re-encoded by Pillow without
EXIF/GPS (civic.participation.photos.store_photo), in the same upload folder under a random
name; served by ``/budget/execution/photos/<name>`` only while a milestone of a selected,
visible project shows them."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from app.auth import current_user, external_url, login_required, role_required
from app.db import engine
from app.errors import wants_api
from app.forms import upload_dir
from app.pb.common import message, refused
from app.views import district_spec, map_spec, page_map
from civic import N_
from civic.accounts import Invalid
from civic.participation import photos as P
from civic.pb import execution as X
from civic.pb.errors import PbError
from layers.pb_execution import LAYER as EXECUTION_LAYER

bp = Blueprint("pb_execution", __name__, url_prefix="/budget/execution")
log = logging.getLogger(__name__)
STAFF = ("official", "admin")
BODY_MAX = P.PHOTO_MAX + 1024 * 1024  # the photo plus the form's text fields


def _allow_large_body(view):
    """A view that takes a 5 MB photo: the early hook of app/residents/propose.py raises
    this request's body limit for it (before the CSRF check parses the body)."""
    view.max_content_length = BODY_MAX
    return view


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
                + external_url("pb_execution.project", proposal_id=result["project"]["id"]),
            )
        except Exception:  # committed; a mail failure must not undo it
            log.exception("execution mail to %s failed", to)


def _form() -> dict:
    return (request.get_json(silent=True) or {}) if request.is_json else request.form.to_dict()


def _done(proposal_id: int, **body):
    if wants_api():
        return jsonify({"ok": True, **body})
    return redirect(url_for("pb_execution.project", proposal_id=proposal_id), 303)


def _refused(exc: PbError, proposal_id: int, form: dict | None = None, where: str = ""):
    """JSON {error: {code, field, message}}, or the project's page again with the error next
    to the form it came from (``where``) and what was typed (4xx)."""
    if wants_api():
        return refused(exc)
    try:
        return _page(proposal_id, error=exc, form=form or {}, where=where, status=exc.status)
    except PbError:
        return refused(exc, url_for("pb_execution.index"))


@bp.get("/<int:proposal_id>")
def project(proposal_id: int):
    try:
        return _page(proposal_id)
    except PbError as exc:
        return refused(exc, url_for("pb_execution.index"))


def _page(proposal_id: int, error=None, form=None, where: str = "", status: int = 200):
    with engine().connect() as conn:
        p = X.project_execution(conn, proposal_id)
    if wants_api():
        return jsonify({"project": p})
    titles = {k: gettext(v) for k, v in X.STATE_TITLES.items()}
    user = current_user()
    return render_template(
        "pb/execution_project.html",
        p=p,
        titles=titles,
        staff=bool(user and user.has_role(*STAFF)),
        error=error,
        error_text=message(error) if error else "",
        where=where,
        form=form or {},
    ), status


@bp.post("/<int:proposal_id>")
@role_required(*STAFF)
def update(proposal_id: int):
    form = _form()
    try:
        with engine().begin() as conn:
            result = X.update(conn, proposal_id, current_user().id, form)
    except PbError as exc:
        return _refused(exc, proposal_id, form, "execution")
    _mail(result)
    return _done(proposal_id)


def _read_photo() -> bytes | None:
    """The uploaded photo's bytes (None: no file chosen); at most one byte over the limit is
    read, so store_photo can refuse a larger one."""
    try:
        upload = request.files.get("photo")
    except RequestEntityTooLarge:
        raise PbError(
            "too_large", "photo", N_("Pole „Zdjęcie”: plik może mieć najwyżej 5 MB."), 413
        ) from None
    if upload is None or not upload.filename:
        return None
    return upload.stream.read(P.PHOTO_MAX + 1)


def _store_photo(data: bytes | None) -> str | None:
    """Re-encode and store (no EXIF/GPS); a bad file is a PbError naming ``photo``."""
    if data is None:
        return None
    try:
        return P.store_photo(data, upload_dir())
    except Invalid as exc:
        code, msgid, params = exc.errors["photo"]
        raise PbError(code, "photo", msgid, exc.status, **params) from None


def _save_milestone(proposal_id: int, milestone_id: int | None):
    """Check the fields, then store the photo, then write the row in one transaction; a refusal
    at any step leaves no row changed and no file behind."""
    form = _form()
    where = f"milestone-{milestone_id}" if milestone_id else "milestone-new"
    name = None
    try:
        X.parse_milestone(form)  # before the photo is stored: a bad date keeps no file
        name = _store_photo(_read_photo())
        with engine().begin() as conn:
            if milestone_id is None:
                result = X.add_milestone(conn, proposal_id, current_user().id, form, name)
            else:
                result = X.update_milestone(
                    conn, proposal_id, milestone_id, current_user().id, form, name
                )
    except PbError as exc:
        P.drop_photo(upload_dir(), name)
        return _refused(exc, proposal_id, form, where)
    except Exception:
        P.drop_photo(upload_dir(), name)
        raise
    P.drop_photo(upload_dir(), result.get("replaced_photo"))
    _mail(result)
    return _done(proposal_id, milestone=result["milestone"])


@bp.post("/<int:proposal_id>/milestones")
@_allow_large_body
@role_required(*STAFF)
def milestone(proposal_id: int):
    return _save_milestone(proposal_id, None)


@bp.post("/<int:proposal_id>/milestones/<int:milestone_id>")
@_allow_large_body
@role_required(*STAFF)
def milestone_edit(proposal_id: int, milestone_id: int):
    return _save_milestone(proposal_id, milestone_id)


@bp.get("/photos/<name>")
def photo(name: str):
    with engine().connect() as conn:
        visible = X.milestone_photo_visible(conn, name)
    if not visible:
        abort(404)
    resp = send_from_directory(upload_dir(), name, max_age=3600)
    resp.headers["Content-Security-Policy"] = "default-src 'none'"
    return resp


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
