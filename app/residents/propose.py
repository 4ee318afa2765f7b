"""Budget proposals by residents on the web: the /propose form, browsing, permalinks, supports.

* ``/propose`` (login): draw a point, line or polygon (Leaflet-Geoman), or pick an address
  from the gazetteer, or choose "cała dzielnica" / "ogólnomiejski". The district is computed
  from the geometry (shown live through ``POST /api/geometry/districts``; stored by the
  table trigger), never typed. "Zapisz szkic" keeps a draft; "Złóż projekt" submits it.
* ``/proposals`` (list + map), ``/proposals/<id>`` (permalink), ``POST
  /proposals/<id>/support``, ``/account/contributions``, ``/uploads/<name>`` (photos).

The rules and the SQL are civic/participation (proposals.py, proposal_lists.py, limits.py);
the fields are checked by the layer contract's validator. A proposal goes into the budget
edition whose submission phase is open (civic/pb): that edition's title limit and pools' cost
limits apply; with no submission phase open the page says when the next one opens and a post
is refused (409, ``phase_closed``).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from app import engine
from app.auth import current_user, login_required
from app.errors import ApiError
from app.forms import form_error_json, upload_dir
from app.pb.common import send_mails
from app.residents import participation_web as pw
from app.residents import proposal_page
from app.security import json_body, rate_limit
from app.views import lang
from civic.accounts import Invalid, district_choices, is_author_or_staff
from civic.moderation import needs_moderation
from civic.participation import limits
from civic.participation import proposal_districts as pd
from civic.participation import proposal_lists as pl
from civic.participation import proposal_page as pp_page
from civic.participation import proposals as pp
from civic.participation.form import geometry_reason
from geo import districts as gd
from geo.validate import GeometryError, check_size, districts_for, parse_geometry

bp = Blueprint("proposals", __name__)

BODY_MAX = pp.PHOTO_MAX + 1024 * 1024  # the photo plus the form's text fields
format_pln = pw.format_pln
supporters_label = pw.supporters_label


category_title = pw.category_title
status_title = pw.status_title
_categories = pw.categories


# --------------------------------------------------------------------------- the edition


def submission_edition(conn) -> tuple[Any, str | None]:
    """(the edition open for submissions, None) or (None, the notice saying when the next
    submissions open)."""
    try:
        return limits.open_submission(conn), None
    except Invalid as exc:
        return None, pw.form_error(exc).messages()["phase"]


def _may_see(author_id: int | None, status: str, hidden_at: Any) -> bool:
    return pp.is_public(status, hidden_at) or is_author_or_staff(current_user(), author_id)


# --------------------------------------------------------------------------- the form


def _render_form(
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    draft_id: int | None = None,
    edition: Any = None,
    closed: str | None = None,
):
    """The form of ``edition``; with ``closed`` (no submission phase open) the notice instead
    of the buttons."""
    with engine().connect() as conn:
        districts = district_choices(conn)
        bounds = gd.city_bounds(conn)
    fmap = pw.participation_map([pw.draw_spec(form, lang=lang())], bounds)
    body = render_template(
        "propose/form.html",
        form=form,
        errors={k: v for k, v in errors.items() if k != "phase"},
        districts=districts,
        categories=_categories(),
        edition=edition.year if edition is not None else None,
        closed=closed,
        limits=limits.limits_for_page(edition),
        title_max=pp.title_max(edition),
        fmap=fmap,
        draft_id=draft_id,
        format_pln=format_pln,
    )
    return body, status


def _errors_response(
    exc: Any, form: dict[str, Any], draft_id: int | None = None, edition: Any = None
):
    exc = pw.form_error(exc)
    if pw.wants_json():
        return form_error_json(exc)
    messages = exc.messages()
    return _render_form(form, messages, exc.status, draft_id, edition, closed=messages.get("phase"))


@bp.get("/propose")
@login_required
def propose():
    user = current_user()
    assert user is not None
    with engine().begin() as conn:
        edition, closed = submission_edition(conn)
    draft = request.args.get("draft", type=int)
    if draft:
        try:
            with engine().connect() as conn:
                form = pp.draft_form(conn, user, draft)
        except Invalid as exc:
            abort(exc.status, description=pw.form_error(exc).messages()["draft"])
        return _render_form(form, {}, draft_id=draft, edition=edition, closed=closed)
    blank = {"form_key": uuid.uuid4().hex, "scope": "district", "location": "map"}
    return _render_form(blank, {}, edition=edition, closed=closed)


def _allow_large_body(view):
    """Mark a view that takes a 5 MB photo: init_app's early hook raises this request's
    limit before anything (the CSRF check included) parses the body."""
    view.max_content_length = BODY_MAX
    return view


def init_app(app) -> None:
    from app.assets import vendor_url

    app.register_blueprint(bp)
    app.jinja_env.globals.setdefault("vendor_url", vendor_url)

    def _per_view_body_limit() -> None:
        view = app.view_functions.get(request.endpoint or "")
        size = getattr(view, "max_content_length", None)
        if size:
            request.max_content_length = size
            request.max_form_memory_size = 2 * 1024 * 1024  # 5000 vertices of GeoJSON fit

    # first of all before_request hooks: app.security's guard reads request.max_content_length
    app.before_request_funcs.setdefault(None, []).insert(0, _per_view_body_limit)


def _read_photo(upload) -> bytes | None:
    if upload is None or not upload.filename:
        return None
    return upload.stream.read(pp.PHOTO_MAX + 1)


@bp.post("/propose")
@_allow_large_body
@login_required
@rate_limit("post", limit=30, per=600)
def propose_post():
    user = current_user()
    assert user is not None
    pw.check_form_type(
        _("Nieobsługiwany typ treści %(type)s: wyślij formularz (multipart/form-data).")
    )
    try:
        form = request.form.to_dict()
        photo_data = _read_photo(request.files.get("photo"))
    except RequestEntityTooLarge:
        raise ApiError(
            413, "too_large", _("Pole „Zdjęcie”: plik może mieć najwyżej 5 MB."), "photo"
        ) from None
    draft_id = request.args.get("draft", type=int)
    edition = None
    photo_name = None
    try:
        with engine().begin() as conn:
            edition = limits.open_submission(conn)
            data = pp.parse_proposal(conn, form, edition)
        if photo_data is not None:
            photo_name = pp.store_photo(photo_data, upload_dir())
        with engine().begin() as conn:
            saved = pp.save(conn, user, data, edition.year, photo_name)
    except Invalid as exc:
        pp.drop_photo(upload_dir(), photo_name)
        return _errors_response(exc, form, draft_id, edition)
    send_mails(list(saved.mails))
    if saved.duplicate:
        pp.drop_photo(upload_dir(), photo_name)
    elif saved.replaced_photo and saved.replaced_photo != photo_name:
        pp.drop_photo(upload_dir(), saved.replaced_photo)
    if pw.wants_json():
        body = {
            "id": saved.id,
            "status": saved.status,
            "url": url_for(".detail", proposal_id=saved.id),
        }
        return jsonify(body), (200 if saved.duplicate else 201)
    if saved.status == "draft":
        flash(_("Szkic zapisany. Możesz do niego wrócić w „Moich wpisach”."))
        return redirect(url_for(".propose", draft=saved.id), code=303)
    if saved.duplicate:
        flash(_("Ten projekt został już złożony."))
    elif needs_moderation(user):
        flash(
            _(
                "Projekt złożony. Pokaże się publicznie, gdy potwierdzisz adres e-mail i sprawdzi go moderator."
            )
        )
    else:
        flash(_("Projekt złożony. Dziękujemy!"))
    return redirect(url_for(".detail", proposal_id=saved.id), code=303)


@bp.post("/api/geometry/districts")
@rate_limit("geometry", limit=120, per=60)
def geometry_districts():
    """The districts a drawn geometry lies in (the propose form shows them while drawing)."""
    body = json_body("geometry")
    geometry = body.get("geometry", body if "type" in body else None)
    if geometry is None:
        raise ApiError(400, "required", _("Pole „Miejsce na mapie” jest wymagane."), "geometry")
    try:
        geom = parse_geometry(geometry)
        with engine().connect() as conn:
            check_size(conn, geom)
            found = districts_for(conn, geom)
    except GeometryError as exc:
        why = pw.tr(geometry_reason(exc))
        raise ApiError(
            400, exc.code, _("Pole „Miejsce na mapie”: %(why)s", why=why), "geometry"
        ) from None
    return jsonify({"districts": found, "type": geom.geom_type})


# --------------------------------------------------------------------------- photos


@bp.get("/uploads/<name>")
def photo(name: str):
    with engine().connect() as conn:
        row = pp.photo_owner(conn, name)
    if row is None or not _may_see(row.author_id, row.status, row.hidden_at):
        abort(404)
    resp = send_from_directory(upload_dir(), name, max_age=3600)
    resp.headers["Content-Security-Policy"] = "default-src 'none'"
    if not pp.is_public(row.status, row.hidden_at):  # a draft's photo: never in a shared cache
        resp.headers["Cache-Control"] = "private, no-store"
    return resp


# --------------------------------------------------------------------------- browsing


def browse_args() -> pl.Browse:
    """Filters from the query string; a wrong value is a 400 naming the parameter."""
    try:
        return pl.browse_args(request.args)
    except Invalid as exc:
        name, (_code, msgid, params) = next(iter(exc.errors.items()))
        why = pw.tr(msgid, params)
        if request.path.startswith("/api/"):
            raise ApiError(400, "invalid_parameter", f"parameter '{name}': {why}", name) from None
        abort(400, description=_("Parametr „%(name)s”: %(why)s", name=name, why=why))


def _map_link() -> str:
    return url_for(".detail", proposal_id=0).rsplit("/", 1)[0] + "/"


@bp.get("/api/proposals")
def api_proposals():
    b = browse_args()
    limit = request.args.get("limit", type=int) or pp.MAP_LIMIT
    if not 1 <= limit <= pp.MAP_LIMIT:
        raise ApiError(
            400,
            "invalid_parameter",
            f"parameter 'limit' must be between 1 and {pp.MAP_LIMIT}",
            "limit",
        )
    categories = {k: category_title(k) for k in pp.form_field("category").choices}
    states = {k: status_title(k) for k in pp.form_field("status").choices}
    located = request.args.get("located") in ("1", "true")
    with engine().connect() as conn:
        body = pl.proposals_geojson(
            conn, b, _map_link(), categories, states, limit, located_only=located
        )
    return Response(body, mimetype="application/geo+json")


@bp.get("/api/proposals/districts")
def api_proposal_districts():
    """Proposals located only by their district, per district (the /proposals map draws the
    district's shape with the count; a click lists them)."""
    b = browse_args()
    states = {k: status_title(k) for k in pp.form_field("status").choices}
    with engine().connect() as conn:
        body = pd.whole_district_geojson(conn, b, _map_link(), states)
    return Response(body, mimetype="application/geo+json")


def _district_groups_spec(args: dict[str, str]) -> dict[str, Any]:
    """The map's layer of proposals located only by district (static/js/propose.js)."""
    return {
        "kind": "participation-district-groups",
        "url": url_for(".api_proposal_districts", **args),
        "list": url_for(
            ".browse", **{k: v for k, v in args.items() if k != "district"}, district=0
        ).replace("district=0", "district={n}"),
        "labels": {
            "count": _("Projekty na całą dzielnicę: %(n)s.", n="{n}"),
            "title": _(
                "%(district)s — projekty na całą dzielnicę (%(n)s)", district="{d}", n="{n}"
            ),
            "all": _("Wszystkie projekty dzielnicy na liście"),
            "first": _("Pierwsze %(n)s z nich:", n="{n}"),
            "citywide": _(
                "%(n)s projektów ogólnomiejskich bez miejsca jest tylko na liście.", n="{n}"
            ),
            "none": _("Brak projektów na całą dzielnicę."),
        },
    }


def _sort_labels() -> list[tuple[str, str]]:
    return [
        ("newest", _("najnowsze")),
        ("oldest", _("najstarsze")),
        ("supports", _("najwięcej poparć")),
        ("cost_desc", _("najdroższe")),
        ("cost_asc", _("najtańsze")),
        ("title", _("tytuł A–Z")),
    ]


@bp.get("/proposals")
def browse():
    b = browse_args()
    with engine().connect() as conn:
        items, has_more = pl.list_proposals(conn, b)
        districts = district_choices(conn)
        editions = pl.editions(conn)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    wf = pp.layer().workflow
    return render_template(
        "propose/list.html",
        b=b,
        items=items,
        has_more=has_more,
        districts=districts,
        editions=editions,
        states=[(s, status_title(s)) for s in (wf.public_states if wf else ())],
        categories=_categories(),
        sorts=_sort_labels(),
        fmap=pw.proposals_map(
            {
                "district": b.district,
                "category": b.category,
                "status": b.status,
                "edition": b.edition,
                "q": b.q,
            },
            extra=[_district_groups_spec(args)],
        ),
        prev_url=url_for(".browse", **args, page=b.page - 1) if b.page > 1 else None,
        next_url=url_for(".browse", **args, page=b.page + 1) if has_more else None,
        category_title=category_title,
        status_title=status_title,
        format_pln=format_pln,
        supporters_label=supporters_label,
    )


@bp.get("/proposals/<int:proposal_id>")
def detail(proposal_id: int):
    """The one page of a proposal: facts, map, supports, the budget workflow, council
    opinions, execution, comments and history (/budget/projects/<id> and
    /layers/budget-proposals/<id> redirect here)."""
    return proposal_page.render_detail(proposal_id)


@bp.get("/api/proposals/<int:proposal_id>")
def api_proposal(proposal_id: int):
    """One proposal as a FeatureCollection (for its permalink map); drafts only for the author."""
    with engine().connect() as conn:
        p = pl.visibility(conn, proposal_id)
        if p is None or not _may_see(p.author_id, p.status, p.hidden_at):
            raise ApiError(404, "not_found", f"no proposal {proposal_id}", "proposal_id")
        url = url_for(".detail", proposal_id=proposal_id)
        body = pl.proposal_geojson(conn, proposal_id, url)
    return Response(body, mimetype="application/geo+json")


# --------------------------------------------------------------------------- supports


@bp.post("/proposals/<int:proposal_id>/support")
@login_required
@rate_limit("support", limit=60, per=60)
def support(proposal_id: int):
    user = current_user()
    assert user is not None
    form_action = request.form.get("action") if request.mimetype != "application/json" else None
    try:
        with engine().begin() as conn:
            supported, new, total = pp_page.support(
                conn, user, proposal_id, withdraw=form_action == "withdraw"
            )
    except Invalid as exc:
        raise pw.api_error(exc) from None
    if request.is_json or pw.wants_json():
        return jsonify(
            {
                "supported": supported,
                "new": new,
                "supports": total,
                "label": supporters_label(total),
            }
        )
    flash(_("Poparłeś(-aś) ten projekt.") if supported else _("Wycofano poparcie."))
    return redirect(url_for(".detail", proposal_id=proposal_id), code=303)


@bp.get("/account/contributions")
@login_required
def contributions():
    user = current_user()
    assert user is not None
    with engine().connect() as conn:
        mine = pl.contributions(conn, user.id)
    return render_template(
        "propose/contributions.html",
        **mine,
        status_title=status_title,
        supporters_label=supporters_label,
    )
