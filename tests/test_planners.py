"""/planners with the shipped real data: past editions per district, the turnout by voter
district checked against the source ballot files, demand, parameters, downloads.

Nothing is planted here: the template database holds the 18 districts with their registered
residents, the civic venues from OpenStreetMap and every Kraków Pabulib file (2018–2022,
2024). tests/test_planners_analyses.py plants points for the spatial analyses.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pyogrio
import pytest
from PIL import Image
from sqlalchemy import text

from geo.cities import KRAKOW
from geo.config import DATA_DIR
from geo.names import match_name
from importers.pabulib import pb_unit
from importers.pabulib_format import parse_pb

PABULIB = DATA_DIR / "pabulib" / "krakow"
EDITIONS = [2018, 2019, 2020, 2021, 2022, 2024]
VOTER_DISTRICT_COLUMNS = ("district", "neighborhood", "neighbourhood")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", autouse=True)
def job_dir(app, tmp_path_factory):
    """Background results of this module in a directory of its own."""
    path = tmp_path_factory.mktemp("planner-jobs")
    app.config["PLANNERS_JOB_DIR"] = str(path)
    return path


@pytest.fixture()
def planner(make_user):
    return make_user("planner")


# --- the source files -------------------------------------------------------------------------


@cache
def ballots_by_voter_district(edition: int) -> Counter | None:
    """City-wide ballots of an edition per voter district, straight from the .pb file."""
    pb = parse_pb(PABULIB / f"poland_krakow_{edition}_.pb")
    column = next((c for c in VOTER_DISTRICT_COLUMNS if c in pb.vote_columns), None)
    if column is None:
        return None
    names = {name: i + 1 for i, name in enumerate(KRAKOW.district_names)}
    counts: Counter = Counter()
    for ballot in pb.iter_votes():
        raw = ballot[column]
        counts[match_name(raw, names) if raw.strip() else None] += 1
    return counts


@cache
def district_files() -> dict[tuple[int, int], tuple[int, int | None]]:
    """(edition, district) -> (projects, projects selected or None) from the district files."""
    out = {}
    for path in sorted(PABULIB.glob("poland_krakow_*_*.pb")):
        if path.name.endswith("_.pb"):
            continue  # the city-wide pool
        pb = parse_pb(path)
        unit = pb_unit(pb, KRAKOW, path.name)
        selected = None
        if "selected" in pb.project_columns:
            selected = sum(1 for p in pb.projects if (p.get("selected") or "").strip() == "1")
        out[(unit.edition, unit.district)] = (len(pb.projects), selected)
    return out


def _digits(s: str) -> int:
    return int(re.sub(r"\D", "", s))


# --- past editions per district -------------------------------------------------------------------


def test_overview_shows_every_past_edition_per_district_as_in_the_files(client):
    r = client.get("/planners")
    assert r.status_code == 200
    cells = {
        (int(e), int(d)): (int(p), w)
        for e, d, p, w in re.findall(
            r'data-edition="(\d+)" data-district="(\d+)" data-proposals="(\d+)" '
            r'data-winners="([\d?]+)"',
            r.text,
        )
    }
    files = district_files()
    assert sorted({e for e, _ in files}) == EDITIONS
    assert {e for e, _ in cells} == set(EDITIONS)
    for (edition, district), (projects, selected) in files.items():
        shown, winners = cells[(edition, district)]
        assert shown == projects, (edition, district)
        # 2018's file does not record the result: the page says "?" instead of guessing 0
        assert winners == ("?" if selected is None else str(selected)), (edition, district)
    assert all(cells[(2018, d)][1] == "?" for d in range(1, 19))
    for e in EDITIONS:  # every district of every edition has a cell
        assert all((e, d) in cells for d in range(1, 19))


def test_history_page_lists_editions_and_demand_movement(client):
    r = client.get("/planners/history")
    assert r.status_code == 200
    for e in EDITIONS:
        assert re.search(rf'<th scope="col"[^>]*>{e}</th>', r.text), e
    assert 'id="movement-table"' in r.text and 'id="history-table"' in r.text


def test_history_lists_the_winners_of_an_edition_as_in_the_files(client):
    files = district_files()
    citywide = parse_pb(PABULIB / "poland_krakow_2022_.pb")
    expected = Counter({d: sel for (e, d), (_, sel) in files.items() if e == 2022 and sel})
    expected[0] = sum(1 for p in citywide.projects if (p.get("selected") or "").strip() == "1")
    r = client.get("/planners/history?edition=2022")
    assert r.status_code == 200
    shown = Counter(int(d) for d in re.findall(r'data-winner="\d+" data-district="(\d+)"', r.text))
    assert shown == expected
    old = client.get("/planners/history?edition=2018")
    assert "Plik tej edycji nie podaje, które projekty wybrano." in old.text


# --- THE KEY TEST: turnout by voter district equals the source ballots -------------------------------


def test_turnout_by_voter_district_equals_the_source_ballot_files(client):
    recorded = [e for e in EDITIONS if ballots_by_voter_district(e) is not None]
    assert recorded == EDITIONS  # every Kraków city-wide file names the voter's district
    api_editions = client.get("/planners/api/turnout.json").json["editions"]
    assert api_editions == recorded
    for edition in recorded:
        source = ballots_by_voter_district(edition)
        body = client.get(f"/planners/api/turnout.json?edition={edition}").json
        assert body["edition"] == edition
        assert body["total"] == sum(source.values())
        assert body["unknown"] == source.get(None, 0)
        api = {d["number"]: d["ballots"] for d in body["districts"]}
        assert api == {n: source.get(n, 0) for n in range(1, 19)}, edition
        for d in body["districts"]:
            assert d["per_1000"] == pytest.approx(d["ballots"] * 1000 / d["population"], abs=1e-3)
        # the page shows the same numbers
        page = client.get(f"/planners/history?edition={edition}")
        assert page.status_code == 200
        shown = {
            int(n): int(b)
            for n, b in re.findall(r'data-district="(\d+)" data-ballots="(\d+)"', page.text)
        }
        assert shown == api, edition
        # and the map's GeoJSON
        fc = client.get(f"/planners/api/history.geojson?edition={edition}").json
        assert {f["id"]: f["properties"]["ballots"] for f in fc["features"]} == api


# --- demand per district ----------------------------------------------------------------------------


def test_demand_numbers_equal_direct_sql(client, engine):
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT d.number, d.population, count(p.id), coalesce(sum(p.cost), 0), b.budget
                   FROM districts d
                   LEFT JOIN budget_proposals p ON d.number = ANY(p.districts)
                        AND p.edition = 2022 AND p.hidden_at IS NULL AND p.status <> 'draft'
                   LEFT JOIN budget_pools b ON b.edition = 2022 AND b.scope = 'district'
                        AND b.district = d.number
                   GROUP BY d.number, d.population, b.budget ORDER BY d.number"""
            )
        ).all()
    fc = client.get("/planners/api/demand.geojson?edition=2022&metric=asked_to_pool").json
    by = {f["id"]: f["properties"] for f in fc["features"]}
    assert len(by) == 18
    for number, population, n, money, pool in rows:
        p = by[number]
        assert p["proposals"] == n
        assert p["money"] == pytest.approx(float(money))
        assert p["pool"] == pytest.approx(float(pool))
        assert p["asked_to_pool"] == pytest.approx(float(money) / float(pool))
        assert p["proposals_per_1000"] == pytest.approx(n * 1000 / population)
        assert p["value"] == p["asked_to_pool"]
        assert p["cls"] in {"0", "1", "2", "3", "4", "none"}
        assert p["label"] and str(number) in p["label"]
    page = client.get("/planners/demand?edition=2022")
    assert page.status_code == 200
    assert "zameldowani na pobyt stały, stan na 31.12.2025" in page.text
    assert 'id="demand-table"' in page.text and "Stare Miasto" in page.text


