"""PRG address points (państwowy rejestr granic — punkty adresowe) into the gazetteer.

A city installation loads every address of the city this way::

    civicmap import prg PRG_PunktyAdresowe_1261.zip

Formats (by the file name; a .zip holds one of them):

* GML of the 2012 model (``prg-ad:PRG_PunktAdresowy``: miejscowosc, ulica and
  numerPorzadkowy as text, ``pozycja/gml:Point``) and of the 2021 EMUiA model
  (``AD_PunktAdresowy`` with ``georeferencja`` and xlink references to ``AD_Miejscowosc``
  and ``AD_UlicaPlac``). Elements are matched by local name, so namespace versions do not
  matter.
* CSV (``;`` or ``,``) with a header: street (``ulica``), number (``numer`` /
  ``numer_porzadkowy``), optional ``miejscowosc``, ``kod_pocztowy``, ``status``, an id
  (``lokalny_id`` / ``id``) and coordinates: ``x``/``y`` (or ``x_epsg_2180``/
  ``y_epsg_2180``) in EPSG:2180, or ``dlugosc_geograficzna``/``szerokosc_geograficzna`` (or
  ``lon``/``lat``) in EPSG:4326.

Axis order — the classic trap with Polish data: in EPSG:2180 the axis called **x is the
northing** and y the easting (geodetic convention, and the EPSG definition). So:

* a GML ``srsName`` in URN/URL form (``urn:ogc:def:crs:EPSG::2180``,
  ``http://www.opengis.net/def/crs/EPSG/0/2180``) means northing first (2012 files);
* the short ``EPSG:2180`` form means easting first (traditional GIS order, as in the 2021
  files);
* CSV ``x``/``y`` columns are northing/easting.

Before anything is written the importer checks the result: if most points fall outside
the city but the swapped order would put them inside, it stops and says so (pass
``axis_order="ne"`` or ``"en"`` to override). Only points inside the city outline are
kept. The import is one transaction and replaces earlier PRG rows; an address that the
civic-places data also has becomes the PRG one.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, text

from geo.cities import City
from geo.gazetteer import street_extents

SOURCE = "prg"
AXIS_ORDERS = ("auto", "ne", "en")
SUPPORTED_SRIDS = (2180, 2178, 4326)


class PrgFormatError(ValueError):
    pass


@dataclass
class PrgAddress:
    local_id: str | None
    locality: str | None
    part: str | None  # część miejscowości (a place without streets)
    street: str | None
    number: str
    postcode: str | None
    status: str | None
    first: float  # coordinates as written in the file
    second: float
    srid: int
    northing_first: bool  # what the file's convention says about (first, second)

    @property
    def name(self) -> str:
        return f"{self.street or self.part or self.locality or ''} {self.number}".strip()


@dataclass
class PrgReport:
    path: str
    format: str = ""
    read: int = 0
    loaded: int = 0
    outside_city: int = 0
    duplicates: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    axis_order: str = ""
    streets: int = 0

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1

    def summary(self) -> str:
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items())) or "none"
        return (
            f"{self.path}: {self.format}, {self.read} address points read, {self.loaded} loaded, "
            f"{self.outside_city} outside the city, {self.duplicates} duplicates merged, "
            f"{self.streets} street names added; axis order {self.axis_order}; skipped: {skipped}"
        )


# --------------------------------------------------------------------------- CRS names

_URN = re.compile(r"(?:urn:ogc:def:crs:EPSG:[\d.]*:|opengis\.net/def/crs/EPSG/\d+/)(\d+)$", re.I)
_SHORT = re.compile(r"^EPSG:(\d+)$", re.I)


def parse_srs(name: str | None) -> tuple[int, bool]:
    """srsName -> (SRID, northing_first). URN/URL forms follow the EPSG axis order."""
    if not name:
        raise PrgFormatError("a gml:Point has no srsName; refusing to guess the coordinate system")
    name = name.strip()
    m = _URN.search(name)
    if m:
        srid = int(m.group(1))
        authority_order = srid in (2180, 2178, 4326)  # all three are northing/latitude first
        return _supported(srid, name), authority_order
    m = _SHORT.match(name)
    if m:
        return _supported(int(m.group(1)), name), False
    raise PrgFormatError(f"unknown srsName {name!r}")


def _supported(srid: int, name: str) -> int:
    if srid not in SUPPORTED_SRIDS:
        raise PrgFormatError(
            f"coordinate system {name!r} is not supported (EPSG:2180, 2178 or 4326)"
        )
    return srid


def _float(raw: str, where: str) -> float:
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise PrgFormatError(f"{where}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise PrgFormatError(f"{where}: {raw!r} is not a finite number")
    return value


# --------------------------------------------------------------------------- GML

_XLINK = "{http://www.w3.org/1999/xlink}href"
_GML_ID = "{http://www.opengis.net/gml/3.2}id"
_POINTS = {"PRG_PunktAdresowy", "AD_PunktAdresowy"}
_LOCALITIES = {"AD_Miejscowosc"}
_STREETS = {"AD_UlicaPlac"}


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(el) -> str | None:
    value = (el.text or "").strip() if el is not None else ""
    return value or None


def _first(el, name: str):
    for child in el.iter():
        if _local(child.tag) == name:
            return child
    return None


def _gml_id(el) -> str | None:
    for key, value in el.attrib.items():
        if _local(key) == "id":
            return value
    return None


def _ref(el) -> str | None:
    if el is None:
        return None
    href = el.get(_XLINK) or ""
    return href.split("#", 1)[-1] if href else None


def read_gml(stream: IO[bytes], report: PrgReport) -> list[PrgAddress]:
    from lxml import etree

    points: list[tuple[dict[str, Any], Any]] = []
    localities: dict[str, str] = {}
    streets: dict[str, str] = {}
    try:
        for _event, el in etree.iterparse(
            stream, events=("end",), resolve_entities=False, no_network=True, huge_tree=False
        ):
            name = _local(el.tag)
            if name in _POINTS:
                point = _first(el, "Point")
                pos = _first(point, "pos") if point is not None else None
                rec = {
                    "model": "2012" if name.startswith("PRG_") else "2021",
                    "local_id": _text(_first(el, "lokalnyId")),
                    "number": _text(_first(el, "numerPorzadkowy")),
                    "postcode": _text(_first(el, "kodPocztowy")),
                    "status": _text(_first(el, "status")),
                    "part": _text(_first(el, "czescMiejscowosci")),
                    "srs": point.get("srsName") if point is not None else None,
                    "pos": _text(pos),
                }
                if rec["model"] == "2012":
                    rec["locality"] = _text(_first(el, "miejscowosc"))
                    rec["street"] = _text(_first(el, "ulica"))
                else:
                    rec["locality_ref"] = _ref(_first(el, "miejscowosc")) or _ref(
                        _first(el, "miejsce")
                    )
                    rec["street_ref"] = _ref(_first(el, "ulica2")) or _ref(_first(el, "ulica"))
                points.append((rec, None))
                el.clear()
            elif name in _LOCALITIES:
                gid = _gml_id(el)
                if gid:
                    localities[gid] = _text(_first(el, "nazwa")) or ""
                el.clear()
            elif name in _STREETS:
                gid = _gml_id(el)
                if gid:
                    streets[gid] = (
                        _text(_first(el, "nazwaPelna")) or _text(_first(el, "TERYTNazwa1")) or ""
                    )
                el.clear()
    except etree.XMLSyntaxError as exc:
        raise PrgFormatError(f"not well-formed XML: {exc}") from None
    if not points:
        raise PrgFormatError("no PRG_PunktAdresowy / AD_PunktAdresowy elements found")
    models = {rec["model"] for rec, _ in points}
    report.format = "GML (PRG model " + " + ".join(sorted(models)) + ")"
    out: list[PrgAddress] = []
    for i, (rec, _unused) in enumerate(points, 1):
        if not rec["number"]:
            report.skip("no house number")
            continue
        if not rec["pos"]:
            report.skip("no position")
            continue
        srid, northing_first = parse_srs(rec["srs"])
        parts = rec["pos"].split()
        if len(parts) < 2:
            raise PrgFormatError(f"address point {i}: gml:pos {rec['pos']!r} needs two numbers")
        a, b = (_float(p, f"address point {i}") for p in parts[:2])
        street = rec.get("street")
        locality = rec.get("locality")
        if rec["model"] == "2021":
            street = streets.get(rec.get("street_ref") or "") or None
            locality = localities.get(rec.get("locality_ref") or "") or None
        out.append(
            PrgAddress(
                local_id=rec["local_id"],
                locality=locality,
                part=rec["part"],
                street=street,
                number=rec["number"],
                postcode=rec["postcode"],
                status=rec["status"],
                first=a,
                second=b,
                srid=srid,
                northing_first=northing_first,
            )
        )
    return out


# --------------------------------------------------------------------------- CSV

_COLUMNS = {
    "id": ("lokalny_id", "lokalnyid", "id", "przestrzen_nazw_id", "prg_id"),
    "locality": ("miejscowosc", "miejscowość", "locality"),
    "part": ("czesc_miejscowosci", "część_miejscowości", "czescmiejscowosci"),
    "street": ("ulica", "ulica_nazwa", "street"),
    "number": ("numer_porzadkowy", "numerporzadkowy", "numer", "nr", "number"),
    "postcode": ("kod_pocztowy", "kodpocztowy", "kod", "postcode"),
    "status": ("status",),
    "x": ("x", "x_epsg_2180", "x_2180"),
    "y": ("y", "y_epsg_2180", "y_2180"),
    "lon": ("dlugosc_geograficzna", "długość_geograficzna", "lon", "lng", "longitude"),
    "lat": ("szerokosc_geograficzna", "szerokość_geograficzna", "lat", "latitude"),
}


def _key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lstrip("\ufeff").lower())


def read_csv(stream: IO[bytes], report: PrgReport) -> list[PrgAddress]:
    raw = stream.read()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PrgFormatError(
            "the CSV is not UTF-8 (PRG files are); convert it, e.g. iconv -f cp1250 -t utf-8"
        ) from None
    sample = content[:4096]
    delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    reader = csv.reader(io.StringIO(content), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise PrgFormatError("the CSV is empty") from None
    keys = [_key(h) for h in header]
    col: dict[str, int] = {}
    for name, aliases in _COLUMNS.items():
        for alias in aliases:
            if alias in keys:
                col[name] = keys.index(alias)
                break
    if "number" not in col:
        raise PrgFormatError(f"no house-number column (numer / numer_porzadkowy) in {header}")
    if not ({"x", "y"} <= col.keys() or {"lon", "lat"} <= col.keys()):
        raise PrgFormatError(f"no coordinate columns (x/y in EPSG:2180 or lon/lat) in {header}")
    projected = {"x", "y"} <= col.keys()
    report.format = f"CSV ({'x/y EPSG:2180' if projected else 'lon/lat EPSG:4326'}, '{delimiter}')"
    out: list[PrgAddress] = []
    for line, row in enumerate(reader, 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise PrgFormatError(f"line {line}: {len(row)} fields, the header has {len(header)}")

        def get(name: str, row: list[str] = row) -> str | None:
            i = col.get(name)
            value = row[i].strip() if i is not None else ""
            return value or None

        number = get("number")
        if not number:
            report.skip("no house number")
            continue
        if projected:
            x, y = get("x"), get("y")
            if x is None or y is None:
                report.skip("no position")
                continue
            # EPSG:2180: x is the northing, y the easting.
            first, second, srid, nf = (
                _float(x, f"line {line}"),
                _float(y, f"line {line}"),
                2180,
                True,
            )
        else:
            lon, lat = get("lon"), get("lat")
            if lon is None or lat is None:
                report.skip("no position")
                continue
            first, second, srid, nf = (
                _float(lat, f"line {line}"),
                _float(lon, f"line {line}"),
                4326,
                True,
            )
        out.append(
            PrgAddress(
                local_id=get("id"),
                locality=get("locality"),
                part=get("part"),
                street=get("street"),
                number=number,
                postcode=get("postcode"),
                status=get("status"),
                first=first,
                second=second,
                srid=srid,
                northing_first=nf,
            )
        )
    return out


# --------------------------------------------------------------------------- files


def _open(path: Path) -> Iterator[tuple[str, IO[bytes]]]:
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith((".gml", ".xml", ".csv"))]
            if not names:
                raise PrgFormatError(f"{path}: no .gml, .xml or .csv inside the zip")
            with zf.open(names[0]) as fh:
                yield names[0], fh  # type: ignore[misc]
        return
    with open(path, "rb") as fh:
        yield path.name, fh


def read_prg(path: str | Path, report: PrgReport | None = None) -> list[PrgAddress]:
    path = Path(path)
    report = report or PrgReport(str(path))
    if not path.is_file():
        raise PrgFormatError(f"{path}: no such file")
    for name, fh in _open(path):
        if name.lower().endswith(".csv"):
            return read_csv(fh, report)
        if name.lower().endswith((".gml", ".xml")):
            return read_gml(fh, report)
        raise PrgFormatError(f"{path}: expected .gml, .xml, .csv or .zip")
    raise PrgFormatError(f"{path}: nothing to read")


def _en(a: PrgAddress, order: str) -> tuple[float, float]:
    """(easting/lon, northing/lat) under an axis order: auto = the file's convention."""
    northing_first = a.northing_first if order == "auto" else order == "ne"
    return (a.second, a.first) if northing_first else (a.first, a.second)


