"""GET /tiles/<layer>/{z}/{x}/{y}.mvt: vector tiles of every registered public layer (issue 11).

The tiles are built by PostGIS in layers.tiles (one statement per tile, cached per layer
version); this module parses the request (the same filters as /api/layers/<layer>/features,
parsed by app.api.filters), answers 304 to a current ``If-None-Match`` and sets the
validators. ``/tiles/<layer>.json`` is the layer's TileJSON (the URL template and the MVT
layers' fields), for MapLibre, QGIS and other clients.
"""

from __future__ import annotations

import os
import re
from typing import Any

from flask import Blueprint, Flask, Response, request, url_for

from app.api.filters import feature_query, param_names, public_layer, public_layers
from app.db import engine
from app.errors import ApiError
from layers import query as lq
from layers import tile_warm
from layers import tiles as lt
from layers.base import Layer

bp = Blueprint("tiles", __name__, url_prefix="/tiles")


def init_app(app: Flask) -> None:
    """The routes, and the tile warmer when ``TILE_WARM_EVERY`` (or $CIVICMAP_TILE_WARM) gives
    its period in seconds: after a write, the clustered layers' city-scale tiles are rebuilt
    in the background (layers.tile_warm), so the first whole-city view after it is a hit.
    ``civicmap serve`` turns it on (10 s); tests and benchmarks leave it off."""
    app.register_blueprint(bp)
    every = float(app.config.get("TILE_WARM_EVERY") or os.environ.get("CIVICMAP_TILE_WARM") or 0)
    if every > 0:
        layers = tile_warm.clustered_layers(public_layers())
        warmer = tile_warm.Warmer(app.extensions["engine"], layers, every)
        app.extensions["tile_warmer"] = warmer.start()


CACHE_CONTROL = "public, no-cache"  # keep, but revalidate: a write shows on the next pan
_NUMBER = re.compile(r"^[0-9]{1,8}$")
NOT_TILE_PARAMS = {"bbox", "limit", "offset"}  # the tile is the box; a tile has no pages


def tile_coords(z: str, x: str, y: str) -> tuple[int, int, int]:
    """z/x/y as numbers inside the WebMercatorQuad matrix, else a 400 naming the coordinate."""
    out = []
    for name, raw in (("z", z), ("x", x), ("y", y)):
        if not _NUMBER.match(raw):
            raise ApiError(
                400, "invalid_parameter", f"tile coordinate '{name}' must be a whole number", name
            )
        out.append(int(raw))
    zi, xi, yi = out
    if zi > lt.MAX_ZOOM:
        raise ApiError(
            400,
            "invalid_parameter",
            f"tile coordinate 'z' must be between 0 and {lt.MAX_ZOOM}",
            "z",
        )
    for name, v in (("x", xi), ("y", yi)):
        if v >= 2**zi:
            raise ApiError(
                400,
                "invalid_parameter",
                f"tile coordinate '{name}' must be between 0 and {2**zi - 1} at zoom {zi}",
                name,
            )
    return zi, xi, yi


def tile_query(layer: Layer) -> lq.FeatureQuery:
    """The API's filters (district, status, edition, category, q, the layer's own fields)."""
    allowed = param_names(layer) - NOT_TILE_PARAMS
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise ApiError(
            400,
            "unknown_parameter",
            f"tiles of {layer.name!r} have no parameter {unknown[0]!r}; "
            f"known: {', '.join(sorted(allowed))}",
            unknown[0],
        )
    return feature_query(layer)


def client_etags() -> dict[str, str]:
    """If-None-Match's tags, each mapped from our own form (a gzipped body's tag ends -gz)."""
    out: dict[str, str] = {}
    for tag in request.if_none_match.as_set(include_weak=True):
        out[tag.removesuffix("-gz")] = tag
    return out


def tile_response(
    layer: Layer, q: lq.FeatureQuery, z: int, x: int, y: int, empty_status: int = 204
) -> Response:
    """The tile (200; ``empty_status`` when nothing is in it), or 304 for a current ETag."""
    theirs = client_etags()
    t = tile_warm.tile(engine(), layer, q, z, x, y, if_none_match=set(theirs))
    headers: dict[str, Any] = {"Cache-Control": CACHE_CONTROL}
    if t.not_modified:
        headers["ETag"] = f'"{theirs[t.etag]}"'  # the form the client holds (-gz or not)
        return Response(status=304, headers=headers)
    headers["ETag"] = f'"{t.etag}"'
    headers["X-Tile-Cache"] = "hit" if t.cached else ("miss" if t.version else "off")
    if not t.data:
        return Response(status=empty_status, headers=headers, mimetype=lt.MEDIA_TYPE)
    return Response(t.data, headers=headers, mimetype=lt.MEDIA_TYPE)


@bp.get("/<layer>/<z>/<x>/<y>.mvt")
def tile(layer: str, z: str, x: str, y: str):
    ly = public_layer(layer)
    zi, xi, yi = tile_coords(z, x, y)
    return tile_response(ly, tile_query(ly), zi, xi, yi)


def vector_layers(layer: Layer, keys: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The MVT layers of a layer's tiles and their attributes (TileJSON ``vector_layers``)."""
    keys = keys or {}
    fname, cname = lt.layer_names(layer)
    types = {"int": "Number", "float": "Number", "money": "Number", "bool": "Boolean"}
    fields = {"id": "Number", "districts": "String"}
    for f in lt.tile_fields(layer):
        fields[keys.get(f.name, f.name)] = types.get(f.type, "String")
    out = [
        {
            "id": fname,
            "description": layer.title("pl"),
            "minzoom": 0,
            "maxzoom": lt.MAX_ZOOM,
            "fields": fields,
        }
    ]
    if layer.style.cluster:
        cfields = {"count": "Number", "id": "Number (a cell of one feature: its id)"}
        by = lt.breakdown_field(layer)
        if by is not None:
            for v in lt.breakdown_values(layer, by):
                cfields[f"{keys.get(by.name, by.name)}:{v}"] = "Number"
        out.append(
            {
                "id": cname,
                "description": f"{layer.title('pl')}: klastry (z < {lt.CLUSTER_BELOW})",
                "minzoom": 0,
                "maxzoom": lt.CLUSTER_BELOW - 1,
                "fields": cfields,
            }
        )
    return out


@bp.get("/<layer>.json")
def tilejson(layer: str):
    ly = public_layer(layer)
    q = tile_query(ly)  # validates the filters the template carries on
    del q
    template = url_for("tiles.tile", layer=ly.name, z=0, x=0, y=0, _external=True)
    template = template.replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt")
    if request.query_string:
        template += "?" + request.query_string.decode()
    return {
        "tilejson": "3.0.0",
        "name": ly.title("pl"),
        "description": ly.descriptions.get("pl", ""),
        "attribution": ly.ogc.attribution,
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": 0,
        "maxzoom": lt.MAX_ZOOM,
        "vector_layers": vector_layers(ly),
        "cluster_below_zoom": lt.CLUSTER_BELOW if ly.style.cluster else None,
    }


@bp.get("")
def index():
    return {
        "layers": [
            {
                "name": ly.name,
                "tilejson": url_for("tiles.tilejson", layer=ly.name, _external=True),
                "tiles": url_for("tiles.tile", layer=ly.name, z=0, x=0, y=0).replace(
                    "/0/0/0.mvt", "/{z}/{x}/{y}.mvt"
                ),
            }
            for ly in public_layers()
        ]
    }
