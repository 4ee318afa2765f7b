"""View helpers every page of the web shares: the language, values as people read them,
titles and permalinks of features, the query-string helpers, and the maps' layer specs.

The public pages (app/public/), the councils', planners' and residents' pages import these;
none runs SQL. static/js/civicmap.js reads the map specs and fetches the features from the
API for the map's current view (nothing is embedded).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from flask import abort, current_app, g, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.api.filters import legend
from app.maps import build_map
from layers import tiles as lt
from layers.base import Field, Layer

TITLE_MAX = 140  # long titles (a comment's text) are cut for headings and list entries


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
    if layer.name == "budget-proposals":  # one canonical page per proposal
        return url_for("proposals.detail", proposal_id=feature_id)
    return url_for("layer_pages.feature_page", layer=layer.name, feature_id=feature_id)


def canonical_url(proposal_id: int) -> str:
    """A proposal's one page, with the request's query string (the old addresses redirect)."""
    base = url_for("proposals.detail", proposal_id=proposal_id)
    return base + ("?" + request.query_string.decode() if request.query_string else "")


# --- query strings -------------------------------------------------------------------------


def args_without(*names: str, **set_: Any) -> dict[str, str]:
    args = {k: v for k, v in request.args.items() if v and k not in names}
    args.update({k: str(v) for k, v in set_.items() if v not in (None, "")})
    return args


def url_with(endpoint: str, args: dict[str, str], **values: Any) -> str:
    base = url_for(endpoint, **values)
    return base + ("?" + urlencode(args) if args else "")


def page_number() -> int:
    raw = request.args.get("page") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        abort(400, description=_("Parametr „page” musi być liczbą od 1 do 10000."))
    return int(raw)


# --- filter forms --------------------------------------------------------------------------


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
        "error": _("Nie udało się wczytać warstwy"),
        "items": _("obiekty"),
        "visibleOnly": _("Tylko obiekty widoczne na mapie"),
        "listLoaded": _("Lista: %(n)s obiektów w widoku mapy", n="{n}"),
        "listEmpty": _("Brak obiektów w widoku mapy."),
        "districts": _("Dzielnice"),
        "cluster": _("Skupisko: pierścień w kolorach warstw i legendy, w środku liczba obiektów"),
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
        "tiles": url_for("tiles.tile", layer=layer.name, z=0, x=0, y=0).replace(
            "/0/0/0.mvt", "/{z}/{x}/{y}.mvt"
        ),
        "clusterBelow": lt.CLUSTER_BELOW if layer.style.cluster else None,
        "clusterGrid": lt.GRID,
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


def basemap_i18n() -> dict[str, str]:
    return {
        "offline": _("Podkład mapy (ulice) jest teraz niedostępny — widać tylko granice."),
        "none": _("Mapa bez podkładu z ulicami: nie skonfigurowano źródła podkładu."),
        "noGeometry": _("bez lokalizacji na mapie (tylko dzielnica)"),
    }


def page_map(specs: list[dict[str, Any]], bounds=None):
    from app.basemap import basemap_spec

    city = current_app.extensions["city"]
    return build_map(
        center=city.center,
        zoom=city.zoom,
        layers=specs,
        basemap=basemap_spec(),
        bounds=bounds,
        nonce=g.csp_nonce,
        i18n=basemap_i18n(),
    )
