"""The OpenAPI 3.0 document of the OGC API (``/ogc/api``), one path per collection."""

from __future__ import annotations

from typing import Any

from flask import url_for

from app.ogc.common import (
    CRS_CODES,
    GEOJSON,
    HTML,
    ITEMS_QUERY,
    JSON,
    OPENAPI,
    filter_fields,
    title,
)
from geo import export as gx
from layers.collections import collections
from layers.query import DEFAULT_LIMIT, MAX_LIMIT


def _param(name: str, schema: dict, description: str, style: str | None = None) -> dict:
    p: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }
    if style:
        p.update(style=style, explode=False)
    return p


def openapi_doc() -> dict:
    crs_enum = [gx.crs_uri(c) for c in CRS_CODES]
    ref = "#/components/parameters/"
    components = {
        "parameters": {
            "f": _param("f", {"type": "string", "enum": ["json", "html"]}, "Output format"),
            "bbox": _param(
                "bbox",
                {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                "minx,miny,maxx,maxy in bbox-crs (default CRS84, longitude first); in "
                "EPSG:4326/2180/2178 northing (latitude) first",
                "form",
            ),
            "bbox-crs": _param(
                "bbox-crs", {"type": "string", "format": "uri", "enum": crs_enum}, "CRS of bbox"
            ),
            "crs": _param(
                "crs",
                {"type": "string", "format": "uri", "enum": crs_enum},
                "CRS of the response geometry (default CRS84)",
            ),
            "limit": _param(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                f"Features per page (default {DEFAULT_LIMIT}, maximum {MAX_LIMIT})",
                "form",
            ),
            "offset": _param(
                "offset", {"type": "integer", "minimum": 0, "default": 0}, "Features to skip"
            ),
            "datetime": _param(
                "datetime",
                {"type": "string"},
                "Last update time (RFC 3339 instant, date or interval with '..')",
                "form",
            ),
            "district": _param(
                "district", {"type": "integer", "minimum": 1}, "District number (dzielnica)"
            ),
            "featureId": {
                "name": "featureId",
                "in": "path",
                "required": True,
                "schema": {"type": "integer"},
            },
        },
        "schemas": {
            "exception": {
                "type": "object",
                "required": ["code"],
                "properties": {
                    "code": {"type": "string"},
                    "description": {"type": "string"},
                    "parameter": {"type": "string"},
                    "status": {"type": "integer"},
                },
            },
            "link": {
                "type": "object",
                "required": ["href"],
                "properties": {
                    "href": {"type": "string"},
                    "rel": {"type": "string"},
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                },
            },
        },
        "responses": {
            "400": {
                "description": "Invalid parameter",
                "content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}},
            },
            "404": {
                "description": "Not found",
                "content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}},
            },
        },
    }

    def ok(desc: str, media: str = JSON, schema: dict | None = None) -> dict:
        return {
            "200": {
                "description": desc,
                "content": {
                    media: {"schema": schema or {"type": "object"}},
                    HTML: {"schema": {"type": "string"}},
                },
            },
            "400": {"$ref": "#/components/responses/400"},
        }

    paths: dict[str, Any] = {
        "/": {
            "get": {
                "summary": "Landing page",
                "operationId": "getLandingPage",
                "parameters": [{"$ref": ref + "f"}],
                "responses": ok("Landing page"),
            }
        },
        "/conformance": {
            "get": {
                "summary": "Conformance classes",
                "operationId": "getConformance",
                "parameters": [{"$ref": ref + "f"}],
                "responses": ok("Conformance"),
            }
        },
        "/api": {
            "get": {
                "summary": "This document",
                "operationId": "getAPI",
                "parameters": [{"$ref": ref + "f"}],
                "responses": ok("OpenAPI 3.0", OPENAPI),
            }
        },
        "/collections": {
            "get": {
                "summary": "Collections",
                "operationId": "getCollections",
                "parameters": [{"$ref": ref + "f"}],
                "responses": ok("Collections"),
            }
        },
    }
    for coll in collections():
        cid = coll.name
        props_schema = {
            "type": "object",
            "properties": {coll.property_key(f): f.json_schema() for f in coll.layer.public_fields},
        }
        if not coll.msip_properties:
            props_schema["properties"]["districts"] = {
                "type": "array",
                "items": {"type": "integer"},
            }
            props_schema["properties"]["updated_at"] = {"type": "string", "format": "date-time"}
        feature_schema = {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "integer"},
                "geometry": {"type": "object", "nullable": True},
                "properties": props_schema,
            },
        }
        fc_schema = {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": feature_schema},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}},
                "timeStamp": {"type": "string", "format": "date-time"},
                "numberReturned": {"type": "integer", "minimum": 0},
            },
        }
        filters = [
            _param(key, f.json_schema(), f"Equal to ({f.title('en')})")
            for key, f in filter_fields(coll).items()
        ]
        headers = {
            "Content-Crs": {"description": "CRS of the geometry", "schema": {"type": "string"}}
        }
        items_ok = ok(f"{coll.layer.title('en')}: features", GEOJSON, fc_schema)
        items_ok["200"]["headers"] = headers
        item_ok = ok(f"{coll.layer.title('en')}: one feature", GEOJSON, feature_schema)
        item_ok["200"]["headers"] = headers
        item_ok["404"] = {"$ref": "#/components/responses/404"}
        paths[f"/collections/{cid}"] = {
            "get": {
                "summary": f"{coll.layer.title('en')} — metadata",
                "operationId": f"describe-{cid}",
                "parameters": [{"$ref": ref + "f"}],
                "responses": ok("Collection"),
            }
        }
        paths[f"/collections/{cid}/items"] = {
            "get": {
                "summary": f"{coll.layer.title('en')} — features",
                "operationId": f"getFeatures-{cid}",
                "parameters": [{"$ref": ref + n} for n in ("f", *ITEMS_QUERY)] + filters,
                "responses": items_ok,
            }
        }
        paths[f"/collections/{cid}/items/{{featureId}}"] = {
            "get": {
                "summary": f"{coll.layer.title('en')} — one feature",
                "operationId": f"getFeature-{cid}",
                "parameters": [
                    {"$ref": ref + "featureId"},
                    {"$ref": ref + "f"},
                    {"$ref": ref + "crs"},
                ],
                "responses": item_ok,
            }
        }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title(),
            "version": "1.0.0",
            "description": "OGC API – Features Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0) and "
            "Part 2 (CRS by reference) for the civic map's public layers and the districts.",
            "license": {"name": "Per collection: see each collection's license"},
        },
        "servers": [{"url": url_for("ogc.landing", _external=True).rstrip("/")}],
        "paths": paths,
        "components": components,
    }
