"""Issue 15.7 in real Chromium: an official draws a consultation's area with Leaflet-Geoman,
sets its stage and dates, saves it and sees it on its page, at 390×844 and 1280×800; the
browser import's dry run; axe finds no A/AA violation. Screenshots: CIVICMAP_SHOTS (default
/tmp/shots/proposals)."""

from __future__ import annotations

import json
import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import login_page, run_axe
from sqlalchemy import text

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("CIVICMAP_SHOTS", "/tmp/shots/proposals"))
SIZES = [(390, 844), (1280, 800)]
# around the Planty / Kazimierz: a quadrilateral (lat, lon)
AREA = [(50.0520, 19.9400), (50.0520, 19.9480), (50.0570, 19.9480), (50.0570, 19.9400)]


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def click_latlng(page, lat: float, lon: float) -> None:
    x, y = page.evaluate(
        """([lat, lon]) => {
            const p = map_main.latLngToContainerPoint([lat, lon]);
            const r = map_main.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lon],
    )
    page.mouse.click(x, y)


@pytest.mark.parametrize("width, height", SIZES)
def test_official_draws_a_consultation(page, live_server, make_user, engine, width, height):
    official = make_user("official")
    page.set_viewport_size({"width": width, "height": height})
    login_page(page, live_server, official)
    page.goto(f"{live_server}/staff/new/consultations")
    page.wait_for_selector("#map_main[data-draw-ready]")
    page.wait_for_load_state("networkidle")
    assert run_axe(page) == []
    title = f"Konsultacje Kazimierza {width}"
    page.get_by_label("Tytuł *").fill(title)
    page.get_by_label("Opis").fill("Jak zmienić ulice Kazimierza?")
    page.get_by_label("Otwarcie *").fill((date.today() - timedelta(days=1)).isoformat())
    page.get_by_label("Zamknięcie *").fill((date.today() + timedelta(days=30)).isoformat())
    page.get_by_label("Etap *").select_option("open")
    page.evaluate("() => map_main.setView([50.0545, 19.944], 15, {animate: false})")
    page.evaluate("document.getElementById('map_main').scrollIntoView({block: 'center'})")
    page.click(".leaflet-pm-icon-polygon")
    for lat, lon in AREA:
        click_latlng(page, lat, lon)
    click_latlng(page, *AREA[0])
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Polygon')")
    shot(page, f"staff-consultation-form-{width}x{height}")
    page.get_by_role("button", name="Zapisz").click()
    page.wait_for_url(re.compile(r"/consultations/\d+$"))
    cid = int(page.url.rsplit("/", 1)[1])
    assert page.text_content("h1") == title
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT stage, ST_Contains(geom, ST_SetSRID(ST_Point(19.944, 50.0545), 4326)) "
                "FROM consultations WHERE id = :i"
            ),
            {"i": cid},
        ).one()
    assert tuple(row) == ("open", True)
    page.wait_for_selector("#map_main[data-loaded-areas='1']", state="attached")
    page.wait_for_load_state("networkidle")
    assert run_axe(page) == []
    shot(page, f"staff-consultation-created-{width}x{height}")
    assert page.watch.errors == [] and page.watch.foreign() == []


def test_browser_import_dry_run(page, live_server, make_user, tmp_path):
    official = make_user("official")
    login_page(page, live_server, official)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server}/staff/import")
    assert run_axe(page) == []
    path = tmp_path / "obszary.geojson"
    ring = [[19.93, 50.05], [19.935, 50.05], [19.935, 50.055], [19.93, 50.05]]
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"external_id": "qb:1", "name": "Podobszar z przeglądarki"},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    },
                    {
                        "type": "Feature",
                        "properties": {"external_id": "qb:2", "name": ""},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    },
                ],
            }
        )
    )
    page.get_by_label("Warstwa").select_option("revitalisation-areas")
    page.set_input_files("#f-file", str(path))
    page.get_by_role("button", name="Importuj").click()
    page.wait_for_selector("#report")
    assert page.text_content("#count-imported") == "1"
    assert page.text_content("#count-rejected") == "1"
    assert "nic nie zapisano" in page.text_content("#report-h")
    assert run_axe(page) == []
    shot(page, "staff-import-dry-run-1280x800")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "staff-import-dry-run-390x844")
    assert page.watch.errors == [] and page.watch.foreign() == []