def test_demand_of_all_editions_has_no_pools(client):
    r = client.get("/planners/demand?edition=")
    assert r.status_code == 200
    assert "Pule dzielnic są znane tylko dla wybranej edycji." in r.text
    fc = client.get("/planners/api/demand.geojson?edition=").json
    assert all(f["properties"]["pool"] is None for f in fc["features"])
    assert sum(f["properties"]["proposals"] for f in fc["features"]) > 2500


# --- parameters: 400 naming the field, 403 for tuning by the public ---------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/planners/demand?edition=1999", "edition"),
        ("/planners/demand?edition=abc", "edition"),
        ("/planners/demand?metric=votes", "metric"),
        ("/planners/history?edition=2023", "edition"),
        ("/planners/hotspots?layers=ngos", "layers"),
        ("/planners/hotspots?size=20", "size"),
        ("/planners/hotspots?alpha=0.5", "alpha"),
        ("/planners/hotspots?inference=magic", "inference"),
        ("/planners/coverage?target=venues:castle", "target"),
        ("/planners/coverage?threshold=-5", "threshold"),
        ("/planners/duplicates?distance=abc", "distance"),
        ("/planners/duplicates?distance=NaN", "distance"),
        ("/planners/duplicates?threshold=2", "threshold"),
        ("/planners/duplicates?limit=0", "limit"),
        ("/planners/duplicates?same_edition=maybe", "same_edition"),
        ("/planners/revitalisation?distance=99999", "distance"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(planner, path, field):
    page = planner.get(path)
    assert page.status_code == 400, path
    assert f'id="e-{field}"' in page.text and f"({field})" in page.text
    assert 'aria-invalid="true"' in page.text
    view = path.split("/")[2].split("?")[0]
    query = path.split("?", 1)[1]
    api = planner.get(f"/planners/api/{view}.geojson?{query}")
    assert api.status_code == 400
    assert api.json["error"]["field"] == field
    assert api.json["error"]["code"] == "invalid_parameter"
    dl = planner.get(f"/planners/{view}/export.csv?{query}")
    assert dl.status_code == 400 and dl.json["error"]["field"] == field


def test_unknown_format_and_view(client):
    r = client.get("/planners/demand/export.xls")
    assert r.status_code == 400 and r.json["error"]["field"] == "format"
    assert client.get("/planners/nothing/export.csv").status_code == 404
    assert client.get("/planners/api/nothing.geojson").status_code == 404
    assert client.get("/planners/api/jobs/not-a-key!").status_code in (400, 404)
    assert client.get("/planners/api/jobs/abc123").status_code == 404


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/planners/hotspots?size=700", "size"),
        ("/planners/hotspots?correction=none", "correction"),
        ("/planners/coverage?threshold=400", "threshold"),
        ("/planners/duplicates?distance=500", "distance"),
        ("/planners/revitalisation?distance=100", "distance"),
    ],
)
def test_tuning_is_for_planners_only(client, make_user, path, field):
    r = client.get(path)
    assert r.status_code == 403
    assert f"({field})" in r.text
    view = path.split("/")[2].split("?")[0]
    api = client.get(f"/planners/api/{view}.geojson?{path.split('?', 1)[1]}")
    assert api.status_code == 403
    assert api.json["error"] == {
        "code": "planner_only",
        "field": field,
        "message": api.json["error"]["message"],
    }
    resident = make_user("resident")
    assert resident.get(path).status_code == 403
    admin = make_user("admin")
    assert admin.get(path).status_code == 200


