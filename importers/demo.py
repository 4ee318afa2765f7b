"""A small, clearly labelled SYNTHETIC demo set: ``civicmap demo`` (never loaded by default).

There is no real open data here for NGO locations, revitalisation areas or consultations, so
those layers ship empty (with an "import" hint). To show what they look like, this module adds
invented records - every one has ``demo = true``, a name/title starting with ``[DEMO]``, an
external id ``demo:…`` and text saying it is not real. Outlines are rough rectangles drawn
for illustration, not the boundaries of any resolution; no real KRS numbers are used.
``civicmap demo --remove`` deletes exactly these rows (``demo = true``).

The consultation "[DEMO] … Zabłocie" is open (from a week ago to four weeks ahead), so the
comment form can be tried on it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, text

from geo.cities import City
from importers.report import ImportFileError, ImportReport
from importers.writer import Row, import_rows, import_transaction
from layers import registry

PREFIX = "[DEMO] "
NOTE_PL = "Dane demonstracyjne (fikcyjne) - nie opisują rzeczywistego stanu."
DEMO_TABLES = ("consultations", "ngo_locations", "revitalisation_areas")


def _box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [
            [[west, south], [east, south], [east, north], [west, north], [west, south]]
        ],
    }


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def demo_rows(today: date) -> dict[str, list[Row]]:
    """The demo set for Kraków, by layer name."""
    ngos = [
        ("Fundacja Przykładowa Zabłocie", (19.9735, 50.0511), ["culture", "local_community"], [13]),
        ("Stowarzyszenie Demo Seniorzy Nowej Huty", (20.0376, 50.0721), ["seniors"], [18]),
        ("Klub Sportowy Przykład Dębniki", (19.9190, 50.0440), ["sport", "children_youth"], [8]),
        ("Fundacja Demo Zieleń Miejska", (19.9450, 50.0650), ["ecology"], [1, 2]),
        ("Stowarzyszenie Przykładowe Kazimierz", (19.9465, 50.0510), ["culture", "tourism"], [1]),
        ("Fundacja Demo Pomoc Sąsiedzka", (19.9600, 50.0870), ["social_assistance"], [3]),
    ]
    rows: dict[str, list[Row]] = {
        "ngos": [
            Row(
                external_id=f"demo:ngo:{i}",
                properties={
                    "name": PREFIX + name,
                    "krs": None,
                    "address": "adres przykładowy (dane demonstracyjne)",
                    "fields": fields,
                    "districts_served": served,
                    "website": None,
                    "demo": True,
                },
                geometry=_point(*xy),
                ref=f"demo NGO {i}",
            )
            for i, (name, xy, fields, served) in enumerate(ngos, start=1)
        ],
        "revitalisation-areas": [
            Row(
                external_id=f"demo:revitalisation:{i}",
                properties={
                    "name": PREFIX + name,
                    "code": f"DEMO-{i}",
                    "programme": "Dane demonstracyjne - nie jest to gminny program rewitalizacji",
                    "period": "2022-2030 (demo)",
                    "demo": True,
                },
                geometry=_box(*bbox),
                ref=f"demo area {i}",
            )
            for i, (name, bbox) in enumerate(
                [
                    ("Przykładowy obszar: Kazimierz i Stradom", (19.937, 50.046, 19.952, 50.056)),
                    (
                        "Przykładowy obszar: Stare Podgórze i Zabłocie",
                        (19.948, 50.040, 19.985, 50.053),
                    ),
                    ("Przykładowy obszar: centrum Nowej Huty", (20.025, 50.068, 20.045, 50.080)),
                ],
                start=1,
            )
        ],
        "consultations": [
            Row(
                external_id="demo:consultation:1",
                properties={
                    "title": PREFIX + "Zieleń i przestrzeń publiczna na Zabłociu i w Podgórzu",
                    "description": NOTE_PL
                    + " Konsultacje otwarte: zaznacz na mapie miejsce i zostaw uwagę.",
                    "opens_on": today - timedelta(days=7),
                    "closes_on": today + timedelta(days=28),
                    "stage": "open",
                    "documents_url": None,
                    "demo": True,
                },
                geometry=_box(19.955, 50.043, 19.990, 50.056),
                ref="demo consultation 1",
            ),
            Row(
                external_id="demo:consultation:2",
                properties={
                    "title": PREFIX + "Plac Centralny - zasady ruchu i zieleni",
                    "description": NOTE_PL + " Konsultacje zakończone, raport opublikowany.",
                    "opens_on": today - timedelta(days=120),
                    "closes_on": today - timedelta(days=90),
                    "stage": "report",
                    "documents_url": None,
                    "demo": True,
                },
                geometry=_box(20.030, 50.068, 20.042, 50.076),
                ref="demo consultation 2",
            ),
        ],
    }
    return rows


def load_demo(
    conn: Connection, city: City, *, today: date | None = None, dry_run: bool = False
) -> list[ImportReport]:
    """Upsert the demo set (idempotent on the same day) in one transaction."""
    if city.slug != "krakow":
        raise ImportFileError(f"the demo set is drawn for Kraków; this instance is {city.name}")
    reports = []
    with import_transaction(conn, dry_run):
        for layer_name, rows in demo_rows(today or date.today()).items():
            layer = registry.get(layer_name)
            assert layer is not None, layer_name
            reports.append(import_rows(conn, layer, rows, source="civicmap demo", progress=False))
    for r in reports:
        r.dry_run = dry_run or r.dry_run
    return reports


def remove_demo(conn: Connection) -> dict[str, int]:
    """Delete every demo row (``demo = true``); returns the counts per table."""
    out = {}
    for table in DEMO_TABLES:
        out[table] = conn.execute(text(f"DELETE FROM {table} WHERE demo")).rowcount
    return out
