"""Issue 10, part 2: the results as a registered layer (pb-results: OGC API collection for
MSIP, layers API, exports), the winners map on the results page, the execution map (pb-execution)
filtered by status, edition and district."""

from __future__ import annotations

import json

from sqlalchemy import text

from civic.pb import results as R


def _ogc_items(client, query: str) -> list[dict]:
    r = client.get(f"/ogc/collections/pb-results/items?{query}&limit=5000")
    assert r.status_code == 200, r.data[:300]
    return json.loads(r.data)["features"]


def test_results_page_keeps_results_and_the_collection_serves_them(client, engine):
    with engine.connect() as conn:
        expected = {p.id: p for pool in R.results(conn, 2024, "greedy") for p in pool.projects}
    # kept by the pabulib import (importers/pabulib.py store_results), before any page is open
    assert len(_ogc_items(client, "edition=2024")) == len(expected)
    page = client.get("/budget/2024/results")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # the winners map: the layer's spec, its data fetched by the browser, never embedded
    assert '"layer": "pb-results"' in html and '"edition": "2024"' in html
    assert '"funded"' in html and "#1b7a2e" in html  # the legend: funded / not funded
    feats = _ogc_items(client, "edition=2024")
    assert len(feats) == len(expected)
    funded = _ogc_items(client, "edition=2024&outcome=funded")
    assert {f["id"] for f in funded} == {i for i, p in expected.items() if p.funded}
    one = funded[0]["properties"]
    p = expected[funded[0]["id"]]
    assert (one["points"], one["votes"], one["funded"]) == (p.score, p.votes, True)
    assert float(one["cost"]) == float(p.cost) and one["edition"] == 2024
    # a district project without a location: drawn inside its own district
    with engine.connect() as conn:
        outside = conn.execute(
            text(
                """SELECT count(*) FROM pb_result_rows r JOIN districts d
                     ON d.number = r.pool_district
                   WHERE r.edition = 2024 AND r.pool_district > 0
                     AND NOT ST_Contains(d.geom, r.geom)"""
            )
        ).scalar_one()
        nulls = conn.execute(
            text(
                "SELECT count(*) FROM pb_result_rows WHERE edition = 2024 "
                "AND pool_district > 0 AND geom IS NULL"
            )
        ).scalar_one()
        assert outside == 0 and nulls == 0
        # kept once: the same results write nothing the second time
        assert R.store(conn, 2024) == 0
    # the layers API and the exports come from the same layer
    api = client.get("/api/layers/pb-results/features?edition=2024&outcome=funded&limit=5000")
    assert len(api.get_json()["features"]) == len(funded)
    csv = client.get("/exports/pb-results.csv?edition=2024")
    assert (
        csv.status_code == 200
        and "EDYCJA" in csv.get_data(as_text=True)[:400]
        or ("edition" in csv.get_data(as_text=True)[:400])
    )
    coll = client.get("/ogc/collections/pb-results").get_json()
    assert coll["id"] == "pb-results" and coll["title"]


def test_results_refresh_when_the_ballots_change(engine):
    with engine.begin() as conn:
        R.store(conn, 2022)
        before = conn.execute(
            text("SELECT sum(points) FROM pb_result_rows WHERE edition = 2022")
        ).scalar_one()
        pool = R.results(conn, 2022, "greedy")[0]
        ids = [p.external_id for p in pool.projects[:3]]
        conn.execute(
            text(
                "INSERT INTO ballots (edition, scope, district, choices, source) "
                "VALUES (2022, 'citywide', 0, :c, 'test')"
            ),
            {"c": ids},
        )
        assert R.store(conn, 2022) > 0
        after = conn.execute(
            text("SELECT sum(points) FROM pb_result_rows WHERE edition = 2022")
        ).scalar_one()
        assert after == before + 6
        conn.rollback()


def test_execution_map_filters_by_status_edition_district(make_user, engine):
    with engine.connect() as conn:
        pid, district = conn.execute(
            text(
                "SELECT id, pool_district FROM budget_proposals WHERE edition = 2021 "
                "AND status = 'selected' AND scope = 'district' ORDER BY id LIMIT 1"
            )
        ).one()
    staff = make_user("official")
    r = staff.post(f"/budget/execution/{pid}", json={"status": "tender", "progress": 20})
    assert r.status_code == 200
    url = "/api/layers/pb-execution/features?limit=5000"
    got = staff.get(f"{url}&status=tender&edition=2021&district={district}").get_json()
    assert [f["id"] for f in got["features"]] == [pid]
    props = got["features"][0]["properties"]
    assert props["status"] == "tender" and props["progress"] == 20
    assert got["features"][0]["geometry"]["type"] == "Point"  # inside its district
    assert staff.get(f"{url}&status=tender&edition=2020").get_json()["features"] == []
    other = 1 if district != 1 else 2
    assert staff.get(f"{url}&status=tender&district={other}").get_json()["features"] == []
    planned = staff.get(f"{url}&status=planned&edition=2021").get_json()["features"]
    assert planned and pid not in [f["id"] for f in planned]  # not reported: planned
    page = staff.get(f"/budget/execution?status=tender&edition=2021&district={district}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '"layer": "pb-execution"' in html
    assert '"status": "tender"' in html and f'"district": "{district}"' in html
    assert staff.get("/budget/execution?status=nope").status_code == 400
