"""What every importer shares: the report, the field mapping and ``import_rows``.

``import_rows(conn, layer, rows, dry_run=..., repair=...)`` upserts features into any
registered layer's table by ``external_id``, inside ONE transaction (a savepoint when the
caller already holds a transaction, so the caller's ``engine.begin()`` decides the final
commit). Each row is validated first, in Python, against the Layer's fields (type,
required, max_length, choices, minimum/maximum) and its geometry (finite coordinates, an
allowed type, valid; reprojected to EPSG:4326 with ``always_xy``). Rows are then written
in batches of ``BATCH_SIZE``, each batch under a SAVEPOINT (one pipelined executemany); when
the database refuses a row of a batch (outside the city: SQLSTATE CV001 from the
``civic_feature_write`` trigger; a CHECK constraint), the batch is rolled back to its
savepoint and written again row by row, each row under its own savepoint, so the refused
row is reported with the database's reason and the other rows still go in.

Two kinds of failure, kept apart on purpose:

* a bad **row** is rejected and listed in the ``ImportReport`` with its reason;
* a bad **file** (wrong encoding, broken zip, unknown CRS, empty, garbage, a mapping naming
  a field the layer lacks) raises ``ImportFileError`` - from the reader, possibly halfway
  through the rows - and everything this import wrote is rolled back.

Idempotence: the upsert only touches a row whose values differ
(``ON CONFLICT ... DO UPDATE ... WHERE (...) IS DISTINCT FROM (...)``), so importing the same
file again changes nothing - not even ``updated_at`` - and ids stay the same.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from sqlalchemy import Connection, text
from tqdm import tqdm

from geo.crs import STORAGE, transformer
from geo.db import OUTSIDE_CITY
from geo.schema import ident
from layers import registry
from layers.base import Field, Layer

__all__ = [
    "FieldMapping",
    "ImportFileError",
    "ImportReport",
    "Rejection",
    "Row",
    "import_rows",
    "parse_map_option",
    "progress_bar",
    "resolve_layer",
    "validate_properties",
]

MAX_REASONS_SHOWN = 50


class ImportFileError(ValueError):
    """The file itself cannot be imported; nothing was changed (the transaction rolled back)."""

    def __init__(self, message: str, source: str | None = None):
        self.message = message
        self.source = source
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message


# --------------------------------------------------------------------------- the report


@dataclass
class Rejection:
    ref: str  # where in the source: "line 12", "feature 3"
    external_id: str | None
    reason: str
    field: str | None = None
    index: int = 0  # position in the source, to list rejections in reading order

    def __str__(self) -> str:
        ident_ = f" [{self.external_id}]" if self.external_id else ""
        where = f" ({self.field})" if self.field else ""
        return f"{self.ref}{ident_}{where}: {self.reason}"


@dataclass
class ImportReport:
    """What one import did; ``summary()`` prints it for a person."""

    source: str
    layer: str
    dry_run: bool = False
    read: int = 0
    imported: int = 0  # new rows
    updated: int = 0  # existing rows whose values changed
    unchanged: int = 0  # existing rows already identical
    repaired: int = 0  # invalid geometries made valid (--repair)
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)  # e.g. {"ballots": 65101}

    def reject(
        self,
        ref: str,
        reason: str,
        external_id: str | None = None,
        field: str | None = None,
        index: int | None = None,
    ) -> None:
        at = self.read if index is None else index
        self.rejected.append(Rejection(ref, external_id, reason, field, at))

    @property
    def accepted(self) -> int:
        return self.imported + self.updated + self.unchanged

    @property
    def ok(self) -> bool:
        """False when the source had rows but none of them could be used."""
        return self.read == 0 or self.accepted > 0

    def summary(self, max_reasons: int = MAX_REASONS_SHOWN) -> str:
        head = f"{self.source} -> {self.layer}"
        if self.dry_run:
            head += " (dry run: nothing was written)"
        counts = (
            f"  read {self.read}, imported {self.imported}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}"
        )
        if self.repaired:
            counts += f", repaired {self.repaired}"
        lines = [head, counts]
        lines += [f"  {k}: {v}" for k, v in self.extra.items()]
        lines += [f"  note: {n}" for n in self.notes]
        if self.rejected:
            lines.append("  rejected rows:")
            lines += [f"    {r}" for r in self.rejected[:max_reasons]]
            if len(self.rejected) > max_reasons:
                lines.append(f"    ... and {len(self.rejected) - max_reasons} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def progress_bar(iterable: Iterable[Any], *, desc: str, total: int | None = None, **kw: Any):
    """A tqdm bar on stderr, shown on a terminal and silent in pipes and tests."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    kw.setdefault("disable", None)
    return tqdm(iterable, desc=desc, total=total, file=sys.stderr, leave=False, **kw)


