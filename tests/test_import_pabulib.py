"""importers.pabulib on the real Kraków files (the test template has them all loaded by the
reference step, the way `make run` loads them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from geo.cities import KRAKOW
from importers.pabulib import PbUnit, import_pb, reference_files
from importers.pabulib_format import meta_int, parse_pb
from importers.report import ImportFileError

DATA = Path(__file__).resolve().parent.parent / "data" / "pabulib"
KRAKOW_DIR = DATA / "krakow"
CITY_2024 = KRAKOW_DIR / "poland_krakow_2024_.pb"
PODGORZE_2024 = KRAKOW_DIR / "poland_krakow_2024_podgorze.pb"
PODGORZE_2018 = KRAKOW_DIR / "poland_krakow_2018_podgorze.pb"


def snapshot(engine) -> dict[str, list]:
    """Every proposal's id, external id, updated_at and values; pools; ballot content."""
    with engine.connect() as conn:
        proposals = conn.execute(
            text(
                "SELECT id, external_id, updated_at, md5(p::text) FROM budget_proposals p "
                "ORDER BY id"
            )
        ).all()
        pools = conn.execute(text("SELECT * FROM budget_pools ORDER BY 1, 2, 3")).all()
        ballots = conn.execute(
            text(
                "SELECT edition, scope, district, count(*), "
                "sum(hashtextextended(concat_ws('|', voter_district, voting_method, "
                "choices::text, source), 0)) FROM ballots GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            )
        ).all()
    return {"proposals": proposals, "pools": pools, "ballots": ballots}


def test_reference_step_loaded_every_krakow_file(engine):
    files = reference_files(KRAKOW)
    assert len(files) == 114
    with engine.connect() as conn:
        loaded = conn.execute(
            text("SELECT rows, source FROM reference_loads WHERE name = 'pabulib'")
        ).one()
        total = conn.execute(text("SELECT count(*) FROM ballots")).scalar_one()
    assert total == 569_074
    assert "114 files" in loaded.source and "569074 ballots" in loaded.source


def test_citywide_2024_gives_119_proposals(engine):
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM budget_proposals WHERE edition = 2024 AND scope = 'citywide'")
        )
        report = import_pb(conn, CITY_2024, KRAKOW)
    assert (report.read, report.imported, report.rejected) == (119, 119, [])
    assert report.extra["ballots"] == 65_101
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT external_id, districts, geom IS NULL AS nogeom, status, category, cost "
                "FROM budget_proposals WHERE edition = 2024 AND scope = 'citywide'"
            )
        ).all()
        pool = conn.execute(
            text(
                "SELECT budget, num_projects, num_votes, date_begin::text FROM budget_pools "
                "WHERE edition = 2024 AND scope = 'citywide' AND district = 0"
            )
        ).one()
    assert len(rows) == 119
    assert all(r.districts == [] and r.nogeom for r in rows)
    first = next(r for r in rows if r.external_id == "BO.OM.97/24")
    assert (first.status, first.category, int(first.cost)) == (
        "selected",
        "environmental protection",
        200_000,
    )
    assert (int(pool.budget), pool.num_projects, pool.num_votes, pool.date_begin) == (
        9_200_000,
        119,
        65_101,
        "2024-09-13",
    )


def test_each_district_file_matches_its_meta(engine):
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                text(
                    "SELECT source, count(*) FROM budget_proposals "
                    "WHERE source LIKE 'Pabulib: %' GROUP BY source"
                )
            ).all()
        )
        ballots = dict(
            conn.execute(text("SELECT source, count(*) FROM ballots GROUP BY source")).all()
        )
        districts = dict(
            conn.execute(
                text(
                    "SELECT source, array_agg(DISTINCT d) FROM budget_proposals, "
                    "unnest(districts) d WHERE scope = 'district' GROUP BY source"
                )
            ).all()
        )
    checked = 0
    for path in reference_files(KRAKOW):
        pb = parse_pb(path)
        assert counts[f"Pabulib: {path.name}"] == meta_int(pb.meta, "num_projects"), path.name
        assert ballots[path.name] == meta_int(pb.meta, "num_votes"), path.name
        if pb.meta.get("subunit"):
            number = KRAKOW.district_names.index(pb.meta["subunit"]) + 1
            assert districts[f"Pabulib: {path.name}"] == [number], path.name
            checked += 1
    assert checked == 108  # 18 districts x 6 editions


