"""Issue 4: consultations — areas, comments at a place or on the whole, replies, supports."""

from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import parallel_posts
from sqlalchemy import text

# The consultation area: a rectangle around Plac Centralny (Nowa Huta).
AREA = "POLYGON((20.030 50.068, 20.045 50.068, 20.045 50.078, 20.030 50.078, 20.030 50.068))"
INSIDE = {"type": "Point", "coordinates": [20.0375, 50.0717]}
OUTSIDE = {
    "type": "Point",
    "coordinates": [19.9373, 50.0617],
}  # Rynek Główny: in Kraków, not in the area
INSIDE_LINE = {"type": "LineString", "coordinates": [[20.033, 50.070], [20.042, 50.075]]}
INSIDE_POLY = {
    "type": "Polygon",
    "coordinates": [[[20.035, 50.070], [20.040, 50.070], [20.040, 50.073], [20.035, 50.070]]],
}
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def consultations(engine):
    """An open, a closed and an upcoming consultation (the city has only demo ones)."""
    with engine.begin() as conn:

        def add(title, opens, closes, docs="https://www.bip.krakow.pl/?dok_id=167"):
            return conn.execute(
                text(
                    "INSERT INTO consultations (title, description, opens_on, closes_on, stage, documents_url, geom) "
                    "VALUES (:t, :d, :o, :c, 'open', :u, ST_GeomFromText(:g, 4326)) RETURNING id"
                ),
                {
                    "t": title,
                    "d": "Opis planu.\nDruga linia.",
                    "o": opens,
                    "c": closes,
                    "u": docs,
                    "g": AREA,
                },
            ).scalar_one()

        today = conn.execute(text("SELECT current_date")).scalar_one()
        from datetime import timedelta

        return {
            "open": add(
                "Plan Placu Centralnego", today - timedelta(days=5), today + timedelta(days=20)
            ),
            "closed": add(
                "Zamknięte konsultacje", today - timedelta(days=60), today - timedelta(days=30)
            ),
            "upcoming": add(
                "Przyszłe konsultacje",
                today + timedelta(days=10),
                today + timedelta(days=40),
                "javascript:alert(1)",
            ),
        }


@pytest.fixture()
def resident(make_user):
    return make_user()


def comment_form(**overrides) -> dict:
    data = {"form_key": uuid.uuid4().hex, "place": "whole", "body": "Więcej drzew, proszę."}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_comment(client, cid, **overrides):
    return client.post(
        f"/consultations/{cid}/comments", data=comment_form(**overrides), headers=JSON
    )


def comment_row(engine, comment_id) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT id, body, status, reply_to, supports, districts, author_id, "
                    "ST_GeometryType(geom) AS gtype FROM consultation_comments WHERE id = :id"
                ),
                {"id": comment_id},
            )
            .one()
            ._mapping
        )


def test_index_lists_open_upcoming_closed(client, consultations):
    r = client.get("/consultations")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    open_at, upcoming_at, closed_at = (
        html.index("Plan Placu Centralnego"),
        html.index("Przyszłe konsultacje"),
        html.index("Zamknięte konsultacje"),
    )
    assert open_at < upcoming_at < closed_at
    fc = json.loads(client.get("/api/consultations").data)
    assert {f["id"] for f in fc["features"]} >= set(consultations.values())


def test_detail_page(client, consultations):
    html = client.get(f"/consultations/{consultations['open']}").get_data(as_text=True)
    assert "Plan Placu Centralnego" in html and "https://www.bip.krakow.pl/?dok_id=167" in html
    assert "Dzielnica XVIII Nowa Huta" in html
    assert "Zaloguj się, aby dodać uwagę" in html
    upcoming = client.get(f"/consultations/{consultations['upcoming']}").get_data(as_text=True)
    assert "javascript:alert(1)" not in upcoming  # never a javascript: link
    assert client.get("/consultations/999999").status_code == 404


