"""Issue 4: the /propose form, drafts, submission, photos, browsing, permalinks and supports;
issue 9: a proposal goes into the budget edition open for submissions, under its rules."""

from __future__ import annotations

import io
import json
import re
import uuid

import pytest
from conftest import parallel_posts
from PIL import Image
from propose_support import DECLARED, YEAR, close_submissions, open_edition, reopen_submissions
from sqlalchemy import text

pytestmark = pytest.mark.usefixtures("open_edition")
assert open_edition  # a module-scoped fixture: an edition open for submissions

NOWA_HUTA = [
    [20.036, 50.071],
    [20.040, 50.071],
    [20.040, 50.073],
    [20.036, 50.073],
    [20.036, 50.071],
]
PLAC_CENTRALNY = [20.0375, 50.0717]
RYNEK = [19.9373, 50.0617]
WARSAW = [[21.00, 52.22], [21.02, 52.22], [21.02, 52.24], [21.00, 52.22]]


def polygon(ring=NOWA_HUTA) -> str:
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def form(**overrides) -> dict:
    data = {
        "form_key": uuid.uuid4().hex,
        "action": "submit",
        "scope": "district",
        "location": "map",
        "geometry": polygon(),
        "title": "Ławki na Placu Centralnym",
        "description": "Nowe ławki i zieleń wokół placu.",
        "category": "public space",
        "cost": "120 000",
        **DECLARED,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture()
def resident(make_user):
    return make_user()


@pytest.fixture(autouse=True)
def uploads(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config.pop("UPLOAD_DIR", None)


def proposal(engine, pid: int) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT id, title, status, districts, scope, cost, author_id, external_id, photo, "
                "address, hidden_at, hidden_reason, ST_GeometryType(geom) AS gtype, edition "
                "FROM budget_proposals WHERE id = :id"
            ),
            {"id": pid},
        ).one()
    return dict(row._mapping)


def submitted_id(resp) -> int:
    assert resp.status_code == 303, resp.data[:2000]
    m = re.search(r"/proposals/(\d+)$", resp.headers["Location"])
    assert m, resp.headers["Location"]
    return int(m.group(1))


def errors_of(resp) -> dict:
    """Field -> message from the JSON answer."""
    body = resp.get_json()
    return {f: v["message"] for f, v in body["error"]["fields"].items()}


def rows_of_form(engine, form_key: str) -> int:
    """How many proposals one form (its ``form_key``) left behind."""
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM budget_proposals WHERE external_id = :e"),
            {"e": f"web:{form_key}"},
        ).scalar_one()


# --------------------------------------------------------------------------- the form


def test_propose_needs_login(client):
    r = client.get("/propose")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = client.post("/propose", data=form())
    assert r.status_code in (302, 400)  # login (or CSRF first): never a row


def test_form_page(resident):
    r = resident.get("/propose")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert (
        'name="form_key"' in html
        and 'role="combobox"' in html
        and 'aria-controls="address-search-listbox"' in html
    )
    assert "leaflet-geoman" in html and "propose.js" in html
    assert 'id="district-output"' in html
    assert 'maxlength="60"' in html


def test_submit_polygon_in_nowa_huta(resident, engine):
    data = form()
    pid = submitted_id(resident.post("/propose", data=data))
    p = proposal(engine, pid)
    assert p["status"] == "submitted" and p["districts"] == [18] and p["gtype"] == "ST_Polygon"
    assert p["author_id"] == resident.user.id and p["external_id"] == f"web:{data['form_key']}"
    assert p["cost"] == 120000 and p["scope"] == "district"
    page = resident.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "Ławki na Placu Centralnym" in page and "Dzielnica XVIII Nowa Huta" in page


def test_double_submit_leaves_one_row(resident, engine):
    data = form(title="Podwójne kliknięcie")
    first = submitted_id(resident.post("/propose", data=data))
    second = submitted_id(resident.post("/propose", data=data))
    assert first == second
    assert rows_of_form(engine, data["form_key"]) == 1


