"""Moderation: flags (one per person and item), the queue, hide/restore with a reason, the
audit log, notifications to authors, and holding content from unconfirmed accounts."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from app.auth import User
from civic.audit import notify, record_audit
from civic.moderation import hold_for_moderation, needs_moderation

AREA = (
    "ST_GeomFromText('POLYGON((19.930 50.058, 19.945 50.058, 19.945 50.066, "
    "19.930 50.066, 19.930 50.058))', 4326)"
)


@pytest.fixture()
def consultation(engine):
    with engine.begin() as conn:
        return conn.execute(
            text(
                f"INSERT INTO consultations (title, opens_on, closes_on, stage, geom) "
                f"VALUES ('Rynek bez samochodów', current_date - 1, current_date + 30, 'open', "
                f"ST_Multi({AREA})) RETURNING id"
            )
        ).scalar()


def add_comment(engine, consultation_id: int, author_id: int | None, body: str, status="published"):
    with engine.begin() as conn:
        return conn.execute(
            text(
                "INSERT INTO consultation_comments (consultation_id, body, author_id, status, geom) "
                "VALUES (:c, :b, :a, :s, ST_SetSRID(ST_MakePoint(19.9373, 50.0617), 4326)) "
                "RETURNING id"
            ),
            {"c": consultation_id, "b": body, "a": author_id, "s": status},
        ).scalar()


def status_of(engine, comment_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT status FROM consultation_comments WHERE id = :id"), {"id": comment_id}
        ).scalar()


def test_flag_then_moderator_hides_and_author_is_notified(make_user, engine, consultation):
    author = make_user(name="Autorka")
    cid = add_comment(engine, consultation, author.user.id, "Obraźliwy komentarz")
    flagger = make_user()

    r = flagger.post(
        "/flag",
        data={"target_table": "consultation_comments", "target_id": cid, "reason": "obraźliwe"},
    )
    assert r.status_code == 302
    # a second flag from the same person adds no row
    r = flagger.post(
        "/flag",
        json={"target_table": "consultation_comments", "target_id": cid, "reason": "znowu"},
    )
    assert r.status_code == 200 and r.json == {"flagged": True, "new": False}
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM flags WHERE target_id = :id"), {"id": cid}
            ).scalar()
            == 1
        )

    mod = make_user("moderator", name="Moderator Marek")
    queue = mod.get("/moderation")
    assert queue.status_code == 200
    assert "Obraźliwy komentarz" in queue.text and "obraźliwe" in queue.text

    # a reason is required
    r = mod.post(f"/moderation/consultation_comments/{cid}", data={"action": "hide", "reason": ""})
    assert r.status_code == 400
    assert f'id="reason-consultation_comments-{cid}-error"' in r.text
    assert status_of(engine, cid) == "published"

    r = mod.post(
        f"/moderation/consultation_comments/{cid}",
        data={"action": "hide", "reason": "Narusza regulamin (obraźliwy język)"},
    )
    assert r.status_code == 302
    assert status_of(engine, cid) == "hidden"

    # the author sees it in their notifications
    page = author.get("/account")
    assert "Moderator ukrył Twój wpis" in page.text
    assert "Narusza regulamin (obraźliwy język)" in page.text
    assert "1 nowe powiadomienie" in page.text
    # flags on it are resolved: the queue is empty again, the item sits under "hidden"
    queue = mod.get("/moderation").text
    assert "Kolejka jest pusta" in queue

    # the audit log records who, what and when
    audit = mod.get("/moderation/audit")
    assert audit.status_code == 200
    assert "moderation.hide" in audit.text and "Moderator Marek" in audit.text
    assert "flag" in audit.text
    assert author.get("/moderation/audit").status_code == 403

    # restore, with a reason; the author is told again
    r = mod.post(
        f"/moderation/consultation_comments/{cid}",
        json={"action": "restore", "reason": "Po odwołaniu"},
    )
    assert r.status_code == 200 and r.json["state"] == "published"
    assert status_of(engine, cid) == "published"
    assert "Moderator przywrócił Twój wpis" in author.get("/account").text


def test_hidden_proposal_leaves_public_views(make_user, engine, client):
    author = make_user()
    with engine.begin() as conn:
        pid = conn.execute(
            text(
                "INSERT INTO budget_proposals (edition, title, scope, districts, status, author_id, geom) "
                "VALUES (2025, 'Projekt do ukrycia', 'district', '{1}', 'submitted', :a, "
                "ST_SetSRID(ST_MakePoint(19.9373, 50.0617), 4326)) RETURNING id"
            ),
            {"a": author.user.id},
        ).scalar()
    mod = make_user("moderator")
    r = mod.post(f"/moderation/budget_proposals/{pid}", json={"action": "hide", "reason": "Spam"})
    assert r.status_code == 200 and r.json["state"] == "hidden"
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT hidden_at, hidden_reason FROM budget_proposals WHERE id = :id"),
            {"id": pid},
        ).one()
    assert row.hidden_at is not None and row.hidden_reason == "Spam"
    page = client.get(f"/layers/budget-proposals/{pid}", follow_redirects=True)
    assert page.status_code == 404
    assert "Projekt do ukrycia" in author.get("/account").text  # still in "my contributions"


def test_unconfirmed_content_waits_for_a_moderator(make_user, engine, consultation):
    newbie = make_user(confirmed=False)
    assert needs_moderation(newbie.user) and needs_moderation(None)
    assert not needs_moderation(make_user().user)
    cid = add_comment(
        engine, consultation, newbie.user.id, "Pierwszy komentarz", status="published"
    )
    with engine.begin() as conn:
        hold_for_moderation(conn, "consultation_comments", cid)
    assert status_of(engine, cid) == "pending"
    mod = make_user("moderator")
    assert "Pierwszy komentarz" in mod.get("/moderation").text
    r = mod.post(f"/moderation/consultation_comments/{cid}", json={"action": "publish"})
    assert r.status_code == 200 and status_of(engine, cid) == "published"
    assert "zatwierdzony przez moderatora" in newbie.get("/account").text


def test_flag_bad_input(make_user, consultation, engine):
    c = make_user()
    cid = add_comment(engine, consultation, None, "Komentarz")
    cases = [
        ({"target_table": "users", "target_id": 1, "reason": "x"}, "target_table", 400),
        (
            {"target_table": "consultation_comments", "target_id": "abc", "reason": "x"},
            "target_id",
            400,
        ),
        (
            {"target_table": "consultation_comments", "target_id": 99999999, "reason": "x"},
            "target_id",
            404,
        ),
        ({"target_table": "consultation_comments", "target_id": cid, "reason": " "}, "reason", 400),
        (
            {"target_table": "consultation_comments", "target_id": cid, "reason": "x" * 1001},
            "reason",
            400,
        ),
    ]
    for data, field, status in cases:
        r = c.post("/flag", json=data)
        assert r.status_code == status, (data, r.text)
        assert r.json["error"]["field"] == field
    anon = c.application.test_client()
    r = anon.post("/flag", json=cases[0][0], headers={"Accept": "application/json"})
    assert r.status_code in (400, 401)  # no CSRF token or no login: refused either way


def test_parallel_flags_leave_one_row(make_user, consultation, engine):
    c = make_user()
    cid = add_comment(engine, consultation, None, "Komentarz do zgłoszenia")
    codes: list[int] = []

    def one():
        r = c.application.test_client()
        r.environ_base.update(c.environ_base)
        r._cookies = c._cookies  # the same session
        codes.append(
            r.post(
                "/flag",
                json={"target_table": "consultation_comments", "target_id": cid, "reason": "spam"},
            ).status_code
        )

    threads = [threading.Thread(target=one) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes).count(201) == 1 and set(codes) <= {200, 201}
    with engine.connect() as conn:
        assert (
            conn.execute(
                text(
                    "SELECT count(*) FROM flags WHERE target_id = :id AND target_table = 'consultation_comments'"
                ),
                {"id": cid},
            ).scalar()
            == 1
        )


def test_interface_functions(app, engine, make_user):
    u = make_user().user
    with app.test_request_context("/?lang=en"), engine.begin() as conn:
        entry = record_audit(conn, u.id, "test.action", "budget_proposals", 7, reason="why")
        notify(conn, u.id, "content_flagged", kind="budget_proposals", title="T", id=7)
        notify(conn, None, "content_flagged")  # no author: nothing to do
        from app.moderation.content import list_notifications

        notes = list_notifications(conn, u.id)
    assert entry > 0
    assert notes[0]["text"].startswith("Someone flagged your")
    assert isinstance(u, User)


def test_queue_is_for_moderators_only(make_user, client):
    assert make_user().get("/moderation").status_code == 403
    assert (
        make_user("planner")
        .post("/moderation/consultation_comments/1", json={"action": "hide", "reason": "x"})
        .status_code
        == 403
    )
    r = client.get("/moderation")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
