"""Issue 3 in Chromium: clustered points loaded from the API for the view, the layer switcher
and legend, lists that open permalinks, escaped titles, no foreign requests, axe.

The layer drawn here is registered by the test (test_layers_web.LAYER): the map, list and
permalink come from the registry with no other code.
"""

from __future__ import annotations

import re

import pytest
import test_layers_web as web
import tilemap
from conftest import run_axe
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ids(engine):
    found = web.install(engine)
    web.registry.register(web.LAYER)
    yield found
    web.uninstall(engine)


def feature_requests(page) -> list[str]:
    return [u for u in page.watch.requests if f"/api/layers/{web.NAME}/features?" in u]


def wait_loaded(page, layer: str = web.NAME) -> None:
    page.wait_for_selector(f"#map_main[data-loaded-{layer}]", state="attached", timeout=15000)


def test_home_clusters_points_loaded_for_the_view(page, live_server, ids):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/")
    wait_loaded(page)
    first = tilemap.tile_requests(page, web.NAME)
    assert first, "the layer's tiles were not fetched"
    assert all(re.search(r"/tiles/web-test/\d+/\d+/\d+\.mvt", u) for u in first)
    assert not page.watch.foreign() and not feature_requests(page)  # tiles, not GeoJSON pages
    # Move the map (drag it with the mouse): the tiles of the new view are fetched.
    box = page.locator("#map_main").bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 300, y - 200, steps=8)
    page.mouse.up()
    page.wait_for_function(
        f"() => Number(document.querySelector('#map_main').dataset.requestsWebTest) > {len(first)}"
    )
    assert len(set(tilemap.tile_requests(page, web.NAME))) > len(set(first))
    clusters = page.locator(".civic-cluster-web-test")
    clusters.first.wait_for()
    biggest = max(
        int(t)
        for t in page.locator(".civic-cluster-web-test .civic-cluster-count").all_inner_texts()
    )
    assert biggest > 10  # the generated points near the Rynek are one cluster at city zoom
    # every feature in view is counted: the map's count equals the API's for the same box
    page.wait_for_load_state("networkidle")
    bbox = tilemap.view_bbox(page, web.NAME)
    assert tilemap.shown(page, web.NAME) == tilemap.api_count(page, live_server, web.NAME, bbox)
    # the cluster names itself for screen readers (role=button from Leaflet)
    assert clusters.first.get_attribute("role") == "button"
    assert web.LAYER.title("pl") in clusters.first.inner_text()
    assert page.watch.foreign() == [] and page.watch.errors == []


def test_switcher_and_legend(page, live_server, ids):
    page.goto(live_server + "/")
    wait_loaded(page)
    panel = page.locator(".civic-panel")
    assert panel.locator("summary").inner_text() == "Warstwy i legenda"
    box = page.get_by_role("checkbox", name=re.compile(web.LAYER.title("pl")))
    assert box.is_checked()
    legend = page.locator('[data-panel-legend="web-test"]')
    assert legend.is_visible() and "zieleń" in legend.inner_text()
    page.wait_for_selector(".civic-cluster-web-test")
    box.uncheck()
    page.wait_for_function("() => !document.querySelector('.civic-cluster-web-test')")
    assert not legend.is_visible()
    n = page.evaluate("() => Number(document.querySelector('#map_main').dataset.requestsWebTest)")
    box.check()
    page.wait_for_selector(".civic-cluster-web-test")
    # shown again: fetched for the current view
    page.wait_for_function(
        f"() => Number(document.querySelector('#map_main').dataset.requestsWebTest) > {n}"
    )


