"""Council notifications are wired into the real write paths: a proposal submitted through
/propose, a comment posted to a consultation, and content a moderator publishes after holding
it (issue 5, item 4)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

# a small square on Ruczaj (district VIII Dębniki)
RUCZAJ = [[19.900, 50.030], [19.902, 50.030], [19.902, 50.031], [19.900, 50.031], [19.900, 50.030]]
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def uploads(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield
    app.config.pop("UPLOAD_DIR", None)


@pytest.fixture()
def councils(make_user):
    return {
        8: make_user(role="council", council_district=8),
        18: make_user(role="council", council_district=18),
    }


def told(engine, user_id: int, kind: str, item_id: int) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM notifications WHERE user_id = :u "
                    "AND message_key = 'council_new_item' AND params @> CAST(:p AS jsonb)"
                ),
                {"u": user_id, "p": json.dumps({"kind": kind, "id": item_id})},
            ).scalar()
        )


def proposal_form(**over) -> dict:
    data = {
        "form_key": uuid.uuid4().hex,
        "action": "submit",
        "scope": "district",
        "location": "map",
        "geometry": json.dumps({"type": "Polygon", "coordinates": [RUCZAJ]}),
        "title": "Skwer na Ruczaju",
        "description": "Ławki i drzewa.",
        "category": "public space",
        "cost": "90 000",
    }
    data.update(over)
    return data


def test_submitted_proposal_notifies_the_district_council(make_user, councils, engine):
    resident = make_user()
    r = resident.post("/propose", data=proposal_form(), headers=JSON)
    assert r.status_code == 201, r.data[:500]
    pid = r.get_json()["id"]
    assert told(engine, councils[8].user.id, "budget_proposals", pid)
    assert not told(engine, councils[18].user.id, "budget_proposals", pid)
    # a draft is nobody's news
    r = resident.post("/propose", data=proposal_form(action="draft"), headers=JSON)
    assert not told(engine, councils[8].user.id, "budget_proposals", r.get_json()["id"])


def test_held_content_notifies_when_a_moderator_publishes_it(make_user, councils, engine):
    newcomer = make_user(confirmed=False)
    r = newcomer.post("/propose", data=proposal_form(title="Plac zabaw"), headers=JSON)
    assert r.status_code == 201
    pid = r.get_json()["id"]
    assert not told(engine, councils[8].user.id, "budget_proposals", pid)  # held
    mod = make_user("moderator")
    r = mod.post(f"/moderation/budget_proposals/{pid}", data={"action": "publish", "reason": ""})
    assert r.status_code in (200, 302, 303), r.data[:500]
    assert told(engine, councils[8].user.id, "budget_proposals", pid)


def test_published_comment_notifies_the_district_council(make_user, councils, engine):
    with engine.begin() as conn:
        cid = conn.execute(
            text(
                "INSERT INTO consultations (title, opens_on, closes_on, stage, geom) "
                "SELECT 'Bulwary Wisły', current_date - 1, current_date + 20, 'open', geom "
                "FROM districts WHERE number = 8 RETURNING id"
            )
        ).scalar_one()
    resident = make_user()
    point = {"type": "Point", "coordinates": [19.901, 50.0305]}
    r = resident.post(
        f"/consultations/{cid}/comments",
        data={
            "form_key": uuid.uuid4().hex,
            "place": "map",
            "geometry": json.dumps(point),
            "body": "Więcej ławek nad rzeką.",
        },
        headers=JSON,
    )
    assert r.status_code == 201, r.data[:500]
    comment = r.get_json()["id"]
    assert told(engine, councils[8].user.id, "consultation_comments", comment)
    assert not told(engine, councils[18].user.id, "consultation_comments", comment)
