"""Issue 15.7: officials create a consultation (area drawn on the map, stage and dates), an
NGO entry and a revitalisation area in the browser, and import a file with the CLI's
importers and summary; 4xx naming the field, size limits, staff only."""

from __future__ import annotations

import io
import json
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import text

JSON = {"Accept": "application/json"}
AREA = {
    "type": "Polygon",
    "coordinates": [
        [[19.930, 50.055], [19.945, 50.055], [19.945, 50.065], [19.930, 50.065], [19.930, 50.055]]
    ],
}


@pytest.fixture()
def official(make_user):
    return make_user("official")


def consultation_form(**over) -> dict:
    today = date.today()
    data = {
        "form_key": uuid.uuid4().hex,
        "title": "Konsultacje: park qstaff",
        "description": "Jak urządzić park?",
        "opens_on": (today - timedelta(days=1)).isoformat(),
        "closes_on": (today + timedelta(days=20)).isoformat(),
        "stage": "open",
        "geometry": json.dumps(AREA),
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def count(engine, table: str, where: str = "true", **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar()


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(
    "url", ["/staff", "/staff/new/consultations", "/staff/new/ngos", "/staff/import"]
)
def test_staff_only(client, make_user, official, url):
    assert client.get(url).status_code in (302, 401)
    assert make_user().get(url).status_code == 403
    assert make_user("moderator").get(url).status_code == 403
    assert official.get(url).status_code == 200
    assert make_user("admin").get(url).status_code == 200


def test_unknown_layer_is_404(official):
    assert official.get("/staff/new/budget-proposals").status_code == 404
    assert official.get("/staff/new/nope").status_code == 404


# --------------------------------------------------------------------------- a consultation


def test_official_creates_a_consultation_with_its_area(official, client, engine):
    form = consultation_form()
    r = official.post("/staff/new/consultations", data=form)
    assert r.status_code == 303, r.data[:2000]
    assert "/consultations/" in r.headers["Location"]
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT id, title, stage, opens_on, closes_on, ST_GeometryType(geom) AS g, "
                "ST_Area(geom::geography) AS m2 FROM consultations WHERE external_id = :e"
            ),
            {"e": f"web:{form['form_key']}"},
        ).one()
        audited = conn.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'staff.create' "
                "AND target_table = 'consultations' AND target_id = :i"
            ),
            {"i": row.id},
        ).scalar()
    assert row.title == "Konsultacje: park qstaff" and row.stage == "open"
    assert row.g in ("ST_Polygon", "ST_MultiPolygon") and row.m2 > 100_000
    assert audited == 1
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Konsultacje: park qstaff" in page
    # the same form twice leaves one consultation
    again = official.post("/staff/new/consultations", data=form, headers=JSON)
    assert again.status_code == 200 and again.get_json()["id"] == row.id
    assert count(engine, "consultations", "title = 'Konsultacje: park qstaff'") == 1


@pytest.mark.parametrize(
    "over, field",
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"opens_on": "jutro"}, "opens_on"),
        ({"closes_on": "2000-01-01", "opens_on": "2000-02-01"}, "closes_on"),
        ({"stage": "someday"}, "stage"),
        ({"geometry": ""}, "geometry"),
        ({"geometry": json.dumps({"type": "Point", "coordinates": [19.94, 50.06]})}, "geometry"),
        ({"geometry": "{not json"}, "geometry"),
        ({"form_key": "x"}, "form_key"),
    ],
)
def test_bad_consultation_names_the_field(official, engine, over, field):
    before = count(engine, "consultations")
    r = official.post("/staff/new/consultations", data=consultation_form(**over), headers=JSON)
    assert r.status_code == 400, r.data
    err = r.get_json()["error"]
    assert err["field"] == field, err
    assert "geometry" not in err["message"] or field != "geometry"  # a person's label
    assert count(engine, "consultations") == before


def test_errors_next_to_the_fields_in_html(official):
    r = official.post("/staff/new/consultations", data=consultation_form(title="", geometry=""))
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="title-error"' in html and 'id="geometry-error"' in html
    assert 'class="error-summary"' in html


# --------------------------------------------------------------------------- NGO, revitalisation


def test_official_adds_an_ngo_and_a_revitalisation_area(official, client, engine):
    r = official.post(
        "/staff/new/ngos",
        data={
            "form_key": uuid.uuid4().hex,
            "name": "Fundacja Testowa qstaff",
            "krs": "0000123456",
            "address": "ul. Długa 1",
            "fields": ["culture", "education"],
            "kind": "seat",
            "geometry": json.dumps({"type": "Point", "coordinates": [19.94, 50.07]}),
        },
    )
    assert r.status_code == 303, r.data[:3000]
    with engine.connect() as conn:
        ngo = conn.execute(
            text("SELECT fields, krs FROM ngo_locations WHERE name = 'Fundacja Testowa qstaff'")
        ).one()
    assert sorted(ngo.fields) == ["culture", "education"] and ngo.krs == "0000123456"
    r = official.post(
        "/staff/new/ngos",
        data={
            "form_key": uuid.uuid4().hex,
            "name": "Zła",
            "fields": ["nonsense"],
            "geometry": json.dumps(AREA),
        },
        headers=JSON,
    )
    assert r.status_code == 400
    fields = r.get_json()["error"]["fields"]
    assert {"fields", "geometry"} <= set(fields)
    r = official.post(
        "/staff/new/revitalisation-areas",
        data={
            "form_key": uuid.uuid4().hex,
            "name": "Podobszar qstaff",
            "code": "Z.9",
            "geometry": json.dumps(AREA),
        },
    )
    assert r.status_code == 303, r.data[:3000]
    assert count(engine, "revitalisation_areas", "name = 'Podobszar qstaff'") == 1
    assert client.get(r.headers["Location"]).status_code == 200


