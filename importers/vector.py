"""Any vector file into any registered layer: GeoJSON, GeoPackage, Shapefile (plain or zipped)
and Esri JSON (an ArcGIS REST ``query?f=json`` response saved to a file).

Reading is pyogrio (GDAL), except Esri JSON, which importers.esri parses. Before a single row
is written the file is checked, and refused with a message saying what to do, when:

* it is empty, not a recognised format, or garbage (a GeoJSON is sniffed for ``{`` and
  UTF-8 first; a GeoPackage for its SQLite header; a zip is opened and CRC-checked);
* a Shapefile has no ``.cpg`` (the attribute encoding is unknown: MSIP exports are CP1250 as
  often as UTF-8, and GDAL would read "Łódź" back as "£ód\\x9f" without a word) - unless
  ``encoding`` is given; or its text is not valid in the encoding the ``.cpg`` names;
* a GeoJSON / Esri JSON is not UTF-8 (unless ``encoding`` is given);
* the CRS is missing (a Shapefile without ``.prj``, a GeoPackage layer without an SRS, an
  Esri JSON without ``spatialReference``, a GeoJSON without a ``crs`` member whose
  coordinates are not longitude/latitude) - unless ``crs`` is given - or is not one that
  can be identified as an EPSG code.

Coordinates are reprojected to EPSG:4326 by importers.common (pyproj, ``always_xy``: GDAL
and Esri write PL-2000 / PUWG 1992 easting first, whatever the EPSG axis order says).

Field mapping: see importers.common.FieldMapping (``--map title=NAZWA``, a YAML/JSON mapping
file, ``--set field=value``; unmapped layer fields are matched to same-named or MSIP-named
columns). External ids: the mapped ``external_id`` column, else a column called
``external_id`` / ``ext_id``, else ``vector:<file stem>:<hash of the feature's content>``
(re-importing the same file is then idempotent, but an edited feature becomes a new one).
"""

from __future__ import annotations

import codecs
import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy import Connection

from geo.names import roman_to_int
from importers.csv_wkt import open_csv
from importers.esri import EsriJsonError, parse_feature_set
from importers.mapping import FieldMapping
from importers.report import ImportFileError, ImportReport
from importers.writer import Row, import_rows, resolve_layer, stable_id
from layers.base import Layer

FORMATS = ("geojson", "gpkg", "shapefile", "esrijson", "csv")
SNIFF_BYTES = 64 * 1024
CHUNK = 1024 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class VectorSource:
    """A checked, readable vector source."""

    path: Path
    format: str  # one of FORMATS
    srid: int | None
    columns: list[str]
    count: int | None
    records: Iterator[tuple[dict[str, Any], Any]]  # (attributes, shapely geometry or None)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- checks


