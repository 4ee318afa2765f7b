"""`civicmap import arcgis`: paging through an ArcGIS REST layer, offline.

The service is played by the real recorded MSIP answer (data/krakow/districts-msip.esri.json,
the ``query?f=json`` response of the official district layer) split into pages the way
ArcGIS pages: ``resultOffset``/``resultRecordCount`` ordered by OBJECTID, with
``exceededTransferLimit`` while more remain. No network is used.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import test_ogc_testlayer as tl
from click.testing import CliRunner
from sqlalchemy import text

from geo.cities import KRAKOW
from importers.arcgis import ArcGisError, import_arcgis, layer_url, read_layer
from importers.common import FieldMapping, ImportFileError

RECORDED = Path(__file__).resolve().parents[1] / "data" / "krakow" / "districts-msip.esri.json"
URL = "https://msip.example/arcgis/rest/services/Dzielnice_Krakowa/FeatureServer/10"


class RecordedLayer:
    """A fake ArcGIS layer answering from the recorded response (a fetch function)."""

    def __init__(self, max_records=2000, paging=True, fail_on_page=None, ignore_offset=False):
        self.doc = json.loads(RECORDED.read_text(encoding="utf-8"))
        self.max_records, self.paging = max_records, paging
        self.fail_on_page, self.ignore_offset = fail_on_page, ignore_offset
        self.calls: list[tuple[str, dict]] = []

    def info(self) -> dict:
        d = self.doc
        return {
            "currentVersion": 11.3,
            "id": 10,
            "name": "Dzielnice",
            "type": "Feature Layer",
            "geometryType": d["geometryType"],
            "objectIdField": "OBJECTID",
            "fields": d["fields"],
            "maxRecordCount": self.max_records,
            "advancedQueryCapabilities": {"supportsPagination": self.paging},
            "extent": {"spatialReference": d["spatialReference"]},
        }

    def __call__(self, url: str, params) -> dict:
        params = dict(params)
        self.calls.append((url, params))
        if url == URL:
            return self.info()
        assert url == URL + "/query", url
        if params.get("outSR") not in (None, "2178"):
            return {"error": {"code": 400, "message": "only 2178 was recorded", "details": []}}
        feats = sorted(self.doc["features"], key=lambda f: f["attributes"]["OBJECTID"])
        if params.get("returnIdsOnly") == "true":
            return {
                "objectIdFieldName": "OBJECTID",
                "objectIds": [f["attributes"]["OBJECTID"] for f in feats],
            }
        queries = [c for c in self.calls if c[0].endswith("/query")]
        if self.fail_on_page and len(queries) == self.fail_on_page:
            return {
                "error": {"code": 500, "message": "Error performing query operation", "details": []}
            }
        meta = {k: v for k, v in self.doc.items() if k != "features"}
        if "objectIds" in params:
            wanted = {int(i) for i in params["objectIds"].split(",")}
            assert len(wanted) <= self.max_records
            return {**meta, "features": [f for f in feats if f["attributes"]["OBJECTID"] in wanted]}
        assert params["orderByFields"] == "OBJECTID"
        offset = 0 if self.ignore_offset else int(params["resultOffset"])
        count = min(int(params["resultRecordCount"]), self.max_records)
        page = feats[offset : offset + count]
        return {
            **meta,
            "features": copy.deepcopy(page),
            "exceededTransferLimit": offset + count < len(feats),
        }


def source_areas() -> dict[int, float]:
    doc = json.loads(RECORDED.read_text(encoding="utf-8"))
    return {f["attributes"]["ID_DZIELNI"]: f["attributes"]["Shape__Area"] for f in doc["features"]}


def district_areas(engine) -> dict[int, float]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text("SELECT number, ST_Area(ST_Transform(geom, 2178)) FROM districts")
            ).all()
        )


def districts_fingerprint(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT md5(string_agg(number || name || ST_AsEWKB(geom)::text, ',' ORDER BY number)) FROM districts"
            )
        ).scalar_one()


def assert_areas_match(engine) -> float:
    want, got = source_areas(), district_areas(engine)
    assert sorted(got) == list(range(1, 19))
    worst = max(abs(got[n] - want[n]) / want[n] for n in want)
    assert worst < 0.001, worst
    return worst


def imports_logged(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT layer, format, crs, features, params FROM sync_log WHERE op = 'import' ORDER BY id"
            )
        ).all()


@pytest.fixture()
def fresh_districts(engine):
    """Each test starts from the districts as loaded (DELETE is transactional, so reload)."""
    from importers.districts import load_districts

    yield
    with engine.begin() as conn:
        load_districts(conn, KRAKOW)


# --- paging ---------------------------------------------------------------------------------------


def test_pages_through_query_and_reproduces_the_18_districts(engine, fresh_districts):
    svc = RecordedLayer()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM districts"))
    result = import_arcgis(engine, URL, "districts", city=KRAKOW, fetch=svc, page_size=5)
    assert result.read == 18 and result.districts == list(range(1, 19))
    queries = [p for u, p in svc.calls if u.endswith("/query")]
    assert [(q["resultOffset"], q["resultRecordCount"]) for q in queries] == [
        ("0", "5"),
        ("5", "5"),
        ("10", "5"),
        ("15", "5"),
    ]
    for q in queries:
        assert q["outSR"] == "2178" and q["outFields"] == "*" and q["f"] == "json"
        assert q["orderByFields"] == "OBJECTID" and q["where"] == "1=1"
    worst = assert_areas_match(engine)
    print(f"worst relative area difference vs Shape__Area: {worst:.2e}")
    layer, fmt, crs, n, params = imports_logged(engine)[-1]
    assert (layer, fmt, crs, n, params["pages"]) == ("districts", "arcgis", "EPSG:2178", 18, 4)


def test_page_size_is_capped_by_max_record_count():
    svc = RecordedLayer(max_records=7)
    got = read_layer(URL, svc, page_size=100)
    assert len(got.features.features) == 18
    assert [q["resultRecordCount"] for _, q in svc.calls[1:]] == ["7", "7", "7"]


def test_without_pagination_reads_by_object_id():
    svc = RecordedLayer(max_records=4, paging=False)
    got = read_layer(URL + "/query?where=1%3D1", svc)
    assert got.url == URL
    assert [f[0]["OBJECTID"] for f in got.features.features] == list(range(1, 19))
    id_calls = [p for u, p in svc.calls if p.get("returnIdsOnly")]
    assert len(id_calls) == 1
    assert [p["objectIds"] for u, p in svc.calls if "objectIds" in p] == [
        "1,2,3,4",
        "5,6,7,8",
        "9,10,11,12",
        "13,14,15,16",
        "17,18",
    ]


def test_a_server_that_ignores_the_offset_is_caught():
    with pytest.raises(ArcGisError, match="came twice"):
        read_layer(URL, RecordedLayer(ignore_offset=True), page_size=5)


def test_an_error_on_a_later_page_changes_nothing(engine, fresh_districts):
    before, logged = districts_fingerprint(engine), len(imports_logged(engine))
    with pytest.raises(ArcGisError, match="Error performing query operation"):
        import_arcgis(
            engine, URL, "districts", city=KRAKOW, fetch=RecordedLayer(fail_on_page=3), page_size=5
        )
    assert districts_fingerprint(engine) == before and len(imports_logged(engine)) == logged


def test_a_crs_the_server_refuses_is_reported():
    with pytest.raises(ArcGisError, match="only 2178 was recorded"):
        read_layer(URL, RecordedLayer(), out_sr=2180)


@pytest.mark.parametrize(
    "bad",
    [
        "https://x/arcgis/rest/services/S/FeatureServer",
        "https://x/arcgis/rest/services/S/FeatureServer/layers",
    ],
)
def test_a_url_without_a_layer_number_is_refused(bad):
    with pytest.raises(ArcGisError, match="MapServer .layer. URL"):
        layer_url(bad)


def test_layer_url_accepts_query_urls():
    assert layer_url(URL + "/query?where=1=1&f=json") == URL
    assert layer_url(URL + "/") == URL


# --- geometry kinds: holes, multipart, paths, points ---------------------------------------------


def synthetic_page() -> dict:
    """Real MSIP coordinates rearranged into every Esri geometry kind."""
    doc = json.loads(RECORDED.read_text(encoding="utf-8"))
    ring1 = doc["features"][0]["geometry"]["rings"][0]  # Stare Miasto, clockwise
    ring2 = doc["features"][17]["geometry"]["rings"][0]  # Nowa Huta: apart from I
    from shapely.geometry import Polygon

    c = Polygon(ring1).representative_point()
    hole = [
        [c.x - 50, c.y - 50],
        [c.x - 50, c.y + 50],
        [c.x + 50, c.y + 50],
        [c.x + 50, c.y - 50],
        [c.x - 50, c.y - 50],
    ]
    hole = (
        hole[::-1] if Polygon(hole).exterior.is_ccw is False else hole
    )  # holes run counter-clockwise
    meta = {k: v for k, v in doc.items() if k != "features"}
    meta["fields"] = [f for f in doc["fields"] if f["name"] in ("OBJECTID", "NAZWA")]
    feats = [
        {"attributes": {"OBJECTID": 1, "NAZWA": "z dziurą"}, "geometry": {"rings": [ring1, hole]}},
        {
            "attributes": {"OBJECTID": 2, "NAZWA": "dwie części"},
            "geometry": {"rings": [ring1, ring2]},
        },
        {"attributes": {"OBJECTID": 3, "NAZWA": "ścieżka"}, "geometry": {"paths": [ring1[:40]]}},
        {"attributes": {"OBJECTID": 4, "NAZWA": "punkt"}, "geometry": {"x": c.x, "y": c.y}},
    ]
    return {**meta, "features": feats}


def test_every_esri_geometry_kind_goes_into_a_layer(engine, tmp_path):
    path = tmp_path / "kinds.json"
    path.write_text(json.dumps(synthetic_page()), encoding="utf-8")
    got = read_layer(str(path))
    kinds = {a["NAZWA"]: g for a, g in got.features.features}
    assert len(kinds["z dziurą"].interiors) == 1 and kinds["z dziurą"].area == pytest.approx(
        kinds["dwie części"].geoms[0].area - 100 * 100, rel=1e-9
    )
    assert kinds["dwie części"].geom_type == "MultiPolygon" and len(kinds["dwie części"].geoms) == 2
    assert kinds["ścieżka"].geom_type == "LineString" and kinds["punkt"].geom_type == "Point"
    with tl.installed(engine):
        result = import_arcgis(
            engine,
            str(path),
            tl.NAME,
            city=KRAKOW,
            mapping=FieldMapping(fields={"title": "NAZWA"}, constants={"status": "published"}),
        )
        assert result.report.imported == 4, result.report.summary()
        with engine.connect() as conn:
            rows = dict(
                conn.execute(
                    text(
                        f"SELECT title, ST_GeometryType(geom) || ':' || coalesce(ST_NumInteriorRings(ST_GeometryN(geom, 1)), 0) "
                        f"FROM {tl.TABLE} WHERE external_id LIKE 'arcgis:kinds.json:%'"
                    )
                ).all()
            )
        assert rows["z dziurą"] == "ST_Polygon:1" and rows["dwie części"].startswith(
            "ST_MultiPolygon"
        )
        assert rows["ścieżka"].startswith("ST_LineString") and rows["punkt"].startswith("ST_Point")


def test_paged_import_into_a_registered_layer_is_idempotent(engine):
    with tl.installed(engine):
        mapping = FieldMapping(fields={"title": "NAZWA_PELN"}, constants={"status": "published"})
        first = import_arcgis(
            engine, URL, tl.NAME, city=KRAKOW, fetch=RecordedLayer(), page_size=4, mapping=mapping
        )
        assert first.report.imported == 18, first.report.summary()
        again = import_arcgis(
            engine, URL, tl.NAME, city=KRAKOW, fetch=RecordedLayer(), page_size=7, mapping=mapping
        )
        assert again.report.unchanged == 18 and again.report.imported == 0
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT external_id, title, description, districts, ST_Area(ST_Transform(geom, 2178)) "
                    f"FROM {tl.TABLE} WHERE external_id LIKE 'arcgis:%' ORDER BY id"
                )
            ).all()
        areas = source_areas()
        assert [r.external_id for r in rows] == [
            f"arcgis:Dzielnice_Krakowa/FeatureServer/10:{i}" for i in range(1, 19)
        ]
        assert rows[8].title == "Dzielnica IX Łagiewniki-Borek Fałęcki"
        assert rows[0].description.startswith("UCHWALA")  # OPIS matched the layer's MSIP name
        for i, r in enumerate(rows, start=1):
            assert i in r.districts  # each district polygon lies in its own district
            assert abs(r[4] - areas[i]) / areas[i] < 0.001


def test_dry_run_writes_nothing(engine, fresh_districts):
    before = districts_fingerprint(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE districts SET name = 'x' WHERE number = 1"))
    changed = districts_fingerprint(engine)
    import_arcgis(engine, URL, "districts", city=KRAKOW, fetch=RecordedLayer(), dry_run=True)
    assert districts_fingerprint(engine) == changed != before


# --- the command line on the recorded response ---------------------------------------------------


def test_cli_import_arcgis_on_the_recorded_response(engine, fresh_districts, db_url, monkeypatch):
    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE districts SET geom = ST_Multi(ST_Buffer(geom, -0.001)) WHERE number = 3")
        )
    res = CliRunner().invoke(main, ["import", "arcgis", str(RECORDED), "--layer", "districts"])
    assert res.exit_code == 0, res.output
    assert "read 18 features" in res.output and "18 districts loaded" in res.output
    assert_areas_match(engine)
    with engine.connect() as conn:
        src = conn.execute(
            text("SELECT source FROM reference_loads WHERE name = 'districts'")
        ).scalar_one()
    assert src.endswith("districts-msip.esri.json")


def test_cli_reports_bad_input_and_changes_nothing(engine, db_url, monkeypatch, tmp_path):
    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    before = districts_fingerprint(engine)
    bad = tmp_path / "bad.json"
    bad.write_text('{"error": {"code": 498, "message": "Invalid token"}}', encoding="utf-8")
    res = CliRunner().invoke(main, ["import", "arcgis", str(bad), "--layer", "districts"])
    assert (
        res.exit_code == 1 and "Invalid token" in res.output and "nothing was changed" in res.output
    )
    res = CliRunner().invoke(main, ["import", "arcgis", str(RECORDED), "--layer", "nope"])
    assert res.exit_code == 1 and "unknown layer 'nope'" in res.output
    assert districts_fingerprint(engine) == before


def test_districts_in_a_wrong_crs_are_refused(engine, tmp_path):
    """Coordinates with the axes swapped would move the whole city: refused, nothing changes."""
    doc = json.loads(RECORDED.read_text(encoding="utf-8"))
    for f in doc["features"]:
        f["geometry"]["rings"] = [[[y, x] for x, y in ring] for ring in f["geometry"]["rings"]]
    path = tmp_path / "swapped.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    before = districts_fingerprint(engine)
    with pytest.raises(ImportFileError, match="do not cover the centre of Kraków"):
        import_arcgis(engine, str(path), "districts", city=KRAKOW)
    assert districts_fingerprint(engine) == before
