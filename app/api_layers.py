"""GET /api/layers…: every registered public layer, its features as GeoJSON built in SQL.

Driven by layers.registry: a layer registered there gets these endpoints with no other code.
Only public layers, public states and public properties appear; personal data never does.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request, url_for

from app import engine
from app.errors import ApiError
from app.params import bbox_arg, int_arg
from layers import query as lq
from layers import registry
from layers.base import LANGS, Field, Layer

bp = Blueprint("api_layers", __name__, url_prefix="/api/layers")

GEOJSON = "application/geo+json"
MAX_ID = 2**63 - 1  # bigint: a larger id cannot exist (and would make PostgreSQL raise)
MAX_OFFSET = 1_000_000
MAX_Q = 200
# Query parameters every features request understands; each layer adds its filter fields.
COMMON_PARAMS = ("bbox", "district", "q", "limit", "offset", "lang")
# Role aliases: ?status= / ?category= / ?edition= mean the layer's status/category/edition field.
ROLES = ("status", "category", "edition")

# Colours for a legend by status or category when the layer's Style names none
# (Okabe–Ito and Tableau hues: distinguishable, and none too light on a white map).
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#d55e00",
    "#cc79a7",
    "#56b4e9",
    "#8c564b",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)


def public_layer(name: str) -> Layer:
    layer = registry.get(name)
    if layer is None or not layer.is_public:
        raise ApiError(404, "not_found", f"no layer named {name!r}", "layer")
    return layer


def public_layers() -> list[Layer]:
    return [ly for ly in registry.all_layers() if ly.is_public]


def role_field(layer: Layer, role: str) -> str | None:
    return {
        "status": layer.status_field,
        "category": layer.category_field,
        "edition": layer.edition_field,
    }[role]


def public_choices(layer: Layer, f: Field) -> tuple[str, ...]:
    """The values of a choice field the public may see (a workflow hides e.g. drafts)."""
    if layer.workflow and f.name == layer.status_field:
        return tuple(c for c in f.choices if c in layer.workflow.public_states)
    return f.choices


def filter_fields(layer: Layer) -> list[Field]:
    """Fields a client may filter on: the layer's filter fields and its status/category/edition."""
    out = list(layer.filter_fields)
    for role in ROLES:
        name = role_field(layer, role)
        if name and all(f.name != name for f in out):
            f = layer.field(name)
            if f.public:
                out.append(f)
    return out


def param_names(layer: Layer) -> set[str]:
    names = set(COMMON_PARAMS) | {f.name for f in filter_fields(layer)}
    return names | {r for r in ROLES if role_field(layer, r)}


def parse_value(layer: Layer, f: Field, raw: str, param: str) -> Any:
    """One filter value, typed as the field is; ApiError(400) naming ``param`` otherwise."""

    def bad(why: str) -> ApiError:
        return ApiError(400, "invalid_parameter", f"parameter '{param}' {why}, got {raw!r}", param)

    base = f.type.removesuffix("[]")
    if base == "int":
        try:
            value: Any = int(raw)
        except ValueError:
            raise bad("must be a whole number") from None
        if (f.minimum is not None and value < f.minimum) or (
            f.maximum is not None and value > f.maximum
        ):
            raise bad(f"must be between {f.minimum} and {f.maximum}")
        if not -(2**31) <= value < 2**31:
            raise bad("is out of range")
        return value
    if base in ("float", "money"):
        try:
            value = float(raw)
        except ValueError:
            raise bad("must be a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise bad("must be a finite number")
        return value
    if base == "bool":
        if raw.lower() in ("true", "1", "yes", "tak"):
            return True
        if raw.lower() in ("false", "0", "no", "nie"):
            return False
        raise bad("must be true or false")
    if base == "date":
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise bad("must be a date YYYY-MM-DD") from None
    if base == "datetime":
        try:
            return dt.datetime.fromisoformat(raw)
        except ValueError:
            raise bad("must be an ISO 8601 date-time") from None
    choices = public_choices(layer, f)
    if choices and raw not in choices:
        raise bad("must be one of " + ", ".join(choices))
    if len(raw) > (f.max_length or 500) or "\x00" in raw:
        raise bad("is too long or not text")
    return raw


def feature_query(layer: Layer, *, strict: bool = True) -> lq.FeatureQuery:
    """A FeatureQuery from the request's query string (the API and the HTML lists share it).

    Empty values mean "no filter" (an HTML form sends them). ``strict``: unknown parameters
    are a 400 (the API); pages pass ``strict=False`` and ignore their own parameters.
    """
    args = request.args
    if strict:
        unknown = sorted(set(args) - param_names(layer))
        if unknown:
            raise ApiError(
                400,
                "unknown_parameter",
                f"layer {layer.name!r} has no filter {unknown[0]!r}; "
                f"known: {', '.join(sorted(param_names(layer)))}",
                unknown[0],
            )
    q = lq.FeatureQuery()
    q.bbox = bbox_arg("bbox")
    q.district = int_arg("district", lo=1, hi=32767)
    q.limit = int_arg("limit", default=lq.DEFAULT_LIMIT, lo=1, hi=lq.MAX_LIMIT)
    q.offset = int_arg("offset", default=0, lo=0, hi=MAX_OFFSET)
    search = (args.get("q") or "").strip()
    if len(search) > MAX_Q or "\x00" in search:
        raise ApiError(400, "invalid_parameter", f"parameter 'q' is longer than {MAX_Q}", "q")
    q.search = search or None
    for role in ROLES:
        raw = args.get(role)
        if not raw:
            continue
        name = role_field(layer, role)
        if not name:
            raise ApiError(
                400, "unknown_parameter", f"layer {layer.name!r} has no {role} to filter on", role
            )
        q.filters[name] = parse_value(layer, layer.field(name), raw, role)
    for f in filter_fields(layer):
        raw = args.get(f.name)
        if raw and f.name not in ROLES:
            value = parse_value(layer, f, raw, f.name)
            if f.name in q.filters and q.filters[f.name] != value:
                raise ApiError(
                    400, "invalid_parameter", f"parameter '{f.name}' contradicts another", f.name
                )
            q.filters[f.name] = value
    return q


# --- layer metadata -------------------------------------------------------------------


def legend(layer: Layer) -> dict[str, Any]:
    """How the map colours a layer: by category (Style.category_colors), by status, or one colour."""
    style = layer.style
    if style.category_colors and layer.category_field:
        f = layer.field(layer.category_field)
        colors = style.category_colors
    elif layer.status_field and len(public_choices(layer, layer.field(layer.status_field))) > 1:
        f = layer.field(layer.status_field)
        colors = {}
    else:
        return {"by": None, "entries": []}
    values = public_choices(layer, f) or tuple(colors)
    entries = [
        {
            "value": v,
            "titles": f.choice_titles.get(v) or {lang: v for lang in LANGS},
            "color": colors.get(v) or PALETTE[i % len(PALETTE)],
        }
        for i, v in enumerate(values)
    ]
    return {"by": f.name, "entries": entries}


def field_meta(layer: Layer, f: Field) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f.name, "type": f.type, "titles": f.titles}
    choices = public_choices(layer, f)
    if choices:
        meta["choices"] = [
            {"value": c, "titles": f.choice_titles.get(c) or {lang: c for lang in LANGS}}
            for c in choices
        ]
    if f.minimum is not None:
        meta["minimum"] = f.minimum
    if f.maximum is not None:
        meta["maximum"] = f.maximum
    return meta


