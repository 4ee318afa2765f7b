"""Import from a WFS 2.0 / 1.1 service (GML 3.1.1 or 3.2): ``civicmap import wfs <url> <type>``.

MSIP's WFS services (e.g. the zoning plans) answer GML 3.1.1 in EPSG:2178 with the
coordinates **northing first**, as the EPSG definition orders the axes. The axis order of a
``srsName`` decides how ``pos``/``posList`` are read:

* ``urn:ogc:def:crs:EPSG::2178``, ``urn:x-ogc:def:crs:EPSG:2178`` and
  ``http://www.opengis.net/def/crs/EPSG/0/2178`` — the authority's order: northing first
  for EPSG:2178, 2180 and 4326 (latitude first), easting first for EPSG:3857;
* ``EPSG:2178`` and ``http://www.opengis.net/gml/srs/epsg.xml#2178`` — easting first (the
  WFS 1.0 habit GeoServer and MapServer keep for these forms);
* ``axis_order="xy"``/``"yx"`` (``--axis-order``) overrides both for a server that errs.

WFS 2.0 is paged with ``count``/``startIndex`` until a page comes back short. Everything is
fetched first (or read from a saved response file), then loaded in ONE transaction (districts
or a registered layer) and logged in the sync log by importers.remote, as importers.arcgis is.
"""

from __future__ import annotations

import re
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pyproj import CRS
from shapely.geometry import (
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    mapping,
)
from shapely.geometry.base import BaseGeometry

from geo.cities import City
from importers.mapping import FieldMapping
from importers.remote import DistrictFile, RemoteImport, http_get, load_fetched, query_url
from importers.report import ImportFileError
from importers.writer import Row

FetchBytes = Callable[[str, Mapping[str, str]], bytes]
AxisOrder = Literal["auto", "xy", "yx"]

GML_NS = ("http://www.opengis.net/gml", "http://www.opengis.net/gml/3.2")
MAX_PAGES = 10_000
DEFAULT_SRS = 2178
USER_AGENT = "civicmap-importer/1.0"


class WfsError(ImportFileError):
    """The service's answer cannot be used; nothing was written."""


def http_fetch(url: str, params: Mapping[str, str], timeout: float = 120.0) -> bytes:
    return http_get(query_url(url, params), timeout=timeout, user_agent=USER_AGENT, error=WfsError)


# --- CRS and axis order --------------------------------------------------------------------

_URN = re.compile(r"^urn:(?:x-)?ogc:def:crs:EPSG:(?:[\d.]*:)?(\d+)$", re.IGNORECASE)
_URI = re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$")
_LEGACY = re.compile(r"^(?:EPSG:|https?://www\.opengis\.net/gml/srs/epsg\.xml#)(\d+)$", re.I)


def srs_axis(srs_name: str, override: AxisOrder = "auto") -> tuple[int, bool]:
    """(EPSG code, whether the coordinates come northing/latitude first)."""
    s = (srs_name or "").strip()
    srid, authority = None, False
    for pat, is_authority in ((_URN, True), (_URI, True), (_LEGACY, False)):
        m = pat.match(s)
        if m:
            srid, authority = int(m.group(1)), is_authority
            break
    if srid is None:
        raise WfsError(f"unknown srsName {srs_name!r}; refusing to guess the CRS")
    if override != "auto":
        return srid, override == "yx"
    if not authority:
        return srid, False
    try:
        first = CRS.from_epsg(srid).axis_info[0].direction
    except Exception as exc:  # pyproj.exceptions.CRSError
        raise WfsError(f"unknown CRS EPSG:{srid}") from exc
    return srid, first in ("north", "south")


# --- GML -------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _is_gml(el: ET.Element) -> bool:
    return _ns(el.tag) in GML_NS


