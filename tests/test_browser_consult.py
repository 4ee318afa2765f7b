"""Issue 4 in real Chromium: comment inside a consultation area (drawn with Geoman), a comment
outside it is refused with the reason, supports, and axe on the consultation pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import login_page, run_axe
from sqlalchemy import text
from test_browser_propose import click_latlng, open_map_page, show

pytestmark = pytest.mark.browser

AREA = "POLYGON((20.030 50.068, 20.045 50.068, 20.045 50.078, 20.030 50.078, 20.030 50.068))"


@pytest.fixture(scope="module")
def consultation(engine):
    with engine.begin() as conn:
        today = conn.execute(text("SELECT current_date")).scalar_one()
        return conn.execute(
            text(
                "INSERT INTO consultations (title, description, opens_on, closes_on, stage, documents_url, geom) "
                "VALUES ('Konsultacje: Plac Centralny', 'Jak zmienić plac?', :o, :c, 'open', "
                "'https://www.bip.krakow.pl/', ST_GeomFromText(:g, 4326)) RETURNING id"
            ),
            {"o": today - timedelta(days=1), "c": today + timedelta(days=30), "g": AREA},
        ).scalar_one()


def start_comment(page, live_server, consultation) -> None:
    open_map_page(page, f"{live_server}/consultations/{consultation}")
    page.wait_for_selector("#map_main[data-loaded-areas='1'][data-draw-ready]")
    page.check("#place-map")
    show(page, 50.0717, 20.0375, 15)
    page.click(".leaflet-pm-icon-marker")


def test_comment_inside_the_area(page, live_server, make_user, consultation, engine):
    login_page(page, live_server, make_user(name="Komentująca"))
    start_comment(page, live_server, consultation)
    click_latlng(page, 50.0717, 20.0375)  # Plac Centralny: inside
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    page.fill("#body", "Więcej cienia przy fontannie.")
    page.click("form.comment-form button[type=submit]")
    page.wait_for_url(f"**/consultations/{consultation}#comment-*")
    item = page.locator("li.comment", has_text="Więcej cienia przy fontannie.")
    assert item.count() == 1 and "w miejscu na mapie" in item.text_content()
    page.wait_for_selector("#map_main[data-loaded-comments='1']")
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_GeometryType(geom), status, districts FROM consultation_comments "
                "WHERE body = 'Więcej cienia przy fontannie.'"
            )
        ).one()
    assert tuple(row) == ("ST_Point", "published", [18])
    # "show on the map" opens the comment's popup
    item.locator("button[data-show-comment]").click()
    page.wait_for_selector(".leaflet-popup-content")
    assert "Więcej cienia" in page.text_content(".leaflet-popup-content")
    assert page.watch.errors == [] and page.watch.foreign() == []


def test_comment_outside_is_refused(page, live_server, make_user, consultation, engine):
    login_page(page, live_server, make_user())
    start_comment(page, live_server, consultation)
    click_latlng(page, 50.0717, 20.0270)  # 200 m west of the area, still in Kraków
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    page.fill("#body", "Ta uwaga jest poza obszarem.")
    page.click("form.comment-form button[type=submit]")
    page.wait_for_selector("#geometry-error")
    assert "poza obszarem konsultacji" in page.text_content("#geometry-error")
    assert page.locator(".error-summary").count() == 1
    assert page.input_value("#body") == "Ta uwaga jest poza obszarem."  # nothing typed is lost
    with engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM consultation_comments WHERE body = 'Ta uwaga jest poza obszarem.'"
            )
        ).scalar_one()
    assert n == 0


def test_support_and_reply(page, live_server, make_user, consultation, engine):
    author = make_user()
    r = author.post(
        f"/consultations/{consultation}/comments",
        data={"form_key": "ef" * 16, "place": "whole", "body": "Uwaga do poparcia"},
        headers={"Accept": "application/json"},
    )
    comment_id = r.get_json()["id"]
    login_page(page, live_server, make_user())
    page.goto(f"{live_server}/consultations/{consultation}")
    item = page.locator(f"#comment-{comment_id}")
    item.locator("button", has_text="Popieram").click()
    page.wait_for_url(f"**#comment-{comment_id}")
    assert "Popiera 1" in page.text_content(f"#comment-{comment_id}-supports")
    item = page.locator(f"#comment-{comment_id}")
    item.locator("summary", has_text="Odpowiedz").click()
    item.locator("textarea[name=body]").first.fill("Zgadzam się.")
    item.locator("button", has_text="Wyślij odpowiedź").click()
    page.wait_for_url("**#comment-*")
    assert "Zgadzam się." in page.locator(f"#comment-{comment_id} ol.replies").text_content()


@pytest.mark.parametrize("path", ["/consultations", "/consultations/{cid}", "/comments"])
@pytest.mark.parametrize("logged_in", [False, True])
def test_axe(page, live_server, make_user, consultation, path, logged_in):
    if logged_in:
        login_page(page, live_server, make_user())
    open_map_page(page, live_server + path.format(cid=consultation))
    assert run_axe(page) == []


def test_axe_with_errors(page, live_server, make_user, consultation):
    login_page(page, live_server, make_user())
    open_map_page(page, f"{live_server}/consultations/{consultation}")
    page.click("form.comment-form button[type=submit]")  # empty body
    page.wait_for_selector("#body-error")
    assert run_axe(page) == []