def parse_crs(value: str | int | None, what: str = "--crs") -> int | None:
    """``"EPSG:2178"``, ``"2178"``, ``2178``, a WKT or PROJ string -> EPSG code."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        crs = CRS.from_user_input(text)
    except CRSError as exc:
        raise ImportFileError(
            f"{what}: unknown coordinate reference system {value!r} ({exc})"
        ) from None
    return _epsg(crs, what)


def _epsg(crs: CRS, what: str) -> int:
    if crs.is_geographic and crs.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return 4326  # EPSG:4326 and OGC:CRS84 alike: we always read longitude first
    code = crs.to_epsg(min_confidence=70)
    if code is None:
        raise ImportFileError(
            f"{what}: the coordinate reference system {crs.name!r} cannot be identified as an "
            "EPSG code; give the right one with --crs (e.g. --crs EPSG:2178 for PL-2000 zone 7, "
            "EPSG:2180 for PUWG 1992)"
        )
    return code


def check_utf8(path: Path, name: str, encoding: str | None) -> None:
    """Stream the file through a UTF-8 decoder (never the whole file in memory)."""
    if encoding:
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = chunk[exc.start : exc.start + 1].hex()
                raise ImportFileError(
                    f"not valid UTF-8 (byte 0x{bad} at offset {offset + exc.start}); "
                    "GeoJSON and Esri JSON are UTF-8 - if the file was saved in another "
                    "encoding, give it with --encoding (e.g. --encoding cp1250)",
                    name,
                ) from None
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ImportFileError(
                "not valid UTF-8 (truncated character at the end)", name
            ) from None


def _sniff_json(head: bytes, name: str, encoding: str | None) -> str:
    """'geojson' or 'esrijson' from the first bytes; refuse what is not a JSON object."""
    text = head.decode(encoding or "utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        raise ImportFileError(
            "not a GeoJSON or Esri JSON file (it does not start with a JSON object) - "
            "garbage, or the wrong file?",
            name,
        )
    esri_markers = ('"geometryType"', '"spatialReference"', '"attributes"')
    if any(m in text for m in esri_markers) and '"properties"' not in text:
        return "esrijson"
    return "geojson"


def _siblings(path: Path) -> dict[str, Path]:
    """Files next to a .shp with the same stem, by lower-case suffix."""
    stem = path.stem.lower()
    return {
        p.suffix.lower(): p for p in path.parent.iterdir() if p.stem.lower() == stem and p.is_file()
    }


def _read_cpg(data: bytes, name: str) -> str:
    raw = data.decode("ascii", errors="replace").strip()
    mapping = {"1250": "cp1250", "65001": "utf-8", "88592": "iso-8859-2", "8859_2": "iso-8859-2"}
    enc = mapping.get(raw.replace("ANSI ", "").strip(), raw)
    try:
        return codecs.lookup(enc).name
    except LookupError:
        raise ImportFileError(
            f".cpg names an unknown encoding {raw!r}; give the right one with --encoding", name
        ) from None


def _encoding_arg(encoding: str | None) -> str | None:
    if not encoding:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ImportFileError(f"--encoding: unknown encoding {encoding!r}") from None


# --------------------------------------------------------------------------- readers


def _gdal_records(
    target: Any,
    name: str,
    *,
    encoding: str | None,
    layer: str | None,
) -> tuple[list[str], int | None, str | None, Iterator[tuple[dict[str, Any], Any]]]:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        layers = pyogrio.list_layers(target)
        names = [str(n) for n, _ in layers]
        if layer is None:
            if len(names) > 1:
                raise ImportFileError(
                    f"the file has {len(names)} layers ({', '.join(names)}); "
                    "choose one with --source-layer",
                    name,
                )
        elif layer not in names:
            raise ImportFileError(
                f"no layer {layer!r} in the file (layers: {', '.join(names)})", name
            )
        if isinstance(target, io.BytesIO):
            target.seek(0)
        info = pyogrio.read_info(target, layer=layer, encoding=encoding)
        if isinstance(target, io.BytesIO):
            target.seek(0)
        df = pyogrio.read_dataframe(target, layer=layer, encoding=encoding)
    except ImportFileError:
        raise
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"text attributes are not valid {exc.encoding} ({exc.reason}); give the right "
            "encoding with --encoding (e.g. --encoding cp1250)",
            name,
        ) from None
    except (DataSourceError, DataLayerError) as exc:
        msg = str(exc).split(";")[0]
        raise ImportFileError(
            f"not a readable vector file ({msg}) - expected GeoJSON, GeoPackage, Shapefile "
            "or Esri JSON",
            name,
        ) from None
    except Exception as exc:  # GDAL can fail in many ways on a damaged file
        raise ImportFileError(f"cannot read the file: {exc}", name) from None
    crs = info.get("crs")
    geometry_col = df.geometry.name if hasattr(df, "geometry") else None
    columns = [c for c in df.columns if c != geometry_col]

    def records() -> Iterator[tuple[dict[str, Any], Any]]:
        geoms = df.geometry if geometry_col else [None] * len(df)
        attrs = df[columns].to_dict("records")
        yield from zip(attrs, geoms, strict=True)

    return columns, len(df), crs, records()


def _esri_records(
    raw: bytes, name: str, encoding: str | None
) -> tuple[list[str], int, int | None, Iterator[tuple[dict[str, Any], Any]]]:
    try:
        doc = json.loads(raw.decode(encoding or "utf-8"))
        fs = parse_feature_set(doc)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"not valid {encoding or 'UTF-8'} text ({exc.reason})", name
        ) from None
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"not JSON ({exc.msg} at line {exc.lineno})", name) from None
    except EsriJsonError as exc:
        raise ImportFileError(f"not a usable Esri JSON feature set: {exc}", name) from None
    date_fields = {
        f.get("name") for f in fs.fields if f.get("type") == "esriFieldTypeDate" and f.get("name")
    }
    columns = [str(f["name"]) for f in fs.fields if f.get("name")] or sorted(
        {k for a, _ in fs.features for k in a}
    )

    def records() -> Iterator[tuple[dict[str, Any], Any]]:
        for attrs, geom in fs.features:
            for k in date_fields:
                v = attrs.get(k)
                if isinstance(v, int | float) and not isinstance(v, bool):
                    attrs[k] = datetime.fromtimestamp(v / 1000, tz=UTC)  # Esri: epoch ms
            yield attrs, geom

    return columns, len(fs.features), fs.srid, records()


def open_vector(
    path: str | Path,
    *,
    encoding: str | None = None,
    crs: str | int | None = None,
    source_layer: str | None = None,
) -> VectorSource:
    """Check a vector file and open it for reading; ``ImportFileError`` says what is wrong."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise ImportFileError("no such file", str(path))
    if path.is_dir():
        raise ImportFileError(
            "is a directory; give a file (a .shp, .zip, .gpkg, .geojson, .json)", name
        )
    if path.stat().st_size == 0:
        raise ImportFileError("empty file (0 bytes)", name)
    encoding = _encoding_arg(encoding)
    srid_override = parse_crs(crs)
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    suffix = path.suffix.lower()
    notes: list[str] = []

    if suffix == ".zip" or head[:4] == b"PK\x03\x04":
        return _open_zip(path, encoding, srid_override, source_layer)

    if suffix == ".shp":
        sib = _siblings(path)
        enc = encoding
        if enc is None:
            if ".cpg" not in sib:
                raise ImportFileError(
                    f"no {path.stem}.cpg beside the shapefile, so the encoding of its text is "
                    "unknown; give it with --encoding (cp1250 or utf-8 - MSIP exports use "
                    "both)",
                    name,
                )
            enc = _read_cpg(sib[".cpg"].read_bytes(), name)
        if ".prj" not in sib and srid_override is None:
            raise ImportFileError(
                f"no {path.stem}.prj beside the shapefile, so its coordinate reference system "
                "is unknown; give it with --crs (e.g. --crs EPSG:2178)",
                name,
            )
        columns, count, file_crs, records = _gdal_records(
            str(path), name, encoding=enc, layer=source_layer
        )
        srid = srid_override or _file_srid(file_crs, name, ".prj")
        return VectorSource(path, "shapefile", srid, columns, count, records, notes)

    if suffix == ".gpkg" or head.startswith(SQLITE_MAGIC):
        if not head.startswith(SQLITE_MAGIC):
            raise ImportFileError(
                "not a GeoPackage (no SQLite header) - garbage, or the wrong file?", name
            )
        columns, count, file_crs, records = _gdal_records(
            str(path), name, encoding=encoding, layer=source_layer
        )
        srid = srid_override or _file_srid(file_crs, name, "layer SRS")
        return VectorSource(path, "gpkg", srid, columns, count, records, notes)

    if suffix in (".geojson", ".json", ".esrijson") or head.lstrip()[:1] == b"{":
        kind = _sniff_json(head, name, encoding)
        check_utf8(path, name, encoding)
        if kind == "esrijson" or suffix == ".esrijson":
            columns, count, srid, records = _esri_records(path.read_bytes(), name, encoding)
            if srid_override is None and srid is None:
                raise ImportFileError(
                    "the Esri JSON has no spatialReference, so its coordinate reference system "
                    "is unknown; give it with --crs (MSIP serves EPSG:2178)",
                    name,
                )
            return VectorSource(path, "esrijson", srid_override or srid, columns, count, records)
        target: Any = str(path)
        if encoding and encoding != "utf-8":
            target = io.BytesIO(path.read_text(encoding=encoding).encode("utf-8"))
        columns, count, file_crs, records = _gdal_records(target, name, encoding=None, layer=None)
        srid = srid_override or (_file_srid(file_crs, name, "crs member") if file_crs else 4326)
        source = VectorSource(path, "geojson", srid, columns, count, records, notes)
        if srid_override is None and srid == 4326:
            source.records = _lonlat_guard(source.records, name)
        return source

    if suffix == ".csv":
        columns, count, srid, records = open_csv(path, encoding, srid_override)
        return VectorSource(path, "csv", srid, columns, count, records, notes)

    raise ImportFileError(
        f"unknown file type {suffix or '(no extension)'}: expected .geojson/.json (GeoJSON or "
        "Esri JSON), .gpkg, .shp, a .zip holding a shapefile, or a .csv with a WKT column",
        name,
    )