def _coords(el: ET.Element, dim: int, swap: bool) -> list[tuple[float, float]]:
    """pos / posList / coordinates under ``el`` (a ring, line or point), easting first."""
    pts: list[tuple[float, float]] = []
    for child in el:
        name = _local(child.tag)
        if name in ("posList", "pos"):
            d = int(child.get("srsDimension") or child.get("dimension") or dim)
            nums = [float(v) for v in (child.text or "").split()]
            if len(nums) % d:
                raise WfsError(f"{name} has {len(nums)} numbers, not a multiple of {d}")
            pts += [(nums[i], nums[i + 1]) for i in range(0, len(nums), d)]
        elif name == "coordinates":  # GML 2 style: "x,y x,y"
            cs, ts = child.get("cs", ","), child.get("ts", " ")
            for tup in (child.text or "").strip().split(ts):
                if tup.strip():
                    a = tup.strip().split(cs)
                    pts.append((float(a[0]), float(a[1])))
    return [(y, x) for x, y in pts] if swap else pts


def _ring(el: ET.Element, dim: int, swap: bool) -> list[tuple[float, float]]:
    for ring in el:
        if _local(ring.tag) == "LinearRing":
            return _coords(ring, dim, swap)
        if _local(ring.tag) == "Ring":  # gml:Ring/curveMember/LineString|Curve
            pts: list[tuple[float, float]] = []
            for member in ring:
                for g in member:
                    line = _geometry(g, dim, swap)
                    pts += list(line.coords) if line is not None else []
            return pts
    raise WfsError("polygon boundary without a LinearRing")


def _polygon(el: ET.Element, dim: int, swap: bool) -> Polygon:
    shell: list[tuple[float, float]] | None = None
    holes = []
    for part in el:
        name = _local(part.tag)
        if name in ("exterior", "outerBoundaryIs"):
            shell = _ring(part, dim, swap)
        elif name in ("interior", "innerBoundaryIs"):
            holes.append(_ring(part, dim, swap))
    if shell is None:
        raise WfsError("polygon without an exterior ring")
    return Polygon(shell, holes)


def _members(el: ET.Element, dim: int, swap: bool) -> list[BaseGeometry]:
    out: list[BaseGeometry] = []
    for m in el:
        if _local(m.tag) in ("patches", "segments"):
            continue
        for g in m:
            geom = _geometry(g, dim, swap)
            if geom is None:
                continue
            out += list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    return out


def _geometry(el: ET.Element, dim: int, swap: bool) -> BaseGeometry | None:
    name = _local(el.tag)
    dim = int(el.get("srsDimension") or dim)
    if name == "Point":
        pts = _coords(el, dim, swap)
        return Point(pts[0]) if pts else None
    if name in ("LineString", "LineStringSegment"):
        return LineString(_coords(el, dim, swap))
    if name == "Curve":
        lines = [
            LineString(_coords(seg, dim, swap))
            for segs in el
            if _local(segs.tag) == "segments"
            for seg in segs
        ]
        coords: list[tuple[float, float]] = []
        for line in lines:
            c = list(line.coords)
            coords += c if not coords else c[1:]
        return LineString(coords)
    if name in ("Polygon", "PolygonPatch"):
        return _polygon(el, dim, swap)
    if name == "Surface":
        polys = [
            _polygon(p, dim, swap)
            for patches in el
            if _local(patches.tag) == "patches"
            for p in patches
        ]
        return polys[0] if len(polys) == 1 else MultiPolygon(polys)
    if name in ("MultiSurface", "MultiPolygon"):
        return MultiPolygon([g for g in _members(el, dim, swap) if isinstance(g, Polygon)])
    if name in ("MultiCurve", "MultiLineString"):
        return MultiLineString([g for g in _members(el, dim, swap) if isinstance(g, LineString)])
    if name == "MultiPoint":
        return MultiPoint([g for g in _members(el, dim, swap) if isinstance(g, Point)])
    raise WfsError(f"unsupported GML geometry {name}")


@dataclass
class WfsFeature:
    gml_id: str | None
    properties: dict[str, Any]
    geometry: BaseGeometry | None
    srid: int | None


@dataclass
class WfsPage:
    features: list[WfsFeature]
    number_matched: int | None = None
    number_returned: int | None = None
    next_url: str | None = None