def test_parallel_double_submit_over_http(live_server, resident, engine):
    data = form(title="Dziesięć kliknięć naraz")
    results = parallel_posts(resident, f"{live_server}/propose", 10, data)
    assert sorted({r.status_code for r in results}) in ([200, 201], [201]), [
        r.text[:200] for r in results
    ]
    assert len({r.json()["id"] for r in results}) == 1
    assert rows_of_form(engine, data["form_key"]) == 1


def test_draft_then_submit(resident, client, engine):
    data = form(
        action="draft", title="Szkic: stojaki rowerowe", description="", category="", cost=""
    )
    r = resident.post("/propose", data=data)
    assert r.status_code == 303 and "draft=" in r.headers["Location"]
    pid = int(r.headers["Location"].rsplit("=", 1)[1])
    assert proposal(engine, pid)["status"] == "draft"
    assert client.get(f"/proposals/{pid}").status_code == 404  # not public
    assert resident.get(f"/proposals/{pid}").status_code == 200  # the author sees it
    page = resident.get(f"/propose?draft={pid}").get_data(as_text=True)
    assert data["form_key"] in page and "Szkic: stojaki rowerowe" in page
    done = submitted_id(
        resident.post(
            f"/propose?draft={pid}", data=form(form_key=data["form_key"], title="Stojaki rowerowe")
        )
    )
    assert done == pid
    p = proposal(engine, pid)
    assert p["status"] == "submitted" and p["title"] == "Stojaki rowerowe"
    # a submitted proposal is no longer a draft: editing it is refused
    assert resident.get(f"/propose?draft={pid}").status_code == 409


def test_someone_elses_draft_is_not_editable(resident, make_user, engine):
    data = form(action="draft")
    r = resident.post("/propose", data=data)
    pid = int(r.headers["Location"].rsplit("=", 1)[1])
    other = make_user()
    assert other.get(f"/propose?draft={pid}").status_code == 404
    r = other.post("/propose", data=data, headers={"Accept": "application/json"})
    assert r.status_code == 409 and r.get_json()["error"]["field"] == "form_key"
    assert proposal(engine, pid)["author_id"] == resident.user.id


def test_whole_district_and_citywide(resident, engine):
    pid = submitted_id(
        resident.post(
            "/propose", data=form(location="district", district="18", geometry="", cost="5000")
        )
    )
    p = proposal(engine, pid)
    assert p["gtype"] is None and p["districts"] == [18] and p["scope"] == "district"
    pid = submitted_id(
        resident.post(
            "/propose", data=form(location="city", scope="citywide", geometry="", cost="30000")
        )
    )
    p = proposal(engine, pid)
    assert p["gtype"] is None and p["districts"] == [] and p["scope"] == "citywide"


def test_address_point(resident, engine):
    point = json.dumps({"type": "Point", "coordinates": [19.929493, 50.064218]})
    pid = submitted_id(
        resident.post(
            "/propose", data=form(location="address", geometry=point, address="Rajska 12")
        )
    )
    p = proposal(engine, pid)
    assert p["gtype"] == "ST_Point" and p["districts"] == [1] and p["address"] == "Rajska 12"


# --------------------------------------------------------------------------- bad input


JSON = {"Accept": "application/json"}


