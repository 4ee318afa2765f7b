"""An analysis below its minimum sample says so instead of claiming confidence: 4 points in
the whole city give no "99 % hot spot"; enough clustered points do."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from sqlalchemy import text

from civic.planning.hotspots import MIN_POINTS


@pytest.fixture(scope="module", autouse=True)
def job_dir(app, tmp_path_factory):
    app.config["PLANNERS_JOB_DIR"] = str(tmp_path_factory.mktemp("planner-jobs"))
    app.config["PLANNERS_INLINE_WAIT"] = 60


def _add_points(engine, points, tag):
    with engine.begin() as conn:
        for i, (lon, lat) in enumerate(points):
            conn.execute(
                text(
                    "INSERT INTO budget_proposals (external_id, title, edition, scope, status, "
                    "cost, geom) VALUES (:e, :t, 2025, 'district', 'submitted', 1000, "
                    "ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                ),
                {"e": f"{tag}:{i}", "t": f"Pomysł {tag} {i}", "x": lon, "y": lat},
            )


def _api(client):
    r = client.get("/planners/api/hotspots?layers=proposals&edition=2025")
    assert r.status_code == 200, r.text[:300]
    return r.json


def test_four_points_are_refused_with_the_reason(client, engine):
    _add_points(engine, [(19.94, 50.06), (19.941, 50.061), (19.942, 50.06), (19.94, 50.062)], "few")
    body = _api(client)
    s = body["result"]["summary"]
    assert s["n_points"] == 4 and s["insufficient"] is True and s["min_points"] == MIN_POINTS
    assert not any(k.startswith(("hot", "cold")) for k in s["counts"]), s["counts"]
    assert s["n_tested"] == 0
    page = client.get("/planners/hotspots?layers=proposals&edition=2025")
    assert page.status_code == 200
    assert 'data-refused="min_points"' in page.text
    assert f"co najmniej {MIN_POINTS}" in page.text
    en = client.get("/planners/hotspots?layers=proposals&edition=2025&lang=en").text
    assert "Too few points to find hot and cold spots" in en


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_the_refusal_and_its_reason_in_the_browser(page, live_server, width, height, tmp_path):
    """(Still the 4 points of the test above.) The planner sees the refusal, not a map of
    hot spots, at phone and desktop size; axe finds nothing; screenshots are kept."""
    from conftest import run_axe

    page.set_viewport_size({"width": width, "height": height})
    page.goto(live_server + "/planners/hotspots?layers=proposals&edition=2025")
    refusal = page.locator('[data-refused="min_points"]')
    refusal.wait_for()
    assert refusal.is_visible()
    assert f"co najmniej {MIN_POINTS}" in refusal.inner_text()
    assert run_axe(page) == []
    shots = Path(os.environ.get("CIVICMAP_SHOTS", tmp_path)) / "min-sample"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"hotspots-refused-{width}.png"), full_page=True)
    print("screenshot:", shots / f"hotspots-refused-{width}.png")


def test_enough_clustered_points_are_tested(client, engine):
    rng = random.Random(7)
    cluster = [(19.937 + rng.uniform(0, 0.004), 50.061 + rng.uniform(0, 0.003)) for _ in range(60)]
    with engine.connect() as conn:  # 40 more anywhere in the city
        spread = conn.execute(
            text(
                "SELECT ST_X(g), ST_Y(g) FROM (SELECT (ST_Dump(ST_GeneratePoints("
                "ST_Buffer(geom::geography, -200)::geometry, 40, 7))).geom g FROM city) x"
            )
        ).all()
    _add_points(engine, cluster + spread, "many")
    s = _api(client)["result"]["summary"]
    assert s["n_points"] >= MIN_POINTS and s["insufficient"] is False
    assert s["n_tested"] > 0
    assert any(k.startswith("hot") for k in s["counts"]), s["counts"]
