"""OGC API – Features at /ogc: Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0) and Part 2 (CRS).

Collections are every public layer of the registry plus ``districts`` (app.exports). Items
are built in SQL (the WHERE clause comes from layers.query, the JSON from PostGIS); a page
fetches ``limit + 1`` rows to know whether a ``next`` link is due — no whole-table count.

Axis order (Part 2): a response in CRS84 (the default) or EPSG:3857 is easting first;
EPSG:4326, EPSG:2180 and EPSG:2178 are northing (latitude) first, as their EPSG definitions
say. ``bbox`` is read in the axis order of ``bbox-crs`` the same way. Requests with
``datetime`` (MSIP's incremental sync) are written to the sync log.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import get_locale
from sqlalchemy import Connection, text

from app import engine
from app.exports import Collection, client_label, collections, get_collection
from geo import export as gx
from geo.crs import NORTHING_FIRST, SUPPORTED
from geo.schema import ident
from layers.base import Field
from layers.query import DEFAULT_LIMIT, MAX_LIMIT, FeatureQuery, geometry_sql, where_clause

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
CONFORMANCE = [
    CONF + "core",
    CONF + "oas30",
    CONF + "html",
    CONF + "geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
CRS_CODES = (gx.CRS84, 4326, 2180, 2178, 3857)
assert set(CRS_CODES) - {gx.CRS84} == set(SUPPORTED)
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

COMMON_PARAMS = {"f", "lang"}
ITEMS_PARAMS = COMMON_PARAMS | {
    "bbox",
    "bbox-crs",
    "crs",
    "limit",
    "offset",
    "datetime",
    "district",
}


class OgcError(Exception):
    """An OGC API exception: ``{"code", "description", "parameter", "status"}``."""

    def __init__(self, status: int, code: str, description: str, parameter: str | None = None):
        super().__init__(description)
        self.status, self.code, self.description, self.parameter = (
            status,
            code,
            description,
            parameter,
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "description": self.description}
        if self.parameter:
            d["parameter"] = self.parameter
        d["status"] = self.status
        return d


def bad_param(name: str, message: str) -> OgcError:
    return OgcError(400, "InvalidParameterValue", f"{name}: {message}", name)


@bp.errorhandler(OgcError)
def _ogc_error(exc: OgcError):
    return Response(json.dumps(exc.to_dict(), ensure_ascii=False), exc.status, mimetype=JSON)


# --- request helpers ---------------------------------------------------------------------


def lang() -> str:
    return str(get_locale() or "pl")


def output_format() -> str:
    """``json`` or ``html``, from ``f`` or the Accept header (JSON unless HTML is preferred)."""
    f = request.args.get("f")
    if f is not None:
        if f in ("json", "geojson", "application/json", "application/geo+json"):
            return "json"
        if f in ("html", "text/html"):
            return "html"
        raise bad_param("f", f"unknown format {f!r}; use json or html")
    accept = request.accept_mimetypes
    html_q = accept[HTML]
    json_q = max(accept[JSON], accept[GEOJSON], accept[OPENAPI])
    return "html" if html_q > json_q and html_q > 0 else "json"


def check_params(allowed: set[str]) -> None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise bad_param(
            unknown[0], f"unknown query parameter; allowed: {', '.join(sorted(allowed))}"
        )


def here(**changes: Any) -> str:
    """This request's URL with query parameters changed (None drops one)."""
    args: dict[str, Any] = {k: v for k, v in request.args.items()}
    for k, v in changes.items():
        if v is None:
            args.pop(k, None)
        else:
            args[k] = v
    return url_for(request.endpoint, **(request.view_args or {}), **args, _external=True)


def link(href: str, rel: str, type_: str, title: str = "") -> dict[str, str]:
    d = {"href": href, "rel": rel, "type": type_}
    if title:
        d["title"] = title
    return d


def self_links(json_type: str = JSON) -> list[dict[str, str]]:
    fmt = output_format()
    return [
        link(here(f="json"), "self" if fmt == "json" else "alternate", json_type, "JSON"),
        link(here(f="html"), "self" if fmt == "html" else "alternate", HTML, "HTML"),
    ]


def json_response(doc: Any, mimetype: str = JSON, headers: dict[str, str] | None = None):
    body = doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False, default=str)
    resp = Response(body, mimetype=mimetype.split(";")[0], headers=headers or {})
    if ";" in mimetype:
        resp.headers["Content-Type"] = mimetype
    return resp


def require_collection(collection_id: str) -> Collection:
    coll = get_collection(collection_id)
    if coll is None:
        raise OgcError(404, "NotFound", f"no collection {collection_id!r}", "collectionId")
    return coll


def parse_crs_param(name: str, default: int = gx.CRS84) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return gx.parse_crs(raw, parameter=name)
    except gx.ExportError as exc:
        raise bad_param(name, str(exc).split(": ", 1)[-1]) from None


def srid_of(code: int) -> int:
    return 4326 if code == gx.CRS84 else code


def flipped(code: int) -> bool:
    return code != gx.CRS84 and code in NORTHING_FIRST