# --------------------------------------------------------------------------- loading


def load_prg(conn: Connection, city: City, path: str | Path, axis_order: str = "auto") -> PrgReport:
    """Replace the PRG rows of the gazetteer with the file's addresses inside the city.

    The caller owns the transaction (the CLI commits; a test may roll back)."""
    if axis_order not in AXIS_ORDERS:
        raise PrgFormatError(f"axis order must be one of {', '.join(AXIS_ORDERS)}")
    report = PrgReport(str(path))
    addresses = read_prg(path, report)
    report.read = len(addresses)
    if not addresses:
        raise PrgFormatError(f"{path}: no address points with a number and a position")
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.prg_import"))
    conn.execute(
        text(
            """CREATE TEMP TABLE prg_import (
                   n integer, local_id text, name text, street text, number text, postcode text,
                   status text, e float8, nn float8, se float8, sn float8, srid integer
               ) ON COMMIT DROP"""
        )
    )
    raw = conn.connection.driver_connection  # psycopg: COPY is ~10x faster than INSERTs
    with (
        raw.cursor() as cur,
        cur.copy(
            "COPY prg_import (n, local_id, name, street, number, postcode, status, e, nn, se, sn, srid) "
            "FROM STDIN"
        ) as copy,
    ):
        for i, a in enumerate(addresses):
            e, n = _en(a, axis_order)
            se, sn = n, e  # the other order, for the check below
            copy.write_row(
                (
                    i,
                    a.local_id,
                    a.name[:300],
                    a.street,
                    a.number[:20],
                    a.postcode,
                    a.status,
                    e,
                    n,
                    se,
                    sn,
                    a.srid,
                )
            )
    # Points inside the city, with their district, staged before anything touches the
    # gazetteer: one join with the outline (prepared once), districts driving a GiST join,
    # and the gazetteer written once (an UPDATE afterwards would rewrite its GIN index).
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.prg_points"))
    conn.execute(
        text(
            """
            CREATE TEMP TABLE prg_points ON COMMIT DROP AS
            SELECT i.n, i.local_id, i.name, i.street, i.number, i.postcode, i.status, s.p,
                   civic_search_key(i.name) AS k, civic_search_key(i.street) AS sk,
                   CAST(NULL AS smallint) AS district
            FROM prg_import i
            CROSS JOIN LATERAL (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(i.e, i.nn), i.srid), 4326) AS p) s
            JOIN city c ON ST_Covers(c.geom, s.p)
            WHERE abs(i.e) < 1e8 AND abs(i.nn) < 1e8"""
        )
    )
    inside = conn.execute(text("SELECT count(*) FROM prg_points")).scalar_one()
    report.axis_order = (
        axis_order if axis_order != "auto" else "auto (from the file's CRS convention)"
    )
    if axis_order == "auto" and inside < report.read / 2:
        swapped = conn.execute(
            text(
                """SELECT count(*) FROM prg_import i
                   JOIN city c ON ST_Covers(c.geom, ST_Transform(ST_SetSRID(ST_MakePoint(i.se, i.sn), i.srid), 4326))
                   WHERE abs(i.se) < 1e8 AND abs(i.sn) < 1e8"""
            )
        ).scalar_one()
        if swapped > max(inside, report.read / 2):
            raise PrgFormatError(
                f"{path}: only {inside} of {report.read} points fall inside {city.name}, but "
                f"{swapped} would with the axes swapped. The file's axis order is not what its "
                "CRS says; check it and pass --axis-order ne (northing first) or en (easting first)."
            )
    conn.execute(text("CREATE INDEX ON prg_points USING gist (p)"))
    conn.execute(text("ANALYZE prg_points"))
    conn.execute(
        text(
            """
            UPDATE prg_points t SET district = m.number
            FROM (SELECT DISTINCT ON (pt.n) pt.n, d.number
                  FROM districts d JOIN prg_points pt ON ST_Intersects(d.geom, pt.p)
                  ORDER BY pt.n, d.number) m
            WHERE t.n = m.n"""
        )
    )
    conn.execute(
        text(
            """UPDATE prg_points t SET district =
                   (SELECT d.number FROM districts d ORDER BY d.geom <-> t.p LIMIT 1)
               WHERE t.district IS NULL"""
        )
    )
    conn.execute(text("DELETE FROM gazetteer WHERE source = :s"), {"s": SOURCE})
    # Tens of thousands of rows into a trigram GIN index: let its pending list grow instead
    # of merging every 4 MB (measured: 80 000 points 44 s -> see README).
    conn.execute(text("SET LOCAL gin_pending_list_limit = '256MB'"))
    conn.execute(text("SET LOCAL work_mem = '64MB'"))
    loaded = conn.execute(
        text(
            """
            INSERT INTO gazetteer AS g
                (kind, name, street, house_number, postcode, geom, district, source, external_id)
            SELECT DISTINCT ON (k) 'address', name, street, number, postcode, p, district, :source,
                   coalesce(local_id, 'row:' || n)
            FROM prg_points
            WHERE k <> ''
            ORDER BY k, (status = 'istniejacy') DESC NULLS LAST, n
            ON CONFLICT (kind, search) WHERE kind IN ('address', 'street') DO UPDATE SET
                name = EXCLUDED.name, street = EXCLUDED.street, house_number = EXCLUDED.house_number,
                postcode = EXCLUDED.postcode, geom = EXCLUDED.geom, district = EXCLUDED.district,
                source = EXCLUDED.source, external_id = EXCLUDED.external_id
            """
        ),
        {"source": SOURCE},
    ).rowcount
    report.loaded = loaded
    report.outside_city = report.read - inside
    report.duplicates = inside - loaded
    # one row per street name, at the address point nearest the middle of its addresses
    report.streets = conn.execute(
        text(
            """
            WITH s AS (SELECT sk, min(street) AS street, ST_Centroid(ST_Collect(p)) AS c
                       FROM prg_points WHERE sk <> '' GROUP BY sk)
            INSERT INTO gazetteer (kind, name, street, geom, district, source, external_id)
            SELECT DISTINCT ON (s.sk) 'street', s.street, s.street, pt.p, pt.district, :source,
                   'street:' || s.sk
            FROM s JOIN prg_points pt ON pt.sk = s.sk
            ORDER BY s.sk, pt.p <-> s.c, pt.n
            ON CONFLICT (kind, search) WHERE kind IN ('address', 'street') DO NOTHING"""
        ),
        {"source": SOURCE},
    ).rowcount
    street_extents(conn, SOURCE)
    conn.execute(
        text(
            """INSERT INTO reference_loads (name, rows, source) VALUES ('prg', :r, :s)
               ON CONFLICT (name) DO UPDATE SET rows = :r, source = :s, loaded_at = now()"""
        ),
        {"r": loaded, "s": f"PRG address points: {Path(path).name}"},
    )
    return report