# --------------------------------------------------------------------------- rows


@dataclass
class Row:
    """One feature as an importer read it, before validation.

    ``geometry`` may be a shapely geometry, a GeoJSON-like mapping, WKB bytes or None, in
    ``srid`` (easting/longitude first). ``districts`` is only used when there is no geometry
    (a "whole district" proposal); otherwise the database computes them.
    """

    external_id: str | None
    properties: dict[str, Any]
    geometry: Any = None
    srid: int | None = STORAGE
    ref: str = ""
    districts: list[int] | None = None


def stable_id(prefix: str, *parts: Any) -> str:
    """A content hash id for sources without an id column (same content -> same id)."""
    digest = hashlib.sha1(
        json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()[:16]
    return f"{prefix}:{digest}"


# --------------------------------------------------------------------------- field mapping


def parse_map_option(value: str | None) -> dict[str, str]:
    """``"title=NAZWA,cost=KOSZT"`` -> ``{"title": "NAZWA", "cost": "KOSZT"}``."""
    out: dict[str, str] = {}
    if not value:
        return out
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ImportFileError(f"--map: expected field=COLUMN, got {part!r}")
        target, source = (s.strip() for s in part.split("=", 1))
        if not target or not source:
            raise ImportFileError(f"--map: expected field=COLUMN, got {part!r}")
        out[target] = source
    return out


@dataclass
class FieldMapping:
    """How source columns become layer fields.

    * ``fields``: layer field -> source column (``--map title=NAZWA`` or the mapping file);
    * ``constants``: layer field -> fixed value for every row (``--set scope=citywide`` or
      ``defaults:`` in the mapping file);
    * ``external_id``: the source column holding a stable id (``--map external_id=OBJECTID``
      works too); without it a column named ``external_id`` / ``ext_id`` is used, else the
      importer makes one (a content hash for files, ``<service>:<object id>`` for ArcGIS).

    A layer field that is not mapped is taken from a source column of the same name
    (case-insensitive) or of its ``msip_name`` (``TYTUL``, ``KOSZT``), so a file exported
    by this application comes back without any mapping.
    """

    fields: dict[str, str] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> FieldMapping:
        """A YAML or JSON mapping file::

        external_id: OBJECTID
        fields: {title: NAZWA, cost: KOSZT}
        defaults: {scope: district, status: submitted, edition: 2025}
        """
        p = Path(path)
        try:
            raw = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportFileError(f"cannot read mapping file: {exc}", str(p)) from exc
        try:
            if p.suffix.lower() == ".json":
                doc = json.loads(raw)
            else:
                import yaml

                doc = yaml.safe_load(raw)
        except Exception as exc:  # yaml.YAMLError, json.JSONDecodeError
            raise ImportFileError(f"mapping file is not valid YAML/JSON: {exc}", str(p)) from exc
        if not isinstance(doc, dict):
            raise ImportFileError("mapping file must hold a mapping (fields: ...)", str(p))
        unknown = set(doc) - {"fields", "defaults", "external_id"}
        if unknown:
            raise ImportFileError(
                f"mapping file: unknown key(s) {', '.join(sorted(unknown))} "
                "(expected fields, defaults, external_id)",
                str(p),
            )
        fields = doc.get("fields") or {}
        defaults = doc.get("defaults") or {}
        if not isinstance(fields, dict) or not isinstance(defaults, dict):
            raise ImportFileError("mapping file: fields and defaults must be mappings", str(p))
        return cls(
            fields={str(k): str(v) for k, v in fields.items()},
            constants=dict(defaults),
            external_id=str(doc["external_id"]) if doc.get("external_id") else None,
        )

    def merged(self, other: FieldMapping) -> FieldMapping:
        """``other`` (e.g. the command-line --map) wins over self (the mapping file)."""
        return FieldMapping(
            fields={**self.fields, **other.fields},
            constants={**self.constants, **other.constants},
            external_id=other.external_id or self.external_id,
        )

    def resolve(self, layer: Layer, columns: Iterable[str]) -> dict[str, str]:
        """Layer field -> source column, checked against the layer and the source.

        Raises ``ImportFileError`` for a mapping naming a field the layer lacks or a column
        the source lacks: that is a problem with the whole import, not with a row.
        """
        cols = list(columns)
        by_lower = {c.lower(): c for c in cols}
        names = {f.name for f in layer.fields}
        fields = dict(self.fields)
        if "external_id" in fields:  # --map external_id=OBJECTID names the id column
            id_column = fields.pop("external_id")
            self.external_id = self.external_id or id_column
        bad = sorted((set(fields) | set(self.constants)) - names)
        if bad:
            raise ImportFileError(
                f"layer {layer.name} has no field(s) {', '.join(bad)}; "
                f"its fields are {', '.join(sorted(names))}"
            )
        out: dict[str, str] = {}
        for target, source in fields.items():
            real = source if source in cols else by_lower.get(source.lower())
            if real is None:
                raise ImportFileError(
                    f"mapping {target}={source}: the source has no column {source!r} "
                    f"(columns: {', '.join(cols) or 'none'})"
                )
            out[target] = real
        for f in layer.fields:
            if f.name in out or f.name in self.constants:
                continue
            for candidate in (f.name, f.msip_name):
                if candidate and candidate.lower() in by_lower:
                    out[f.name] = by_lower[candidate.lower()]
                    break
        if self.external_id:
            real = (
                self.external_id
                if self.external_id in cols
                else by_lower.get(self.external_id.lower())
            )
            if real is None:
                raise ImportFileError(
                    f"external_id column {self.external_id!r} is not in the source "
                    f"(columns: {', '.join(cols) or 'none'})"
                )
            self.external_id = real
        return out

    def id_column(self, columns: Iterable[str]) -> str | None:
        if self.external_id:
            return self.external_id
        by_lower = {c.lower(): c for c in columns}
        for candidate in ("external_id", "ext_id", "id_zewn"):
            if candidate in by_lower:
                return by_lower[candidate]
        return None

    def apply(self, resolved: Mapping[str, str], record: Mapping[str, Any]) -> dict[str, Any]:
        props = {target: record.get(source) for target, source in resolved.items()}
        props.update(self.constants)
        return props


# --------------------------------------------------------------------------- validation

_TRUE = {"1", "true", "t", "yes", "y", "tak", "prawda"}
_FALSE = {"0", "false", "f", "no", "n", "nie", "falsz", "fałsz"}


def _plain(value: Any) -> Any:
    """numpy / pandas scalars -> Python; NaN / NaT / "" -> None."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


class _Invalid(ValueError):
    pass


def _to_number(value: Any) -> float:
    if isinstance(value, bool):
        raise _Invalid(f"expected a number, got {value!r}")
    if isinstance(value, int | float | Decimal):
        number = float(value)
    elif isinstance(value, str):
        s = value.replace("\u00a0", "").replace(" ", "")
        if re.fullmatch(r"[+-]?\d+,\d+", s):  # Polish decimal comma
            s = s.replace(",", ".")
        try:
            number = float(s)
        except ValueError:
            raise _Invalid(f"expected a number, got {value!r}") from None
    else:
        raise _Invalid(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise _Invalid(f"expected a finite number, got {value!r}")
    return number


def _to_int(value: Any) -> int:
    number = _to_number(value)
    if not number.is_integer():
        raise _Invalid(f"expected a whole number, got {value!r}")
    return int(number)


def _to_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [v for v in (_plain(v) for v in value) if v is not None]
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("[") and s.endswith("]"):
            try:
                parsed = json.loads(s)
                if isinstance(parsed, list):
                    return _to_list(parsed)
            except json.JSONDecodeError:
                pass
        if s.startswith("{") and s.endswith("}"):  # a PostgreSQL array literal
            s = s[1:-1]
        sep = ";" if ";" in s else ","
        return [p.strip().strip('"') for p in s.split(sep) if p.strip()]
    return [value]


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        s = value.strip()
        for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d"):
            try:
                return datetime.strptime(s[:19] if "T" in fmt else s, fmt).date()
            except ValueError:
                continue
    raise _Invalid(f"expected a date (YYYY-MM-DD), got {value!r}")


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
    raise _Invalid(f"expected a date and time (ISO 8601), got {value!r}")


def _choice(f: Field, value: str) -> str:
    if value in f.choices:
        return value
    folded = {c.casefold(): c for c in f.choices}
    if value.casefold() in folded:
        return folded[value.casefold()]
    shown = ", ".join(f.choices[:12]) + (", ..." if len(f.choices) > 12 else "")
    raise _Invalid(f"{value!r} is not one of: {shown}")


def _coerce(f: Field, value: Any) -> Any:
    t = f.type
    if t in ("text", "enum"):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        s = value if isinstance(value, str) else str(value)
        s = s.strip()
        if f.max_length and len(s) > f.max_length:
            raise _Invalid(f"longer than {f.max_length} characters ({len(s)})")
        if f.choices or t == "enum":
            s = _choice(f, s)
        return s
    if t == "int":
        v: Any = _to_int(value)
    elif t in ("float", "money"):
        v = _to_number(value)
    elif t == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        s = str(value).strip().casefold()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise _Invalid(f"expected yes/no (true/false, 1/0), got {value!r}")
    elif t == "date":
        return _to_date(value)
    elif t == "datetime":
        return _to_datetime(value)
    elif t == "int[]":
        return [_to_int(v) for v in _to_list(value)]
    elif t == "text[]":
        items = [str(v).strip() for v in _to_list(value)]
        if f.choices:
            items = [_choice(f, v) for v in items]
        return list(dict.fromkeys(items))  # keep order, drop repeats
    else:  # pragma: no cover - a new FieldType needs a branch here
        raise _Invalid(f"unsupported field type {t}")
    if f.minimum is not None and v < f.minimum:
        raise _Invalid(f"must be at least {f.minimum:g}, got {v:g}")
    if f.maximum is not None and v > f.maximum:
        raise _Invalid(f"must be at most {f.maximum:g}, got {v:g}")
    if t == "money":
        try:
            return Decimal(repr(v)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise _Invalid(f"not an amount: {value!r}") from None
    return v


def validate_properties(
    layer: Layer, properties: Mapping[str, Any], *, check_required: bool = True
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Clean properties by the layer's fields -> (values, [(field, problem), ...]).

    Unknown names raise ``ImportFileError`` (a mapping error affects every row).
    """
    names = {f.name: f for f in layer.fields}
    unknown = [k for k in properties if k not in names]
    if unknown:
        raise ImportFileError(f"layer {layer.name} has no field(s) {', '.join(sorted(unknown))}")
    clean: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, raw in properties.items():
        f = names[name]
        value = _plain(raw)
        if value is None:
            clean[name] = [] if f.type.endswith("[]") else None
            continue
        try:
            clean[name] = _coerce(f, value)
        except _Invalid as exc:
            problems.append((name, str(exc)))
    if check_required:
        bad = {name for name, _ in problems}
        for f in layer.fields:
            if f.required and f.name not in bad and clean.get(f.name) in (None, "", []):
                problems.append((f.name, "required"))
    return clean, problems


# --------------------------------------------------------------------------- geometry

_SINGLE_OF = {"MultiPoint": "Point", "MultiLineString": "LineString", "MultiPolygon": "Polygon"}
_MULTI_OF = {v: k for k, v in _SINGLE_OF.items()}
_DIMENSION = {"Point": 1, "LineString": 2, "Polygon": 3}


class _BadGeometry(ValueError):
    pass


def to_shape(geometry: Any) -> BaseGeometry | None:
    """shapely / GeoJSON mapping / WKB / WKT -> shapely (None or empty -> None)."""
    if geometry is None:
        return None
    try:
        if isinstance(geometry, BaseGeometry):
            g = geometry
        elif isinstance(geometry, Mapping):
            g = shape(geometry)
        elif isinstance(geometry, bytes | bytearray | memoryview):
            g = shapely.from_wkb(bytes(geometry))
        elif isinstance(geometry, str):
            g = shapely.from_wkt(geometry)
        else:
            raise _BadGeometry(f"unsupported geometry value {type(geometry).__name__}")
    except (shapely.errors.GEOSException, ValueError, TypeError, KeyError, IndexError) as exc:
        if isinstance(exc, _BadGeometry):
            raise
        raise _BadGeometry(f"unreadable geometry: {exc}") from exc
    if g is None or g.is_empty:
        return None
    return g


def _fit_type(g: BaseGeometry, allowed: tuple[str, ...]) -> BaseGeometry:
    kind = g.geom_type
    if kind in allowed:
        return g
    if kind in _SINGLE_OF and _SINGLE_OF[kind] in allowed and len(g.geoms) == 1:  # type: ignore[attr-defined]
        return g.geoms[0]  # type: ignore[attr-defined]
    if kind in _MULTI_OF and _MULTI_OF[kind] in allowed:
        return getattr(shapely.geometry, _MULTI_OF[kind])([g])
    raise _BadGeometry(f"geometry type {kind} is not allowed here (allowed: {', '.join(allowed)})")


def _reproject(g: BaseGeometry, srid: int) -> BaseGeometry:
    if srid == STORAGE:
        return g
    tr = transformer(srid, STORAGE)

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(g, fn)


def prepare_geometry(
    conn: Connection, layer: Layer, geometry: Any, srid: int | None, repair: bool
) -> tuple[bytes | None, bool]:
    """Validated EPSG:4326 WKB for the layer, and whether it was repaired.

    Raises ``_BadGeometry`` (row rejected) and ``ImportFileError`` (no CRS at all).
    """
    g = to_shape(geometry)
    if g is None:
        if layer.geometry_required:
            raise _BadGeometry("geometry is required for this layer")
        return None, False
    if srid is None:
        raise ImportFileError("the source has no coordinate reference system; give --crs")
    if g.has_z:
        g = shapely.force_2d(g)
    coords = shapely.get_coordinates(g)
    if not np.isfinite(coords).all():
        raise _BadGeometry("geometry has NaN or infinite coordinates")
    g = _reproject(g, srid)
    coords = shapely.get_coordinates(g)
    if (
        not np.isfinite(coords).all()
        or (np.abs(coords[:, 0]) > 180).any()
        or (np.abs(coords[:, 1]) > 90).any()
    ):
        raise _BadGeometry(
            f"coordinates are not longitude/latitude after reprojection from EPSG:{srid} "
            "(wrong CRS?)"
        )
    if g.geom_type == "GeometryCollection":
        raise _BadGeometry("geometry collections are not supported")
    g = _fit_type(g, layer.geometry_types)
    repaired = False
    if not g.is_valid:
        reason = explain_validity(g)
        if not repair:
            raise _BadGeometry(
                f"invalid geometry ({reason}); use --repair to fix it with ST_MakeValid"
            )
        dim = _DIMENSION[_SINGLE_OF.get(g.geom_type, g.geom_type)]
        wkb = conn.execute(
            text(
                "SELECT ST_AsBinary(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB(:wkb)), :dim))"
            ),
            {"wkb": shapely.to_wkb(g), "dim": dim},
        ).scalar_one()
        fixed = to_shape(bytes(wkb)) if wkb is not None else None
        if fixed is None:
            raise _BadGeometry(f"invalid geometry ({reason}) and ST_MakeValid left nothing of it")
        g = _fit_type(fixed, layer.geometry_types)
        repaired = True
    return shapely.to_wkb(g), repaired


# --------------------------------------------------------------------------- the upsert


BATCH_SIZE = 500


@lru_cache(maxsize=64)
def _upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    """INSERT ... ON CONFLICT (external_id) DO UPDATE only when a value differs.

    RETURNS ``inserted`` (true: new row, false: updated); no row when nothing changed, so
    ``updated_at`` (set by the trigger on UPDATE) does not move on a re-import.
    """
    t = ident(table)
    cols = ("external_id", "geom", "districts", *(ident(c) for c in columns))
    values = [
        "%(external_id)s",
        "ST_SetSRID(ST_GeomFromWKB(%(geom)s::bytea), 4326)",
        "CAST(%(districts)s AS smallint[])",
        *(f"%({c})s" for c in columns),
    ]
    compared = ("geom", "districts", *columns)
    return f"""
        INSERT INTO {t} AS t ({", ".join(cols)})
        VALUES ({", ".join(values)})
        ON CONFLICT (external_id) DO UPDATE SET
            {", ".join(f"{c} = EXCLUDED.{c}" for c in compared)}
        WHERE ({", ".join(f"t.{c}" for c in compared)})
              IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in compared)})
        RETURNING (xmax = 0) AS inserted"""


@dataclass
class _Pending:
    index: int
    ref: str
    external_id: str
    params: dict[str, Any]
    repaired: bool


class _Writer:
    """Writes validated rows in batches: one SAVEPOINT and one pipelined executemany per
    batch; when the database refuses a row of the batch, the batch is rolled back to its
    savepoint and written again row by row, each under its own savepoint, so only the
    refused rows are rejected (with the database's reason)."""

    def __init__(self, conn: Connection, layer: Layer, report: ImportReport):
        self.raw = conn.connection.driver_connection
        self.layer = layer
        self.report = report
        self.columns: tuple[str, ...] | None = None
        self.pending: list[_Pending] = []

    def add(self, columns: tuple[str, ...], item: _Pending) -> None:
        if self.columns is not None and columns != self.columns:
            self.flush()
        self.columns = columns
        self.pending.append(item)
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def _count(self, item: _Pending, result: tuple[Any, ...] | None) -> None:
        self.report.repaired += item.repaired
        if result is None:
            self.report.unchanged += 1
        elif result[0]:
            self.report.imported += 1
        else:
            self.report.updated += 1

    def flush(self) -> None:
        if not self.pending:
            return
        assert self.columns is not None
        sql = _upsert_sql(self.layer.table, self.columns)
        batch, self.pending = self.pending, []
        with self.raw.cursor() as cur:
            cur.execute("SAVEPOINT civicmap_batch")
            try:
                cur.executemany(sql, [p.params for p in batch], returning=True)
                results = []
                while True:
                    results.append(cur.fetchone())
                    if not cur.nextset():
                        break
                cur.execute("RELEASE SAVEPOINT civicmap_batch")
            except psycopg.DatabaseError:
                cur.execute("ROLLBACK TO SAVEPOINT civicmap_batch")
                cur.execute("RELEASE SAVEPOINT civicmap_batch")
            else:
                for item, result in zip(batch, results, strict=True):
                    self._count(item, result)
                return
            for item in batch:
                cur.execute("SAVEPOINT civicmap_row")
                try:
                    cur.execute(sql, item.params)
                    result = cur.fetchone()
                    cur.execute("RELEASE SAVEPOINT civicmap_row")
                except psycopg.DatabaseError as exc:
                    cur.execute("ROLLBACK TO SAVEPOINT civicmap_row")
                    cur.execute("RELEASE SAVEPOINT civicmap_row")
                    why = db_reason(exc)
                    if why is None:
                        raise
                    self.report.reject(item.ref, why[1], item.external_id, why[0], item.index)
                    continue
                self._count(item, result)


def db_reason(exc: BaseException) -> tuple[str | None, str] | None:
    """(field, reason) for an error that concerns the row, else None (re-raise it)."""
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None) or ""
    diag = getattr(orig, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(orig or exc)).strip()
    column = getattr(diag, "column_name", None)
    constraint = getattr(diag, "constraint_name", None)
    if state == OUTSIDE_CITY:
        return "geom", "geometry lies outside the city"
    if state.startswith("CV"):
        return column, message
    if state.startswith("23"):
        detail = f" ({constraint})" if constraint else ""
        return column, f"refused by the database{detail}: {message}"
    if state.startswith("22"):
        return column, f"value refused by the database: {message}"
    return None


