"""Where people live: the population baseline of the grid analyses. A district's residents
spread over its settled cells (address points, schools, named neighbourhoods) instead of evenly
over fields and forests — every district keeps its registered total either way."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.analysis.coverage import coverage
from geo.analysis.grid import BASELINES, grid_pop_cte
from geo.analysis.source import Source

NOWA_HUTA = 18


@pytest.fixture(scope="module")
def results(engine):
    libraries = Source("civic_venues", filters={"type": "library"})
    with engine.connect() as conn:
        return {b: coverage(conn, libraries, 500, threshold_m=1000, baseline=b) for b in BASELINES}


def test_every_district_keeps_its_residents(engine, results):
    with engine.connect() as conn:
        registered = dict(
            conn.execute(
                text("SELECT number, population FROM districts WHERE population IS NOT NULL")
            ).all()
        )
    assert len(registered) == 18
    for baseline, res in results.items():
        got = {d.number: d.population for d in res.districts}
        for number, pop in registered.items():
            assert got[number] == pytest.approx(pop, rel=1e-6), (baseline, number)


def test_nowa_huta_lives_where_its_addresses_are(results):
    area = next(d for d in results["area"].districts if d.number == NOWA_HUTA)
    settled = next(d for d in results["settlement"].districts if d.number == NOWA_HUTA)
    # spread over meadows and the steelworks, most of Nowa Huta looks far from a library;
    # spread where people live, far fewer do
    assert area.underserved_share > 0.8
    assert settled.underserved_share < area.underserved_share - 0.2, (
        area.underserved_share,
        settled.underserved_share,
    )
    print(
        f"\nNowa Huta > 1 km from a library: area {area.underserved_share:.1%}, "
        f"settlement {settled.underserved_share:.1%}"
    )


def test_unknown_baseline_is_refused():
    with pytest.raises(ValueError, match="baseline"):
        grid_pop_cte("guess")


def test_the_page_says_which_baseline_it_used(app, client, make_user, tmp_path):
    app.config["PLANNERS_JOB_DIR"] = str(tmp_path)
    app.config["PLANNERS_INLINE_WAIT"] = 60
    page = client.get("/planners/coverage?target=venues:library")
    assert page.status_code == 200
    assert 'data-baseline="settlement"' in page.text
    assert "według punktów adresowych" in page.text
    # choosing another baseline is a planner's tuning
    assert client.get("/planners/coverage?target=venues:library&baseline=area").status_code == 403
    planner = make_user("planner")
    mine = planner.get("/planners/api/coverage?target=venues:library&baseline=area")
    assert mine.status_code == 200 and mine.json["result"]["summary"]["baseline"] == "area"
    bad = planner.get("/planners/api/coverage?baseline=guess")
    assert bad.status_code == 400 and "baseline" in bad.text