@pytest.mark.parametrize(
    "overrides, field, status",
    [
        ({"title": ""}, "title", 400),
        ({"title": "   "}, "title", 400),
        ({"title": "x" * 61}, "title", 400),
        ({"title": "tab\x07bell"}, "title", 400),
        ({"description": ""}, "description", 400),
        ({"description": "x" * 10_001}, "description", 400),
        ({"category": ""}, "category", 400),
        ({"category": "weapons"}, "category", 400),
        ({"cost": ""}, "cost", 400),
        ({"cost": "abc"}, "cost", 400),
        ({"cost": "-5"}, "cost", 400),
        ({"cost": "NaN"}, "cost", 400),
        ({"cost": "1000"}, "cost", 400),  # below the 2 500 zł minimum
        ({"cost": "5000000"}, "cost", 400),  # above Nowa Huta's maximum
        ({"scope": "galaxy"}, "scope", 400),
        ({"location": ""}, "location", 400),
        ({"location": "district", "district": ""}, "district", 400),
        ({"location": "district", "district": "99"}, "district", 400),
        ({"location": "city"}, "location", 400),  # city-wide place, district scope
        ({"geometry": ""}, "geometry", 400),
        ({"geometry": '{"type": "Point", "coordinates": [NaN, 50]}'}, "geometry", 400),
        ({"geometry": '{"type": "Point", "coordinates": ["20.03", "50.07"]}'}, "geometry", 400),
        (
            {
                "geometry": json.dumps(
                    {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [20.03, 50.07],
                                [20.04, 50.08],
                                [20.04, 50.07],
                                [20.03, 50.08],
                                [20.03, 50.07],
                            ]
                        ],
                    }
                )
            },
            "geometry",
            400,
        ),
        ({"geometry": polygon(WARSAW)}, "geometry", 400),  # outside Kraków
        ({"geometry": polygon(NOWA_HUTA[:-1])}, "geometry", 400),  # unclosed ring
        (
            {"geometry": json.dumps({"type": "LineString", "coordinates": [RYNEK, RYNEK]})},
            "geometry",
            400,
        ),
        # a polygon across Stare Miasto and Grzegórzki cannot be a district project
        (
            {
                "geometry": polygon(
                    [
                        [19.935, 50.058],
                        [19.962, 50.058],
                        [19.962, 50.064],
                        [19.935, 50.064],
                        [19.935, 50.058],
                    ]
                )
            },
            "geometry",
            400,
        ),
        ({"location": "address", "geometry": polygon()}, "geometry", 400),  # an address is a point
        ({"form_key": "not-a-key"}, "form_key", 400),
    ],
)
def test_bad_input_names_the_field(resident, engine, overrides, field, status):
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one()
    r = resident.post("/propose", data=form(**overrides), headers=JSON)
    assert r.status_code == status, r.data
    errors = errors_of(r)
    assert field in errors and errors[field], errors
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one() == before


def test_errors_shown_next_to_fields_in_html(resident):
    r = resident.post("/propose", data=form(title="", geometry=polygon(WARSAW)))
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="title-error"' in html and 'aria-invalid="true"' in html
    assert 'id="geometry-error"' in html and "poza granicami miasta" in html
    assert 'class="error-summary"' in html
    # what was typed is kept
    assert 'value="Ławki na Placu Centralnym"' not in html  # title was blanked by the test
    assert "Nowe ławki i zieleń wokół placu." in html


def test_drafts_may_be_incomplete_but_located(resident):
    r = resident.post("/propose", data=form(action="draft", description="", category="", cost=""))
    assert r.status_code == 303
    r = resident.post("/propose", data=form(action="draft", geometry=""), headers=JSON)
    assert r.status_code == 400 and "geometry" in errors_of(r)


def test_wrong_content_type(resident):
    r = resident.post("/propose", json=form())
    assert r.status_code == 415
    assert r.get_json()["error"]["field"] == "Content-Type"
    r = resident.post("/propose", data="title=x", content_type="text/plain")
    assert r.status_code == 415


def test_ten_megabyte_body(resident, engine):
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one()
    big = form(description="x" * (10 * 1024 * 1024))
    r = resident.post("/propose", data=big, headers=JSON)
    assert r.status_code == 413
    assert r.get_json()["error"]["field"] in ("body", "photo")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one() == before


def test_absurd_geometry_text_is_400(resident):
    deep = '{"type":"Point","coordinates":' + "[" * 50_000 + "]" * 50_000 + "}"
    r = resident.post("/propose", data=form(geometry=deep), headers=JSON)
    assert r.status_code in (400, 413)
    assert "geometry" in r.get_json()["error"]["field"] or r.status_code == 413


