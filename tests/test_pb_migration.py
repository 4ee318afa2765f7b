"""Migration 0007_pb_editions: past editions exist as closed editions with their real pools."""

from sqlalchemy import text


def test_past_editions_are_closed_with_pabulib_pools(engine):
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT year, closed FROM pb_editions ORDER BY year")).all()
        assert [r.year for r in rows] == [2018, 2019, 2020, 2021, 2022, 2024]
        assert all(r.closed for r in rows)
        pools = conn.execute(
            text("SELECT count(*) FROM budget_pools WHERE edition = 2024")
        ).scalar_one()
        assert pools == 19
        # pabulib's district projects compete in their district's pool
        bad = conn.execute(
            text(
                "SELECT count(*) FROM budget_proposals WHERE scope = 'district' "
                "AND pool_district <> districts[1]"
            )
        ).scalar_one()
        assert bad == 0
