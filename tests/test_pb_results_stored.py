"""Issue 10.10: the results of every closed edition are kept for the pb-results layer (its OGC
API collection for MSIP) when its pabulib ballots are imported — by `civicmap import pabulib`
and by the default load of `make run` — in the import's own transaction, without anyone
opening a results page or running `civicmap results`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from civic.pb import results as R
from geo.cities import KRAKOW
from importers.pabulib import import_pb_files, reference_files, store_results
from importers.report import ImportFileError

SHIPPED = (2018, 2019, 2020, 2021, 2022, 2024)


def edition_files(year: int) -> list[Path]:
    return [p for p in reference_files(KRAKOW) if f"_{year}_" in p.name]


def funded_items(client, year: int) -> set[int]:
    r = client.get(f"/ogc/collections/pb-results/items?edition={year}&outcome=funded&limit=5000")
    assert r.status_code == 200, r.data[:300]
    return {f["id"] for f in json.loads(r.data)["features"]}


def kept(engine, year: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM pb_result_rows WHERE edition = :e"), {"e": year}
        ).scalar_one()


def test_default_load_kept_every_shipped_edition(engine, client):
    """The template database is loaded the way `make run` loads it (importers/reference.py)."""
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                text("SELECT edition, count(*) FROM pb_result_rows GROUP BY 1 ORDER BY 1")
            ).all()
        )
        step = conn.execute(
            text("SELECT rows FROM reference_loads WHERE name = 'pb-results'")
        ).scalar_one()
    assert tuple(counts) == SHIPPED and all(n > 0 for n in counts.values())
    assert step == 0  # the pabulib step kept them already: nothing was missing
    assert funded_items(client, 2022)  # served by the collection, no results page opened


def test_pabulib_import_keeps_the_editions_results(engine, client):
    year = 2019
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM pb_result_rows WHERE edition = :e"), {"e": year})
    assert funded_items(client, year) == set()
    with engine.begin() as conn:
        reports = import_pb_files(conn, edition_files(year), KRAKOW)
        expected = {p.id for pool in R.results(conn, year, "greedy") for p in pool.funded}
    assert len(reports) == 19 and {r.extra["edition"] for r in reports} == {year}
    assert reports[0].extra["results"] == kept(engine, year) > 0
    assert funded_items(client, year) == expected and len(expected) > 19


def test_a_failed_or_dry_import_keeps_nothing(engine, tmp_path):
    year = 2020
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM pb_result_rows WHERE edition = :e"), {"e": year})
    files = edition_files(year)
    with engine.begin() as conn:
        reports = import_pb_files(conn, files[:3], KRAKOW, dry_run=True)
        assert "results" not in reports[0].extra
    assert kept(engine, year) == 0
    broken = tmp_path / "broken.pb"
    broken.write_text("META\nkey;value\n", encoding="utf-8")
    with pytest.raises(ImportFileError), engine.begin() as conn:
        import_pb_files(conn, [*files, broken], KRAKOW)
    assert kept(engine, year) == 0  # all or nothing: the results went with the ballots
    with engine.begin() as conn:
        import_pb_files(conn, files, KRAKOW)
    assert kept(engine, year) > 0


def test_an_open_edition_is_not_published(engine):
    with engine.connect() as conn, conn.begin():
        conn.execute(text("DELETE FROM pb_result_rows WHERE edition = 2021"))
        conn.execute(text("UPDATE pb_editions SET closed = false WHERE year = 2021"))
        assert store_results(conn, [2021, 2022]) == {2022: 0}
        n = conn.execute(
            text("SELECT count(*) FROM pb_result_rows WHERE edition = 2021")
        ).scalar_one()
        assert n == 0
        conn.rollback()