@pytest.mark.parametrize(
    ("geometry", "why"),
    [
        ('{"type":"Point","coordinates":' + "[" * 10_000 + "]" * 10_000 + "}", "deep"),
        ('{"type":"Point","coordinates":[19.93, 50.06, 1e9]}', "z"),
        ('{"type":"Point","coordinates":[19.93, 50.06, 0, 0]}', "zm"),
        ('{"type":"Point","coordinates":[19.93, Infinity]}', "infinity"),
        ('{"type":"Point","coordinates":[19.93, 1e999]}', "overflow"),
    ],
    ids=lambda v: v if len(v) < 12 else None,
)
def test_bad_geometry_on_the_html_path_is_400_naming_the_field(resident, engine, geometry, why):
    """Issue 14.6/14.7: the form's own (HTML) path, no JSON Accept header: deep nesting, Z or
    M values and non-finite numbers are a 400 naming the field, never a 500, never a row."""
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one()
    r = resident.post("/propose", data=form(geometry=geometry))
    assert r.status_code == 400, (why, r.status_code)
    assert "Pole „Lokalizacja”" in r.get_data(as_text=True), why  # the field, in words
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one() == before


# --------------------------------------------------------------------------- photos


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (50.0, 3.0, 42.0), 3: "E", 4: (19.0, 56.0, 14.0)}  # GPSInfo
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    data = buf.getvalue()
    assert b"PhoneMaker" in data
    return data


def test_photo_is_reencoded_without_exif(resident, engine, uploads, client):
    data = form(title="Projekt ze zdjęciem")
    data["photo"] = (io.BytesIO(jpeg_with_gps()), "ogrod.jpg", "image/jpeg")
    pid = submitted_id(resident.post("/propose", data=data, content_type="multipart/form-data"))
    name = proposal(engine, pid)["photo"]
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", name)
    stored = (uploads / name).read_bytes()
    assert b"PhoneMaker" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG" and img.size == (64, 48) and not img.getexif()
    r = client.get(f"/uploads/{name}")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/uploads/../../etc/passwd").status_code == 404
    assert client.get("/uploads/" + "0" * 32 + ".jpg").status_code == 404


def test_png_text_chunks_are_dropped(resident, engine, uploads):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-location")
    buf = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 255, 128)).save(buf, "PNG", pnginfo=info)
    data = form()
    data["photo"] = (io.BytesIO(buf.getvalue()), "x.png", "image/png")
    pid = submitted_id(resident.post("/propose", data=data, content_type="multipart/form-data"))
    stored = (uploads / proposal(engine, pid)["photo"]).read_bytes()
    assert b"secret-location" not in stored


@pytest.mark.parametrize(
    "payload, name, status",
    [
        (b"GIF89a" + b"\x00" * 100, "x.gif", 400),
        (b"<script>alert(1)</script>", "x.jpg", 400),
        (b"", "x.jpg", 400),
        (b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), "big.jpg", 413),
    ],
)
def test_bad_photos(resident, engine, uploads, payload, name, status):
    data = form()
    data["photo"] = (io.BytesIO(payload), name, "image/jpeg")
    r = resident.post("/propose", data=data, content_type="multipart/form-data", headers=JSON)
    assert r.status_code == status, r.data[:500]
    assert r.get_json()["error"]["field"] == "photo"
    assert not uploads.exists() or not list(uploads.iterdir())


def test_gif_is_refused(resident, uploads):
    buf = io.BytesIO()
    Image.new("RGB", (5, 5)).save(buf, "GIF")
    data = form()
    data["photo"] = (io.BytesIO(buf.getvalue()), "x.gif", "image/gif")
    r = resident.post("/propose", data=data, content_type="multipart/form-data", headers=JSON)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "photo"


# --------------------------------------------------------------------------- moderation


def test_unconfirmed_author_waits_for_a_moderator(make_user, client, engine):
    newbie = make_user(confirmed=False)
    pid = submitted_id(newbie.post("/propose", data=form(title="Od nowego konta")))
    p = proposal(engine, pid)
    assert (
        p["status"] == "submitted"
        and p["hidden_at"] is not None
        and p["hidden_reason"] == "pending"
    )
    assert client.get(f"/proposals/{pid}").status_code == 404
    assert "Od nowego konta" not in client.get("/proposals").get_data(as_text=True)
    assert newbie.get(f"/proposals/{pid}").status_code == 200


