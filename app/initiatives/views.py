"""Residents' side of Inicjatywa Lokalna: browse, apply, an initiative's page, pledge, support."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.auth import current_user, login_required
from app.errors import wants_api
from app.initiatives import bp
from app.ngos.web import engine, error_response, read_form, title
from app.views import district_spec, lang, page_map
from app.views import map_spec as layer_map_spec
from civic.initiatives import applications as apps
from civic.initiatives import assessment, ledger
from civic.ngos import profiles
from civic.ngos.common import Invalid, clean_int
from geo import districts as gd
from geo.validate import GeometryError, districts_for, parse_geometry
from layers import registry
from layers.local_initiatives import APPLICANT_KINDS, STATE_TITLES, STATES


def state_titles() -> dict[str, str]:
    return {s: title(STATE_TITLES[s]) for s in STATES}


def pln(value: Any) -> str:
    if value is None:
        return "—"
    from babel.numbers import format_decimal

    return format_decimal(Decimal(value), format="#,##0.00", locale=lang()) + " zł"


def _json(data: Any):
    return jsonify(json.loads(json.dumps(data, default=str)))


@bp.get("/initiatives")
def index():
    status = request.args.get("status") or None
    try:
        year = clean_int(
            request.args.get("year"), "year", minimum=2011, maximum=2100, required=False
        )
        district = clean_int(
            request.args.get("district"), "district", minimum=1, maximum=99, required=False
        )
        if status and status not in STATES:
            raise Invalid("status", "unknown_choice", "Nieznany status.")
    except Invalid as exc:
        return error_response(exc)
    with engine().connect() as conn:
        result = apps.list_initiatives(conn, status=status, year=year, district=district)
        years = apps.years(conn)
        pools = assessment.pools(conn)
        districts = gd.list_districts(conn)
        bounds = gd.city_bounds(conn)
    if wants_api():
        return _json({**result, "pools": pools})
    layer = registry.get("local-initiatives")
    assert layer is not None
    params = {"status": status, "year": year, "district": district}
    fmap = page_map([district_spec(), layer_map_spec(layer, params=params)], bounds)
    return render_template(
        "initiatives/index.html",
        result=result,
        years=years,
        pools=pools,
        districts=districts,
        status=status,
        year=year,
        district=district,
        states=state_titles(),
        fmap=fmap,
        pln=pln,
    )


def _apply_map(initial: Any = None):
    with engine().connect() as conn:
        bounds = gd.city_bounds(conn)
    draw = {
        "kind": "participation-draw",
        "input": "geometry",
        "initial": initial,
        "types": ["Point", "LineString", "Polygon"],
        "lang": lang(),
    }
    return page_map([district_spec(), draw], bounds)


def _apply_context(user_id: int) -> dict[str, Any]:
    with engine().connect() as conn:
        orgs = [o for o in profiles.my_organisations(conn, user_id) if o["status"] == "public"]
    return {"orgs": orgs, "kinds": {k: title(v) for k, v in APPLICANT_KINDS.items()}}


@bp.get("/initiatives/apply")
@login_required
def apply():
    user = current_user()
    assert user is not None
    form = {"form_key": uuid.uuid4().hex, "applicant_kind": "residents"}
    return render_template(
        "initiatives/apply.html", form=form, errors={}, fmap=_apply_map(), **_apply_context(user.id)
    )


@bp.post("/initiatives/apply")
@login_required
def apply_post():
    user = current_user()
    assert user is not None
    form = read_form()
    try:
        with engine().begin() as conn:
            new_id = apps.apply(conn, user.id, form)
    except Invalid as exc:
        initial = None
        try:
            initial = json.loads(form.get("geometry") or "null")
        except ValueError:
            pass
        return error_response(
            exc,
            "initiatives/apply.html",
            form=form,
            fmap=_apply_map(initial if isinstance(initial, dict) else None),
            **_apply_context(user.id),
        )
    if wants_api():
        return jsonify({"id": new_id}), 201
    flash(_("Wniosek złożony. O każdej zmianie statusu napiszemy do wnioskodawców."))
    return redirect(url_for("initiatives.detail", initiative_id=new_id))


@bp.post("/initiatives/api/districts")
def geometry_districts():
    """The districts a drawn location lies in (the form's live read-out)."""
    data = read_form()
    try:
        geom = parse_geometry(data.get("geometry") or "")
        with engine().connect() as conn:
            found = districts_for(conn, geom)
    except GeometryError as exc:
        return jsonify(
            {"error": {"code": exc.code, "message": exc.message, "field": "geometry"}}
        ), 400
    return jsonify({"districts": found})


@bp.get("/initiatives/<int:initiative_id>")
def detail(initiative_id: int):
    user = current_user()
    with engine().connect() as conn:
        item = apps.get(conn, initiative_id)
        if item is None:
            return error_response(
                Invalid("initiative", "not_found", "Nie ma takiej inicjatywy.", 404)
            )
        book = ledger.ledger(conn, initiative_id)
        mine = ledger.my_pledges(conn, initiative_id, user.id) if user else {}
        pool = assessment.pool(conn, item["pool_year"] or item["year"])
        history = apps.history(conn, initiative_id)
    if wants_api():
        public_rows = [
            {k: v for k, v in r.items() if k not in ("user_id", "pseudonym")} for r in book["rows"]
        ]
        return _json({**item, "ledger": {**book, "rows": public_rows}, "pool": pool})
    staff = user is not None and user.has_role("official")
    layer = registry.get("local-initiatives")
    assert layer is not None
    fmap = page_map([district_spec(), layer_map_spec(layer, feature_id=initiative_id)])
    return render_template(
        "initiatives/detail.html",
        item=item,
        book=book,
        mine=mine,
        pool=pool,
        history=history if staff else [],
        staff=staff,
        states=state_titles(),
        kinds={k: title(v) for k, v in APPLICANT_KINDS.items()},
        fmap=fmap,
        pln=pln,
        pass_mark=assessment.PASS_MARK,
    )


def _back(initiative_id: int, message: str, http_status: int = 200, **extra: Any):
    if wants_api():
        return _json({"initiative_id": initiative_id, **extra}), http_status
    flash(message)
    return redirect(url_for("initiatives.detail", initiative_id=initiative_id) + "#ledger")


@bp.post("/initiatives/<int:initiative_id>/pledge")
@login_required
def pledge(initiative_id: int):
    user = current_user()
    assert user is not None
    form = read_form()
    try:
        with engine().begin() as conn:
            pledge_id = ledger.pledge(conn, initiative_id, user.id, form)
    except Invalid as exc:
        return error_response(exc)
    return _back(initiative_id, _("Zapisano deklarację wkładu."), 201, pledge_id=pledge_id)


@bp.post("/initiatives/<int:initiative_id>/pledge/<kind>/withdraw")
@login_required
def withdraw(initiative_id: int, kind: str):
    user = current_user()
    assert user is not None
    try:
        with engine().begin() as conn:
            ledger.withdraw(conn, initiative_id, user.id, kind)
    except Invalid as exc:
        return error_response(exc)
    return _back(initiative_id, _("Wycofano deklarację."))


@bp.post("/initiatives/<int:initiative_id>/support")
@login_required
def support(initiative_id: int):
    user = current_user()
    assert user is not None
    try:
        with engine().begin() as conn:
            added, count = apps.support(conn, initiative_id, user.id)
    except Invalid as exc:
        return error_response(exc)
    message = _("Podpisano listę poparcia.") if added else _("Już jesteś na liście poparcia.")
    return _back(initiative_id, message, added=added, supporters=count)
