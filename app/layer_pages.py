"""Pages for the registered layers: a list beside every map, and a permalink per feature.

``/layers`` lists the layers, ``/layers/<layer>`` is one layer's filterable list (with a
district filter) beside its map, ``/layers/<layer>/<id>`` shows one feature on a map with all
its public properties. The helpers here also give ``/`` and ``/districts/<n>`` (app/pages.py)
their feature layers and lists. Everything is driven by layers.registry: a registered layer
gets its map layer, list and permalink with no other code.

The lists are server-rendered HTML (they work without JavaScript); static/js/civicmap.js can
refresh them from the API for the map's current view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from flask import Blueprint, abort, current_app, g, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app import engine
from app.api_layers import (
    ROLES,
    feature_query,
    filter_fields,
    legend,
    param_names,
    parse_value,
    public_choices,
    public_layer,
    public_layers,
    role_field,
)
from app.assets import vendor_url
from app.errors import ApiError
from app.maps import build_map
from geo import districts as gd
from layers import query as lq
from layers.base import Field, Layer

bp = Blueprint("layer_pages", __name__)

PAGE_SIZE = 20  # a paginated list
PREVIEW_SIZE = 5  # per layer, when the list shows every layer
MAP_LIMIT = 2000  # features per map request (the API allows up to 5000)
TITLE_MAX = 140  # long titles (a comment's text) are cut for headings and list entries
BUDGET_LAYER = "budget-proposals"


@bp.app_template_global("vendor_url")
def _vendor_url(key: str) -> str:
    return vendor_url(key)


def lang() -> str:
    loc = get_locale()
    code = str(loc.language) if loc else "pl"
    return code if code in ("pl", "en", "uk") else "pl"


# --- values as people read them --------------------------------------------------------


def choice_title(f: Field, value: Any, lng: str) -> str:
    titles = f.choice_titles.get(str(value))
    return (titles.get(lng) or titles.get("pl") or str(value)) if titles else str(value)


def format_value(f: Field, value: Any, lng: str) -> str:
    """A property as text in the current language ('' when empty)."""
    if value is None or value == "" or value == []:
        return ""
    if f.type == "bool":
        return _("tak") if value else _("nie")
    if f.type == "money":
        return format_decimal(round(float(value)), "#,##0", locale=lng) + " zł"
    if f.type == "float":
        return format_decimal(value, locale=lng)
    if f.type.endswith("[]"):
        return ", ".join(choice_title(f, v, lng) if f.choices else str(v) for v in value)
    if f.choices:
        return choice_title(f, value, lng)
    if f.type == "datetime":
        try:
            return dt.datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return str(value)
    return str(value)


def geometry_title(kind: str | None) -> str:
    """'Point', 'MultiPolygon'… as words ('' for a feature without geometry)."""
    if not kind:
        return ""
    base = kind.removeprefix("Multi")
    words = {"Point": _("punkt"), "LineString": _("linia"), "Polygon": _("obszar")}
    word = words.get(base, kind)
    return _("%(kind)s (wieloczęściowy)", kind=word) if kind.startswith("Multi") else word


def short(text: str, limit: int = TITLE_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def feature_title(layer: Layer, props: dict[str, Any], feature_id: int) -> str:
    value = props.get(layer.title_field)
    return short(value) if value else f"{layer.title(lang())} #{feature_id}"


def permalink(layer: Layer, feature_id: int) -> str:
    return url_for("layer_pages.feature_page", layer=layer.name, feature_id=feature_id)


def district_names(conn) -> dict[int, str]:
    return lq.district_names(conn)


def list_item(layer: Layer, row: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    """One list entry: title, link and the layer's list fields as (label, text) pairs."""
    lng = lang()
    props = row["properties"]
    meta = []
    for name in layer.list_fields:
        if name == layer.title_field:
            continue
        f = layer.field(name)
        if not f.public:
            continue
        text = format_value(f, props.get(name), lng)
        if text:
            meta.append((f.title(lng), short(text, 200)))
    dists = props.get("districts") or []
    return {
        "id": row["id"],
        "url": permalink(layer, row["id"]),
        "title": feature_title(layer, props, row["id"]),
        "meta": meta,
        "districts": ", ".join(names.get(n, str(n)) for n in dists),
        "located": row.get("geometry_type") is not None,
    }


# --- filters shared by the lists ------------------------------------------------------


@dataclass
class Option:
    value: str
    title: str


