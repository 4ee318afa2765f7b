"""Issue 15.6: residents comment on proposals (threaded, moderated like consultation
comments), authors edit their proposal while the submission phase is open and everyone sees
its history, closed past projects take no supports."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from propose_support import DECLARED, close_submissions, open_edition, reopen_submissions
from sqlalchemy import text

pytestmark = pytest.mark.usefixtures("open_edition")
assert open_edition  # a module-scoped fixture: an edition open for submissions

JSON = {"Accept": "application/json"}
RING = [[20.036, 50.071], [20.040, 50.071], [20.040, 50.073], [20.036, 50.073], [20.036, 50.071]]


def proposal_form(**overrides) -> dict:
    data = {
        "form_key": uuid.uuid4().hex,
        "action": "submit",
        "scope": "district",
        "location": "map",
        "geometry": json.dumps({"type": "Polygon", "coordinates": [RING]}),
        "title": "Ławki przy placu",
        "description": "Nowe ławki i zieleń wokół placu.",
        "category": "public space",
        "cost": "120 000",
        **DECLARED,
    }
    data.update(overrides)
    return data


def submit(client, **overrides) -> int:
    r = client.post("/propose", data=proposal_form(**overrides))
    assert r.status_code == 303, r.data[:1000]
    return int(re.search(r"(?:/proposals/|draft=)(\d+)$", r.headers["Location"]).group(1))


@pytest.fixture()
def author(make_user):
    return make_user()


@pytest.fixture()
def pid(author) -> int:
    return submit(author, title="Projekt do dyskusji")


def comment(client, pid: int, body: str, **extra):
    return client.post(
        f"/proposals/{pid}/comments",
        data={"form_key": uuid.uuid4().hex, "body": body, **extra},
        headers=JSON,
    )


def comment_rows(engine, pid: int) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, body, reply_to, status FROM proposal_comments "
                "WHERE proposal_id = :p ORDER BY id"
            ),
            {"p": pid},
        )
        return [dict(r._mapping) for r in rows]


# --------------------------------------------------------------------------- comments


def test_comment_and_threaded_reply_on_the_page(make_user, client, pid, engine):
    anna, bartek = make_user(name="Anna K."), make_user(name="Bartek W.")
    r = comment(anna, pid, "Dobry pomysł, ale brakuje koszy na śmieci.")
    assert r.status_code == 201, r.data
    first = r.get_json()["id"]
    assert r.get_json()["status"] == "published"
    r = comment(bartek, pid, "Zgadzam się — kosze też.", reply_to=str(first))
    assert r.status_code == 201
    reply = r.get_json()["id"]
    assert [c["reply_to"] for c in comment_rows(engine, pid)] == [None, first]
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "Komentarze (2)" in html
    # the reply is nested under its comment
    outer = html.index(f'id="comment-{first}"')
    nested = html.index('<ol class="replies"', outer)
    assert outer < nested < html.index(f'id="comment-{reply}"')
    assert "Anna K." in html and "Bartek W." in html
    # the permalink of a comment lands at its place on the proposal's page
    r = client.get(f"/proposals/comments/{reply}")
    assert r.status_code == 302 and r.headers["Location"].endswith(
        f"/proposals/{pid}#comment-{reply}"
    )


def test_same_form_twice_leaves_one_comment(make_user, pid, engine):
    anna = make_user()
    key = uuid.uuid4().hex
    for expected in (201, 200):
        r = anna.post(
            f"/proposals/{pid}/comments", data={"form_key": key, "body": "Raz."}, headers=JSON
        )
        assert r.status_code == expected
    assert len(comment_rows(engine, pid)) == 1


@pytest.mark.parametrize(
    "data, field, status",
    [
        ({"body": ""}, "body", 400),
        ({"body": "x" * 5001}, "body", 400),
        ({"body": "ok", "reply_to": "999999999"}, "reply_to", 400),
        ({"body": "ok", "reply_to": "abc"}, "reply_to", 400),
        ({"body": "ok", "form_key": "nope"}, "form_key", 400),
    ],
)
def test_bad_comments_name_the_field(make_user, pid, engine, data, field, status):
    anna = make_user()
    payload = {"form_key": uuid.uuid4().hex, **data}
    r = anna.post(f"/proposals/{pid}/comments", data=payload, headers=JSON)
    assert r.status_code == status, r.data
    assert r.get_json()["error"]["field"] == field
    assert comment_rows(engine, pid) == []


def test_comment_form_errors_shown_in_html(make_user, pid):
    r = make_user().post(
        f"/proposals/{pid}/comments", data={"form_key": uuid.uuid4().hex, "body": "  "}
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'id="body-error"' in html and 'aria-invalid="true"' in html


def test_no_comments_on_missing_or_draft_proposals(make_user, author, engine):
    anna = make_user()
    assert comment(anna, 999999999, "Hej").status_code == 404
    draft = submit(author, action="draft", title="Szkic")
    assert comment(anna, draft, "Hej").status_code == 404
    assert comment_rows(engine, draft) == []


def test_anonymous_cannot_comment(client, pid, engine):
    r = client.post(f"/proposals/{pid}/comments", data={"body": "x"})
    assert r.status_code in (302, 400, 401, 403)  # the CSRF guard or the login
    assert comment_rows(engine, pid) == []
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "Zaloguj się, aby skomentować." in html and 'id="comment-body"' not in html


def test_unconfirmed_comment_waits_for_a_moderator(make_user, client, pid, engine):
    newbie = make_user(confirmed=False, name="Nowe Konto")
    r = comment(newbie, pid, "Komentarz nowego konta")
    assert r.status_code == 201 and r.get_json()["status"] == "pending"
    cid = r.get_json()["id"]
    assert "Komentarz nowego konta" not in client.get(f"/proposals/{pid}").get_data(as_text=True)
    mine = newbie.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "Komentarz nowego konta" in mine and "czeka na moderatora" in mine
    mod = make_user("moderator")
    queue = mod.get("/moderation").get_data(as_text=True)
    assert "Komentarz nowego konta" in queue
    r = mod.post(f"/moderation/proposal_comments/{cid}", data={"action": "publish"}, headers=JSON)
    assert r.status_code == 200, r.data
    assert "Komentarz nowego konta" in client.get(f"/proposals/{pid}").get_data(as_text=True)
    r = mod.post(
        f"/moderation/proposal_comments/{cid}",
        data={"action": "hide", "reason": "spam"},
        headers=JSON,
    )
    assert r.status_code == 200
    assert comment_rows(engine, pid)[0]["status"] == "hidden"
    assert "Komentarz nowego konta" not in client.get(f"/proposals/{pid}").get_data(as_text=True)


def test_flag_a_comment(make_user, pid):
    anna, bartek = make_user(), make_user()
    cid = comment(anna, pid, "Do zgłoszenia").get_json()["id"]
    r = bartek.post(
        "/flag",
        data={"target_table": "proposal_comments", "target_id": cid, "reason": "obraźliwe"},
        headers=JSON,
    )
    assert r.status_code in (200, 201), r.data
    assert "Do zgłoszenia" in make_user("moderator").get("/moderation").get_data(as_text=True)


def test_support_a_comment_once(make_user, pid, engine):
    anna, bartek = make_user(), make_user()
    cid = comment(anna, pid, "Popierajcie").get_json()["id"]
    for _ in range(3):
        r = bartek.post(f"/proposals/comments/{cid}/support", headers=JSON)
        assert r.status_code == 200 and r.get_json()["supports"] == 1
    r = anna.post(f"/proposals/comments/{cid}/support", headers=JSON)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "comment_id"
    r = bartek.post(f"/proposals/comments/{cid}/support", data={"action": "withdraw"})
    assert r.status_code == 303
    assert comment_rows(engine, pid)[0]["status"] == "published"
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT supports FROM proposal_comments WHERE id = :c"), {"c": cid}
            ).scalar_one()
            == 0
        )
    assert bartek.post("/proposals/comments/999999/support", headers=JSON).status_code == 404


# --------------------------------------------------------------------------- edits and history


def test_author_edits_while_submission_is_open_and_history_shows_it(author, client, pid):
    r = author.post(
        f"/proposals/{pid}/edit",
        data={"title": "Projekt do dyskusji (poprawiony)", "description": "Nowy opis."},
    )
    assert r.status_code == 303 and r.headers["Location"].endswith("#history")
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "<h1>Projekt do dyskusji (poprawiony)</h1>" in html
    versions = html[html.index('id="versions"') :]
    assert "<del>Projekt do dyskusji</del>" in versions
    assert "<ins>Projekt do dyskusji (poprawiony)</ins>" in versions
    assert "<ins>Nowy opis.</ins>" in versions


def test_edit_refused_outside_the_phase_naming_it(author, make_user, pid, engine):
    assert (
        make_user()
        .post(f"/proposals/{pid}/edit", data={"title": "Cudzy", "description": "x"})
        .status_code
        == 404
    )
    r = author.post(f"/proposals/{pid}/edit", json={"title": "", "description": "x"})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "title"
    close_submissions(engine)
    try:
        r = author.post(f"/proposals/{pid}/edit", json={"title": "Za późno", "description": "x"})
        assert r.status_code == 409, r.data
        err = r.get_json()["error"]
        assert err["field"] == "phase" and "składanie projektów" in err["message"]
        html = author.get(f"/proposals/{pid}").get_data(as_text=True)
        assert 'id="edit-closed"' in html and "składanie projektów" in html
        assert f'action="/proposals/{pid}/edit"' not in html
    finally:
        reopen_submissions(engine)
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT title FROM budget_proposals WHERE id = :p"), {"p": pid}
            ).scalar_one()
            == "Projekt do dyskusji"
        )


# --------------------------------------------------------------------------- closed projects


def test_closed_past_project_cannot_be_supported(make_user, client, engine):
    with engine.begin() as conn:
        old = conn.execute(
            text(
                "INSERT INTO budget_proposals (edition, title, category, cost, scope, status, geom) "
                "VALUES (2022, 'Stary projekt qzx', 'sport', 1000, 'district', 'not_selected', "
                "ST_GeomFromText('POINT(20.0375 50.0717)', 4326)) RETURNING id"
            )
        ).scalar_one()
    fan = make_user()
    html = fan.get(f"/proposals/{old}").get_data(as_text=True)
    assert 'id="support-closed"' in html
    assert f'action="/proposals/{old}/support"' not in html
    r = fan.post(f"/proposals/{old}/support", headers=JSON)
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["field"] == "proposal_id" and err["code"] == "closed" and "2022" in err["message"]
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM proposal_supports WHERE proposal_id = :p"), {"p": old}
        ).scalar_one()
    assert n == 0


def test_open_project_can_still_be_supported(make_user, pid):
    r = make_user().post(f"/proposals/{pid}/support", headers=JSON)
    assert r.status_code == 200 and r.get_json()["supports"] == 1
