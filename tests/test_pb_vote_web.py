"""Voting and results over HTTP: thin routes over civic.pb.voting / civic.pb.results."""

from __future__ import annotations

import pytest

from tests.pb_vote_support import (
    CITY_IDS,
    DISTRICT,
    LOCAL_IDS,
    VOTE_YEAR,
    counts,
    open_voting_edition,
)

ID = {"full_name": "Marta Sieć", "birth_date": "1985-03-04", "address": "Wielicka 10"}


@pytest.fixture(scope="module")
def edition(engine):
    return open_voting_edition(engine)


def _ballot():
    return {**ID, "citywide": CITY_IDS[:3], "local": LOCAL_IDS[1:4]}


def test_vote_json_flow_and_refusals(make_user, engine, edition):
    voter = make_user()
    url = f"/budget/{VOTE_YEAR}/vote"
    r = voter.post(url + "/cast", json=_ballot())
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_district"
    r = voter.post(url + "/district", json={"district": "99"})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "district"
    assert voter.post(url + "/district", json={"district": DISTRICT}).status_code == 200
    page = voter.get(url).get_data(as_text=True)
    assert "Projekt BO.D13.1/31" in page and 'name="citywide_3"' in page
    r = voter.post(url + "/cast", json={**_ballot(), "local": LOCAL_IDS[:2]})
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["field"] == "district" and err["code"] == "too_few" and "3" in err["message"]
    before = counts(engine)
    r = voter.post(url + "/cast", json=_ballot())
    assert r.status_code == 201, r.get_data(as_text=True)
    r = voter.post(url + "/cast", json=_ballot())
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_voted"
    after = counts(engine)
    assert after["register"] == before["register"] + 1


def test_review_page_then_cast_form(make_user, edition):
    voter = make_user()
    url = f"/budget/{VOTE_YEAR}/vote"
    voter.post(url + "/district", data={"district": DISTRICT, "csrf_token": voter.csrf})
    form = {**ID, "full_name": "Jan Formularz", "csrf_token": voter.csrf}
    form |= {f"citywide_{i}": CITY_IDS[i] for i in (1, 2, 3)}
    form |= {f"local_{i}": LOCAL_IDS[i] for i in (1, 2, 3)}
    r = voter.post(url + "/review", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Projekt BO.OM.2/31" in html and "3 pkt" in html
    r = voter.post(url + "/cast", data=form)
    assert r.status_code == 201


def test_paper_needs_staff_and_results_pages(make_user, engine, edition):
    resident = make_user()
    assert resident.get(f"/budget/{VOTE_YEAR}/paper").status_code == 403
    clerk = make_user("official")
    page = clerk.get(f"/budget/{VOTE_YEAR}/paper")
    assert page.status_code == 200
    from sqlalchemy import text

    with engine.connect() as conn:
        point = conn.execute(
            text("SELECT id FROM civic_venues WHERE type = 'library' ORDER BY id LIMIT 1")
        ).scalar_one()
    paper = {
        **ID,
        "full_name": "Ala Papier",
        "voting_point": point,
        "district": DISTRICT,
        "citywide": "1,2,3",
        "local": "5,4,3",
    }
    r = clerk.post(f"/budget/{VOTE_YEAR}/paper", json=paper)
    assert r.status_code == 201 and r.get_json()["valid"] is True
    r = clerk.post(f"/budget/{VOTE_YEAR}/paper/check", json=paper)
    assert r.get_json() == {"voted": True}
    r = clerk.post(f"/budget/{VOTE_YEAR}/paper", json=paper)
    assert r.status_code == 409
    r = clerk.post(f"/budget/{VOTE_YEAR}/paper", json={**paper, "full_name": "X Y", "local": "1,2"})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "district"

    r = resident.get(f"/budget/{VOTE_YEAR}/results", headers={"Accept": "application/json"})
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["pools"][0]["pool"] == "citywide" and doc["pools"][0]["ballots"] >= 1


def test_results_page_shows_departure_and_exports(client):
    html = client.get("/budget/2020/results").get_data(as_text=True)
    assert 'id="departure-district-3"' in html and "Opublikowany wynik różni się od reguły." in html
    assert "Pogromcy nudy III" in html
    assert 'id="departure-district-5"' not in html
    r = client.get("/budget/2020/results.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    lines = r.get_data(as_text=True).splitlines()
    assert lines[0].lstrip("\ufeff").startswith("edition,pool,pool_name")
    assert len(lines) == 1 + 97 + 477  # every project of 2020
    assert client.get("/budget/1999/results").status_code == 404


def test_results_gpkg_in_2178(client, tmp_path):
    import pyogrio

    r = client.get("/budget/2024/results.gpkg")
    assert r.status_code == 200
    path = tmp_path / "r.gpkg"
    path.write_bytes(r.data)
    info = pyogrio.read_info(path)
    assert info["crs"] == "EPSG:2178" and info["features"] == 119 + 571