@dataclass
class FilterControl:
    """One <select> (or text input when ``options`` is None) of a filter form."""

    name: str
    label: str
    value: str
    options: list[Option] | None = None
    any_label: str = ""


@dataclass
class Section:
    """A list of one layer's features (a page of it, or a preview)."""

    layer: Layer
    title: str
    items: list[dict[str, Any]]
    has_more: bool
    page: int = 1
    prev_url: str | None = None
    next_url: str | None = None
    more_url: str | None = None
    api_url: str = ""


def _args_without(*names: str, **set_: Any) -> dict[str, str]:
    args = {k: v for k, v in request.args.items() if v and k not in names}
    args.update({k: str(v) for k, v in set_.items() if v not in (None, "")})
    return args


def _url(endpoint: str, args: dict[str, str], **values: Any) -> str:
    base = url_for(endpoint, **values)
    return base + ("?" + urlencode(args) if args else "")


def page_number() -> int:
    raw = request.args.get("page") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        abort(400, description=_("Parametr „page” musi być liczbą od 1 do 10000."))
    return int(raw)


def query_or_400(layer: Layer) -> lq.FeatureQuery:
    """The API's filter parsing for a page: a bad value is a 400 page naming the parameter."""
    try:
        return feature_query(layer, strict=False)
    except ApiError as exc:
        abort(400, description=exc.message)


def requested_roles() -> list[str]:
    return [r for r in ROLES if request.args.get(r)]


def applies(layer: Layer) -> bool:
    """Does this layer have every status/category/edition filter in the request, and are the
    values valid for it? (``?status=open`` concerns consultations, not budget proposals.)"""
    for role in requested_roles():
        name = role_field(layer, role)
        if not name:
            return False
        try:
            parse_value(layer, layer.field(name), request.args[role], role)
        except ApiError:
            return False
    return True


def role_params(layer: Layer) -> dict[str, str]:
    """The request's filters this layer understands, as API parameters (for its map layer)."""
    out = {r: request.args[r] for r in requested_roles() if role_field(layer, r)}
    if request.args.get("q"):
        out["q"] = request.args["q"]
    return out


def editions(conn, layers: list[Layer], district: int | None) -> list[int]:
    found: set[int] = set()
    for ly in layers:
        if ly.edition_field:
            q = lq.FeatureQuery(district=district)
            found.update(lq.distinct_values(conn, ly, ly.edition_field, q))
    return sorted(found, reverse=True)


def role_controls(conn, layers: list[Layer], district: int | None) -> list[FilterControl]:
    """category / status / edition selects over several layers (options merged)."""
    lng = lang()
    controls = []
    for role, label, any_label in (
        ("category", _("Kategoria"), _("Wszystkie kategorie")),
        ("status", _("Status"), _("Wszystkie statusy")),
    ):
        seen: dict[str, str] = {}
        for ly in layers:
            name = role_field(ly, role)
            if name:
                f = ly.field(name)
                for c in public_choices(ly, f):
                    seen.setdefault(c, choice_title(f, c, lng))
        if seen:
            opts = [Option(v, t) for v, t in seen.items()]
            controls.append(FilterControl(role, label, request.args.get(role, ""), opts, any_label))
    eds = editions(conn, layers, district)
    if eds:
        controls.append(
            FilterControl(
                "edition",
                _("Edycja"),
                request.args.get("edition", ""),
                [Option(str(e), str(e)) for e in eds],
                _("Wszystkie edycje"),
            )
        )
    return controls


def layer_controls(conn, layer: Layer, district: int | None) -> list[FilterControl]:
    """One select per filter field of a layer (the /layers/<layer> form)."""
    lng = lang()
    controls = []
    for f in filter_fields(layer):
        choices = public_choices(layer, f)
        value = request.args.get(f.name, "")
        if choices:
            opts = [Option(c, choice_title(f, c, lng)) for c in choices]
        elif f.type == "int" and f.name == layer.edition_field:
            vals = lq.distinct_values(conn, layer, f.name, lq.FeatureQuery(district=district))
            opts = [Option(str(v), str(v)) for v in sorted(vals, reverse=True)]
        elif f.type == "bool":
            opts = [Option("true", _("tak")), Option("false", _("nie"))]
        else:
            opts = None
        controls.append(FilterControl(f.name, f.title(lng), value, opts, _("Wszystkie")))
    return controls


def district_control(names: dict[int, str], value: int | None) -> FilterControl:
    opts = [Option(str(n), t) for n, t in names.items()]
    return FilterControl(
        "district", _("Dzielnica"), str(value or ""), opts, _("Wszystkie dzielnice")
    )


