"""What the remote-service importers (importers.arcgis, importers.wfs) share.

Both fetch everything first — no database lock is held while a server answers — and then
load it in ONE transaction, either into the districts (through importers.districts, after
checking that they cover the city's centre) or into a registered layer (through
importers.common.import_rows), and write the run to the sync log. Only the reading of the
service differs; ``load_fetched`` is the rest.
"""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, text

from geo.cities import City, DistrictSource
from geo.export import record_sync
from importers.districts import load_districts
from importers.report import ImportFileError, ImportReport
from importers.writer import Row, import_rows


def query_url(url: str, params: Any) -> str:
    """``url?params`` (``&params`` when the URL already has a query string)."""
    return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)


def http_get(full: str, *, timeout: float, user_agent: str, error: type[Exception]) -> bytes:
    """The body of a GET; a network failure raises ``error`` naming the URL."""
    req = urllib.request.Request(full, headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read()
    except urllib.error.URLError as exc:
        raise error(f"cannot fetch {full}: {exc}") from exc


class Fetched(Protocol):
    """What a reader hands over: where it read from, the CRS, and the requests it made."""

    url: str
    requests: list[dict[str, str]]

    @property
    def srid(self) -> int: ...


@dataclass
class RemoteImport:
    layer: str
    read: int
    report: ImportReport | None = None  # for a registered layer
    districts: list[int] = field(default_factory=list)  # for the districts


def check_covers_centre(city: City, geoms, srid: int, source: str) -> None:
    """Districts that miss the city's centre came in a wrong CRS or axis order: refuse them
    before they replace the real ones (and the city outline every write is checked against)."""
    from shapely import union_all
    from shapely.geometry import Point

    from geo.crs import transform_xy

    lat, lon = city.center
    x, y = transform_xy(lon, lat, 4326, srid)
    area = union_all([g for g in geoms if g is not None])
    if area.is_empty or area.distance(Point(x, y)) > (0.05 if srid == 4326 else 5000):
        raise ImportFileError(
            f"{source}: these districts do not cover the centre of {city.name} "
            f"({lat} N, {lon} E) in EPSG:{srid}: wrong CRS or axis order? Nothing was changed."
        )


def target_layer(name: str):
    """A registered layer to import into (``districts`` is handled separately)."""
    from layers import registry

    lay = registry.get(name)
    if lay is None:
        names = ", ".join(["districts"] + sorted(x.name for x in registry.all_layers()))
        raise ImportFileError(f"unknown layer {name!r}; use one of: {names}")
    return lay


@dataclass
class DistrictFile:
    """The fetched districts as a file importers.districts reads (``format`` as DistrictSource)."""

    filename: str
    format: str
    doc: dict[str, Any]


def replace_districts(
    conn: Connection,
    city: City,
    got: Fetched,
    geoms: list,
    district_file: Callable[[], DistrictFile],
    label: str,
    name_field: str,
    number_field: str | None,
) -> list[int]:
    """Replace the districts with the service's (importers.districts checks and repairs)."""
    check_covers_centre(city, geoms, got.srid, got.url)
    file = district_file()
    with tempfile.TemporaryDirectory(prefix="civicmap-remote-") as tmp:
        path = Path(tmp) / file.filename
        path.write_text(json.dumps(file.doc), encoding="utf-8")
        src = DistrictSource(
            path=path,
            format=file.format,
            name_field=name_field,
            number_field=number_field,
            label=label,
        )
        report = load_districts(conn, city, src)
    conn.execute(
        text(
            """INSERT INTO reference_loads (name, rows, source) VALUES ('districts', :r, :s)
               ON CONFLICT (name) DO UPDATE SET rows = :r, source = :s, loaded_at = now()"""
        ),
        {"r": len(report.loaded), "s": label},
    )
    return report.loaded


def load_fetched(
    engine,
    got: Fetched,
    layer: str,
    *,
    city: City,
    geoms: list,
    district_file: Callable[[], DistrictFile],
    label: str,
    rows: Callable[[Any], Iterable[Row]],
    source: str,
    sync_format: str,
    sync_params: dict[str, Any],
    name_field: str | None,
    number_field: str | None,
    repair: bool,
    dry_run: bool,
    client: str,
) -> RemoteImport:
    """Load what was fetched in one transaction and log it in the sync log.

    ``geoms`` holds every feature's geometry (None where it has none). ``layer`` is
    ``districts`` (``district_file``/``label`` are used) or a registered layer (``rows(layer)``
    gives the rows, ``source`` names them). ``sync_params`` go into the log between the URL
    and the number of pages.
    """
    result = RemoteImport(layer=layer, read=len(geoms))
    with engine.begin() as conn:
        if layer == "districts":
            result.districts = replace_districts(
                conn,
                city,
                got,
                geoms,
                district_file,
                label,
                name_field or city.districts.name_field,
                number_field if number_field is not None else city.districts.number_field,
            )
            written = len(result.districts)
        else:
            lay = target_layer(layer)
            result.report = import_rows(
                conn,
                lay,
                rows(lay),
                repair=repair,
                dry_run=dry_run,
                source=source,
                total=result.read,
                progress=False,
            )
            written = result.report.imported + result.report.updated
        if dry_run:
            conn.rollback()
            return result
        record_sync(
            conn,
            layer=layer,
            op="import",
            format=sync_format,
            crs=f"EPSG:{got.srid}",
            features=written,
            params={"url": got.url, **sync_params, "pages": len(got.requests) or 1},
            client=client,
        )
    return result