def test_comment_on_the_whole_and_at_places(resident, client, consultations, engine):
    cid = consultations["open"]
    r = post_comment(resident, cid, body="Do całości: dobry plan.")
    assert r.status_code == 201, r.data
    whole = comment_row(engine, r.get_json()["id"])
    assert whole["gtype"] is None and whole["status"] == "published"
    for geom, gtype in (
        (INSIDE, "ST_Point"),
        (INSIDE_LINE, "ST_LineString"),
        (INSIDE_POLY, "ST_Polygon"),
    ):
        r = post_comment(
            resident, cid, place="map", geometry=json.dumps(geom), body=f"Uwaga: {gtype}"
        )
        assert r.status_code == 201, r.data
        row = comment_row(engine, r.get_json()["id"])
        assert row["gtype"] == gtype and row["districts"] == [18]
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Do całości: dobry plan." in html and "Uwaga: ST_Polygon" in html
    fc = json.loads(client.get(f"/api/consultations/{cid}/comments").data)
    assert {f["geometry"]["type"] for f in fc["features"]} == {"Point", "LineString", "Polygon"}


def test_html_form_redirects_to_the_comment(resident, consultations):
    cid = consultations["open"]
    r = resident.post(f"/consultations/{cid}/comments", data=comment_form(body="Przez formularz"))
    assert r.status_code == 303 and re.search(
        rf"/consultations/{cid}#comment-\d+$", r.headers["Location"]
    )


def test_outside_the_area_is_refused_with_the_reason(resident, consultations, engine):
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM consultation_comments")).scalar_one()
    r = post_comment(resident, consultations["open"], place="map", geometry=json.dumps(OUTSIDE))
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["field"] == "geometry" and "obszarem konsultacji" in err["message"]
    warsaw = {"type": "Point", "coordinates": [21.01, 52.23]}
    r = post_comment(resident, consultations["open"], place="map", geometry=json.dumps(warsaw))
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "geometry"
    # and in the page, next to the field
    r = resident.post(
        f"/consultations/{consultations['open']}/comments",
        data=comment_form(place="map", geometry=json.dumps(OUTSIDE)),
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="geometry-error"' in html and "obszarem konsultacji" in html
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM consultation_comments")).scalar_one() == before
        )


def test_after_the_closing_date_is_refused(resident, consultations):
    for key in ("closed", "upcoming"):
        r = post_comment(resident, consultations[key])
        assert r.status_code == 409
        err = r.get_json()["error"]
        assert err["field"] == "consultation" and "nie przyjmują" in err["message"]
    page = resident.get(f"/consultations/{consultations['closed']}").get_data(as_text=True)
    assert "zakończone" in page and 'name="body"' not in page


@pytest.mark.parametrize(
    "overrides, field, status",
    [
        ({"body": ""}, "body", 400),
        ({"body": "   "}, "body", 400),
        ({"body": "x" * 5001}, "body", 400),
        ({"place": "map", "geometry": ""}, "geometry", 400),
        (
            {"place": "map", "geometry": '{"type": "Point", "coordinates": [NaN, 50.07]}'},
            "geometry",
            400,
        ),
        (
            {
                "place": "map",
                "geometry": json.dumps(
                    {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [20.033, 50.070],
                                [20.042, 50.075],
                                [20.042, 50.070],
                                [20.033, 50.075],
                                [20.033, 50.070],
                            ]
                        ],
                    }
                ),
            },
            "geometry",
            400,
        ),
        ({"place": "space"}, "place", 400),
        ({"reply_to": "999999"}, "reply_to", 400),
        ({"reply_to": "abc"}, "reply_to", 400),
        ({"form_key": "x"}, "form_key", 400),
    ],
)
def test_bad_comments(resident, consultations, overrides, field, status):
    r = post_comment(resident, consultations["open"], **overrides)
    assert r.status_code == status, r.data
    assert r.get_json()["error"]["field"] == field


