"""The planners' analyses as a registry (civic/planning/registry.py): every registered
analysis is complete and served by the generic routes, and an analysis registered here —
one module's worth of code, nothing else — gets its page, its API and its files."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import Connection, text

from civic.planning import registry
from civic.planning.base import Analysis, Column, Param, Table
from civic.planning.text import Text

NAMES = [a.name for a in registry.all()]


def ready(who, url: str, timeout: float = 180):
    """GET ``url``, waiting for a background analysis (202 / a page with progress) to end."""
    deadline = time.monotonic() + timeout
    while True:
        r = who.get(url)
        body = r.get_data(as_text=True) if r.mimetype == "text/html" else ""
        if r.status_code == 202:
            status_url = r.json["status_url"]
        elif "data-job-url=" in body:
            status_url = re.search(r'data-job-url="([^"]+)"', body).group(1)
        else:
            return r
        assert time.monotonic() < deadline, url
        while who.get(status_url).json.get("state") in ("queued", "running"):
            assert time.monotonic() < deadline, url
            time.sleep(0.1)


def _catalogue(lang: str):
    path = Path(__file__).parents[1] / "app" / "translations" / lang / "LC_MESSAGES" / "messages.po"
    with path.open(encoding="utf-8") as fh:
        return read_po(fh)


# --- every registered analysis is complete ---------------------------------------------------


def test_the_registry_lists_the_planners_analyses():
    assert set(NAMES) >= {
        "demand",
        "history",
        "hotspots",
        "coverage",
        "duplicates",
        "revitalisation",
    }
    assert len(NAMES) == len(registry.MODULES)


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_analysis_is_complete(client, name):
    """Titles in pl/en/uk, a translated summary, parameters with defaults that parse, and the
    generic routes serve its page, map features, data and every declared file format."""
    a = registry.get(name)
    assert a is not None and a.problems() == []
    for lang in ("en", "uk"):
        entry = _catalogue(lang).get(a.summary)
        assert entry is not None and entry.string, (lang, a.summary)
    page = ready(client, f"/planners/{name}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"<h1>{a.title('pl')}</h1>" in html
    assert f'href="/planners/{name}"' in client.get("/planners").get_data(as_text=True)
    fc = ready(client, f"/planners/api/{name}.geojson").json
    assert fc["type"] == "FeatureCollection"
    data = ready(client, f"/planners/api/{name}")
    assert data.status_code == 200 and data.json["analysis"] == name
    for fmt in a.formats:
        r = ready(client, f"/planners/{name}/export.{fmt}")
        assert r.status_code == 200, (fmt, r.get_data(as_text=True)[:300])
        assert f'filename="planisci-{name}' in r.headers["Content-Disposition"]
        if fmt == "png":
            assert r.data[:8] == b"\x89PNG\r\n\x1a\n"
        if fmt == "csv":
            header = next(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
            assert header  # the declared columns (and the geometry)


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_is_checked_by_name(client, engine, name):
    """A bad value of any declared parameter is a 400 naming it, on the page and the API."""
    a = registry.get(name)
    with engine.connect() as conn:
        params = a.params(conn, Text())
    for p in params:
        api = client.get(f"/planners/api/{name}.geojson?{p.name}=%3Cnonsense%3E")
        assert api.status_code == 400, p.name
        assert api.json["error"]["field"] == p.name
        assert api.json["error"]["code"] == "invalid_parameter"
        page = client.get(f"/planners/{name}?{p.name}=%3Cnonsense%3E")
        assert page.status_code == 400
        assert "<nonsense>" not in page.get_data(as_text=True)  # escaped, if shown at all


def test_problems_name_what_an_analysis_lacks():
    # The completeness test above would fail for each of these.
    a = registry.get("demand")
    assert any("no uk title" in p for p in dataclasses.replace(a, titles={"pl": "x"}).problems())
    assert any("not a usable name" in p for p in dataclasses.replace(a, name="api").problems())
    assert any("no chart" in p for p in dataclasses.replace(a, chart=None).problems())
    assert any("format" in p for p in dataclasses.replace(a, formats=("xls",)).problems())


def test_unknown_analyses_and_formats_are_clear_errors(client):
    for url in ("/planners/nothing", "/planners/api/nothing.geojson", "/planners/api/nothing"):
        r = client.get(url)
        assert r.status_code == 404, url
    r = client.get("/planners/nothing/export.csv")
    assert r.status_code == 404 and r.json["error"]["field"] == "view"
    r = client.get("/planners/demand/export.xls")
    assert r.status_code == 400 and r.json["error"]["field"] == "format"


# --- an analysis of our own: one module's worth of code, one register() ----------------------

NAME = "district-areas"


def _params(conn: Connection, t: Text) -> list[Param]:
    return [
        Param("min_area", t.gettext("Najmniejsza powierzchnia (km²)"), "float", 0.0, lo=0, hi=200),
        Param("unit", "Jednostka", "choice", "km2", choices=[("km2", "km²"), ("ha", "ha")]),
    ]


def _compute(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    rows = conn.execute(
        text(
            """SELECT number, name, round((ST_Area(geom::geography) / 1e6)::numeric, 3)::float AS km2
               FROM districts WHERE ST_Area(geom::geography) / 1e6 >= :min ORDER BY number"""
        ),
        {"min": float(values["min_area"])},
    )
    return {"districts": [dict(r._mapping) for r in rows]}


def _features(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> str:
    numbers = [d["number"] for d in payload["districts"]]
    return conn.execute(
        text(
            """SELECT json_build_object('type', 'FeatureCollection', 'features',
                   coalesce(json_agg(json_build_object('type', 'Feature', 'id', number,
                       'geometry', ST_AsGeoJSON(geom, 6)::json,
                       'properties', json_build_object('cls', '', 'label', name))
                   ORDER BY number), '[]'))::text
               FROM districts WHERE number = ANY(:n)"""
        ),
        {"n": numbers},
    ).scalar_one()


def _table(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> Table:
    outlines = dict(conn.execute(text("SELECT number, ST_AsGeoJSON(geom, 6) FROM districts")).all())
    scale = 100.0 if values["unit"] == "ha" else 1.0
    rows = [
        {**d, "area": d["km2"] * scale, "geojson": outlines[d["number"]]}
        for d in payload["districts"]
    ]
    columns = [
        Column("number", "int", "numer dzielnicy"),
        Column("name", "text", "dzielnica"),
        Column("area", "float", f"powierzchnia ({values['unit']})"),
    ]
    return Table(rows, columns, "Powierzchnia dzielnic", filters=dict(values))


TEST_ANALYSIS = Analysis(
    name=NAME,
    titles={"pl": "Powierzchnia dzielnic", "en": "District areas", "uk": "Площа районів"},
    summary="Powierzchnia każdej dzielnicy w km², policzona w PostGIS.",
    params=_params,
    compute=_compute,
    features=_features,
    table=_table,
    formats=("csv", "gpkg"),
)


@pytest.fixture(params=[False, True], ids=["inline", "background"])
def own(request):
    analysis = dataclasses.replace(TEST_ANALYSIS, background=request.param)
    assert analysis.problems() == []
    registry.register(analysis)
    yield analysis
    registry.unregister(NAME)


def test_a_registered_analysis_gets_page_api_and_files(client, own):
    page = ready(client, f"/planners/{NAME}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Powierzchnia dzielnic</h1>" in html
    assert "Stare Miasto" in html and 'id="analysis-table"' in html
    assert f"/planners/api/{NAME}.geojson" in html  # the map loads its features
    assert f'href="/planners/{NAME}/export.csv"' in html
    assert f'href="/planners/{NAME}"' in client.get("/planners").get_data(as_text=True)
    assert "<h1>District areas</h1>" in ready(client, f"/planners/{NAME}?lang=en").get_data(
        as_text=True
    )

    fc = ready(client, f"/planners/api/{NAME}.geojson").json
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 18
    assert {f["geometry"]["type"] for f in fc["features"]} <= {"Polygon", "MultiPolygon"}
    big = ready(client, f"/planners/api/{NAME}.geojson?min_area=40").json
    assert 0 < len(big["features"]) < 18  # Nowa Huta is over 60 km², Stare Miasto under 6
    data = ready(client, f"/planners/api/{NAME}?min_area=40").json
    assert data["parameters"]["min_area"] == 40.0
    assert {d["name"] for d in data["result"]["districts"]} == {
        f["properties"]["label"] for f in big["features"]
    }

    r = ready(client, f"/planners/{NAME}/export.csv?unit=ha")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert f'filename="planisci-{NAME}-unit-ha.csv"' in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert len(rows) == 18
    stare = next(row for row in rows if row["name"] == "Stare Miasto")
    assert 400 < float(stare["area"]) < 700  # hectares (about 5.6 km²)
    gpkg = ready(client, f"/planners/{NAME}/export.gpkg")
    assert gpkg.status_code == 200 and gpkg.data[:15] == b"SQLite format 3"


def test_a_registered_analysis_checks_its_parameters(client, own):
    for query, field in (("min_area=abc", "min_area"), ("min_area=999", "min_area"),
                         ("unit=acre", "unit")):  # fmt: skip
        api = client.get(f"/planners/api/{NAME}.geojson?{query}")
        assert api.status_code == 400 and api.json["error"]["field"] == field, query
        dl = client.get(f"/planners/{NAME}/export.csv?{query}")
        assert dl.status_code == 400 and dl.json["error"]["field"] == field, query
        assert client.get(f"/planners/{NAME}?{query}").status_code == 400
    png = client.get(f"/planners/{NAME}/export.png")  # not among its formats
    assert png.status_code == 400 and png.json["error"]["field"] == "format"


def test_unregistered_it_is_gone(client):
    registry.register(TEST_ANALYSIS)
    registry.unregister(NAME)
    assert client.get(f"/planners/{NAME}").status_code == 404
    assert NAME not in json.dumps([a.name for a in registry.all()])