def test_clicking_a_list_entry_opens_the_permalink(page, live_server, ids):
    page.goto(live_server + f"/layers/{web.NAME}?district=18")
    page.get_by_role("link", name="Przystanek w Nowej Hucie").click()
    page.wait_for_url(f"**/layers/{web.NAME}/{ids['huta']}")
    assert page.locator("h1").inner_text() == "Przystanek w Nowej Hucie"
    assert page.locator("dd.prop-category").inner_text() == "transport"
    wait_loaded(page)
    assert page.locator("#map_main").get_attribute(f"data-loaded-{web.NAME}") == "1"
    page.wait_for_function("() => map_main.getZoom() === 17")  # the map goes to the point
    # from the home page's list too
    page.goto(live_server + f"/?layer={web.NAME}&category=transport")
    page.locator("#features").get_by_role("link", name="Przystanek w Nowej Hucie").click()
    page.wait_for_url(f"**/layers/{web.NAME}/{ids['huta']}")
    assert page.watch.foreign() == []


def test_an_xss_title_is_text_on_the_map_and_in_lists(page, live_server, ids):
    page.goto(live_server + f"/layers/{web.NAME}/{ids['xss']}")
    wait_loaded(page)
    assert page.locator("h1").inner_text() == web.XSS
    marker = page.locator(".leaflet-civicPoints-pane path.leaflet-interactive")
    popup = page.locator(".civic-popup")
    # The view may still settle (fitBounds -> moveend -> refetch redraws the marker): retry.
    for _ in range(5):
        marker.first.click()
        try:
            popup.wait_for(timeout=4000)
            break
        except PlaywrightTimeout:
            continue
    popup.wait_for()
    assert popup.locator(".popup-title").inner_text() == web.XSS
    assert popup.locator("img").count() == 0
    # the list beside the home map, refreshed from the API for the view
    page.goto(live_server + f"/?layer={web.NAME}&edition=2024")
    wait_loaded(page)
    page.get_by_label("Tylko obiekty widoczne na mapie").check()
    page.wait_for_selector(f'ul.feature-list[data-layer="{web.NAME}"][data-live-count]')
    items = page.locator(f'ul.feature-list[data-layer="{web.NAME}"] li a').all_inner_texts()
    assert web.XSS in items
    assert page.locator("main img").count() == 0
    assert page.watch.dialogs == [] and page.watch.errors == []


@pytest.mark.parametrize(
    "path",
    ["/", "/districts/1", "/layers/budget-proposals", "/layers/web-test", "PERMALINK", "/layers"],
)
def test_pages_are_accessible_and_local(page, live_server, ids, path):
    if path == "PERMALINK":
        path = f"/layers/{web.NAME}/{ids['bridge']}"
    page.goto(live_server + path)
    if path != "/layers":
        page.wait_for_selector("#map_main[data-loaded-districts]", state="attached")
    assert run_axe(page) == []
    assert page.watch.foreign() == []
    assert page.watch.errors == [] and page.watch.dialogs == []


def test_phone_viewport_shows_map_and_list(page, live_server, ids, tmp_path):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(live_server + "/")
    wait_loaded(page)
    shot = tmp_path / "home-375.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    m = page.locator("#map_main").bounding_box()
    assert m["x"] >= 0 and m["x"] + m["width"] <= 375 and m["width"] > 300 and m["height"] > 250
    assert m["y"] < 740  # the map is on the first screen
    # no horizontal scrolling, and the list is reachable below the map
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    page.locator("#features").scroll_into_view_if_needed()
    assert page.locator("#features form.filters").is_visible()
    assert page.locator(f'ul.feature-list[data-layer="{web.NAME}"] li').first.is_visible()
    # the layer panel starts closed on a phone, so it does not cover the map
    assert page.locator(".civic-panel").get_attribute("open") is None
    # a permalink frames its feature (a line over two districts) on the small map
    page.goto(live_server + f"/layers/{web.NAME}/{ids['bridge']}")
    wait_loaded(page)
    page.wait_for_function(
        "() => map_main.getZoom() > 13 && map_main.getBounds().contains("
        "L.latLngBounds([[50.0450, 19.9250], [50.0540, 19.9355]]))"
    )
    page.screenshot(path=str(tmp_path / "permalink-375.png"))
