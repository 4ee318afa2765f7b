"""/planners with planted data: a cluster of proposals in Zabłocie (Podgórze), comments
spread evenly over the city, two near-duplicate proposals, NGOs and a revitalisation area.

Checks each view's numbers against the planted data, the background-job path with its
progress, and that no author's name or e-mail appears anywhere, for the public or a planner.
"""

from __future__ import annotations

import math
import random
import re
import time
from pathlib import Path

import pyogrio
import pytest
import shapely
from sqlalchemy import text

ZABLOCIE = (19.9585, 50.0480)  # Podgórze (XIII), lon/lat
DLUGA = (19.9355, 50.0700)  # Stare Miasto (I)
AUTHOR_NAME = "Zofia Tajemnicza-Planistyczna"
AUTHOR_EMAIL = "zofia.tajemnicza@example.org"
CLUSTER = 50
SPREAD = 150
WORDS = (
    "zieleń ławka fontanna rower drzewo łąka kwiaty plac zabawa boisko skwer alejka "
    "oświetlenie schody poidełko toaleta biblioteka seniorzy dzieci pies wybieg ogród "
    "warzywnik budka ptaki motyle ul pszczoły mural rzeźba scena koncert kino taras "
    "przystanek wiata stojak chodnik krawężnik przejście azyl próg zieleniec klomb żywopłot "
    "pergola altana hamak grill kosz recykling kompost deszczówka staw"
).split()


def _offset(lon: float, lat: float, dx_m: float, dy_m: float) -> tuple[float, float]:
    return (
        lon + dx_m / (111_320.0 * math.cos(math.radians(lat))),
        lat + dy_m / 110_574.0,
    )


@pytest.fixture(scope="module", autouse=True)
def job_dir(app, tmp_path_factory):
    path = tmp_path_factory.mktemp("planner-jobs")
    app.config["PLANNERS_JOB_DIR"] = str(path)
    return path


