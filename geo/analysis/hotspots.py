"""Hotspots: Getis-Ord Gi* over counts of points in an equal-area hexagonal grid.

Method (what the planners' page states under the map):

1. Points (proposals, comments, ... — one or several :class:`Source`) are counted per cell of
   the EPSG:2180 hexagonal grid (:mod:`geo.analysis.grid`), in PostGIS. A line or polygon
   counts once, at ``ST_PointOnSurface``; a point on the edge between two cells counts once.
2. Cells clipped by the city outline to less than ``min_share`` of a full hexagon are not
   tested (a sliver is too small to say anything about).
3. The statistic is Gi* (``esda.G_Local``, ``star=True``, binary weights: the cell itself and
   the cells within ``rings`` rings), reported with its analytical z-score.
4. Significance, with one of three null hypotheses (``inference``):

   - ``"csr"`` (default) — *complete spatial randomness*: the same number N of points falling
     independently and uniformly over the tested area, i.e. cell counts ~ Multinomial(N,
     cell area / total area). The count in a cell's neighbourhood is then exactly
     Binomial(N, the neighbourhood's share of the area), so the p-values are exact binomial
     tails — no simulation, no seed, no p-value floor. This is the question "do ideas
     cluster here beyond chance?".
   - ``"population"`` — the same with cells weighted by their residents instead of their
     area (each district's registered population spread evenly over it): "more ideas here
     than the people living here explain?". Cells without residents are not tested.
   - ``"permutation"`` — esda's conditional permutation (seeded): the observed cell values
     (count per full-hexagon area) shuffled over the other cells, the cell's own value held
     fixed. It asks whether *neighbourhoods* of high values are arranged non-randomly, given
     the values. It cannot flag a cluster confined to one or two cells: with the focal value
     fixed, the cell holding 45 of 550 points got p = 0.01 in our test (p = 1.0 when it held
     all 50), and its neighbours p ≈ 0.01 (the one extreme value is drawn into a random
     neighbourhood ~1 % of the time), which FDR over ~500 cells does not let through.
     Hence it is not the default.

   The p-value of a cell is two-sided: ``p = min(1, 2·min(p_hot, p_cold))`` with
   ``p_hot = P(G* ≥ observed)``, ``p_cold = P(G* ≤ observed)`` under the null (ties count in
   both tails). With permutations, ``p_hot = (#{G*_perm ≥ G*} + 1) / (P + 1)`` etc. — esda's
   own ``p_sim`` folds the tails with a strict inequality, which for count data full of
   zeros calls every empty neighbourhood a significant cold spot (p = 1/(P+1)), so we
   compute the p-values from the permutation distribution that esda returns.
5. A cell is a hot (cold) spot when its p-value is at most the cut-off — ``alpha`` without
   correction, ``alpha/m`` with Bonferroni, the Benjamini–Hochberg cut-off with ``fdr`` (m =
   number of tested cells) — and its G* lies in the upper (lower) tail.

With permutations the smallest attainable p-value is 2/(P+1); with Bonferroni that must be
below alpha/m, so ``permutations=None`` picks P large enough for the correction in use.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from sqlalchemy import Connection, text

from geo.analysis.grid import GRID_CTE, Cell, grid_params, grid_pop_cte, neighbours
from geo.analysis.source import Source, union_sql

if TYPE_CHECKING:
    from esda import G_Local
    from libpysal.weights import W

Correction = Literal["none", "fdr", "bonferroni"]
CORRECTIONS: tuple[str, ...] = ("none", "fdr", "bonferroni")
Inference = Literal["csr", "population", "permutation"]
INFERENCES: tuple[str, ...] = ("csr", "population", "permutation")

HOT = "hot"
COLD = "cold"
NOT_SIGNIFICANT = "not_significant"
NOT_TESTED = "not_tested"

DEFAULT_PERMUTATIONS = 9999
MAX_PERMUTATIONS = 200_000
_BATCH = 10_000  # permutations per esda run: bounds memory at cells × 10 000 floats


@dataclass(frozen=True)
class GiStar:
    """Gi* for each input value (arrays aligned with the input)."""

    g: np.ndarray  # G* statistic (esda)
    z: np.ndarray  # analytical z-score of G* (Getis & Ord; esda's Zs)
    z_null: np.ndarray  # G* standardised by its null distribution (simulated or exact)
    p: np.ndarray  # two-sided p-value, exact or by permutation (ties counted, see module doc)
    p_hot: np.ndarray  # one-sided, upper tail
    p_cold: np.ndarray  # one-sided, lower tail
    permutations: int  # 0: exact null distribution


def _weights(neighbour_lists: Sequence[Sequence[int]]) -> W:
    from libpysal.weights import W

    n = len(neighbour_lists)
    return W(
        {i: list(nb) for i, nb in enumerate(neighbour_lists)},
        id_order=list(range(n)),
        silence_warnings=True,
    )


def _esda_g_local(
    y: np.ndarray, neighbour_lists: Sequence[Sequence[int]], permutations: int, seed: int
) -> G_Local:
    from esda import G_Local

    with warnings.catch_warnings():
        # esda warns that its conditional randomisation's default alternative will change;
        # we do not use its p_sim (see the module docstring).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return G_Local(
            y,
            _weights(neighbour_lists),  # a fresh W: esda zeroes the diagonal it is given
            transform="B",
            permutations=permutations,
            star=True,
            keep_simulations=permutations > 0,
            n_jobs=1,  # 2 shared cores; joblib processes cost more than they save here
            seed=seed,
        )


def _degenerate(n: int, permutations: int) -> GiStar:
    ones = np.ones(n)
    zeros = np.zeros(n)
    return GiStar(np.full(n, np.nan), zeros, zeros, ones, ones, ones, permutations)


def _tails(ge: np.ndarray, le: np.ndarray, permutations: int) -> tuple[np.ndarray, ...]:
    p_hot = (ge + 1) / (permutations + 1)
    p_cold = (le + 1) / (permutations + 1)
    return np.minimum(1.0, 2.0 * np.minimum(p_hot, p_cold)), p_hot, p_cold


def _check(values: np.ndarray, neighbour_lists: Sequence[Sequence[int]], permutations: int) -> None:
    if len(neighbour_lists) != len(values):
        raise ValueError("values and neighbour lists differ in length")
    if permutations < 99 or permutations > MAX_PERMUTATIONS:
        raise ValueError(f"permutations must be between 99 and {MAX_PERMUTATIONS}")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("values must be finite and non-negative")


def gi_star(
    values: Sequence[float] | np.ndarray,
    neighbour_lists: Sequence[Sequence[int]],
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
) -> GiStar:
    """Gi* with binary weights (self included) and esda's seeded conditional permutations.

    ``neighbour_lists[k]`` are the positions of k's neighbours (not k itself).
    """
    y = np.asarray(values, dtype=float)
    n = len(y)
    _check(y, neighbour_lists, permutations)
    if n < 3 or y.sum() <= 0 or np.ptp(y) == 0:
        return _degenerate(n, permutations)  # no variation: nothing is hot or cold
    ge, le, s1, s2 = (np.zeros(n) for _ in range(4))
    g = z = None
    done = batch = 0
    while done < permutations:
        k = min(_BATCH, permutations - done)
        lg = _esda_g_local(y, neighbour_lists, k, seed * 1009 + batch)
        g, z = np.asarray(lg.Gs), np.asarray(lg.Zs)
        # The observed and permuted sums add the same numbers in different orders: treat
        # values within a few ulps as ties (counted in both tails, which is conservative).
        eps = 1e-9 * np.maximum(np.abs(g), 1e-12)
        sims = lg.rGs
        ge += (sims >= (g - eps)[:, None]).sum(axis=1)
        le += (sims <= (g + eps)[:, None]).sum(axis=1)
        s1 += sims.sum(axis=1)
        s2 += (sims * sims).sum(axis=1)
        del sims, lg
        done += k
        batch += 1
    assert g is not None and z is not None
    p, p_hot, p_cold = _tails(ge, le, permutations)
    return GiStar(g, z, _standardise(g, s1, s2, permutations), p, p_hot, p_cold, permutations)


def _standardise(obs: np.ndarray, s1: np.ndarray, s2: np.ndarray, k: int) -> np.ndarray:
    mean = s1 / k
    sd = np.sqrt(np.maximum(s2 / k - mean * mean, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, (obs - mean) / sd, 0.0)


def gi_star_binomial(
    counts: Sequence[int] | np.ndarray,
    weights: Sequence[float] | np.ndarray,
    neighbour_lists: Sequence[Sequence[int]],
) -> GiStar:
    """Gi* of point counts with its exact distribution under a random-points null.

    Under the null the N observed points fall independently into the cells with probability
    proportional to ``weights`` (their area: complete spatial randomness; their residents: a
    population baseline), so cell counts are Multinomial(N, w / Σw) and the count in any
    fixed set of cells is Binomial(N, Σ of their shares). G*_i is the count in cell i's
    neighbourhood (i itself included) over N, so its tails are binomial tails: exact,
    deterministic, and with no p-value floor (Bonferroni works at any number of cells).
    """
    from scipy import sparse
    from scipy.stats import binom

    y = np.asarray(counts, dtype=float)
    w = np.asarray(weights, dtype=float)
    n = len(y)
    _check(y, neighbour_lists, DEFAULT_PERMUTATIONS)
    if len(w) != n or not (w > 0).all() or not np.isfinite(w).all():
        raise ValueError("weights must be positive and finite, one per cell")
    if (y != np.round(y)).any():
        raise ValueError("counts must be whole numbers")
    total = int(y.sum())
    if n < 3 or total == 0:
        return _degenerate(n, 0)
    lg = _esda_g_local(y, neighbour_lists, 0, 0)
    g, z = np.asarray(lg.Gs), np.asarray(lg.Zs)
    rows = [i for i, nb in enumerate(neighbour_lists) for _ in range(len(nb) + 1)]
    cols = [j for i, nb in enumerate(neighbour_lists) for j in (i, *nb)]
    w_star = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    observed = np.rint(w_star @ y)  # neighbourhood counts; G* = observed / N
    q = np.minimum(w_star @ (w / w.sum()), 1.0)  # the neighbourhood's share under the null
    p_hot = binom.sf(observed - 1, total, q)  # P(H >= observed)
    p_cold = binom.cdf(observed, total, q)  # P(H <= observed)
    p = np.minimum(1.0, 2.0 * np.minimum(p_hot, p_cold))
    sd = np.sqrt(total * q * (1 - q))
    with np.errstate(divide="ignore", invalid="ignore"):
        z_null = np.where(sd > 0, (observed - total * q) / sd, 0.0)
    return GiStar(g, z, z_null, p, p_hot, p_cold, 0)


def p_cutoff(p: Sequence[float] | np.ndarray, alpha: float, correction: str) -> float:
    """The largest p-value still called significant (0.0: none is)."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}")
    if m == 0:
        return 0.0
    if correction == "none":
        return alpha
    if correction == "bonferroni":
        return alpha / m
    # Benjamini–Hochberg: the largest p_(k) with p_(k) <= k·alpha/m.
    ordered = np.sort(p)
    ok = np.nonzero(ordered <= np.arange(1, m + 1) * alpha / m)[0]
    return float(ordered[ok[-1]]) if len(ok) else 0.0


