"""OGC API – Features: the request's parameters, links, formats and errors.

Axis order (Part 2): a response in CRS84 (the default) or EPSG:3857 is easting first;
EPSG:4326, EPSG:2180 and EPSG:2178 are northing (latitude) first, as their EPSG definitions
say. ``bbox`` is read in the axis order of ``bbox-crs`` the same way.
"""

from __future__ import annotations

import functools
import json
import math
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
TILES_CONFORMANCE = [  # the collections' vector tiles (app/ogc/tiles.py)
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
CONFORMANCE += TILES_CONFORMANCE
CRS_CODES = (gx.CRS84, 4326, 2180, 2178, 3857)
assert set(CRS_CODES) - {gx.CRS84} == set(SUPPORTED)
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

COMMON_PARAMS = {"f", "lang"}
# The items' own query parameters, in the order the OpenAPI document lists them.
ITEMS_QUERY = ("bbox", "bbox-crs", "crs", "limit", "offset", "datetime", "district")
ITEMS_PARAMS = COMMON_PARAMS | set(ITEMS_QUERY)
MAX_OFFSET = 10_000_000
INT_RANGE = (-(2**31), 2**31 - 1)  # an integer column: a larger value cannot be in it


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
    if raw is None:
        return default
    if not raw.strip():  # the OpenAPI document lists the CRS URIs; "" is none of them
        raise bad_param(name, "empty; name a CRS URI or leave the parameter out")
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
    if raw is None:  # a bbox-crs alone changes nothing (and is checked all the same)
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
    if srid_of(code) != 4326:
        check_area_of_use(srid_of(code), (w, s, e, n))
    # A zero-width box (a point or line) is legal; PostGIS's envelope would be degenerate and
    # intersect nothing, so widen it by far less than the data's precision.
    eps = 1e-9 if srid_of(code) == 4326 else 1e-4
    if w == e:
        w, e = w - eps, e + eps
    if s == n:
        s, n = s - eps, n + eps
    return (w, s, e, n), srid_of(code)


@functools.lru_cache(maxsize=8)
def area_of_use(srid: int) -> tuple[float, float, float, float]:
    """The CRS's area of use (EPSG), in its own easting/northing, widened by a tenth each
    way: a box a little larger than the country is fine, 1e300 metres is not."""
    from pyproj import CRS, Transformer

    area = CRS.from_epsg(srid).area_of_use
    assert area is not None, srid
    tr = Transformer.from_crs(4326, srid, always_xy=True)
    x0, y0, x1, y1 = tr.transform_bounds(area.west, area.south, area.east, area.north)
    dx, dy = (x1 - x0) / 10, (y1 - y0) / 10
    return x0 - dx, y0 - dy, x1 + dx, y1 + dy


def check_area_of_use(srid: int, box: tuple[float, float, float, float]) -> None:
    """bbox in a projected CRS: inside the CRS's area of use, or a 400 naming ``bbox``
    (PostGIS would fail with "Point outside of projection domain")."""
    x0, y0, x1, y1 = area_of_use(srid)
    w, s, e, n = box
    if not (x0 <= w and e <= x1 and y0 <= s and n <= y1):
        raise bad_param(
            "bbox",
            f"outside the area of use of EPSG:{srid} "
            f"({x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f} easting/northing; check the axis order)",
        )


def parse_limit() -> int:
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    # Above the maximum is refused, as the OpenAPI document says (``maximum``): Part 1 lets a
    # server either cap it or refuse it, and a client that read the document knows the cap.
    if not re.fullmatch(r"\d{1,9}", raw.strip()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_param("limit", f"must be a whole number from 1 to {MAX_LIMIT}, got {raw!r}")
    return int(raw)


def parse_offset() -> int:
    raw = request.args.get("offset")
    if raw is None or raw == "":
        return 0
    if not re.fullmatch(r"\d{1,9}", raw.strip()) or int(raw) > MAX_OFFSET:
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
    if raw is None or raw == "":  # empty: no filter (the document allows it)
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
            value = int(raw)
            lo = INT_RANGE[0] if f.minimum is None else max(f.minimum, INT_RANGE[0])
            hi = INT_RANGE[1] if f.maximum is None else min(f.maximum, INT_RANGE[1])
            if not lo <= value <= hi:
                raise bad_param(name, f"{raw!r} is outside {lo}..{hi}")
            return value
        if t in ("float", "money"):
            number = float(raw)
            if not math.isfinite(number):
                raise bad_param(name, f"{raw!r} is not a finite number")
            if (f.minimum is not None and number < f.minimum) or (
                f.maximum is not None and number > f.maximum
            ):
                raise bad_param(name, f"{raw!r} is outside {f.minimum}..{f.maximum}")
            return number
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
    if len(raw) > (f.max_length or 500) or "\x00" in raw:
        raise bad_param(name, "is too long or not text")
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
    if not re.fullmatch(r"\d{1,2}", raw) or int(raw) < 1:
        raise bad_param("district", f"must be a district number (1-99), got {raw!r}")
    return int(raw)