def _lonlat_guard(
    records: Iterator[tuple[dict[str, Any], Any]], name: str
) -> Iterator[tuple[dict[str, Any], Any]]:
    """A GeoJSON without a crs member is lon/lat (RFC 7946); projected numbers mean the
    writer left the CRS out - refuse rather than reject every row as 'outside the city'."""
    for attrs, geom in records:
        if geom is not None and not geom.is_empty:
            xy = shapely.get_coordinates(geom)
            if len(xy) and ((abs(xy[:, 0]) > 180).any() or (abs(xy[:, 1]) > 90).any()):
                raise ImportFileError(
                    "the GeoJSON declares no CRS, but its coordinates are not "
                    f"longitude/latitude (e.g. {xy[0, 0]:.1f}, {xy[0, 1]:.1f}); give the CRS "
                    "with --crs (e.g. --crs EPSG:2178)",
                    name,
                )
        yield attrs, geom


def _file_srid(file_crs: str | None, name: str, what: str) -> int:
    if not file_crs:
        raise ImportFileError(
            f"the file has no coordinate reference system ({what} missing); give it with --crs "
            "(e.g. --crs EPSG:2178)",
            name,
        )
    try:
        crs = CRS.from_user_input(file_crs)
    except CRSError as exc:
        raise ImportFileError(f"unreadable coordinate reference system ({exc})", name) from None
    try:
        return _epsg(crs, "the file's CRS")
    except ImportFileError as exc:
        exc.source = name
        raise


