"""Execution tracking of selected projects (civic/pb/execution.py, /budget/execution)."""

from __future__ import annotations

from sqlalchemy import text


def _selected(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT id FROM budget_proposals WHERE edition = 2024 AND status = 'selected' "
                "AND scope = 'district' ORDER BY id LIMIT 1"
            )
        ).scalar_one()


def test_execution_update_milestone_follow_and_filters(make_user, engine, outbox):
    pid = _selected(engine)
    follower = make_user()
    assert follower.post(f"/budget/execution/{pid}/follow", json={}).get_json()["new"] is True
    assert follower.post(f"/budget/execution/{pid}/follow", json={}).get_json()["new"] is False
    assert follower.post(f"/budget/execution/{pid}", json={"status": "works"}).status_code == 403
    staff = make_user("official")
    r = staff.post(f"/budget/execution/{pid}", json={"status": "abandoned", "progress": 10})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "abandoned_reason"
    r = staff.post(f"/budget/execution/{pid}", json={"status": "works", "progress": 140})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "progress"
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM pb_execution WHERE proposal_id = :i"), {"i": pid}
            ).scalar_one()
            == 0
        )
    r = staff.post(
        f"/budget/execution/{pid}",
        json={
            "status": "works",
            "progress": 40,
            "responsible_unit": "ZZM",
            "actual_cost": "1200.50",
        },
    )
    assert r.status_code == 200
    assert any(follower.user.email in m["To"] for m in outbox())
    r = staff.post(
        f"/budget/execution/{pid}/milestones",
        json={"on_date": "2025-05-01", "note": "Umowa podpisana"},
    )
    assert r.status_code == 200
    rows = staff.get(
        "/budget/execution?status=works&edition=2024", headers={"Accept": "application/json"}
    ).get_json()["projects"]
    row = next(x for x in rows if x["id"] == pid)
    assert row["progress"] == 40 and row["milestones"][0]["note"] == "Umowa podpisana"
    assert all(x["status"] == "works" for x in rows)
    page = staff.get("/budget/execution?edition=2024").get_data(as_text=True)
    assert f'data-id="{pid}"' in page
    with engine.connect() as conn:
        other = conn.execute(
            text("SELECT id FROM budget_proposals WHERE status = 'not_selected' LIMIT 1")
        ).scalar_one()
    r = staff.post(f"/budget/execution/{other}", json={"status": "works"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_selected"
