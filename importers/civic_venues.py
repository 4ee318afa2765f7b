"""Civic venues from the OpenStreetMap-derived point lists in data/<city>/places/.

Source: ``libraries.json``, ``culture.json``, ``education.json``, ``offices.json`` (JSON arrays
of ``{id, name, category, lat, lon, address?, features[]}``; see data/SOURCES.md and the
SOURCE.md notes of krakow-libraries-osm / krakow-civic-places-osm). © OpenStreetMap
contributors, ODbL 1.0.

* ``external_id`` is the OSM element id as the source writes it (``osm-node-3988051475``,
  ``osm-way-…``, ``osm-relation-…``).
* ``accessibility`` lists ``Key=State`` facts (``WheelchairAccess=Yes``) from ``features``,
  **only those with ``isDemoData: false``**: the upstream hackathon team invented 18 facts
  (``"source": "Dane demonstracyjne zespołu"``) on two records; they are dropped and counted.
* ``type`` comes from the upstream category plus name patterns (the sources keep no OSM
  tags beyond name and address), first match wins:

  ============  ============================================================================
  category      rule
  ============  ============================================================================
  Library       ``library``
  Office        ``council_seat``: "Rada (i Zarząd) Dzielnicy";
                ``social_welfare``: pomoc społeczna / MOPS / Centrum Świadczeń / Urząd Pracy
                / profilaktyka uzależnień;
                ``city_office``: Urząd Miasta Krakowa, Urząd Stanu Cywilnego, a "Wydział …"
                of the city hall, the Miejski Konserwator, Miejskie Centrum Informacji,
                Punkt Obsługi Przedsiębiorcy and the municipal boards (ZBK, ZDMK, ZTP, ZZM,
                ZIS); everything else (state agencies, courts, police, tax) ``other``
  Culture       ``culture`` for domy / ośrodki / centra kultury, MDK, clubs, świetlice,
                Miejsce Aktywności Mieszkańców, senior centres, dworki; theatres, cinemas,
                concert halls, institutes and associations ``other``
  Education     ``university`` for universities, academies, faculties (Wydział), institutes,
                chairs (Katedra), collegia, campuses, seminaries, higher schools, student
                bodies and university units; everything else ``school``
  ============  ============================================================================

Points outside the configured city are rejected by the database trigger and counted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from geo.cities import City
from geo.config import DATA_DIR
from importers.report import ImportFileError, ImportReport
from importers.writer import Row, import_rows
from layers.civic_venues import LAYER

FILES = ("libraries", "culture", "education", "offices")
SOURCE_LABEL = "© OpenStreetMap contributors (ODbL 1.0)"


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.IGNORECASE)


COUNCIL = _rx(r"\brada\s+(i\s+zarząd\s+)?dzielnicy\b")
WELFARE = _rx(
    r"pomocy\s+społecznej",
    r"\bmops\b",
    r"centrum\s+świadczeń",
    r"urząd\s+pracy",
    r"profilakty\w*\s+uzależnień",
)
CITY_OFFICE = _rx(
    r"urząd\s+miasta",
    r"urząd\s+stanu\s+cywilnego",
    r"^wydział\s",
    r"miejskiego\s+konserwatora",
    r"miejskie\s+centrum\s+informacji",
    r"punkt\s+obsługi\s+przedsiębiorcy",
    r"zarząd\s+(budynków\s+komunalnych|dróg\s+miasta|transportu\s+publicznego|"
    r"zieleni\s+miejskiej|infrastruktury\s+sportowej)",
)
CULTURE_CENTRE = _rx(
    r"dom\w*\s+kultury",
    r"ośrod\w*\s+kultury",
    r"centrum\s+kultury",
    r"\bck\b",
    r"\bmdk\b",
    r"\bdkk\b",
    r"\bklub",
    r"świetlic",
    r"miejsce\s+aktywności",
    r"seniora",
    r"\bdwor\w*|\bdwór\b",
    r"pracownia\s+młodych",
    r"studio\s+artystyczne",
    r"centrum\s+społeczności",
)
UNIVERSITY = _rx(
    r"uniwers?ytet|uniwerystet",
    r"\bakademi[ai]\b",
    r"politechnik",
    r"\bwydział",
    r"\binstytut",
    r"\bkatedr",
    r"\bcollegium\b|kolegium\s+europejskie",
    r"\bkampus",
    r"seminarium",
    r"wyższa\s+szkoła|wyższej\s+szkoły",
    r"\brektorat|\bdziekanat",
    r"\blaboratorium\b|obserwatorium",
    r"samorząd\s+studentów|spraw\s+studenckich|biuro\s+karier",
    r"\bswfis\b|studium\s+wychowania\s+fizycznego",
    r"ośrodek\s+medycyny\s+eksperymentalnej|pracownia\s+podstaw",
    r"\b(uj|agh|asp|pk)\b",
)


def venue_type(category: str, name: str) -> str:
    """The civic-venue type of one record (see the module docstring for the rules)."""
    c = (category or "").strip().casefold()
    if c == "library":
        return "library"
    if c == "office":
        if COUNCIL.search(name):
            return "council_seat"
        if WELFARE.search(name):
            return "social_welfare"
        if CITY_OFFICE.search(name):
            return "city_office"
        return "other"
    if c == "culture":
        return "culture" if CULTURE_CENTRE.search(name) else "other"
    if c == "education":
        return "university" if UNIVERSITY.search(name) else "school"
    return "other"


def accessibility(features: list[dict[str, Any]]) -> tuple[list[str], int]:
    """``Key=State`` facts that are not demo data, and how many demo facts were dropped."""
    facts: list[str] = []
    dropped = 0
    for f in features or []:
        if f.get("isDemoData") is not False:  # true or missing: not a verified fact
            dropped += 1
            continue
        key, state = str(f.get("key") or "").strip(), str(f.get("state") or "").strip()
        if key and state:
            facts.append(f"{key}={state}")
    return list(dict.fromkeys(facts)), dropped


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportFileError(f"cannot read: {exc.strerror or exc}", str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError("not UTF-8 text", str(path)) from exc
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"not JSON ({exc.msg} at line {exc.lineno})", str(path)) from exc
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise ImportFileError("expected a JSON array of place records", str(path))
    return doc


def venue_rows(paths: list[Path], counters: dict[str, int]) -> Iterator[Row]:
    for path in paths:
        for i, rec in enumerate(_read(path), start=1):
            facts, dropped = accessibility(rec.get("features") or [])
            counters["demo_facts_dropped"] = counters.get("demo_facts_dropped", 0) + dropped
            lat, lon = rec.get("lat"), rec.get("lon")
            geometry = (
                {"type": "Point", "coordinates": [lon, lat]}
                if isinstance(lat, int | float) and isinstance(lon, int | float)
                else None
            )
            name = str(rec.get("name") or "").strip()
            yield Row(
                external_id=rec.get("id"),
                properties={
                    "name": name,
                    "type": venue_type(str(rec.get("category") or ""), name),
                    "address": rec.get("address"),
                    "accessibility": facts,
                    "source": SOURCE_LABEL,
                },
                geometry=geometry,
                srid=4326,
                ref=f"{path.name} #{i}",
            )


def places_dir(city: City) -> Path:
    return DATA_DIR / city.slug / "places"


def import_civic_venues(
    conn: Connection,
    city: City,
    directory: Path | None = None,
    *,
    dry_run: bool = False,
    progress: bool | None = None,
) -> ImportReport:
    """Upsert every venue of ``directory`` (default data/<city>/places) in one transaction."""
    directory = Path(directory or places_dir(city))
    paths = [directory / f"{name}.json" for name in FILES if (directory / f"{name}.json").exists()]
    if not paths:
        raise ImportFileError(
            f"no place files ({', '.join(f + '.json' for f in FILES)}) in {directory}"
        )
    counters: dict[str, int] = {}
    report = ImportReport(source=str(directory), layer=LAYER.name)
    import_rows(
        conn,
        LAYER,
        venue_rows(paths, counters),
        dry_run=dry_run,
        report=report,
        progress=progress,
    )
    outside = sum(1 for r in report.rejected if r.reason == "geometry lies outside the city")
    report.extra["outside_city"] = outside
    report.extra["demo_facts_dropped"] = counters.get("demo_facts_dropped", 0)
    if outside:
        report.notes.append(f"{outside} place(s) lie outside {city.name} and were not imported")
    return report