# --------------------------------------------------------------------------- browsing


@pytest.fixture(scope="module")
def browse_data(app, engine):
    """A few public proposals of known attributes, written directly."""
    rows = [
        ("Zieleń przy Rajskiej qxz", "urban greenery", 2024, 1, "POINT(19.9295 50.0642)", 10000),
        ("Plac zabaw w Nowej Hucie qxz", "sport", 2024, 18, "POINT(20.0375 50.0717)", 300000),
        ("Rowery w Podgórzu qxz", "public transit", 2023, 13, "POINT(19.9668 50.0503)", 50000),
    ]
    ids = []
    with engine.begin() as conn:
        for title, cat, ed, _d, wkt, cost in rows:
            ids.append(
                conn.execute(
                    text(
                        "INSERT INTO budget_proposals (edition, title, category, cost, scope, status, geom) "
                        "VALUES (:e, :t, :c, :cost, 'district', 'accepted_for_vote', ST_GeomFromText(:w, 4326)) RETURNING id"
                    ),
                    {"e": ed, "t": title, "c": cat, "cost": cost, "w": wkt},
                ).scalar_one()
            )
    return ids


def list_titles(client, **params) -> list[str]:
    r = client.get("/proposals", query_string=params)
    assert r.status_code == 200, r.data[:500]
    return re.findall(r'class="title">([^<]+)</a>', r.get_data(as_text=True))


def test_list_filters(client, browse_data):
    assert list_titles(client, district=18, q="qxz") == ["Plac zabaw w Nowej Hucie qxz"]
    assert list_titles(client, category="urban greenery", edition=2024, q="qxz") == [
        "Zieleń przy Rajskiej qxz"
    ]
    assert list_titles(client, q="rowery w podgorzu qxz") == [
        "Rowery w Podgórzu qxz"
    ]  # no diacritics
    assert list_titles(client, q="qxz", sort="cost_desc") == [
        "Plac zabaw w Nowej Hucie qxz",
        "Rowery w Podgórzu qxz",
        "Zieleń przy Rajskiej qxz",
    ]
    assert list_titles(client, q="qxz", sort="title")[0] == "Plac zabaw w Nowej Hucie qxz"
    assert list_titles(client, q="qxz", status="rejected") == []


