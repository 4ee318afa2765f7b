"""importers (report, mapping, writer) and the layer contract's validator on the real PostGIS."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from importers import writer
from importers.mapping import FieldMapping, parse_map_option
from importers.report import ImportFileError, ImportReport
from importers.writer import Row, import_rows, validate_properties
from layers import registry

VENUES = registry.get("civic-venues")
PROPOSALS = registry.get("budget-proposals")
AREAS = registry.get("revitalisation-areas")
NGOS = registry.get("ngos")

RYNEK = (19.9373, 50.0617)
WAWEL = (19.9355, 50.0540)
WARSAW = (21.0122, 52.2297)


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def venue(ext: str, name: str = "Testowa biblioteka", xy=RYNEK, **props) -> Row:
    return Row(ext, {"name": name, "type": "library", **props}, point(*xy), ref=ext)


def rows_of(engine, table: str, prefix: str) -> list[dict]:
    with engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                text(f"SELECT * FROM {table} WHERE external_id LIKE :p ORDER BY external_id"),
                {"p": prefix + "%"},
            )
        ]


# --------------------------------------------------------------------------- validation


def test_validate_types_required_length_choices():
    clean, problems = validate_properties(
        PROPOSALS,
        {
            "edition": "2024",
            "title": "  Park kieszonkowy  ",
            "cost": "1 234,50",
            "scope": "District",  # case-insensitive choice
            "status": "selected",
            "selected": "tak",
            "votes": 12.0,
            "category": "sport",
        },
    )
    assert problems == []
    assert clean["edition"] == 2024
    assert clean["title"] == "Park kieszonkowy"
    assert clean["cost"] == Decimal("1234.50")
    assert clean["scope"] == "district"
    assert clean["selected"] is True
    assert clean["votes"] == 12

    _, problems = validate_properties(
        PROPOSALS,
        {
            "edition": 1999,
            "title": "x" * 501,
            "scope": "galactic",
            "status": "selected",
            "cost": "dużo",
            "category": "rockets",
            "votes": 1.5,
        },
    )
    fields = {f for f, _ in problems}
    assert fields == {"edition", "title", "scope", "cost", "category", "votes"}
    reasons = dict(problems)
    assert "at least 2013" in reasons["edition"]
    assert "longer than 500" in reasons["title"]
    assert "'galactic' is not one of" in reasons["scope"]

    _, problems = validate_properties(PROPOSALS, {"title": "t"})
    assert {f for f, p in problems if p == "required"} == {"edition", "scope", "status"}


def test_validate_arrays_dates_and_unknown_fields():
    clean, problems = validate_properties(
        NGOS, {"name": "N", "fields": "culture; sport;culture", "districts_served": "1,13"}
    )
    assert problems == []
    assert clean["fields"] == ["culture", "sport"]
    assert clean["districts_served"] == [1, 13]
    _, problems = validate_properties(NGOS, {"name": "N", "fields": ["culture", "rockets"]})
    assert problems and problems[0][0] == "fields"
    consult = registry.get("consultations")
    clean, problems = validate_properties(
        consult,
        {"title": "T", "opens_on": "01.10.2025", "closes_on": "2025-10-31", "stage": "open"},
    )
    assert problems == []
    assert clean["opens_on"] == date(2025, 10, 1)
    with pytest.raises(ImportFileError, match="has no field"):
        validate_properties(NGOS, {"name": "N", "colour": "red"})


def test_map_option_and_mapping_file(tmp_path):
    assert parse_map_option("title=NAZWA, cost=KOSZT") == {"title": "NAZWA", "cost": "KOSZT"}
    with pytest.raises(ImportFileError, match="field=COLUMN"):
        parse_map_option("title")
    yml = tmp_path / "map.yaml"
    yml.write_text(
        "external_id: OBJECTID\nfields:\n  title: NAZWA\ndefaults:\n  scope: district\n",
        encoding="utf-8",
    )
    m = FieldMapping.from_file(yml)
    assert m.fields == {"title": "NAZWA"} and m.constants == {"scope": "district"}
    assert m.external_id == "OBJECTID"
    js = tmp_path / "map.json"
    js.write_text('{"fields": {"title": "NAME"}}', encoding="utf-8")
    merged = m.merged(FieldMapping.from_file(js))
    assert merged.fields == {"title": "NAME"} and merged.external_id == "OBJECTID"
    bad = tmp_path / "bad.yaml"
    bad.write_text("colour: red\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="unknown key"):
        FieldMapping.from_file(bad)


def test_mapping_resolve_matches_names_and_msip_names():
    m = FieldMapping(fields={"title": "nazwa_projektu"}, constants={"status": "submitted"})
    resolved = m.resolve(PROPOSALS, ["NAZWA_PROJEKTU", "KOSZT", "edition", "OBJECTID"])
    assert resolved["title"] == "NAZWA_PROJEKTU"  # case-insensitive
    assert resolved["cost"] == "KOSZT"  # the field's msip_name
    assert resolved["edition"] == "edition"  # the field's own name
    props = m.apply(resolved, {"NAZWA_PROJEKTU": "Ławki", "KOSZT": 10, "edition": 2025})
    assert props == {"title": "Ławki", "cost": 10, "edition": 2025, "status": "submitted"}
    with pytest.raises(ImportFileError, match="no column 'NOPE'"):
        FieldMapping(fields={"title": "NOPE"}).resolve(PROPOSALS, ["A"])
    with pytest.raises(ImportFileError, match="has no field"):
        FieldMapping(fields={"colour": "A"}).resolve(PROPOSALS, ["A"])


# --------------------------------------------------------------------------- import_rows


def test_good_and_bad_rows_each_reported(engine):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[19.93, 50.06], [19.94, 50.07], [19.94, 50.06], [19.93, 50.07], [19.93, 50.06]]
        ],
    }
    rows = [
        venue("t1:ok"),
        venue("t1:outside", xy=WARSAW),
        venue("t1:ok", name="again"),  # repeated id
        Row("t1:type", {"name": "X", "type": "spaceport"}, point(*RYNEK), ref="t1:type"),
        Row("t1:nan", {"name": "X", "type": "school"}, point(float("nan"), 50.0), ref="t1:nan"),
        Row(None, {"name": "X", "type": "school"}, point(*RYNEK), ref="t1:noid"),
        Row(
            "t1:line",
            {"name": "X", "type": "school"},
            {"type": "LineString", "coordinates": [RYNEK, WAWEL]},
        ),
        Row("t1:nogeom", {"name": "X", "type": "school"}, None, ref="t1:nogeom"),
    ]
    with engine.begin() as conn:
        report = import_rows(conn, VENUES, rows, source="test")
    assert (report.read, report.imported, len(report.rejected)) == (8, 1, 7)
    reasons = {r.ref: r.reason for r in report.rejected}
    assert reasons["t1:outside"] == "geometry lies outside the city"
    assert "repeated" in reasons["t1:ok"]
    assert "'spaceport' is not one of" in reasons["t1:type"]
    assert "NaN" in reasons["t1:nan"]
    assert reasons["t1:noid"] == "no external id"
    assert "LineString is not allowed" in reasons["row 7"]
    assert "required" in reasons["t1:nogeom"]
    # Listed in reading order, though the database refused row 2 only when the batch was written.
    assert report.rejected[0].ref == "t1:outside"
    assert [r.index for r in report.rejected] == [2, 3, 4, 5, 6, 7, 8]
    text_ = report.summary()
    assert "read 8, imported 1" in text_ and "t1:outside" in text_
    assert [r["external_id"] for r in rows_of(engine, "civic_venues", "t1:")] == ["t1:ok"]

    # An invalid polygon: rejected with the reason, repaired with repair=True.
    area = {"name": "Kokarda", "demo": True}
    with engine.begin() as conn:
        report = import_rows(conn, AREAS, [Row("t1:bowtie", area, bowtie)])
    assert (
        "Self-intersection" in report.rejected[0].reason and "--repair" in report.rejected[0].reason
    )
    with engine.begin() as conn:
        report = import_rows(conn, AREAS, [Row("t1:bowtie", area, bowtie)], repair=True)
    assert (report.imported, report.repaired) == (1, 1)
    with engine.connect() as conn:
        kind, valid = conn.execute(
            text(
                "SELECT ST_GeometryType(geom), ST_IsValid(geom) FROM revitalisation_areas "
                "WHERE external_id = 't1:bowtie'"
            )
        ).one()
    assert (kind, valid) == ("ST_MultiPolygon", True)


def test_reimport_is_idempotent_and_updates_only_changes(engine):
    rows = [venue(f"t2:{i}", name=f"Filia {i}", xy=(19.93 + i / 1000, 50.06)) for i in range(5)]
    with engine.begin() as conn:
        first = import_rows(conn, VENUES, rows)
    before = rows_of(engine, "civic_venues", "t2:")
    with engine.begin() as conn:
        again = import_rows(conn, VENUES, rows)
    assert (first.imported, again.imported, again.updated, again.unchanged) == (5, 0, 0, 5)
    assert rows_of(engine, "civic_venues", "t2:") == before  # same ids, same updated_at
    changed = [venue("t2:0", name="Filia 0 (nowa nazwa)", xy=(19.93, 50.06)), *rows[1:]]
    with engine.begin() as conn:
        third = import_rows(conn, VENUES, changed)
    assert (third.updated, third.unchanged) == (1, 4)
    after = {r["external_id"]: r for r in rows_of(engine, "civic_venues", "t2:")}
    assert after["t2:0"]["id"] == before[0]["id"]
    assert after["t2:0"]["updated_at"] > before[0]["updated_at"]
    assert after["t2:1"]["updated_at"] == before[1]["updated_at"]


def test_dry_run_and_reprojection(engine):
    # Wawel in EPSG:2178 (easting first, as GDAL and Esri write it).
    wawel_2178 = {"type": "Point", "coordinates": [7423772.0, 5546969.2]}
    row = Row("t3:wawel", {"name": "Wawel", "type": "other"}, wawel_2178, srid=2178)
    with engine.begin() as conn:
        report = import_rows(conn, VENUES, [row], dry_run=True)
    assert report.imported == 1 and report.dry_run
    assert rows_of(engine, "civic_venues", "t3:") == []
    with engine.begin() as conn:
        import_rows(conn, VENUES, [row])
    with engine.connect() as conn:
        lon, lat, districts = conn.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom), districts FROM civic_venues "
                "WHERE external_id = 't3:wawel'"
            )
        ).one()
    assert lon == pytest.approx(19.9355, abs=1e-5) and lat == pytest.approx(50.0540, abs=1e-5)
    assert districts == [1]  # Stare Miasto


def test_a_bad_file_halfway_undoes_everything(engine, table_checksums, monkeypatch):
    monkeypatch.setattr(writer, "BATCH_SIZE", 3)  # so earlier batches were already written

    def rows():
        for i in range(10):
            yield venue(f"t4:{i}", xy=(19.93 + i / 1000, 50.06))
        raise ImportFileError("line 11: garbage", "broken.json")

    before = table_checksums()
    with pytest.raises(ImportFileError, match="garbage"), engine.begin() as conn:
        import_rows(conn, VENUES, rows())
    assert table_checksums() == before
    with pytest.raises(ImportFileError, match="no features"), engine.begin() as conn:
        import_rows(conn, VENUES, iter([]))
    assert table_checksums() == before


def test_batch_with_a_refused_row_keeps_the_others(engine, monkeypatch):
    monkeypatch.setattr(writer, "BATCH_SIZE", 4)
    rows = [venue(f"t5:{i}", xy=(19.93 + i / 1000, 50.06)) for i in range(10)]
    rows[5] = venue("t5:5", xy=WARSAW)  # refused by the database trigger (CV001)
    with engine.begin() as conn:
        report = import_rows(conn, VENUES, rows)
    assert (report.imported, [r.external_id for r in report.rejected]) == (9, ["t5:5"])
    assert len(rows_of(engine, "civic_venues", "t5:")) == 9


def test_rows_as_mappings_and_unknown_layer(engine):
    with engine.begin() as conn:
        report = import_rows(
            conn,
            "civic-venues",
            [
                {
                    "external_id": "t6:1",
                    "properties": {"name": "M", "type": "school"},
                    "geometry": point(*RYNEK),
                }
            ],
        )
    assert report.imported == 1 and isinstance(report, ImportReport)
    with pytest.raises(ImportFileError, match="unknown layer"), engine.begin() as conn:
        import_rows(conn, "no-such-layer", [])


def test_old_import_path_still_works():
    """importers.common re-exports the split modules (app/cli.py and older code import it)."""
    from importers import common, mapping, report

    assert common.import_rows is writer.import_rows
    assert common.FieldMapping is mapping.FieldMapping
    assert common.ImportFileError is report.ImportFileError
    assert common.validate_properties is validate_properties
