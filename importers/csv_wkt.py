"""A CSV with a WKT column — what our own CSV export writes — read as a vector source.

The header names the columns (the export's ``WKT`` first, or a column named ``wkt`` /
``geometry``); the CRS is ``--crs``, else the export's ``meta_crs`` column (one value for the
whole file). A cell the export neutralised for spreadsheets (``'=…``) is read back as it was.
Empty cells are missing values. A geometry that does not parse stops the import (all or
nothing), naming the line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo.export_csv import _FORMULA_START
from importers.report import ImportFileError

GEOMETRY_COLUMNS = ("wkt", "geometry", "geom")
META_PREFIX = "meta_"  # the export's metadata columns, not attributes
MAX_FIELD = 50 * 1024 * 1024  # a polygon's WKT may be long


def _cell(value: str) -> str | None:
    if value == "":
        return None
    if value.startswith("'") and value[1:2] and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def read_csv(path: Path, encoding: str | None) -> tuple[list[str], list[list[str]]]:
    name = path.name
    try:
        text = path.read_bytes().decode(encoding or "utf-8-sig")
    except (UnicodeDecodeError, LookupError) as exc:
        raise ImportFileError(
            f"the CSV is not {encoding or 'UTF-8'} ({exc}); give --encoding", name
        ) from None
    csv.field_size_limit(MAX_FIELD)
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)  # the header's separator; quoting as Excel's
    try:
        rows = list(csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter))
    except csv.Error as exc:
        raise ImportFileError(f"unreadable CSV ({exc})", name) from None
    if not rows or not any(rows[0]):
        raise ImportFileError("the CSV has no header row", name)
    return rows[0], rows[1:]


def open_csv(
    path: Path, encoding: str | None, srid_override: int | None
) -> tuple[list[str], int, int | None, Iterator[tuple[dict[str, Any], Any]]]:
    """(columns, count, srid, records) of a CSV with WKT geometry."""
    name = path.name
    header, body = read_csv(path, encoding)
    lower = [h.strip().lower() for h in header]
    geom_at = next((lower.index(c) for c in GEOMETRY_COLUMNS if c in lower), None)
    attrs_at = [
        i for i, h in enumerate(lower) if i != geom_at and not h.startswith(META_PREFIX) and h
    ]
    srid = srid_override
    if srid is None and geom_at is not None and "meta_crs" in lower:
        values = {r[lower.index("meta_crs")] for r in body if len(r) > lower.index("meta_crs")}
        values.discard("")
        if len(values) > 1:
            raise ImportFileError(f"the CSV's meta_crs column holds {sorted(values)}", name)
        if values:
            try:
                srid = CRS.from_user_input(values.pop()).to_epsg()
            except CRSError as exc:
                raise ImportFileError(f"unreadable meta_crs ({exc})", name) from None
    if geom_at is not None and srid is None and any(len(r) > geom_at and r[geom_at] for r in body):
        raise ImportFileError(
            "the CSV's WKT has no coordinate reference system; give it with --crs "
            "(e.g. --crs EPSG:4326)",
            name,
        )

    def records() -> Iterator[tuple[dict[str, Any], Any]]:
        for line, row in enumerate(body, start=2):
            if not any(row):
                continue
            row = row + [""] * (len(header) - len(row))
            attrs = {header[i].strip(): _cell(row[i]) for i in attrs_at}
            geom = None
            if geom_at is not None and row[geom_at].strip():
                try:
                    geom = shapely.from_wkt(row[geom_at])
                except shapely.errors.GEOSException as exc:
                    raise ImportFileError(f"line {line}: unreadable WKT ({exc})", name) from None
            yield attrs, geom

    count = sum(1 for r in body if any(r))
    return [header[i].strip() for i in attrs_at], count, srid, records()
