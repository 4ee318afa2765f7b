"""Issue 15.5: one canonical page per proposal (/proposals/<id>) and one list and map
(/proposals); the old addresses redirect (308) keeping their query strings, and the canonical
page has everything the others had: the council opinions, the budget workflow and history,
the execution, the comments."""

from __future__ import annotations

import pytest
from sqlalchemy import text


@pytest.fixture(scope="module")
def ids(engine) -> dict[str, int]:
    with engine.begin() as conn:
        selected = conn.execute(
            text(
                "INSERT INTO budget_proposals (edition, title, category, cost, scope, status, geom) "
                "VALUES (2024, 'Zielony skwer qcanon', 'urban greenery', 90000, 'district', "
                "'selected', ST_GeomFromText('POINT(19.9295 50.0642)', 4326)) RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO pb_execution (proposal_id, status, progress, responsible_unit) "
                "VALUES (:p, 'works', 60, 'Zarząd Zieleni Miejskiej')"
            ),
            {"p": selected},
        )
        conn.execute(
            text(
                "INSERT INTO pb_status_history (proposal_id, from_state, to_state, reason) "
                "VALUES (:p, 'accepted_for_vote', 'selected', 'wyniki głosowania')"
            ),
            {"p": selected},
        )
    return {"selected": selected}


@pytest.mark.parametrize(
    "old, new",
    [
        ("/budget/projects/{id}", "/proposals/{id}"),
        ("/budget/projects/{id}?lang=en", "/proposals/{id}?lang=en"),
        ("/layers/budget-proposals/{id}", "/proposals/{id}"),
        ("/layers/budget-proposals/{id}?lang=uk&x=1", "/proposals/{id}?lang=uk&x=1"),
        ("/layers/budget-proposals", "/proposals"),
        ("/layers/budget-proposals?district=2&page=2", "/proposals?district=2&page=2"),
    ],
)
def test_old_addresses_redirect_keeping_the_query(client, ids, old, new):
    r = client.get(old.format(id=ids["selected"]))
    assert r.status_code == 308
    assert r.headers["Location"].endswith(new.format(id=ids["selected"]))


def test_other_layers_keep_their_pages(client):
    assert client.get("/layers/ngos").status_code == 200
    assert client.get("/layers/budget-proposals/abc").status_code == 404


def test_canonical_page_has_everything(client, make_user, engine, ids):
    pid = ids["selected"]
    member = make_user(role="council", council_district=1)
    r = member.post(
        f"/councils/1/proposals/{pid}/opinion",
        data={
            "opinion": "positive",
            "justification": "Rada popiera skwer qcanon.",
            "resolution_date": "2025-03-12",
            "resolution_ref": "Uchwała nr I/1/25",
        },
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/proposals/{pid}")
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "Opinie rad dzielnic" in html and "Uchwała nr I/1/25" in html  # council opinion
    assert 'id="execution-status" data-status="works"' in html  # execution
    assert "Zarząd Zieleni Miejskiej" in html and "60%" in html
    assert 'id="history"' in html and "wyniki głosowania" in html  # budget history
    assert 'id="comments"' in html  # comments
    # following the old addresses lands on the same page
    for old in (f"/budget/projects/{pid}", f"/layers/budget-proposals/{pid}"):
        followed = client.get(old, follow_redirects=True)
        assert followed.request.path == f"/proposals/{pid}"
        assert "Uchwała nr I/1/25" in followed.get_data(as_text=True)


def test_links_point_to_the_canonical_pages(client, ids):
    html = client.get("/districts/1").get_data(as_text=True)
    assert 'href="/layers/budget-proposals' not in html
    assert 'href="/proposals?district=1' in html
    listing = client.get("/?layer=budget-proposals&q=qcanon").get_data(as_text=True)
    assert f'href="/proposals/{ids["selected"]}"' in listing


def test_hidden_proposal_is_404_through_the_redirect(client, engine, ids):
    with engine.begin() as conn:
        hidden = conn.execute(
            text(
                "INSERT INTO budget_proposals (edition, title, scope, status, hidden_at, geom) "
                "VALUES (2024, 'Ukryty qcanon', 'district', 'submitted', now(), "
                "ST_GeomFromText('POINT(19.93 50.06)', 4326)) RETURNING id"
            )
        ).scalar_one()
    r = client.get(f"/layers/budget-proposals/{hidden}", follow_redirects=True)
    assert r.status_code == 404