def test_public_sees_selectors_planner_sees_tuning_fields(client, planner):
    public = client.get("/planners/hotspots")
    assert public.status_code == 200
    assert 'name="layers"' in public.text and 'name="size"' not in public.text
    assert "Widok publiczny" in public.text
    # the default value itself is not "tuning": links with it keep working for everyone
    assert client.get("/planners/hotspots?size=500&alpha=0.1").status_code == 200
    mine = planner.get("/planners/hotspots")
    assert mine.status_code == 200
    for name in ("size", "alpha", "correction", "inference"):
        assert f'name="{name}"' in mine.text
    assert "Widok planisty" in mine.text


# --- downloads ----------------------------------------------------------------------------------------


def _save(resp, tmp_path: Path, name: str) -> Path:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    path = tmp_path / name
    path.write_bytes(resp.data)
    return path


def _png_ok(resp) -> None:
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert resp.data.startswith(PNG_MAGIC)
    img = Image.open(io.BytesIO(resp.data))
    img.verify()
    assert img.size[0] > 300 and img.size[1] > 200


def test_demand_csv_and_gpkg_round_trip(client, tmp_path):
    fc = client.get("/planners/api/demand.geojson?edition=2024").json
    expected = {f["id"]: f["properties"]["proposals"] for f in fc["features"]}
    csv = _save(client.get("/planners/demand/export.csv?edition=2024"), tmp_path, "d.csv")
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")
    df = pyogrio.read_dataframe(csv, read_geometry=False)
    assert {int(n): int(p) for n, p in zip(df["number"], df["proposals"], strict=True)} == expected
    assert "author_id" not in df.columns
    gpkg = _save(client.get("/planners/demand/export.gpkg?edition=2024"), tmp_path, "d.gpkg")
    gdf = pyogrio.read_dataframe(gpkg)
    assert len(gdf) == 18 and gdf.crs.to_epsg() == 4326
    assert {
        int(n): int(p) for n, p in zip(gdf["number"], gdf["proposals"], strict=True)
    } == expected
    assert set(gdf.geometry.geom_type) <= {"Polygon", "MultiPolygon"}
    assert (gdf["edition"] == 2024).all()
    md = pyogrio.read_info(gpkg)["dataset_metadata"]
    assert md["licence"] == "CC BY 4.0"


