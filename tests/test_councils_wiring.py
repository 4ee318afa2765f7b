"""Council notifications are wired into the real write paths: a proposal submitted through
/propose, a comment posted to a consultation, and content a moderator publishes after holding
it (issue 5, item 4)."""

from __future__ import annotations

import json
import uuid

import pytest
from propose_support import DECLARED, open_edition
from sqlalchemy import text

# a small square on Ruczaj (district VIII Dębniki)
RUCZAJ = [[19.900, 50.030], [19.902, 50.030], [19.902, 50.031], [19.900, 50.031], [19.900, 50.030]]
JSON = {"Accept": "application/json"}

pytestmark = pytest.mark.usefixtures("open_edition")
assert open_edition  # a module-scoped fixture: an edition open for submissions


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
        **DECLARED,
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


def _public_proposal(conn, title: str, *, status: str = "submitted", hidden: bool = False) -> int:
    """A district proposal on Ruczaj (VIII), written straight to the table."""
    return conn.execute(
        text(
            "INSERT INTO budget_proposals (edition, title, description, category, cost, scope, "
            "status, hidden_at, geom) VALUES (2025, :t, 'Opis', 'sport', 1000, 'district', :s, "
            "CASE WHEN :h THEN now() END, ST_GeomFromGeoJSON(:g)) RETURNING id"
        ),
        {
            "t": title,
            "s": status,
            "h": hidden,
            "g": json.dumps({"type": "Polygon", "coordinates": [RUCZAJ]}),
        },
    ).scalar_one()


def test_councils_subscribe_to_content_public():
    from civic import events

    assert "civic.councils.notify" in events.SUBSCRIBERS
    events._load()
    from civic.councils.notify import on_content_public

    assert on_content_public in events._handlers["content_public"]


def test_content_public_event_notifies_the_district_council_once(councils, engine):
    """What moderation publishes when content becomes public: the item's councils hear of it,
    once, whoever publishes it again; another district's council does not."""
    from civic.events import publish

    with engine.begin() as conn:
        pid = _public_proposal(conn, "Zieleń przy pętli")
        assert publish(conn, "content_public", table="budget_proposals", target_id=pid) >= 1
    assert told(engine, councils[8].user.id, "budget_proposals", pid)
    assert not told(engine, councils[18].user.id, "budget_proposals", pid)
    with engine.begin() as conn:
        publish(conn, "content_public", table="budget_proposals", target_id=pid)
        n = conn.execute(
            text(
                "SELECT count(*) FROM notifications WHERE user_id = :u "
                "AND message_key = 'council_new_item' AND params @> CAST(:p AS jsonb)"
            ),
            {"u": councils[8].user.id, "p": json.dumps({"kind": "budget_proposals", "id": pid})},
        ).scalar()
    assert n == 1


def test_content_public_event_skips_what_the_public_cannot_see(councils, engine):
    from civic.events import publish

    with engine.begin() as conn:
        draft = _public_proposal(conn, "Szkic", status="draft")
        held = _public_proposal(conn, "Czeka", hidden=True)
        for pid in (draft, held):
            publish(conn, "content_public", table="budget_proposals", target_id=pid)
        # a table the councils do not follow is no error
        publish(conn, "content_public", table="ngos", target_id=1)
    for pid in (draft, held):
        assert not told(engine, councils[8].user.id, "budget_proposals", pid)


def test_content_public_event_rolls_back_with_the_write(councils, engine):
    """The handler runs in the publisher's transaction: a rollback takes the notice along."""
    from civic.events import publish

    with engine.connect() as conn:
        trans = conn.begin()
        pid = _public_proposal(conn, "Wycofany")
        publish(conn, "content_public", table="budget_proposals", target_id=pid)
        assert conn.execute(
            text("SELECT count(*) FROM notifications WHERE params @> CAST(:p AS jsonb)"),
            {"p": json.dumps({"kind": "budget_proposals", "id": pid})},
        ).scalar()
        trans.rollback()
    assert not told(engine, councils[8].user.id, "budget_proposals", pid)