@pytest.mark.parametrize(
    "params, name",
    [
        ({"district": "abc"}, "district"),
        ({"category": "x"}, "category"),
        ({"status": "draft"}, "status"),
        ({"edition": "1999"}, "edition"),
        ({"sort": "random"}, "sort"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_list_bad_filters(client, params, name):
    r = client.get("/proposals", query_string=params)
    assert r.status_code == 400 and name in r.get_data(as_text=True)
    r = client.get("/api/proposals", query_string=params)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == name


def test_api_geojson(client, browse_data):
    r = client.get("/api/proposals", query_string={"district": 18, "q": "qxz"})
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    fc = json.loads(r.data)
    titles = [f["properties"]["title"] for f in fc["features"]]
    assert titles == ["Plac zabaw w Nowej Hucie qxz"]
    f = fc["features"][0]
    assert f["properties"]["url"] == f"/proposals/{f['id']}" and f["properties"]["supports"] == 0
    assert f["properties"]["status_title"] == "dopuszczony do głosowania"


def test_permalink_404(client):
    assert client.get("/proposals/999999").status_code == 404
    assert client.get("/api/proposals/999999").status_code == 404


def test_api_one_proposal(client, resident, browse_data):
    fc = json.loads(client.get(f"/api/proposals/{browse_data[0]}").data)
    assert [f["properties"]["title"] for f in fc["features"]] == ["Zieleń przy Rajskiej qxz"]
    assert fc["features"][0]["properties"]["url"] == f"/proposals/{browse_data[0]}"
    # a whole-district proposal is drawn as its district
    pid = submitted_id(
        resident.post("/propose", data=form(location="district", district="7", geometry=""))
    )
    fc = json.loads(client.get(f"/api/proposals/{pid}").data)
    assert fc["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert fc["features"][0]["properties"]["whole_district"] is True


def test_xss_title_is_escaped(resident, client):
    evil = "<script>alert(1)</script>"
    pid = submitted_id(
        resident.post(
            "/propose", data=form(title=evil, description='<img src=x onerror="alert(2)">')
        )
    )
    for url in (f"/proposals/{pid}", "/proposals", "/account/contributions"):
        html = (resident if "account" in url else client).get(url).get_data(as_text=True)
        assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
        assert '<img src=x onerror="alert(2)">' not in html
    fc = json.loads(client.get("/api/proposals", query_string={"q": "script"}).data)
    assert any(f["properties"]["title"] == evil for f in fc["features"])  # data, not markup


# --------------------------------------------------------------------------- supports


def test_support_once_and_withdraw(resident, make_user, engine):
    # an open project (browse_data's are of the closed 2023/2024 editions: no supports, 409)
    pid = submitted_id(resident.post("/propose", data=form(title="Do poparcia")))
    fan = make_user()
    for _ in range(3):
        r = fan.post(f"/proposals/{pid}/support", headers=JSON)
        assert r.status_code == 200 and r.get_json()["supports"] == 1
    page = fan.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "Popiera 1 osob" in page or "1" in page
    r = fan.post(f"/proposals/{pid}/support", data={"action": "withdraw"})
    assert r.status_code == 303
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM proposal_supports WHERE proposal_id = :p"), {"p": pid}
        ).scalar_one()
    assert n == 0


def test_cannot_support_own_or_hidden(resident, engine):
    pid = submitted_id(resident.post("/propose", data=form(title="Mój własny")))
    r = resident.post(f"/proposals/{pid}/support", headers=JSON)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "proposal_id"
    r = resident.post("/proposals/999999/support", headers=JSON)
    assert r.status_code == 404


def test_twenty_parallel_supports_by_one_person(live_server, make_user, resident, engine):
    pid = submitted_id(resident.post("/propose", data=form(title="Do poparcia równolegle")))
    fan = make_user()
    results = parallel_posts(fan, f"{live_server}/proposals/{pid}/support", 20)
    assert {r.status_code for r in results} == {200}, [r.text[:200] for r in results]
    assert sum(r.json()["new"] for r in results) == 1
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM proposal_supports WHERE proposal_id = :p AND user_id = :u"),
            {"p": pid, "u": fan.user.id},
        ).scalar_one()
    assert n == 1


# --------------------------------------------------------------------------- my contributions


def test_my_contributions(make_user):
    me = make_user()
    me.post("/propose", data=form(action="draft", title="Mój szkic"))
    me.post("/propose", data=form(title="Mój złożony"))
    html = me.get("/account/contributions").get_data(as_text=True)
    assert "Mój szkic" in html and "Mój złożony" in html and "draft=" in html
    other = make_user()
    assert "Mój szkic" not in other.get("/account/contributions").get_data(as_text=True)


def edition_pool(engine, scope: str, district: int) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT budget, min_cost, max_cost FROM budget_pools "
                    "WHERE edition = :e AND scope = :s AND district = :d"
                ),
                {"e": YEAR, "s": scope, "d": district},
            )
            .one()
            ._mapping
        )


def test_cost_limits_are_the_editions_pools(engine):
    from decimal import Decimal

    from civic.participation.limits import limits_for_page, pool_limits
    from civic.pb.editions import get_edition

    with engine.connect() as conn:
        edition = get_edition(conn, YEAR)
        past = get_edition(conn, 2024)
    city = pool_limits(edition, "citywide", None)
    # Kraków 2025: 25 000 – 2 000 000 zł, and at most 20 % of the 10.2 m city pool
    assert (city.low, city.high) == (Decimal("25000"), Decimal("2000000"))
    nh_pool = edition_pool(engine, "district", 18)
    nh = pool_limits(edition, "district", 18)
    assert nh.low == Decimal("2500")
    assert (
        nh.high
        == nh_pool["max_cost"]
        == (nh_pool["budget"] * Decimal("0.4")).quantize(Decimal("0.01"))
    )
    assert pool_limits(edition, "district", 99) is None
    page = limits_for_page(edition)
    assert page["citywide"] == [25000.0, 2000000.0]
    assert page["district"]["18"] == [2500.0, float(nh.high)]
    assert len(page["district"]) == 18
    assert limits_for_page(None) == {"citywide": None, "district": {}}
    # the finished 2024 edition has its own pools, not this edition's
    assert past.pool("district", 18).budget != edition.pool("district", 18).budget