def content_crs(code: int) -> dict[str, str]:
    return {"Content-Crs": f"<{gx.crs_uri(code)}>"}


# --- parameter parsing ---------------------------------------------------------------------

_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def parse_bbox() -> tuple[tuple[float, float, float, float], int] | None:
    """bbox in the axis order of bbox-crs → (west, south, east, north) easting first, srid."""
    raw = request.args.get("bbox")
    code = parse_crs_param("bbox-crs")
    if raw is None:
        if "bbox-crs" in request.args:
            raise bad_param("bbox-crs", "given without bbox")
        return None
    parts = raw.split(",")
    if len(parts) not in (4, 6) or not all(_NUMBER.match(p) for p in parts):
        raise bad_param("bbox", "needs 4 (or 6) comma-separated numbers: minx,miny,maxx,maxy")
    nums = [float(p) for p in parts]
    if len(nums) == 6:  # minx,miny,minz,maxx,maxy,maxz: heights are ignored
        nums = [nums[0], nums[1], nums[3], nums[4]]
    a1, b1, a2, b2 = nums
    if flipped(code):  # northing first: (minN, minE, maxN, maxE)
        w, s, e, n = b1, a1, b2, a2
    else:
        w, s, e, n = a1, b1, a2, b2
    if w > e or s > n:
        raise bad_param("bbox", "lower corner must not exceed upper corner")
    if srid_of(code) == 4326 and not (
        -180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90
    ):
        raise bad_param("bbox", "outside longitude/latitude ranges (check the axis order)")
    # A zero-width box (a point or line) is legal; PostGIS's envelope would be degenerate and
    # intersect nothing, so widen it by far less than the data's precision.
    eps = 1e-9 if srid_of(code) == 4326 else 1e-4
    if w == e:
        w, e = w - eps, e + eps
    if s == n:
        s, n = s - eps, n + eps
    return (w, s, e, n), srid_of(code)


def parse_limit() -> int:
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not re.fullmatch(r"\d+", raw.strip()) or int(raw) < 1:
        raise bad_param("limit", f"must be a whole number from 1 to {MAX_LIMIT}, got {raw!r}")
    return min(int(raw), MAX_LIMIT)  # above the maximum: the maximum (Part 1, /req/core/fc-limit)


def parse_offset() -> int:
    raw = request.args.get("offset")
    if raw is None or raw == "":
        return 0
    if not re.fullmatch(r"\d+", raw.strip()) or int(raw) > 10_000_000:
        raise bad_param("offset", f"must be a whole number ≥ 0, got {raw!r}")
    return int(raw)


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _instant(s: str, end: bool) -> datetime:
    s = s.strip()
    if _DATE.match(s):
        d = date.fromisoformat(s)
        start = datetime(d.year, d.month, d.day, tzinfo=UTC)
        return start + timedelta(days=1) - timedelta(microseconds=1) if end else start
    if _RFC3339.match(s):
        return datetime.fromisoformat(s.replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
    raise ValueError(s)


def parse_datetime() -> tuple[datetime | None, datetime | None, bool]:
    """RFC 3339 instant, date, or interval ``a/b`` with ``..`` or empty for open ends."""
    raw = request.args.get("datetime")
    if raw is None:
        return None, None, False
    try:
        if "/" in raw:
            a, _, b = raw.partition("/")
            if a in ("..", "") and b in ("..", ""):
                raise ValueError(raw)
            lo = None if a in ("..", "") else _instant(a, end=False)
            hi = None if b in ("..", "") else _instant(b, end=True)
            if lo and hi and lo > hi:
                raise bad_param("datetime", "interval start is after its end")
            return lo, hi, True
        if _DATE.match(raw.strip()):
            return _instant(raw, end=False), _instant(raw, end=True), True
        t = _instant(raw, end=False)
        return t, t, True
    except ValueError:
        raise bad_param(
            "datetime",
            f"{raw!r} is not an RFC 3339 date-time, date or interval "
            "(e.g. 2024-05-01T00:00:00Z, 2024-05-01, 2024-05-01T00:00:00Z/..)",
        ) from None


def filter_fields(coll: Collection) -> dict[str, Field]:
    """Query parameter name -> field, for the simple property filters."""
    return {coll.property_key(f): f for f in coll.layer.filter_fields}


def parse_value(name: str, f: Field, raw: str) -> Any:
    t = f.type.removesuffix("[]")
    try:
        if t == "int":
            return int(raw)
        if t in ("float", "money"):
            return float(raw)
        if t == "bool":
            if raw.lower() in ("true", "1", "yes"):
                return True
            if raw.lower() in ("false", "0", "no"):
                return False
            raise ValueError(raw)
        if t == "date":
            return date.fromisoformat(raw)
        if t == "datetime":
            return _instant(raw, end=False)
    except ValueError:
        raise bad_param(name, f"{raw!r} is not a valid {f.type}") from None
    if f.choices and raw not in f.choices:
        raise bad_param(name, f"{raw!r} is not one of {', '.join(f.choices)}")
    return raw


def parse_filters(coll: Collection) -> dict[str, Any]:
    out = {}
    for key, f in filter_fields(coll).items():
        raw = request.args.get(key)
        if raw is not None and raw != "":
            out[f.name] = parse_value(key, f, raw)
    return out


def parse_district() -> int | None:
    raw = request.args.get("district")
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"\d{1,2}", raw):
        raise bad_param("district", f"must be a district number, got {raw!r}")
    return int(raw)


