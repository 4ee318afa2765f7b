"""Issue 10, the online ballot in real Chromium: the chosen projects of each part are reordered
by dragging — with the mouse at desktop size, with a finger (real touch input, which Chromium
turns into pointer events) at phone size — and by the keyboard's "up" / "down" buttons, on the
vote page and on the review step; the live region says the new order; the cast ballot's stored
points (``pb_urn`` / ``ballots``: 1st = 3 points) follow the new order. axe-clean.

Set BALLOT_SCREENSHOTS=<dir> to keep the screenshots (390x844 and 1280x800)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import PageWatch, login_page, run_axe
from sqlalchemy import text

from tests.pb_vote_support import CITY_IDS, DISTRICT, LOCAL_IDS, VOTE_YEAR, open_voting_edition

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("BALLOT_SCREENSHOTS")


@pytest.fixture(scope="module", autouse=True)
def _edition(engine):
    open_voting_edition(engine)


def _axe_clean(pg):
    bad = [v for v in run_axe(pg) if v["impact"] in ("serious", "critical", "moderate", "minor")]
    assert bad == [], bad


def _shot(pg, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(Path(SHOTS) / f"ballot-{name}.png"), full_page=True)


def _declare_and_choose(pg, base, city, local):
    pg.goto(f"{base}/budget/{VOTE_YEAR}/vote")
    pg.select_option("#f-district", str(DISTRICT))
    pg.click("#declare")
    pg.wait_for_selector("#district-declared")
    for i, x in enumerate(city, 1):
        pg.select_option(f"#f-citywide-{i}", x)
    for i, x in enumerate(local, 1):
        pg.select_option(f"#f-local-{i}", x)


def _selects(pg, part: str) -> list[str]:
    return [pg.input_value(f"#f-{part}-{i}") for i in (1, 2, 3)]


def _hidden(pg, part: str) -> list[str]:
    return [pg.input_value(f'#cast-form [name="{part}_{i}"]') for i in (1, 2, 3)]


def _order(pg, list_id: str) -> list[str]:
    return pg.eval_on_selector_all(f"#{list_id} > li", "els => els.map(e => e.dataset.value)")


def _mouse_drag(pg, list_id: str, src: int, dst: int) -> None:
    """Press on row ``src`` (0-based; its title, not the grip: a mouse drags the whole row),
    move in small steps to above / below row ``dst``, release."""
    rows = pg.locator(f"#{list_id} > li")
    a = rows.nth(src).locator(".ballot-title").bounding_box()
    b = rows.nth(dst).bounding_box()
    y = b["y"] + 4 if dst < src else b["y"] + b["height"] - 4
    pg.mouse.move(a["x"] + 10, a["y"] + a["height"] / 2)
    pg.mouse.down()
    pg.mouse.move(a["x"] + 12, y, steps=12)
    pg.mouse.up()


def _touch_drag(pg, list_id: str, src: int, dst: int) -> float:
    """A finger on row ``src``'s grip, moved to row ``dst``, lifted: real touch events through
    the DevTools protocol (Chromium makes the pointer events, honouring touch-action).
    Returns how far the page scrolled meanwhile (a drag, not a scroll: ~0)."""
    rows = pg.locator(f"#{list_id} > li")
    rows.nth(src).scroll_into_view_if_needed()
    g = rows.nth(src).locator(".ballot-grip").bounding_box()
    b = rows.nth(dst).bounding_box()
    x0, y0 = g["x"] + g["width"] / 2, g["y"] + g["height"] / 2
    scroll = pg.evaluate("window.scrollY")
    y1 = b["y"] + 4 if dst < src else b["y"] + b["height"] - 4
    cdp = pg.context.new_cdp_session(pg)
    cdp.send(
        "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]}
    )
    for k in range(1, 13):
        y = y0 + (y1 - y0) * k / 12
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x0, "y": y}]}
        )
        pg.wait_for_timeout(16)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()
    return abs(pg.evaluate("window.scrollY") - scroll)


def _identity(pg, name: str) -> None:
    pg.fill("#f-full_name", name)
    pg.fill("#f-birth_date", "1981-02-03")
    pg.fill("#f-address", f"ul. Kalwaryjska {len(name)}")


def _stored(engine) -> dict[str, list[tuple[list[str], list[int]]]]:
    """Every cast ballot part of the edition (urn and counted table): choices and the points
    each choice gets (3, 2, 1 by position), per part."""
    out: dict[str, list] = {"citywide": [], "district": []}
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT scope, choices,
                          (SELECT array_agg(4 - o ORDER BY o) FROM unnest(choices)
                           WITH ORDINALITY AS c(x, o)) AS points
                   FROM (SELECT scope, choices FROM pb_urn WHERE edition = :y
                         UNION ALL SELECT scope, choices FROM ballots WHERE edition = :y) b"""
            ),
            {"y": VOTE_YEAR},
        ).all()
    for r in rows:
        out[r.scope].append((list(r.choices), list(r.points)))
    return out


