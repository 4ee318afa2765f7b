"""Issue 2: the districts API and the health check."""

from __future__ import annotations

import json

import pytest


def test_locate_rynek_glowny_is_stare_miasto(client):
    r = client.get("/api/districts/locate?lon=19.9373&lat=50.0617")
    assert r.status_code == 200
    assert r.get_json() == {
        "number": 1,
        "name": "Stare Miasto",
        "full_name": "Dzielnica I Stare Miasto",
    }


def test_locate_nowa_huta(client):
    r = client.get("/api/districts/locate?lon=20.0375&lat=50.0717")  # Plac Centralny
    assert r.status_code == 200 and r.get_json()["number"] == 18


@pytest.mark.parametrize(
    "query, status, field",
    [
        ("lon=0&lat=0", 404, "lon"),
        ("lon=abc&lat=50", 400, "lon"),
        ("lon=19.9&lat=", 400, "lat"),
        ("lon=NaN&lat=50", 400, "lon"),
        ("lon=19.9&lat=Infinity", 400, "lat"),
        ("lon=1e999&lat=50", 400, "lon"),
        ("lon=19.9&lat=91", 400, "lat"),
    ],
)
def test_locate_bad_input(client, query, status, field):
    r = client.get(f"/api/districts/locate?{query}")
    assert r.status_code == status
    body = r.get_json()["error"]
    assert body["field"] == field and body["message"]


def test_districts_feature_collection_built_in_sql(client):
    r = client.get("/api/districts")
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    fc = json.loads(r.data)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 18
    first = fc["features"][0]
    assert first["id"] == 1 and first["properties"]["name"] == "Stare Miasto"
    assert 5 < first["properties"]["area_km2"] < 6
    assert first["properties"]["population"] == 26_823


def test_simplify_makes_it_smaller(client):
    full = client.get("/api/districts").data
    simple = client.get("/api/districts?simplify=0.0005").data
    assert len(simple) < len(full) / 3
    assert len(json.loads(simple)["features"]) == 18
    assert client.get("/api/districts?simplify=-1").status_code == 400
    assert client.get("/api/districts?simplify=x").status_code == 400


def test_one_district(client):
    r = client.get("/api/districts/8")
    assert r.status_code == 200 and json.loads(r.data)["properties"]["name"] == "Dębniki"
    r = client.get("/api/districts/19")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_healthz_reports_versions(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["postgresql"].startswith("15") or body["postgresql"][:2].isdigit()
    assert body["postgis"].startswith("3.")


def test_healthz_503_when_database_unreachable():
    from app import create_app

    app = create_app(
        {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none", "TESTING": True}
    )
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.get_json()["status"] == "unavailable"


def test_pages_render_with_district_list(client):
    r = client.get("/")
    html = r.data.decode()
    assert r.status_code == 200 and '<html lang="pl"' in html
    assert html.count('data-district="') == 18
    assert "Dzielnica XVIII Nowa Huta" in html
    assert "http://" not in html.split("<body", 1)[0].replace('xmlns="http://www.w3.org', "")
    r = client.get("/districts/1")
    assert r.status_code == 200 and "5.5" in r.data.decode() and "26" in r.data.decode()
    assert client.get("/districts/99").status_code == 404


def test_csp_nonce_on_every_inline_script(client):
    import re

    r = client.get("/")
    csp = r.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    html = r.data.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
