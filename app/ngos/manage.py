"""Members keep their profile current (profile, places, members); moderators decide claims."""

from __future__ import annotations

import json
from typing import Any

from flask import flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _

from app.auth import current_user, login_required, role_required
from app.errors import wants_api
from app.ngos import bp
from app.ngos.views import MULTI, vocab
from app.ngos.web import engine, error_response, read_form
from app.views import district_spec, lang, page_map
from civic.accounts import district_choices
from civic.ngos import claims, profiles
from civic.ngos import places as ngo_places
from civic.ngos.common import Invalid
from geo import districts as gd


def _me():
    user = current_user()
    assert user is not None
    return user


def _done(org_id: int, message: str, status: int = 200, **extra: Any):
    if wants_api():
        return jsonify({"organisation_id": org_id, **extra}), status
    flash(message)
    return redirect(url_for("ngos.profile", org_id=org_id))


def _edit_context(org_id: int) -> dict[str, Any]:
    with engine().connect() as conn:
        org = profiles.organisation(conn, org_id)
        districts = district_choices(conn)
    if org is None:
        raise Invalid("organisation", "not_found", "Nie ma takiej organizacji.", 404)
    return {"org": org, "districts": districts, **vocab()}


@bp.get("/ngos/<int:org_id>/edit")
@login_required
def edit(org_id: int):
    user = _me()
    try:
        with engine().connect() as conn:
            profiles.require_editor(conn, org_id, user.id, user.roles)
        ctx = _edit_context(org_id)
    except Invalid as exc:
        return error_response(exc)
    return render_template("ngos/edit.html", form=ctx["org"], errors={}, **ctx)


@bp.post("/ngos/<int:org_id>/edit")
@login_required
def edit_post(org_id: int):
    user = _me()
    form = read_form(*MULTI)
    if not wants_api():
        for name in MULTI:  # an unticked list of checkboxes is sent as nothing at all
            form.setdefault(name, [])
    try:
        with engine().begin() as conn:
            changed = profiles.update_profile(conn, org_id, user.id, user.roles, form)
    except Invalid as exc:
        try:
            ctx = _edit_context(org_id)
        except Invalid:
            return error_response(exc)
        return error_response(exc, "ngos/edit.html", form=form, **ctx)
    return _done(org_id, _("Zapisano profil organizacji."), changed=changed)


def _place_map():
    with engine().connect() as conn:
        bounds = gd.city_bounds(conn)
    draw = {
        "kind": "participation-draw",
        "input": "geometry",
        "initial": None,
        "types": ["Point"],
        "lang": lang(),
        "districts": False,
    }
    return page_map([district_spec(), draw], bounds)


@bp.get("/ngos/<int:org_id>/places/new")
@login_required
def place_new(org_id: int):
    user = _me()
    try:
        with engine().connect() as conn:
            profiles.require_editor(conn, org_id, user.id, user.roles)
            org = profiles.organisation(conn, org_id)
    except Invalid as exc:
        return error_response(exc)
    return render_template(
        "ngos/place.html", org=org, form={"kind": "branch"}, errors={}, fmap=_place_map(), **vocab()
    )


@bp.post("/ngos/<int:org_id>/places")
@login_required
def place_post(org_id: int):
    user = _me()
    form = read_form()
    try:
        with engine().begin() as conn:
            place_id = ngo_places.add_place(conn, org_id, user.id, user.roles, form)
    except Invalid as exc:
        with engine().connect() as conn:
            org = profiles.organisation(conn, org_id)
        if org is None:
            return error_response(exc)
        return error_response(
            exc, "ngos/place.html", org=org, form=form, fmap=_place_map(), **vocab()
        )
    return _done(org_id, _("Dodano miejsce."), 201, place_id=place_id)


@bp.post("/ngos/<int:org_id>/places/<int:place_id>/delete")
@login_required
def place_delete(org_id: int, place_id: int):
    user = _me()
    try:
        with engine().begin() as conn:
            ngo_places.remove_place(conn, org_id, place_id, user.id, user.roles)
    except Invalid as exc:
        return error_response(exc)
    return _done(org_id, _("Usunięto miejsce."))


@bp.post("/ngos/<int:org_id>/members")
@login_required
def member_add(org_id: int):
    user = _me()
    form = read_form()
    try:
        with engine().begin() as conn:
            uid = profiles.add_member(conn, org_id, user.id, user.roles, form.get("email"))
    except Invalid as exc:
        return error_response(exc)
    return _done(org_id, _("Dodano osobę do zespołu organizacji."), 201, user_id=uid)


@bp.post("/ngos/<int:org_id>/members/<int:user_id>/delete")
@login_required
def member_remove(org_id: int, user_id: int):
    user = _me()
    try:
        with engine().begin() as conn:
            profiles.remove_member(conn, org_id, user.id, user.roles, user_id)
    except Invalid as exc:
        return error_response(exc)
    return _done(org_id, _("Usunięto osobę z zespołu organizacji."))


# --- moderators --------------------------------------------------------------------------


@bp.get("/ngos/moderation")
@role_required("moderator")
def moderation():
    with engine().connect() as conn:
        waiting = claims.pending_claims(conn)
    if wants_api():
        return jsonify({"claims": json.loads(json.dumps(waiting, default=str))})
    return render_template("ngos/moderation.html", claims=waiting)


@bp.post("/ngos/claims/<int:claim_id>/decide")
@role_required("moderator")
def decide(claim_id: int):
    user = _me()
    form = read_form()
    decision = form.get("decision")
    try:
        if decision not in ("approve", "reject"):
            raise Invalid("decision", "unknown_choice", "Nieznany status.")
        with engine().begin() as conn:
            done = claims.decide_claim(
                conn, claim_id, user.id, approve=decision == "approve", reason=form.get("reason")
            )
    except Invalid as exc:
        return error_response(exc)
    if wants_api():
        return jsonify(done)
    flash(_("Zatwierdzono profil.") if done["approved"] else _("Odrzucono zgłoszenie."))
    return redirect(url_for("ngos.moderation"))


@bp.post("/ngos/<int:org_id>/status")
@role_required("moderator")
def status(org_id: int):
    user = _me()
    form = read_form()
    try:
        with engine().begin() as conn:
            profiles.set_status(conn, org_id, user.id, form.get("status"), form.get("reason"))
    except Invalid as exc:
        return error_response(exc)
    return _done(org_id, _("Zmieniono widoczność profilu."))