def _open_zip(
    path: Path, encoding: str | None, srid_override: int | None, source_layer: str | None
) -> VectorSource:
    name = path.name
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ImportFileError(f"broken zip archive ({exc})", name) from None
    with zf:
        try:
            bad = zf.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise ImportFileError(f"broken zip archive ({exc})", name) from None
        if bad is not None:
            raise ImportFileError(f"broken zip archive (CRC error in {bad})", name)
        members = [
            m
            for m in zf.namelist()
            if not m.endswith("/") and "__MACOSX" not in m and not Path(m).name.startswith(".")
        ]
        shps = [m for m in members if m.lower().endswith(".shp")]
        if source_layer:
            shps = [m for m in shps if Path(m).stem == source_layer or m == source_layer]
        if not shps:
            raise ImportFileError(
                "the zip holds no shapefile (.shp)"
                + (f" named {source_layer!r}" if source_layer else ""),
                name,
            )
        parts = _export_parts(shps, members) if len(shps) > 1 and not source_layer else None
        if len(shps) > 1 and parts is None:
            raise ImportFileError(
                f"the zip holds {len(shps)} shapefiles ({', '.join(shps)}); choose one with "
                "--source-layer",
                name,
            )
        checked = [
            _zip_member(zf, members, m, name, encoding, srid_override) for m in parts or shps
        ]
    readers = []
    for member, enc in checked:
        target = f"/vsizip/{path.resolve()}/{member}"
        columns, count, file_crs, records = _gdal_records(target, name, encoding=enc, layer=None)
        has_geometry = member.lower().endswith(".shp")
        srid = srid_override or (_file_srid(file_crs, name, ".prj") if has_geometry else None)
        readers.append((columns, count, srid, records))
    if len(readers) == 1:
        columns, count, srid, records = readers[0]
        return VectorSource(path, "shapefile", srid, columns, count, records)
    # one export split by geometry family: read the parts as one layer
    srids = {r[2] for r in readers if r[2] is not None}
    if len(srids) > 1:
        raise ImportFileError(f"the zip's shapefiles differ in CRS ({sorted(srids)})", name)
    columns = list(dict.fromkeys(c for r in readers for c in r[0]))
    count = sum(r[1] or 0 for r in readers)
    records = (rec for r in readers for rec in r[3])
    src = VectorSource(path, "shapefile", srids.pop() if srids else None, columns, count, records)
    src.notes.append(f"read {len(readers)} parts of one export: {', '.join(m for m, _ in checked)}")
    return src


_PART = re.compile(r"^(?P<base>.+)_(?:point|line|polygon)$")


