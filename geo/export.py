"""GIS export writers (GeoPackage, zipped Shapefile, GeoJSON, CSV with WKT, KML) and CRS URIs.

Framework-free: the caller hands over a GeoDataFrame whose columns are already the export's
attribute names (see :class:`Column`), in the CRS it wants, plus :class:`ExportMeta`. Every
file carries its metadata (source, licence, time of export, CRS) in the way its format
allows:

* GeoPackage — dataset and layer metadata (``gpkg_metadata``) and the layer description;
* Shapefile — ``.prj``, ``.cpg`` (UTF-8), an ArcGIS ``.shp.xml`` and ``README.txt`` with the
  field-name mapping, all in one zip;
* GeoJSON — RFC 7946 (EPSG:4326, lon/lat) with a ``metadata`` foreign member;
* CSV — UTF-8 with BOM (Excel), geometry as WKT in the first column, and four ``meta_*``
  columns (CSV has nowhere else to put them; the WKT has no CRS of its own); a text cell
  that would start a spreadsheet formula gets a leading ``'`` (geo/export_csv.py);
* KML — always WGS 84; document name/description.

Shapefile field names are at most 10 characters: a field's MSIP name when it has one, else
its export name upper-cased, transliterated to ASCII and cut to 10 characters; a clash gets
``_1``, ``_2`` … in its last characters (:func:`shapefile_names`). DBF text stops at 254
bytes: longer text is cut there (README.txt says so; use GeoPackage for full text).
"""

from __future__ import annotations

import json
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS
from sqlalchemy import Connection, text

from geo.crs import SUPPORTED
from geo.export_csv import csv_safe_frame, dict_rows_csv

ColumnType = Literal["text", "int", "float", "bool", "date", "datetime"]

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
CRS84 = 0  # our code for OGC:CRS84 (EPSG:4326 with longitude first)


class ExportError(ValueError):
    """A request the exporter cannot honour (unknown format, CRS not allowed …)."""

    def __init__(self, message: str, parameter: str | None = None):
        super().__init__(message)
        self.parameter = parameter


# --- CRS identifiers ---------------------------------------------------------------------

_CRS_PATTERNS = (
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$"),
    re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d+)$"),
    re.compile(r"^\[?EPSG:(\d+)\]?$", re.IGNORECASE),
    re.compile(r"^(\d+)$"),
)
_CRS84_NAMES = {
    CRS84_URI,
    "https://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "OGC:CRS84",
    "[OGC:CRS84]",
    "CRS84",
}


def parse_crs(value: str, *, allow_crs84: bool = True, parameter: str = "crs") -> int:
    """An EPSG code from a CRS URI, URN, ``EPSG:n`` or ``n``; CRS84 gives :data:`CRS84` (0).

    Only the CRSs the platform publishes (geo.crs.SUPPORTED + CRS84) are accepted.
    """
    v = (value or "").strip()
    if v in _CRS84_NAMES:
        if not allow_crs84:
            raise ExportError(f"{parameter}: use EPSG:4326 here, not CRS84", parameter)
        return CRS84
    for pat in _CRS_PATTERNS:
        m = pat.match(v)
        if m:
            srid = int(m.group(1))
            if srid in SUPPORTED:
                return srid
            break
    allowed = ", ".join([CRS84_URI] + [EPSG_URI.format(s) for s in SUPPORTED])
    raise ExportError(f"{parameter}: unsupported CRS {value!r}; use one of {allowed}", parameter)


def crs_uri(code: int) -> str:
    return CRS84_URI if code == CRS84 else EPSG_URI.format(code)


def crs_label(code: int) -> str:
    return "OGC:CRS84" if code == CRS84 else f"EPSG:{code}"


def northing_first(code: int) -> bool:
    """True when the CRS's authority definition lists northing (or latitude) first."""
    if code == CRS84:
        return False
    return CRS.from_epsg(code).axis_info[0].direction in ("north", "south")


# --- columns and Shapefile names ----------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One exported attribute: its name in every format, its type and its MSIP name."""

    name: str
    type: ColumnType
    title: str = ""
    msip_name: str | None = None  # <= 10 characters; wins in Shapefiles


def _ascii(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.replace("ł", "l").replace("Ł", "L"))
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z0-9_]", "_", s)


