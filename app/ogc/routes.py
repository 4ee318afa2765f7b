"""OGC API – Features at /ogc: Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0) and Part 2 (CRS).

Collections are every public layer of the registry plus ``districts`` (layers.collections).
Items come from the one read path, layers.query (the JSON built by PostGIS); a page fetches
``limit + 1`` rows to know whether a ``next`` link is due — no whole-table count. Requests
with ``datetime`` (MSIP's incremental sync) are written to the sync log.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from sqlalchemy import Connection

from app.db import engine
from app.ogc.common import (
    COMMON_PARAMS,
    CONFORMANCE,
    CRS_CODES,
    GEOJSON,
    HTML,
    ITEMS_PARAMS,
    JSON,
    OPENAPI,
    TRS,
    OgcError,
    check_params,
    client_label,
    content_crs,
    filter_fields,
    flipped,
    here,
    json_response,
    lang,
    link,
    output_format,
    parse_bbox,
    parse_crs_param,
    parse_datetime,
    parse_district,
    parse_filters,
    parse_limit,
    parse_offset,
    require_collection,
    self_links,
    srid_of,
    title,
)
from app.ogc.openapi import openapi_doc
from app.ogc.tiles import tiles_links
from geo import districts as gd
from geo import export as gx
from layers import query as lq
from layers.collections import Collection, collections

bp = Blueprint("ogc", __name__, url_prefix="/ogc")


@bp.errorhandler(OgcError)
def _ogc_error(exc: OgcError):
    return Response(json.dumps(exc.to_dict(), ensure_ascii=False), exc.status, mimetype=JSON)


# --- extents -------------------------------------------------------------------------------


def city_extent(conn: Connection) -> list[float] | None:
    bounds = gd.city_bounds(conn)
    return None if bounds is None else [round(v, 6) for v in bounds]


def temporal_extent(conn: Connection, coll: Collection) -> list[str | None]:
    return [
        v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if v is not None else None
        for v in lq.updated_range(conn, coll.layer, coll.query())
    ]


# --- documents -------------------------------------------------------------------------------


def collection_doc(conn: Connection, coll: Collection, bbox: list[float] | None) -> dict:
    layer = coll.layer
    cid = coll.name
    doc: dict[str, Any] = {
        "id": cid,
        "title": layer.title(lang()),
        "description": layer.descriptions.get(lang()) or layer.descriptions.get("pl", ""),
        "keywords": list(layer.ogc.keywords),
        "itemType": "feature",
        "extent": {
            "spatial": {"bbox": [bbox] if bbox else [], "crs": gx.CRS84_URI},
            "temporal": {"interval": [temporal_extent(conn, coll)], "trs": TRS},
        },
        "crs": [gx.crs_uri(c) for c in CRS_CODES],
        "storageCrs": gx.CRS84_URI,
        "license": layer.ogc.license,
        "attribution": layer.ogc.attribution,
        "links": [
            link(url_for("ogc.collection", collection_id=cid, _external=True), "self", JSON),
            link(
                url_for("ogc.collection", collection_id=cid, f="html", _external=True),
                "alternate",
                HTML,
            ),
            link(
                url_for("ogc.items", collection_id=cid, _external=True),
                "items",
                GEOJSON,
                "Features (GeoJSON)",
            ),
            link(
                url_for("ogc.items", collection_id=cid, f="html", _external=True),
                "items",
                HTML,
                "Features (HTML)",
            ),
            link(
                url_for("ogc.queryables", collection_id=cid, _external=True),
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "Queryables",
            ),
        ]
        + [
            link(
                url_for("exports.download", filename=f"{cid}.{k}", _external=True),
                "enclosure",
                f.media_type.split(";")[0],
                f.title,
            )
            for k, f in gx.FORMATS.items()
        ]
        + tiles_links(cid),
    }
    return doc


@bp.get("")
@bp.get("/")
def landing():
    check_params(COMMON_PARAMS)
    doc = {
        "title": title(),
        "description": "Dane mapy obywatelskiej dla MSIP i systemów GIS (OGC API – Features, "
        "układy CRS84, EPSG:4326, EPSG:2180, EPSG:2178, EPSG:3857).",
        "links": self_links()
        + [
            link(url_for("ogc.api", _external=True), "service-desc", OPENAPI, "OpenAPI 3.0"),
            link(url_for("ogc.api", f="html", _external=True), "service-doc", HTML, "API (HTML)"),
            link(url_for("ogc.conformance", _external=True), "conformance", JSON),
            link(
                url_for("ogc.conformance", _external=True),
                "http://www.opengis.net/def/rel/ogc/1.0/conformance",
                JSON,
            ),
            link(url_for("ogc.collections_", _external=True), "data", JSON, "Collections"),
            link(
                url_for("ogc.collections_", _external=True),
                "http://www.opengis.net/def/rel/ogc/1.0/data",
                JSON,
            ),
        ],
    }
    if output_format() == "html":
        return render_template("ogc/landing.html", doc=doc, collections=collections(), lang=lang())
    return json_response(doc)


@bp.get("/conformance")
def conformance():
    check_params(COMMON_PARAMS)
    doc = {"conformsTo": CONFORMANCE, "links": self_links()}
    if output_format() == "html":
        return render_template("ogc/conformance.html", doc=doc)
    return json_response(doc)


@bp.get("/collections")
def collections_():
    check_params(COMMON_PARAMS)
    colls = collections()
    with engine().connect() as conn:
        bbox = city_extent(conn)
        docs = [collection_doc(conn, c, bbox) for c in colls]
    doc = {
        "links": self_links(),
        "collections": docs,
        "crs": [gx.crs_uri(c) for c in CRS_CODES],
    }
    if output_format() == "html":
        return render_template("ogc/collections.html", doc=doc)
    return json_response(doc)


@bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    check_params(COMMON_PARAMS)
    coll = require_collection(collection_id)
    with engine().connect() as conn:
        doc = collection_doc(conn, coll, city_extent(conn))
    if output_format() == "html":
        return render_template(
            "ogc/collection.html", doc=doc, filters=filter_fields(coll), coll=coll
        )
    return json_response(doc)


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str):
    check_params(COMMON_PARAMS)
    coll = require_collection(collection_id)
    props = {key: f.json_schema() for key, f in filter_fields(coll).items()}
    props["district"] = {"type": "integer", "title": "Numer dzielnicy"}
    doc = {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url_for("ogc.queryables", collection_id=coll.name, _external=True),
        "type": "object",
        "title": coll.layer.title(lang()),
        "properties": props,
    }
    return json_response(doc, "application/schema+json")


def item_query(coll: Collection) -> tuple[lq.FeatureQuery, int]:
    code = parse_crs_param("crs")
    srid = srid_of(code)
    q = coll.query(srid=srid, flip_axes=flipped(code), precision=7 if srid == 4326 else 3)
    return q, code


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    coll = require_collection(collection_id)
    check_params(ITEMS_PARAMS | set(filter_fields(coll)))
    fmt = output_format()
    q, code = item_query(coll)
    bb = parse_bbox()
    if bb:
        q.bbox, q.bbox_srid = bb
    q.limit = parse_limit()
    q.offset = parse_offset()
    q.updated_from, q.updated_to, has_datetime = parse_datetime()
    q.filters = parse_filters(coll)
    q.district = parse_district()
    with engine().connect() as conn:
        page = lq.features(conn, coll.layer, q)
    more = page.has_more
    if has_datetime:
        with engine().begin() as conn:
            gx.record_sync(
                conn,
                layer=coll.name,
                op="ogc-items",
                format=fmt if fmt == "html" else "geojson",
                crs=gx.crs_label(code),
                features=page.number,
                params=dict(request.args),
                client=client_label(),
            )
    json_type = GEOJSON
    links = self_links(json_type) + [
        link(
            url_for("ogc.collection", collection_id=coll.name, _external=True),
            "collection",
            JSON,
            coll.layer.title(lang()),
        )
    ]
    if more:
        links.append(
            link(here(offset=q.offset + q.limit, limit=q.limit), "next", json_type, "Next page")
        )
    if q.offset > 0:
        links.append(
            link(
                here(offset=max(q.offset - q.limit, 0), limit=q.limit),
                "prev",
                json_type,
                "Previous page",
            )
        )
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "html":
        html_links = {
            rel: here(offset=o, limit=q.limit, f="html")
            for rel, o in (("next", q.offset + q.limit), ("prev", max(q.offset - q.limit, 0)))
            if (rel == "next" and more) or (rel == "prev" and q.offset > 0)
        }
        return Response(
            render_template(
                "ogc/items.html",
                coll=coll,
                features=[json.loads(f) for f in page.features],
                fields=coll.layer.public_fields,
                links=html_links,
                offset=q.offset,
                crs=gx.crs_label(code),
                json_url=here(f="json"),
            ),
            headers=content_crs(code),
        )
    body = page.collection(links=links, timeStamp=stamp, numberReturned=page.number)
    return json_response(body, GEOJSON, content_crs(code))


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    coll = require_collection(collection_id)
    check_params(COMMON_PARAMS | {"crs"})
    fmt = output_format()
    q, code = item_query(coll)
    if not re.fullmatch(r"\d{1,18}", feature_id):
        raise OgcError(404, "NotFound", f"no feature {feature_id!r} in {coll.name}", "featureId")
    with engine().connect() as conn:
        found = lq.feature(conn, coll.layer, int(feature_id), q)
    if found is None:
        raise OgcError(404, "NotFound", f"no feature {feature_id!r} in {coll.name}", "featureId")
    links = self_links(GEOJSON) + [
        link(
            url_for("ogc.collection", collection_id=coll.name, _external=True), "collection", JSON
        ),
        link(url_for("ogc.items", collection_id=coll.name, _external=True), "items", GEOJSON),
    ]
    if fmt == "html":
        return Response(
            render_template(
                "ogc/item.html",
                coll=coll,
                feature=json.loads(found),
                fields=coll.layer.public_fields,
                crs=gx.crs_label(code),
                json_url=here(f="json"),
            ),
            headers=content_crs(code),
        )
    return json_response(lq.with_members(found, links=links), GEOJSON, content_crs(code))


@bp.get("/api")
def api():
    check_params(COMMON_PARAMS)
    doc = openapi_doc()
    if output_format() == "html":
        return render_template("ogc/api.html", doc=doc)
    return json_response(doc, OPENAPI)
