"""Issue 10, part 2: the voting_point role — a clerk enters paper ballots only at the voting
point assigned to them; every paper ballot records its point; turnout by point is shown."""

from __future__ import annotations

from sqlalchemy import text

from civic.pb.voting import assign_voting_point
from tests.pb_vote_support import (
    CITY_IDS,
    DISTRICT,
    LOCAL_IDS,
    VOTE_YEAR,
    counts,
    open_voting_edition,
)


def _card(point: int, name: str) -> dict:
    return {
        "voting_point": point,
        "full_name": name,
        "birth_date": "1990-01-02",
        "address": "Wielicka 10",
        "district": DISTRICT,
        "citywide": "1,2,3",
        "local": "3,1,2",
    }


def test_voting_point_clerk_only_at_their_point(make_user, engine, client):
    open_voting_edition(engine)
    with engine.connect() as conn:
        a, b = conn.execute(
            text("SELECT id FROM civic_venues WHERE type = 'library' ORDER BY id LIMIT 2")
        ).scalars()
    clerk = make_user("voting_point")
    with engine.begin() as conn:
        assert assign_voting_point(conn, clerk.user.id, a)["id"] == a
        assign_voting_point(conn, clerk.user.id, a)  # once
        assert (
            conn.execute(
                text("SELECT count(*) FROM pb_voting_point_staff WHERE user_id = :u"),
                {"u": clerk.user.id},
            ).scalar_one()
            == 1
        )
    page = clerk.get(f"/budget/{VOTE_YEAR}/paper").get_data(as_text=True)
    page = page.split('id="f-voting_point"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{a}"' in page and f'<option value="{b}"' not in page
    before = counts(engine)
    url = f"/budget/{VOTE_YEAR}/paper"
    r = clerk.post(url, json=_card(b, "Anna Obcypunkt"), headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.get_json()["error"]["field"] == "voting_point"
    assert counts(engine) == before
    r = clerk.post(url, json=_card(a, "Anna Swojpunkt"), headers={"Accept": "application/json"})
    assert r.status_code == 201, r.data
    with engine.connect() as conn:
        got = conn.execute(
            text(
                "SELECT voting_point, voting_method FROM pb_urn WHERE edition = :y "
                "AND scope = 'citywide' AND choices = :c"
            ),
            {"y": VOTE_YEAR, "c": CITY_IDS[:3]},
        ).all()
    assert (a, "paper") in [tuple(g) for g in got]
    # a resident may not enter ballots; an official may at any point
    resident = make_user()
    assert resident.post(url, json=_card(a, "Zofia Nikt")).status_code == 403
    official = make_user("official")
    r = official.post(url, json=_card(b, "Ola Urzędowa"), headers={"Accept": "application/json"})
    assert r.status_code == 201
    # turnout by voting point on the results page
    html = client.get(f"/budget/{VOTE_YEAR}/results").get_data(as_text=True)
    assert f'id="point-{a}"' in html and f'id="point-{b}"' in html
    assert LOCAL_IDS  # the district part was checked against the district's list