def shapefile_names(columns: Sequence[Column]) -> dict[str, str]:
    """Export name -> DBF field name (<= 10 ASCII characters, unique, case-insensitively)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        base = _ascii(col.msip_name or col.name).upper()[:10] or "FIELD"
        cand, n = base, 0
        while cand in used:
            n += 1
            cand = base[: 10 - len(str(n)) - 1] + "_" + str(n)
        used.add(cand)
        out[col.name] = cand
    return out


# --- metadata -----------------------------------------------------------------------------


@dataclass
class ExportMeta:
    layer: str
    title: str
    source: str
    licence: str
    crs: int  # EPSG code (CRS84 is not used for files: EPSG:4326 files are lon/lat anyway)
    attribution: str = ""
    url: str = ""
    exported_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    filters: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "layer": self.layer,
            "source": self.source,
            "licence": self.licence,
            "attribution": self.attribution,
            "exported_at": self.exported_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "crs": crs_label(self.crs),
            "crs_uri": crs_uri(self.crs),
            "url": self.url,
            "filters": self.filters,
        }

    def text(self) -> str:
        d = self.as_dict()
        lines = [
            f"{d['title']} ({d['layer']})",
            f"Źródło / source: {d['source']}",
            f"Licencja / licence: {d['licence']}",
        ]
        if d["attribution"]:
            lines.append(f"Uznanie autorstwa / attribution: {d['attribution']}")
        lines += [
            f"Czas eksportu / exported at: {d['exported_at']}",
            f"Układ współrzędnych / CRS: {d['crs']} ({d['crs_uri']})",
        ]
        if d["filters"]:
            lines.append(f"Filtry / filters: {json.dumps(d['filters'], ensure_ascii=False)}")
        if d["url"]:
            lines.append(f"URL: {d['url']}")
        return "\n".join(lines)


# --- formats ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFormat:
    key: str
    title: str
    driver: str
    suffix: str  # of the file handed out
    media_type: str
    fixed_crs: int | None = None  # the only CRS the format allows


FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("gpkg", "GeoPackage", "GPKG", ".gpkg", "application/geopackage+sqlite3"),
        ExportFormat("shp", "Shapefile (zip)", "ESRI Shapefile", ".zip", "application/zip"),
        ExportFormat(
            "geojson", "GeoJSON (RFC 7946)", "GeoJSON", ".geojson", "application/geo+json", 4326
        ),
        ExportFormat("csv", "CSV (WKT, UTF-8 BOM)", "CSV", ".csv", "text/csv; charset=utf-8"),
        ExportFormat("kml", "KML", "LIBKML", ".kml", "application/vnd.google-earth.kml+xml", 4326),
    )
}
FORMAT_ALIASES = {"shp.zip": "shp", "zip": "shp", "json": "geojson"}

CSV_META_COLUMNS = ("meta_source", "meta_licence", "meta_exported", "meta_crs")

GEOMETRY_FAMILIES = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}
# Shapefile types: line and polygon shapes hold multipart geometries as they are; points
# become a MultiPoint file only when some feature is a MultiPoint.
_FAMILY_OGR = {"point": "Point", "line": "LineString", "polygon": "Polygon"}


def get_format(key: str) -> ExportFormat:
    k = FORMAT_ALIASES.get(key.lower(), key.lower())
    if k not in FORMATS:
        raise ExportError(
            f"unknown export format {key!r}; use one of {', '.join(FORMATS)}", "format"
        )
    return FORMATS[k]


def check_crs(fmt: ExportFormat, srid: int) -> int:
    """The CRS a file of this format will be written in (CRS84 means EPSG:4326 lon/lat)."""
    srid = 4326 if srid == CRS84 else srid
    if fmt.fixed_crs and srid != fmt.fixed_crs:
        raise ExportError(
            f"{fmt.title} is always EPSG:{fmt.fixed_crs} (lon/lat); it cannot be written in EPSG:{srid}",
            "crs",
        )
    return srid


def _iso_datetime(s: pd.Series) -> pd.Series:
    out = pd.to_datetime(s, utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out.where(s.notna(), None).astype(object)


def typed_frame(
    gdf: gpd.GeoDataFrame, columns: Sequence[Column], *, datetime_as_text: bool
) -> gpd.GeoDataFrame:
    """Give every column a nullable dtype pyogrio maps to the right OGR field type."""
    out = gdf.copy()
    for col in columns:
        s = out[col.name]
        if col.type == "int":
            out[col.name] = pd.array(s, dtype="Int64")
        elif col.type == "float":
            out[col.name] = pd.array(pd.to_numeric(s), dtype="Float64")
        elif col.type == "bool":
            out[col.name] = pd.array(s, dtype="boolean")
        elif col.type == "date":
            out[col.name] = s.map(lambda v: None if v is None or pd.isna(v) else str(v)[:10])
        elif col.type == "datetime":
            if datetime_as_text:
                out[col.name] = _iso_datetime(s)
            else:
                out[col.name] = pd.to_datetime(s, utc=True)
        else:
            out[col.name] = s.map(lambda v: None if v is None or pd.isna(v) else str(v)).astype(
                object
            )
    return out


def write_export(
    gdf: gpd.GeoDataFrame,
    columns: Sequence[Column],
    fmt: ExportFormat | str,
    meta: ExportMeta,
    out_dir: Path,
    basename: str,
    geometry_types: Sequence[str] = (),
    name_column: str | None = None,
) -> Path:
    """Write one export file into ``out_dir``; return its path.

    ``gdf`` holds the columns named in ``columns`` and a geometry column in ``meta.crs``.
    ``geometry_types`` (the layer's allowed types) decides how a Shapefile is split: one
    file per geometry family (point / line / polygon), because a Shapefile holds only one.
    ``name_column`` (the layer's title) becomes the KML placemark name.
    """
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    srid = check_crs(fmt, meta.crs)
    gdf = gdf.set_crs(srid, allow_override=True)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt.key == "kml":
        return _write_kml(gdf, list(columns), meta, out_dir, basename, name_column)
    writer = {
        "gpkg": _write_gpkg,
        "shp": _write_shp,
        "geojson": _write_geojson,
        "csv": _write_csv,
    }[fmt.key]
    return writer(gdf, list(columns), meta, out_dir, basename, tuple(geometry_types))


def _write_gpkg(gdf, columns, meta, out_dir, basename, _gt) -> Path:
    path = out_dir / f"{basename}.gpkg"
    frame = typed_frame(gdf, columns, datetime_as_text=False)
    md = {
        k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v))
        for k, v in meta.as_dict().items()
    }
    pyogrio.write_dataframe(
        frame,
        path,
        layer=basename,
        driver="GPKG",
        promote_to_multi=False,
        dataset_metadata=md,
        layer_metadata=md,
        layer_options={"IDENTIFIER": meta.title, "DESCRIPTION": meta.text()},
    )
    return path


def _write_geojson(gdf, columns, meta, out_dir, basename, _gt) -> Path:
    path = out_dir / f"{basename}.geojson"
    frame = typed_frame(gdf, columns, datetime_as_text=True)
    pyogrio.write_dataframe(
        frame,
        path,
        layer=basename,
        driver="GeoJSON",
        layer_options={
            "RFC7946": "YES",
            "WRITE_NAME": "YES",
            "DESCRIPTION": meta.text(),
            "COORDINATE_PRECISION": "7",  # 1e-7 degree is about 1 cm
            "FOREIGN_MEMBERS_COLLECTION": json.dumps(
                {"metadata": meta.as_dict()}, ensure_ascii=False
            ),
        },
    )
    return path


def _write_csv(gdf, columns, meta, out_dir, basename, _gt) -> Path:
    path = out_dir / f"{basename}.csv"
    frame = typed_frame(gdf, columns, datetime_as_text=True)
    d = meta.as_dict()
    for name, value in zip(
        CSV_META_COLUMNS, (d["source"], d["licence"], d["exported_at"], d["crs"]), strict=True
    ):
        frame[name] = value
    # people open a CSV in a spreadsheet: no cell may start a formula (issue 14 #4)
    frame = csv_safe_frame(frame, skip=[frame.geometry.name])
    pyogrio.write_dataframe(
        frame,
        path,
        layer=basename,
        driver="CSV",
        layer_options={"GEOMETRY": "AS_WKT", "WRITE_BOM": "YES", "SEPARATOR": "COMMA"},
    )
    return path


KML_RENAMES = {"id": "feature_id"}  # KML keeps "id" for the placemark's own id


def _write_kml(gdf, columns, meta, out_dir, basename, name_column) -> Path:
    """LIBKML: the title is the placemark ``<name>`` (read back as ``Name``), the rest
    ExtendedData; ``id`` is written as ``feature_id``."""
    path = out_dir / f"{basename}.kml"
    frame = typed_frame(gdf, columns, datetime_as_text=True).rename(columns=KML_RENAMES)
    if name_column and name_column in frame.columns:
        frame = frame.rename(columns={name_column: "name"})
    pyogrio.write_dataframe(
        frame,
        path,
        layer=basename,
        driver="LIBKML",
        dataset_options={
            "NAME": meta.title,
            "DESCRIPTION": meta.text(),
            "AUTHOR_NAME": meta.source,
        },
        layer_options={"NAME": meta.title, "DESCRIPTION": meta.text()},
    )
    return path


def _family(geom) -> str | None:
    return None if geom is None or geom.is_empty else GEOMETRY_FAMILIES.get(geom.geom_type)


def shapefile_readme(columns: Sequence[Column], names: dict[str, str], meta: ExportMeta) -> str:
    rows = [meta.text(), "", "Pola / fields (DBF name <- export name: title):"]
    rows += [f"  {names[c.name]:<10} <- {c.name}: {c.title}" for c in columns]
    rows += [
        "",
        "Kodowanie / encoding: UTF-8 (.cpg). Tekst w DBF kończy się na 254 bajtach;",
        "pełny tekst: GeoPackage. DBF text stops at 254 bytes; full text: GeoPackage.",
    ]
    return "\n".join(rows) + "\n"


def _arcgis_xml(meta: ExportMeta) -> str:
    d = meta.as_dict()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<metadata xml:lang="pl">'
        f"<Esri><CreaDate>{d['exported_at'][:10].replace('-', '')}</CreaDate></Esri>"
        f"<dataIdInfo><idCitation><resTitle>{escape(meta.title)}</resTitle></idCitation>"
        f"<idAbs>{escape(meta.text())}</idAbs><idCredit>{escape(meta.source)}</idCredit>"
        f"<resConst><Consts><useLimit>{escape(meta.licence)}</useLimit></Consts></resConst>"
        f'</dataIdInfo><refSysInfo><RefSystem><refSysID><identCode code="{d["crs"]}"/>'
        "</refSysID></RefSystem></refSysInfo></metadata>\n"
    )


def _write_shp(gdf, columns, meta, out_dir, basename, geometry_types) -> Path:
    names = shapefile_names(columns)
    frame = typed_frame(gdf, columns, datetime_as_text=True).rename(columns=names)
    families = sorted(
        {GEOMETRY_FAMILIES[t] for t in geometry_types}
        or {f for f in map(_family, gdf.geometry) if f}
    )
    work = out_dir / f"{basename}-shp"
    work.mkdir(exist_ok=True)
    fam = frame.geometry.map(_family)
    parts: list[tuple[str, gpd.GeoDataFrame | pd.DataFrame, str | None]] = []
    if len(families) <= 1:
        ogr_type = _FAMILY_OGR[families[0]] if families else "Unknown"
        parts.append((basename, frame, ogr_type))
    else:
        for f in families:
            parts.append((f"{basename}_{f}", frame[fam == f], _FAMILY_OGR[f]))
        nogeom = frame[fam.isna()]
        if len(nogeom):
            parts.append(
                (f"{basename}_nogeom", pd.DataFrame(nogeom.drop(columns="geometry")), None)
            )
    stray = set(fam.dropna()) - set(families)
    if stray:
        raise ExportError(f"geometries of type {sorted(stray)} do not fit the layer's types")
    for name, part, ogr_type in parts:
        kwargs: dict[str, Any] = {"layer": name, "driver": "ESRI Shapefile", "encoding": "UTF-8"}
        if ogr_type == "Point" and (part.geometry.geom_type == "MultiPoint").any():
            ogr_type = "MultiPoint"
            kwargs["promote_to_multi"] = True
        if ogr_type:
            kwargs["geometry_type"] = ogr_type
        pyogrio.write_dataframe(part, work / f"{name}.shp", **kwargs)
        if ogr_type:
            (work / f"{name}.shp.xml").write_text(_arcgis_xml(meta), encoding="utf-8")
        (work / f"{name}.cpg").write_text("UTF-8", encoding="ascii")
    (work / "README.txt").write_text(shapefile_readme(columns, names, meta), encoding="utf-8")
    (work / "fields.csv").write_text(
        dict_rows_csv(
            (
                {"dbf_name": names[c.name], "export_name": c.name, "type": c.type, "title": c.title}
                for c in columns
            ),
            ("dbf_name", "export_name", "type", "title"),
            bom=False,
        ),
        encoding="utf-8",
    )
    path = out_dir / f"{basename}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(work.iterdir()):
            zf.write(p, p.name)
    return path


# --- the sync log ---------------------------------------------------------------------------


def record_sync(
    conn: Connection,
    *,
    layer: str,
    op: str,
    format: str,
    features: int,
    crs: str | None = None,
    params: dict[str, Any] | None = None,
    client: str = "",
) -> None:
    """One row of ``sync_log`` (migration 0005): what left or entered, when, how many."""
    conn.execute(
        text(
            """INSERT INTO sync_log (layer, op, format, crs, features, params, client)
               VALUES (:layer, :op, :format, :crs, :features, CAST(:params AS jsonb), :client)"""
        ),
        {
            "layer": layer,
            "op": op,
            "format": format,
            "crs": crs,
            "features": int(features),
            "params": json.dumps(params or {}, ensure_ascii=False, default=str),
            "client": client[:500],
        },
    )


def read_sync_log(
    conn: Connection, limit: int = 200, layer: str | None = None, op: str | None = None
) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            """SELECT id, at, layer, op, format, crs, features, params, client FROM sync_log
               WHERE (CAST(:layer AS text) IS NULL OR layer = :layer)
                 AND (CAST(:op AS text) IS NULL OR op = :op)
               ORDER BY at DESC, id DESC LIMIT :limit"""
        ),
        {"layer": layer, "op": op, "limit": limit},
    ).mappings()
    return [
        {**dict(r), "at": r["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")} for r in rows
    ]
