"""OGC API – Features: the request's parameters, links, formats and errors.

Axis order (Part 2): a response in CRS84 (the default) or EPSG:3857 is easting first;
EPSG:4326, EPSG:2180 and EPSG:2178 are northing (latitude) first, as their EPSG definitions
say. ``bbox`` is read in the axis order of ``bbox-crs`` the same way.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Response, current_app, request, url_for
from flask_babel import get_locale

from geo import export as gx
from geo.crs import NORTHING_FIRST, SUPPORTED
from layers.base import Field
from layers.collections import Collection, get_collection
from layers.query import DEFAULT_LIMIT, MAX_LIMIT

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
# The items' own query parameters, in the order the OpenAPI document lists them.
ITEMS_QUERY = ("bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "district")
ITEMS_PARAMS = COMMON_PARAMS | set(ITEMS_QUERY)


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


# --- request helpers ---------------------------------------------------------------------


def lang() -> str:
    return str(get_locale() or "pl")


def title() -> str:
    return f"Civic Map {current_app.extensions['city'].name} — OGC API – Features"


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


def client_label() -> str:
    ua = (request.user_agent.string or "")[:200]
    return f"{request.remote_addr or ''} {ua}".strip()


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
