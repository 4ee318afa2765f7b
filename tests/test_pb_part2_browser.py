"""Issue 10, part 2, in real Chromium: the winners map on the results page loads the edition's
results from the pb-results layer (funded / not funded), and the execution map its projects."""

from __future__ import annotations

import pytest
from conftest import run_axe

pytestmark = pytest.mark.browser


def test_winners_map_on_the_results_page(page, live_server):
    page.goto(f"{live_server}/budget/2024/results")
    page.wait_for_selector("#map_main[data-loaded-pb-results]", state="attached", timeout=60000)
    n = int(page.get_attribute("#map_main", "data-loaded-pb-results"))
    assert n > 100  # every district project of 2024, drawn inside its district
    legend = page.locator('[data-panel-legend="pb-results"]').inner_text()
    assert "sfinansowany" in legend and "niesfinansowany" in legend
    bad = [v for v in run_axe(page) if v["impact"] in ("serious", "critical")]
    assert bad == [], bad
    assert page.watch.foreign() == [] and page.watch.errors == []
    for w, h, name in ((390, 844, "mobile"), (1280, 800, "desktop")):
        page.set_viewport_size({"width": w, "height": h})
        page.locator("#winners").scroll_into_view_if_needed()
        page.screenshot(path=f"/tmp/pb10/results-{name}.png")


def test_execution_map(page, live_server):
    page.goto(f"{live_server}/budget/execution?all=1&edition=2024")
    page.wait_for_selector("#map_main[data-loaded-pb-execution]", state="attached", timeout=60000)
    assert int(page.get_attribute("#map_main", "data-loaded-pb-execution")) > 10
    assert page.watch.errors == []
    for w, h, name in ((390, 844, "mobile"), (1280, 800, "desktop")):
        page.set_viewport_size({"width": w, "height": h})
        page.screenshot(path=f"/tmp/pb10/execution-{name}.png")