def test_form_page_shows_the_open_editions_limits(resident, engine):
    html = resident.get("/propose").get_data(as_text=True)
    limits = json.loads(re.search(r'id="cost-limits">([^<]+)<', html).group(1))
    nh = edition_pool(engine, "district", 18)
    assert limits["district"]["18"] == [2500.0, float(nh["max_cost"])]
    assert f"Edycja {YEAR}." in html
    assert 'name="declared_residency"' in html and 'name="declared_district_residency"' in html


# --------------------------------------------------------------------------- the edition (issue 9)


def test_a_proposal_lands_in_the_open_edition(resident, engine):
    pid = submitted_id(resident.post("/propose", data=form(title="Do otwartej edycji")))
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT edition, status, submitted_at, support_deadline, declared_residency, "
                "pool_district, location_kind FROM budget_proposals WHERE id = :id"
            ),
            {"id": pid},
        ).one()
        history = conn.execute(
            text("SELECT from_state, to_state FROM pb_status_history WHERE proposal_id = :id"),
            {"id": pid},
        ).all()
        audit = conn.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'pb.status.submitted' "
                "AND target_id = :id"
            ),
            {"id": pid},
        ).scalar_one()
    assert row.edition == YEAR != 2024
    assert row.status == "submitted" and row.submitted_at is not None
    assert row.support_deadline is not None
    from civic.pb.clock import WARSAW

    # the support list's clock: 10 days (the edition's support_days) from the day in Kraków
    assert (row.support_deadline - row.submitted_at.astimezone(WARSAW).date()).days == 10
    assert row.declared_residency is True and row.pool_district == 18
    assert row.location_kind == "area"
    assert [tuple(h) for h in history] == [("draft", "submitted")]
    assert audit == 1
    # a draft goes into the open edition too
    r = resident.post("/propose", data=form(action="draft"), headers=JSON)
    assert r.status_code == 201
    assert proposal(engine, r.get_json()["id"])["edition"] == YEAR


