"""Issue 10.11: the execution map's popup shows the latest milestone photo and links to the
project's execution page. The pb-execution layer's feature carries the latest milestone (date,
a short note), the latest milestone photo's URL (field type ``image``: a thumbnail in the popup)
and the execution page's URL (type ``url``: a link) — in the layers API, the OGC API collection
and the exports alike; only photos of selected, visible projects.

Set EXECUTION_POPUP_SCREENSHOTS=<dir> to keep the popup's screenshots."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from conftest import login_page
from PIL import Image
from sqlalchemy import text

JSON = {"Accept": "application/json"}
SHOTS = os.environ.get("EXECUTION_POPUP_SCREENSHOTS")


@pytest.fixture(autouse=True)
def uploads(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config.pop("UPLOAD_DIR", None)


@pytest.fixture()
def staff(make_user):
    return make_user("official")


@pytest.fixture()
def pid(engine) -> int:
    """A selected district project of 2024 without milestones (a new one per test)."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                """SELECT p.id FROM budget_proposals p
                   WHERE p.edition = 2024 AND p.status = 'selected' AND p.hidden_at IS NULL
                     AND p.scope = 'district'
                     AND NOT EXISTS (SELECT 1 FROM pb_milestones m WHERE m.proposal_id = p.id)
                     AND NOT EXISTS (SELECT 1 FROM pb_execution e WHERE e.proposal_id = p.id)
                   ORDER BY p.id LIMIT 1"""
            )
        ).scalar_one()


def photo(size=(320, 200), color=(200, 120, 30)) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, color)
    for x in range(0, size[0], 20):  # stripes: something to see in the thumbnail
        for y in range(size[1]):
            img.putpixel((x, y), (255, 255, 255))
    img.save(buf, "JPEG")
    return buf.getvalue()


def add_milestone(client, pid: int, on: str, note: str, data: bytes | None = None) -> int:
    form = {"on_date": on, "note": note}
    if data is not None:
        form["photo"] = (io.BytesIO(data), "etap.jpg", "image/jpeg")
    r = client.post(
        f"/budget/execution/{pid}/milestones",
        data=form,
        content_type="multipart/form-data",
        headers=JSON,
    )
    assert r.status_code == 200, r.data[:300]
    return r.get_json()["milestone"]


def stored_photo(engine, milestone: int) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT photo FROM pb_milestones WHERE id = :m"), {"m": milestone}
        ).scalar_one()


def schemas_with_format(doc, fmt: str) -> list[str]:
    """The property names, anywhere in an OpenAPI document, whose schema has this format."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if isinstance(v, dict) and (v.get("format") == fmt or fmt in str(v.get("anyOf"))):
                out.append(k)
            out += schemas_with_format(v, fmt)
    elif isinstance(doc, list):
        for v in doc:
            out += schemas_with_format(v, fmt)
    return out


def feature(client, pid: int) -> dict:
    r = client.get(f"/api/layers/pb-execution/features/{pid}")
    assert r.status_code == 200, r.data[:300]
    return r.get_json()["properties"]


def test_feature_carries_latest_photo_milestone_and_link(staff, client, engine, pid):
    before = feature(client, pid)
    assert before["photo_url"] is None and before["milestone_date"] is None
    assert before["execution_url"] == f"/budget/execution/{pid}"
    first = add_milestone(staff, pid, "2025-05-10", "Projekt gotowy", photo())
    second = add_milestone(staff, pid, "2025-06-20", "Prace ruszyły", photo(color=(20, 90, 160)))
    add_milestone(staff, pid, "2025-06-01", "Przetarg rozstrzygnięty")  # older, no photo
    props = feature(client, pid)
    name = stored_photo(engine, second)
    assert name != stored_photo(engine, first)
    assert props["photo_url"] == f"/budget/execution/photos/{name}"  # the latest photo
    assert (props["milestone_date"], props["milestone_note"]) == ("2025-06-20", "Prace ruszyły")
    # the URLs are the app's own routes: the photo is served to anyone, the page exists
    got = client.get(props["photo_url"])
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert client.get(props["execution_url"]).status_code == 200
    # a newer milestone without a photo: its date and note, the photo stays the latest one
    add_milestone(staff, pid, "2025-07-01", "Odbiór " + "bardzo długiej inwestycji " * 20)
    props = feature(client, pid)
    assert props["milestone_date"] == "2025-07-01" and props["photo_url"].endswith(name)
    assert len(props["milestone_note"]) == 200 and props["milestone_note"].endswith("…")


def test_ogc_collection_and_exports_carry_the_photo(staff, client, engine, pid):
    m = add_milestone(staff, pid, "2025-05-10", "Ławki ustawione", photo())
    url = f"/budget/execution/photos/{stored_photo(engine, m)}"
    doc = client.get("/ogc/api").get_json()  # the items' schema: a URI (a reference)
    assert {"photo_url", "execution_url"} <= set(schemas_with_format(doc, "uri-reference"))
    item = client.get(f"/ogc/collections/pb-execution/items/{pid}").get_json()
    assert item["properties"]["photo_url"] == url
    assert item["properties"]["execution_url"] == f"/budget/execution/{pid}"
    r = client.get("/exports/pb-execution.csv?edition=2024")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    header = set(rows[0])
    assert {"ZDJECIE", "REALIZACJA", "DATA_ETAPU", "OPIS_ETAPU"} <= header or {
        "photo_url",
        "execution_url",
    } <= header
    mine = [x for x in rows if url in x.values()]
    assert len(mine) == 1


