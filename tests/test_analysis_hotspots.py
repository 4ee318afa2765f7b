"""Gi* hotspots: the statistic on known data, a planted cluster, and an even spread.

Everything is seeded: the random points (numpy / ST_GeneratePoints seeds) and the
permutations (``seed=``), so each run sees the same data and the same p-values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import text

from geo.analysis.hotspots import (
    COLD,
    HOT,
    NOT_SIGNIFICANT,
    NOT_TESTED,
    auto_permutations,
    gi_star,
    gi_star_binomial,
    hotspots,
    p_cutoff,
)
from geo.analysis.source import Source
from geo.crs import transform_xy
from geo.schema import feature_table_sql

ZABLOCIE = (19.9585, 50.0480)  # a part of Podgórze (district XIII), lon/lat
ALPHA = 0.05


# --------------------------------------------------------------------------- statistic


def queen_lattice(rows: int, cols: int) -> list[list[int]]:
    out = []
    for r in range(rows):
        for c in range(cols):
            out.append(
                [
                    rr * cols + cc
                    for rr in range(r - 1, r + 2)
                    for cc in range(c - 1, c + 2)
                    if (rr, cc) != (r, c) and 0 <= rr < rows and 0 <= cc < cols
                ]
            )
    return out


def gi_star_z_by_hand(y: np.ndarray, nb: list[list[int]], i: int) -> float:
    """Ord & Getis (1995) Gi* z with binary weights including i itself."""
    n = len(y)
    members = [i, *nb[i]]
    w = len(members)
    mean = y.mean()
    s = math.sqrt((y**2).mean() - mean**2)
    return (y[members].sum() - mean * w) / (s * math.sqrt((n * w - w * w) / (n - 1)))


def test_gi_star_matches_the_formula_and_finds_a_planted_block():
    nb = queen_lattice(10, 10)
    y = np.zeros(100)
    block = [44, 45, 54, 55]
    y[block] = [5, 6, 7, 5]
    y[[3, 97]] = 1  # a little noise elsewhere
    res = gi_star(y, nb, permutations=9999, seed=1)
    for i in (0, 44, 34, 97):
        assert res.z[i] == pytest.approx(gi_star_z_by_hand(y, nb, i), rel=1e-9)
    cut = p_cutoff(res.p, ALPHA, "fdr")
    hot = {i for i in range(100) if res.p[i] <= cut and res.p_hot[i] <= res.p_cold[i]}
    assert set(block) <= hot
    # every hot cell touches the block (the block itself or its queen neighbours)
    assert all(i in block or set(nb[i]) & set(block) for i in hot)


def test_empty_neighbourhoods_are_not_cold_spots():
    """esda's own p_sim gives 1/(P+1) to every all-zero neighbourhood (ties); ours does not."""
    nb = queen_lattice(10, 10)
    y = np.zeros(100)
    y[[44, 45, 54, 55]] = [5, 6, 7, 5]
    res = gi_star(y, nb, permutations=999, seed=3)
    assert res.p[0] == 1.0 and res.p_cold[0] > 0.5
    assert (res.p[[0, 9, 90, 99]] > ALPHA).all()


def test_gi_star_is_seeded_and_degenerate_input_is_not_significant():
    nb = queen_lattice(6, 6)
    y = np.random.default_rng(5).poisson(2.0, 36).astype(float)
    a = gi_star(y, nb, permutations=999, seed=11)
    b = gi_star(y, nb, permutations=999, seed=11)
    assert np.array_equal(a.p, b.p)
    for flat in (np.zeros(36), np.full(36, 3.0)):
        r = gi_star(flat, nb, permutations=999)
        assert (r.p == 1.0).all()
    with pytest.raises(ValueError):
        gi_star(y, nb[:-1])


