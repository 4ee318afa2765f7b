"""GET /api/layers…: every registered public layer, its features as GeoJSON built in SQL.

Driven by layers.registry: a layer registered there gets these endpoints with no other code.
The features come from the one read path, layers.query; only public layers, public states
and public properties appear; personal data never does.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request, url_for

from app.api.filters import (
    MAX_ID,
    ROLES,
    feature_query,
    filter_fields,
    legend,
    public_choices,
    public_layer,
    public_layers,
    role_field,
)
from app.db import engine
from app.errors import ApiError
from layers import query as lq
from layers.base import LANGS, Field, Layer

bp = Blueprint("api_layers", __name__, url_prefix="/api/layers")

GEOJSON = "application/geo+json"


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
        "numberReturned": page.number,
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