def test_wrong_content_type_and_huge_body(resident, consultations):
    cid = consultations["open"]
    r = resident.post(f"/consultations/{cid}/comments", json=comment_form())
    assert r.status_code == 415 and r.get_json()["error"]["field"] == "Content-Type"
    r = resident.post(
        f"/consultations/{cid}/comments",
        data=comment_form(body="x" * (10 * 1024 * 1024)),
        headers=JSON,
    )
    assert r.status_code == 413 and r.get_json()["error"]["field"] == "body"
    assert (
        resident.post(
            "/consultations/999999/comments", data=comment_form(), headers=JSON
        ).status_code
        == 404
    )


def test_login_required(client, consultations):
    r = client.post(f"/consultations/{consultations['open']}/comments", data=comment_form())
    assert r.status_code in (302, 400)


def test_double_submit_one_row(resident, consultations, engine):
    data = comment_form(body="Jeden raz")
    url = f"/consultations/{consultations['open']}/comments"
    a = resident.post(url, data=data, headers=JSON)
    b = resident.post(url, data=data, headers=JSON)
    assert (a.status_code, b.status_code) == (201, 200)
    assert a.get_json()["id"] == b.get_json()["id"]
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM consultation_comments WHERE external_id = :e"),
            {"e": f"web:{data['form_key']}"},
        ).scalar_one()
    assert n == 1


def test_replies(resident, make_user, client, consultations, engine):
    cid = consultations["open"]
    parent = post_comment(resident, cid, body="Pytanie do planistów").get_json()["id"]
    other = make_user(name="Odpowiadająca")
    r = post_comment(other, cid, body="Odpowiedź na pytanie", reply_to=str(parent))
    assert r.status_code == 201
    assert comment_row(engine, r.get_json()["id"])["reply_to"] == parent
    html = client.get(f"/consultations/{cid}").get_data(as_text=True)
    thread = html[html.index(f'id="comment-{parent}"') :]
    assert thread.index("Pytanie do planistów") < thread.index("Odpowiedź na pytanie")
    assert 'class="replies"' in thread


def test_unconfirmed_comment_waits(make_user, client, consultations, engine):
    newbie = make_user(confirmed=False)
    cid = consultations["open"]
    r = post_comment(newbie, cid, body="Komentarz nowego konta")
    assert r.status_code == 201 and r.get_json()["status"] == "pending"
    assert comment_row(engine, r.get_json()["id"])["status"] == "pending"
    assert "Komentarz nowego konta" not in client.get(f"/consultations/{cid}").get_data(
        as_text=True
    )
    mine = newbie.get(f"/consultations/{cid}").get_data(as_text=True)
    assert "Komentarz nowego konta" in mine and "czeka na moderatora" in mine


def test_permalink(resident, client, consultations):
    cid = consultations["open"]
    comment_id = post_comment(resident, cid, body="Permalink").get_json()["id"]
    r = client.get(f"/consultations/comments/{comment_id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(
        f"/consultations/{cid}#comment-{comment_id}"
    )
    assert client.get("/consultations/comments/999999").status_code == 404


def test_xss_in_comment_is_escaped(resident, client, consultations):
    cid = consultations["open"]
    evil = "<script>alert(1)</script>"
    post_comment(resident, cid, body=evil, place="map", geometry=json.dumps(INSIDE))
    for url in (f"/consultations/{cid}", "/comments"):
        html = client.get(url).get_data(as_text=True)
        assert evil not in html and "&lt;script&gt;" in html, url


# --------------------------------------------------------------------------- supports


@pytest.fixture()
def comment_id(make_user, consultations):
    author = make_user()
    return post_comment(author, consultations["open"], body="Popieracie?").get_json()["id"]