def test_p_cutoffs():
    p = [0.01, 0.02, 0.03, 0.04, 0.2]
    assert p_cutoff(p, 0.05, "none") == 0.05
    assert p_cutoff(p, 0.05, "bonferroni") == pytest.approx(0.01)
    assert p_cutoff(p, 0.05, "fdr") == 0.04  # Benjamini–Hochberg: p_(4) <= 4 * 0.05 / 5
    assert p_cutoff([0.03, 0.5], 0.05, "fdr") == 0.0  # 0.03 > 1 * 0.05 / 2: nothing
    with pytest.raises(ValueError):
        p_cutoff(p, 0.05, "holm")
    # Bonferroni needs a p-value floor 2/(P+1) below alpha/m
    perms = auto_permutations(575, 0.05, "bonferroni")
    assert 2 / (perms + 1) < 0.05 / 575


def test_gi_star_binomial_statistic_is_esdas_and_a_planted_block_is_found():
    nb = queen_lattice(12, 12)
    rng = np.random.default_rng(8)
    counts = rng.multinomial(300, np.full(144, 1 / 144))
    counts[[50, 51, 62, 63]] += 15  # a planted 2×2 block
    res = gi_star_binomial(counts, np.ones(144), nb)
    # G*_i is the share of all points in i's neighbourhood (i itself included), as esda has it
    hood = np.array([counts[[i, *nb[i]]].sum() for i in range(144)])
    assert np.allclose(res.g, hood / counts.sum())
    assert res.z[50] == pytest.approx(gi_star_z_by_hand(counts.astype(float), nb, 50), rel=1e-9)
    cut = p_cutoff(res.p, ALPHA, "bonferroni")  # exact p-values: even Bonferroni is possible
    hot = {i for i in range(144) if res.p[i] <= cut and res.p_hot[i] <= res.p_cold[i]}
    assert {50, 51, 62, 63} <= hot
    assert all(i in (50, 51, 62, 63) or {50, 51, 62, 63} & set(nb[i]) for i in hot)
    assert res.permutations == 0


def test_binomial_tails_equal_a_monte_carlo_of_the_null():
    """The exact p-values are what dropping N points at random (Multinomial) gives."""
    nb = queen_lattice(8, 8)
    rng = np.random.default_rng(4)
    weights = rng.uniform(0.3, 1.0, 64)  # unequal cells, like clipped edges or population
    counts = rng.multinomial(120, weights / weights.sum())
    counts[27] += 6
    res = gi_star_binomial(counts, weights, nb)
    sims = rng.multinomial(counts.sum(), weights / weights.sum(), size=40_000)
    for i in (0, 27, 36, 63):
        members = [i, *nb[i]]
        observed = counts[members].sum()
        hood = sims[:, members].sum(axis=1)
        assert res.p_hot[i] == pytest.approx((hood >= observed).mean(), abs=0.01)
        assert res.p_cold[i] == pytest.approx((hood <= observed).mean(), abs=0.01)


def test_gi_star_binomial_false_positive_rate_under_the_null():
    """Counts drawn from the null itself (multinomial, unequal cell weights): over 200 seeded
    maps of 196 cells the share of cells with two-sided p <= alpha stays below alpha."""
    nb = queen_lattice(14, 14)
    rng = np.random.default_rng(99)
    weights = rng.uniform(0.5, 1.0, 196)
    flagged = hot = maps_with_bonferroni_hot = 0
    for _ in range(200):
        counts = rng.multinomial(400, weights / weights.sum())
        res = gi_star_binomial(counts, weights, nb)
        flagged += int((res.p <= ALPHA).sum())
        hot += int(((res.p <= ALPHA) & (res.p_hot <= res.p_cold)).sum())
        maps_with_bonferroni_hot += bool((res.p <= ALPHA / 196).any())
    assert flagged / (200 * 196) <= ALPHA
    assert hot / (200 * 196) <= ALPHA / 2
    assert maps_with_bonferroni_hot <= 200 * ALPHA  # family-wise error rate


# --------------------------------------------------------------------------- in PostGIS