# --------------------------------------------------------------------------- import a file


def geojson_file(n: int = 2, prefix: str = "qimp", bad: bool = False) -> bytes:
    feats = []
    for i in range(n):
        x = 19.93 + i * 0.01
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "external_id": f"{prefix}:{i}",
                    "name": "" if bad and i == 0 else f"Obszar {prefix} {i}",
                },
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[x, 50.05], [x + 0.005, 50.05], [x + 0.005, 50.055], [x, 50.05]]
                    ],
                },
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def upload(client, data: bytes, name: str = "obszary.geojson", **form):
    return client.post(
        "/staff/import",
        data={
            "layer": "revitalisation-areas",
            "mode": "dry_run",
            **form,
            "file": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
        headers=form.pop("headers", None) or {},
    )


def test_import_dry_run_then_commit(official, engine):
    before = count(engine, "revitalisation_areas")
    r = upload(official, geojson_file(prefix="qdry"))
    assert r.status_code == 200, r.data[:2000]
    html = r.get_data(as_text=True)
    assert 'data-dry-run="true"' in html and 'id="count-imported">2<' in html
    assert count(engine, "revitalisation_areas") == before  # nothing written
    r = upload(official, geojson_file(prefix="qdry"), mode="commit")
    assert r.status_code == 200
    assert 'data-dry-run="false"' in r.get_data(as_text=True)
    assert count(engine, "revitalisation_areas", "external_id LIKE 'qdry:%'") == 2
    # the same file again: unchanged, no duplicates
    r = official.post(
        "/staff/import",
        data={
            "layer": "revitalisation-areas",
            "mode": "commit",
            "file": (io.BytesIO(geojson_file(prefix="qdry")), "obszary.geojson"),
        },
        content_type="multipart/form-data",
        headers=JSON,
    )
    body = r.get_json()
    assert body["unchanged"] == 2 and body["imported"] == 0 and body["rejected"] == []
    assert count(engine, "revitalisation_areas", "external_id LIKE 'qdry:%'") == 2


def test_import_reports_rejected_rows_like_the_cli(official):
    r = official.post(
        "/staff/import",
        data={
            "layer": "revitalisation-areas",
            "mode": "dry_run",
            "file": (io.BytesIO(geojson_file(prefix="qbad", bad=True)), "obszary.geojson"),
        },
        content_type="multipart/form-data",
        headers=JSON,
    )
    body = r.get_json()
    assert body["read"] == 2 and body["imported"] == 1 and len(body["rejected"]) == 1
    assert body["rejected"][0]["field"] == "name"
    assert "rejected 1" in body["summary"]


@pytest.mark.parametrize(
    "kwargs, field, status",
    [
        ({"layer": ""}, "layer", 400),
        ({"layer": "budget-proposals"}, "layer", 400),
        ({"mode": "maybe"}, "mode", 400),
        ({"name": "obszary.exe"}, "file", 415),
        ({"name": ""}, "file", 400),
        ({"data": b"not json at all"}, "file", 422),
        ({"data": b'{"type": "FeatureCollection", "features": []}'}, "file", 422),
    ],
)
def test_bad_imports_name_the_field(official, engine, kwargs, field, status):
    before = count(engine, "revitalisation_areas")
    form = {
        "layer": kwargs.get("layer", "revitalisation-areas"),
        "mode": kwargs.get("mode", "commit"),
    }
    data = kwargs.get("data", geojson_file(prefix="qerr"))
    name = kwargs.get("name", "obszary.geojson")
    r = official.post(
        "/staff/import",
        data={**form, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=JSON,
    )
    assert r.status_code == status, r.data[:1000]
    assert r.get_json()["error"]["field"] == field
    assert count(engine, "revitalisation_areas") == before


def test_import_size_limit(official, app, monkeypatch):
    from civic.staff import imports as si

    monkeypatch.setattr(si, "IMPORT_MAX", 1000)
    r = official.post(
        "/staff/import",
        data={
            "layer": "revitalisation-areas",
            "mode": "dry_run",
            "file": (io.BytesIO(b" " * 5000 + geojson_file()), "obszary.geojson"),
        },
        content_type="multipart/form-data",
        headers=JSON,
    )
    assert r.status_code == 413 and r.get_json()["error"]["field"] == "file"


def test_officials_import_only_into_their_layers(official, make_user):
    html = official.get("/staff/import").get_data(as_text=True)
    assert 'value="revitalisation-areas"' in html and 'value="consultations"' in html
    assert 'value="civic-venues"' not in html  # admin only
    assert 'value="civic-venues"' in make_user("admin").get("/staff/import").get_data(as_text=True)
