"""Budget proposals by residents: the /propose form, browsing, permalinks and supports.

* ``/propose`` (login): draw a point, line or polygon (Leaflet-Geoman), or pick an address
  from the gazetteer, or choose "cała dzielnica" / "ogólnomiejski". The district is computed
  from the geometry (shown live through ``POST /api/geometry/districts``; stored by the
  table trigger), never typed. "Zapisz szkic" keeps a draft; "Złóż projekt" submits it.
  Every form carries a ``form_key``: the row's external_id is ``web:<form_key>`` and the
  write is an upsert on it, so a double submit leaves one row.
* ``/proposals`` (list + map, filters, sort, title search), ``/proposals/<id>`` (permalink),
  ``POST /proposals/<id>/support`` (one support per person: a primary key + ON CONFLICT).
* ``/account/contributions``: the signed-in resident's proposals (drafts too), comments and
  supports.
* ``/uploads/<name>``: proposal photos, re-encoded by Pillow without EXIF/GPS.

Cost limits per edition and scope come from data/krakow/budget-limits.json (Kraków's
published per-project minimum and maximum; see that file's source) — ``BUDGET_LIMITS``
and ``BO_EDITION`` in the app config override the file and the edition.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import warnings
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from app import engine
from app.auth import (
    FormError,
    User,
    current_user,
    district_choices,
    field_error,
    form_error_json,
    is_author_or_staff,
    login_required,
)
from app.errors import ApiError
from app.layer_pages import page_map
from app.moderation import announce, hold_for_moderation, needs_moderation
from app.security import json_body, rate_limit
from civic.audit import record_audit
from geo import districts as gd
from geo.config import DATA_DIR, VAR_DIR
from geo.validate import GeometryError, check_size, districts_for, parse_geometry
from layers import query as lq
from layers import registry
from layers.budget_proposals import CATEGORY_TITLES, STATE_TITLES

bp = Blueprint("proposals", __name__)

TITLE_MAX = 60  # Kraków's BO form: "Tytuł projektu (max. 60 znaków)"
DESCRIPTION_MAX = 10_000
ADDRESS_MAX = 300
PHOTO_MAX = 5 * 1024 * 1024
BODY_MAX = PHOTO_MAX + 1024 * 1024  # the photo plus the form's text fields
PHOTO_PIXELS_MAX = 40_000_000  # refuse decompression bombs before decoding them
PHOTO_SIDE = 2560  # longest side kept
PAGE_SIZE = 20
MAP_LIMIT = 2000
LOCATIONS = ("map", "address", "district", "city")
SCOPES = ("district", "citywide")
_SUPPORTS = "(SELECT count(*) FROM proposal_supports s WHERE s.proposal_id = t.id)"
SORTS = {
    "newest": "t.id DESC",
    "oldest": "t.id ASC",
    "supports": f"{_SUPPORTS} DESC, t.id DESC",
    "cost_desc": "t.cost DESC NULLS LAST, t.id DESC",
    "cost_asc": "t.cost ASC NULLS LAST, t.id DESC",
    "title": "t.title, t.id",
}
_FORM_KEY = re.compile(r"^[0-9a-f]{32}$")
_PHOTO_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def layer():
    found = registry.get("budget-proposals")
    assert found is not None
    return found


def lang() -> str:
    loc = get_locale()
    code = str(loc.language) if loc else "pl"
    return code if code in ("pl", "en", "uk") else "pl"


def category_title(value: str | None) -> str:
    titles = CATEGORY_TITLES.get(value or "")
    return (titles.get(lang()) or titles["pl"]) if titles else (value or "")


def status_title(value: str | None) -> str:
    titles = STATE_TITLES.get(value or "")
    return (titles.get(lang()) or titles["pl"]) if titles else (value or "")


def supporters_label(n: int) -> str:
    return ngettext("Popiera %(num)d osoba", "Popiera %(num)d osób", n)


# --------------------------------------------------------------------------- cost limits


@lru_cache(maxsize=4)
def _limits_file(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def budget_rules() -> dict[str, Any]:
    rules = current_app.config.get("BUDGET_LIMITS")
    if isinstance(rules, dict):
        return rules
    path = current_app.config.get("BUDGET_LIMITS_FILE") or str(
        DATA_DIR / current_app.extensions["city"].slug / "budget-limits.json"
    )
    try:
        return _limits_file(str(path))
    except OSError:
        return {"editions": {}}


def current_edition() -> int:
    configured = current_app.config.get("BO_EDITION")
    if configured:
        return int(configured)
    editions = [int(e) for e in budget_rules().get("editions", {})]
    if editions:
        return max(editions)
    from datetime import date

    return date.today().year


@dataclass(frozen=True)
class CostLimits:
    low: Decimal
    high: Decimal


def cost_limits(edition: int, scope: str, district: int | None) -> CostLimits | None:
    """The edition's per-project limits for a scope (and district); None if unknown."""
    rules = budget_rules().get("editions", {}).get(str(edition))
    if not rules:
        return None
    if scope == "citywide":
        c = rules.get("citywide") or {}
        if "min" in c and "max" in c:
            return CostLimits(Decimal(str(c["min"])), Decimal(str(c["max"])))
        return None
    d = rules.get("district") or {}
    if district is None or "min" not in d:
        return None
    high = (d.get("max") or {}).get(str(district))
    if high is None and d.get("max_share_of_pool") and (d.get("pools") or {}).get(str(district)):
        high = round(
            Decimal(str(d["pools"][str(district)])) * Decimal(str(d["max_share_of_pool"])), 2
        )
    if high is None:
        return None
    return CostLimits(Decimal(str(d["min"])), Decimal(str(high)))


