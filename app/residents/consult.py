"""Public consultations on the web: areas, documents, dates and residents' comments.

* ``/consultations``: open, upcoming and closed consultations, their areas on one map.
* ``/consultations/<id>``: the area on a map, dates, documents, the comments (list + map),
  and — for a signed-in resident while it is open — a form to comment at a place inside
  the area or on the whole consultation, to reply, and to support others.
* ``/comments``: every published comment, filterable (consultation, district), sortable.

The rules and the SQL are civic/participation/consultations.py.
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
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext

from app import engine
from app.auth import current_user, login_required
from app.errors import ApiError
from app.forms import form_error_json
from app.residents import participation_web as pw
from app.security import rate_limit
from civic.accounts import Invalid, is_author_or_staff
from civic.participation import consultations as pc
from geo import districts as gd
from layers.validate import form_max_length

bp = Blueprint("consultations", __name__)
supports_label = pw.supporters_label


def comments_label(n: int) -> str:
    return ngettext("%(num)d uwaga", "%(num)d uwag", n)


def _link(endpoint: str, **zero: int) -> str:
    return url_for(endpoint, **zero).rsplit("/", 1)[0] + "/"


def _user_id() -> int | None:
    user = current_user()
    return user.id if user else None


def _bounds(c: dict[str, Any]):
    pad = 0.003
    return (c["west"] - pad, c["south"] - pad, c["east"] + pad, c["north"] + pad)


@bp.get("/consultations")
def index():
    with engine().connect() as conn:
        items = pc.list_consultations(conn)
        bounds = gd.city_bounds(conn)
    groups = {
        "open": [c for c in items if c["is_open"]],
        "upcoming": [c for c in items if c["is_upcoming"]],
        "closed": [c for c in items if not c["is_open"] and not c["is_upcoming"]],
    }
    areas = {
        "kind": "participation-areas",
        "url": url_for(".api_areas"),
        "fit": bool(items),
        "labels": pw.map_labels(),
    }
    return render_template(
        "consult/index.html",
        groups=groups,
        fmap=pw.participation_map([areas], bounds),
        comments_label=comments_label,
    )


@bp.get("/api/consultations")
def api_areas():
    """The consultations' areas; ``?ids=1,2`` only those (a consultation's page: its own)."""
    raw = request.args.get("ids") or ""
    ids = None
    if raw:
        parts = raw.split(",")
        if len(parts) > 100 or not all(p.isdigit() and len(p) < 19 for p in parts):
            raise ApiError(
                400, "invalid_parameter", "parameter 'ids': numbers, comma-separated", "ids"
            )
        ids = [int(p) for p in parts]
    with engine().connect() as conn:
        body = pc.areas_geojson(conn, _link(".detail", consultation_id=0), ids)
    return Response(body, mimetype="application/geo+json")


def _detail_page(
    consultation_id: int,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
):
    user = current_user()
    with engine().connect() as conn:
        c = pc.get_consultation(conn, consultation_id)
        if c is None:
            abort(404, description=_("Nie ma takich konsultacji."))
        comments = pc.comments_for(conn, consultation_id, _user_id())
    can_comment = user is not None and c["is_open"]
    specs: list[dict[str, Any]] = [
        {
            "kind": "participation-areas",
            "url": url_for(".api_areas", ids=consultation_id),
            "fit": False,
            "link": False,
            "labels": pw.map_labels(),
        },
        {
            "kind": "participation-features",
            "what": "comments",
            "url": url_for(".api_comments", consultation_id=consultation_id),
            "labels": pw.map_labels(),
        },
    ]
    form = form or {"form_key": uuid.uuid4().hex, "place": "whole"}
    if can_comment:
        specs.append(pw.draw_spec(form, districts=False, mode_radio="place"))
    body = render_template(
        "consult/detail.html",
        c=c,
        comments=pc.thread(comments),
        total=len([x for x in comments if x["status"] == "published"]),
        fmap=pw.participation_map(specs, _bounds(c)),
        user=user,
        can_comment=can_comment,
        form=form,
        errors=errors or {},
        new_key=lambda: uuid.uuid4().hex,
        supports_label=supports_label,
        comments_label=comments_label,
        body_max=form_max_length(pc.body_field()),
    )
    return body, status


@bp.get("/consultations/<int:consultation_id>")
def detail(consultation_id: int):
    return _detail_page(consultation_id)


@bp.get("/consultations/comments/<int:comment_id>")
def comment(comment_id: int):
    """A comment's permalink: its place in the consultation's thread."""
    with engine().connect() as conn:
        row = pc.comment_place(conn, comment_id)
    visible = row is not None and (
        row.status == "published" or is_author_or_staff(current_user(), row.author_id)
    )
    if not visible:
        abort(404, description=_("Nie ma takiej uwagi."))
    return redirect(
        url_for(".detail", consultation_id=row.consultation_id) + f"#comment-{comment_id}"
    )


@bp.get("/api/consultations/<int:consultation_id>/comments")
def api_comments(consultation_id: int):
    with engine().connect() as conn:
        if not pc.exists(conn, consultation_id):
            raise ApiError(
                404, "not_found", f"no consultation {consultation_id}", "consultation_id"
            )
        link = _link(".comment", comment_id=0)
        body = pc.comments_geojson(conn, consultation_id, _user_id(), link)
    return Response(body, mimetype="application/geo+json")


@bp.post("/consultations/<int:consultation_id>/comments")
@login_required
@rate_limit("post", limit=30, per=600)
def add_comment(consultation_id: int):
    user = current_user()
    assert user is not None
    pw.check_form_type(_("Nieobsługiwany typ treści %(type)s: wyślij formularz."))
    form = request.form.to_dict()
    try:
        with engine().begin() as conn:
            comment_id, duplicate, pending = pc.add_comment(conn, user, consultation_id, form)
    except Invalid as exc:
        if exc.status == 404 and "consultation" in exc.errors:
            abort(404, description=_("Nie ma takich konsultacji."))
        return _comment_error(exc, consultation_id, form)
    return pw.comment_added(
        comment_id,
        duplicate,
        pending,
        json_url=url_for(".comment", comment_id=comment_id),
        page_url=url_for(".detail", consultation_id=consultation_id) + f"#comment-{comment_id}",
        messages=(
            _("Ta uwaga została już dodana."),
            _(
                "Uwaga dodana. Pokaże się publicznie, gdy potwierdzisz adres e-mail i sprawdzi ją moderator."
            ),
            _("Uwaga dodana. Dziękujemy!"),
        ),
    )


def _comment_error(exc: Invalid, consultation_id: int, form: dict[str, Any]):
    err = pw.form_error(exc)
    if pw.wants_json():
        return form_error_json(err)
    errors = err.messages()
    if form.get("reply_to"):
        # the reply form sits under its comment; show the message there
        errors = {f"reply-{form['reply_to']}": " ".join(errors.values())}
        form = {"form_key": uuid.uuid4().hex, "place": "whole"}
    return _detail_page(consultation_id, form, errors, err.status)


@bp.post("/consultations/comments/<int:comment_id>/support")
@login_required
@rate_limit("support", limit=60, per=60)
def support(comment_id: int):
    user = current_user()
    assert user is not None
    action = request.form.get("action") if request.mimetype != "application/json" else None
    try:
        with engine().begin() as conn:
            supported, new, total, consultation_id = pc.set_support(
                conn, user, comment_id, withdraw=action == "withdraw"
            )
    except Invalid as exc:
        raise pw.api_error(exc) from None
    if request.is_json or pw.wants_json():
        return jsonify(
            {"supported": supported, "new": new, "supports": total, "label": supports_label(total)}
        )
    flash(_("Poparłeś(-aś) tę uwagę.") if supported else _("Wycofano poparcie."))
    return redirect(
        url_for(".detail", consultation_id=consultation_id) + f"#comment-{comment_id}", code=303
    )


def _browse_args() -> pc.CommentBrowse:
    args = request.args
    b = pc.CommentBrowse(
        consultation=args.get("consultation", type=int),
        district=args.get("district", type=int),
        sort=args.get("sort") or "newest",
        q=(args.get("q") or "").strip(),
        page=args.get("page", default=1, type=int) or 1,
    )
    for name, value in (("consultation", b.consultation), ("district", b.district)):
        if args.get(name) and value is None:
            abort(400, description=_("Parametr „%(name)s”: podaj liczbę.", name=name))
    try:
        return pc.check_browse(b)
    except Invalid as exc:
        abort(400, description=pw.form_error(exc).messages()[next(iter(exc.errors))])


@bp.get("/comments")
def browse_comments():
    b = _browse_args()
    with engine().connect() as conn:
        items, has_more = pc.list_comments(conn, b)
        consultations = pc.consultation_choices(conn)
        districts = gd.list_districts(conn)
        bounds = gd.city_bounds(conn)
    keep = {k: v for k, v in request.args.items() if k != "page" and v}
    map_url = url_for(".api_browse_comments", **{k: v for k, v in keep.items() if k != "sort"})
    features = {
        "kind": "participation-features",
        "what": "comments",
        "url": map_url,
        "labels": pw.map_labels(),
    }
    return render_template(
        "consult/comments.html",
        items=items,
        consultations=consultations,
        districts=districts,
        consultation=b.consultation,
        district=b.district,
        sort=b.sort,
        q=b.q,
        fmap=pw.participation_map([features], bounds),
        supports_label=supports_label,
        prev_url=url_for(".browse_comments", **keep, page=b.page - 1) if b.page > 1 else None,
        next_url=url_for(".browse_comments", **keep, page=b.page + 1) if has_more else None,
        sorts=[
            ("newest", _("najnowsze")),
            ("oldest", _("najstarsze")),
            ("supports", _("najwięcej poparć")),
        ],
    )


@bp.get("/api/comments")
def api_browse_comments():
    with engine().connect() as conn:
        body = pc.published_geojson(
            conn,
            _link(".comment", comment_id=0),
            request.args.get("consultation", type=int),
            request.args.get("district", type=int),
        )
    return Response(body, mimetype="application/geo+json")