def _watch_script(pg) -> list[str]:
    """Errors thrown by ballot.js (by their stack: other scripts of the layout are not ours)."""
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(e.stack or str(e)))
    pg.script_errors = lambda: [x for x in errors if "ballot.js" in x]
    return errors


def _live(pg) -> str:
    """The live region's text once it is set (it is cleared, then set, on each change; no
    wait_for_function: its polling evaluates a string, which the CSP refuses)."""
    for _ in range(50):
        said = pg.text_content("#ballot-live") or ""
        if said:
            return said
        pg.wait_for_timeout(20)
    return ""


def test_drag_with_the_mouse_at_desktop_size(page, live_server, make_user, engine):
    page.set_viewport_size({"width": 1280, "height": 800})
    _watch_script(page)
    voter = make_user()
    login_page(page, live_server, voter)
    a, b, c = CITY_IDS[0], CITY_IDS[1], CITY_IDS[2]
    d, e, f = LOCAL_IDS[0], LOCAL_IDS[1], LOCAL_IDS[2]
    _declare_and_choose(page, live_server, [a, b, c], [d, e, f])
    assert _order(page, "order-citywide") == [a, b, c]
    # the mouse: the 3rd city-wide project dragged to the top
    _mouse_drag(page, "order-citywide", 2, 0)
    assert _selects(page, "citywide") == [c, a, b]  # the form's own fields are rewritten
    assert _order(page, "order-citywide") == [c, a, b]
    texts = page.locator("#order-citywide > li .ballot-title").all_inner_texts()
    assert [t.split(". ", 1)[1].split(" (")[0] for t in texts] == [
        f"Projekt {x}" for x in (c, a, b)
    ]
    said = _live(page)
    assert said.startswith("Projekty ogólnomiejskie — nowa kolejność: 1. ")
    assert f"Projekt {c}" in said.split(";")[0] and "(3 pkt)" in said.split(";")[0]
    # the keyboard: "down" on the 1st district project (focus stays on the moved row)
    page.locator("#order-local > li").first.locator('[data-move="down"]').focus()
    page.keyboard.press("Enter")
    assert _selects(page, "local") == [e, d, f]
    assert page.evaluate("document.activeElement.closest('li').dataset.value") == d
    page.keyboard.press("Enter")  # down again: d goes last
    assert _selects(page, "local") == [e, f, d]
    assert "Projekty dzielnicowe — nowa kolejność" in _live(page)
    # a select changed by hand: the list follows
    page.select_option("#f-local-2", LOCAL_IDS[3])
    assert _order(page, "order-local") == [e, LOCAL_IDS[3], d]
    _identity(page, "Anna Przeciągalska")
    _axe_clean(page)
    _shot(page, "vote-desktop")
    page.click("#to-review")
    page.wait_for_selector("#review-citywide")
    assert _hidden(page, "citywide") == [c, a, b]
    texts = page.locator("#review-citywide > li").all_inner_texts()
    assert texts[0].startswith(f"Projekt {c}") and "3 pkt" in texts[0]
    # on the review step as well: the last district project dragged up to 2nd place
    _mouse_drag(page, "review-local", 2, 1)
    assert _hidden(page, "local") == [e, d, LOCAL_IDS[3]]
    texts = page.locator("#review-local > li").all_inner_texts()
    assert [t.split(" — ")[0] for t in texts] == [f"Projekt {x}" for x in (e, d, LOCAL_IDS[3])]
    assert "2 pkt" in texts[1] and "1 pkt" in texts[2]
    _axe_clean(page)
    _shot(page, "review-desktop")
    before = _stored(engine)
    page.click("#cast")
    page.wait_for_selector("#cast-ok")
    after = _stored(engine)
    assert len(after["citywide"]) == len(before["citywide"]) + 1
    assert ([c, a, b], [3, 2, 1]) in after["citywide"]
    assert ([e, d, LOCAL_IDS[3]], [3, 2, 1]) in after["district"]
    assert page.watch.foreign() == [] and page.script_errors() == []