def _export_parts(shps: list[str], members: list[str]) -> list[str] | None:
    """Our own Shapefile export of a layer with several geometry families: ``<base>_point``,
    ``<base>_line``, ``<base>_polygon`` and ``<base>_nogeom.dbf`` (rows without geometry).
    Their members in that order, or None when the zip is not one such export."""
    bases = {m.group("base") if (m := _PART.match(s[:-4])) else None for s in shps}
    if len(bases) != 1 or None in bases:
        return None
    base = bases.pop()
    nogeom = [m for m in members if m.lower() == f"{base}_nogeom.dbf".lower()]
    return sorted(shps) + nogeom


def _zip_member(
    zf: zipfile.ZipFile,
    members: list[str],
    shp: str,
    name: str,
    encoding: str | None,
    srid_override: int | None,
) -> tuple[str, str | None]:
    """Check one shapefile (or a lone .dbf) of a zip: its .cpg (encoding) and .prj (CRS)."""
    stem = shp[:-4]
    siblings = {m[len(stem) :].lower(): m for m in members if m[: len(stem)] == stem}
    enc = encoding
    if enc is None:
        if ".cpg" not in siblings:
            raise ImportFileError(
                f"no {Path(stem).name}.cpg beside {shp} in the zip, so the encoding of its "
                "text is unknown; give it with --encoding (cp1250 or utf-8 - MSIP exports "
                "use both)",
                name,
            )
        enc = _read_cpg(zf.read(siblings[".cpg"]), name)
    if shp.lower().endswith(".shp") and ".prj" not in siblings and srid_override is None:
        raise ImportFileError(
            f"no {Path(stem).name}.prj beside {shp} in the zip, so its coordinate reference "
            "system is unknown; give it with --crs (e.g. --crs EPSG:2178)",
            name,
        )
    return shp, enc


# --------------------------------------------------------------------------- import


def _id_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer():
            value = int(value)
    s = str(value).strip()
    return s or None


def vector_rows(source: VectorSource, layer: Layer, mapping: FieldMapping) -> Iterator[Row]:
    resolved = mapping.resolve(layer, source.columns)
    id_col = mapping.id_column(source.columns)
    prefix = f"vector:{source.path.stem}"
    for i, (attrs, geom) in enumerate(source.records, start=1):
        props = mapping.apply(resolved, attrs)
        if id_col is not None:
            ext = _id_value(attrs.get(id_col))
        else:
            wkb = shapely.to_wkb(geom, hex=True) if geom is not None else None
            ext = stable_id(prefix, wkb, {k: attrs.get(k) for k in sorted(attrs)})
        yield Row(
            external_id=ext,
            properties=props,
            geometry=geom,
            srid=source.srid,
            ref=f"feature {i}",
            districts=_districts(attrs) if geom is None else None,
        )


def _districts(attrs: Mapping[str, Any]) -> list[int] | None:
    """Where a feature without geometry lies: our exports' NR_DZIELNI ("VIII" or "I,XVIII")."""
    by_upper = {str(k).upper(): v for k, v in attrs.items()}
    value = by_upper.get("NR_DZIELNI")
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return sorted({roman_to_int(part.strip()) for part in value.split(",") if part.strip()})
    except ValueError:
        return None


def import_vector(
    conn: Connection,
    path: str | Path,
    layer: Layer | str,
    *,
    mapping: FieldMapping | None = None,
    encoding: str | None = None,
    crs: str | int | None = None,
    source_layer: str | None = None,
    repair: bool = False,
    dry_run: bool = False,
    progress: bool | None = None,
) -> ImportReport:
    """Check, read and upsert one vector file into ``layer``; all or nothing."""
    lay = resolve_layer(layer)
    source = open_vector(path, encoding=encoding, crs=crs, source_layer=source_layer)
    report = ImportReport(source=source.path.name, layer=lay.name, dry_run=dry_run)
    report.notes += source.notes
    if source.srid not in (None, 4326):
        report.notes.append(f"reprojected from EPSG:{source.srid} to EPSG:4326")
    import_rows(
        conn,
        lay,
        vector_rows(source, lay, mapping or FieldMapping()),
        dry_run=dry_run,
        repair=repair,
        report=report,
        source=source.path.name,
        total=source.count,
        progress=progress,
    )
    return report