def layer_meta(layer: Layer) -> dict[str, Any]:
    filters = []
    for f in filter_fields(layer):
        m = field_meta(layer, f)
        m["param"] = f.name
        m["aliases"] = [r for r in ROLES if role_field(layer, r) == f.name and r != f.name]
        filters.append(m)
    return {
        "name": layer.name,
        "titles": layer.titles,
        "descriptions": layer.descriptions,
        "geometry_types": list(layer.geometry_types),
        "geometry_required": layer.geometry_required,
        "reference": layer.reference,
        "title_field": layer.title_field,
        "status_field": layer.status_field,
        "category_field": layer.category_field,
        "edition_field": layer.edition_field,
        "popup_fields": list(layer.popup_fields),
        "list_fields": list(layer.list_fields),
        "schema": layer.properties_schema(),
        "fields": [field_meta(layer, f) for f in layer.public_fields],
        "style": {**layer.style.to_dict(), "legend": legend(layer)},
        "filters": filters,
        "links": [
            {
                "rel": "items",
                "type": GEOJSON,
                "href": url_for("api_layers.features", layer=layer.name),
            },
            {
                "rel": "alternate",
                "type": "text/html",
                "href": url_for("layer_pages.layer_list", layer=layer.name),
            },
        ],
    }


# --- endpoints --------------------------------------------------------------------------


@bp.get("")
def layers_index():
    return {"layers": [layer_meta(ly) for ly in public_layers()]}


@bp.get("/<layer>")
def layer_detail(layer: str):
    return layer_meta(public_layer(layer))


def _page_href(layer: Layer, offset: int) -> str:
    args = {k: v for k, v in request.args.items() if k != "offset"}
    if offset:
        args["offset"] = str(offset)
    base = url_for("api_layers.features", layer=layer.name)
    return base + ("?" + urlencode(args) if args else "")


@bp.get("/<layer>/features")
def features(layer: str):
    ly = public_layer(layer)
    q = feature_query(ly)
    with engine().connect() as conn:
        page = lq.features(conn, ly, q)
    links = [{"rel": "self", "type": GEOJSON, "href": _page_href(ly, q.offset)}]
    members: dict[str, Any] = {
        "layer": ly.name,
        "numberReturned": len(page.features),
        "limit": q.limit,
        "offset": q.offset,
    }
    if q.offset:
        prev = max(q.offset - q.limit, 0)
        links.append({"rel": "prev", "type": GEOJSON, "href": _page_href(ly, prev)})
    if page.has_more:
        nxt = _page_href(ly, q.offset + q.limit)
        links.append({"rel": "next", "type": GEOJSON, "href": nxt})
        members["next"] = nxt
    members["links"] = links
    return Response(page.collection(**members), mimetype=GEOJSON)


_ID = re.compile(r"^[0-9]{1,19}$")


@bp.get("/<layer>/features/<feature_id>")
def feature(layer: str, feature_id: str):
    ly = public_layer(layer)
    if not _ID.match(feature_id) or int(feature_id) > MAX_ID:
        raise ApiError(404, "not_found", f"no public feature {feature_id!r} in {ly.name}", "id")
    with engine().connect() as conn:
        body = lq.feature(conn, ly, int(feature_id))
    if body is None:
        raise ApiError(404, "not_found", f"no public feature {feature_id} in {ly.name}", "id")
    return Response(body, mimetype=GEOJSON)
