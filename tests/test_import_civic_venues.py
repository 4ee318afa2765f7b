"""importers.civic_venues (loaded by the reference step) and the `civicmap demo` set."""

from __future__ import annotations

import json
import shutil
from datetime import date

from click.testing import CliRunner
from sqlalchemy import text

from geo.cities import KRAKOW
from importers.civic_venues import accessibility, import_civic_venues, places_dir, venue_type

PLACES = places_dir(KRAKOW)


def test_type_rules():
    assert venue_type("Library", "Biblioteka Kraków Filia 23") == "library"
    assert venue_type("Office", "Rada i Zarząd Dzielnicy XIII Podgórze") == "council_seat"
    assert venue_type("Office", "Miejski Ośrodek Pomocy Społecznej w Krakowie Filia nr 3") == (
        "social_welfare"
    )
    assert venue_type("Office", "Urząd Miasta Krakowa - Wydział Skarbu Miasta") == "city_office"
    assert venue_type("Office", "Zarząd Dróg Miasta Krakowa") == "city_office"
    assert venue_type("Office", "Sąd Okręgowy w Krakowie") == "other"
    assert venue_type("Culture", "Klub Jędruś Ośrodka Kultury Kraków-Nowa Huta") == "culture"
    assert venue_type("Culture", "Młodzieżowy Dom Kultury") == "culture"
    assert venue_type("Culture", "Teatr Bagatela") == "other"
    assert venue_type("Education", "Szkoła Podstawowa nr 1 im. Komisji Edukacji Narodowej") == (
        "school"
    )
    assert venue_type("Education", "VIII Prywatne Akademickie Liceum Ogólnokształcące") == "school"
    assert venue_type("Education", "Wydział Informatyki AGH") == "university"
    assert venue_type("Education", "Uniwerystet Jagielloński") == "university"  # OSM typo


def test_demo_accessibility_facts_are_dropped():
    facts, dropped = accessibility(
        [
            {"key": "WheelchairAccess", "state": "Yes", "isDemoData": False},
            {"key": "InductionLoop", "state": "Yes", "isDemoData": True},
            {"key": "Elevator", "state": "Yes"},  # unknown provenance: not shown either
        ]
    )
    assert (facts, dropped) == (["WheelchairAccess=Yes"], 2)


def test_reference_load(engine):
    with engine.connect() as conn:
        counts = dict(
            conn.execute(text("SELECT type, count(*) FROM civic_venues GROUP BY 1")).all()
        )
        facts = (
            conn.execute(
                text(
                    "SELECT DISTINCT split_part(a, '=', 1) FROM civic_venues, unnest(accessibility) a"
                )
            )
            .scalars()
            .all()
        )
        wbp = conn.execute(
            text("SELECT accessibility FROM civic_venues WHERE external_id = 'osm-way-29327226'")
        ).scalar_one()
    assert sum(counts.values()) == 86 + 127 + 449 + 166
    assert counts["library"] == 86 and counts["council_seat"] == 15
    # Only OSM facts; the hackathon team's invented ones (InductionLoop, ...) are gone.
    assert set(facts) <= {"WheelchairAccess", "WheelchairLimited", "AccessibleToilet"}
    assert all(f.split("=")[0] != "InductionLoop" for f in wbp)


def test_reimport_and_outside_points(engine, tmp_path):
    with engine.connect() as conn:
        before = conn.execute(
            text("SELECT id, external_id, updated_at FROM civic_venues ORDER BY id")
        ).all()
    with engine.begin() as conn:
        report = import_civic_venues(conn, KRAKOW)
    assert (report.imported, report.updated, report.unchanged) == (0, 0, 828)
    with engine.connect() as conn:
        after = conn.execute(
            text("SELECT id, external_id, updated_at FROM civic_venues ORDER BY id")
        ).all()
    assert after == before
    folder = tmp_path / "places"
    folder.mkdir()
    shutil.copy(PLACES / "libraries.json", folder)
    records = json.loads((PLACES / "libraries.json").read_text(encoding="utf-8"))[:3]
    records[0] = {**records[0], "id": "osm-node-1", "lat": 50.2649, "lon": 19.0238}  # Katowice
    (folder / "culture.json").write_text(json.dumps(records), encoding="utf-8")
    with engine.begin() as conn:
        report = import_civic_venues(conn, KRAKOW, folder, dry_run=True)
    assert report.extra["outside_city"] == 1
    assert "1 place(s) lie outside Kraków" in report.summary()


def test_demo_set_is_labelled_and_not_loaded_by_default(engine, db_url, monkeypatch):
    from app.cli import main

    with engine.connect() as conn:
        for table in ("ngo_locations", "revitalisation_areas", "consultations"):
            assert conn.execute(text(f"SELECT count(*) FROM {table} WHERE demo")).scalar() == 0
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "fictitious" in result.output
    with engine.connect() as conn:
        titles = (
            conn.execute(
                text(
                    "SELECT name FROM ngo_locations WHERE demo UNION ALL "
                    "SELECT name FROM revitalisation_areas WHERE demo UNION ALL "
                    "SELECT title FROM consultations WHERE demo"
                )
            )
            .scalars()
            .all()
        )
        open_here = (
            conn.execute(
                text(
                    "SELECT title FROM consultations WHERE demo AND stage = 'open' "
                    "AND current_date BETWEEN opens_on AND closes_on AND ST_Covers(geom, "
                    "ST_SetSRID(ST_MakePoint(19.9735, 50.0511), 4326))"
                )
            )
            .scalars()
            .all()
        )
        krs = conn.execute(text("SELECT count(krs) FROM ngo_locations WHERE demo")).scalar()
    assert len(titles) == 6 + 3 + 2 and all(t.startswith("[DEMO] ") for t in titles)
    assert len(open_here) == 1 and "Zabłociu" in open_here[0]  # open, covering Zabłocie
    assert krs == 0  # no invented KRS numbers that could belong to a real organisation
    again = CliRunner().invoke(main, ["demo"])
    assert again.exit_code == 0 and "imported 0" in again.output
    removed = CliRunner().invoke(main, ["demo", "--remove"])
    assert "ngo_locations 6" in removed.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM consultations WHERE demo")).scalar() == 0


def test_demo_dates_follow_today(engine):
    from importers.demo import demo_rows

    rows = demo_rows(date(2030, 1, 15))["consultations"]
    assert rows[0].properties["opens_on"] < date(2030, 1, 15) < rows[0].properties["closes_on"]
