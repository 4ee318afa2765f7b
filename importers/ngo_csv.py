"""NGO locations from a CSV file, in the shape a city office would export.

Columns (header names are case-insensitive; the Polish names in brackets work too):

============================  ===========================================================
column                        content
============================  ===========================================================
``name`` (nazwa)              required; the organisation's name
``krs``                       optional; National Court Register number, exactly 10 digits
                              (``0000123456``; spaces, dashes and a ``KRS`` prefix are
                              ignored). Anything else rejects the row.
``address`` (adres)           optional; street and number
``lon``, ``lat``              WGS84 decimal degrees (a decimal comma is accepted), **or**
``x``, ``y``                  EPSG:2178 (PL-2000 zone 7) metres. Geodesists call the
                              northing "x": the order is recognised from the values (the
                              easting carries the zone prefix 7: 7 4xx xxx), so both
                              conventions import correctly.
``fields`` (obszary)          optional; ``;``-separated codes of fields of public-benefit
                              activity (``culture;children_youth``): see
                              layers/ngos.py FIELDS_OF_ACTIVITY (Polish titles work too)
``website`` (www)             optional
``districts_served``          optional; ``;``-separated district numbers (arabic or Roman)
(dzielnice)                   or names
``external_id``               optional; else ``ngo:<krs or name>:<hash of the address>``
============================  ===========================================================

The delimiter (``,`` ``;`` or tab) is detected from the header line. The file must be UTF-8
(a BOM, as Excel writes it, is fine); give ``encoding="cp1250"`` for a Windows export.
A file that cannot be decoded, lacks the ``name`` column or any coordinate columns, or is
not CSV at all is refused as a whole; a row with a bad KRS, unknown field code or missing
coordinates is rejected with its reason while the others are imported. An entry that an
organisation has claimed (a place of its profile, civic/ngos) is not overwritten by a
re-import: its row is reported as rejected (field ``external_id``).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from geo.cities import City
from geo.names import match_name, normalise, roman_to_int
from importers.report import ImportFileError, ImportReport
from importers.writer import Row, import_rows
from layers.ngos import FIELDS_OF_ACTIVITY, LAYER

ALIASES = {
    "name": ("name", "nazwa", "nazwa organizacji"),
    "krs": ("krs", "numer krs", "nr krs"),
    "address": ("address", "adres"),
    "lon": ("lon", "lng", "long", "longitude", "dlugosc"),
    "lat": ("lat", "latitude", "szerokosc"),
    "x": ("x",),
    "y": ("y",),
    "fields": ("fields", "obszary", "obszary dzialalnosci", "dziedziny"),
    "website": ("website", "www", "strona", "strona www"),
    "districts_served": ("districts_served", "dzielnice", "dzielnice dzialania"),
    "external_id": ("external_id", "id"),
}
KRS_RE = re.compile(r"^\d{10}$")
EASTING_2178 = (7_300_000.0, 7_700_000.0)  # zone 7: false easting 7 500 000
NORTHING_PL = (5_350_000.0, 6_150_000.0)  # Poland's northings in PL-2000


class _RowError(ValueError):
    def __init__(self, field: str, reason: str):
        self.field = field
        super().__init__(reason)


def normalise_krs(value: str | None) -> str | None:
    """``"KRS 0000-123-456"`` -> ``"0000123456"``; raises _RowError if not 10 digits."""
    if value is None or not str(value).strip():
        return None
    raw = str(value).strip()
    digits = re.sub(r"[\s\-.]", "", re.sub(r"^krs[:\s]*", "", raw, flags=re.IGNORECASE))
    if not KRS_RE.match(digits):
        raise _RowError("krs", f"KRS must be exactly 10 digits, got {raw!r}")
    return digits


def _number(value: str, column: str) -> float:
    s = value.strip().replace("\u00a0", "").replace(" ", "")
    if re.fullmatch(r"[+-]?\d+,\d+", s):
        s = s.replace(",", ".")
    try:
        n = float(s)
    except ValueError:
        raise _RowError(column, f"{column} is not a number: {value!r}") from None
    if n != n or n in (float("inf"), float("-inf")):
        raise _RowError(column, f"{column} is not a finite number: {value!r}")
    return n


def point_2178(a: float, b: float) -> tuple[float, float]:
    """(easting, northing) from an x/y pair in either order (geodetic x = northing)."""

    def is_e(v: float) -> bool:
        return EASTING_2178[0] <= v <= EASTING_2178[1]

    def is_n(v: float) -> bool:
        return NORTHING_PL[0] <= v <= NORTHING_PL[1]

    if is_e(a) and is_n(b):
        return a, b
    if is_n(a) and is_e(b):
        return b, a
    raise _RowError("x", f"x/y ({a:.1f}, {b:.1f}) are not EPSG:2178 (PL-2000 zone 7) coordinates")


_FIELD_BY_TITLE = {
    **{code: code for code in FIELDS_OF_ACTIVITY},
    **{titles["pl"]: code for code, titles in FIELDS_OF_ACTIVITY.items()},
    **{titles["en"]: code for code, titles in FIELDS_OF_ACTIVITY.items()},
}


def activity_fields(value: str | None) -> list[str]:
    out = []
    for part in re.split(r"[;|]", value or ""):
        part = part.strip()
        if not part:
            continue
        code = part if part in FIELDS_OF_ACTIVITY else match_name(part, _FIELD_BY_TITLE, 1)
        if code is None:
            raise _RowError(
                "fields",
                f"unknown field of activity {part!r} (codes: {', '.join(FIELDS_OF_ACTIVITY)})",
            )
        out.append(code)
    return out


def districts_served(value: str | None, city: City) -> list[int]:
    names = {name: i + 1 for i, name in enumerate(city.district_names)}
    out: list[int] = []
    for part in re.split(r"[;|,]", value or ""):
        part = part.strip()
        if not part:
            continue
        number: int | None
        if part.isdigit():
            number = int(part)
        else:
            try:
                number = roman_to_int(part)
            except ValueError:
                number = match_name(part, names)
        if number is None or not 1 <= number <= len(city.district_names):
            raise _RowError("districts_served", f"not a district of {city.name}: {part!r}")
        out.append(number)
    return sorted(set(out))


def _header_map(header: list[str]) -> dict[str, int]:
    keys = {normalise(h, strip_prefix=False).replace(" ", "_"): i for i, h in enumerate(header)}
    keys.update({normalise(h, strip_prefix=False): i for i, h in enumerate(header)})
    found: dict[str, int] = {}
    for canonical, aliases in ALIASES.items():
        for alias in aliases:
            for key in (alias, alias.replace(" ", "_")):
                if key in keys and canonical not in found:
                    found[canonical] = keys[key]
    return found


def _open_text(path: Path, encoding: str | None):
    enc = encoding or "utf-8-sig"
    try:
        codecs.lookup(enc)
    except LookupError:
        raise ImportFileError(f"--encoding: unknown encoding {encoding!r}") from None
    return path.open("r", encoding=enc, errors="strict", newline="")


def ngo_rows(path: Path, city: City, encoding: str | None = None) -> Iterator[Row]:
    name = path.name
    fh = _open_text(path, encoding)
    try:
        try:
            first = fh.readline(1_000_000)
        except UnicodeDecodeError as exc:
            raise _decode_error(exc, name, encoding) from None
        if not first.strip():
            raise ImportFileError("empty file (no header line)", name)
        if "\x00" in first:
            raise ImportFileError("NUL bytes: this is binary data, not a CSV file", name)
        delimiter = max((",", ";", "\t"), key=first.count)
        header = next(csv.reader([first], delimiter=delimiter))
        cols = _header_map(header)
        if "name" not in cols:
            raise ImportFileError(
                f"no 'name' column (the header is: {first.strip()[:200]!r}); see the README "
                "for the NGO CSV columns",
                name,
            )
        has_lonlat = "lon" in cols and "lat" in cols
        has_xy = "x" in cols and "y" in cols
        if not (has_lonlat or has_xy):
            raise ImportFileError(
                "no coordinate columns: give lon and lat (WGS84) or x and y (EPSG:2178)", name
            )
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        line = 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                raise _decode_error(exc, name, encoding) from None
            except csv.Error as exc:
                raise ImportFileError(
                    f"line {reader.line_num + 1}: not valid CSV ({exc})", name
                ) from None
            line = reader.line_num + 1
            if not record or all(not c.strip() for c in record):
                continue
            if len(record) > len(header):
                raise ImportFileError(
                    f"line {line}: {len(record)} fields, the header has {len(header)} "
                    "(a delimiter inside an unquoted value?)",
                    name,
                )
            yield _row(record, cols, city, line, path)
    finally:
        fh.close()


def _decode_error(exc: UnicodeDecodeError, name: str, encoding: str | None) -> ImportFileError:
    bad = exc.object[exc.start : exc.start + 1].hex() if isinstance(exc.object, bytes) else "?"
    return ImportFileError(
        f"not valid {encoding or 'UTF-8'} text (byte 0x{bad}); save the CSV as UTF-8, or give "
        "the encoding, e.g. --encoding cp1250 for a Windows export",
        name,
    )


def _row(record: list[str], cols: dict[str, int], city: City, line: int, path: Path) -> Row:
    def get(key: str) -> str | None:
        i = cols.get(key)
        if i is None or i >= len(record):
            return None
        return record[i].strip() or None

    name = get("name")
    address = get("address")
    ref = f"line {line}"
    props: dict[str, Any] = {
        "name": name,
        "address": address,
        "website": get("website"),
        "demo": False,
    }
    errors: list[tuple[str, str]] = []
    krs = None
    try:
        krs = normalise_krs(get("krs"))
        props["krs"] = krs
    except _RowError as exc:
        errors.append((exc.field, str(exc)))
    try:
        props["fields"] = activity_fields(get("fields"))
    except _RowError as exc:
        errors.append((exc.field, str(exc)))
    try:
        props["districts_served"] = districts_served(get("districts_served"), city)
    except _RowError as exc:
        errors.append((exc.field, str(exc)))
    geometry = None
    srid = 4326
    try:
        if get("lon") and get("lat"):
            geometry = {
                "type": "Point",
                "coordinates": [_number(get("lon") or "", "lon"), _number(get("lat") or "", "lat")],
            }
        elif get("x") and get("y"):
            e, n = point_2178(_number(get("x") or "", "x"), _number(get("y") or "", "y"))
            geometry, srid = {"type": "Point", "coordinates": [e, n]}, 2178
        else:
            errors.append(("geom", "no coordinates (lon/lat or x/y)"))
    except _RowError as exc:
        errors.append((exc.field, str(exc)))
    ext = get("external_id")
    if ext is None and name:
        who = krs or normalise(name, strip_prefix=False).replace(" ", "-")
        where = hashlib.sha1(normalise(address or "", strip_prefix=False).encode()).hexdigest()[:8]
        ext = f"ngo:{who}:{where}"
    if errors:
        return _Rejected(ext, ref, errors)
    return Row(external_id=ext, properties=props, geometry=geometry, srid=srid, ref=ref)


class _Rejected(Row):
    """A row whose problems were found while reading; import_ngo_csv reports it."""

    def __init__(self, ext: str | None, ref: str, errors: list[tuple[str, str]]):
        super().__init__(external_id=ext, properties={}, geometry=None, srid=4326, ref=ref)
        self.errors = errors


def _claimed(conn: Connection) -> set[str]:
    """External ids of the entries an organisation profile has claimed (civic/ngos)."""
    sql = text("SELECT external_id FROM ngo_locations WHERE organisation_id IS NOT NULL")
    if conn.in_transaction():
        return set(conn.execute(sql).scalars())
    with conn.begin():  # not left open: the import's own transaction starts afterwards
        return set(conn.execute(sql).scalars())


def import_ngo_csv(
    conn: Connection,
    path: str | Path,
    city: City,
    *,
    encoding: str | None = None,
    dry_run: bool = False,
    progress: bool | None = None,
) -> ImportReport:
    path = Path(path)
    if not path.exists():
        raise ImportFileError("no such file", str(path))
    if path.stat().st_size == 0:
        raise ImportFileError("empty file (0 bytes)", path.name)
    report = ImportReport(source=path.name, layer=LAYER.name, dry_run=dry_run)
    # An entry an organisation has claimed is kept current by its profile (civic/ngos):
    # a re-import does not overwrite it.
    claimed = _claimed(conn)

    def rows() -> Iterator[Row]:
        for row in ngo_rows(path, city, encoding):
            if not isinstance(row, _Rejected) and row.external_id in claimed:
                report.read += 1
                report.reject(
                    row.ref,
                    "claimed by an organisation profile (its members keep it current); "
                    "not overwritten",
                    row.external_id,
                    "external_id",
                )
                continue
            if isinstance(row, _Rejected):
                report.read += 1
                reason = "; ".join(f"{f}: {r}" if len(row.errors) > 1 else r for f, r in row.errors)
                report.reject(row.ref, reason, row.external_id, row.errors[0][0])
                continue
            yield row

    import_rows(
        conn, LAYER, rows(), dry_run=dry_run, report=report, progress=progress, allow_empty=True
    )
    if report.read == 0:
        # import_rows has committed nothing; say why the file was useless.
        raise ImportFileError("the file has a header but no rows", path.name)
    return report
