"""Import from an ArcGIS REST layer (MSIP, ArcGIS Online): ``civicmap import arcgis <url>``.

``read_layer`` pages through the layer's ``query`` operation — ``resultOffset`` /
``resultRecordCount`` ordered by the object id, asking for ``outSR`` (EPSG:2178, MSIP's own
CRS, unless told otherwise) — until the server stops saying ``exceededTransferLimit``. A
server without pagination is read by object id batches (``returnIdsOnly`` first). Pages are
merged into one Esri JSON feature set and read by importers.esri (rings with holes and
multipart, paths, points).

Then everything is loaded in ONE transaction: into the districts (``--layer districts``,
through importers.districts, which checks the 18 names and numbers and rebuilds the city
outline) or into any registered layer (importers.common.import_rows: field mapping, MSIP
names matched automatically, upsert by external id). Network first, then the transaction:
no database lock is held while the server answers. Each run is written to the sync log.
That loading is importers.remote.load_fetched, shared with importers.wfs.

The HTTP fetch is a parameter, so tests (and air-gapped machines) use recorded responses;
a local file (a saved ``query?f=json`` answer) may stand in for the URL.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo.cities import City
from importers.esri import EsriFeatureSet, EsriJsonError, parse_feature_set
from importers.mapping import FieldMapping
from importers.remote import DistrictFile, RemoteImport, http_get, load_fetched, query_url
from importers.report import ImportFileError
from importers.writer import Row

Fetch = Callable[[str, Mapping[str, str]], dict[str, Any]]

DEFAULT_OUT_SR = 2178
MAX_PAGES = 10_000
# Esri's own codes for Web Mercator; PostGIS knows it as 3857.
ESRI_WKID = {102100: 3857, 102113: 3857}
USER_AGENT = "civicmap-importer/1.0 (+https://msip.krakow.pl consumer)"


class ArcGisError(ImportFileError):
    """The service answered something we cannot use; nothing was written."""


def http_fetch(url: str, params: Mapping[str, str], timeout: float = 60.0) -> dict[str, Any]:
    """GET ``url?params`` and parse the JSON answer (ArcGIS errors come as 200 + ``error``)."""
    full = query_url(url, params)
    raw = http_get(full, timeout=timeout, user_agent=USER_AGENT, error=ArcGisError)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArcGisError(f"{full}: the answer is not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ArcGisError(f"{full}: the answer is not a JSON object")
    return doc


def layer_url(url: str) -> str:
    """The layer's URL from a layer or its ``/query`` URL (query string dropped)."""
    parts = urllib.parse.urlsplit(url.strip())
    path = parts.path.rstrip("/")
    if path.endswith("/query"):
        path = path[: -len("/query")]
    last = path.rsplit("/", 1)[-1]
    if not last.isdigit() or "Server" not in path:
        raise ArcGisError(
            f"{url}: give a FeatureServer or MapServer *layer* URL, e.g. "
            ".../FeatureServer/10 (the layer number at the end)"
        )
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def source_label(url: str) -> str:
    """A short stable name for external ids: ``Service/FeatureServer/10``."""
    if Path(url).exists():
        return Path(url).name
    path = urllib.parse.urlsplit(url).path.rstrip("/").removesuffix("/query")
    parts = path.split("/")
    try:
        i = next(i for i, p in enumerate(parts) if p.endswith("Server"))
        return "/".join(parts[max(i - 1, 0) : i + 2])
    except StopIteration:
        return path.strip("/")


@dataclass
class LayerRead:
    """What came from the service: merged Esri JSON, its parse, and how it was fetched."""

    url: str
    doc: dict[str, Any]
    features: EsriFeatureSet
    oid_field: str
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def srid(self) -> int:
        if self.features.srid is None:
            raise ArcGisError(f"{self.url}: no spatialReference; refusing to guess the CRS")
        return ESRI_WKID.get(self.features.srid, self.features.srid)


