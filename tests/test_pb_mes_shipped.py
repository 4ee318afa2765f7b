"""MES for every shipped pool (issue 10): the outcomes computed with pabutools ship beside the
ballots (data/pabulib/krakow/mes-outcomes.csv, `civicmap mes-outcomes`), are loaded by the
default load, count only while their pool has the ballots they were computed on, and the
kept results (the pb-results layer) carry them."""

from __future__ import annotations

from sqlalchemy import text

from civic.pb import mes as M
from civic.pb import results as R
from geo.cities import KRAKOW
from importers.pabulib import mes_outcomes_path


def test_the_outcomes_ship_with_the_data():
    path = mes_outcomes_path(KRAKOW)
    assert path.exists()
    head = path.read_text(encoding="utf-8").splitlines()[0]
    assert head.split(",") == list(M.OUTCOME_COLUMNS)


def test_every_shipped_pool_has_its_mes_outcome(engine):
    with engine.connect() as conn:
        editions = R.editions(conn)
        assert editions == [2018, 2019, 2020, 2021, 2022, 2024]
        missing, pools = [], 0
        for e in editions:
            for p in R.pools(conn, e):
                pools += 1
                R.tally(conn, p)
                funded = M.stored(conn, p)
                if funded is None:
                    missing.append((e, p.key))
                else:
                    cost = sum(x.cost for x in p.projects if x.external_id in funded)
                    assert cost <= p.budget, (e, p.key)
        assert not missing and pools == 6 * 19
        # the kept results (map, OGC API collection for MSIP) show MES for every project
        unknown = conn.execute(
            text("SELECT count(*) FROM pb_result_rows WHERE funded_mes IS NULL")
        ).scalar_one()
        assert unknown == 0


def test_a_shipped_outcome_is_what_pabutools_computes_now(engine):
    """Three small district pools of two editions, recomputed with pabutools here."""
    with engine.begin() as conn:
        for e in (2019, 2024):
            pools = [R.tally(conn, p) for p in R.pools(conn, e) if p.district]
            for pool in sorted(pools, key=lambda p: p.ballots)[:3]:
                shipped = M.stored(conn, pool)
                M.compute(conn, pool, force=True)
                assert {p.external_id for p in pool.funded} == shipped, (e, pool.key)
        conn.rollback()