# --- SQL -----------------------------------------------------------------------------------


def properties_sql(coll: Collection) -> str:
    pairs = []
    if not coll.msip_properties:
        pairs += ["'districts', t.districts", "'updated_at', t.updated_at"]
    for f in coll.layer.public_fields:
        pairs.append(f"'{coll.property_key(f)}', t.{ident(f.name)}")
    chunks = [pairs[i : i + 40] for i in range(0, len(pairs), 40)]
    return " || ".join(f"jsonb_build_object({', '.join(c)})" for c in chunks) or "'{}'::jsonb"


def query_features(conn: Connection, coll: Collection, q: FeatureQuery) -> tuple[list[str], bool]:
    """One page of GeoJSON Features as text (built by PostGIS) and whether more follow."""
    params: dict[str, Any] = {"limit": q.limit + 1, "offset": q.offset}
    where = where_clause(coll.layer, q, params)
    sql = f"""
        SELECT '{{"type":"Feature","id":' || t.id
               || ',"geometry":' || coalesce({geometry_sql(q)}, 'null')
               || ',"properties":' || ({properties_sql(coll)})::text || '}}'
        FROM {coll.source_sql}
        WHERE {where}
        ORDER BY t.id
        LIMIT :limit OFFSET :offset"""
    rows = [r[0] for r in conn.execute(text(sql), params)]
    return rows[: q.limit], len(rows) > q.limit


def city_extent(conn: Connection) -> list[float] | None:
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) e FROM city) s"
        )
    ).one()
    return None if row[0] is None else [round(v, 6) for v in row]


def temporal_extent(conn: Connection, coll: Collection) -> list[str | None]:
    params: dict[str, Any] = {}
    where = where_clause(coll.layer, FeatureQuery(), params)
    row = conn.execute(
        text(f"SELECT min(t.updated_at), max(t.updated_at) FROM {coll.source_sql} WHERE {where}"),
        params,
    ).one()
    return [
        v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if v is not None else None for v in row
    ]


# --- documents -------------------------------------------------------------------------------


def title() -> str:
    from flask import current_app

    return f"Civic Map {current_app.extensions['city'].name} — OGC API – Features"


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
        ],
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


def item_query(coll: Collection) -> tuple[FeatureQuery, int]:
    code = parse_crs_param("crs")
    srid = srid_of(code)
    q = FeatureQuery(
        srid=srid,
        flip_axes=flipped(code),
        precision=7 if srid == 4326 else 3,
    )
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
        feats, more = query_features(conn, coll, q)
    if has_datetime:
        with engine().begin() as conn:
            gx.record_sync(
                conn,
                layer=coll.name,
                op="ogc-items",
                format=fmt if fmt == "html" else "geojson",
                crs=gx.crs_label(code),
                features=len(feats),
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
                features=[json.loads(f) for f in feats],
                fields=coll.layer.public_fields,
                links=html_links,
                offset=q.offset,
                crs=gx.crs_label(code),
                json_url=here(f="json"),
            ),
            headers=content_crs(code),
        )
    body = (
        '{"type":"FeatureCollection","features":['
        + ",".join(feats)
        + '],"links":'
        + json.dumps(links, ensure_ascii=False)
        + f',"timeStamp":"{stamp}","numberReturned":{len(feats)}}}'
    )
    return json_response(body, GEOJSON, content_crs(code))


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    coll = require_collection(collection_id)
    check_params(COMMON_PARAMS | {"crs"})
    fmt = output_format()
    q, code = item_query(coll)
    if not re.fullmatch(r"\d{1,18}", feature_id):
        raise OgcError(404, "NotFound", f"no feature {feature_id!r} in {coll.name}", "featureId")
    q.ids, q.limit, q.offset = [int(feature_id)], 1, 0
    with engine().connect() as conn:
        feats, _ = query_features(conn, coll, q)
    if not feats:
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
                feature=json.loads(feats[0]),
                fields=coll.layer.public_fields,
                crs=gx.crs_label(code),
                json_url=here(f="json"),
            ),
            headers=content_crs(code),
        )
    body = feats[0][:-1] + ',"links":' + json.dumps(links, ensure_ascii=False) + "}"
    return json_response(body, GEOJSON, content_crs(code))


# --- OpenAPI 3.0 -------------------------------------------------------------------------------


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
                "parameters": [
                    {"$ref": ref + n}
                    for n in (
                        "f",
                        "bbox",
                        "bbox-crs",
                        "crs",
                        "limit",
                        "offset",
                        "datetime",
                        "district",
                    )
                ]
                + filters,
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


@bp.get("/api")
def api():
    check_params(COMMON_PARAMS)
    doc = openapi_doc()
    if output_format() == "html":
        return render_template("ogc/api.html", doc=doc)
    return json_response(doc, OPENAPI)
