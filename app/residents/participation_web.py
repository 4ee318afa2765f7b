"""What the propose and consult pages share on the web side: the domain's field errors in the
reader's language, the participation map, and how a client asks for JSON."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from app.errors import ApiError
from app.forms import FormError
from app.views import choice_title, lang, page_map
from civic.participation.errors import Msg


def format_pln(value: Decimal | float | int | None) -> str:
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.##", locale=lang()) + " zł"


def supporters_label(n: int) -> str:
    return ngettext("Popiera %(num)d osoba", "Popiera %(num)d osób", n)


def _param(value: Any) -> Any:
    if isinstance(value, Msg):
        return tr(value)
    if isinstance(value, Decimal):
        return format_pln(value)
    if isinstance(value, date):
        return format_date(value, format="d MMMM y", locale=lang())
    return value


def tr(msg: Msg | str, params: dict[str, Any] | None = None) -> str:
    """A domain message (msgid + parameters, nested ones too) in the reader's language."""
    if isinstance(msg, Msg) and params is None:
        msg, params = msg.msgid, msg.params
    values = {k: _param(v) for k, v in (params or {}).items()}
    return _(str(msg), **values) if values else _(str(msg))


def form_error(exc: Any) -> FormError:
    """civic's Invalid (field -> (code, msgid, params)) as the web's FormError."""
    if isinstance(exc, FormError):
        return exc
    return FormError(
        {f: (code, tr(msgid, params)) for f, (code, msgid, params) in exc.errors.items()},
        status=exc.status,
    )


def api_error(exc: Any) -> ApiError:
    """civic's Invalid as an API error: the first field, its code and message."""
    field, (code, msgid, params) = next(iter(exc.errors.items()))
    return ApiError(exc.status, code, tr(msgid, params), field)


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def map_labels() -> dict[str, str]:
    return {
        "open": _("Otwórz"),
        "supports": _("Poparcia"),
        "whole_district": _("cała dzielnica"),
        "loaded": _("Na mapie: %(n)s"),
    }


def participation_map(specs: list[dict[str, Any]], bounds):
    """A participation page's map (propose, proposals, consultations): the district outlines
    under ``specs``."""
    districts = {
        "kind": "participation-districts",
        "url": url_for("api.districts", simplify=0.00005),
    }
    return page_map([districts, *specs], bounds)


def draw_spec(form: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The drawing tool of a form, showing again what was drawn (``form["geometry"]``)."""
    import json

    initial = None
    if form.get("geometry"):
        try:
            initial = json.loads(form["geometry"], parse_constant=lambda c: None)
        except (ValueError, RecursionError):  # shown again only if it can be (issue 14.6)
            initial = None
    return {
        "kind": "participation-draw",
        "input": "geometry",
        "initial": initial if isinstance(initial, dict) else None,
        "types": ["Point", "LineString", "Polygon"],
        **extra,
    }


def check_form_type(message: str) -> None:
    """A form post only (415 naming Content-Type otherwise)."""
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ApiError(
            415,
            "unsupported_media_type",
            message % {"type": request.mimetype or "—"},
            "Content-Type",
        )


# --------------------------------------------------------------------------- proposals' pages


def category_title(value: str | None) -> str:
    from civic.participation import proposals as pp

    return choice_title(pp.form_field("category"), value, lang()) if value else ""


def status_title(value: str | None) -> str:
    from civic.participation import proposals as pp

    return choice_title(pp.form_field("status"), value, lang()) if value else ""


def categories() -> list[tuple[str, str]]:
    from civic.participation import proposals as pp

    return sorted(
        ((k, category_title(k)) for k in pp.form_field("category").choices), key=lambda kv: kv[1]
    )


def list_map(
    data_url: str, bounds=None, focus: dict[str, Any] | None = None, extra: list | None = None
):
    """The proposals' map (the list's, or one proposal's with ``focus``), ``extra`` specs on
    top (a staff member's constraint layers)."""
    if bounds is None:
        from app import engine
        from geo import districts as gd

        with engine().connect() as conn:
            bounds = gd.city_bounds(conn)
    features = {
        "kind": "participation-features",
        "url": data_url,
        "what": "proposals",
        "focus": focus,
        "labels": map_labels(),
    }
    return participation_map([features, *(extra or [])], bounds)


def proposals_map(params: dict[str, Any], extra: list | None = None):
    """The /proposals map: the budget layer's vector tiles with the list's filters (every
    proposal with a place, exact clusters; app/views.py map_spec), ``extra`` specs on top."""
    from app import engine
    from app.views import map_spec
    from civic.participation import proposals as pp
    from geo import districts as gd

    with engine().connect() as conn:
        bounds = gd.city_bounds(conn)
    return participation_map([map_spec(pp.layer(), params=params), *(extra or [])], bounds)


def labels() -> dict[str, Any]:
    """The title helpers the proposals' templates use."""
    return {
        "category_title": category_title,
        "status_title": status_title,
        "format_pln": format_pln,
        "supporters_label": supporters_label,
    }


def comment_added(
    comment_id: int,
    duplicate: bool,
    pending: bool,
    *,
    json_url: str,
    page_url: str,
    messages: tuple[str, str, str],
):
    """The answer to a new comment (a consultation's or a proposal's): JSON with its status
    and address, or back to its place on the page with ``messages`` (already added, waiting
    for moderation, published) flashed."""
    if wants_json():
        status = "pending" if pending else "published"
        return jsonify({"id": comment_id, "status": status, "url": json_url}), (
            200 if duplicate else 201
        )
    flash(messages[0] if duplicate else messages[1] if pending else messages[2])
    return redirect(page_url, code=303)
