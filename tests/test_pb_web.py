"""The budget pages and actions over HTTP (Flask test client, real PostGIS): thin routes over
civic.pb; refusals are 4xx naming the field or rule, with no row changed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from civic.pb import editions, phases, review
from tests.pb_support import add_user

Y = 2035


@pytest.fixture(scope="module")
def edition(app):
    """An edition whose submission phase is open today (the schedule set around today)."""
    eng = app.extensions["engine"]
    today = date.today()
    with eng.begin() as conn:
        admin = add_user(conn, ("admin",))
        editions.create_edition(conn, Y, admin)
        phases.set_phase(
            conn, Y, "submission", today - timedelta(days=3), today + timedelta(days=5), admin
        )
    return Y


def _form(**kw):
    return {
        "title": "Ławki na Plantach",
        "description": "Nowe ławki.",
        "category": "public space",
        "cost": "50000",
        "scope": "district",
        "district": "1",
        "location_kind": "point",
        "lon": "19.9373",
        "lat": "50.0617",
        "declared_residency": "1",
        "declared_district_residency": "1",
    } | kw


def test_pages_render(client, edition):
    assert client.get("/budget/").status_code == 200
    r = client.get(f"/budget/{Y}")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "Harmonogram" in body and 'id="summary"' in body
    assert client.get("/budget/2024").status_code == 200
    assert client.get(f"/budget/{Y}/ballot").status_code == 200
    assert client.get("/budget/1999").status_code == 404


def test_submit_and_refusals(app, make_user, edition, table_checksums):
    author = make_user(district=1)
    before = table_checksums()
    r = author.post(f"/budget/{Y}/submit", json=_form(title="x" * 61))
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "title"
    r = author.post(f"/budget/{Y}/submit", json=_form(cost="1"))
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "cost_out_of_limits"
    assert table_checksums() == before
    r = author.post(f"/budget/{Y}/submit", json=_form())
    assert r.status_code == 201
    pid = r.get_json()["id"]
    page = author.get(f"/budget/projects/{pid}", follow_redirects=True).get_data(as_text=True)
    assert "Lista poparcia" in page
    signer = make_user(district=1)
    r = signer.post(
        f"/budget/projects/{pid}/support", json={"declared_residency": True, "district": 1}
    )
    assert r.status_code == 200
    r = signer.post(
        f"/budget/projects/{pid}/support", json={"declared_residency": True, "district": 1}
    )
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_signed"
    # a protest now (submission phase) is refused: not rejected
    r = author.post(f"/budget/projects/{pid}/protest", json={"justification": "Nie zgadzam się."})
    assert r.status_code == 409
    # formal review is not open: refused with which phase is open
    staff = make_user("official")
    r = staff.post(f"/budget/projects/{pid}/formal", json={"decision": "complete"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "phase_closed"
    # in English, the phase names are translated
    r = staff.post(f"/budget/projects/{pid}/formal?lang=en", json={"decision": "complete"})
    assert "submission" in r.get_json()["error"]["message"].lower()


def test_feasibility_json_for_staff_only(app, make_user, edition):
    eng = app.extensions["engine"]
    with eng.begin() as conn:
        pid = conn.execute(
            text("SELECT id FROM budget_proposals WHERE edition = :y ORDER BY id LIMIT 1"), {"y": Y}
        ).scalar_one()
        v = add_user(conn, ("official",))
        review.add_verifier(conn, v, "zzm", None)
    assert make_user().get(f"/budget/projects/{pid}/feasibility.json").status_code == 403
    r = make_user("official").get(f"/budget/projects/{pid}/feasibility.json")
    assert r.status_code == 200 and r.get_json()["located"] is True


def test_admin_creates_and_advances(make_user):
    admin = make_user("admin")
    r = admin.post("/budget/admin/new", json={"year": 2037, "title": "BO 2037"})
    assert r.status_code == 200
    r = admin.post("/budget/admin/new", json={"year": 2037})
    assert r.status_code == 409
    assert make_user().post("/budget/admin/new", json={"year": 2038}).status_code == 403
    page = admin.get("/budget/2037/admin")
    assert page.status_code == 200


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_pages_in_english_and_ukrainian(client, edition, lang):
    r = client.get(f"/budget/{Y}?lang={lang}")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert {"en": "Timeline", "uk": "Графік"}[lang] in body
    assert "Harmonogram" not in body
    assert client.get(f"/budget/{Y}/ballot?lang={lang}").status_code == 200