@pytest.fixture(scope="module")
def data(engine):
    rng = random.Random(5)
    ids: dict[str, object] = {}
    with engine.begin() as conn:
        author = conn.execute(
            text(
                "INSERT INTO users (email, name, password_hash, roles, confirmed_at) VALUES "
                "(:e, :n, 'x', '{resident}', now()) RETURNING id"
            ),
            {"e": AUTHOR_EMAIL, "n": AUTHOR_NAME},
        ).scalar_one()
        ids["author"] = author
        supporters = [
            conn.execute(
                text(
                    "INSERT INTO users (email, name, password_hash, roles, confirmed_at) VALUES "
                    "(:e, :n, 'x', '{resident}', now()) RETURNING id"
                ),
                {"e": f"popiera{i}@example.org", "n": f"Popierający {i}"},
            ).scalar_one()
            for i in range(3)
        ]
        cluster = []
        for i in range(CLUSTER):
            r, a = 150 * math.sqrt(rng.random()), rng.random() * 2 * math.pi
            lon, lat = _offset(*ZABLOCIE, r * math.cos(a), r * math.sin(a))
            title = " ".join(rng.sample(WORDS, 3)).capitalize() + f" (Zabłocie {i})"
            cluster.append(
                conn.execute(
                    text(
                        """INSERT INTO budget_proposals (edition, title, scope, status, cost,
                               author_id, geom)
                           VALUES (2026, :t, 'district', 'submitted', :c, :a,
                                   ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
                           RETURNING id"""
                    ),
                    {"t": title, "c": 100_000 + 1000 * i, "a": author, "lon": lon, "lat": lat},
                ).scalar_one()
            )
        ids["cluster"] = cluster
        for s in supporters:
            conn.execute(
                text("INSERT INTO proposal_supports (proposal_id, user_id) VALUES (:p, :u)"),
                {"p": cluster[0], "u": s},
            )
        # two near-duplicates 40 m apart in Stare Miasto, and the same title 1.5 km away
        dups = []
        for title, (dx, dy) in (
            ("Remont chodnika na ulicy Długiej", (0, 0)),
            ("Remont chodników na ulicy Długiej", (40, 0)),
            ("Remont chodnika na ulicy Długiej", (0, -1500)),
        ):
            lon, lat = _offset(*DLUGA, dx, dy)
            dups.append(
                conn.execute(
                    text(
                        """INSERT INTO budget_proposals (edition, title, scope, status, cost,
                               author_id, geom)
                           VALUES (2025, :t, 'district', 'under_review', 80000, :a,
                                   ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
                           RETURNING id"""
                    ),
                    {"t": title, "a": author, "lon": lon, "lat": lat},
                ).scalar_one()
            )
        ids["dups"] = dups
        cons = conn.execute(
            text(
                "INSERT INTO consultations (title, opens_on, closes_on, stage, geom) "
                "SELECT 'Konsultacja testowa planistów', current_date - 5, current_date + 30, "
                "'open', geom FROM city RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                """INSERT INTO consultation_comments (consultation_id, body, status, author_id,
                       geom)
                   SELECT :k, 'Uwaga nr ' || d.path[1], 'published', :a, d.geom
                   FROM city, ST_Dump(ST_GeneratePoints(city.geom, :m, 17)) d"""
            ),
            {"k": cons, "a": author, "m": SPREAD},
        )
        conn.execute(
            text(
                """INSERT INTO ngo_locations (name, fields, geom) VALUES
                   ('Stowarzyszenie Seniorzy Rynku', '{seniors}',
                    ST_SetSRID(ST_MakePoint(19.9373, 50.0617), 4326)),
                   ('Fundacja Kultury Podgórza', '{culture,local_community}',
                    ST_SetSRID(ST_MakePoint(19.9585, 50.0480), 4326))"""
            )
        )
        ids["area"] = conn.execute(
            text(
                """INSERT INTO revitalisation_areas (name, code, geom)
                   SELECT 'Obszar testowy Zabłocie', 'T-1',
                          ST_Multi(ST_Transform(ST_Buffer(ST_Transform(
                              ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 2180), 400), 4326))
                   RETURNING id"""
            ),
            {"lon": ZABLOCIE[0], "lat": ZABLOCIE[1]},
        ).scalar_one()
    return ids


@pytest.fixture()
def planner(make_user):
    return make_user("planner")


def ready(who, url: str, timeout: float = 120):
    """GET ``url``, waiting for a background analysis (202 / a page with progress) to end."""
    deadline = time.monotonic() + timeout
    while True:
        r = who.get(url)
        if r.status_code == 202:
            status_url = r.json["status_url"]
        elif r.mimetype == "text/html" and "data-job-url=" in r.get_data(as_text=True):
            status_url = re.search(r'data-job-url="([^"]+)"', r.get_data(as_text=True)).group(1)
        else:
            return r
        assert time.monotonic() < deadline, url
        while who.get(status_url).json.get("state") in ("queued", "running"):
            assert time.monotonic() < deadline, url
            time.sleep(0.1)


# --- hot spots ---------------------------------------------------------------------------------------


def test_planted_cluster_is_a_99_percent_hot_spot_in_podgorze(client, data):
    fc = ready(client, "/planners/api/hotspots.geojson").json
    point = shapely.Point(*ZABLOCIE)
    home = [f for f in fc["features"] if shapely.geometry.shape(f["geometry"]).covers(point)]
    assert len(home) == 1
    assert home[0]["properties"]["cls"] == "hot_99"
    assert home[0]["properties"]["count"] >= 20
    hot = [f for f in fc["features"] if f["properties"]["cls"].startswith("hot")]
    # every hot cell is the cluster's cell or a neighbour of it (within ~2 rings of 500 m)
    for f in hot:
        c = shapely.geometry.shape(f["geometry"]).centroid
        assert c.distance(point) < 0.03, f["properties"]
    page = ready(client, "/planners/hotspots")
    assert page.status_code == 200
    assert "Podgórze" in page.text and 'id="hotspot-table"' in page.text
    counted = int(re.search(r"data-points>(\d+)<", page.text).group(1))
    assert counted == CLUSTER + len(data["dups"]) + SPREAD


def test_hotspot_layers_and_edition_filter(client, data):
    only_comments = ready(client, "/planners/api/hotspots.geojson?layers=comments").json
    total = sum(f["properties"]["count"] for f in only_comments["features"])
    assert total == SPREAD
    e2025 = ready(client, "/planners/api/hotspots.geojson?layers=proposals&edition=2025").json
    assert sum(f["properties"]["count"] for f in e2025["features"]) == len(data["dups"])


def test_slow_analysis_runs_in_the_background_with_progress(app, planner, data):
    app.config["PLANNERS_INLINE_WAIT"] = 0
    try:
        query = "size=650&correction=bonferroni"
        first = planner.get(f"/planners/api/hotspots.geojson?{query}")
        assert first.status_code == 202
        job = first.json["job"]
        assert job["state"] in ("queued", "running")
        assert 0 <= job["progress"] <= 1
        status_url = first.json["status_url"]
        page = planner.get(f"/planners/hotspots?{query}")
        assert page.status_code == 200
        assert f'data-job-url="{status_url}"' in page.text or "hotspot-table" in page.text
        deadline = time.monotonic() + 120
        while True:
            st = planner.get(status_url)
            assert st.status_code == 200
            if st.json["state"] == "done":
                assert st.json["progress"] == 1
                break
            assert st.json["state"] in ("queued", "running"), st.json
            assert time.monotonic() < deadline
            time.sleep(0.2)
        done = planner.get(f"/planners/api/hotspots.geojson?{query}")
        assert done.status_code == 200 and done.json["features"]
        page = planner.get(f"/planners/hotspots?{query}")
        assert 'id="hotspot-table"' in page.text and "data-job-url" not in page.text
    finally:
        app.config.pop("PLANNERS_INLINE_WAIT", None)


def test_hotspot_downloads_round_trip(client, data, tmp_path):
    fc = ready(client, "/planners/api/hotspots.geojson").json
    r = ready(client, "/planners/hotspots/export.gpkg")
    assert r.status_code == 200
    path = tmp_path / "h.gpkg"
    path.write_bytes(r.data)
    gdf = pyogrio.read_dataframe(path)
    assert len(gdf) == len(fc["features"])
    assert int(gdf["count"].sum()) == CLUSTER + len(data["dups"]) + SPREAD
    assert (gdf["key"] == "hot_99").any()
    assert set(gdf.geometry.geom_type) <= {"Polygon", "MultiPolygon"}


# --- duplicates ----------------------------------------------------------------------------------------


def test_near_duplicates_are_merge_candidates(client, planner, data, tmp_path):
    a, b, far = data["dups"]
    r = ready(client, "/planners/duplicates?edition=2025")
    assert r.status_code == 200
    assert f"/layers/budget-proposals/{a}" in r.text and f"/layers/budget-proposals/{b}" in r.text
    assert f"/layers/budget-proposals/{far}" not in r.text  # same title, but 1.5 km away
    fc = ready(client, "/planners/api/duplicates.geojson?edition=2025").json
    assert len(fc["features"]) == 1
    p = fc["features"][0]["properties"]
    assert (p["a_id"], p["b_id"]) == (a, b)
    assert 30 < p["distance_m"] < 50 and 0.5 <= p["similarity"] < 1
    assert fc["features"][0]["geometry"]["type"] == "LineString"
    # a planner widens the distance: the far copy becomes a candidate too
    wide = ready(planner, "/planners/api/duplicates.geojson?edition=2025&distance=2000").json
    assert len(wide["features"]) == 3
    strict = ready(planner, "/planners/api/duplicates.geojson?edition=2025&threshold=1").json
    assert strict["features"] == []
    csv = ready(client, "/planners/duplicates/export.csv?edition=2025")
    path = tmp_path / "d.csv"
    path.write_bytes(csv.data)
    df = pyogrio.read_dataframe(path, read_geometry=False)
    assert len(df) == 1 and int(df["a_id"][0]) == a
    assert df["a_title"][0] == "Remont chodnika na ulicy Długiej"


# --- coverage ------------------------------------------------------------------------------------------


def test_ngo_coverage_by_field_of_activity(client, data):
    r = ready(client, "/planners/coverage")
    assert r.status_code == 200  # with NGOs imported, NGOs are the default target
    assert "organizacje pozarządowe: wszystkie" in r.text
    fc = ready(client, "/planners/api/coverage.geojson?target=ngos:seniors").json
    rynek = shapely.Point(19.9373, 50.0617)
    cell = next(f for f in fc["features"] if shapely.geometry.shape(f["geometry"]).covers(rynek))
    assert cell["properties"]["distance_m"] < 400 and not cell["properties"]["underserved"]
    far = [f for f in fc["features"] if f["properties"]["distance_m"] > 1000]
    assert far and all(f["properties"]["underserved"] for f in far)
    assert "Stowarzyszenie Seniorzy Rynku" in cell["properties"]["label"]
    page = ready(client, "/planners/coverage?target=ngos:seniors")
    assert 'id="coverage-districts"' in page.text
    none = ready(client, "/planners/api/coverage.geojson?target=ngos:foreigners").json
    assert all(f["properties"]["underserved"] for f in none["features"])


# --- revitalisation -----------------------------------------------------------------------------------


def test_revitalisation_overlap_counts_the_cluster_and_its_money(client, engine, data, tmp_path):
    with engine.connect() as conn:
        inside = conn.execute(
            text(
                """SELECT count(*), sum(p.cost) FROM budget_proposals p, revitalisation_areas a
                   WHERE a.id = :a AND ST_Intersects(a.geom, p.geom) AND p.status <> 'draft'"""
            ),
            {"a": data["area"]},
        ).one()
        comments = conn.execute(
            text(
                """SELECT count(*) FROM consultation_comments c, revitalisation_areas a
                   WHERE a.id = :a AND ST_Intersects(a.geom, c.geom)"""
            ),
            {"a": data["area"]},
        ).scalar_one()
    assert inside[0] == CLUSTER
    r = ready(client, "/planners/revitalisation")
    assert r.status_code == 200
    assert "Obszar testowy Zabłocie" in r.text and 'id="areas-table"' in r.text
    gpkg = ready(client, "/planners/revitalisation/export.gpkg")
    path = tmp_path / "r.gpkg"
    path.write_bytes(gpkg.data)
    gdf = pyogrio.read_dataframe(path)
    area = gdf[gdf["kind"] == "obszar"].iloc[0]
    assert int(area["proposals_inside"]) == CLUSTER
    assert float(area["money_inside"]) == pytest.approx(float(inside[1]))
    assert int(area["comments_inside"]) == comments
    assert (gdf["kind"] == "projekt").sum() == CLUSTER + int(area["proposals_near"])
    fc = ready(client, "/planners/api/revitalisation.geojson").json
    kinds = {f["properties"]["cls"] for f in fc["features"]}
    assert {"area", "proposal_in"} <= kinds


# --- demand with supports and comments -------------------------------------------------------------------


def test_demand_counts_supports_and_comments(client, engine, data):
    fc = client.get("/planners/api/demand.geojson?edition=2026&metric=supports").json
    by = {f["id"]: f["properties"] for f in fc["features"]}
    assert by[13]["proposals"] == CLUSTER
    assert by[13]["supports"] == 3
    assert sum(p["supports"] for p in by.values()) == 3
    with engine.connect() as conn:
        per = dict(
            conn.execute(
                text(
                    "SELECT d, count(*) FROM consultation_comments, unnest(districts) d GROUP BY d"
                )
            ).all()
        )
    assert {n: p["comments"] for n, p in by.items()} == {n: per.get(n, 0) for n in range(1, 19)}
    assert by[13]["pool"] is None  # no pool for an edition without Pabulib META


# --- no personal data ----------------------------------------------------------------------------------


PATHS = [
    "/planners",
    "/planners/demand?edition=2026",
    "/planners/hotspots",
    "/planners/history",
    "/planners/revitalisation",
    "/planners/coverage",
    "/planners/duplicates",
    "/planners/duplicates?edition=2025",
    "/planners/api/demand.geojson?edition=2026",
    "/planners/api/hotspots.geojson",
    "/planners/api/revitalisation.geojson",
    "/planners/api/duplicates.geojson?edition=2025",
    "/planners/api/coverage.geojson",
    "/planners/demand/export.csv?edition=2026",
    "/planners/hotspots/export.csv",
    "/planners/revitalisation/export.csv",
    "/planners/duplicates/export.csv?edition=2025",
]


def test_no_author_data_for_anyone(client, planner, data):
    for who in (client, planner):
        for path in PATHS:
            r = ready(who, path)
            assert r.status_code == 200, (path, r.status_code)
            body = r.get_data(as_text=True)
            assert AUTHOR_EMAIL not in body, path
            assert AUTHOR_NAME not in body, path
            assert "author_id" not in body, path


def test_job_files_hold_no_personal_data(app, data):
    folder = Path(app.config["PLANNERS_JOB_DIR"])
    files = list(folder.glob("*.json"))
    assert files
    for f in files:
        assert AUTHOR_EMAIL not in f.read_text(encoding="utf-8")
