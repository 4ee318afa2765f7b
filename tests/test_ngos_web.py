"""The NGO pages over HTTP: claim (KRS + confirming e-mail), the mail's link, moderation,
editing, places, find an organisation; bad input is a 4xx naming the field, no row changed."""

from __future__ import annotations

import json
import re

from sqlalchemy import text

RYNEK = {"type": "Point", "coordinates": [19.9373, 50.0617]}
JSON = {"Accept": "application/json"}


def rows(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(
            conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("ngo_organisations", "ngo_claims", "ngo_members", "ngo_locations")
        )


def test_claim_flow_over_http(app, engine, make_user, outbox, client):
    ngo = make_user()
    moderator = make_user("moderator")
    mail = outbox()
    assert mail == []
    before = rows(engine)
    for data, field in (
        ({"krs": "12345", "contact_email": "a@example.org", "name": "X"}, "krs"),
        ({"krs": "0000123123", "name": "X"}, "contact_email"),
    ):
        r = ngo.post("/ngos/claim", json=data, headers=JSON)
        assert r.status_code == 400 and r.json["error"]["field"] == field
        assert r.json["error"]["message"]
    r = ngo.post("/ngos/claim", data={"krs": "12345", "contact_email": "", "name": "X"})
    assert r.status_code == 400 and "10 cyfr" in r.get_data(as_text=True)
    assert rows(engine) == before
    r = ngo.post(
        "/ngos/claim",
        data={
            "krs": "0000123123",
            "contact_email": "biuro@example.org",
            "name": "Fundacja Sieć",
            "fields": ["culture", "ecology"],
            "target_groups": ["youth"],
        },
    )
    assert r.status_code == 200
    sent = outbox()
    assert len(sent) == 1 and sent[0]["To"] == "biuro@example.org"
    link = re.search(r"http://\S+/ngos/claim/confirm/\S+", sent[0].get_content()).group(0)
    token_path = link.split("localhost", 1)[-1]
    assert client.get(token_path).status_code == 200
    assert client.get(token_path).status_code == 404  # once
    queue = moderator.get("/ngos/moderation", headers=JSON).json["claims"]
    claim = next(c for c in queue if c["krs"] == "0000123123")
    org_id = claim["organisation_id"]
    assert client.get(f"/ngos/{org_id}").status_code == 404  # not public yet
    assert ngo.get("/ngos/moderation").status_code == 403
    r = moderator.post(
        f"/ngos/claims/{claim['id']}/decide", json={"decision": "approve"}, headers=JSON
    )
    assert r.status_code == 200 and r.json["approved"]
    assert client.get(f"/ngos/{org_id}").status_code == 200
    # the member edits and adds a place; an outsider cannot
    r = ngo.post(
        f"/ngos/{org_id}/places",
        json={"kind": "seat", "geometry": RYNEK, "address": "Rynek Główny 1"},
        headers=JSON,
    )
    assert r.status_code == 201, r.json
    r = make_user().post(f"/ngos/{org_id}/edit", json={"name": "Hijack"}, headers=JSON)
    assert r.status_code == 403
    r = ngo.post(f"/ngos/{org_id}/edit", json={"website": "ftp://x y"}, headers=JSON)
    assert r.status_code == 400 and r.json["error"]["field"] == "website"
    r = ngo.post(f"/ngos/{org_id}/edit", json={"offer": "Sprzątanie Wisły"}, headers=JSON)
    assert r.status_code == 200 and r.json["changed"] == ["offer"]
    page = client.get(f"/ngos/{org_id}").get_data(as_text=True)
    assert "Sprzątanie Wisły" in page and "Rynek Główny 1" in page
    # find an organisation: the list and the layer API
    found = client.get("/ngos?field=ecology", headers=JSON).json["items"]
    assert [i["name"] for i in found if i["source"] == "profile"] == ["Fundacja Sieć"]
    assert client.get("/ngos?field=sport", headers=JSON).json["items"] == [] or all(
        i["name"] != "Fundacja Sieć"
        for i in client.get("/ngos?field=sport", headers=JSON).json["items"]
    )
    r = client.get("/ngos?field=rockets", headers=JSON)
    assert r.status_code == 400 and r.json["error"]["field"] == "field"
    html = client.get("/ngos?field=ecology&district=1")
    assert html.status_code == 200 and "Fundacja Sieć" in html.get_data(as_text=True)
    fc = client.get("/api/layers/ngos/features?fields=ecology").json
    assert [f["properties"]["name"] for f in fc["features"]] == ["Fundacja Sieć"]
    fc = client.get(f"/api/layers/ngos/features?organisation_id={org_id}").json
    assert len(fc["features"]) == 1
    assert client.get("/ngos/claim").status_code == 302  # login first
    assert ngo.get(f"/ngos/{org_id}/edit").status_code == 200
    assert ngo.get(f"/ngos/{org_id}/places/new").status_code == 200
    with engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE target_table = 'ngo_organisations' AND target_id = :o"
            ),
            {"o": org_id},
        ).scalar_one()
    assert n >= 5
    json.dumps(found)


def test_profile_as_json_and_bad_parameters(client, engine):
    with engine.connect() as conn:
        org_id = conn.execute(
            text("SELECT id FROM ngo_organisations WHERE status = 'public' LIMIT 1")
        ).scalar_one()
    r = client.get(f"/ngos/{org_id}", headers=JSON)
    assert r.status_code == 200 and r.json["places"] and "comments" in r.json
    for q, field in (
        ("district=0", "district"),
        ("page=x", "page"),
        ("target_group=x", "target_group"),
    ):
        r = client.get(f"/ngos?{q}", headers=JSON)
        assert r.status_code == 400 and r.json["error"]["field"] == field
    assert client.get("/ngos/999999", headers=JSON).status_code == 404
    assert client.get("/initiatives?year=abc", headers=JSON).json["error"]["field"] == "year"
    assert client.get("/initiatives/999999", headers=JSON).status_code == 404
