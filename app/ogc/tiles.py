"""OGC API – Tiles (Part 1: Core, TileSet, GeoData TileSets, MVT) over the /ogc collections.

``/ogc/collections/<id>/tiles`` lists the collection's one vector tileset,
``…/tiles/WebMercatorQuad`` describes it (2D TMS 2.0 tileset metadata: the templated tile URL,
the tile matrix limits over the city, the MVT layers and their properties) and
``…/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`` (row, i.e. y, before column)
is the same tile as ``/tiles/<layer>/{z}/{x}/{y}.mvt`` (layers.tiles; the collection's
property keys, e.g. MSIP's for districts). ``/ogc/tileMatrixSets/WebMercatorQuad`` is the
tile matrix set. GDAL's OGCAPI driver and QGIS read them.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, url_for

from app.db import engine
from app.ogc.common import (
    COMMON_PARAMS,
    JSON,
    OgcError,
    check_params,
    lang,
    link,
    parse_district,
    parse_filters,
    require_collection,
)
from app.tiles import tile_coords, tile_response, vector_layers
from geo import districts as gd
from layers import tiles as lt
from layers.collections import Collection

bp = Blueprint("ogc_tiles", __name__, url_prefix="/ogc")


@bp.errorhandler(OgcError)
def _ogc_error(exc: OgcError):
    return exc.to_dict(), exc.status


TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
CRS_3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
REL_TILESETS = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
REL_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
TILE_PARAMS = COMMON_PARAMS


def tiles_links(collection_id: str) -> list[dict[str, str]]:
    """The links a collection document lists for its tiles (app/ogc/routes.collection_doc)."""
    return [
        link(
            url_for("ogc_tiles.tilesets", collection_id=collection_id, _external=True),
            REL_TILESETS,
            JSON,
            "Kafle wektorowe (MVT)",
        )
    ]


def _template(cid: str) -> str:
    href = url_for("ogc_tiles.tile", collection_id=cid, z="0", y="0", x="0", _external=True)
    return href.removesuffix("/0/0/0") + "/{tileMatrix}/{tileRow}/{tileCol}"


def _limits(bounds: tuple[float, float, float, float] | None) -> list[dict[str, Any]]:
    if bounds is None:
        return []
    w, s, e, n = bounds
    out = []
    for z in range(lt.MAX_ZOOM + 1):
        k = 2**z

        def col(lon: float) -> int:
            return min(k - 1, max(0, int((lon + 180) / 360 * k)))  # noqa: B023

        def row(lat: float) -> int:
            y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * k  # noqa: B023
            return min(k - 1, max(0, int(y)))  # noqa: B023

        out.append(
            {
                "tileMatrix": str(z),
                "minTileRow": row(n),
                "maxTileRow": row(s),
                "minTileCol": col(w),
                "maxTileCol": col(e),
            }
        )
    return out


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    x = lon * lt.WORLD / 180
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * lt.WORLD / math.pi
    return round(x, 2), round(y, 2)


def _geometry_dimension(coll: Collection) -> int | None:
    dims = {0 if "Point" in g else 1 if "Line" in g else 2 for g in coll.layer.geometry_types}
    return dims.pop() if len(dims) == 1 else None


def tileset_doc(coll: Collection, bounds) -> dict[str, Any]:
    cid = coll.name
    keys = {f.name: coll.property_key(f) for f in coll.layer.public_fields}
    layers = []
    for vl in vector_layers(coll.layer, keys):
        entry: dict[str, Any] = {
            "id": vl["id"],
            "title": vl["description"],
            "dataType": "vector",
            "minTileMatrix": str(vl["minzoom"]),
            "maxTileMatrix": str(vl["maxzoom"]),
            "propertiesSchema": {
                "type": "object",
                "properties": {
                    k: {"type": "number" if v.startswith("Number") else "string"}
                    if v != "Boolean"
                    else {"type": "boolean"}
                    for k, v in vl["fields"].items()
                },
            },
        }
        dim = 0 if vl["id"].endswith("-clusters") else _geometry_dimension(coll)
        if dim is not None:
            entry["geometryDimension"] = dim
        layers.append(entry)
    doc: dict[str, Any] = {
        "title": coll.layer.title(lang()),
        "dataType": "vector",
        "crs": CRS_3857,
        "tileMatrixSetURI": TMS_URI,
        "links": [
            link(url_for("ogc_tiles.tileset", collection_id=cid, _external=True), "self", JSON),
            link(
                url_for("ogc_tiles.tile_matrix_set", tms=TMS, _external=True),
                REL_SCHEME,
                JSON,
                TMS,
            ),
            {
                "href": _template(cid),
                "rel": "item",
                "type": lt.MEDIA_TYPE,
                "templated": True,
                "title": "Kafel MVT",
            },
            link(url_for("ogc.collection", collection_id=cid, _external=True), "collection", JSON),
        ],
        "tileMatrixSetLimits": _limits(bounds),
        "layers": layers,
    }
    if bounds is not None:
        # in the tileset's CRS (GDAL reads the numbers so, whatever "crs" says)
        w, s_, e, n = bounds
        doc["boundingBox"] = {
            "lowerLeft": list(_mercator(w, s_)),
            "upperRight": list(_mercator(e, n)),
            "crs": CRS_3857,
        }
    return doc


@bp.get("/collections/<collection_id>/tiles")
def tilesets(collection_id: str):
    check_params(COMMON_PARAMS)
    coll = require_collection(collection_id)
    with engine().connect() as conn:
        doc = tileset_doc(coll, gd.city_bounds(conn))
    summary = {k: doc[k] for k in ("title", "dataType", "crs", "tileMatrixSetURI", "links")}
    return {
        "links": [
            link(
                url_for("ogc_tiles.tilesets", collection_id=coll.name, _external=True),
                "self",
                JSON,
            )
        ],
        "tilesets": [summary],
    }


@bp.get("/collections/<collection_id>/tiles/WebMercatorQuad")
def tileset(collection_id: str):
    check_params(COMMON_PARAMS)
    coll = require_collection(collection_id)
    with engine().connect() as conn:
        return tileset_doc(coll, gd.city_bounds(conn))


@bp.get("/collections/<collection_id>/tiles/WebMercatorQuad/<z>/<y>/<x>")
def tile(collection_id: str, z: str, y: str, x: str):
    coll = require_collection(collection_id)
    check_params(TILE_PARAMS | {"district"} | set(_filter_keys(coll)))
    zi, xi, yi = tile_coords(z, x, y)
    q = coll.query(district=parse_district(), filters=parse_filters(coll))
    return tile_response(coll.layer, q, zi, xi, yi)


def _filter_keys(coll: Collection) -> list[str]:
    return [coll.property_key(f) for f in coll.layer.filter_fields]


@bp.get("/tileMatrixSets")
def tile_matrix_sets():
    check_params(COMMON_PARAMS)
    href = url_for("ogc_tiles.tile_matrix_set", tms=TMS, _external=True)
    return {
        "tileMatrixSets": [
            {
                "id": TMS,
                "title": "Google Maps Compatible for the World",
                "uri": TMS_URI,
                "links": [link(href, "self", JSON)],
            }
        ]
    }


@bp.get("/tileMatrixSets/<tms>")
def tile_matrix_set(tms: str):
    check_params(COMMON_PARAMS)
    if tms != TMS:
        raise OgcError(
            404, "NotFound", f"no tile matrix set {tms!r}; known: {TMS}", "tileMatrixSetId"
        )
    matrices = []
    for z in range(lt.MAX_ZOOM + 1):
        k = 2**z
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": 559082264.0287178 / k,
                "cellSize": 156543.03392804097 / k,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-lt.WORLD, lt.WORLD],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": k,
                "matrixHeight": k,
            }
        )
    return {
        "id": TMS,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": CRS_3857,
        "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    }