@pytest.fixture(scope="module")
def points(engine):
    """t_proposals: 50 points planted in Zabłocie (feature table: the trigger computes
    districts); t_background: 500 uniform points over the city; t_uniform: replicates of 500
    uniform points (plain table, ST_GeneratePoints with a seed per replicate); t_resident:
    replicates of 500 points placed like residents (a district drawn in proportion to its
    population, then a uniform point in it)."""
    rng = np.random.default_rng(20240513)
    cx, cy = transform_xy(*ZABLOCIE, 4326, 2180)
    r = 250 * np.sqrt(rng.uniform(size=50))
    a = rng.uniform(0, 2 * math.pi, size=50)
    planted = [
        transform_xy(cx + r_ * math.cos(a_), cy + r_ * math.sin(a_), 2180, 4326)
        for r_, a_ in zip(r, a, strict=True)
    ]
    with engine.begin() as conn:
        conn.exec_driver_sql(feature_table_sql("t_proposals", "title text", ("Point",), True))
        conn.execute(
            text(
                "INSERT INTO t_proposals (title, geom) VALUES ('planted', ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
            ),
            [{"x": x, "y": y} for x, y in planted],
        )
        conn.execute(
            text(
                """CREATE TABLE t_background AS
                   SELECT row_number() OVER () AS id, d.geom
                   FROM city, ST_Dump(ST_GeneratePoints(city.geom, 500, 7)) d;
                   CREATE TABLE t_uniform (id serial PRIMARY KEY, rep int, geom geometry(Point, 4326));
                   CREATE INDEX ON t_uniform USING gist (geom);
                   CREATE TABLE t_resident (LIKE t_uniform INCLUDING ALL);"""
            )
        )
        for rep in range(REPLICATES):
            conn.execute(
                text(
                    """INSERT INTO t_uniform (rep, geom)
                       SELECT :rep, d.geom FROM city, ST_Dump(ST_GeneratePoints(city.geom, 500, :seed)) d"""
                ),
                {"rep": rep, "seed": 1000 + rep},
            )
        numbers, pops = zip(
            *conn.execute(text("SELECT number, population FROM districts ORDER BY number")).all(),
            strict=True,
        )
        for rep in range(REPLICATES):
            per_district = rng.multinomial(500, np.array(pops) / sum(pops))
            conn.execute(
                text(
                    """INSERT INTO t_resident (rep, geom)
                       SELECT :rep, d.geom FROM districts x,
                              ST_Dump(ST_GeneratePoints(x.geom, :n, :seed)) d
                       WHERE x.number = :number"""
                ),
                [
                    {"rep": rep, "n": int(n), "seed": 2000 + 100 * rep + number, "number": number}
                    for number, n in zip(numbers, per_district, strict=True)
                    if n > 0
                ],
            )
        districts = conn.execute(text("SELECT DISTINCT districts FROM t_proposals")).scalars().all()
    assert districts == [[13]]  # all planted points lie in Podgórze
    return planted


def _distance_m(cell_geojson: str, lon: float, lat: float) -> float:
    import json

    from shapely.geometry import shape

    c = shape(json.loads(cell_geojson)).centroid
    x0, y0 = transform_xy(c.x, c.y, 4326, 2180)
    x1, y1 = transform_xy(lon, lat, 4326, 2180)
    return math.hypot(x1 - x0, y1 - y0)


def test_planted_cluster_in_podgorze_is_a_significant_hotspot(engine, points):
    """50 points within 250 m of Zabłocie on top of 500 uniform points over the city.

    With the defaults (500 m cells, Gi* against complete spatial randomness, FDR at 0.05) the
    cell holding most planted points, and its neighbours, are hot; nothing else is."""
    with engine.connect() as conn:
        res = hotspots(conn, [Source("t_proposals"), Source("t_background")], size=500, seed=1)
    assert (res.alpha, res.correction, res.inference) == (ALPHA, "fdr", "csr")
    assert res.n_points == 550 and res.sources == 2
    hot = res.hot
    assert hot, "the planted cluster was not found"
    busiest = _busiest_planted_cell(res, points)
    assert busiest.cls == HOT and busiest.p <= res.p_cutoff and busiest.z > 3
    assert busiest.count >= 20
    # nothing far from Zabłocie is called hot (the background is uniform)
    assert all(_distance_m(c.geojson, *ZABLOCIE) < 2000 for c in hot)
    assert not res.cold
    assert {c.cls for c in res.cells} <= {HOT, COLD, NOT_SIGNIFICANT, NOT_TESTED}
    assert all(c.p is None for c in res.cells if c.cls == NOT_TESTED)
    assert all(c.share < res.min_share for c in res.cells if c.cls == NOT_TESTED)

    # against a population baseline (more ideas than residents explain) it is hot too
    with engine.connect() as conn:
        pop = hotspots(
            conn, [Source("t_proposals"), Source("t_background")], 500, inference="population"
        )
    busiest = _busiest_planted_cell(pop, points)
    assert busiest.cls == HOT and busiest.population > 0