def parse_gml(
    data: bytes, axis_order: AxisOrder = "auto", default_srs: str | None = None
) -> WfsPage:
    """A GetFeature response (wfs:FeatureCollection) into features, coordinates easting first."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WfsError(f"the answer is not XML ({exc})") from exc
    if _local(root.tag) in ("ExceptionReport", "ServiceExceptionReport"):
        texts = [
            t.text or ""
            for t in root.iter()
            if _local(t.tag) in ("ExceptionText", "ServiceException")
        ]
        raise WfsError("WFS exception: " + " ".join(s.strip() for s in texts if s.strip()))
    if _local(root.tag) != "FeatureCollection":
        raise WfsError(f"expected a wfs:FeatureCollection, got {_local(root.tag)}")
    coll_srs = default_srs
    for env in root.iter():
        if _local(env.tag) == "Envelope" and env.get("srsName"):
            coll_srs = coll_srs or env.get("srsName")
            break
    members: list[ET.Element] = []
    for child in root:
        name = _local(child.tag)
        if name in ("member", "featureMember"):
            members += [m for m in child if _local(m.tag) != "Tuple"]
        elif name == "featureMembers":
            members += list(child)
    features = []
    for el in members:
        gml_id = (
            el.get("{http://www.opengis.net/gml}id")
            or el.get("{http://www.opengis.net/gml/3.2}id")
            or el.get("fid")
        )
        props: dict[str, Any] = {}
        geom = None
        srid = None
        for prop in el:
            if _is_gml(prop):  # boundedBy, name, description …
                continue
            key = _local(prop.tag)
            gchildren = [g for g in prop if _is_gml(g)]
            if gchildren:
                g = gchildren[0]
                srs = g.get("srsName") or coll_srs
                if not srs:
                    raise WfsError(f"feature {gml_id}: geometry without srsName")
                srid, swap = srs_axis(srs, axis_order)
                geom = _geometry(g, int(g.get("srsDimension") or 2), swap)
                continue
            if prop.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true":
                props[key] = None
            else:
                props[key] = (
                    (prop.text or "").strip() if len(prop) == 0 else ET.tostring(prop, "unicode")
                )
        features.append(WfsFeature(gml_id, props, geom, srid))

    def _int(v: str | None) -> int | None:
        return int(v) if v and v.isdigit() else None

    return WfsPage(
        features,
        number_matched=_int(root.get("numberMatched") or root.get("numberOfFeatures")),
        number_returned=_int(root.get("numberReturned") or root.get("numberOfFeatures")),
        next_url=root.get("next"),
    )


# --- reading the service -------------------------------------------------------------------


@dataclass
class WfsRead:
    url: str
    typename: str
    features: list[WfsFeature]
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def srid(self) -> int:
        srids = {f.srid for f in self.features if f.srid is not None}
        if len(srids) > 1:
            raise WfsError(f"{self.typename}: features in several CRSs {sorted(srids)}")
        if not srids:
            raise WfsError(f"{self.typename}: no geometry with a CRS")
        return srids.pop()


def read_wfs(
    url: str,
    typename: str,
    fetch: FetchBytes = http_fetch,
    *,
    version: str = "2.0.0",
    srs: int = DEFAULT_SRS,
    page_size: int | None = 1000,
    axis_order: AxisOrder = "auto",
    output_format: str | None = None,
) -> WfsRead:
    local = urllib.parse.urlsplit(url).path if url.startswith("file://") else url
    if Path(local).is_file():  # a saved GetFeature response stands in for the service
        page = parse_gml(Path(local).read_bytes(), axis_order)
        return WfsRead(str(local), typename, page.features, [])
    base = url.split("?", 1)[0]
    extra = dict(urllib.parse.parse_qsl(url.split("?", 1)[1])) if "?" in url else {}
    srs_name = f"urn:ogc:def:crs:EPSG::{srs}"
    v2 = version.startswith("2")
    params = {
        **extra,
        "service": "WFS",
        "version": version,
        "request": "GetFeature",
        ("typeNames" if v2 else "typeName"): typename,
        "srsName": srs_name,
    }
    if output_format:
        params["outputFormat"] = output_format
    requests: list[dict[str, str]] = []
    features: list[WfsFeature] = []
    seen: set[str] = set()
    start = 0
    for _ in range(MAX_PAGES):
        p = dict(params)
        if v2 and page_size:
            p.update(count=str(page_size), startIndex=str(start))
        elif page_size and not v2:
            p["maxFeatures"] = str(page_size)
        requests.append(p)
        page = parse_gml(fetch(base, p), axis_order, default_srs=srs_name)
        for f in page.features:
            if f.gml_id and f.gml_id in seen:
                raise WfsError(f"feature {f.gml_id} came twice — the server's paging is not stable")
            if f.gml_id:
                seen.add(f.gml_id)
        features += page.features
        got = len(page.features)
        start += got
        if not v2 or not page_size or got < page_size or got == 0:
            break
        if page.number_matched is not None and start >= page.number_matched:
            break
    else:
        raise WfsError(f"{typename}: more than {MAX_PAGES} pages")
    if not v2 and page_size and len(features) >= page_size:
        raise WfsError(
            f"{typename}: WFS {version} returned maxFeatures={page_size} features and cannot "
            "page; use --version 2.0.0 or a larger --page-size"
        )
    return WfsRead(base, typename, features, requests)


# --- loading -------------------------------------------------------------------------------


WfsImport = RemoteImport  # what import_wfs returns (shared with importers.arcgis)


def _rows(got: WfsRead, mapping: FieldMapping, lay, id_field: str | None) -> Iterator[Row]:
    columns = sorted({k for f in got.features for k in f.properties})
    resolved = mapping.resolve(lay, columns)
    for i, f in enumerate(got.features, start=1):
        if id_field:
            v = f.properties.get(id_field)
            ext = None if v in (None, "") else str(v)
        else:
            ext = f"wfs:{got.typename}:{f.gml_id}" if f.gml_id else None
        yield Row(
            external_id=ext,
            properties=mapping.apply(resolved, f.properties),
            geometry=f.geometry,
            srid=f.srid,
            ref=f"feature {i} ({f.gml_id})",
        )


def _district_file(got: WfsRead) -> DistrictFile:
    """The features as GeoJSON in the service's CRS, as importers.districts reads it."""
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{got.srid}"}},
        "features": [
            {"type": "Feature", "properties": f.properties, "geometry": mapping(f.geometry)}
            for f in got.features
            if f.geometry is not None
        ],
    }
    return DistrictFile("districts.geojson", "geojson", doc)


