"""Load a city's districts (dzielnice) from Esri JSON or GeoJSON, in one transaction.

Both real Kraków sources have defects that this fixes and reports rather than hides:
MSIP's rings repeat their closing vertex and leave slivers between neighbours; the andilabs
GeoJSON has a self-intersecting Podgórze and misspelt names. Geometry is reprojected to
EPSG:4326 and repaired in PostGIS; names are normalised to the city's official list.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from shapely import to_wkb
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from geo.cities import City, DistrictSource
from geo.names import int_to_roman, match_name, roman_to_int
from importers.esri import read_esri_json


class DistrictImportError(ValueError):
    pass


@dataclass
class DistrictReport:
    source: str
    loaded: list[int] = field(default_factory=list)
    repaired: dict[int, str] = field(default_factory=dict)  # number -> invalidity reason
    renamed: dict[int, str] = field(default_factory=dict)  # number -> name in the source
    population: int = 0


def _read(src: DistrictSource) -> tuple[int, list[tuple[dict, BaseGeometry]]]:
    if src.format == "esrijson":
        fs = read_esri_json(src.path)
        if fs.srid is None:
            raise DistrictImportError(f"{src.path}: no spatialReference; refusing to guess the CRS")
        return fs.srid, [(a, g) for a, g in fs.features if g is not None]
    if src.format == "geojson":
        doc = json.loads(Path(src.path).read_text(encoding="utf-8"))
        crs = ((doc.get("crs") or {}).get("properties") or {}).get("name", "")
        srid = int(crs.rsplit(":", 1)[-1]) if crs and "CRS84" not in crs else 4326
        return srid, [(f.get("properties") or {}, shape(f["geometry"])) for f in doc["features"]]
    raise DistrictImportError(f"unknown district source format {src.format!r}")


def _number(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    s = str(value).strip()
    return int(s) if s.isdigit() else roman_to_int(s)


def _identify(city: City, src: DistrictSource, props: dict) -> tuple[int, str]:
    raw_name = str(props.get(src.name_field) or "")
    by_name = {name: i + 1 for i, name in enumerate(city.district_names)}
    number = _number(props.get(src.number_field)) if src.number_field else None
    if number is None:
        number = match_name(raw_name, by_name)
    if number is None or not 1 <= number <= len(city.district_names):
        raise DistrictImportError(f"cannot identify district {raw_name!r} of {city.name}")
    official = city.district_names[number - 1]
    matched = match_name(raw_name, by_name) if raw_name else number
    if raw_name and matched != number:
        raise DistrictImportError(
            f"district {number}: name {raw_name!r} does not match the official {official!r}"
        )
    return number, raw_name


def load_districts(
    conn: Connection, city: City, src: DistrictSource | None = None
) -> DistrictReport:
    """Replace the districts and the city outline. The caller owns the transaction."""
    src = src or city.districts
    srid, features = _read(src)
    report = DistrictReport(source=src.label or str(src.path))
    rows = []
    for props, geom in features:
        if str(props.get(src.name_field) or "") in src.exclude_names:
            continue
        number, raw_name = _identify(city, src, props)
        official = city.district_names[number - 1]
        if (
            raw_name
            and raw_name.removeprefix(f"{city.district_word} {int_to_roman(number)} ") != official
        ):
            report.renamed[number] = raw_name
        if not geom.is_valid:
            from shapely.validation import explain_validity

            report.repaired[number] = explain_validity(geom)
        rows.append(
            {
                "number": number,
                "name": official,
                "wkb": to_wkb(geom),
                "srid": srid,
                "full_name": f"{city.district_word} {int_to_roman(number)} {official}",
            }
        )
    numbers = sorted(r["number"] for r in rows)
    if numbers != list(range(1, len(city.district_names) + 1)):
        raise DistrictImportError(
            f"{src.path}: expected districts 1–{len(city.district_names)}, got {numbers}"
        )
    conn.execute(text("DELETE FROM districts"))
    conn.execute(
        text(
            """
            INSERT INTO districts (number, name, full_name, geom, source)
            SELECT :number, :name, :full_name,
                   ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_RemoveRepeatedPoints(
                       ST_Transform(ST_SetSRID(ST_GeomFromWKB(:wkb), :srid), 4326))), 3)),
                   :source
            """
        ),
        [{**r, "source": report.source} for r in rows],
    )
    rebuild_city_outline(conn, city)
    recompute_feature_districts(conn)
    report.loaded = numbers
    if city.population_csv and src is city.districts:
        report.population = load_population(conn, city)
    return report


def rebuild_city_outline(conn: Connection, city: City) -> None:
    """The union of the districts, with the slivers between neighbours filled in."""
    conn.execute(text("DELETE FROM city"))
    conn.execute(
        text(
            """
            INSERT INTO city (slug, name, geom)
            SELECT :slug, :name, ST_Multi(ST_Collect(ST_MakePolygon(ST_ExteriorRing(p.geom))))
            FROM (SELECT (ST_Dump(ST_Union(geom))).geom FROM districts) p
            WHERE ST_Area(p.geom::geography) > 1
            """
        ),
        {"slug": city.slug, "name": city.name},
    )


def recompute_feature_districts(conn: Connection) -> None:
    """New boundaries: every layer's trigger recomputes its features' districts."""
    from geo.schema import ident
    from layers.registry import all_layers

    for layer in all_layers():
        conn.execute(text(f"UPDATE {ident(layer.table)} SET geom = geom WHERE geom IS NOT NULL"))


def load_population(conn: Connection, city: City) -> int:
    assert city.population_csv is not None
    with open(city.population_csv, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        conn.execute(
            text(
                "UPDATE districts SET population = :p, population_date = :d, population_label = :l "
                "WHERE number = :n"
            ),
            {
                "p": int(r["population"]),
                "d": date(int(r["year"]), 12, 31),
                "l": city.population_label,
                "n": int(r["district_number"]),
            },
        )
    return len(rows)
