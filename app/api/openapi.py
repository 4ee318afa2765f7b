"""The OpenAPI 3.0 document of the JSON API (``/api/openapi.json``): the districts and every
public layer of the registry, one path per layer (each has its own filters).

Written from the same code that parses the requests (app/api/filters.py, app/params.py), so
what it promises is what the API does; tests/test_faults_schemathesis.py holds it to that.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for

from app.api.filters import (
    COMMON_PARAMS,
    MAX_ID,
    MAX_OFFSET,
    MAX_Q,
    ROLES,
    filter_fields,
    public_choices,
    public_layers,
    role_field,
)
from layers import query as lq
from layers.base import Field, Layer

bp = Blueprint("api_openapi", __name__, url_prefix="/api")

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
ERROR = {"$ref": "#/components/schemas/error"}
NO_NUL = "^[^\\x00]*$"
INT_RANGE = (-(2**31), 2**31 - 1)  # an integer column


def _q(name: str, schema: dict, description: str, required: bool = False) -> dict[str, Any]:
    p: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }
    if not required:
        p["allowEmptyValue"] = True  # ``name=`` is "not given" (an HTML form sends that)
    return p


def _value_schema(layer: Layer, f: Field) -> dict[str, Any]:
    """One filter value, as app.api.filters.parse_value reads it."""
    base = f.type.removesuffix("[]")
    if base == "int":
        lo = INT_RANGE[0] if f.minimum is None else max(f.minimum, INT_RANGE[0])
        hi = INT_RANGE[1] if f.maximum is None else min(f.maximum, INT_RANGE[1])
        return {"type": "integer", "minimum": lo, "maximum": hi}
    if base in ("float", "money"):
        s: dict[str, Any] = {"type": "number"}
        if f.minimum is not None:
            s["minimum"] = f.minimum
        if f.maximum is not None:
            s["maximum"] = f.maximum
        return s
    if base == "bool":
        return {"type": "boolean"}
    if base == "date":
        return {"type": "string", "format": "date"}
    if base == "datetime":
        return {"type": "string", "format": "date-time"}
    choices = public_choices(layer, f)
    if choices:
        return {"type": "string", "enum": list(choices)}
    return {"type": "string", "maxLength": f.max_length or 500, "pattern": NO_NUL}


def _property_schema(f: Field) -> dict[str, Any]:
    schema = f.json_schema()
    schema.pop("maxLength", None)  # imported text may be longer than a form allows
    if f.required:
        return schema
    schema["nullable"] = True
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _feature_schema(layer: Layer) -> dict[str, Any]:
    props: dict[str, Any] = {f.name: _property_schema(f) for f in layer.public_fields}
    props["external_id"] = {"type": "string", "nullable": True}
    props["districts"] = {"type": "array", "items": {"type": "integer"}, "nullable": True}
    props["updated_at"] = {"type": "string", "format": "date-time", "nullable": True}
    return {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": {"type": "object", "nullable": True},
            "properties": {"type": "object", "properties": props},
        },
    }


def _layer_params(layer: Layer) -> list[dict[str, Any]]:
    params = [
        {
            **_q(
                "bbox",
                {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
                "west,south,east,north in degrees (west<=east, south<=north)",
            ),
            "style": "form",
            "explode": False,
        },
        _q("district", {"type": "integer", "minimum": 1, "maximum": 32767}, "District number"),
        _q("q", {"type": "string", "maxLength": MAX_Q, "pattern": NO_NUL}, "Title contains"),
        _q(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": lq.MAX_LIMIT},
            f"Features per page (default {lq.DEFAULT_LIMIT})",
        ),
        _q("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}, "Skip"),
        _q("lang", {"type": "string"}, "pl, en or uk (anything else: Accept-Language)"),
    ]
    assert {p["name"] for p in params} == set(COMMON_PARAMS)
    # A role alias (?status= for the layer's status field) is the same filter under another
    # name; both together must agree (else a 400), which a schema cannot say: the document
    # lists the field and names its alias in the description.
    names = set(COMMON_PARAMS)
    aliases = {role_field(layer, r): r for r in ROLES if role_field(layer, r)}
    for f in filter_fields(layer):
        if f.name not in names:
            names.add(f.name)
            alias = aliases.get(f.name)
            also = f"; also ?{alias}=" if alias and alias != f.name else ""
            params.append(_q(f.name, _value_schema(layer, f), f"Equal to ({f.title('en')}){also}"))
    return params


def _responses(description: str, media: str, schema: dict, not_found: bool = False) -> dict:
    out: dict[str, Any] = {
        "200": {"description": description, "content": {media: {"schema": schema}}},
        "400": {
            "description": "A parameter is wrong (error.field names it)",
            "content": {JSON: {"schema": ERROR}},
        },
    }
    if not_found:
        out["404"] = {"description": "Not found", "content": {JSON: {"schema": ERROR}}}
    return out


def openapi_doc() -> dict[str, Any]:
    simplify = _q(
        "simplify", {"type": "number", "minimum": 0, "maximum": 0.01}, "Tolerance in degrees"
    )
    fc = {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": {"type": "object"}},
        },
    }
    paths: dict[str, Any] = {
        "/api/districts": {
            "get": {
                "operationId": "districts",
                "summary": "District boundaries",
                "parameters": [simplify],
                "responses": _responses("Districts", GEOJSON, fc),
            }
        },
        "/api/districts/{number}": {
            "get": {
                "operationId": "district",
                "summary": "One district",
                "parameters": [
                    {
                        "name": "number",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                    },
                    simplify,
                ],
                "responses": _responses("District", GEOJSON, {"type": "object"}, True),
            }
        },
        "/api/districts/locate": {
            "get": {
                "operationId": "locateDistrict",
                "summary": "The district of a point (404 outside the city)",
                "parameters": [
                    _q("lon", {"type": "number", "minimum": -180, "maximum": 180}, "lon", True),
                    _q("lat", {"type": "number", "minimum": -90, "maximum": 90}, "lat", True),
                ],
                "responses": _responses("District", JSON, {"type": "object"}, True),
            }
        },
        "/api/layers": {
            "get": {
                "operationId": "layers",
                "summary": "Public layers",
                "responses": _responses(
                    "Layers",
                    JSON,
                    {
                        "type": "object",
                        "required": ["layers"],
                        "properties": {"layers": {"type": "array", "items": {"type": "object"}}},
                    },
                ),
            }
        },
    }
    for layer in public_layers():
        base = f"/api/layers/{layer.name}"
        feature = _feature_schema(layer)
        paths[base] = {
            "get": {
                "operationId": f"layer-{layer.name}",
                "summary": f"{layer.title('en')}: metadata",
                "responses": _responses("Layer", JSON, {"type": "object", "required": ["name"]}),
            }
        }
        paths[base + "/features"] = {
            "get": {
                "operationId": f"features-{layer.name}",
                "summary": f"{layer.title('en')}: features",
                "parameters": _layer_params(layer),
                "responses": _responses(
                    "Features",
                    GEOJSON,
                    {
                        "type": "object",
                        "required": ["type", "features", "numberReturned"],
                        "properties": {
                            "type": {"type": "string", "enum": ["FeatureCollection"]},
                            "features": {"type": "array", "items": feature},
                            "numberReturned": {"type": "integer", "minimum": 0},
                            "limit": {"type": "integer"},
                            "offset": {"type": "integer"},
                        },
                    },
                ),
            }
        }
        paths[base + "/features/{id}"] = {
            "get": {
                "operationId": f"feature-{layer.name}",
                "summary": f"{layer.title('en')}: one feature",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                    }
                ],
                "responses": _responses("Feature", GEOJSON, feature, True),
            }
        }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Civic Map — JSON API",
            "version": "1.0.0",
            "description": "The JSON API of the maps: districts and the public layers "
            "(GeoJSON). GIS clients: the OGC API – Features at /ogc.",
        },
        "servers": [{"url": url_for("pages.index", _external=True).rstrip("/")}],
        "paths": paths,
        "components": {
            "schemas": {
                "error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "field": {"type": "string"},
                            },
                        }
                    },
                }
            }
        },
    }


@bp.get("/openapi.json")
def openapi():
    from flask import Response, json

    return Response(json.dumps(openapi_doc()), mimetype=OPENAPI.split(";")[0])