def auto_permutations(m: int, alpha: float, correction: str) -> int:
    """9 999, or enough that the p-value floor 2/(P+1) is below Bonferroni's alpha/m."""
    if correction == "bonferroni":
        need = math.ceil(2.5 * m / alpha)
        return min(MAX_PERMUTATIONS, max(DEFAULT_PERMUTATIONS, need))
    return DEFAULT_PERMUTATIONS


@dataclass(frozen=True)
class HotspotCell:
    id: int
    i: int
    j: int
    geojson: str  # clipped cell, EPSG:4326
    area_m2: float
    share: float
    count: int
    population: float | None  # estimated residents (inference="population" only)
    value: float | None  # count / share: points per full-hexagon area, for tested cells
    z: float | None  # analytical Gi* z-score
    p: float | None
    cls: str  # "hot" | "cold" | "not_significant" | "not_tested"


@dataclass(frozen=True)
class HotspotResult:
    cells: list[HotspotCell]
    size: float
    alpha: float
    correction: str
    inference: str
    p_cutoff: float
    p_floor: float  # smallest attainable p-value: 2/(P+1) with permutations, else 0
    permutations: int  # 0 for the exact "csr" and "population" tests
    seed: int
    rings: int
    min_share: float
    n_points: int  # features counted in any cell
    n_tested: int  # cells tested
    n_tested_points: int  # features in tested cells (the N of the CSR null)
    sources: int = 1
    notes: list[str] = field(default_factory=list)
    min_points: int = 0  # below it nothing was tested (too few points to say anything)

    @property
    def insufficient(self) -> bool:
        return self.n_points < self.min_points

    @property
    def hot(self) -> list[HotspotCell]:
        return [c for c in self.cells if c.cls == HOT]

    @property
    def cold(self) -> list[HotspotCell]:
        return [c for c in self.cells if c.cls == COLD]