def test_reimport_changes_nothing(engine):
    before = snapshot(engine)
    for path in (CITY_2024, PODGORZE_2024, PODGORZE_2018):
        with engine.begin() as conn:
            report = import_pb(conn, path, KRAKOW)
        assert report.imported == report.updated == 0
        assert report.unchanged == report.read > 0
    assert snapshot(engine) == before  # same ids, same updated_at, same ballots


def test_external_ids_status_and_voter_districts(engine):
    with engine.connect() as conn:
        ids = {
            r[0]: r
            for r in conn.execute(
                text(
                    "SELECT external_id, status, selected, districts FROM budget_proposals "
                    "WHERE source IN ('Pabulib: poland_krakow_2018_podgorze.pb', "
                    "'Pabulib: poland_krakow_2024_podgorze.pb')"
                )
            )
        }
        voters = conn.execute(
            text(
                "SELECT voter_district, count(*) FROM ballots WHERE edition = 2022 "
                "AND scope = 'citywide' GROUP BY 1 ORDER BY 1"
            )
        ).all()
        columns = {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'ballots'"
                )
            )
        }
    # BO ids are kept; bare numbers get the documented namespace.
    assert "BO.D13.65/24" in ids
    assert ids["pabulib:krakow:2018:podgorze:6"].districts == [13]
    # 2018 files have no 'selected' column: the result is not guessed.
    assert ids["pabulib:krakow:2018:podgorze:6"].status == "accepted_for_vote"
    assert ids["pabulib:krakow:2018:podgorze:6"].selected is None
    assert ids["BO.D13.65/24"].status == "selected"
    # Voter districts from the city-wide file's VOTES "district" column, all matched.
    assert [v[0] for v in voters] == list(range(1, 19))
    assert sum(v[1] for v in voters) == 42_965
    assert not columns & {"voter_id", "age", "sex"}


def test_unit_external_id_scheme():
    unit = PbUnit("krakow", 2019, "district", 9, "Łagiewniki-Borek Fałęcki", "f.pb")
    assert unit.external_id("12") == "pabulib:krakow:2019:lagiewniki-borek-falecki:12"
    assert unit.external_id("BO.D9.12/19") == "BO.D9.12/19"
    city = PbUnit("krakow", 2019, "citywide", 0, None, "f.pb")
    assert city.external_id("7") == "pabulib:krakow:2019:citywide:7"


def test_a_file_for_another_city_is_refused(engine, table_checksums):
    before = table_checksums()
    with pytest.raises(ImportFileError, match="configured for 'Kraków'"), engine.begin() as conn:
        import_pb(conn, DATA / "poland-geo" / "poland_warszawa_2024_wola.pb", KRAKOW)
    assert table_checksums() == before


def test_a_broken_ballot_at_the_end_undoes_the_whole_file(engine, table_checksums, tmp_path):
    """Proposals are upserted and most ballots copied before the broken line is met."""
    content = PODGORZE_2024.read_text(encoding="utf-8")
    changed = content.replace("BO.D13.65/24;650000;", "BO.D13.65/24;999999;")
    assert changed != content
    broken = tmp_path / "poland_krakow_2024_podgorze.pb"
    broken.write_text(changed.rstrip("\n") + "\n6840;BO.D13.1/24;18;F;extra\n", encoding="utf-8")
    before = table_checksums()
    with pytest.raises(ImportFileError, match=r"line \d+: VOTES row has 5 fields"):
        with engine.begin() as conn:
            import_pb(conn, broken, KRAKOW)
    assert table_checksums() == before


