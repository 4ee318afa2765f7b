"""Issue 10.11: photos of the milestones of a winning project's execution. Staff add or edit a
milestone with a photo (JPEG/PNG, at most 5 MB), re-encoded without EXIF/GPS by the helper
proposal photos use and stored the same way; shown on the project's execution page with alt
text. A bad file is refused naming the field ``photo``, with no row changed and no file left.

Set MILESTONE_SCREENSHOTS=<dir> to keep the execution page's screenshots."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from conftest import run_axe
from PIL import Image
from sqlalchemy import text

JSON = {"Accept": "application/json"}
SHOTS = os.environ.get("MILESTONE_SCREENSHOTS")


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
    """A selected district project of 2024 with no milestone yet (one per test)."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                """SELECT p.id FROM budget_proposals p
                   WHERE p.edition = 2024 AND p.status = 'selected' AND p.hidden_at IS NULL
                     AND NOT EXISTS (SELECT 1 FROM pb_milestones m WHERE m.proposal_id = p.id)
                   ORDER BY p.id LIMIT 1"""
            )
        ).scalar_one()


def jpeg_with_gps(size=(64, 48)) -> bytes:
    img = Image.new("RGB", size, (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (50.0, 3.0, 42.0), 3: "E", 4: (19.0, 56.0, 14.0)}  # GPSInfo
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the upload really carries a position
        assert check.getexif().get_ifd(0x8825)[2] == (50.0, 3.0, 42.0)
    return data


def png_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-location 50.06N 19.93E")
    buf = io.BytesIO()
    Image.new("RGBA", (20, 10), (0, 128, 0, 200)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def rows(engine, proposal_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT id, on_date, note, photo FROM pb_milestones WHERE proposal_id = :i "
                    "ORDER BY id"
                ),
                {"i": proposal_id},
            )
        ]


def execution_row(engine, proposal_id: int):
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT * FROM pb_execution WHERE proposal_id = :i"), {"i": proposal_id}
        ).first()


def files(uploads: Path) -> list[str]:
    return sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []


def post_milestone(client, url, photo=None, name="plac.jpg", json=True, **fields):
    data = {"on_date": "2025-06-15", "note": "Plac zabaw otwarty", **fields}
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), name, "image/jpeg")
    return client.post(
        url, data=data, content_type="multipart/form-data", headers=JSON if json else {}
    )


def test_photo_is_reencoded_without_exif_and_shown(staff, client, engine, uploads, pid):
    r = post_milestone(staff, f"/budget/execution/{pid}/milestones", jpeg_with_gps())
    assert r.status_code == 200, r.data[:500]
    mid = r.get_json()["milestone"]
    [(got_id, on_date, note, name)] = rows(engine, pid)
    assert got_id == mid and str(on_date) == "2025-06-15" and note == "Plac zabaw otwarty"
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", name)
    assert files(uploads) == [name]  # the proposal photos' folder, a random name
    stored = (uploads / name).read_bytes()
    assert b"PhoneMaker" not in stored and b"Exif" not in stored
    # served to anyone (the project is public), and what is served has no EXIF at all
    resp = client.get(f"/budget/execution/photos/{name}")
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(resp.data)) as img:
        assert img.format == "JPEG" and img.size == (64, 48)
        assert not img.getexif() and "exif" not in img.info
    # on the project's execution page, with the milestone's text as alt; in the list's JSON
    page = client.get(f"/budget/execution/{pid}").get_data(as_text=True)
    assert f'src="/budget/execution/photos/{name}"' in page
    assert 'alt="Plac zabaw otwarty"' in page
    listed = client.get("/budget/execution?edition=2024&all=1", headers=JSON).get_json()
    row = next(x for x in listed["projects"] if x["id"] == pid)
    assert row["milestones"][0]["photo"] == name
    # nothing else is served from the folder through this route
    assert client.get("/budget/execution/photos/" + "0" * 32 + ".jpg").status_code == 404
    assert client.get("/budget/execution/photos/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get(f"/uploads/{name}").status_code == 404  # not a proposal's photo


def test_png_metadata_dropped(staff, engine, uploads, pid):
    r = post_milestone(staff, f"/budget/execution/{pid}/milestones", png_with_text(), "x.png")
    assert r.status_code == 200
    [(_, _, _, name)] = rows(engine, pid)
    assert name.endswith(".png") and b"secret-location" not in (uploads / name).read_bytes()


@pytest.mark.parametrize(
    "payload, name, status, code",
    [
        (b"GIF89a" + b"\x00" * 100, "x.gif", 400, "unreadable"),
        (b"<script>alert(1)</script>", "x.jpg", 400, "unreadable"),
        (b"", "x.jpg", 400, "empty"),
        (b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), "big.jpg", 413, "too_large"),
        (None, "gif", 400, "wrong_type"),  # a real GIF image
    ],
)
def test_bad_file_refused_nothing_written(staff, engine, uploads, pid, payload, name, status, code):
    if payload is None:
        buf = io.BytesIO()
        Image.new("RGB", (5, 5)).save(buf, "GIF")
        payload = buf.getvalue()
    before = (rows(engine, pid), execution_row(engine, pid))
    r = post_milestone(staff, f"/budget/execution/{pid}/milestones", payload, name)
    assert r.status_code == status, r.data[:300]
    err = r.get_json()["error"]
    assert err["field"] == "photo" and err["code"] == code, err
    assert (
        rows(engine, pid),
        execution_row(engine, pid),
    ) == before  # no row, not even pb_execution
    assert files(uploads) == []


def test_bad_file_on_the_form_names_the_field(staff, engine, uploads, pid):
    r = post_milestone(
        staff, f"/budget/execution/{pid}/milestones", b"not an image", "x.jpg", json=False
    )
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert 'data-field="photo"' in page and 'href="#milestone-new-photo"' in page
    assert 'id="milestone-new-photo-error"' in page and "Pole „Zdjęcie”" in page
    assert "Plac zabaw otwarty" in page  # what was typed is kept
    assert rows(engine, pid) == [] and files(uploads) == []


def test_bad_field_with_a_good_photo_keeps_no_file(staff, engine, uploads, pid):
    r = post_milestone(
        staff, f"/budget/execution/{pid}/milestones", jpeg_with_gps(), on_date="15.06.2025"
    )
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "on_date"
    assert rows(engine, pid) == [] and files(uploads) == []


def test_edit_replace_keep_remove(staff, client, engine, uploads, pid):
    url = f"/budget/execution/{pid}/milestones"
    mid = post_milestone(staff, url, jpeg_with_gps()).get_json()["milestone"]
    [(_, _, _, first)] = rows(engine, pid)
    # a bad file on edit: nothing changes (not the note either), no file added
    before = rows(engine, pid)
    r = post_milestone(staff, f"{url}/{mid}", b"GIF89a....", "x.gif", note="Zmieniony opis")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "photo"
    assert rows(engine, pid) == before and files(uploads) == [first]
    # edit the note only: the photo stays
    r = post_milestone(staff, f"{url}/{mid}", note="Plac zabaw otwarty dla dzieci")
    assert r.status_code == 200
    [(_, _, note, kept)] = rows(engine, pid)
    assert note == "Plac zabaw otwarty dla dzieci" and kept == first
    # a new photo replaces the old one; the old file is deleted
    r = post_milestone(staff, f"{url}/{mid}", jpeg_with_gps((80, 60)))
    assert r.status_code == 200
    [(_, _, _, second)] = rows(engine, pid)
    assert second != first and files(uploads) == [second]
    assert client.get(f"/budget/execution/photos/{first}").status_code == 404
    with Image.open(io.BytesIO(client.get(f"/budget/execution/photos/{second}").data)) as img:
        assert img.size == (80, 60) and not img.getexif()
    # remove it
    r = post_milestone(staff, f"{url}/{mid}", remove_photo="1")
    assert r.status_code == 200
    assert rows(engine, pid)[0][3] is None and files(uploads) == []
    # another project's milestone id: not found, nothing changed
    with engine.connect() as conn:
        other = conn.execute(
            text(
                "SELECT id FROM budget_proposals WHERE edition = 2024 AND status = 'selected' "
                "AND id <> :i ORDER BY id LIMIT 1"
            ),
            {"i": pid},
        ).scalar_one()
    r = post_milestone(staff, f"/budget/execution/{other}/milestones/{mid}", jpeg_with_gps())
    assert r.status_code == 404 and files(uploads) == []


def test_only_staff_upload(make_user, engine, uploads, pid):
    resident = make_user()
    r = post_milestone(resident, f"/budget/execution/{pid}/milestones", jpeg_with_gps())
    assert r.status_code == 403 and rows(engine, pid) == [] and files(uploads) == []


@pytest.mark.browser
def test_execution_page_in_the_browser(browser, live_server, staff, engine, uploads, pid):
    """The staff form in Chromium: a photo uploaded from a file, shown with its alt text and
    actually decoded by the browser; axe-clean at phone and desktop size."""
    from conftest import login_page

    src = uploads.parent / "plac.jpg"
    src.write_bytes(jpeg_with_gps((640, 480)))
    ctx = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 800})
    pg = ctx.new_page()
    try:
        login_page(pg, live_server, staff)
        pg.goto(f"{live_server}/budget/execution/{pid}")
        pg.fill("#milestone-new-on_date", "2025-07-01")
        pg.fill("#milestone-new-note", "Ławki i zieleń posadzona")
        pg.set_input_files("#milestone-new-photo", str(src))
        pg.click("#add-milestone-submit")
        img = pg.locator("img.milestone-photo").first
        img.wait_for()
        assert img.get_attribute("alt") == "Ławki i zieleń posadzona"
        pg.wait_for_load_state("networkidle")
        assert img.evaluate("i => i.complete && i.naturalWidth") == 640
        for w, h, label in ((390, 844, "phone"), (1280, 800, "desktop")):
            pg.set_viewport_size({"width": w, "height": h})
            bad = [v for v in run_axe(pg) if v["impact"] in ("serious", "critical", "moderate")]
            assert bad == [], bad
            assert pg.evaluate("document.documentElement.scrollWidth") <= w
            if SHOTS:
                Path(SHOTS).mkdir(parents=True, exist_ok=True)
                pg.screenshot(path=f"{SHOTS}/execution-project-{label}.png", full_page=True)
        # the list of all projects links to the page and counts its photos
        pg.goto(f"{live_server}/budget/execution?edition=2024")
        row = pg.locator(f'#execution tr[data-id="{pid}"]')
        assert "Zdjęcia z realizacji: 1" in row.inner_text()
        for w, h, label in ((390, 844, "phone"), (1280, 800, "desktop")):
            pg.set_viewport_size({"width": w, "height": h})
            if SHOTS:
                row.scroll_into_view_if_needed()
                pg.screenshot(path=f"{SHOTS}/execution-list-{label}.png")
        row.locator("a").click()
        pg.wait_for_selector("img.milestone-photo")
        # a bad file from the form: the error names the field
        pg.set_input_files("#milestone-new-photo", str(Path(__file__)))
        pg.fill("#milestone-new-on_date", "2025-07-02")
        pg.fill("#milestone-new-note", "Plik, który nie jest zdjęciem")
        pg.click("#add-milestone-submit")
        assert pg.get_attribute("#errors", "data-field") == "photo"
        assert len(rows(engine, pid)) == 1
    finally:
        ctx.close()