@dataclass(frozen=True)
class CellCount:
    cell: Cell
    count: int
    population: float | None  # estimated residents (only when asked for)


def cell_counts(
    conn: Connection,
    sources: Source | Sequence[Source],
    size: float,
    city: str | None = None,
    population: bool = False,
    baseline: str = "area",
) -> list[CellCount]:
    """Each grid cell with the number of features whose representative point lies in it."""
    pts_sql, params = union_sql(sources)
    params.update(grid_params(size, city))
    pop_cte = f",\n{grid_pop_cte(baseline).lstrip()}" if population else ""
    pop_col = (
        "(SELECT sum(gp.population) FROM grid_pop gp WHERE gp.id = g.id)"
        if population
        else "NULL::float8"
    )
    sql = f"""
        WITH {GRID_CTE}{pop_cte},
        pts AS ({pts_sql})
        SELECT g.id, g.i, g.j, ST_AsGeoJSON(ST_Transform(g.geom, 4326), 6),
               g.area_m2, g.share, g.cx, g.cy, n.n, {pop_col}
        FROM grid g
        -- one GiST probe per cell. A point strictly inside a hexagon counts there; a point
        -- on the edge between hexagons counts in the one with the smallest id.
        CROSS JOIN LATERAL (
            SELECT count(*) AS n
            FROM pts CROSS JOIN LATERAL (SELECT ST_PointOnSurface(pts.geom) AS p) r
            WHERE pts.geom && g.hex4326
              AND (ST_Contains(g.hex4326, r.p)
                   OR (ST_Intersects(g.hex4326, r.p)
                       AND NOT EXISTS (SELECT 1 FROM grid g2
                                       WHERE g2.id < g.id AND ST_Intersects(g2.hex4326, r.p))))
        ) n
        ORDER BY g.id"""
    return [
        CellCount(Cell(*r[:8]), int(r[8]), float(r[9] or 0.0) if population else None)
        for r in conn.execute(text(sql), params)
    ]


