"""/planners in Chromium: every analysis page answers 200, draws its map from our own API,
requests nothing from another host and has no axe A/AA violations — for the public and for a
planner; a slow analysis shows its progress and the result replaces it by itself."""

from __future__ import annotations

import math
import random

import pytest
from sqlalchemy import text

from tests.conftest import login_page, run_axe

pytestmark = pytest.mark.browser

ZABLOCIE = (19.9585, 50.0480)
PAGES = {
    "/planners": None,
    "/planners/demand": "demand",
    "/planners/hotspots": "hotspots",
    "/planners/history": "history",
    "/planners/revitalisation": None,  # no areas imported: an import hint, no map
    "/planners/coverage": "coverage",
    "/planners/duplicates": "duplicates",
}


@pytest.fixture(scope="module", autouse=True)
def job_dir(app, tmp_path_factory):
    app.config["PLANNERS_JOB_DIR"] = str(tmp_path_factory.mktemp("planner-jobs"))


@pytest.fixture(scope="module", autouse=True)
def planted(engine):
    """30 located proposals in Zabłocie, so the hot-spot map has something to show."""
    rng = random.Random(3)
    with engine.begin() as conn:
        for i in range(30):
            r, a = 120 * math.sqrt(rng.random()), rng.random() * 2 * math.pi
            lon = ZABLOCIE[0] + r * math.cos(a) / (111_320 * math.cos(math.radians(50.05)))
            lat = ZABLOCIE[1] + r * math.sin(a) / 110_574
            conn.execute(
                text(
                    """INSERT INTO budget_proposals (edition, title, scope, status, cost, geom)
                       VALUES (2026, :t, 'district', 'submitted', 50000,
                               ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"""
                ),
                {"t": f"Projekt testowy {i} <b>nie-HTML</b>", "lon": lon, "lat": lat},
            )


def open_page(page, url: str, layer: str | None) -> None:
    resp = page.goto(url)
    assert resp is not None and resp.status == 200, url
    if layer:
        # a background analysis reloads the page when done: the selector waits across it
        page.wait_for_selector(f"#map_main[data-loaded-{layer}]", state="attached", timeout=90000)


def check(page) -> None:
    assert page.watch.foreign() == []
    violations = run_axe(page)
    assert violations == [], violations
    assert page.watch.errors == []
    assert page.watch.dialogs == []


@pytest.mark.parametrize("audience", ["public", "planner"])
@pytest.mark.parametrize("path", list(PAGES))
def test_analysis_pages(page, live_server, make_user, path, audience):
    if audience == "planner":
        login_page(page, live_server, make_user("planner"))
    open_page(page, live_server + path, PAGES[path])
    assert page.locator("h1").count() == 1
    tuning = page.locator("input[name=size], input[name=distance], input[name=threshold]")
    if audience == "public":
        assert tuning.count() == 0  # tuning is for planners
    elif path in ("/planners/hotspots", "/planners/coverage", "/planners/duplicates"):
        assert tuning.count() >= 1
    if PAGES[path]:
        loaded = int(page.locator("#map_main").get_attribute(f"data-loaded-{PAGES[path]}"))
        legend = page.locator(".planner-legend li")
        assert legend.count() >= 1
        assert "(" in legend.first.inner_text()  # text with each colour, not colour alone
        if PAGES[path] in ("demand", "history"):
            assert loaded == 18
    if path == "/planners/revitalisation":
        assert "civicmap import vector" in page.content()
    check(page)


def test_hotspot_map_shows_the_cluster_as_text_too(page, live_server):
    open_page(page, live_server + "/planners/hotspots", "hotspots")
    rows = page.locator("#hotspot-table tbody tr")
    assert rows.count() >= 1
    assert "Podgórze" in page.locator("#hotspot-table").inner_text()
    assert "<b>" not in page.locator("#map_main").inner_html()
    # the scrollable table is reachable with the keyboard
    region = page.locator(".table-scroll").first
    region.focus()
    assert page.evaluate("document.activeElement.classList.contains('table-scroll')")


def test_planner_version_with_parameters(page, live_server, make_user):
    planner = make_user("planner")
    login_page(page, live_server, planner)
    open_page(page, live_server + "/planners/hotspots?size=700&alpha=0.05", "hotspots")
    assert page.locator("input[name=size]").input_value() == "700"
    assert page.locator("select[name=alpha]").input_value() == "0.05"
    assert "Widok planisty" in page.content()
    check(page)
    # the form: change a field with the keyboard and submit
    page.fill("input[name=size]", "800")
    page.press("input[name=size]", "Enter")
    page.wait_for_url("**/planners/hotspots?*size=800*")
    open_page(page, page.url, "hotspots")
    # a bad value is a 400 page naming the field, still accessible
    resp = page.goto(live_server + "/planners/duplicates?distance=abc")
    assert resp.status == 400
    assert page.locator("#e-distance").is_visible()
    assert page.locator("#f-distance").get_attribute("aria-invalid") == "true"
    check(page)


def test_background_analysis_shows_progress_then_the_result(page, live_server, app, make_user):
    planner = make_user("planner")
    login_page(page, live_server, planner)
    app.config["PLANNERS_INLINE_WAIT"] = 0
    # hold the job "running" for the page while its progress is checked (axe included)
    held = '{"state": "running", "progress": 0.4, "elapsed_s": 2, "expected_s": 5}'
    page.route(
        "**/planners/api/jobs/**",
        lambda route: route.fulfill(status=200, content_type="application/json", body=held),
    )
    try:
        resp = page.goto(live_server + "/planners/coverage?size=900")
        assert resp.status == 200
        assert page.locator("section.job[data-job-url]").count() == 1
        assert page.locator("section.job progress").count() == 1
        assert page.locator("[data-job-status]").get_attribute("role") == "status"
        page.wait_for_function("() => document.querySelector('section.job progress').value == 40")
        check(page)
        page.unroute("**/planners/api/jobs/**")  # the real state: done soon, the page reloads
        page.wait_for_selector("#coverage-districts", timeout=90000)
        page.wait_for_selector("#map_main[data-loaded-coverage]", state="attached", timeout=90000)
        check(page)
    finally:
        app.config.pop("PLANNERS_INLINE_WAIT", None)