def resolve_layer(layer: Layer | str) -> Layer:
    """A Layer, or the registered layer of that name (ImportFileError if none)."""
    if isinstance(layer, Layer):
        return layer
    found = registry.get(layer)
    if found is None:
        names = ", ".join(sorted(lay.name for lay in registry.all_layers()))
        raise ImportFileError(f"unknown layer {layer!r}; registered layers: {names}")
    return found


def _as_row(item: Row | Mapping[str, Any], index: int) -> Row:
    if isinstance(item, Row):
        return item
    return Row(
        external_id=item.get("external_id"),
        properties=dict(item.get("properties") or {}),
        geometry=item.get("geometry"),
        srid=item.get("srid", STORAGE),
        ref=item.get("ref") or f"row {index}",
        districts=item.get("districts"),
    )


_DISABLE = {True: False, False: True, None: None}  # tqdm: None = only on a terminal


@contextmanager
def import_transaction(conn: Connection, dry_run: bool = False) -> Iterator[None]:
    """One import, one transaction (a savepoint inside a caller's transaction).

    Any exception undoes all of it; a dry run does all the work, then rolls it back.
    """
    outer = conn.begin_nested() if conn.in_transaction() else conn.begin()
    try:
        yield
    except BaseException:
        if outer.is_active:
            outer.rollback()
        raise
    if dry_run:
        outer.rollback()
    else:
        outer.commit()


