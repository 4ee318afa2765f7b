"""Issue 2 in Chromium: the city map shows the 18 districts, a click opens a district page,
nothing loads from another host, and axe finds no WCAG 2.1 A/AA violation."""

from __future__ import annotations

import pytest
from conftest import run_axe

pytestmark = pytest.mark.browser

# A point well inside Dębniki (district VIII), away from the map's controls.
DEBNIKI = (19.86, 50.03)


def test_home_map_renders_18_districts(page, live_server):
    page.goto(live_server + "/")
    page.wait_for_selector('#map_main[data-loaded-districts="18"]', state="attached")
    assert page.locator(".district-label span").count() == 18
    assert page.locator("ol.districts li").count() == 18
    assert page.watch.errors == []


def test_clicking_a_district_on_the_map_opens_its_page(page, live_server):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/")
    page.wait_for_selector('#map_main[data-loaded-districts="18"]', state="attached")
    assert (
        page.request.get(
            f"{live_server}/api/districts/locate?lon={DEBNIKI[0]}&lat={DEBNIKI[1]}"
        ).json()["number"]
        == 8
    )
    # Hide the feature layers (a cluster of venues there would take the click), as a user can.
    for box in page.locator(".civic-panel input[type=checkbox]").all():
        box.uncheck()
    pt = page.evaluate("([lon, lat]) => map_main.latLngToContainerPoint([lat, lon])", list(DEBNIKI))
    box = page.locator("#map_main").bounding_box()
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
    page.wait_for_url("**/districts/8")
    assert "Dębniki" in page.locator("h1").inner_text()
    page.wait_for_selector('#map_main[data-loaded-districts="18"]', state="attached")


def test_clicking_a_district_list_entry_opens_its_page(page, live_server):
    page.goto(live_server + "/")
    page.locator("ol.districts").get_by_role("link", name="Dzielnica XVIII Nowa Huta").click()
    page.wait_for_url("**/districts/18")
    assert page.locator("h1").inner_text() == "Dzielnica XVIII Nowa Huta"


@pytest.mark.parametrize("path", ["/", "/districts/1"])
def test_no_foreign_requests_and_no_axe_violations(page, live_server, path):
    page.goto(live_server + path)
    page.wait_for_selector('#map_main[data-loaded-districts="18"]', state="attached")
    page.wait_for_load_state("networkidle")
    assert page.watch.foreign() == []
    assert run_axe(page) == []
    assert page.watch.errors == []
