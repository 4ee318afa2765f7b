"""Inicjatywa Lokalna over HTTP: apply, pledge, assess, accept (mailed), deliver, the layer's
API / exports / OGC collection; bad input is a 4xx naming the field and changes no row."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import text

YEAR = date.today().year
JSON = {"Accept": "application/json"}
POINT = {"type": "Point", "coordinates": [19.9450, 50.0480]}


def ledger_rows(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                text(f"SELECT count(*), coalesce(sum(hashtext(t::text)), 0) FROM {t} t")
            ).one()
            for t in ("local_initiatives", "initiative_pledges", "initiative_assessments")
        )


def test_initiative_over_http(app, engine, make_user, outbox, client):
    anna, bob, staff = make_user(), make_user(), make_user("official")
    outbox()
    r = staff.post(
        "/initiatives/pools",
        json={"year": YEAR, "amount": "80000", "hour_value": "30"},
        headers=JSON,
    )
    assert r.status_code == 201
    assert (
        anna.post(
            "/initiatives/pools",
            json={"year": YEAR, "amount": "1", "hour_value": "1"},
            headers=JSON,
        ).status_code
        == 403
    )
    form = {
        "title": "Mural na Kazimierzu",
        "description": "Malujemy ścianę.",
        "city_task": "Miasto użycza rusztowanie.",
        "schedule": "maj",
        "city_cost": "5000",
        "applicant_name": "Sąsiedzi",
        "geometry": json.dumps(POINT),
        "own_money_amount": "200",
    }
    before = ledger_rows(engine)
    for bad, field in (
        ({"city_cost": "-1"}, "city_cost"),
        ({"geometry": ""}, "geometry"),
        ({"own_money_amount": "x"}, "own_money_amount"),
    ):
        r = anna.post("/initiatives/apply", json={**form, **bad}, headers=JSON)
        assert r.status_code == 400 and r.json["error"]["field"] == field, r.json
    r = anna.post("/initiatives/apply", data={**form, "city_cost": "-1"})
    assert r.status_code == 400 and "Wkład miasta" in r.get_data(as_text=True)
    assert ledger_rows(engine) == before
    r = anna.post("/initiatives/apply", json=form, headers=JSON)
    assert r.status_code == 201
    iid = r.json["id"]
    r = bob.post(
        f"/initiatives/{iid}/pledge",
        json={"kind": "work", "hours": "-2", "work_kind": "x"},
        headers=JSON,
    )
    assert r.status_code == 400 and r.json["error"]["field"] == "hours"
    r = bob.post(
        f"/initiatives/{iid}/pledge",
        json={"kind": "work", "hours": "5", "work_kind": "malowanie"},
        headers=JSON,
    )
    assert r.status_code == 201
    r = bob.post(
        f"/initiatives/{iid}/pledge", data={"kind": "work", "hours": "6", "work_kind": "malowanie"}
    )
    assert r.status_code == 302
    assert bob.post(f"/initiatives/{iid}/support", headers=JSON).json["supporters"] == 1
    book = client.get(f"/initiatives/{iid}", headers=JSON).json["ledger"]
    assert len(book["rows"]) == 2 and float(book["pledged_value"]) == 200 + 6 * 30
    assert all("user_id" not in row for row in book["rows"])
    r = staff.post(
        f"/initiatives/{iid}/assess",
        json={
            "usefulness": "50",
            "contribution": "1",
            "extra": "1",
            "usefulness_reason": "a",
            "contribution_reason": "b",
            "extra_reason": "c",
        },
        headers=JSON,
    )
    assert r.status_code == 400 and r.json["error"]["field"] == "usefulness"
    r = staff.post(
        f"/initiatives/{iid}/assess",
        json={
            "usefulness": "40",
            "contribution": "25",
            "extra": "7",
            "usefulness_reason": "a",
            "contribution_reason": "b",
            "extra_reason": "c",
        },
        headers=JSON,
    )
    assert r.json["total"] == 72 and r.json["passed"]
    assert (
        anna.post(
            f"/initiatives/{iid}/status", json={"status": "accepted"}, headers=JSON
        ).status_code
        == 403
    )
    r = staff.post(f"/initiatives/{iid}/status", json={"status": "accepted"}, headers=JSON)
    assert r.status_code == 200 and r.json["pool_year"] == YEAR and r.json["mailed"] == 1
    mails = outbox()
    assert any("przyjęta do realizacji" in m["Subject"] for m in mails)
    pool = next(
        p for p in client.get("/initiatives", headers=JSON).json["pools"] if p["year"] == YEAR
    )
    assert float(pool["left"]) == 75000
    for row in client.get(f"/initiatives/{iid}", headers=JSON).json["ledger"]["rows"]:
        assert (
            staff.post(
                f"/initiatives/pledges/{row['id']}/delivered", json={}, headers=JSON
            ).status_code
            == 200
        )
    book = client.get(f"/initiatives/{iid}", headers=JSON).json["ledger"]
    assert book["delivered_value"] == book["pledged_value"]
    # the layer: API by status and year, exports, OGC
    fc = client.get(f"/api/layers/local-initiatives/features?status=accepted&year={YEAR}").json
    assert [f["id"] for f in fc["features"]] == [iid]
    assert "author_id" not in fc["features"][0]["properties"]
    assert client.get("/exports/local-initiatives.geojson").status_code == 200
    csv = client.get("/exports/local-initiatives.csv")
    assert csv.status_code == 200 and "Mural na Kazimierzu" in csv.get_data(as_text=True)
    items = client.get("/ogc/collections/local-initiatives/items?f=json")
    assert items.status_code == 200 and items.json["features"][0]["id"] == iid
    for path in (
        "/initiatives",
        f"/initiatives/{iid}",
        f"/initiatives?status=accepted&year={YEAR}",
    ):
        assert client.get(path).status_code == 200
    assert anna.get("/initiatives/apply").status_code == 200
    assert staff.get("/initiatives/pools").status_code == 200
    assert staff.get(f"/initiatives/{iid}").status_code == 200
    assert client.get("/initiatives?status=nope", headers=JSON).json["error"]["field"] == "status"