def test_hidden_project_shows_no_photo(staff, client, engine, pid):
    m = add_milestone(staff, pid, "2025-05-10", "Ukryty etap", photo())
    url = f"/budget/execution/photos/{stored_photo(engine, m)}"
    assert client.get(url).status_code == 200
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE budget_proposals SET hidden_at = now() WHERE id = :i"), {"i": pid}
        )
    try:
        assert client.get(f"/api/layers/pb-execution/features/{pid}").status_code == 404
        assert client.get(url).status_code == 404
        assert client.get(f"/ogc/collections/pb-execution/items/{pid}").status_code == 404
        items = client.get("/ogc/collections/pb-execution/items?edition=2024&limit=1000").get_json()
        assert all(f["properties"].get("photo_url") != url for f in items["features"])
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE budget_proposals SET hidden_at = NULL WHERE id = :i"), {"i": pid}
            )


def test_popup_shows_thumbnail_and_link(browser, live_server, staff, engine, pid):
    """In Chromium: the execution map's popup has the photo (decoded, Polish alt text) and the
    link to the project's execution page; at phone and desktop size."""
    r = staff.post(f"/budget/execution/{pid}", json={"status": "works", "progress": 60})
    assert r.status_code == 200
    add_milestone(staff, pid, "2025-06-20", "Nowe drzewa posadzone", photo((640, 400)))
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT title, pool_district, ST_Y(geom) AS lat, ST_X(geom) AS lon "
                "FROM pb_execution_map WHERE id = :i"
            ),
            {"i": pid},
        ).one()
    for w, h, label in ((390, 844, "phone"), (1280, 800, "desktop")):
        ctx = browser.new_context(locale="pl-PL", viewport={"width": w, "height": h})
        pg = ctx.new_page()
        try:
            login_page(pg, live_server, staff)
            pg.goto(
                f"{live_server}/budget/execution?status=works&edition=2024"
                f"&district={row.pool_district}"
            )
            pg.wait_for_function("() => window.map_main && map_main._loaded")
            pg.evaluate("() => map_main.getContainer().scrollIntoView()")
            pg.evaluate(
                "([lat, lon]) => map_main.setView([lat, lon], 16, {animate: false})",
                [row.lat, row.lon],
            )
            pg.wait_for_selector("#map_main[data-loaded-pb-execution='1']", state="attached")
            pg.wait_for_timeout(300)
            x, y = pg.evaluate(
                """([lat, lon]) => {
                    const p = map_main.latLngToContainerPoint([lat, lon]);
                    const r = map_main.getContainer().getBoundingClientRect();
                    return [r.left + p.x, r.top + p.y];
                }""",
                [row.lat, row.lon],
            )
            pg.mouse.click(x, y)
            img = pg.locator(".leaflet-popup-content .popup-photo img")
            img.wait_for(timeout=15000)
            title = row.title if len(row.title) <= 140 else row.title[:139] + "…"
            assert img.get_attribute("alt") == f"Zdjęcie z realizacji: {title}"
            pg.wait_for_function(
                "() => { const i = document.querySelector('.popup-photo img');"
                " return i && i.complete && i.naturalWidth > 0; }"
            )
            assert img.evaluate("i => i.naturalWidth") == 640
            link = pg.locator(".leaflet-popup-content a.popup-link")
            assert link.inner_text().startswith("Przebieg realizacji")
            assert link.get_attribute("href") == f"/budget/execution/{pid}"
            text_ = pg.inner_text(".leaflet-popup-content")
            assert "Nowe drzewa posadzone" in text_ and "2025-06-20" in text_
            pg.wait_for_timeout(600)  # the popup's pan into view (animated) has ended
            box = pg.locator(".leaflet-popup").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= w
            # below the map's top controls (zoom, the layers panel's button), not under them
            under = pg.evaluate(
                """() => {
                    const p = document.querySelector('.leaflet-popup').getBoundingClientRect();
                    return [...document.querySelectorAll('.leaflet-top .leaflet-control')]
                        .map(c => c.getBoundingClientRect())
                        .filter(c => c.width && c.left < p.right && p.left < c.right
                                     && c.top < p.bottom && p.top < c.bottom).length;
                }"""
            )
            assert under == 0
            if SHOTS:
                Path(SHOTS).mkdir(parents=True, exist_ok=True)
                pg.screenshot(path=f"{SHOTS}/execution-popup-{label}.png")
            if label == "desktop":
                link.click()
                pg.wait_for_url(f"**/budget/execution/{pid}")
        finally:
            ctx.close()
