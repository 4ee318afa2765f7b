"""District councils in Chromium: /councils/8 and the report have no axe A/AA violations and
make no request to another host; a member records an opinion with the keyboard and sees it on
the proposal's page; the report prints without the site's chrome."""

from __future__ import annotations

import re

import pytest
from test_councils import data  # noqa: F401  (the module's test data fixture)

from tests.conftest import login_page, run_axe

pytestmark = pytest.mark.browser


def wait_map(page) -> None:
    page.wait_for_selector("#map_main[data-loaded-districts]", state="attached", timeout=20000)
    page.wait_for_selector(
        "#map_main[data-loaded-budget-proposals]", state="attached", timeout=20000
    )


def test_queue_page_axe_and_no_foreign_requests(page, live_server, data):  # noqa: F811
    page.goto(live_server + "/councils/8")
    wait_map(page)
    assert page.locator("h1").inner_text().startswith("Rada Dzielnicy VIII")
    assert page.locator("ol.queue > li").count() > 0
    assert run_axe(page) == []
    # the map asked for district VIII's tiles only
    feature_calls = [u for u in page.watch.requests if "/tiles/budget-proposals/" in u]
    assert feature_calls and all("district=8" in u for u in feature_calls)
    assert page.watch.foreign() == []
    assert page.watch.errors == []


def test_report_axe_no_foreign_requests_and_print(page, live_server, data):  # noqa: F811
    page.goto(live_server + "/councils/8/report?edition=2025")
    assert page.locator("svg.district-svg").is_visible()
    assert page.locator("svg.district-svg g.proposal").count() >= 3
    assert run_axe(page) == []
    assert page.watch.foreign() == [] and page.watch.errors == []
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible()
    assert not page.locator(".report-actions").is_visible()
    assert page.locator("table[data-table='own']").is_visible()


def test_member_records_an_opinion_with_the_keyboard(page, live_server, make_user, data):  # noqa: F811
    member = make_user(role="council", council_district=8)
    login_page(page, live_server, member)
    page.goto(live_server + "/councils/8?edition=2025")
    wait_map(page)
    assert run_axe(page) == []
    page.get_by_role("link", name=re.compile(r"^wydaj opinię\W+Boisko przy szkole$")).click()
    page.wait_for_url(f"**/councils/8/proposals/{data['boisko']}/opinion")
    assert run_axe(page) == []
    page.get_by_label("z uwagami").check()
    page.get_by_label("Uzasadnienie").fill("Rada prosi o <b>ogrodzenie</b> boiska.")
    page.get_by_label("Data uchwały lub posiedzenia").fill("2025-04-02")
    page.get_by_label("Numer uchwały (nieobowiązkowo)").fill("Uchwała nr XIV/140/25")
    page.get_by_label("Numer uchwały (nieobowiązkowo)").press("Enter")
    page.wait_for_url(f"**/proposals/{data['boisko']}")
    section = page.locator("section.council-opinions")
    assert "Uchwała nr XIV/140/25" in section.inner_text()
    assert "<b>ogrodzenie</b>" in section.inner_text()  # typed text stays text
    assert page.locator("section.council-opinions b").count() == 0
    page.locator("#all-data summary").click()  # the layer's facts, folded on the page
    assert page.locator("dd.prop-council_opinion").inner_text() == "z uwagami"
    assert run_axe(page) == []
    # … and in the layer's feature (what the map popups and MSIP read)
    feat = page.request.get(
        f"{live_server}/api/layers/budget-proposals/features/{data['boisko']}"
    ).json()
    assert feat["properties"]["council_opinion"] == "remarks"  # the code; "z uwagami" above
    page.goto(live_server + "/councils/8/priorities?edition=2025")
    assert run_axe(page) == []
    assert page.watch.foreign() == [] and page.watch.errors == []