def test_dry_run_writes_nothing(engine, table_checksums):
    before = table_checksums()
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM budget_proposals WHERE source = :s"),
            {"s": f"Pabulib: {PODGORZE_2018.name}"},
        )
    with engine.begin() as conn:
        report = import_pb(conn, PODGORZE_2018, KRAKOW, dry_run=True)
    assert report.dry_run and report.imported == 24
    with engine.begin() as conn:
        import_pb(conn, PODGORZE_2018, KRAKOW)
    after = table_checksums()
    assert after["ballots"] != before["ballots"]  # replaced: same content, new ids
    assert after["budget_pools"] == before["budget_pools"]


def test_cli_dry_run(engine, db_url, table_checksums, monkeypatch):
    from click.testing import CliRunner

    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    before = table_checksums()
    result = CliRunner().invoke(main, ["import", "pabulib", "--dry-run", str(PODGORZE_2024)])
    assert result.exit_code == 0, result.output
    assert "[dry run] 1 file(s): 54 proposals, 6839 ballots, 0 rejected" in result.output
    assert table_checksums() == before


SYNTHETIC = """META
key;value
description;Synthetic test file
country;Poland
unit;Kraków
subunit;PODGÓRZE
instance;2030
num_projects;3
num_votes;3
budget;1000000.50
vote_type;approval
date_begin;01.09.2030
date_end;2030-09-15
PROJECTS
project_id;cost;votes;name;category;selected;latitude;longitude
1;1000;2;Ławki na Zabłociu;public space,urban greenery;1;50.0511;19.9735
2;2000;1;Daleko stąd;public transit and roads;0;52.2297;21.0122
3;3000;1;Bez miejsca;;0;;
VOTES
voter_id;vote;voting_method;district
a;1,2;internet;PODGÓRZE
b;1;paper;Dzielnica XIII
c;3,4;;Nibylandia
"""


def test_coordinates_categories_and_voters_of_a_small_file(engine, tmp_path):
    path = tmp_path / "synthetic.pb"
    path.write_text(SYNTHETIC, encoding="utf-8")
    with engine.begin() as conn:
        report = import_pb(conn, path, KRAKOW)
    assert (report.imported, report.rejected, report.extra["ballots"]) == (3, [], 3)
    notes = " | ".join(report.notes)
    assert "1 project(s) have coordinates outside the city" in notes
    assert "absent from PROJECTS: 4" in notes
    assert "1 ballot(s) name a voter district that matches none" in notes
    with engine.connect() as conn:
        rows = {
            r.external_id: r
            for r in conn.execute(
                text(
                    "SELECT external_id, geom IS NOT NULL AS located, districts, category, "
                    "status FROM budget_proposals WHERE edition = 2030"
                )
            )
        }
        ballots = conn.execute(
            text(
                "SELECT voter_district, voting_method, choices FROM ballots "
                "WHERE edition = 2030 ORDER BY voter_district NULLS LAST, voting_method"
            )
        ).all()
        pool = conn.execute(
            text("SELECT budget, date_end::text FROM budget_pools WHERE edition = 2030")
        ).one()
    one, two, three = (rows[f"pabulib:krakow:2030:podgorze:{i}"] for i in (1, 2, 3))
    assert (one.located, one.districts, one.category, one.status) == (
        True,
        [13],
        "public space",
        "selected",
    )
    assert (two.located, two.districts, two.category) == (False, [13], "public transit")
    assert (three.located, three.districts, three.category) == (False, [13], None)
    assert [(b.voter_district, b.voting_method) for b in ballots] == [
        (13, "internet"),
        (13, "paper"),
        (None, None),
    ]
    assert ballots[0].choices == [
        "pabulib:krakow:2030:podgorze:1",
        "pabulib:krakow:2030:podgorze:2",
    ]
    assert (str(pool.budget), pool.date_end) == ("1000000.50", "2030-09-15")
