"""Issue 15.6 in real Chromium: a resident comments on a proposal and replies to a comment on
its one page, at 390×844 and 1280×800; axe finds no A/AA violation. Screenshots are saved
(CIVICMAP_SHOTS, default /tmp/shots/proposals) and looked at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import login_page, run_axe
from propose_support import DECLARED, open_edition

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("open_edition")]
assert open_edition

SHOTS = Path(os.environ.get("CIVICMAP_SHOTS", "/tmp/shots/proposals"))
SIZES = [(390, 844), (1280, 800)]


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def settle(page) -> None:
    page.wait_for_selector("#map_main[data-loaded-districts='18']")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # the proposal's popup has faded in


@pytest.mark.parametrize("width, height", SIZES)
def test_comment_and_reply_on_a_proposal(page, browser, live_server, make_user, width, height):
    author = make_user(name="Autorka Projektu")
    r = author.post(
        "/propose",
        data={
            "form_key": os.urandom(16).hex(),
            "action": "submit",
            "scope": "district",
            "location": "district",
            "district": "5",
            "title": f"Ławki przy Parku Krakowskim {width}",
            "description": "Dziesięć ławek wzdłuż alejek.",
            "category": "public space",
            "cost": "40000",
            **DECLARED,
        },
    )
    assert r.status_code == 303, r.data[:500]
    url = live_server + r.headers["Location"].replace("http://localhost", "")
    page.set_viewport_size({"width": width, "height": height})
    resident = make_user(name="Jan Mieszkaniec")
    login_page(page, live_server, resident)
    page.goto(url)
    settle(page)
    assert run_axe(page) == []
    page.get_by_label("Twój komentarz").fill("Przydałyby się też kosze na śmieci.")
    page.get_by_role("button", name="Dodaj komentarz").click()
    page.wait_for_url(re.compile(r"/proposals/\d+#comment-\d+$"))
    first = page.locator("ol.comments > li.comment").first
    assert "Przydałyby się też kosze na śmieci." in first.inner_text()
    assert "Jan Mieszkaniec" in first.inner_text()
    assert "Komentarze (1)" in page.text_content("#comments-title")
    # the author replies (threaded), in a browser of their own
    first_page, page = page, browser.new_context(locale="pl-PL").new_page()
    page.set_viewport_size({"width": width, "height": height})
    login_page(page, live_server, author)
    page.goto(url + "#comments")
    settle(page)
    page.locator("ol.comments > li.comment details.reply summary").first.click()
    page.locator("ol.comments > li.comment details.reply textarea").first.fill(
        "Dziękuję, dopiszę kosze."
    )
    page.get_by_role("button", name="Wyślij odpowiedź").first.click()
    page.wait_for_url(re.compile(r"#comment-\d+$"))
    reply = page.locator("ol.comments > li.comment ol.replies > li.comment")
    assert reply.count() == 1 and "Dziękuję, dopiszę kosze." in reply.inner_text()
    assert "Komentarze (2)" in page.text_content("#comments-title")
    settle(page)
    assert run_axe(page) == []
    page.locator("#comments").scroll_into_view_if_needed()
    shot(page, f"proposal-comments-{width}x{height}")
    assert first_page.watch.errors == [] and first_page.watch.foreign() == []
    page.context.close()
