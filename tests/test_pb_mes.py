"""The Method of Equal Shares beside Kraków's rule (civic/pb/mes.py, pabutools from PyPI)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from civic.pb import mes as M
from civic.pb import results as R


def _pool(costs: dict[str, int], ballots: list[list[str]], budget: int) -> R.Pool:
    """A tallied pool built in Python the way results.tally builds it from SQL."""
    pool = R.Pool(2099, "district", 1, "Test", Decimal(budget))
    stats = {x: [0, 0, 0] for x in costs}
    for b in ballots:
        for pos, x in enumerate(b):
            stats[x][0] += 1
            stats[x][1] += R.POINTS[pos]
            stats[x][2] += pos == 0
    pool.projects = [
        R.ProjectResult(i, x, x, Decimal(c), *stats[x]) for i, (x, c) in enumerate(costs.items())
    ]
    pool.projects.sort(key=R.rank_key)
    for i, p in enumerate(pool.projects, 1):
        p.rank = i
    pool.ballots = len(ballots)
    return pool


# Worked by hand (docs/budget.md, "MES and its completion"): budget 300, three voters with a
# share of 100 each; points 3/2/1.
HAND_COSTS = {"A": 200, "B": 90, "C": 90, "D": 66, "E": 100}
HAND_BALLOTS = [["A", "B", "D"], ["A", "C", "D"], ["E", "C", "B"]]


def test_mes_hand_worked_example():
    # Round 1, price per point rho: A 100/3 (v1, v2 pay 100 each), B 90/3 = 30, C 90/4 = 22.5,
    # D 66/2 = 33, E 100/3. C is cheapest: v2, v3 pay 45 -> shares 100, 55, 55.
    # Round 2: A needs 200 of 155: out; B: rho 30 (v1 60, v3 30); D: 33; E: 55 < 100: out.
    # B: shares 40, 55, 25. Round 3: D: rho 33 (v1 33, v2 33) -> shares 7, 22, 25.
    # Round 4: A (29 of 200) and E (25 of 100) unaffordable: MES stops with B, C, D = 246.
    pool = _pool(HAND_COSTS, HAND_BALLOTS, 300)
    assert M.mes_outcome(pool, HAND_BALLOTS, step=None, complete=False) == {"B", "C", "D"}
    # greedy completion: A (200) and E (100) do not fit in the 54 left
    assert M.mes_outcome(pool, HAND_BALLOTS, step=None) == {"B", "C", "D"}
    # Kraków's rule on the same ballots: A (6 points) then C (4); 10 left
    R.greedy(pool)
    assert {p.external_id for p in pool.funded} == {"A", "C"}
    assert R.share_with_funded(HAND_BALLOTS, {"A", "C"}) == 1.0
    assert R.share_with_funded(HAND_BALLOTS, {"E"}) == 1 / 3


def _direct(pool: R.Pool, ballots: list[list[str]], step: float | None):
    """pabutools called directly, one ballot per voter (no multiprofile)."""
    from pabutools.election import (
        Additive_Cardinal_Sat,
        CumulativeBallot,
        CumulativeProfile,
        Instance,
        Project,
    )
    from pabutools.fractions import frac
    from pabutools.rules import method_of_equal_shares

    projects = {p.external_id: Project(f"{p.rank:05d}", int(p.cost)) for p in pool.projects}
    instance = Instance(projects.values(), budget_limit=int(pool.budget))
    profile = CumulativeProfile(instance=instance)
    for b in ballots:
        profile.append(
            CumulativeBallot({projects[x]: pts for x, pts in zip(b, (3, 2, 1), strict=False)})
        )
    inc = None if step is None else frac(int(pool.budget), len(ballots)) * frac(step)
    out = method_of_equal_shares(
        instance, profile, sat_class=Additive_Cardinal_Sat, voter_budget_increment=inc
    )
    names = {p.name: x for x, p in projects.items()}
    return {names[p.name] for p in out}


def test_mes_equals_pabutools_called_directly_on_a_real_small_pool(engine):
    with engine.connect() as conn:
        pools = [R.tally(conn, p) for p in R.pools(conn, 2021) if p.district]
        pool = min(pools, key=lambda p: p.ballots)  # the smallest district pool of 2021
        ballots = R.pool_ballots(conn, pool)
    assert 100 < len(ballots) < 3000
    for step in (None, M.DEFAULT_STEP):
        assert M.mes_outcome(pool, ballots, step, complete=False) == _direct(pool, ballots, step)
    R.greedy(pool)
    greedy = {p.external_id for p in pool.funded}
    mes = M.mes_outcome(pool, ballots)
    cost = {p.external_id: p.cost for p in pool.projects}
    assert sum(cost[x] for x in mes) <= pool.budget
    print(
        f"2021 {pool.name}: {len(ballots)} ballots; greedy funds {len(greedy)}, MES {len(mes)}; "
        f"only greedy {sorted(greedy - mes)}, only MES {sorted(mes - greedy)}; voters with a "
        f"funded project: greedy {R.share_with_funded(ballots, greedy):.1%}, "
        f"MES {R.share_with_funded(ballots, mes):.1%}"
    )


def test_mes_kept_per_pool_and_recomputed_when_ballots_change(engine):
    with engine.begin() as conn:
        (pool,) = [p for p in R.pools(conn, 2024) if p.district == 10]
        R.tally(conn, pool)
        conn.execute(text("DELETE FROM pb_mes_results WHERE edition = 2024 AND district = 10"))
        assert M.stored(conn, pool) is None  # the shipped outcome is gone: computed here
        M.compute(conn, pool)
        kept = M.stored(conn, pool)
        assert kept == {p.external_id for p in pool.funded} and kept
        row = conn.execute(
            text(
                "SELECT engine, ballots FROM pb_mes_results WHERE edition = 2024 AND district = 10"
            )
        ).one()
        assert row.engine.startswith("pabutools ") and row.ballots == pool.ballots
        pool.ballots += 1  # a new ballot arrived: the kept outcome is stale
        assert M.stored(conn, pool) is None
        conn.rollback()


def test_mes_for_the_smaller_district_pools_of_2024(engine):
    """The six smallest district pools of 2024 through pabutools (every shipped pool, city-wide
    ones included, takes ~20 minutes here: `civicmap results <edition> --rule mes` computes and
    keeps them; the figures are in docs/budget.md)."""
    with engine.begin() as conn:
        pools = [R.tally(conn, p) for p in R.pools(conn, 2024) if p.district]
        assert len(pools) == 18
        for pool in sorted(pools, key=lambda p: p.ballots)[:6]:
            M.compute(conn, pool, force=True)  # pabutools now, not the shipped outcome
            assert pool.funded and pool.spent <= pool.budget
        conn.rollback()