# --- map specs for civicmap.js -------------------------------------------------------------


def map_i18n() -> dict[str, str]:
    return {
        "panel": _("Warstwy i legenda"),
        "layers": _("Warstwy"),
        "legend": _("Legenda"),
        "yes": _("tak"),
        "no": _("nie"),
        "details": _("Szczegóły"),
        "loading": _("Wczytywanie…"),
        "loaded": _("Na mapie: %(n)s", n="{n}"),
        "more": _("pokazano pierwsze %(n)s — przybliż mapę, aby zobaczyć wszystkie", n="{n}"),
        "error": _("Nie udało się wczytać warstwy"),
        "items": _("obiekty"),
        "visibleOnly": _("Tylko obiekty widoczne na mapie"),
        "listLoaded": _("Lista: %(n)s obiektów w widoku mapy", n="{n}"),
        "listEmpty": _("Brak obiektów w widoku mapy."),
        "districts": _("Dzielnice"),
    }


def field_spec(layer: Layer, f: Field, lng: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": f.name, "title": f.title(lng), "type": f.type}
    if f.choices:
        spec["choices"] = {c: choice_title(f, c, lng) for c in f.choices}
    return spec


def map_spec(
    layer: Layer,
    *,
    params: dict[str, Any] | None = None,
    visible: bool = True,
    feature_id: int | None = None,
) -> dict[str, Any]:
    """What civicmap.js needs to load and draw one layer (no data: it fetches the API)."""
    lng = lang()
    leg = legend(layer)
    by = leg["by"]
    names = list(dict.fromkeys([*layer.popup_fields, *layer.list_fields]))
    fields = [field_spec(layer, layer.field(n), lng) for n in names if layer.field(n).public]
    spec: dict[str, Any] = {
        "kind": "features",
        "layer": layer.name,
        "title": layer.title(lng),
        "url": url_for("api_layers.features", layer=layer.name),
        "permalink": url_for("layer_pages.feature_page", layer=layer.name, feature_id=1)[:-1]
        + "{id}",
        "params": {k: str(v) for k, v in (params or {}).items() if v not in (None, "")},
        "visible": visible,
        "limit": MAP_LIMIT,
        "style": layer.style.to_dict(),
        "colorBy": by,
        "legend": [
            {"value": e["value"], "title": e["titles"].get(lng) or e["value"], "color": e["color"]}
            for e in leg["entries"]
        ],
        "titleField": layer.title_field,
        "popupFields": list(layer.popup_fields),
        "listFields": list(layer.list_fields),
        "fields": fields,
        "lang": lng,
        "i18n": map_i18n(),
    }
    if feature_id is not None:
        spec["featureUrl"] = url_for(
            "api_layers.feature", layer=layer.name, feature_id=str(feature_id)
        )
    return spec


def district_spec(selected: int | None = None) -> dict[str, Any]:
    """The district outlines (the same spec as app/pages.py gives / and /districts/<n>)."""
    return {
        "kind": "districts",
        "url": url_for("api.districts", simplify=0.00005),
        "selected": selected,
        "link": url_for("pages.district", number=0).replace("/0", "/{n}"),
    }


def page_map(specs: list[dict[str, Any]], bounds=None):
    city = current_app.extensions["city"]
    return build_map(
        center=city.center,
        zoom=city.zoom,
        layers=specs,
        basemap=current_app.config["BASEMAP"],
        bounds=bounds,
        nonce=g.csp_nonce,
    )


# --- the list beside a map of every layer (/ and /districts/<n>) -----------------------------


def overview(conn, *, district: int | None, endpoint: str, values: dict[str, Any]) -> dict:
    """Specs for the map and the list of every public layer, honouring the request's filters.

    ``?layer=`` picks one layer (a paginated list); without it each layer shows a preview
    with a link to its own list. status/category/edition filters hide the layers that lack
    them (on the map too).
    """
    layers = public_layers()
    chosen_name = request.args.get("layer") or ""
    chosen = None
    if chosen_name:
        chosen = next((ly for ly in layers if ly.name == chosen_name), None)
        if chosen is None:
            abort(400, description=_("Nie ma warstwy „%(name)s”.", name=short(chosen_name, 60)))
    names = district_names(conn)
    specs, sections = [], []
    for ly in layers:
        ok = applies(ly)
        visible = ok and (chosen is None or ly is chosen)
        params = role_params(ly) if ok else {}
        if district:
            params["district"] = str(district)
        specs.append(map_spec(ly, params=params, visible=visible))
        if not visible:
            continue
        q = query_or_400(ly)
        q.district = district
        q.with_geometry = False
        q.bbox = None
        page = page_number() if chosen else 1
        q.limit = PAGE_SIZE if chosen else PREVIEW_SIZE
        q.offset = (page - 1) * q.limit
        found = lq.records(conn, ly, q)
        list_args = {k: v for k, v in role_params(ly).items()}
        if district:
            list_args["district"] = str(district)
        sec = Section(
            layer=ly,
            title=ly.title(lang()),
            items=[list_item(ly, r, names) for r in found.rows],
            has_more=found.has_more,
            page=page,
            api_url=_url("api_layers.features", list_args, layer=ly.name),
        )
        if chosen:
            if page > 1:
                sec.prev_url = _url(endpoint, _args_without("page", page=page - 1), **values)
            if found.has_more:
                sec.next_url = _url(endpoint, _args_without("page", page=page + 1), **values)
        elif found.has_more:
            sec.more_url = _url("layer_pages.layer_list", list_args, layer=ly.name)
        sections.append(sec)
    controls = [
        FilterControl(
            "layer",
            _("Warstwa"),
            chosen_name,
            [Option(ly.name, ly.title(lang())) for ly in layers],
            _("Wszystkie warstwy"),
        ),
        *role_controls(conn, layers, district),
        FilterControl("q", _("Szukaj w tytułach"), request.args.get("q", "")),
    ]
    return {
        "specs": specs,
        "sections": sections,
        "controls": controls,
        "chosen": chosen,
        "form_action": url_for(endpoint, **values),
        "filtered": any(request.args.get(k) for k in ("layer", "q", *ROLES)),
    }


def district_counts(conn, number: int) -> list[dict[str, Any]]:
    return [
        {
            "layer": ly,
            "title": ly.title(lang()),
            "count": lq.count_by_district(conn, ly, number),
            "url": _url("layer_pages.layer_list", {"district": str(number)}, layer=ly.name),
        }
        for ly in public_layers()
    ]


def past_budget(conn, number: int) -> dict[str, Any] | None:
    """The district's proposals of past budget editions: one edition at a time (?bo_edition=)."""
    try:
        layer = public_layer(BUDGET_LAYER)
    except ApiError:
        return None
    raw = request.args.get("bo_edition") or ""
    if raw and not raw.isdigit():
        abort(400, description=_("Parametr „bo_edition” musi być rokiem."))
    wanted = int(raw) if raw and int(raw) < 10000 else None
    # The current year's edition is still under way (submission, review, vote): "past" is before it.
    order = tuple(
        n for n in ("-votes", "-score", "title") if n.lstrip("-") in {f.name for f in layer.fields}
    )
    eds, page = lq.past_editions(
        conn, layer, number, before=dt.date.today().year, edition=wanted, order=order
    )
    if not eds:
        return {"layer": layer, "editions": [], "rows": [], "edition": None}
    edition = wanted if wanted in eds else eds[0]
    lng = lang()
    cols = [
        layer.field(n)
        for n in ("cost", "votes", "selected")
        if n in {f.name for f in layer.public_fields}
    ]
    rows = []
    for r in page.rows:
        props = r["properties"]
        rows.append(
            {
                "url": permalink(layer, r["id"]),
                "title": feature_title(layer, props, r["id"]),
                "cells": [format_value(f, props.get(f.name), lng) for f in cols],
                "selected": bool(props.get("selected")),
            }
        )
    return {
        "layer": layer,
        "editions": [
            {
                "edition": e,
                "url": _url(
                    "pages.district", _args_without("bo_edition", bo_edition=e), number=number
                )
                + "#past-budget",
            }
            for e in eds
        ],
        "edition": edition,
        "columns": [f.title(lng) for f in cols],
        "rows": rows,
        "has_more": page.has_more,
        "all_url": _url(
            "layer_pages.layer_list",
            {"district": str(number), "edition": str(edition)},
            layer=layer.name,
        ),
    }


# --- /layers pages ---------------------------------------------------------------------


def layer_or_404(name: str) -> Layer:
    try:
        return public_layer(name)
    except ApiError:
        abort(404, description=_("Nie ma warstwy „%(name)s”.", name=short(name, 60)))


@bp.get("/layers")
def layers_index():
    lng = lang()
    items = [
        {
            "name": ly.name,
            "title": ly.title(lng),
            "description": ly.descriptions.get(lng) or ly.descriptions.get("pl", ""),
            "url": url_for("layer_pages.layer_list", layer=ly.name),
            "api": url_for("api_layers.features", layer=ly.name),
        }
        for ly in public_layers()
    ]
    return render_template("layers/index.html", layers=items)


@bp.get("/layers/<layer>")
def layer_list(layer: str):
    ly = layer_or_404(layer)
    q = query_or_400(ly)
    page = page_number()
    q.bbox = None
    q.with_geometry = False
    q.limit, q.offset = PAGE_SIZE, (page - 1) * PAGE_SIZE
    with engine().connect() as conn:
        names = district_names(conn)
        if q.district is not None and q.district not in names:
            abort(400, description=_("Nie ma dzielnicy nr %(n)s.", n=q.district))
        found = lq.records(conn, ly, q)
        controls = [district_control(names, q.district), *layer_controls(conn, ly, q.district)]
        d = gd.get_district(conn, q.district) if q.district else None
        bounds = (d["west"], d["south"], d["east"], d["north"]) if d else gd.city_bounds(conn)
    known = param_names(ly) - {"lang", "bbox", "limit", "offset"}
    params = {k: v for k, v in request.args.items() if v and k in known}
    fmap = page_map([district_spec(selected=q.district), map_spec(ly, params=params)], bounds)
    sec = Section(
        layer=ly,
        title=ly.title(lang()),
        items=[list_item(ly, r, names) for r in found.rows],
        has_more=found.has_more,
        page=page,
        api_url=_url("api_layers.features", params, layer=ly.name),
    )
    if page > 1:
        sec.prev_url = _url(
            "layer_pages.layer_list", _args_without("page", page=page - 1), layer=ly.name
        )
    if found.has_more:
        sec.next_url = _url(
            "layer_pages.layer_list", _args_without("page", page=page + 1), layer=ly.name
        )
    filtered = any(v for k, v in request.args.items() if k not in ("page", "lang"))
    return render_template(
        "layers/layer_list.html",
        layer=ly,
        title=ly.title(lang()),
        description=ly.descriptions.get(lang()) or ly.descriptions.get("pl", ""),
        district=d,
        section=sec,
        controls=controls,
        controls_extra=[FilterControl("q", _("Szukaj w tytułach"), request.args.get("q", ""))],
        form_action=url_for("layer_pages.layer_list", layer=ly.name),
        filtered=filtered,
        fmap=fmap,
    )


@bp.get("/layers/<layer>/<feature_id>")
def feature_page(layer: str, feature_id: str):
    ly = layer_or_404(layer)
    if not feature_id.isdigit() or len(feature_id) > 19 or int(feature_id) > 2**63 - 1:
        abort(404, description=_("Nie ma takiego obiektu."))
    fid = int(feature_id)
    with engine().connect() as conn:
        found = lq.records(conn, ly, lq.FeatureQuery(ids=[fid], limit=1, with_geometry=False))
        if not found.rows:
            abort(404, description=_("Nie ma takiego obiektu (albo nie jest publiczny)."))
        row = found.rows[0]
        names = district_names(conn)
        dists = row["properties"].get("districts") or []
        d = gd.get_district(conn, dists[0]) if dists else None
        bounds = (d["west"], d["south"], d["east"], d["north"]) if d else gd.city_bounds(conn)
    lng = lang()
    props = row["properties"]
    properties = []
    for f in ly.public_fields:
        text = format_value(f, props.get(f.name), lng)
        properties.append({"name": f.name, "title": f.title(lng), "text": text})
    spec = map_spec(ly, feature_id=fid)
    selected = dists[0] if len(dists) == 1 else None
    fmap = page_map([district_spec(selected=selected), spec], bounds)
    return render_template(
        "layers/feature.html",
        layer=ly,
        layer_title=ly.title(lng),
        title=feature_title(ly, props, fid),
        full_title=str(props.get(ly.title_field) or ""),
        fid=fid,
        external_id=props.get("external_id"),
        updated_at=format_value(Field("u", "datetime", {}), props.get("updated_at"), lng),
        geometry_type=geometry_title(row["geometry_type"]),
        properties=properties,
        districts=[
            {"number": n, "name": names.get(n, str(n)), "url": url_for("pages.district", number=n)}
            for n in dists
        ],
        list_url=url_for("layer_pages.layer_list", layer=ly.name),
        api_url=url_for("api_layers.feature", layer=ly.name, feature_id=str(fid)),
        fmap=fmap,
    )