def test_support_once_then_withdraw(make_user, comment_id, engine):
    fan = make_user()
    url = f"/consultations/comments/{comment_id}/support"
    for _ in range(3):
        r = fan.post(url, headers=JSON)
        assert r.status_code == 200 and r.get_json()["supports"] == 1
    assert comment_row(engine, comment_id)["supports"] == 1
    second = make_user()
    assert second.post(url, headers=JSON).get_json()["supports"] == 2
    r = fan.post(url, data={"action": "withdraw"})
    assert r.status_code == 303
    assert comment_row(engine, comment_id)["supports"] == 1
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM comment_supports WHERE comment_id = :c"), {"c": comment_id}
        ).scalar_one()
    assert n == 1


def test_support_refusals(resident, consultations, engine):
    own = post_comment(resident, consultations["open"], body="Moja").get_json()["id"]
    r = resident.post(f"/consultations/comments/{own}/support", headers=JSON)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "comment_id"
    assert resident.post("/consultations/comments/999999/support", headers=JSON).status_code == 404
    # a comment in a closed consultation (written before it closed)
    with engine.begin() as conn:
        conn.execute(
            text("ALTER TABLE consultation_comments DISABLE TRIGGER consultation_comments_check")
        )
        old = conn.execute(
            text(
                "INSERT INTO consultation_comments (consultation_id, body, status) "
                "VALUES (:k, 'Stara uwaga', 'published') RETURNING id"
            ),
            {"k": consultations["closed"]},
        ).scalar_one()
        conn.execute(
            text("ALTER TABLE consultation_comments ENABLE TRIGGER consultation_comments_check")
        )
    r = resident.post(f"/consultations/comments/{old}/support", headers=JSON)
    assert r.status_code == 409 and r.get_json()["error"]["field"] == "consultation"


def test_twenty_parallel_supports_by_one_person(live_server, make_user, comment_id, engine):
    fan = make_user()
    url = f"{live_server}/consultations/comments/{comment_id}/support"
    results = parallel_posts(fan, url, 20)
    assert {r.status_code for r in results} == {200}, [r.text[:200] for r in results]
    assert sum(r.json()["new"] for r in results) == 1
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT count(*) FROM comment_supports WHERE comment_id = :c AND user_id = :u"),
            {"c": comment_id, "u": fan.user.id},
        ).scalar_one()
    assert rows == 1
    assert comment_row(engine, comment_id)["supports"] == 1  # the counter moved once, in step


def test_twenty_parallel_supports_on_psycopg_connections(make_user, comment_id, engine):
    """The same race without HTTP: 20 connections, one person, one support row."""
    from civic.participation.consultations import support_comment

    fan = make_user()

    def support(_):
        with engine.begin() as conn:
            return support_comment(conn, fan.user.id, comment_id)[0]

    with ThreadPoolExecutor(20) as pool:
        new = list(pool.map(support, range(20)))
    assert sum(new) == 1
    assert comment_row(engine, comment_id)["supports"] == 1


# --------------------------------------------------------------------------- browsing


def test_browse_comments(resident, client, consultations):
    cid = consultations["open"]
    post_comment(resident, cid, body="Ławki w cieniu zyx", place="map", geometry=json.dumps(INSIDE))
    html = client.get("/comments", query_string={"consultation": cid, "q": "zyx"}).get_data(
        as_text=True
    )
    assert "Ławki w cieniu zyx" in html
    html = client.get("/comments", query_string={"district": 1, "q": "zyx"}).get_data(as_text=True)
    assert "Ławki w cieniu zyx" not in html
    assert client.get("/comments", query_string={"sort": "supports"}).status_code == 200
    for bad in ({"sort": "x"}, {"consultation": "abc"}, {"q": "x" * 101}):
        assert client.get("/comments", query_string=bad).status_code == 400
    fc = json.loads(client.get("/api/comments", query_string={"consultation": cid}).data)
    assert fc["features"] and all(f["properties"]["consultation_id"] == cid for f in fc["features"])


def test_contributions_list_comments(resident, consultations):
    post_comment(resident, consultations["open"], body="Moja uwaga w wykazie")
    html = resident.get("/account/contributions").get_data(as_text=True)
    assert "Moja uwaga w wykazie" in html and "Plan Placu Centralnego" in html