def import_rows(
    conn: Connection,
    layer: Layer | str,
    rows: Iterable[Row | Mapping[str, Any]],
    *,
    dry_run: bool = False,
    repair: bool = False,
    report: ImportReport | None = None,
    source: str = "",
    total: int | None = None,
    allow_empty: bool = False,
    progress: bool | None = None,
) -> ImportReport:
    """Upsert ``rows`` into ``layer``'s table by external_id, all in one transaction.

    ``rows`` may be a lazy iterator: a reader that meets a broken file halfway raises
    ``ImportFileError`` and nothing of this import stays. ``dry_run`` does all the work -
    the database checks included - and rolls it back. ``progress=None`` shows a bar on a
    terminal only.
    """
    lay = resolve_layer(layer)
    report = report or ImportReport(source=source, layer=lay.name)
    report.dry_run = report.dry_run or dry_run
    seen: dict[str, str] = {}
    writer = _Writer(conn, lay, report)
    with import_transaction(conn, dry_run):
        bar = progress_bar(
            rows, desc=lay.name, total=total, unit=" rows", disable=_DISABLE[progress]
        )
        for index, item in enumerate(bar, start=1):
            row = _as_row(item, index)
            ref = row.ref or f"row {index}"
            report.read += 1
            ext = str(row.external_id).strip() if row.external_id not in (None, "") else None
            if ext is None:
                report.reject(ref, "no external id", None, "external_id")
                continue
            if ext in seen:
                report.reject(
                    ref, f"external id repeated (first at {seen[ext]})", ext, "external_id"
                )
                continue
            seen[ext] = ref
            values, problems = validate_properties(lay, row.properties)
            if problems:
                if len(problems) == 1:
                    report.reject(ref, problems[0][1], ext, problems[0][0])
                else:
                    reason = "; ".join(f"{name}: {problem}" for name, problem in problems)
                    report.reject(ref, reason, ext, problems[0][0])
                continue
            try:
                wkb, repaired = prepare_geometry(conn, lay, row.geometry, row.srid, repair)
            except _BadGeometry as exc:
                report.reject(ref, str(exc), ext, "geom")
                continue
            districts = [] if wkb is not None else list(row.districts or [])
            params = {"external_id": ext, "geom": wkb, "districts": districts, **values}
            writer.add(tuple(sorted(values)), _Pending(report.read, ref, ext, params, repaired))
        writer.flush()
        report.rejected.sort(key=lambda r: r.index)
        if report.read == 0 and not allow_empty:
            raise ImportFileError("the source holds no features (empty file?)", source or None)
    return report
