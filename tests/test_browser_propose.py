"""Issue 4 in real Chromium: draw a proposal with Leaflet-Geoman, the address combobox, the
keyboard-only flow, escaping, and axe on the participation pages."""

from __future__ import annotations

import re

import pytest
import tilemap
from conftest import login_page, run_axe
from propose_support import DECLARED, open_edition
from sqlalchemy import text

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("open_edition")]
assert open_edition  # a module-scoped fixture: an edition open for submissions

# Plac Centralny, Nowa Huta: a ~250 m quadrilateral around it.
NOWA_HUTA = [(50.0705, 20.0355), (50.0705, 20.0395), (50.0728, 20.0395), (50.0728, 20.0355)]


def open_map_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#map_main[data-loaded-districts='18']")


def click_latlng(page, lat: float, lon: float) -> None:
    """A real mouse click at the pixel where (lat, lon) is on the map."""
    x, y = page.evaluate(
        """([lat, lon]) => {
            const p = map_main.latLngToContainerPoint([lat, lon]);
            const r = map_main.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lon],
    )
    page.mouse.click(x, y)


def show(page, lat: float, lon: float, zoom: int = 16) -> None:
    page.evaluate(
        "([lat, lon, z]) => map_main.setView([lat, lon], z, {animate: false})", [lat, lon, zoom]
    )


def tab_to(page, selector: str, limit: int = 120) -> None:
    """Press Tab until the element matching ``selector`` has the focus (keyboard only)."""
    for _ in range(limit):
        if page.evaluate(
            "s => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def proposal_id(page) -> int:
    page.wait_for_url(re.compile(r"/proposals/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_draw_polygon_in_nowa_huta_and_submit(page, live_server, make_user, engine):
    user = make_user(name="Rysująca Mieszkanka")
    login_page(page, live_server, user)
    open_map_page(page, f"{live_server}/propose")
    page.wait_for_selector("#map_main[data-draw-ready]")
    show(page, 50.0716, 20.0375)
    # the whole map in the viewport (the menu may wrap onto more lines): a click lands on it
    page.evaluate("document.getElementById('map_main').scrollIntoView({block: 'center'})")
    page.click(".leaflet-pm-icon-polygon")
    for lat, lon in NOWA_HUTA:
        click_latlng(page, lat, lon)
    click_latlng(page, *NOWA_HUTA[0])  # back to the first vertex closes the polygon
    page.wait_for_function(
        "() => document.getElementById('district-output').textContent.includes('XVIII Nowa Huta')"
    )
    assert "Dzielnica XVIII Nowa Huta" in page.text_content("#district-output")
    assert '"Polygon"' in page.input_value("#geometry")
    page.fill("#title", "Cień na Placu Centralnym")
    page.fill("#description", "Drzewa i ławki w cieniu.")
    page.select_option("#category", "urban greenery")
    page.fill("#cost", "250 000")
    page.check("#declared_residency")
    page.check("#declared_district_residency")
    page.click("button[value=submit]")
    pid = proposal_id(page)
    assert page.text_content("h1") == "Cień na Placu Centralnym"
    page.wait_for_selector("#map_main[data-loaded-proposals='1']")
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT status, districts, ST_GeometryType(geom) FROM budget_proposals WHERE id = :id"
            ),
            {"id": pid},
        ).one()
    assert tuple(row) == ("submitted", [18], "ST_Polygon")
    # on the map and in the list
    open_map_page(page, f"{live_server}/proposals?district=18&q=cien+na+placu")
    page.wait_for_selector("#map_main[data-loaded-budget-proposals='1']")  # from the tiles
    assert page.locator("ol.items a.title").all_text_contents() == ["Cień na Placu Centralnym"]
    tiles = tilemap.tile_requests(page, "budget-proposals")
    assert tiles and all("district=18" in u and "q=cien" in u for u in tiles)
    assert page.watch.errors == [] and page.watch.foreign() == []


def test_address_search_zablocie(page, live_server, make_user):
    login_page(page, live_server, make_user())
    open_map_page(page, f"{live_server}/propose")
    page.check("#location-address")
    combo = page.locator("#address-search")
    combo.fill("zablocie")
    page.wait_for_selector("#address-search-listbox:not([hidden]) [role=option]")
    first = page.locator("#address-search-listbox [role=option]").first
    assert "Zabłocie" in first.text_content()
    assert combo.get_attribute("aria-expanded") == "true"
    combo.press("ArrowDown")
    assert combo.get_attribute("aria-activedescendant") == "address-search-opt-0"
    assert first.get_attribute("aria-selected") == "true"
    combo.press("Enter")
    assert combo.input_value() == "Zabłocie"
    assert combo.get_attribute("aria-expanded") == "false"
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    assert "Podgórze" in page.text_content("#district-output")
    center = page.evaluate("[map_main.getCenter().lat, map_main.getCenter().lng]")
    assert center == pytest.approx([50.0511, 19.9735], abs=0.002)  # the map moved there


def test_keyboard_only_propose(page, live_server, make_user, engine):
    """Address search, then 'whole district', submitted — no mouse at all."""
    login_page(page, live_server, make_user())
    open_map_page(page, f"{live_server}/propose")
    kb = page.keyboard
    # 1. the address path: choose "Wpiszę adres" with the arrow keys, type, pick a suggestion
    tab_to(page, "input[name=location]:checked")
    kb.press("ArrowDown")  # map -> address
    assert page.is_checked("#location-address")
    tab_to(page, "#address-search")
    kb.type("rajska 12")
    page.wait_for_selector("#address-search-listbox:not([hidden]) [role=option]")
    kb.press("ArrowDown")
    kb.press("Enter")
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    assert "Stare Miasto" in page.text_content("#district-output")
    # 2. change of mind: the whole of district XVIII
    tab_to(page, "input[name=location]:checked")
    kb.press("ArrowDown")  # address -> district
    assert page.is_checked("#location-district")
    tab_to(page, "#district")
    for _ in range(18):
        kb.press("ArrowDown")
    assert page.input_value("#district") == "18"
    assert "XVIII Nowa Huta" in page.text_content("#district-output")
    tab_to(page, "#title")
    kb.type("Klawiaturą: ławki w całej Nowej Hucie")
    tab_to(page, "#description")
    kb.type("Zgłoszone bez myszy.")
    tab_to(page, "#category")
    kb.press("ArrowDown")
    assert page.input_value("#category") != ""
    tab_to(page, "#cost")
    kb.type("40000")
    tab_to(page, "#declared_residency")
    kb.press("Space")
    tab_to(page, "#declared_district_residency")
    kb.press("Space")
    assert page.is_checked("#declared_residency") and page.is_checked(
        "#declared_district_residency"
    )
    tab_to(page, "button[value=submit]")
    kb.press("Enter")
    pid = proposal_id(page)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT title, status, districts, geom IS NULL FROM budget_proposals WHERE id = :id"
            ),
            {"id": pid},
        ).one()
    assert tuple(row) == ("Klawiaturą: ławki w całej Nowej Hucie", "submitted", [18], True)


def test_script_title_never_runs(page, live_server, make_user):
    author = make_user()
    evil = "<script>alert(1)</script>"
    r = author.post(
        "/propose",
        data={
            "form_key": "ab" * 16,
            "action": "submit",
            "scope": "district",
            "location": "map",
            "geometry": '{"type":"Point","coordinates":[20.0375,50.0717]}',
            "title": evil,
            "description": '<img src=x onerror="alert(2)">',
            "category": "culture",
            "cost": "10000",
            **DECLARED,
        },
    )
    assert r.status_code == 303, r.data[:500]
    pid = int(r.headers["Location"].rsplit("/", 1)[1])
    # permalink
    open_map_page(page, f"{live_server}/proposals/{pid}")
    page.wait_for_selector("#map_main[data-loaded-proposals='1']")
    assert page.text_content("h1") == evil
    # the popup on the map (opened on the permalink)
    page.wait_for_selector(".leaflet-popup-content")
    assert evil in page.text_content(".leaflet-popup-content")
    # the list, and the popup opened by a click on the feature
    open_map_page(page, f"{live_server}/proposals?q=script")
    page.wait_for_selector("#map_main[data-loaded-budget-proposals]")
    assert evil in page.locator("ol.items").text_content()
    show(page, 50.0717, 20.0375, 17)
    page.wait_for_function(  # the tiles of that view are drawn
        "() => (document.querySelector('#map_main').dataset.tilesBudgetProposals || '')"
        ".startsWith('17/')"
    )
    click_latlng(page, 50.0717, 20.0375)
    page.wait_for_selector(".leaflet-popup-content")
    assert evil in page.text_content(".leaflet-popup-content")
    page.wait_for_timeout(300)  # give a script (if any had slipped through) the time to run
    assert page.watch.dialogs == []


@pytest.mark.parametrize(
    "path", ["/propose", "/proposals", "/proposals/{pid}", "/account/contributions"]
)
def test_axe(page, live_server, make_user, path):
    user = make_user()
    r = user.post(
        "/propose",
        data={
            "form_key": "cd" * 16,
            "action": "submit",
            "scope": "district",
            "location": "district",
            "district": "5",
            "title": "Axe: projekt w Krowodrzy",
            "description": "Opis.",
            "category": "culture",
            "cost": "10000",
            **DECLARED,
        },
    )
    pid = r.headers["Location"].rsplit("/", 1)[1] if r.status_code == 303 else "1"
    login_page(page, live_server, user)
    if "account" in path:
        page.goto(live_server + path)
    else:
        open_map_page(page, live_server + path.format(pid=pid))
    violations = run_axe(page)
    assert violations == [], violations


def test_axe_with_errors_and_suggestions(page, live_server, make_user):
    login_page(page, live_server, make_user())
    open_map_page(page, f"{live_server}/propose")
    page.click("button[value=submit]")  # empty form: errors next to the fields
    page.wait_for_selector(".error-summary")
    page.check("#location-address")
    page.fill("#address-search", "rajska")
    page.wait_for_selector("#address-search-listbox:not([hidden]) [role=option]")
    page.press("#address-search", "ArrowDown")
    violations = run_axe(page)
    assert violations == [], violations


def test_map_search_box_moves_the_map(page, live_server):
    open_map_page(page, f"{live_server}/proposals")
    box = page.locator("#map-search")
    box.fill("rajska 12")
    page.wait_for_selector("#map-search-listbox:not([hidden]) [role=option]")
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_function("() => map_main.getZoom() >= 16")
    center = page.evaluate("[map_main.getCenter().lat, map_main.getCenter().lng]")
    assert center == pytest.approx([50.0642, 19.9295], abs=0.001)
    assert "Rajska 12" in page.text_content("#map-search-chosen")