def test_history_csv_round_trip_has_turnout(client, tmp_path):
    csv = _save(client.get("/planners/history/export.csv"), tmp_path, "h.csv")
    df = pyogrio.read_dataframe(csv, read_geometry=False)
    assert sorted({int(e) for e in df["edition"]}) == EDITIONS
    source = ballots_by_voter_district(2021)
    rows = df[(df["edition"].astype(int) == 2021) & (df["number"].astype(int) > 0)]
    assert {int(n): int(b) for n, b in zip(rows["number"], rows["ballots"], strict=True)} == {
        n: source.get(n, 0) for n in range(1, 19)
    }
    files = district_files()
    for _, r in rows.iterrows():
        assert int(r["proposals"]) == files[(2021, int(r["number"]))][0]


@pytest.mark.parametrize(
    "path",
    [
        "/planners/demand/export.png?edition=2024&metric=asked_to_pool",
        "/planners/history/export.png",
        "/planners/turnout/export.png?edition=2019",
        "/planners/hotspots/export.png",
        "/planners/coverage/export.png",
        "/planners/duplicates/export.png",
        "/planners/revitalisation/export.png",
    ],
)
def test_charts_are_real_pngs(client, path):
    _png_ok(client.get(path))


def test_coverage_of_civic_venues_round_trips(client, tmp_path):
    r = client.get("/planners/coverage?target=venues:library")
    assert r.status_code == 200
    gpkg = _save(
        client.get("/planners/coverage/export.gpkg?target=venues:library"), tmp_path, "c.gpkg"
    )
    gdf = pyogrio.read_dataframe(gpkg)
    assert len(gdf) > 400  # ~575 cells of 500 m
    assert gdf["underserved"].any() and not gdf["underserved"].all()
    assert (gdf.loc[gdf["underserved"], "distance_m"] > 1000).all()
    assert pyogrio.read_info(gpkg)["dataset_metadata"]["licence"] == "ODbL 1.0"
    assert gdf["nearest_name"].str.contains("Biblioteka", na=False).any()


# --- empty layers say so ------------------------------------------------------------------------------


def test_revitalisation_is_empty_until_areas_are_imported(client, tmp_path):
    r = client.get("/planners/revitalisation")
    assert r.status_code == 200
    assert "Brak obszarów rewitalizacji" in r.text
    assert "civicmap import vector" in r.text and "--layer revitalisation-areas" in r.text
    csv = _save(client.get("/planners/revitalisation/export.csv"), tmp_path, "r.csv")
    assert len(pyogrio.read_dataframe(csv, read_geometry=False)) == 0


def test_hotspots_say_past_proposals_have_no_geometry(client):
    r = client.get("/planners/hotspots")
    assert r.status_code == 200
    assert "nie zawierają współrzędnych" in r.text
    assert "3405" in r.text.replace("\u00a0", "")  # the unlocated past proposals, counted
