"""The results engine on the app's own ballot table: the real-data proof (issue 10, point 7).

The test template holds the 569 074 real ballots of 2018–2024 (the pabulib reference step).
For every pool of the six shipped editions the engine's tally must equal the file's ``votes``
and ``score`` columns, and Kraków's greedy rule must fund the published ``selected`` set, except
in the pools where the city's published outcome departs from its own rule: those are listed
here, exactly, so that a new departure (or a lost one) fails the test.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from civic.pb import results as R

SHIPPED = (2018, 2019, 2020, 2021, 2022, 2024)
# (edition, district number): funded by the rule but not published / published but not by the rule
DEPARTURES = {
    (2019, 16): (["pabulib:krakow:2019:bienczyce:6"], []),
    (2020, 3): (
        ["pabulib:krakow:2020:pradnik-czerwony:19"],
        ["pabulib:krakow:2020:pradnik-czerwony:15"],
    ),
}


def test_every_shipped_edition_reproduced_except_the_known_departures(engine):
    found = {}
    with engine.connect() as conn:
        assert R.editions(conn)[: len(SHIPPED)] == list(SHIPPED)
        for edition in SHIPPED:
            comps = R.departures(conn, edition)
            assert len(comps) == 19, edition  # the city-wide pool and 18 districts
            reproduced = [c for c in comps if c.reproduced]
            departs = [c for c in comps if c.departs]
            for c in comps:
                assert c.votes_equal and c.score_equal, (edition, c.pool.name)
                assert c.pool.ballots > 0
                assert c.pool.spent <= c.pool.budget
                found_projects = {p.external_id for p in c.pool.projects}
                assert len(found_projects) == len(c.pool.projects)
            for c in departs:
                found[(edition, c.pool.district)] = (
                    [p.external_id for p in c.funded_not_published],
                    [p.external_id for p in c.published_not_funded],
                )
            print(
                f"{edition}: {len(reproduced)}/19 files reproduced (votes, score"
                f"{', selected' if edition != 2018 else '; 2018 publishes no selected'});"
                f" departures: "
                + (
                    "; ".join(
                        f"{c.pool.name}: rule funds {[p.external_id for p in c.funded_not_published]}"
                        f", city funded {[p.external_id for p in c.published_not_funded]}"
                        for c in departs
                    )
                    or "none"
                )
            )
            if edition == 2018:  # no `selected` column: votes and score only
                assert all(c.selected_equal is None for c in comps)
    assert found == DEPARTURES


def test_tally_counts_points_3_2_1_in_sql(engine):
    """A hand-made pool: three ballots, points by ballot order."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO budget_pools (edition, scope, district, budget, source) "
                "VALUES (2099, 'district', 4, 100, 'test')"
            )
        )
        for pid, cost in (("A", 60), ("B", 50), ("C", 40), ("D", 10)):
            conn.execute(
                text(
                    "INSERT INTO budget_proposals (edition, title, cost, scope, status, "
                    "external_id, districts) VALUES (2099, :t, :c, 'district', "
                    "'accepted_for_vote', :x, '{4}')"
                ),
                {"t": f"Project {pid}", "c": cost, "x": f"t2099:{pid}"},
            )
        for choices in (["A", "B", "C"], ["B", "A", "D"], ["C", "B", "A"]):
            conn.execute(
                text(
                    "INSERT INTO ballots (edition, scope, district, choices, source) "
                    "VALUES (2099, 'district', 4, :c, 'test')"
                ),
                {"c": [f"t2099:{x}" for x in choices]},
            )
        (pool,) = R.results(conn, 2099)
        got = {p.external_id[-1]: (p.votes, p.score, p.first) for p in pool.projects}
        assert got == {"A": (3, 6, 1), "B": (3, 7, 1), "C": (2, 4, 1), "D": (1, 1, 0)}
        # B (7) first: 50 fits; A (6): 60 > 50 left, skipped; C (4): 40 fits; D: 10 fits
        assert [p.external_id[-1] for p in pool.projects] == ["B", "A", "C", "D"]
        assert [p.external_id[-1] for p in pool.funded] == ["B", "C", "D"]
        assert pool.left == Decimal(0)
        assert [p.cumulative for p in pool.projects] == [50, 50, 90, 100]
        conn.rollback()


def test_tie_break_first_choices_then_ballots():
    pool = R.Pool(2099, "district", 1, "X", Decimal(100))
    mk = lambda x, score, first, votes, cost: R.ProjectResult(  # noqa: E731
        1, x, x, Decimal(cost), votes, score, first
    )
    pool.projects = [mk("a", 40, 5, 27, 70), mk("b", 40, 7, 21, 80), mk("c", 10, 1, 9, 20)]
    pool.projects.sort(key=R.rank_key)
    R.greedy(pool)
    assert [p.external_id for p in pool.funded] == ["b", "c"]
    assert R.tie_decides(pool)
