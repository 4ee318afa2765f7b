"""Issue 15.3, 15.4 and 15.11 in real Chromium at 390×844 and 1280×800:

* one clustering per map: every clustered layer shares the map's one cluster group, a cluster
  is drawn in the colours of the legend (and the legend shows the same cluster symbol);
* /proposals draws proposals located only by their district as the district's shape with a
  count, not as a pile of markers on the district's centre; a click lists them with links;
* phone: a side panel holding a form is not a scroll box that hides its submit button, no
  select's text is cut off on the planners' pages, the live message names the place field in
  words; axe finds no A/AA violation on these pages.

Screenshots go to CIVICMAP_SHOTS (default var/test-artefacts/map-usability/), printed by the
tests; they were looked at.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import tilemap
from conftest import login_page, run_axe
from playwright.sync_api import Error as PlaywrightError
from propose_support import DECLARED, open_edition

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("open_edition")]
assert open_edition

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("CIVICMAP_SHOTS", ROOT / "var" / "test-artefacts" / "map-usability"))
SIZES = [(390, 844), (1280, 800)]
RYNEK = (19.9373, 50.0617)
PLANNER_PAGES = [
    "/planners",
    "/planners/coverage",
    "/planners/demand",
    "/planners/duplicates",
    "/planners/history",
    "/planners/hotspots",
    "/planners/ngo-reach",
    "/planners/revitalisation",
]


def shot(page, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")


def post_proposal(client, title: str, **fields) -> int:
    data = {
        "form_key": os.urandom(16).hex(),
        "action": "submit",
        "scope": "district",
        "title": title,
        "description": "Opis projektu do testu mapy.",
        "category": "public space",
        "cost": "40000",
        **DECLARED,
        **fields,
    }
    r = client.post("/propose", data=data)
    assert r.status_code == 303, r.data[:500]
    return int(r.headers["Location"].rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def located(app):
    """Twelve proposals with a point near the Rynek (among the civic venues there) and one
    located only by its district (XIII Podgórze)."""
    client = _resident(app, "Autorka Mapy")
    ids = []
    for i in range(12):
        lon, lat = RYNEK[0] + (i % 4 - 1.5) * 0.0012, RYNEK[1] + (i // 4 - 1) * 0.0009
        point = json.dumps({"type": "Point", "coordinates": [lon, lat]})
        ids.append(post_proposal(client, f"Punkt przy Rynku {i}", location="map", geometry=point))
    whole = post_proposal(client, "Cała dzielnica Podgórze", location="district", district="13")
    return {"points": ids, "whole": whole, "client": client}


def _resident(app, name: str):
    """A signed-in resident for a module-scoped fixture (make_user is per test)."""
    import secrets

    from sqlalchemy import text

    from app.auth import _sha, create_user
    from app.security import mask_token, new_csrf_secret

    with app.app_context(), app.extensions["engine"].begin() as conn:
        user = create_user(
            conn,
            f"map15-{secrets.token_hex(4)}@example.org",
            name,
            "correct horse battery staple",
            roles=("resident",),
            confirmed=True,
        )
        raw = secrets.token_urlsafe(32)
        conn.execute(
            text(
                "INSERT INTO user_sessions (id_hash, user_id, expires_at) "
                "VALUES (:h, :u, now() + interval '1 day')"
            ),
            {"h": _sha(raw), "u": user.id},
        )
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.215.0.1"
    secret = new_csrf_secret()
    with client.session_transaction() as sess:
        sess["_csrf"] = secret
        sess["sid"] = raw
        sess.permanent = True
    client.environ_base["HTTP_X_CSRFTOKEN"] = mask_token(secret)
    return client


# --- 15.4: one clustering per map, the legend's colours ---------------------------------------

COLOURS_JS = """(nodes) => {
  const out = new Set();
  for (const n of nodes) {
    const cs = getComputedStyle(n);
    for (const v of [cs.backgroundImage, cs.backgroundColor]) {
      for (const m of (v || '').matchAll(/rgba?\\([^)]*\\)/g)) {
        if (!/rgba\\(0, 0, 0, 0\\)/.test(m[0])) out.add(m[0]);
      }
    }
  }
  return [...out];
}"""


@pytest.mark.parametrize("width, height", SIZES)
def test_one_cluster_group_per_map_in_the_legends_colours(
    page, live_server, located, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(live_server + f"/#map=13/{RYNEK[1]}/{RYNEK[0]}")
    page.wait_for_selector("#map_main[data-loaded-budget-proposals]", state="attached")
    page.wait_for_selector("#map_main[data-loaded-civic-venues]", state="attached")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector(".civic-cluster:not(.civic-cluster-sample)")
    # One set of clusters on the map, shared by every clustered layer (the tiles' cells,
    # static/js/civictiles.js), and no per-layer cluster group.
    assert page.evaluate("() => !!map_main._civicCells")
    groups = page.evaluate(
        "() => Object.values(map_main._layers).filter(l => L.MarkerClusterGroup && "
        "l instanceof L.MarkerClusterGroup).length"
    )
    assert groups == 0
    # The proposals near the Rynek and the civic venues there are clustered together:
    # at least one cluster holds both layers, and no proposals' cluster lies over a venues' one.
    mixed = page.locator(".civic-cluster-mixed")
    assert mixed.count() >= 1
    assert "budget-proposals:" in mixed.first.locator(".civic-cluster-badge").get_attribute(
        "data-layers"
    )
    label = mixed.first.inner_text()
    assert "Projekty budżetu obywatelskiego" in label and "Miejsca obywatelskie" in label
    boxes = [
        c.bounding_box() for c in page.locator(".civic-cluster:not(.civic-cluster-sample)").all()
    ]

    def overlap(a, b) -> float:
        w = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
        h = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
        return max(w, 0) * max(h, 0) / (a["width"] * a["height"])

    covered = [
        (i, j) for i in range(len(boxes)) for j in range(i) if overlap(boxes[i], boxes[j]) > 0.5
    ]
    assert covered == [], "one cluster hides another"
    # Every colour of every cluster's ring is a colour of the legend beside the map.
    legend_colours = set(page.eval_on_selector_all(".civic-panel .swatch", COLOURS_JS))
    ring_colours = set(
        page.eval_on_selector_all(
            ".civic-cluster:not(.civic-cluster-sample) .civic-cluster-badge", COLOURS_JS
        )
    )
    assert ring_colours and ring_colours <= legend_colours, ring_colours - legend_colours
    # The legend shows the same symbol: the same badge, in the same colours.
    sample = page.locator(".civic-panel [data-panel-cluster]")
    if width < 640:
        page.locator(".civic-panel summary").click()
    assert sample.is_visible()
    assert "Skupisko" in sample.inner_text()
    sample_colours = set(
        page.eval_on_selector_all(
            ".civic-panel .civic-cluster-sample .civic-cluster-badge", COLOURS_JS
        )
    )
    assert ring_colours <= sample_colours <= legend_colours
    shot(page, f"clusters-legend-{width}x{height}")
    assert run_axe(page) == []
    # Switching a layer off takes its points out of the shared clusters.
    if width >= 640:
        page.get_by_role("checkbox", name=re.compile("Miejsca obywatelskie")).uncheck()
        page.wait_for_function("() => !document.querySelector('.civic-cluster-civic-venues')")
        assert page.locator(".civic-cluster-budget-proposals").count() >= 1
    assert page.watch.errors == [] and page.watch.foreign() == []


# --- 15.3: proposals located only by their district -------------------------------------------


def whole_district_api(client, query: str = "") -> dict:
    r = client.get("/api/proposals/districts" + query)
    assert r.status_code == 200
    return r.get_json()


def test_the_districts_api_counts_whole_district_proposals(client, located):
    fc = whole_district_api(client, "?edition=2024")
    assert len(fc["features"]) == 18
    counts = {f["id"]: f["properties"]["count"] for f in fc["features"]}
    assert sum(counts.values()) == fc["total"] > 0
    first = fc["features"][0]["properties"]
    assert len(first["items"]) == min(first["count"], 20)
    assert all(it["url"] == f"/proposals/{it['id']}" for it in first["items"])
    # filters apply; the located proposals are not among them
    mine = whole_district_api(client, "?q=Cała+dzielnica+Podgórze")
    assert [f["id"] for f in mine["features"]] == [13]
    assert mine["features"][0]["properties"]["items"][0]["id"] == located["whole"]
    assert whole_district_api(client, "?q=Punkt+przy+Rynku")["features"] == []
    located_only = client.get("/api/proposals?located=1&q=Punkt+przy+Rynku").get_json()
    assert len(located_only["features"]) == 12
    assert client.get("/api/proposals/districts?district=x").status_code == 400


@pytest.mark.parametrize("width, height", SIZES)
def test_proposals_by_district_are_shapes_not_a_pile(
    page, live_server, client, located, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(live_server + "/proposals")
    page.wait_for_selector("#map_main[data-loaded-district-groups]", state="attached")
    page.wait_for_selector("#map_main[data-loaded-budget-proposals]", state="attached")
    page.wait_for_load_state("networkidle")
    fc = whole_district_api(client)
    container = page.locator("#map_main")
    assert container.get_attribute("data-loaded-district-groups") == str(len(fc["features"]))
    assert container.get_attribute("data-whole-district") == str(fc["total"])
    # Only the proposals with a place of their own are on the tiles (the 12 near the Rynek,
    # here clustered); the thousands located by district are not.
    assert container.get_attribute("data-loaded-budget-proposals") == "12"
    assert tilemap.cluster_total(page) == 12
    badges = page.locator(".district-group-badge")
    assert badges.count() == len(fc["features"])
    shown = sum(int(t) for t in page.locator(".district-group-count").all_inner_texts())
    assert shown == sum(f["properties"]["count"] for f in fc["features"])
    # The list beside the map: one disclosure per district.
    side = page.locator("#whole-district-list details")
    assert side.count() == len(fc["features"])
    assert "Projekty na całą dzielnicę" in page.locator("#whole-district-status").inner_text()
    shot(page, f"proposals-by-district-{width}x{height}")
    assert run_axe(page) == []
    # Keyboard: Tab to a district's badge, Enter lists its proposals with their pages.
    podgorze = next(f for f in fc["features"] if f["id"] == 13)
    badge = page.locator(".district-group-badge", has_text=podgorze["properties"]["full_name"])
    badge.focus()
    page.keyboard.press("Enter")
    popup = page.locator(".district-group-popup")
    popup.wait_for()
    assert podgorze["properties"]["full_name"] in popup.inner_text()
    links = popup.locator(".district-group-items a")
    assert links.count() == len(podgorze["properties"]["items"])
    assert all(
        re.fullmatch(r"/proposals/\d+", h)
        for h in links.evaluate_all("a => a.map(x => x.getAttribute('href'))")
    )
    assert popup.locator(".district-group-all").get_attribute("href").endswith("district=13")
    page.wait_for_timeout(300)
    shot(page, f"proposals-district-popup-{width}x{height}")
    assert run_axe(page) == []
    # A click on the district's shape lists them too; a link opens the proposal's page.
    page.keyboard.press("Escape")
    page.evaluate("() => map_main.closePopup()")
    page.evaluate(
        """(n) => { civicmap.map.eachLayer(l => { if (l.feature && l.feature.id === n && l.getBounds
             && l.feature.properties.items) l.fire('click', {latlng: l.getCenter()}); }); }""",
        13,
    )
    popup.wait_for()
    first = podgorze["properties"]["items"][0]
    popup.get_by_role("link", name=first["title"]).click()
    page.wait_for_url(f"**/proposals/{first['id']}")
    assert page.locator("h1").inner_text() == first["title"]
    assert page.watch.errors == [] and page.watch.foreign() == []


# --- 15.11: the phone --------------------------------------------------------------------------


def reachable(page, selector: str) -> None:
    """The element is not inside a scroll box of the page's side panel, and once the page is
    scrolled to it, it is the element under its own centre (nothing covers it)."""
    el = page.locator(selector)
    el.scroll_into_view_if_needed()
    inner_scroll = el.evaluate(
        """e => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
                    const s = getComputedStyle(p);
                    if (/(auto|scroll)/.test(s.overflowY) && p.scrollHeight > p.clientHeight + 1)
                      return p.className || p.tagName; }
                  return null; }"""
    )
    assert inner_scroll is None, f"{selector} scrolls inside {inner_scroll}"
    hit = el.evaluate(
        """e => { const r = e.getBoundingClientRect();
                  const h = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                  return h === e || e.contains(h); }"""
    )
    assert hit, f"{selector} is covered"


@pytest.mark.parametrize("width, height", SIZES)
def test_flag_form_submit_is_reachable(page, live_server, make_user, located, width, height):
    page.set_viewport_size({"width": width, "height": height})
    reader = make_user(name="Czytelnik Zgłaszający")
    login_page(page, live_server, reader)
    pid = located["points"][width % 7]
    page.goto(live_server + f"/proposals/{pid}")
    page.wait_for_selector("#map_main[data-loaded-districts='18']", state="attached")
    page.wait_for_load_state("networkidle")
    page.locator("details.flag summary").click()
    page.get_by_label("Powód zgłoszenia").fill("Test: proszę sprawdzić.")
    reachable(page, "details.flag button[type=submit]")
    shot(page, f"proposal-flag-form-{width}x{height}")
    assert run_axe(page) == []
    page.locator("details.flag button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.watch.errors == []


@pytest.fixture(scope="module")
def consultation(engine):
    from datetime import timedelta

    from sqlalchemy import text

    area = "POLYGON((20.030 50.068, 20.045 50.068, 20.045 50.078, 20.030 50.078, 20.030 50.068))"
    with engine.begin() as conn:
        today = conn.execute(text("SELECT current_date")).scalar_one()
        return conn.execute(
            text(
                "INSERT INTO consultations (title, description, opens_on, closes_on, stage, geom) "
                "VALUES ('Konsultacje: Plac Centralny', 'Jak zmienić plac?', :o, :c, 'open', "
                "ST_GeomFromText(:g, 4326)) RETURNING id"
            ),
            {"o": today - timedelta(days=1), "c": today + timedelta(days=30), "g": area},
        ).scalar_one()


@pytest.mark.parametrize("width, height", SIZES)
def test_consultation_forms_are_reachable(
    page, live_server, make_user, consultation, width, height
):
    author = make_user(name="Autor Uwagi")
    r = author.post(
        f"/consultations/{consultation}/comments",
        data={"form_key": os.urandom(16).hex(), "place": "whole", "body": "Więcej drzew na placu."},
    )
    assert r.status_code in (201, 303), r.data[:300]
    page.set_viewport_size({"width": width, "height": height})
    login_page(page, live_server, make_user(name="Sąsiadka"))
    page.goto(live_server + f"/consultations/{consultation}")
    page.wait_for_selector("#map_main[data-loaded-areas='1']", state="attached")
    page.wait_for_load_state("networkidle")
    reachable(page, "form.comment-form button[type=submit]")
    flag = page.locator("li.comment details.flag").first
    flag.locator("summary").click()
    reachable(page, "li.comment details.flag[open] button[type=submit]")
    shot(page, f"consultation-forms-{width}x{height}")
    assert run_axe(page) == []


SELECTS_JS = """() => {
  const c = document.createElement('canvas').getContext('2d'), out = [];
  for (const s of document.querySelectorAll('select')) {
    const cs = getComputedStyle(s);
    c.font = cs.font;
    // the text's room: the box minus its padding and the arrow
    const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20;
    const text = s.options[s.selectedIndex] ? s.options[s.selectedIndex].text : '';
    const label = s.labels[0];
    out.push({id: s.id, room: room, text: text, width: c.measureText(text).width,
              labelCut: !!label && label.scrollWidth > label.clientWidth + 1,
              right: s.getBoundingClientRect().right});
  }
  return out;
}"""


@pytest.mark.parametrize("width, height", SIZES)
def test_planner_selects_are_not_cut_off(page, live_server, width, height):
    page.set_viewport_size({"width": width, "height": height})
    seen = 0
    for path in PLANNER_PAGES:
        # a planner page whose job finishes reloads itself: a goto may be aborted once
        for attempt in range(3):
            try:
                page.goto(live_server + path)
                break
            except PlaywrightError:
                if attempt == 2:
                    raise
        page.wait_for_load_state("networkidle")
        for s in page.evaluate(SELECTS_JS):
            seen += 1
            assert s["width"] <= s["room"], f"{path} #{s['id']}: „{s['text']}” is cut off"
            assert not s["labelCut"], f"{path} #{s['id']}: its label is cut off"
            assert s["right"] <= width, f"{path} #{s['id']} runs off the screen"
        if path in ("/planners/demand", "/planners/ngo-reach"):
            page.locator("form.planner-form").scroll_into_view_if_needed()
            shot(page, f"planner{path.replace('/planners', '').replace('/', '-')}-{width}x{height}")
            assert run_axe(page) == []
    assert seen >= 8


def test_the_live_place_message_names_the_field_in_words(page, live_server, make_user, client):
    r = client.post(
        "/api/geometry/districts",
        json={"geometry": {"type": "Point", "coordinates": [19.9, "x"]}},
        headers={"Accept": "application/json"},
    )
    assert r.status_code in (400, 403)
    resident = make_user(name="Rysująca Mieszkanka")
    page.set_viewport_size({"width": 390, "height": 844})
    login_page(page, live_server, resident)
    page.goto(live_server + "/propose")
    page.wait_for_selector("#map_main[data-draw-ready]", state="attached")
    # A line of one point: the server refuses it, and the form says why in words.
    page.evaluate(
        """() => { const out = document.getElementById('district-output');
                   return fetch(out.getAttribute('data-url'), {method: 'POST', credentials: 'same-origin',
                     headers: {'Content-Type': 'application/json', 'Accept': 'application/json',
                               'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content},
                     body: JSON.stringify({geometry: {type: 'LineString', coordinates: [[19.9, 50.05]]}})})
                   .then(r => r.json()).then(b => { window.__msg = b.error.message; }); }"""
    )
    message = page.evaluate("() => window.__msg")
    assert message.startswith("Pole „Miejsce na mapie”"), message
    assert "geometry" not in message
    # and with nothing at all
    page.evaluate(
        """() => fetch(document.getElementById('district-output').getAttribute('data-url'),
                   {method: 'POST', credentials: 'same-origin',
                    headers: {'Content-Type': 'application/json', 'Accept': 'application/json',
                              'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content},
                    body: JSON.stringify({nothing: 1})})
                 .then(r => r.json()).then(b => { window.__msg = b.error.message; })"""
    )
    assert page.evaluate("() => window.__msg") == "Pole „Miejsce na mapie” jest wymagane."
    # the page shows the message in the district read-out (what a resident reads)
    page.evaluate(
        "() => window.participation.setPoint && window.participation.setPoint(19.9373, 50.0617)"
    )
    page.wait_for_function(
        "() => !/sprawdzam/.test(document.getElementById('district-output').textContent)"
    )
    assert "Stare Miasto" in page.locator("#district-output").inner_text()
