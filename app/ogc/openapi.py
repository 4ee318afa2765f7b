"""The OpenAPI 3.0 document of the OGC API (``/ogc/api``), one path per collection."""

from __future__ import annotations

from typing import Any

from flask import url_for

from app.ogc.common import (
    CRS_CODES,
    GEOJSON,
    HTML,
    INT_RANGE,
    ITEMS_QUERY,
    JSON,
    MAX_OFFSET,
    OPENAPI,
    filter_fields,
    title,
)
from geo import export as gx
from layers.base import Field
from layers.collections import collections
from layers.query import DEFAULT_LIMIT, MAX_LIMIT


def _param(
    name: str, schema: dict, description: str, style: str | None = None, empty: bool = False
) -> dict:
    p: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }
    if empty:  # ``name=`` means "not given"
        p["allowEmptyValue"] = True
    if style:
        p.update(style=style, explode=False)
    return p


# RFC 3339 instant or date, or an interval of them with ".." or nothing for an open end; empty:
# no filter. (A day the calendar lacks, 2024-02-31, or an interval ending before it starts,
# still answers 400.)
_DAY = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_INSTANT = (
    _DAY + r"([Tt ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d))?"
)
DATETIME_PATTERN = rf"^(({_INSTANT})|(({_INSTANT})/(({_INSTANT})|\.\.)?)|((\.\.)?/({_INSTANT})))?$"


def _nullable(schema: dict) -> dict:
    """A property the database may hold as NULL: ``nullable`` (and ``null`` among the choices,
    which OpenAPI 3.0.3 asks for when an enum is nullable)."""
    out = {**schema, "nullable": True}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def property_schema(f: Field) -> dict:
    schema = f.json_schema()
    return schema if f.required else _nullable(schema)


def filter_schema(f: Field) -> dict:
    """A simple filter's value: one value of the field (of its items, for a list field: the
    feature matches when its list holds it); empty means no filter."""
    schema = f.json_schema()
    if f.type.endswith("[]"):
        schema = {**schema["items"], "title": schema["title"]}
    t = schema.get("type")
    if t == "integer":
        schema.setdefault("minimum", INT_RANGE[0])
        schema.setdefault("maximum", INT_RANGE[1])
        schema["minimum"] = max(schema["minimum"], INT_RANGE[0])
        schema["maximum"] = min(schema["maximum"], INT_RANGE[1])
    elif t == "string" and "format" not in schema:
        schema.setdefault("maxLength", 500)
        schema["pattern"] = "^[^\\x00]*$"
    return schema


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
                f"Features per page (default {DEFAULT_LIMIT}, maximum {MAX_LIMIT}; more is a 400)",
                "form",
                empty=True,
            ),
            "offset": _param(
                "offset",
                {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
                "Features to skip",
                empty=True,
            ),
            "datetime": _param(
                "datetime",
                {"type": "string", "pattern": DATETIME_PATTERN},
                "Last update time (RFC 3339 instant, date or interval with '..'; empty: any)",
                "form",
                empty=True,
            ),
            "district": _param(
                "district",
                {"type": "integer", "minimum": 1, "maximum": 99},
                "District number (dzielnica)",
                empty=True,
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
            "414": {
                "description": "URI too long: the HTTP server (gunicorn) refuses a request line "
                "longer than 4094 bytes before the application sees it",
                "content": {
                    HTML: {"schema": {"type": "string"}},
                    "text/plain": {"schema": {"type": "string"}},
                },
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
            "414": {"$ref": "#/components/responses/414"},
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
            "properties": {
                coll.property_key(f): property_schema(f) for f in coll.layer.public_fields
            },
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
            _param(key, filter_schema(f), f"Equal to ({f.title('en')}); empty: any", empty=True)
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