def hotspots(
    conn: Connection,
    sources: Source | Sequence[Source],
    size: float = 500.0,
    *,
    alpha: float = 0.05,
    correction: Correction = "fdr",
    inference: Inference = "csr",
    permutations: int | None = None,
    seed: int = 0,
    rings: int = 1,
    min_share: float = 0.5,
    city: str | None = None,
    min_points: int = 0,
    baseline: str = "area",
) -> HotspotResult:
    """Gi* hot and cold spots of the features of ``sources`` on a ``size``-metre hex grid.

    With fewer than ``min_points`` features nothing is tested (every cell ``not_tested``,
    ``insufficient`` true): a handful of points cannot make any cell significant.

    ``permutations`` (default: :func:`auto_permutations`) and ``seed`` matter only for
    ``inference="permutation"``; the other two nulls are exact.
    """
    if permutations is not None and not 99 <= permutations <= MAX_PERMUTATIONS:
        raise ValueError(f"permutations must be between 99 and {MAX_PERMUTATIONS}")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}")
    if inference not in INFERENCES:
        raise ValueError(f"inference must be one of {', '.join(INFERENCES)}")
    if not 0 <= min_share <= 1:
        raise ValueError("min_share must be between 0 and 1")
    counted = cell_counts(
        conn, sources, size, city, population=inference == "population", baseline=baseline
    )
    n_points = sum(cc.count for cc in counted)
    tested = [
        k
        for k, cc in enumerate(counted)
        if cc.cell.share >= min_share and (inference != "population" or (cc.population or 0) > 0)
    ]
    if n_points < min_points:
        tested = []
    m = len(tested)
    if inference == "permutation":
        perms = permutations or auto_permutations(m, alpha, correction)
    else:
        perms = 0  # exact binomial tails
    notes: list[str] = []
    all_nb = neighbours([cc.cell for cc in counted], size, rings)
    position = {k: n for n, k in enumerate(tested)}
    nb = [[position[x] for x in all_nb[k] if x in position] for k in tested]
    values = np.array([counted[k].count / counted[k].cell.share for k in tested])
    if inference == "permutation":
        stats = gi_star(values, nb, permutations=perms, seed=seed)
    else:
        counts = np.array([counted[k].count for k in tested])
        if inference == "csr":
            weights = np.array([counted[k].cell.area_m2 for k in tested])
        else:
            weights = np.array([counted[k].population or 0.0 for k in tested])
        stats = gi_star_binomial(counts, weights, nb)
    cut = p_cutoff(stats.p, alpha, correction)
    floor = 2.0 / (perms + 1) if perms else 0.0
    if m and correction != "none" and cut == 0.0 and floor > alpha / m:
        need = math.ceil(floor * m / alpha)
        notes.append(
            f"with {perms} permutations no p-value is below {floor:.2g}: "
            + (
                "nothing can pass Bonferroni's cut-off; raise permutations"
                if correction == "bonferroni"
                else f"a hotspot needs at least {need} cells at that p-value to pass the FDR cut-off"
            )
        )
    out: list[HotspotCell] = []
    for k, cc in enumerate(counted):
        cell = cc.cell
        base = dict(
            id=cell.id,
            i=cell.i,
            j=cell.j,
            geojson=cell.geojson,
            area_m2=cell.area_m2,
            share=cell.share,
            count=cc.count,
            population=cc.population,
        )
        n = position.get(k)
        if n is None:
            out.append(HotspotCell(**base, value=None, z=None, p=None, cls=NOT_TESTED))
            continue
        p = float(stats.p[n])
        if p <= cut:
            cls = HOT if stats.p_hot[n] <= stats.p_cold[n] else COLD
        else:
            cls = NOT_SIGNIFICANT
        out.append(HotspotCell(**base, value=float(values[n]), z=float(stats.z[n]), p=p, cls=cls))
    return HotspotResult(
        cells=out,
        size=float(size),
        alpha=alpha,
        correction=correction,
        inference=inference,
        p_cutoff=cut,
        p_floor=floor,
        permutations=perms,
        seed=seed,
        rings=rings,
        min_share=min_share,
        n_points=n_points,
        n_tested=m,
        n_tested_points=int(sum(counted[k].count for k in tested)),
        sources=1 if isinstance(sources, Source) else len(sources),
        notes=notes,
        min_points=min_points,
    )