def test_drag_with_a_finger_at_phone_size(browser, live_server, make_user, engine):
    ctx = browser.new_context(
        locale="pl-PL", viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    pg = ctx.new_page()
    pg.watch = PageWatch(pg)
    _watch_script(pg)
    try:
        voter = make_user()
        login_page(pg, live_server, voter)
        a, b, c = CITY_IDS[4], CITY_IDS[3], CITY_IDS[1]
        d, e, f = LOCAL_IDS[4], LOCAL_IDS[2], LOCAL_IDS[0]
        _declare_and_choose(pg, live_server, [a, b, c], [d, e, f])
        # the finger drags the row; the page itself does not scroll (touch-action: none)
        assert _touch_drag(pg, "order-citywide", 0, 2) < 5  # the 1st goes last
        assert _selects(pg, "citywide") == [b, c, a]
        assert _touch_drag(pg, "order-local", 2, 0) < 5  # the last goes first
        assert _selects(pg, "local") == [f, d, e]
        assert "Projekty dzielnicowe — nowa kolejność: 1. " in _live(pg)
        # no row wider than the phone's screen
        widths = pg.eval_on_selector_all(".ballot-item", "els => els.map(e => e.scrollWidth)")
        assert max(widths) <= 390
        _identity(pg, "Bogdan Dotykowy")
        _axe_clean(pg)
        _shot(pg, "vote-phone")
        pg.click("#to-review")
        pg.wait_for_selector("#review-citywide")
        assert _hidden(pg, "citywide") == [b, c, a]
        _touch_drag(pg, "review-citywide", 1, 0)
        assert _hidden(pg, "citywide") == [c, b, a]
        texts = pg.locator("#review-citywide > li").all_inner_texts()
        assert [t.split(" — ")[0] for t in texts] == [f"Projekt {x}" for x in (c, b, a)]
        _axe_clean(pg)
        _shot(pg, "review-phone")
        pg.click("#cast")
        pg.wait_for_selector("#cast-ok")
        stored = _stored(engine)
        assert ([c, b, a], [3, 2, 1]) in stored["citywide"]
        assert ([f, d, e], [3, 2, 1]) in stored["district"]
        assert pg.watch.foreign() == [] and pg.script_errors() == []
    finally:
        ctx.close()


def test_without_the_script_the_selects_still_order_the_ballot(browser, live_server, make_user):
    """Progressive enhancement: JavaScript off, the order lists stay hidden and the form works."""
    ctx = browser.new_context(locale="pl-PL", java_script_enabled=False)
    pg = ctx.new_page()
    try:
        voter = make_user()
        login_page(pg, live_server, voter)
        _declare_and_choose(pg, live_server, CITY_IDS[:3], LOCAL_IDS[:3])
        assert not pg.is_visible("#order-citywide")
        _identity(pg, "Celina Bezskryptowa")
        pg.click("#to-review")
        texts = pg.locator("#review-citywide > li").all_inner_texts()
        assert texts[0] == f"Projekt {CITY_IDS[0]} — 3 pkt"
        pg.click("#cast")
        pg.wait_for_selector("#cast-ok")
    finally:
        ctx.close()