def limits_for_page(edition: int) -> dict[str, Any]:
    """Limits the form's script shows next to the cost field (the server checks again)."""
    out: dict[str, Any] = {"citywide": None, "district": {}}
    c = cost_limits(edition, "citywide", None)
    if c:
        out["citywide"] = [float(c.low), float(c.high)]
    for n in range(1, 100):
        d = cost_limits(edition, "district", n)
        if d:
            out["district"][str(n)] = [float(d.low), float(d.high)]
    return out


def format_pln(value: Decimal | float | int | None) -> str:
    if value is None:
        return ""
    from babel.numbers import format_decimal

    return format_decimal(value, format="#,##0.##", locale=lang()) + " zł"


# --------------------------------------------------------------------------- form parsing


def db_error(exc: DBAPIError) -> FormError | None:
    """Our triggers' SQLSTATEs and CHECK constraints -> an error on the right form field."""
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None) or ""
    if state == "CV001":
        return field_error(
            "geometry",
            "outside_city",
            _("Pole „Lokalizacja”: to miejsce leży poza granicami miasta."),
        )
    if state == "CV002":
        return field_error(
            "geometry", "outside_area", _("Pole „Miejsce”: uwaga leży poza obszarem konsultacji.")
        )
    if state == "CV003":
        return field_error(
            "consultation",
            "closed",
            _("Konsultacje nie przyjmują teraz uwag (są zamknięte lub jeszcze się nie zaczęły)."),
            status=409,
        )
    if state == "CV004":
        return field_error("consultation", "not_found", _("Nie ma takich konsultacji."), status=404)
    if state == "23514":  # check_violation
        for key, name in (
            ("geom", "geometry"),
            ("title", "title"),
            ("body", "body"),
            ("cost", "cost"),
            ("description", "description"),
            ("located", "location"),
            ("address", "address"),
            ("photo", "photo"),
        ):
            if key in constraint:
                return field_error(
                    name, "invalid", _("Pole „%(field)s” ma niedozwoloną wartość.", field=name)
                )
    if state == "23503" and "reply_to" in constraint:
        return field_error("reply_to", "not_found", _("Nie ma komentarza, na który odpowiadasz."))
    return None


def geometry_message(exc: GeometryError) -> str:
    """The reason in the reader's language (geo/validate.py speaks Polish and has no Babel)."""
    from geo.validate import MAX_VERTICES

    messages = {
        "required": _("wskaż miejsce na mapie."),
        "not_finite": _("współrzędne muszą być liczbami skończonymi (bez NaN i nieskończoności)."),
        "invalid_coordinate": _("współrzędne muszą być liczbami."),
        "invalid_position": _("każdy punkt musi mieć dwie współrzędne [długość, szerokość]."),
        "out_of_range": _("współrzędne są poza zakresem długości i szerokości geograficznej."),
        "invalid_json": _("to nie jest poprawny GeoJSON."),
        "invalid_geojson": _("to nie jest poprawny GeoJSON."),
        "invalid_coordinates": _("to nie jest poprawny GeoJSON."),
        "too_large": _("kształt jest za duży — uprość go."),
        "too_many_vertices": _(
            "kształt ma więcej niż %(n)d wierzchołków — uprość go.", n=MAX_VERTICES
        ),
        "invalid_type": _("dozwolone są punkt, linia i wielokąt."),
        "type_not_allowed": _("ten rodzaj kształtu nie jest tu dozwolony."),
        "unclosed_ring": _("obwód wielokąta nie jest zamknięty."),
        "self_intersection": _("kształt przecina sam siebie — popraw go."),
        "degenerate": _("kształt jest zdegenerowany (zerowa długość lub powierzchnia)."),
        "invalid_polygon": _("wielokąt jest niepoprawny."),
        "outside_city": _("to miejsce leży poza granicami miasta."),
    }
    return messages.get(exc.code, exc.message)


def clean_text(raw: Any, name: str, label: str, max_len: int, required: bool) -> str:
    value = raw if isinstance(raw, str) else ""
    value = value.replace("\r\n", "\n").strip()
    if _CONTROL.search(value):
        raise field_error(
            name, "invalid", _("Pole „%(label)s” zawiera znaki sterujące.", label=label)
        )
    if required and not value:
        raise field_error(name, "required", _("Pole „%(label)s” jest wymagane.", label=label))
    if len(value) > max_len:
        raise field_error(
            name,
            "too_long",
            _(
                "Pole „%(label)s” może mieć najwyżej %(n)d znaków (jest %(got)d).",
                label=label,
                n=max_len,
                got=len(value),
            ),
        )
    return value


_COST = re.compile(r"^\d{1,12}(\.\d{1,2})?$")


def parse_cost(raw: Any, required: bool) -> Decimal | None:
    value = raw if isinstance(raw, str) else ""
    value = value.replace("\u00a0", "").replace(" ", "").replace("zł", "").replace(",", ".").strip()
    if not value:
        if required:
            raise field_error("cost", "required", _("Pole „Szacowany koszt” jest wymagane."))
        return None
    if not _COST.match(value):
        raise field_error(
            "cost",
            "invalid",
            _("Pole „Szacowany koszt”: podaj kwotę w złotych, np. 125000 albo 125 000,50."),
        )
    try:
        return Decimal(value)
    except InvalidOperation:
        raise field_error(
            "cost", "invalid", _("Pole „Szacowany koszt”: to nie jest kwota.")
        ) from None


