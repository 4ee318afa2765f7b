"""Voting on the web: declare the district, the 3 + 3 ranked ballot, review, cast; paper
ballots entered by voting-point staff. Routes are thin over civic.pb.voting."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy.exc import OperationalError

from app.auth import current_user, login_required, role_required
from app.db import engine
from app.errors import wants_api
from app.pb.common import refused
from civic.pb import voting as V
from civic.pb.errors import PbError

bp = Blueprint("pb_vote", __name__, url_prefix="/budget")
STAFF = ("official", "admin")
PAPER_STAFF = (*STAFF, "voting_point")  # voting_point: only at the points assigned to them


def _allowed_points(conn) -> list[int] | None:
    """None: any voting point (officials, admins); else the clerk's own points."""
    user = current_user()
    return None if user.has_role(*STAFF) else V.staff_points(conn, user.id)


IDENTITY = ("full_name", "birth_date", "address")


@bp.errorhandler(OperationalError)
def _db_down(exc):
    """The database is unreachable: 503 (nothing was acknowledged), retry later. No template
    (the layout itself reads the session from the database)."""
    msg = gettext("Serwis chwilowo niedostępny. Spróbuj ponownie za chwilę.")
    if wants_api():
        resp = jsonify({"error": {"code": "unavailable", "field": "database", "message": msg}})
    else:
        from markupsafe import escape

        resp = (
            f'<!doctype html><html lang="pl"><title>503</title><main><h1>503</h1>'
            f"<p>{escape(msg)}</p></main></html>"
        )
    return resp, 503, {"Retry-After": "5"}


def _ballot_form() -> dict:
    """The request's ballot: JSON {citywide: [...], local: [...]} or form selects
    citywide_1..3 / local_1..3 (1st choice = 3 points)."""
    if request.is_json:
        from app.security import json_body

        body = json_body()
        return {
            k: body.get(k)
            for k in (
                *IDENTITY,
                "citywide",
                "local",
                "district",
                "voting_point",
                "invalid_reason",
                "note",
            )
        }
    f = request.form
    out = {k: f.get(k) for k in (*IDENTITY, "district", "voting_point", "invalid_reason", "note")}
    for part in ("citywide", "local"):
        if f.get(part) is not None:
            out[part] = f.get(part)
        else:
            out[part] = [f.get(f"{part}_{i}", "") for i in (1, 2, 3) if f.get(f"{part}_{i}")]
    return out


@bp.get("/<int:year>/vote")
@login_required
def vote(year: int):
    with engine().connect() as conn:
        decl = V.declaration(conn, year, current_user().id)
        options = V.ballot_options(conn, year, decl["district"] if decl else None)
        districts = V.district_list(conn)
    return render_template(
        "pb/vote.html",
        year=year,
        decl=decl,
        options=options,
        districts=districts,
        form={},
        error=None,
    )


@bp.post("/<int:year>/vote/district")
@login_required
def declare(year: int):
    district = (
        (request.get_json(silent=True) or {}).get("district")
        if request.is_json
        else (request.form.get("district"))
    )
    try:
        with engine().begin() as conn:
            got = V.declare_district(conn, year, current_user().id, district)
    except PbError as exc:
        return refused(exc, url_for("pb_vote.vote", year=year))
    if wants_api():
        return jsonify({"ok": True, "district": got["district"]})
    return redirect(url_for("pb_vote.vote", year=year), 303)


@bp.post("/<int:year>/vote/review")
@login_required
def review(year: int):
    form = _ballot_form()
    try:
        with engine().connect() as conn:
            summary = V.review(conn, year, current_user().id, form)
    except PbError as exc:
        return refused(exc, url_for("pb_vote.vote", year=year))
    return render_template("pb/vote_review.html", year=year, s=summary, form=form)


@bp.post("/<int:year>/vote/cast")
@login_required
def cast(year: int):
    try:
        V.cast_online(engine(), year, current_user().id, _ballot_form())
    except PbError as exc:
        return refused(exc, url_for("pb_vote.vote", year=year))
    if wants_api():
        return jsonify({"ok": True, "edition": year}), 201
    return render_template("pb/vote_done.html", year=year), 201


@bp.route("/<int:year>/paper", methods=["GET", "POST"])
@role_required(*PAPER_STAFF)
def paper(year: int):
    done = None
    status = 200
    error = None
    form = {}
    with engine().connect() as conn:
        allowed = _allowed_points(conn)
    if request.method == "POST":
        form = _ballot_form()
        try:
            done = V.cast_paper(engine(), year, current_user().id, form, allowed=allowed)
        except PbError as exc:
            if wants_api():
                return refused(exc)
            error, status = exc, exc.status
        else:
            if wants_api():
                return jsonify({"ok": True, "valid": done.valid}), 201
            status = 201
    with engine().connect() as conn:
        points = V.voting_points(conn, allowed)
        districts = V.district_list(conn)
    keep = {"voting_point": form.get("voting_point") or request.args.get("voting_point", "")}
    if error:
        keep = {**form, **keep}
    return render_template(
        "pb/vote_paper.html",
        year=year,
        points=points,
        districts=districts,
        done=done,
        error=error,
        error_text=_text(error),
        form=keep,
        reasons=V.INVALID_REASONS,
    ), status


@bp.post("/<int:year>/paper/check")
@role_required(*PAPER_STAFF)
def paper_check(year: int):
    try:
        with engine().connect() as conn:
            voted = V.has_voted(conn, year, _ballot_form())
    except PbError as exc:
        return refused(exc)
    return jsonify({"voted": voted})


def _text(exc: PbError | None) -> str:
    if exc is None:
        return ""
    from app.pb.common import message

    return message(exc)
