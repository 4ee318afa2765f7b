"""Fill the gazetteer from the shipped Kraków data, in the caller's transaction.

Sources (see data/SOURCES.md):

* ``data/krakow/neighbourhoods.json`` — OpenStreetMap ``place=neighbourhood|quarter``
  nodes around Kraków; only those inside the city outline are kept (the snapshot's bbox
  reaches into Wieliczka, Zielonki, ...).
* ``data/krakow/places/*.json`` — civic places (libraries, culture, education, offices):
  each ``address`` with its point becomes an address ("Rajska 12"), or a street when it has
  no house number; each named place becomes a venue.
* the ``districts`` table — the 18 district names at a point on their surface.

Rows of these sources are replaced on every run; rows of a PRG import (``source='prg'``)
are kept, and an address PRG already has is not added twice (unique (kind, search)).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from geo.cities import City
from geo.config import DATA_DIR
from geo.gazetteer import (
    add_streets_from_addresses,
    fill_districts,
    split_address,
    street_extents,
)

SOURCES = ("osm-places", "osm-civic", "districts")
PLACE_FILES = ("libraries", "culture", "education", "offices")

_STAGE = text(
    """INSERT INTO gazetteer_stage (ord, kind, name, street, number, lon, lat, source, eid)
       VALUES (:ord, :kind, :name, :street, :number, :lon, :lat, :source, :eid)"""
)
# One statement joined with the city outline: PostGIS prepares the outline once (a
# per-row EXISTS re-reads it for every row: ~50x slower). ``ord`` keeps the file order, so
# on a name clash (ON CONFLICT DO NOTHING) the first row wins.
_INSERT = text(
    """
    INSERT INTO gazetteer (kind, name, street, house_number, geom, source, external_id)
    SELECT s.kind, s.name, s.street, s.number, s.p, s.source, s.eid
    FROM (SELECT *, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS p FROM gazetteer_stage) s
    JOIN city c ON ST_Covers(c.geom, s.p)
    ORDER BY s.ord
    ON CONFLICT DO NOTHING
    """
)


class GazetteerImportError(ValueError):
    pass


@dataclass
class GazetteerReport:
    read: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def _finite(*values: Any) -> bool:
    return all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GazetteerImportError(f"{path}: {exc}") from exc


def neighbourhood_rows(path: Path) -> list[dict[str, Any]]:
    doc = _read_json(path)
    rows = []
    for place in doc.get("miejsca", []):
        kind = place.get("place")
        name = (place.get("nazwa") or "").strip()
        if kind not in ("neighbourhood", "quarter") or not name:
            continue
        if not _finite(place.get("lon"), place.get("lat")):
            continue
        rows.append(
            {
                "kind": kind,
                "name": name,
                "street": None,
                "number": None,
                "lon": place["lon"],
                "lat": place["lat"],
                "source": "osm-places",
                "eid": place.get("osm") or name,
            }
        )
    return rows


def civic_place_rows(directory: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for stem in PLACE_FILES:
        path = directory / f"{stem}.json"
        if not path.exists():
            continue
        for place in _read_json(path):
            lon, lat = place.get("lon"), place.get("lat")
            if not _finite(lon, lat):
                continue
            address = " ".join((place.get("address") or "").split())
            street, number = split_address(address) if address else (None, None)
            if address:
                kind = "address" if number else "street"
                rows.append(
                    {
                        "kind": kind,
                        "name": address,
                        "street": street,
                        "number": number,
                        "lon": lon,
                        "lat": lat,
                        "source": "osm-civic",
                        "eid": f"{kind}:{address}",
                    }
                )
            name = " ".join((place.get("name") or "").split())
            if name:
                rows.append(
                    {
                        "kind": "venue",
                        "name": name,
                        "street": street,
                        "number": number,
                        "lon": lon,
                        "lat": lat,
                        "source": "osm-civic",
                        "eid": place.get("id") or f"venue:{name}:{lon}:{lat}",
                    }
                )
    return rows


def load_gazetteer(conn: Connection, city: City, data_dir: Path | None = None) -> GazetteerReport:
    """Replace the shipped-data rows of the gazetteer. The caller owns the transaction."""
    base = (data_dir or DATA_DIR) / city.slug
    report = GazetteerReport()
    conn.execute(text("DELETE FROM gazetteer WHERE source = ANY(:s)"), {"s": list(SOURCES)})

    places = (
        neighbourhood_rows(base / "neighbourhoods.json")
        if (base / "neighbourhoods.json").exists()
        else []
    )
    civic = civic_place_rows(base / "places")
    report.read = {"osm-places": len(places), "osm-civic": len(civic)}
    conn.execute(text("DROP TABLE IF EXISTS pg_temp.gazetteer_stage"))
    conn.execute(
        text(
            """CREATE TEMP TABLE gazetteer_stage (ord integer, kind text, name text, street text,
                   number text, lon float8, lat float8, source text, eid text) ON COMMIT DROP"""
        )
    )
    # Addresses first, so that a venue never takes a name an address row needs.
    rows = places + [r for r in civic if r["kind"] != "venue"]
    rows += [r for r in civic if r["kind"] == "venue"]
    if rows:
        conn.execute(_STAGE, [{**r, "ord": i} for i, r in enumerate(rows)])
        conn.execute(_INSERT)
    conn.execute(text("DROP TABLE pg_temp.gazetteer_stage"))
    add_streets_from_addresses(conn, "osm-civic")
    conn.execute(
        text(
            """
            INSERT INTO gazetteer (kind, name, geom, district, source, external_id)
            SELECT 'district', d.name, ST_PointOnSurface(d.geom), d.number, 'districts', d.number::text
            FROM districts d ORDER BY d.number
            """
        )
    )
    for source in ("osm-places", "osm-civic", "districts"):
        if source != "districts":
            fill_districts(conn, source)
        street_extents(conn, source)
    rows = conn.execute(
        text("SELECT source, count(*) FROM gazetteer WHERE source = ANY(:s) GROUP BY source"),
        {"s": list(SOURCES)},
    )
    report.counts = {s: n for s, n in rows}
    return report