@dataclass
class Location:
    mode: str
    geom: Any = None  # shapely geometry
    districts: list[dict[str, Any]] = field(default_factory=list)
    address: str | None = None

    @property
    def district_numbers(self) -> list[int]:
        return [d["number"] for d in self.districts]


def parse_location(conn: Connection, form: dict[str, Any], scope: str) -> Location:
    mode = form.get("location")
    if mode not in LOCATIONS:
        raise field_error(
            "location", "required", _("Pole „Lokalizacja”: wybierz, jak wskazać miejsce projektu.")
        )
    if mode == "city":
        if scope != "citywide":
            raise field_error(
                "location",
                "scope_mismatch",
                _("Pole „Lokalizacja”: „całe miasto” pasuje tylko do projektu ogólnomiejskiego."),
            )
        return Location(mode)
    if mode == "district":
        if scope != "district":
            raise field_error(
                "location",
                "scope_mismatch",
                _("Pole „Lokalizacja”: „cała dzielnica” pasuje tylko do projektu dzielnicowego."),
            )
        try:
            number = int(form.get("district") or "")
        except ValueError:
            number = 0
        d = gd.get_district(conn, number) if 0 < number < 100 else None
        if d is None:
            raise field_error(
                "district", "required", _("Pole „Dzielnica”: wybierz dzielnicę z listy.")
            )
        return Location(mode, districts=[{k: d[k] for k in ("number", "name", "full_name")}])
    raw = form.get("geometry") or ""
    if not raw.strip():
        msg = (
            _("Pole „Adres”: wpisz adres i wybierz podpowiedź z listy.")
            if mode == "address"
            else _("Pole „Lokalizacja”: narysuj punkt, linię albo obszar na mapie.")
        )
        raise field_error("address" if mode == "address" else "geometry", "required", msg)
    types = ("Point",) if mode == "address" else ("Point", "LineString", "Polygon")
    try:
        geom = parse_geometry(raw, allowed_types=types)
        check_size(conn, geom)
        found = districts_for(conn, geom)
    except GeometryError as exc:
        raise field_error(
            "geometry", exc.code, _("Pole „Lokalizacja”: %(why)s", why=geometry_message(exc))
        ) from None
    address = None
    if mode == "address":
        address = (
            clean_text(form.get("address"), "address", _("Adres"), ADDRESS_MAX, required=False)
            or None
        )
    if scope == "district" and len(found) > 1:
        names = ", ".join(d["full_name"] for d in found)
        raise field_error(
            "geometry",
            "several_districts",
            _(
                "Pole „Lokalizacja”: miejsce leży w kilku dzielnicach (%(names)s). Projekt "
                "dzielnicowy musi leżeć w jednej — zmniejsz obszar albo wybierz projekt ogólnomiejski.",
                names=names,
            ),
        )
    return Location(mode, geom=geom, districts=found, address=address)


@dataclass
class ProposalInput:
    form_key: str
    action: str
    title: str
    description: str
    category: str | None
    cost: Decimal | None
    scope: str
    location: Location
    remove_photo: bool


def parse_proposal(conn: Connection, form: dict[str, Any], edition: int) -> ProposalInput:
    """Check every field and report all problems at once (FormError with several fields)."""
    errors: dict[str, tuple[str, str]] = {}

    def attempt(fn, default=None):
        try:
            return fn()
        except FormError as exc:
            for k, v in exc.errors.items():
                errors.setdefault(k, v)
            return default

    form_key = str(form.get("form_key") or "")
    if not _FORM_KEY.match(form_key):
        raise field_error(
            "form_key", "invalid", _("Formularz wygasł lub jest niepełny — otwórz go ponownie.")
        )
    action = form.get("action") if form.get("action") in ("draft", "submit") else "submit"
    final = action == "submit"
    scope = form.get("scope") if form.get("scope") in SCOPES else None
    if scope is None:
        errors["scope"] = (
            "required",
            _("Pole „Rodzaj projektu”: wybierz dzielnicowy albo ogólnomiejski."),
        )
        scope = "district"
    title = attempt(lambda: clean_text(form.get("title"), "title", _("Tytuł"), TITLE_MAX, True), "")
    description = attempt(
        lambda: clean_text(
            form.get("description"), "description", _("Opis"), DESCRIPTION_MAX, final
        ),
        "",
    )
    category = form.get("category") or None
    if category is not None and category not in CATEGORY_TITLES:
        errors["category"] = ("invalid", _("Pole „Kategoria”: wybierz kategorię z listy."))
    elif final and category is None:
        errors["category"] = ("required", _("Pole „Kategoria” jest wymagane."))
    cost = attempt(lambda: parse_cost(form.get("cost"), final))
    location = attempt(lambda: parse_location(conn, form, scope))
    if cost is not None and location is not None and "scope" not in errors:
        district = location.district_numbers[0] if len(location.district_numbers) == 1 else None
        limits = cost_limits(edition, scope, district)
        if limits and final and not limits.low <= cost <= limits.high:
            where = (
                _("projektu ogólnomiejskiego")
                if scope == "citywide"
                else _("projektu w tej dzielnicy")
            )
            errors["cost"] = (
                "out_of_limits",
                _(
                    "Pole „Szacowany koszt”: koszt %(where)s musi wynosić od %(low)s do %(high)s.",
                    where=where,
                    low=format_pln(limits.low),
                    high=format_pln(limits.high),
                ),
            )
    if errors:
        raise FormError(errors)
    assert location is not None
    return ProposalInput(
        form_key=form_key,
        action=action,
        title=title,
        description=description,
        category=category,
        cost=cost,
        scope=scope,
        location=location,
        remove_photo=form.get("remove_photo") in ("1", "on", "true"),
    )