def import_wfs(
    engine,
    url: str,
    typename: str,
    layer: str,
    *,
    city: City,
    fetch: FetchBytes = http_fetch,
    version: str = "2.0.0",
    srs: int = DEFAULT_SRS,
    page_size: int | None = 1000,
    axis_order: AxisOrder = "auto",
    output_format: str | None = None,
    mapping: FieldMapping | None = None,
    id_field: str | None = None,
    name_field: str | None = None,
    number_field: str | None = None,
    repair: bool = False,
    dry_run: bool = False,
    client: str = "cli",
) -> WfsImport:
    got = read_wfs(
        url,
        typename,
        fetch,
        version=version,
        srs=srs,
        page_size=page_size,
        axis_order=axis_order,
        output_format=output_format,
    )
    if not got.features:
        raise WfsError(f"{typename}: the service returned no features")
    return load_fetched(
        engine,
        got,
        layer,
        city=city,
        geoms=[f.geometry for f in got.features],
        district_file=lambda: _district_file(got),
        label=f"WFS {got.url} {got.typename}",
        rows=lambda lay: _rows(got, mapping or FieldMapping(), lay, id_field),
        source=f"{got.url} {typename}",
        sync_format=f"wfs {version}",
        sync_params={"typename": typename},
        name_field=name_field,
        number_field=number_field,
        repair=repair,
        dry_run=dry_run,
        client=client,
    )