def _busiest_planted_cell(res, points):
    import json

    from shapely.geometry import Point, shape

    pts = [Point(x, y) for x, y in points]
    planted = set()
    for c in res.cells:
        cell = shape(json.loads(c.geojson))
        if any(cell.covers(p) for p in pts):
            planted.add(c.id)
    return max((c for c in res.cells if c.id in planted), key=lambda c: c.count)


def test_conditional_permutation_cannot_see_a_one_cell_cluster(engine, points):
    """Why "csr" is the default: esda's conditional permutation holds the cell's own value
    fixed, so the cells holding the cluster are not beyond chance after FDR (documented in
    geo.analysis.hotspots)."""
    with engine.connect() as conn:
        res = hotspots(
            conn,
            [Source("t_proposals"), Source("t_background")],
            size=500,
            inference="permutation",
            permutations=999,
            seed=1,
        )
    busiest = _busiest_planted_cell(res, points)
    assert busiest.z > 3  # the statistic is large ...
    assert busiest.p >= 0.005  # ... but the 45 points sit in the fixed focal value
    assert not res.hot


REPLICATES = 8


@pytest.mark.parametrize(
    ("inference", "table"),
    [("csr", "t_uniform"), ("permutation", "t_uniform"), ("population", "t_resident")],
)
def test_uniform_points_give_no_more_false_hotspots_than_alpha_allows(
    engine, points, inference, table
):
    """500 uniformly random points in the city (ST_GeneratePoints), REPLICATES seeded maps;
    for the population null, 500 points spread like the residents.

    Under the null every flagged cell is a false positive. Two statistics:

    1. Per-cell false-positive rate without correction: the share of tested cells (pooled over
       the maps) with two-sided p <= alpha must not exceed alpha, and the share called *hot*
       must not exceed alpha/2 (one tail of a two-sided test).
    2. With the default FDR correction all nulls are true, so the false discovery rate is the
       family-wise error rate: P(at least one hot cell in a map) <= alpha. The number of maps
       with any hot cell, out of REPLICATES = 8, must not exceed 2 (Binomial(8, 0.05):
       P(X >= 3) = 0.0058).
    """
    flagged = hot_flagged = tested = 0
    maps_with_hot = 0
    with engine.connect() as conn:
        for rep in range(REPLICATES):
            res = hotspots(
                conn,
                Source(table, filters={"rep": rep}),
                size=1000,
                alpha=ALPHA,
                correction="fdr",
                inference=inference,
                seed=rep,
            )
            assert res.n_points == 500
            cells = [c for c in res.cells if c.p is not None]
            tested += len(cells)
            flagged += sum(c.p <= ALPHA for c in cells)
            hot_flagged += sum(c.p <= ALPHA and c.z > 0 for c in cells)
            maps_with_hot += bool(res.hot)
    rate, hot_rate = flagged / tested, hot_flagged / tested
    assert tested > 100 * REPLICATES
    assert rate <= ALPHA, f"{flagged}/{tested} cells flagged at p <= {ALPHA}"
    assert hot_rate <= ALPHA / 2, f"{hot_flagged}/{tested} cells flagged hot"
    assert maps_with_hot <= 2


def test_hotspot_parameters_are_checked(engine, points):
    with engine.connect() as conn:
        for kwargs in (
            {"alpha": 0},
            {"alpha": 1.5},
            {"correction": "holm"},
            {"inference": "kde"},
            {"min_share": 2},
            {"permutations": 10},
        ):
            with pytest.raises(ValueError):
                hotspots(conn, Source("t_background"), 1000, **kwargs)
