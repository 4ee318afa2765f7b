"""Issue 2: the 18 dzielnice from MSIP (Esri JSON, EPSG:2178) and from the andilabs GeoJSON."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from geo.cities import KRAKOW, KRAKOW_ANDILABS
from geo.crs import transform_xy
from importers.districts import DistrictImportError, load_districts
from importers.esri import read_esri_json, rings_to_geometry


def q(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_eighteen_valid_districts_with_official_names(engine):
    rows = q(
        engine,
        "SELECT number, name, full_name, ST_IsValid(geom), GeometryType(geom) FROM districts ORDER BY number",
    )
    assert [r[0] for r in rows] == list(range(1, 19))
    assert [r[1] for r in rows] == list(KRAKOW.district_names)
    assert rows[11][1] == "Bieżanów-Prokocim" and rows[16][1] == "Wzgórza Krzesławickie"
    assert rows[0][2] == "Dzielnica I Stare Miasto" and rows[17][2] == "Dzielnica XVIII Nowa Huta"
    assert all(r[3] for r in rows)
    assert {r[4] for r in rows} == {"MULTIPOLYGON"}


def test_city_area_union_and_overlaps(engine):
    total, parts, valid = q(
        engine,
        """SELECT sum(ST_Area(ST_Transform(geom, 2180))) / 1e6,
                  (SELECT ST_NumGeometries(ST_Union(geom)) FROM districts),
                  (SELECT ST_IsValid(ST_Union(geom)) FROM districts)
           FROM districts""",
    )[0]
    assert 326 <= total <= 328, total
    assert parts == 1 and valid
    worst = q(
        engine,
        """SELECT coalesce(max(ST_Area(ST_Transform(ST_Intersection(a.geom, b.geom), 2180))), 0)
           FROM districts a JOIN districts b ON a.number < b.number AND ST_Intersects(a.geom, b.geom)""",
    )[0][0]
    assert worst < 10_000, f"overlap of {worst} m² between two districts"


def test_areas_match_the_msip_source(engine):
    """Reprojection 2178 -> 4326 with the right axis order keeps each area within 0.5 %."""
    source = {
        a["ID_DZIELNI"]: a["Shape__Area"] for a, _ in read_esri_json(KRAKOW.districts.path).features
    }
    for number, area in q(
        engine, "SELECT number, ST_Area(ST_Transform(geom, 2178)) FROM districts"
    ):
        assert area == pytest.approx(source[number], rel=0.005), number


def test_population_is_labelled(engine):
    rows = q(
        engine,
        "SELECT number, population, population_date, population_label FROM districts ORDER BY number",
    )
    assert sum(r[1] for r in rows) == 703_697
    assert rows[0][1] == 26_823
    assert all(str(r[2]) == "2025-12-31" and "zameldowani na pobyt stały" in r[3] for r in rows)


def test_axis_order_with_a_known_point():
    x, y = transform_xy(19.9355, 50.0540, 4326, 2178)
    assert x == pytest.approx(7_423_772.0, abs=1.0) and y == pytest.approx(5_546_969.2, abs=1.0)
    lon, lat = transform_xy(x, y, 2178, 4326)
    assert lon == pytest.approx(19.9355, abs=1e-7) and lat == pytest.approx(50.0540, abs=1e-7)


def test_esri_rings_repeated_vertices_and_holes():
    outer = [[0, 0], [0, 10], [10, 10], [10, 0], [10, 0], [0, 0]]  # clockwise, repeated vertex
    hole = [[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]]  # counter-clockwise
    far = [[20, 0], [20, 5], [25, 5], [25, 0], [20, 0]]
    g = rings_to_geometry([outer, hole, far])
    assert g.geom_type == "MultiPolygon" and len(g.geoms) == 2
    assert g.geoms[0].area == 96 and len(g.geoms[0].interiors) == 1
    assert len(g.geoms[0].exterior.coords) == 5  # the repeated vertex is gone


def test_andilabs_geojson_is_repaired_and_normalised(engine):
    raw = json.loads(KRAKOW_ANDILABS.path.read_text(encoding="utf-8"))
    names = {f["properties"]["cartodb_id"]: f["properties"]["name"] for f in raw["features"]}
    assert names[12] == "Dzielnica XII Biezanow-Prokocim"  # the defects are really in the file
    assert names[17] == "Dzielnica XVII Wzgórza Krzeszławickie"
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            report = load_districts(conn, KRAKOW, KRAKOW_ANDILABS)
            rows = conn.execute(
                text(
                    "SELECT number, name, ST_IsValid(geom), ST_Area(ST_Transform(geom, 2180)) / 1e6 FROM districts ORDER BY number"
                )
            ).all()
            union_ok = conn.execute(
                text("SELECT ST_IsValid(ST_Union(geom)) FROM districts")
            ).scalar_one()
        finally:
            trans.rollback()
    assert report.loaded == list(range(1, 19))
    assert 13 in report.repaired and "Self-intersection" in report.repaired[13]
    assert set(report.renamed) == {12, 17}
    assert rows[11][1] == "Bieżanów-Prokocim" and rows[16][1] == "Wzgórza Krzesławickie"
    assert all(r[2] for r in rows) and union_ok
    assert 326 <= sum(r[3] for r in rows) <= 328


def test_a_file_with_a_missing_district_is_refused_and_changes_nothing(engine, tmp_path):
    raw = json.loads(KRAKOW_ANDILABS.path.read_text(encoding="utf-8"))
    raw["features"] = raw["features"][:-1]
    bad = tmp_path / "districts.geojson"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    src = type(KRAKOW_ANDILABS)(**{**KRAKOW_ANDILABS.__dict__, "path": bad})
    before = q(
        engine,
        "SELECT md5(string_agg(number || name || ST_AsEWKB(geom)::text, ',' ORDER BY number)) FROM districts",
    )
    with (
        engine.begin() as conn,
        pytest.raises(DistrictImportError, match="expected districts 1–18"),
    ):
        load_districts(conn, KRAKOW, src)
    after = q(
        engine,
        "SELECT md5(string_agg(number || name || ST_AsEWKB(geom)::text, ',' ORDER BY number)) FROM districts",
    )
    assert before == after


def test_feature_trigger_computes_districts_and_refuses_outside(engine):
    """Every feature knows its district(s), computed in PostGIS; outside the city is refused."""
    from sqlalchemy.exc import DBAPIError

    with engine.connect() as conn:
        trans = conn.begin()
        try:
            rows = conn.execute(
                text(
                    """INSERT INTO civic_venues (name, type, geom) VALUES
                       ('Rynek', 'other', ST_SetSRID(ST_MakePoint(19.9373, 50.0617), 4326))
                       RETURNING districts"""
                )
            ).all()
            assert rows[0][0] == [1]
            line = conn.execute(
                text(
                    """INSERT INTO budget_proposals (edition, title, scope, status, geom)
                       VALUES (2025, 'Ścieżka', 'district', 'submitted',
                               ST_SetSRID(ST_MakeLine(ST_MakePoint(19.9373, 50.0617),
                                                      ST_MakePoint(19.9700, 50.0650)), 4326))
                       RETURNING districts"""
                )
            ).scalar_one()
            assert len(line) >= 2 and 1 in line  # crosses from Stare Miasto eastwards
            with pytest.raises(DBAPIError) as exc:
                with conn.begin_nested():
                    conn.execute(
                        text(
                            "INSERT INTO civic_venues (name, type, geom) VALUES ('Warszawa', 'other', ST_SetSRID(ST_MakePoint(21.01, 52.23), 4326))"
                        )
                    )
            assert exc.value.orig.sqlstate == "CV001"
        finally:
            trans.rollback()


def test_reloading_districts_recomputes_feature_districts(engine):
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            fid = conn.execute(
                text(
                    """INSERT INTO civic_venues (name, type, geom)
                       VALUES ('Plac Centralny', 'other', ST_SetSRID(ST_MakePoint(20.0375, 50.0717), 4326))
                       RETURNING id"""
                )
            ).scalar_one()
            # stale districts, as if computed from older boundaries
            conn.execute(text("ALTER TABLE civic_venues DISABLE TRIGGER civic_venues_write"))
            conn.execute(
                text("UPDATE civic_venues SET districts = '{5}' WHERE id = :i"), {"i": fid}
            )
            conn.execute(text("ALTER TABLE civic_venues ENABLE TRIGGER civic_venues_write"))
            load_districts(conn, KRAKOW)
            got = conn.execute(
                text("SELECT districts FROM civic_venues WHERE id = :i"), {"i": fid}
            ).scalar_one()
        finally:
            trans.rollback()
    assert got == [18]
