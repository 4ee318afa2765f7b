"""The city is configuration: a Warsaw-configured database built from Warsaw's districts and
budget files puts at least 99 % of the located projects in the district their file names.

Nothing here is Kraków-specific code: the same migrations, importers.districts.load_districts
and importers.pabulib, with CIVICMAP_CITY=warszawa (geo.cities.WARSZAWA).
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from geo import db
from geo.cities import get_city
from geo.config import Settings
from importers.common import ImportFileError
from importers.districts import load_districts
from importers.pabulib import import_pb, import_pb_files

DATA = Path(__file__).resolve().parent.parent / "data" / "pabulib"
FILES = sorted((DATA / "poland-geo").glob("poland_warszawa_2024_*.pb"))


@pytest.fixture(scope="module")
def warsaw(cluster):
    """A fresh database: migrated, Warsaw's 18 districts, Warsaw's 2024 budget files."""
    name = f"warsaw_{os.getpid()}"
    url = cluster.create_database(name)
    db.migrate(url)
    mp = pytest.MonkeyPatch()
    mp.setenv("CIVICMAP_CITY", "warszawa")
    city = get_city(Settings().city)
    eng = db.engine(url)
    with eng.begin() as conn:
        districts = load_districts(conn, city)
    with eng.begin() as conn:
        reports = import_pb_files(conn, FILES, city)
    yield eng, city, districts, reports
    mp.undo()
    eng.dispose()
    with psycopg.connect(
        host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_warsaw_districts_loaded(warsaw):
    _, city, districts, _ = warsaw
    assert city.name == "Warszawa"
    assert districts.loaded == list(range(1, 19))


def test_located_projects_fall_in_their_files_district(warsaw):
    eng, city, _, reports = warsaw
    assert len(FILES) == 18
    assert sum(len(r.rejected) for r in reports) == 0
    with eng.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT b.district,
                          count(*) FILTER (WHERE p.geom IS NOT NULL) AS located,
                          count(*) FILTER (WHERE p.geom IS NOT NULL
                                           AND b.district = ANY (p.districts)) AS inside,
                          count(*) AS projects
                   FROM budget_proposals p
                   JOIN budget_pools b ON b.source = p.source
                   GROUP BY b.district ORDER BY b.district"""
            )
        ).all()
    assert [r.district for r in rows] == list(range(1, 19))
    located = sum(r.located for r in rows)
    inside = sum(r.inside for r in rows)
    assert located >= 900  # 949 projects with coordinates in the 2024 files
    assert inside / located >= 0.99, [(r.district, r.located, r.inside) for r in rows]
    # Projects without coordinates are still placed in their file's district.
    with eng.connect() as conn:
        unlocated = conn.execute(
            text(
                "SELECT count(*) FROM budget_proposals WHERE geom IS NULL "
                "AND cardinality(districts) <> 1"
            )
        ).scalar_one()
    assert unlocated == 0


def test_krakow_file_is_refused_in_warsaw(warsaw):
    eng, city, _, _ = warsaw
    with pytest.raises(ImportFileError, match="configured for 'Warszawa'"), eng.begin() as conn:
        import_pb(conn, DATA / "krakow" / "poland_krakow_2024_.pb", city)
