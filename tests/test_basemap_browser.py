"""Issue 15.1/15.4/15.11/15.12 in Chromium: streets under the pins from a local upstream
through /basemap/, the attribution, the offline note, permalinks of views, one cluster style,
axe, and screenshots at 390×844 and 1280×800 (saved to /tmp/shots/maps/)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import run_axe
from PIL import Image, ImageDraw
from test_basemap import Upstream

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/maps")


def street_png() -> bytes:
    """A tile that looks like streets: white blocks, grey roads, a blue river."""
    img = Image.new("RGB", (256, 256), (242, 239, 233))
    d = ImageDraw.Draw(img)
    for i in range(0, 256, 64):
        d.line([(i, 0), (i + 40, 256)], fill=(160, 160, 160), width=6)
        d.line([(0, i), (256, i + 20)], fill=(255, 255, 255), width=8)
    d.line([(0, 200), (256, 150)], fill=(150, 190, 230), width=14)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def upstream():
    up = Upstream()
    up.body = street_png()
    yield up
    up.close()


@pytest.fixture(scope="module")
def app(db_url, upstream, tmp_path_factory):
    from app import create_app

    return create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "BASEMAP_UPSTREAM": upstream.url,
            "BASEMAP_CACHE_DIR": str(tmp_path_factory.mktemp("basemap")),
            "BASEMAP_ATTRIBUTION": "© OpenStreetMap contributors",
            "BASEMAP_ATTRIBUTION_URL": "https://www.openstreetmap.org/copyright",
        }
    )


def wait_map(page):
    page.wait_for_selector('#map_main[data-loaded-districts="18"]', state="attached")
    page.wait_for_selector('#map_main[data-basemap="ok"]', state="attached", timeout=15000)
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("size", [(390, 844), (1280, 800)])
def test_streets_under_the_map_from_our_host_with_attribution(page, live_server, upstream, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(live_server + "/")
    wait_map(page)
    tiles = page.locator("#map_main img.leaflet-tile-loaded")
    assert tiles.count() > 0
    assert all("/basemap/" in (t.get_attribute("src") or "") for t in tiles.all()[:10])
    assert page.watch.foreign() == []  # the browser talked only to us
    assert upstream.requests, "the proxy fetched from the local upstream"
    attribution = page.locator(".leaflet-control-attribution")
    assert "© OpenStreetMap contributors" in attribution.inner_text()
    assert page.locator(".basemap-note").is_hidden()
    # Phone: the header is small and the map starts above the fold.
    header = page.locator("header.site").bounding_box()
    map_box = page.locator("#map_main").bounding_box()
    assert header["height"] < size[1] / 5
    assert map_box["y"] < size[1] * 0.6
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"home-basemap-{size[0]}x{size[1]}.png"))
    assert run_axe(page) == []
    assert page.watch.errors == []


@pytest.mark.parametrize("size", [(390, 844), (1280, 800)])
def test_a_pin_from_an_address_hit_on_a_map_with_streets(page, live_server, make_user, size):
    """Issue 15's first "done when": a resident looks up a place, the map goes there with the
    streets under it (our /basemap/ from the local upstream), and the pin is placed."""
    from conftest import login_page

    page.set_viewport_size({"width": size[0], "height": size[1]})
    login_page(page, live_server, make_user())
    page.goto(live_server + "/propose")
    wait_map(page)
    page.check("#location-address")
    combo = page.locator("#address-search")
    combo.fill("zablocie")
    page.wait_for_selector("#address-search-listbox:not([hidden]) [role=option]")
    combo.press("ArrowDown")
    combo.press("Enter")
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    assert "Podgórze" in page.text_content("#district-output")
    centre = page.evaluate("[map_main.getCenter().lat, map_main.getCenter().lng]")
    assert centre == pytest.approx([50.0511, 19.9735], abs=0.002)
    page.wait_for_load_state("networkidle")
    # the streets of the new view (under load the zoom's tiles may still be arriving)
    page.wait_for_selector("#map_main img.leaflet-tile-loaded", timeout=20000)
    tiles = page.locator("#map_main img.leaflet-tile-loaded")
    assert all("/basemap/" in (t.get_attribute("src") or "") for t in tiles.all()[:10])
    assert page.locator(
        "#map_main .leaflet-marker-icon, #map_main path.leaflet-interactive"
    ).count()
    assert page.watch.foreign() == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#map_main").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"propose-address-pin-{size[0]}x{size[1]}.png"))
    assert run_axe(page) == []


def test_permalink_restores_centre_zoom_and_layers(page, live_server):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/")
    wait_map(page)
    page.evaluate("() => map_main.setView([50.0833, 19.9000], 14, {animate: false})")
    page.wait_for_function("() => location.hash.startsWith('#map=14/50.08330/19.90000')")
    boxes = page.locator(".civic-panel input[type=checkbox]")
    hidden_layer = None
    if boxes.count():
        hidden_layer = boxes.first.get_attribute("data-layer")
        boxes.first.uncheck()
        page.wait_for_function(
            f"() => !decodeURIComponent(location.hash).split('layers=')[1]"
            f".split(',').includes('{hidden_layer}')"
        )
    shared = page.url
    # A shared link opened fresh restores the view and the layers.
    other = page.context.new_page()
    other.goto(shared)
    other.wait_for_selector('#map_main[data-loaded-districts="18"]', state="attached")
    other.wait_for_function("() => map_main.getZoom() === 14")
    c = other.evaluate("() => map_main.getCenter()")
    assert abs(c["lat"] - 50.0833) < 1e-3 and abs(c["lng"] - 19.9) < 1e-3
    if hidden_layer:
        box = other.locator(f'.civic-panel input[data-layer="{hidden_layer}"]')
        assert not box.is_checked()
    # Back from another page restores the view too.
    other.goto(live_server + "/districts/1")
    other.go_back()
    other.wait_for_function("() => window.map_main && map_main.getZoom() === 14")
    other.close()


def test_offline_upstream_shows_outlines_and_a_note(page, live_server, upstream, app):
    cache = app.extensions["basemap"]
    real = cache.upstream
    from dataclasses import replace

    cache.upstream = replace(real, url="http://127.0.0.1:9/{z}/{x}/{y}.png")
    try:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(live_server + "/#map=16/50.0300/19.8600")
        page.wait_for_selector('#map_main[data-loaded-districts="18"]', state="attached")
        page.wait_for_selector('#map_main[data-basemap="offline"]', state="attached")
        note = page.locator(".basemap-note")
        assert note.is_visible()
        assert "niedostępny" in note.inner_text()
        # No broken-image squares: failed tiles are hidden.
        page.wait_for_load_state("networkidle")
        visible_broken = page.evaluate(
            "() => [...document.querySelectorAll('#map_main img.leaflet-tile')]"
            ".filter(i => !i.complete || !i.naturalWidth)"
            ".filter(i => getComputedStyle(i).visibility !== 'hidden').length"
        )
        assert visible_broken == 0
        page.screenshot(path=str(SHOTS / "home-offline-1280x800.png"))
        assert run_axe(page) == []
    finally:
        cache.upstream = real
        cache._offline_until = 0.0
