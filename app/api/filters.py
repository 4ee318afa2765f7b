"""The layers API's query parameters: which layers and filters the public has, parsed into a
layers.query.FeatureQuery (the API and the HTML lists share it), and each layer's legend.

Driven by layers.registry: a registered layer gets its filters with no other code. Only
public layers, public states and public properties appear; personal data never does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request

from app.errors import ApiError
from app.params import bbox_arg, int_arg
from layers import query as lq
from layers import registry
from layers.base import LANGS, Field, Layer

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


# --- the legend ------------------------------------------------------------------------


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