def _oid_field(info: Mapping[str, Any], page: Mapping[str, Any]) -> str:
    for doc in (page, info):
        if doc.get("objectIdFieldName") or doc.get("objectIdField"):
            return str(doc.get("objectIdFieldName") or doc.get("objectIdField"))
        for f in doc.get("fields") or []:
            if f.get("type") == "esriFieldTypeOID":
                return str(f["name"])
    return "OBJECTID"


def _checked(doc: dict[str, Any], what: str) -> dict[str, Any]:
    if "error" in doc:
        err = doc.get("error") or {}
        raise ArcGisError(
            f"{what}: ArcGIS error {err.get('code')}: {err.get('message')} "
            f"{'; '.join(map(str, err.get('details') or []))}".strip()
        )
    return doc


def read_file(path: str | Path) -> LayerRead:
    """A saved ``query?f=json`` response standing in for the service (one page)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArcGisError(f"{p}: not a readable Esri JSON file ({exc})") from exc
    doc = _checked(doc, str(p))
    if doc.get("exceededTransferLimit"):
        raise ArcGisError(f"{p}: the saved response is only one page (exceededTransferLimit)")
    try:
        fs = parse_feature_set(doc)
    except EsriJsonError as exc:
        raise ArcGisError(f"{p}: {exc}") from exc
    return LayerRead(str(p), doc, fs, _oid_field({}, doc))


def read_layer(
    url: str,
    fetch: Fetch = http_fetch,
    *,
    out_sr: int | None = DEFAULT_OUT_SR,
    page_size: int | None = None,
    where: str = "1=1",
) -> LayerRead:
    """Every feature of an ArcGIS REST layer, page by page, as one feature set."""
    if Path(url).exists() or url.startswith("file://"):
        return read_file(urllib.parse.urlsplit(url).path if url.startswith("file://") else url)
    base = layer_url(url)
    info = _checked(fetch(base, {"f": "json"}), base)
    max_count = int(info.get("maxRecordCount") or 1000)
    size = max(1, min(page_size or max_count, max_count))
    adv = info.get("advancedQueryCapabilities") or {}
    paging = bool(adv.get("supportsPagination", info.get("supportsPagination", True)))
    oid = _oid_field(info, {})
    common = {"where": where, "outFields": "*", "returnGeometry": "true", "f": "json"}
    if out_sr:
        common["outSR"] = str(out_sr)
    requests: list[dict[str, str]] = []
    pages: list[dict[str, Any]] = []

    seen: set[Any] = set()

    def ask(params: dict[str, str]) -> dict[str, Any]:
        requests.append(params)
        page = _checked(fetch(base + "/query", params), f"{base}/query")
        key_field = str(page.get("objectIdFieldName") or oid)
        for f in page.get("features") or []:
            key = (f.get("attributes") or {}).get(key_field)
            if key is not None and key in seen:
                raise ArcGisError(
                    f"{base}: object id {key} came twice — the server's paging is not stable"
                )
            seen.add(key)
        return page

    if paging:
        offset = 0
        for _ in range(MAX_PAGES):
            params = {
                **common,
                "orderByFields": oid,
                "resultOffset": str(offset),
                "resultRecordCount": str(size),
            }
            page = ask(params)
            got = len(page.get("features") or [])
            pages.append(page)
            offset += got
            # ArcGIS says "more" with exceededTransferLimit; an empty page ends it regardless.
            if got == 0 or not page.get("exceededTransferLimit"):
                break
        else:
            raise ArcGisError(f"{base}: more than {MAX_PAGES} pages; narrow it with --where")
    else:
        ids_doc = ask({"where": where, "returnIdsOnly": "true", "f": "json"})
        ids = sorted(int(i) for i in ids_doc.get("objectIds") or [])
        oid = str(ids_doc.get("objectIdFieldName") or oid)
        for i in range(0, len(ids), size):
            chunk = ",".join(str(n) for n in ids[i : i + size])
            pages.append(ask({**common, "objectIds": chunk}))
    if not pages:
        raise ArcGisError(f"{base}: the service returned nothing")
    merged = {k: v for k, v in pages[0].items() if k not in ("features", "exceededTransferLimit")}
    merged["features"] = []
    srs = set()
    for page in pages:
        sr = page.get("spatialReference") or {}
        srs.add(sr.get("latestWkid") or sr.get("wkid"))
        merged["features"].extend(page.get("features") or [])
    if len(srs) > 1:
        raise ArcGisError(f"{base}: pages came in different CRSs {sorted(map(str, srs))}")
    oid = _oid_field(info, pages[0]) if oid == "OBJECTID" else oid
    try:
        fs = parse_feature_set(merged)
    except EsriJsonError as exc:
        raise ArcGisError(f"{base}: {exc}") from exc
    return LayerRead(base, merged, fs, oid, requests)


# --- loading ---------------------------------------------------------------------------------


ArcGisImport = RemoteImport  # what import_arcgis returns (shared with importers.wfs)


def rows_from(got: LayerRead, mapping: FieldMapping, layer_obj, id_field: str | None):
    """importers.common Rows: properties by the mapping, external id ``<service>:<oid>``."""
    columns = [f["name"] for f in got.features.fields] or sorted(
        {k for a, _ in got.features.features for k in a}
    )
    resolved = mapping.resolve(layer_obj, columns)
    label = source_label(got.url)
    srid = got.srid
    for i, (attrs, geom) in enumerate(got.features.features, start=1):
        if id_field:
            if attrs.get(id_field) in (None, ""):
                ext = None
            else:
                ext = str(attrs[id_field])
        else:
            oid = attrs.get(got.oid_field)
            ext = f"arcgis:{label}:{oid}" if oid is not None else None
        yield Row(
            external_id=ext,
            properties=mapping.apply(resolved, _plain_attrs(attrs, got.features.fields)),
            geometry=geom,
            srid=srid,
            ref=f"feature {i} ({got.oid_field}={attrs.get(got.oid_field)})",
        )


def _plain_attrs(attrs: dict[str, Any], fields: list[dict[str, Any]]) -> dict[str, Any]:
    """Esri dates are milliseconds since 1970 (UTC): make them ISO 8601 text."""
    from datetime import UTC, datetime

    dates = {f["name"] for f in fields if f.get("type") == "esriFieldTypeDate"}
    out = dict(attrs)
    for k in dates & set(out):
        v = out[k]
        if isinstance(v, int | float):
            out[k] = datetime.fromtimestamp(v / 1000, UTC).isoformat()
    return out


def import_arcgis(
    engine,
    url: str,
    layer: str,
    *,
    city: City,
    fetch: Fetch = http_fetch,
    out_sr: int | None = DEFAULT_OUT_SR,
    page_size: int | None = None,
    where: str = "1=1",
    mapping: FieldMapping | None = None,
    id_field: str | None = None,
    name_field: str | None = None,
    number_field: str | None = None,
    repair: bool = False,
    dry_run: bool = False,
    client: str = "cli",
) -> ArcGisImport:
    """Fetch every page, then load it all in one transaction (and log it)."""
    got = read_layer(url, fetch, out_sr=out_sr, page_size=page_size, where=where)
    return load_fetched(
        engine,
        got,
        layer,
        city=city,
        geoms=[g for _, g in got.features.features],
        district_file=lambda: DistrictFile("layer.esri.json", "esrijson", got.doc),
        label=f"ArcGIS REST {got.url}",
        rows=lambda lay: rows_from(got, mapping or FieldMapping(), lay, id_field),
        source=got.url,
        sync_format="arcgis",
        sync_params={"where": where},
        name_field=name_field,
        number_field=number_field,
        repair=repair,
        dry_run=dry_run,
        client=client,
    )
