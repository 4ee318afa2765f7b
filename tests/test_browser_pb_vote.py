"""Issue 10 in real Chromium: a resident declares a district, votes 3 + 3 with points,
reviews and casts; a second ballot is refused; a paper ballot by the same person at a library
is refused; an invalid paper ballot is counted as invalid. axe on the voting and results pages."""

from __future__ import annotations

import pytest
from conftest import login_page, run_axe
from sqlalchemy import text

from tests.pb_vote_support import (
    CITY_IDS,
    DISTRICT,
    LOCAL_IDS,
    VOTE_YEAR,
    counts,
    open_voting_edition,
)

pytestmark = pytest.mark.browser


def _axe_clean(page):
    bad = [v for v in run_axe(page) if v["impact"] in ("serious", "critical", "moderate", "minor")]
    assert bad == [], bad


def test_vote_second_refused_paper_refused_invalid_counted(
    page, browser, live_server, make_user, engine
):
    open_voting_edition(engine)
    voter = make_user()
    login_page(page, live_server, voter)
    page.goto(f"{live_server}/budget/{VOTE_YEAR}/vote")
    _axe_clean(page)
    # 1. declare the district, keyboard only
    page.focus("#f-district")
    page.select_option("#f-district", str(DISTRICT))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#district-declared")
    assert "Podgórze" in page.inner_text("#district-declared")
    _axe_clean(page)
    # 2. 3 + 3 with points
    for i, x in enumerate([CITY_IDS[2], CITY_IDS[0], CITY_IDS[4]], 1):
        page.select_option(f"#f-citywide-{i}", x)
    for i, x in enumerate([LOCAL_IDS[1], LOCAL_IDS[3], LOCAL_IDS[0]], 1):
        page.select_option(f"#f-local-{i}", x)
    page.fill("#f-full_name", "Barbara Przeglądarka")
    page.fill("#f-birth_date", "1975-06-30")
    page.fill("#f-address", "ul. Limanowskiego 20 m. 4")
    page.click("#to-review")
    # 3. review: choices in order with their points
    page.wait_for_selector("#review-citywide")
    items = page.locator("#review-citywide li").all_inner_texts()
    assert items[0].startswith(f"Projekt {CITY_IDS[2]}") and "3 pkt" in items[0]
    assert "1 pkt" in items[2]
    _axe_clean(page)
    before = counts(engine)
    page.click("#cast")
    page.wait_for_selector("#cast-ok")
    assert counts(engine)["register"] == before["register"] + 1
    # 4. a second ballot is refused
    page.goto(f"{live_server}/budget/{VOTE_YEAR}/vote")
    assert page.locator("#already").count() == 1
    resp = page.request.post(
        f"{live_server}/budget/{VOTE_YEAR}/vote/cast",
        headers={"X-CSRFToken": voter.csrf, "Accept": "application/json"},
        data={
            "full_name": "Barbara Przeglądarka",
            "birth_date": "1975-06-30",
            "address": "Limanowskiego 20/4",
            "citywide": ",".join(CITY_IDS[:3]),
            "local": ",".join(LOCAL_IDS[:3]),
        },
    )
    assert resp.status == 409 and resp.json()["error"]["code"] == "already_voted"

    # 5. the same person on paper at a library: refused
    clerk = make_user("official")
    staff = browser.new_context(locale="pl-PL").new_page()
    login_page(staff, live_server, clerk)
    with engine.connect() as conn:
        library = conn.execute(
            text("SELECT id FROM civic_venues WHERE type = 'library' ORDER BY name LIMIT 1")
        ).scalar_one()
    staff.goto(f"{live_server}/budget/{VOTE_YEAR}/paper?voting_point={library}")
    _axe_clean(staff)
    staff.select_option("#f-voting_point", str(library))

    def enter(name, address, city, local, invalid=""):
        """Keyboard only: type, Tab to the next field; Enter in the last field submits."""
        if invalid:
            staff.select_option("#f-invalid_reason", invalid)
        staff.focus("#f-full_name")
        values = (name, "1975-06-30", address, str(DISTRICT), city, local)
        for i, value in enumerate(values):
            staff.keyboard.type(value)
            staff.keyboard.press("Tab" if i < len(values) - 1 else "Enter")
        staff.wait_for_load_state()

    before = counts(engine)
    enter("PRZEGLĄDARKA Barbara", "Limanowskiego 20/4, 30-551 Kraków", "1,2,3", "1,2,3")
    staff.wait_for_selector("#errors")
    assert staff.get_attribute("#errors", "data-code") == "already_voted"
    assert counts(engine) == before
    # 6. an invalid paper ballot: counted as invalid, not in the results
    staff.goto(f"{live_server}/budget/{VOTE_YEAR}/paper?voting_point={library}")
    enter("Czesław Nieważny", "Kalwaryjska 3", "1,2,3,4", "1,2,3", invalid="too_many")
    staff.wait_for_selector("#paper-ok")
    after = counts(engine)
    assert after["invalid"] == before["invalid"] + 1
    assert after["urn"] + after["ballots"] == before["urn"] + before["ballots"]
    staff.goto(f"{live_server}/budget/{VOTE_YEAR}/results")
    invalid_cell = staff.inner_text(f"#turnout-{DISTRICT} td.invalid")
    assert int(invalid_cell) >= 1
    _axe_clean(staff)
    staff.context.close()
    assert page.watch.foreign() == [] and page.watch.errors == []


def test_results_page_axe(page, live_server):
    page.goto(f"{live_server}/budget/2020/results")
    assert page.locator("#departure-district-3").count() == 1
    _axe_clean(page)