# --------------------------------------------------------------------------- photos


def upload_dir() -> Path:
    return Path(current_app.config.get("UPLOAD_DIR") or VAR_DIR / "uploads")


def save_photo(storage: FileStorage | None) -> str | None:
    """Re-encode an uploaded JPEG/PNG without metadata; return the stored file name."""
    if storage is None or not storage.filename:
        return None
    from PIL import Image, ImageOps, UnidentifiedImageError

    data = storage.stream.read(PHOTO_MAX + 1)
    if len(data) > PHOTO_MAX:
        raise field_error(
            "photo", "too_large", _("Pole „Zdjęcie”: plik może mieć najwyżej 5 MB."), status=413
        )
    if not data:
        raise field_error("photo", "empty", _("Pole „Zdjęcie”: plik jest pusty."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in ("JPEG", "PNG"):
                raise field_error(
                    "photo", "wrong_type", _("Pole „Zdjęcie”: dozwolone są tylko pliki JPEG i PNG.")
                )
            if img.width * img.height > PHOTO_PIXELS_MAX:
                raise field_error(
                    "photo", "too_many_pixels", _("Pole „Zdjęcie”: obraz ma za dużo pikseli.")
                )
            fmt = img.format
            img.load()
            img = ImageOps.exif_transpose(img)  # keep the picture upright, then drop EXIF
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise field_error(
            "photo",
            "unreadable",
            _("Pole „Zdjęcie”: plik nie jest poprawnym obrazem JPEG ani PNG."),
        ) from None
    img.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    if fmt == "PNG":
        clean = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
        ext, kwargs = "png", {"optimize": True}
    else:
        clean = img.convert("RGB")
        ext, kwargs = "jpg", {"quality": 85, "optimize": True}
    clean.info = {}  # no EXIF, GPS, XMP, ICC or text chunks travel on
    out = io.BytesIO()
    clean.save(out, "PNG" if ext == "png" else "JPEG", **kwargs)
    name = f"{uuid.uuid4().hex}.{ext}"
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(out.getvalue())
    return name


def drop_photo(name: str | None) -> None:
    if name and _PHOTO_NAME.match(name):
        (upload_dir() / name).unlink(missing_ok=True)


@bp.get("/uploads/<name>")
def photo(name: str):
    if not _PHOTO_NAME.match(name):
        abort(404)
    with engine().connect() as conn:
        row = conn.execute(
            text("SELECT id, author_id, status, hidden_at FROM budget_proposals WHERE photo = :p"),
            {"p": name},
        ).first()
    if row is None or not _may_see(row.author_id, row.status, row.hidden_at):
        abort(404)
    resp = send_from_directory(upload_dir(), name, max_age=3600)
    resp.headers["Content-Security-Policy"] = "default-src 'none'"
    if not is_public(row.status, row.hidden_at):  # a draft's photo: never in a shared cache
        resp.headers["Cache-Control"] = "private, no-store"
    return resp


# --------------------------------------------------------------------------- visibility


def is_public(status: str, hidden_at: Any) -> bool:
    wf = layer().workflow
    return hidden_at is None and wf is not None and status in wf.public_states


def _may_see(author_id: int | None, status: str, hidden_at: Any) -> bool:
    if is_public(status, hidden_at):
        return True
    return is_author_or_staff(current_user(), author_id)


# --------------------------------------------------------------------------- the form


def participation_map(specs: list[dict[str, Any]], bounds):
    """A participation page's map (propose, proposals, consultations): the district outlines
    under ``specs``."""
    districts = {
        "kind": "participation-districts",
        "url": url_for("api.districts", simplify=0.00005),
    }
    return page_map([districts, *specs], bounds)


def _propose_map(initial: dict[str, Any] | None):
    with engine().connect() as conn:
        bounds = gd.city_bounds(conn)
    draw = {
        "kind": "participation-draw",
        "input": "geometry",
        "initial": initial,
        "types": ["Point", "LineString", "Polygon"],
        "lang": lang(),
    }
    return participation_map([draw], bounds)


def _render_form(
    form: dict[str, Any], errors: dict[str, str], status: int = 200, draft_id: int | None = None
):
    edition = current_edition()
    initial = None
    if form.get("geometry"):
        try:
            initial = json.loads(form["geometry"], parse_constant=lambda c: None)
        except ValueError:
            initial = None
    with engine().connect() as conn:
        districts = district_choices(conn)
    categories = [(key, category_title(key)) for key in CATEGORY_TITLES]
    categories.sort(key=lambda kv: kv[1])
    body = render_template(
        "propose/form.html",
        form=form,
        errors=errors,
        districts=districts,
        categories=categories,
        edition=edition,
        limits=limits_for_page(edition),
        title_max=TITLE_MAX,
        fmap=_propose_map(initial if isinstance(initial, dict) else None),
        draft_id=draft_id,
        format_pln=format_pln,
    )
    return body, status


def _errors_response(exc: FormError, form: dict[str, Any], draft_id: int | None = None):
    if _wants_json():
        return form_error_json(exc)
    return _render_form(form, exc.messages(), exc.status, draft_id)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _draft_form(conn: Connection, user: User, draft_id: int) -> dict[str, Any]:
    row = conn.execute(
        text(
            """SELECT id, external_id, title, description, category, cost, scope, address, photo,
                      districts, ST_AsGeoJSON(geom, 7) AS geometry, status, author_id
               FROM budget_proposals WHERE id = :id"""
        ),
        {"id": draft_id},
    ).first()
    if row is None or row.author_id != user.id:
        abort(404)
    if row.status != "draft":
        abort(409, description=_("Ten projekt został już złożony i nie można go edytować."))
    key = (row.external_id or "").removeprefix("web:")
    if not _FORM_KEY.match(key):
        key = uuid.uuid4().hex
    if row.geometry:
        mode = "address" if row.address else "map"
    else:
        mode = "city" if row.scope == "citywide" else "district"
    return {
        "form_key": key,
        "title": row.title,
        "description": row.description or "",
        "category": row.category or "",
        "cost": format(row.cost.normalize(), "f") if row.cost is not None else "",
        "scope": row.scope,
        "location": mode,
        "district": str(row.districts[0]) if mode == "district" and row.districts else "",
        "geometry": row.geometry or "",
        "address": row.address or "",
        "photo": row.photo,
    }


@bp.get("/propose")
@login_required
def propose():
    user = current_user()
    assert user is not None
    draft = request.args.get("draft", type=int)
    if draft:
        with engine().connect() as conn:
            form = _draft_form(conn, user, draft)
        return _render_form(form, {}, draft_id=draft)
    return _render_form({"form_key": uuid.uuid4().hex, "scope": "district", "location": "map"}, {})


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


@bp.post("/propose")
@_allow_large_body
@login_required
@rate_limit("post", limit=30, per=600)
def propose_post():
    user = current_user()
    assert user is not None
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ApiError(
            415,
            "unsupported_media_type",
            _(
                "Nieobsługiwany typ treści %(type)s: wyślij formularz (multipart/form-data).",
                type=request.mimetype or "—",
            ),
            "Content-Type",
        )
    try:
        form = request.form.to_dict()
        upload = request.files.get("photo")
    except RequestEntityTooLarge:
        raise ApiError(
            413, "too_large", _("Pole „Zdjęcie”: plik może mieć najwyżej 5 MB."), "photo"
        ) from None
    draft_id = request.args.get("draft", type=int)
    edition = current_edition()
    photo_name = None
    try:
        with engine().connect() as conn:
            data = parse_proposal(conn, form, edition)
        photo_name = save_photo(upload)
        with engine().begin() as conn:
            result = _store(conn, user, data, edition, photo_name)
    except FormError as exc:
        drop_photo(photo_name)
        return _errors_response(exc, form, draft_id)
    except DBAPIError as exc:
        drop_photo(photo_name)
        mapped = db_error(exc)
        if mapped is None:
            raise
        return _errors_response(mapped, form, draft_id)
    proposal_id, status, duplicate, old_photo = result
    if duplicate:
        drop_photo(photo_name)
    elif old_photo and old_photo != photo_name:
        drop_photo(old_photo)
    if _wants_json():
        return jsonify(
            {
                "id": proposal_id,
                "status": status,
                "url": url_for(".detail", proposal_id=proposal_id),
            }
        ), (200 if duplicate else 201)
    if status == "draft":
        flash(_("Szkic zapisany. Możesz do niego wrócić w „Moich wpisach”."))
        return redirect(url_for(".propose", draft=proposal_id), code=303)
    if duplicate:
        flash(_("Ten projekt został już złożony."))
    elif needs_moderation(user):
        flash(
            _(
                "Projekt złożony. Pokaże się publicznie, gdy potwierdzisz adres e-mail i sprawdzi go moderator."
            )
        )
    else:
        flash(_("Projekt złożony. Dziękujemy!"))
    return redirect(url_for(".detail", proposal_id=proposal_id), code=303)


def _store(conn: Connection, user: User, data: ProposalInput, edition: int, photo_name: str | None):
    """Upsert on external_id 'web:<form_key>': a second submit of the same form is a no-op.

    Returns (id, status, duplicate, replaced_photo)."""
    loc = data.location
    status = "submitted" if data.action == "submit" else "draft"
    previous = conn.execute(
        text(
            "SELECT id, author_id, status, photo FROM budget_proposals WHERE external_id = :e FOR UPDATE"
        ),
        {"e": f"web:{data.form_key}"},
    ).first()
    if previous is not None and previous.author_id != user.id:
        raise field_error(
            "form_key",
            "conflict",
            _("Ten formularz należy do kogoś innego — otwórz nowy."),
            status=409,
        )
    if previous is not None and previous.status != "draft":
        return previous.id, previous.status, True, None
    keep_photo = previous.photo if previous is not None and not data.remove_photo else None
    params = {
        "eid": f"web:{data.form_key}",
        "edition": edition,
        "title": data.title,
        "description": data.description or None,
        "category": data.category,
        "cost": data.cost,
        "scope": data.scope,
        "status": status,
        "wkt": loc.geom.wkt if loc.geom is not None else None,
        "districts": loc.district_numbers if loc.geom is None else [],
        "author": user.id,
        "photo": photo_name or keep_photo,
        "address": loc.address,
    }
    row = conn.execute(
        text(
            """
            INSERT INTO budget_proposals AS p
                (external_id, edition, title, description, category, cost, scope, status, geom,
                 districts, author_id, source, photo, address)
            VALUES (:eid, :edition, :title, :description, :category, :cost, :scope, :status,
                    ST_GeomFromText(CAST(:wkt AS text), 4326), CAST(:districts AS smallint[]),
                    :author, 'web', :photo, :address)
            ON CONFLICT (external_id) DO UPDATE SET
                title = EXCLUDED.title, description = EXCLUDED.description,
                category = EXCLUDED.category, cost = EXCLUDED.cost, scope = EXCLUDED.scope,
                status = EXCLUDED.status, geom = EXCLUDED.geom, districts = EXCLUDED.districts,
                photo = EXCLUDED.photo, address = EXCLUDED.address
            WHERE p.author_id = EXCLUDED.author_id AND p.status = 'draft'
            RETURNING id, status
            """
        ),
        params,
    ).first()
    if row is None:  # a parallel submit of the same form won the race
        again = conn.execute(
            text("SELECT id, status FROM budget_proposals WHERE external_id = :e"),
            {"e": params["eid"]},
        ).one()
        return again.id, again.status, True, None
    record_audit(
        conn,
        user.id,
        f"proposal.{'submit' if status == 'submitted' else 'draft'}",
        "budget_proposals",
        row.id,
    )
    pending = status == "submitted" and needs_moderation(user)
    if pending:
        hold_for_moderation(conn, "budget_proposals", row.id)
    # the councils hear of it (notify_council skips drafts and held items)
    announce(conn, user.id, "budget_proposals", row.id, data.title, pending=pending)
    replaced = (
        previous.photo if previous is not None and previous.photo != params["photo"] else None
    )
    return row.id, row.status, False, replaced


# --------------------------------------------------------------------------- geometry API


@bp.post("/api/geometry/districts")
@rate_limit("geometry", limit=120, per=60)
def geometry_districts():
    """The districts a drawn geometry lies in (the propose form shows them while drawing)."""
    body = json_body("geometry")
    geometry = body.get("geometry", body if "type" in body else None)
    if geometry is None:
        raise ApiError(400, "required", _("Pole „geometry” jest wymagane."), "geometry")
    try:
        geom = parse_geometry(geometry)
        with engine().connect() as conn:
            check_size(conn, geom)
            found = districts_for(conn, geom)
    except GeometryError as exc:
        raise ApiError(
            400, exc.code, _("Pole „geometry”: %(why)s", why=geometry_message(exc)), "geometry"
        ) from None
    return jsonify({"districts": found, "type": geom.geom_type})


# --------------------------------------------------------------------------- browsing


@dataclass
class Browse:
    district: int | None = None
    category: str | None = None
    status: str | None = None
    edition: int | None = None
    q: str | None = None
    sort: str = "newest"
    page: int = 1


def browse_args() -> Browse:
    """Filters from the query string; a wrong value is a 400 naming the parameter."""
    args = request.args
    b = Browse()

    def bad(name: str, why: str):
        if request.path.startswith("/api/"):
            raise ApiError(400, "invalid_parameter", f"parameter '{name}': {why}", name)
        abort(400, description=_("Parametr „%(name)s”: %(why)s", name=name, why=why))

    if args.get("district"):
        try:
            b.district = int(args["district"])
        except ValueError:
            bad("district", _("podaj numer dzielnicy"))
        if not 1 <= (b.district or 0) <= 99:
            bad("district", _("podaj numer dzielnicy"))
    if args.get("category"):
        if args["category"] not in CATEGORY_TITLES:
            bad("category", _("nieznana kategoria"))
        b.category = args["category"]
    if args.get("status"):
        wf = layer().workflow
        if wf is None or args["status"] not in wf.public_states:
            bad("status", _("nieznany status"))
        b.status = args["status"]
    if args.get("edition"):
        try:
            b.edition = int(args["edition"])
        except ValueError:
            bad("edition", _("podaj rok edycji"))
        if not 2013 <= (b.edition or 0) <= 2100:
            bad("edition", _("podaj rok edycji"))
    q = (args.get("q") or "").strip()
    if len(q) > 100:
        bad("q", _("najwyżej 100 znaków"))
    b.q = q or None
    sort = args.get("sort") or "newest"
    if sort not in SORTS:
        bad("sort", _("nieznany porządek"))
    b.sort = sort
    try:
        b.page = max(1, min(int(args.get("page") or 1), 10_000))
    except ValueError:
        bad("page", _("podaj numer strony"))
    return b


def _where(b: Browse, params: dict[str, Any]) -> str:
    filters: dict[str, Any] = {}
    if b.category:
        filters["category"] = b.category
    if b.status:
        filters["status"] = b.status
    if b.edition:
        filters["edition"] = b.edition
    q = lq.FeatureQuery(district=b.district, filters=filters, search=b.q, public=True)
    return lq.where_clause(layer(), q, params)


def list_proposals(
    conn: Connection, b: Browse, limit: int, offset: int
) -> tuple[list[dict[str, Any]], bool]:
    params: dict[str, Any] = {"limit": limit + 1, "offset": offset}
    where = _where(b, params)
    rows = conn.execute(
        text(
            f"""
            SELECT t.id, t.title, t.category, t.status, t.cost, t.edition, t.scope, t.districts,
                   t.address, {_SUPPORTS} AS supports,
                   ARRAY(SELECT d.full_name FROM districts d WHERE d.number = ANY(t.districts)
                         ORDER BY d.number) AS district_names
            FROM budget_proposals t
            WHERE {where}
            ORDER BY {SORTS[b.sort]}
            LIMIT :limit OFFSET :offset"""
        ),
        params,
    ).all()
    items = [dict(r._mapping) for r in rows[:limit]]
    return items, len(rows) > limit


def proposals_geojson(conn: Connection, b: Browse, limit: int = MAP_LIMIT) -> str:
    params: dict[str, Any] = {"limit": limit}
    where = _where(b, params)
    link = url_for(".detail", proposal_id=0).rsplit("/", 1)[0] + "/"
    params["link"] = link
    params["categories"] = json.dumps(
        {k: category_title(k) for k in CATEGORY_TITLES}, ensure_ascii=False
    )
    params["states"] = json.dumps({k: status_title(k) for k in STATE_TITLES}, ensure_ascii=False)
    sql = f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(f), '[]'))::text
        FROM (
            SELECT json_build_object(
                'type', 'Feature', 'id', t.id,
                'geometry', ST_AsGeoJSON(coalesce(t.geom, (
                    SELECT ST_PointOnSurface(ST_Union(d.geom)) FROM districts d
                    WHERE d.number = ANY(t.districts))), 6)::json,
                'properties', json_build_object(
                    'title', t.title, 'category', t.category,
                    'category_title', CAST(:categories AS jsonb) ->> t.category,
                    'status', t.status, 'status_title', CAST(:states AS jsonb) ->> t.status,
                    'cost', t.cost, 'edition', t.edition, 'scope', t.scope, 'districts', t.districts,
                    'whole_district', t.geom IS NULL, 'supports', {_SUPPORTS},
                    'url', :link || t.id)) AS f
            FROM budget_proposals t
            WHERE {where} AND (t.geom IS NOT NULL OR cardinality(t.districts) > 0)
            ORDER BY {SORTS[b.sort]}
            LIMIT :limit
        ) s"""
    return conn.execute(text(sql), params).scalar_one()


def _editions(conn: Connection) -> list[int]:
    return list(
        conn.execute(
            text("SELECT DISTINCT edition FROM budget_proposals ORDER BY edition DESC")
        ).scalars()
    )


@bp.get("/api/proposals")
def api_proposals():
    b = browse_args()
    limit = request.args.get("limit", type=int) or MAP_LIMIT
    if not 1 <= limit <= MAP_LIMIT:
        raise ApiError(
            400,
            "invalid_parameter",
            f"parameter 'limit' must be between 1 and {MAP_LIMIT}",
            "limit",
        )
    with engine().connect() as conn:
        body = proposals_geojson(conn, b, limit)
    return Response(body, mimetype="application/geo+json")


def _list_map(data_url: str, bounds=None, focus: dict[str, Any] | None = None):
    if bounds is None:
        with engine().connect() as conn:
            bounds = gd.city_bounds(conn)
    features = {
        "kind": "participation-features",
        "url": data_url,
        "what": "proposals",
        "focus": focus,
        "labels": _map_labels(),
    }
    return participation_map([features], bounds)


def _map_labels() -> dict[str, str]:
    return {
        "open": _("Otwórz"),
        "supports": _("Poparcia"),
        "whole_district": _("cała dzielnica"),
        "loaded": _("Na mapie: %(n)s"),
    }


@bp.get("/proposals")
def browse():
    b = browse_args()
    with engine().connect() as conn:
        items, has_more = list_proposals(conn, b, PAGE_SIZE, (b.page - 1) * PAGE_SIZE)
        districts = district_choices(conn)
        editions = _editions(conn)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    wf = layer().workflow
    states = [(s, status_title(s)) for s in (wf.public_states if wf else ())]
    categories = sorted(((k, category_title(k)) for k in CATEGORY_TITLES), key=lambda kv: kv[1])
    return render_template(
        "propose/list.html",
        b=b,
        items=items,
        has_more=has_more,
        districts=districts,
        editions=editions,
        states=states,
        categories=categories,
        sorts=_sort_labels(),
        fmap=_list_map(url_for(".api_proposals", **{k: v for k, v in args.items() if k != "sort"})),
        prev_url=url_for(".browse", **args, page=b.page - 1) if b.page > 1 else None,
        next_url=url_for(".browse", **args, page=b.page + 1) if has_more else None,
        category_title=category_title,
        status_title=status_title,
        format_pln=format_pln,
        supporters_label=supporters_label,
    )


def _sort_labels() -> list[tuple[str, str]]:
    return [
        ("newest", _("najnowsze")),
        ("oldest", _("najstarsze")),
        ("supports", _("najwięcej poparć")),
        ("cost_desc", _("najdroższe")),
        ("cost_asc", _("najtańsze")),
        ("title", _("tytuł A–Z")),
    ]


def _proposal(conn: Connection, proposal_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        text(
            f"""
            SELECT t.id, t.title, t.description, t.category, t.cost, t.scope, t.status, t.edition,
                   t.districts, t.address, t.photo, t.author_id, t.hidden_at, t.hidden_reason,
                   t.created_at, t.updated_at, t.votes, t.selected, t.source,
                   {_SUPPORTS} AS supports,
                   ST_AsGeoJSON(t.geom, 7) AS geometry,
                   ARRAY(SELECT d.full_name FROM districts d WHERE d.number = ANY(t.districts)
                         ORDER BY d.number) AS district_names,
                   ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north
            FROM budget_proposals t
            LEFT JOIN LATERAL (
                SELECT coalesce(ST_Expand(t.geom, 0.002), (
                    SELECT ST_Extent(d.geom)::geometry FROM districts d
                    WHERE d.number = ANY(t.districts))) AS e) b ON true
            WHERE t.id = :id"""
        ),
        {"id": proposal_id},
    ).first()
    return dict(row._mapping) if row else None


@bp.get("/proposals/<int:proposal_id>")
def detail(proposal_id: int):
    with engine().connect() as conn:
        p = _proposal(conn, proposal_id)
        user = current_user()
        supported = False
        if p is not None and user is not None:
            supported = bool(
                conn.execute(
                    text("SELECT 1 FROM proposal_supports WHERE proposal_id = :p AND user_id = :u"),
                    {"p": proposal_id, "u": user.id},
                ).scalar()
            )
    if p is None or not _may_see(p["author_id"], p["status"], p["hidden_at"]):
        abort(404, description=_("Nie ma takiego projektu."))
    bounds = (p["west"], p["south"], p["east"], p["north"]) if p["west"] is not None else None
    fmap = _list_map(
        url_for(".api_proposal", proposal_id=proposal_id), bounds, focus={"id": proposal_id}
    )
    public = is_public(p["status"], p["hidden_at"])
    return render_template(
        "propose/detail.html",
        p=p,
        fmap=fmap,
        public=public,
        supported=supported,
        user=user,
        mine=user is not None and user.id == p["author_id"],
        category_title=category_title,
        status_title=status_title,
        format_pln=format_pln,
        supporters_label=supporters_label,
    )


@bp.get("/api/proposals/<int:proposal_id>")
def api_proposal(proposal_id: int):
    """One proposal as a FeatureCollection (for its permalink map); drafts only for the author."""
    with engine().connect() as conn:
        p = conn.execute(
            text("SELECT author_id, status, hidden_at FROM budget_proposals WHERE id = :id"),
            {"id": proposal_id},
        ).first()
        if p is None or not _may_see(p.author_id, p.status, p.hidden_at):
            raise ApiError(404, "not_found", f"no proposal {proposal_id}", "proposal_id")
        body = conn.execute(
            text(
                f"""
                SELECT json_build_object('type', 'FeatureCollection', 'features', json_build_array(
                    json_build_object('type', 'Feature', 'id', t.id,
                        'geometry', ST_AsGeoJSON(coalesce(t.geom, (SELECT ST_Multi(ST_Union(d.geom))
                            FROM districts d WHERE d.number = ANY(t.districts))), 6)::json,
                        'properties', json_build_object('title', t.title, 'status', t.status,
                            'supports', {_SUPPORTS}, 'whole_district', t.geom IS NULL,
                            'districts', t.districts, 'url', CAST(:url AS text)))))::text
                FROM budget_proposals t WHERE t.id = :id"""
            ),
            {"id": proposal_id, "url": url_for(".detail", proposal_id=proposal_id)},
        ).scalar_one()
    return Response(body, mimetype="application/geo+json")


# --------------------------------------------------------------------------- supports


def support_proposal(conn: Connection, user_id: int, proposal_id: int) -> tuple[bool, int]:
    """One support per person (primary key + ON CONFLICT). Returns (new, total)."""
    inserted = conn.execute(
        text(
            """INSERT INTO proposal_supports (proposal_id, user_id) VALUES (:p, :u)
               ON CONFLICT DO NOTHING RETURNING proposal_id"""
        ),
        {"p": proposal_id, "u": user_id},
    ).first()
    total = conn.execute(
        text("SELECT count(*) FROM proposal_supports WHERE proposal_id = :p"), {"p": proposal_id}
    ).scalar_one()
    return inserted is not None, total


@bp.post("/proposals/<int:proposal_id>/support")
@login_required
@rate_limit("support", limit=60, per=60)
def support(proposal_id: int):
    user = current_user()
    assert user is not None
    withdraw = (
        request.form.get("action") if request.mimetype != "application/json" else None
    ) == "withdraw"
    with engine().begin() as conn:
        p = conn.execute(
            text("SELECT id, author_id, status, hidden_at FROM budget_proposals WHERE id = :id"),
            {"id": proposal_id},
        ).first()
        if p is None or not is_public(p.status, p.hidden_at):
            raise ApiError(404, "not_found", _("Nie ma takiego projektu."), "proposal_id")
        if p.author_id == user.id:
            raise ApiError(
                400, "own_content", _("Nie możesz poprzeć własnego projektu."), "proposal_id"
            )
        if withdraw:
            conn.execute(
                text("DELETE FROM proposal_supports WHERE proposal_id = :p AND user_id = :u"),
                {"p": proposal_id, "u": user.id},
            )
            total = conn.execute(
                text("SELECT count(*) FROM proposal_supports WHERE proposal_id = :p"),
                {"p": proposal_id},
            ).scalar_one()
            new, supported = False, False
        else:
            new, total = support_proposal(conn, user.id, proposal_id)
            supported = True
    if request.is_json or _wants_json():
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


# --------------------------------------------------------------------------- my contributions


@bp.get("/account/contributions")
@login_required
def contributions():
    user = current_user()
    assert user is not None
    with engine().connect() as conn:
        proposals = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    f"""SELECT t.id, t.title, t.status, t.edition, t.hidden_at, t.hidden_reason,
                               t.created_at, {_SUPPORTS} AS supports,
                               ARRAY(SELECT d.full_name FROM districts d
                                     WHERE d.number = ANY(t.districts) ORDER BY d.number) AS district_names
                        FROM budget_proposals t WHERE t.author_id = :u
                        ORDER BY t.created_at DESC, t.id DESC LIMIT 500"""
                ),
                {"u": user.id},
            )
        ]
        comments = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    """SELECT c.id, c.body, c.status, c.supports, c.created_at, c.reply_to,
                              k.id AS consultation_id, k.title AS consultation_title
                       FROM consultation_comments c JOIN consultations k ON k.id = c.consultation_id
                       WHERE c.author_id = :u ORDER BY c.created_at DESC, c.id DESC LIMIT 500"""
                ),
                {"u": user.id},
            )
        ]
        supported = conn.execute(
            text(
                """SELECT (SELECT count(*) FROM proposal_supports WHERE user_id = :u),
                          (SELECT count(*) FROM comment_supports WHERE user_id = :u)"""
            ),
            {"u": user.id},
        ).one()
    return render_template(
        "propose/contributions.html",
        proposals=proposals,
        comments=comments,
        supported_proposals=supported[0],
        supported_comments=supported[1],
        status_title=status_title,
        supporters_label=supporters_label,
    )
