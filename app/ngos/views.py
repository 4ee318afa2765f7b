"""Public NGO pages: find an organisation, a profile, claiming one (and its e-mail link)."""

from __future__ import annotations

import json
from typing import Any

from flask import jsonify, render_template, request, url_for
from flask_babel import gettext as _

from app.auth import current_user, external_url, login_required
from app.errors import wants_api
from app.ngos import bp
from app.ngos.web import engine, error_response, read_form, send, title
from app.views import district_spec, page_map
from app.views import map_spec as layer_map_spec
from civic.accounts import district_choices
from civic.ngos import claims, find, profiles
from civic.ngos import places as ngo_places
from civic.ngos.common import Invalid
from geo import districts as gd
from layers import registry
from layers.ngos import FIELDS_OF_ACTIVITY, LEGAL_FORMS, PLACE_KINDS, TARGET_GROUPS

MULTI = ("fields", "target_groups", "districts_served")


def choices(titles: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    return [(code, title(t)) for code, t in titles.items()]


def vocab() -> dict[str, Any]:
    """The fixed lists a template shows (titles in the reader's language)."""
    return {
        "field_titles": dict(choices(FIELDS_OF_ACTIVITY)),
        "group_titles": dict(choices(TARGET_GROUPS)),
        "legal_titles": dict(choices(LEGAL_FORMS)),
        "kind_titles": dict(choices(PLACE_KINDS)),
    }


def ngo_map(params: dict[str, Any], bounds=None):
    layer = registry.get("ngos")
    assert layer is not None
    return page_map([district_spec(), layer_map_spec(layer, params=params)], bounds)


@bp.get("/ngos")
def index():
    with engine().connect() as conn:
        districts = district_choices(conn)
        try:
            s = find.parse_search(request.args, len(districts) or 18)
        except Invalid as exc:
            return error_response(exc)
        result = find.search(conn, s)
        bounds = gd.city_bounds(conn)
    if wants_api():
        return jsonify(
            {
                "items": [
                    {k: v for k, v in item.items() if k != "offer"} for item in result["items"]
                ],
                "has_more": result["has_more"],
            }
        )
    params = {
        "fields": s.field,
        "target_groups": s.target_group,
        "district": s.district,
        "q": s.q,
    }
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "ngos/index.html",
        s=s,
        result=result,
        districts=districts,
        fmap=ngo_map(params, bounds),
        prev_url=url_for("ngos.index", **args, page=s.page - 1) if s.page > 1 else None,
        next_url=url_for("ngos.index", **args, page=s.page + 1) if result["has_more"] else None,
        **vocab(),
    )


@bp.get("/ngos/<int:org_id>")
def profile(org_id: int):
    user = current_user()
    with engine().connect() as conn:
        org = profiles.organisation(conn, org_id)
        if org is None:
            return error_response(
                Invalid("organisation", "not_found", "Nie ma takiej organizacji.", 404)
            )
        member = user is not None and profiles.can_edit(conn, org_id, user.id, user.roles)
        staff = user is not None and user.has_role("moderator", "official")
        if org["status"] != "public" and not (member or staff):
            return error_response(
                Invalid("organisation", "not_found", "Nie ma takiej organizacji.", 404)
            )
        places = ngo_places.places(conn, org_id)
        activity = find.activity(conn, org_id)
        members = profiles.members(conn, org_id) if (member or staff) else []
        names = {d["number"]: d["full_name"] for d in district_choices(conn)}
    if wants_api():
        return jsonify(json.loads(json.dumps({**org, "places": places, **activity}, default=str)))
    return render_template(
        "ngos/profile.html",
        org=org,
        places=places,
        activity=activity,
        members=members,
        member=member,
        staff=staff,
        district_names=names,
        fmap=ngo_map({"organisation_id": org_id}) if places else None,
        **vocab(),
    )


def _claim_form(form: dict[str, Any], errors: dict[str, str], status: int = 200):
    return render_template("ngos/claim.html", form=form, errors=errors, **vocab()), status


@bp.get("/ngos/claim")
@login_required
def claim():
    form = {"location_id": request.args.get("location", ""), "krs": request.args.get("krs", "")}
    return _claim_form(form, {})


@bp.post("/ngos/claim")
@login_required
def claim_post():
    user = current_user()
    assert user is not None
    form = read_form(*MULTI)
    try:
        with engine().begin() as conn:
            started = claims.start_claim(conn, user.id, form)
    except Invalid as exc:
        return error_response(exc, "ngos/claim.html", form=form, **vocab())
    link = external_url("ngos.confirm", token=started["token"])
    send(
        started["contact_email"],
        _("Potwierdź zgłoszenie organizacji — Civic Map Kraków"),
        _(
            "Dzień dobry,\n\nużytkownik %(user)s zgłosił w serwisie Civic Map Kraków, że "
            "prowadzi profil organizacji „%(name)s”. Jeśli to prawda, potwierdź zgłoszenie, "
            "otwierając ten link (ważny 72 godziny):\n\n%(link)s\n\n"
            "Potem zgłoszenie sprawdzi moderator. Jeśli nie wiesz, o co chodzi, zignoruj tę "
            "wiadomość.",
            user=user.name,
            name=started["name"],
            link=link,
        ),
    )
    if wants_api():
        return jsonify(
            {"claim_id": started["claim_id"], "organisation_id": started["organisation_id"]}
        ), 201
    return render_template(
        "ngos/claim_sent.html", email=started["contact_email"], org_id=started["organisation_id"]
    )


@bp.get("/ngos/claim/confirm/<token>")
def confirm(token: str):
    try:
        with engine().begin() as conn:
            done = claims.confirm_claim(conn, token)
    except Invalid as exc:
        return error_response(exc)
    if wants_api():
        return jsonify(done)
    return render_template("ngos/claim_confirmed.html", name=done["name"])