def count_rows(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one()


@pytest.mark.parametrize("scheduled", [True, False])
def test_no_submission_phase_open(resident, engine, uploads, scheduled):
    close_submissions(engine, next_in_days=60 if scheduled else None)
    try:
        before = count_rows(engine)
        r = resident.get("/propose")
        assert r.status_code == 200
        html = r.get_data(as_text=True)
        assert 'id="phase-closed"' in html and "Nabór projektów" in html
        assert "składanie projektów" in html
        assert 'value="submit"' not in html and 'value="draft"' not in html
        if scheduled:
            from datetime import timedelta

            from babel.dates import format_date

            from civic.pb.clock import today

            starts = format_date(today() + timedelta(days=60), format="d MMMM y", locale="pl")
            assert f"Następny nabór: od {starts}" in html
        else:
            assert "nie został jeszcze ogłoszony" in html
        for lang, word in (("en", "Submissions"), ("uk", "Подання")):
            page = resident.get(f"/propose?lang={lang}").get_data(as_text=True)
            assert 'id="phase-closed"' in page and word in page, lang
            assert "Nabór projektów" not in page
        # a post (a draft too) is refused: 409 naming the phase, no row, no photo
        for action in ("submit", "draft"):
            data = form(action=action)
            data["photo"] = (io.BytesIO(jpeg_with_gps()), "ogrod.jpg", "image/jpeg")
            r = resident.post(
                "/propose?lang=pl", data=data, content_type="multipart/form-data", headers=JSON
            )
            assert r.status_code == 409, r.data[:500]
            err = r.get_json()["error"]
            assert (err["code"], err["field"]) == ("phase_closed", "phase")
            assert "składanie projektów" in err["message"]
        r = resident.post("/propose", data=form())
        assert r.status_code == 409 and 'id="phase-closed"' in r.get_data(as_text=True)
        assert count_rows(engine) == before
        assert not uploads.exists() or not list(uploads.iterdir())
    finally:
        reopen_submissions(engine)
    assert resident.post("/propose", data=form(), headers=JSON).status_code == 201


def test_title_limit_is_the_editions(resident, engine):
    r = resident.post("/propose", data=form(title="x" * 61), headers=JSON)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "title"
    assert "60" in errors_of(r)["title"]
    assert resident.post("/propose", data=form(title="y" * 60), headers=JSON).status_code == 201
    with engine.begin() as conn:
        conn.execute(text("UPDATE pb_editions SET title_max = 50 WHERE year = :y"), {"y": YEAR})
    try:
        assert 'maxlength="50"' in resident.get("/propose").get_data(as_text=True)
        r = resident.post("/propose", data=form(title="z" * 51), headers=JSON)
        assert r.status_code == 400 and errors_of(r)["title"] and "50" in errors_of(r)["title"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE pb_editions SET title_max = 60 WHERE year = :y"), {"y": YEAR})


@pytest.mark.parametrize(
    "overrides, missing",
    [
        ({"declared_residency": None}, {"declared_residency"}),
        ({"declared_district_residency": None}, {"declared_district_residency"}),
        (
            {"declared_residency": None, "declared_district_residency": None},
            {"declared_residency", "declared_district_residency"},
        ),
        # a city-wide project needs only the declaration of living in Kraków
        (
            {
                "declared_residency": None,
                "declared_district_residency": None,
                "scope": "citywide",
                "location": "city",
                "geometry": "",
                "cost": "30000",
            },
            {"declared_residency"},
        ),
    ],
)
def test_declarations_are_required_to_submit(resident, engine, overrides, missing):
    before = count_rows(engine)
    r = resident.post("/propose", data=form(**overrides), headers=JSON)
    assert r.status_code == 400, r.data[:500]
    fields = r.get_json()["error"]["fields"]
    declared = {f for f in fields if f.startswith("declared_")}
    assert declared == missing
    assert all(fields[f]["code"] == "declaration_required" for f in missing)
    assert count_rows(engine) == before


def test_declarations_not_needed_for_a_draft_and_kept(resident, engine):
    r = resident.post(
        "/propose",
        data=form(action="draft", declared_residency=None, declared_district_residency=None),
        headers=JSON,
    )
    assert r.status_code == 201
    citywide = form(scope="citywide", location="city", geometry="", cost="30000")
    citywide.pop("declared_district_residency")
    assert resident.post("/propose", data=citywide, headers=JSON).status_code == 201
    # the page shows a missing declaration next to its checkbox
    html = resident.post("/propose", data=form(declared_residency=None)).get_data(as_text=True)
    assert 'id="declared_residency-error"' in html and "mieszkasz w Krakowie" in html


def test_cost_over_the_pools_maximum(resident, engine):
    from decimal import Decimal

    nh = edition_pool(engine, "district", 18)["max_cost"]
    before = count_rows(engine)
    r = resident.post("/propose", data=form(cost=str(nh + Decimal("0.01"))), headers=JSON)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "cost"
    assert errors_of(r)["cost"].startswith("Pole „Szacowany koszt”")
    assert count_rows(engine) == before
    # every field error at once: the cost and the title
    r = resident.post("/propose", data=form(cost="1000", title=""), headers=JSON)
    assert {"cost", "title"} <= set(r.get_json()["error"]["fields"])
    r = resident.post("/propose", data=form(cost=str(nh)), headers=JSON)
    assert r.status_code == 201, r.data[:500]
    r = resident.post(
        "/propose",
        data=form(scope="citywide", location="city", geometry="", cost="2000000.01"),
        headers=JSON,
    )
    assert r.status_code == 400 and "cost" in errors_of(r)
