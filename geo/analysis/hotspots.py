"""Hotspots: Getis-Ord Gi* over counts of points in an equal-area hexagonal grid.

Method (what the planners' page states under the map):

1. Points (proposals, comments, ... — one or several :class:`Source`) are counted per cell of
   the EPSG:2180 hexagonal grid (:mod:`geo.analysis.grid`), in PostGIS. A line or polygon
   counts once, at ``ST_PointOnSurface``; a point on the edge between two cells counts once.
2. Cells clipped by the city outline to less than ``min_share`` of a full hexagon are not
   tested (a sliver with one point would be an extreme rate). The value of a tested cell is
   its count divided by its share, i.e. points per full-hexagon area, so that edge cells are
   comparable with inner ones.
3. Gi* (``esda.G_Local``, ``star=True``, binary weights: the cell itself and the cells within
   ``rings`` rings) with conditional permutation inference, seeded.
4. The p-value of a cell is two-sided and counts ties: ``p = min(1, 2·min(p_hot, p_cold))``,
   ``p_hot = (#{G*_perm ≥ G*} + 1) / (P + 1)``, ``p_cold = (#{G*_perm ≤ G*} + 1) / (P + 1)``.
   esda's own ``p_sim`` folds the tails with a strict inequality, which for count data full of
   zeros calls every empty neighbourhood a significant cold spot (p = 1/(P+1)); we therefore
   compute the p-values from the permutation distribution that esda returns.
5. A cell is a hot (cold) spot when its p-value is at most the cut-off — ``alpha`` without
   correction, ``alpha/m`` with Bonferroni, the Benjamini–Hochberg cut-off with ``fdr`` (m =
   number of tested cells) — and its G* lies in the upper (lower) tail.

The smallest attainable p-value is 2/(P+1); with Bonferroni that must be below alpha/m, so
``permutations=None`` picks P large enough for the correction in use.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sqlalchemy import Connection, text

from geo.analysis.grid import GRID_CTE, Cell, grid_params, neighbours
from geo.analysis.source import Source, union_sql

Correction = Literal["none", "fdr", "bonferroni"]
CORRECTIONS: tuple[str, ...] = ("none", "fdr", "bonferroni")

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

    g: np.ndarray  # G* statistic
    z: np.ndarray  # analytical z-score of G* (Getis & Ord)
    p: np.ndarray  # two-sided permutation pseudo p-value (ties counted, see module doc)
    p_hot: np.ndarray  # one-sided, upper tail
    p_cold: np.ndarray  # one-sided, lower tail
    permutations: int


def gi_star(
    values: Sequence[float] | np.ndarray,
    neighbour_lists: Sequence[Sequence[int]],
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
) -> GiStar:
    """Gi* with binary weights (self included) and seeded conditional permutations.

    ``neighbour_lists[k]`` are the positions of k's neighbours (not k itself).
    """
    from esda import G_Local
    from libpysal.weights import W

    y = np.asarray(values, dtype=float)
    n = len(y)
    if len(neighbour_lists) != n:
        raise ValueError("values and neighbour lists differ in length")
    if permutations < 99 or permutations > MAX_PERMUTATIONS:
        raise ValueError(f"permutations must be between 99 and {MAX_PERMUTATIONS}")
    if n < 3 or not np.isfinite(y).all() or y.sum() <= 0 or np.ptp(y) == 0:
        # No variation, no points: nothing can be a hot or cold spot.
        ones = np.ones(n)
        return GiStar(np.full(n, np.nan), np.zeros(n), ones, ones, ones, permutations)

    ge = np.zeros(n)
    le = np.zeros(n)
    g = z = None
    done = 0
    batch = 0
    while done < permutations:
        k = min(_BATCH, permutations - done)
        # A fresh W per run: esda zeroes the diagonal of the sparse matrix it is given.
        w = W(
            {i: list(nb) for i, nb in enumerate(neighbour_lists)},
            id_order=list(range(n)),
            silence_warnings=True,
        )
        with warnings.catch_warnings():
            # esda warns that its conditional randomisation's default alternative will
            # change; we do not use its p_sim (see the module docstring).
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            lg = G_Local(
                y,
                w,
                transform="B",
                permutations=k,
                star=True,
                keep_simulations=True,
                n_jobs=1,  # 2 shared cores; joblib processes cost more than they save here
                seed=seed * 1009 + batch,
            )
        g, z = lg.Gs, lg.Zs
        # The observed and permuted sums add the same numbers in different orders: treat
        # values within a few ulps as ties (counted in both tails, which is conservative).
        eps = 1e-9 * np.maximum(np.abs(g), 1e-12)
        sims = lg.rGs
        ge += (sims >= (g - eps)[:, None]).sum(axis=1)
        le += (sims <= (g + eps)[:, None]).sum(axis=1)
        del sims, lg
        done += k
        batch += 1
    p_hot = (ge + 1) / (permutations + 1)
    p_cold = (le + 1) / (permutations + 1)
    p = np.minimum(1.0, 2.0 * np.minimum(p_hot, p_cold))
    assert g is not None and z is not None
    return GiStar(np.asarray(g), np.asarray(z), p, p_hot, p_cold, permutations)


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
    value: float | None  # count / share, for tested cells
    z: float | None
    p: float | None
    cls: str  # "hot" | "cold" | "not_significant" | "not_tested"


@dataclass(frozen=True)
class HotspotResult:
    cells: list[HotspotCell]
    size: float
    alpha: float
    correction: str
    p_cutoff: float
    p_floor: float  # smallest attainable p-value, 2/(P+1)
    permutations: int
    seed: int
    rings: int
    min_share: float
    n_points: int
    n_tested: int
    sources: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def hot(self) -> list[HotspotCell]:
        return [c for c in self.cells if c.cls == HOT]

    @property
    def cold(self) -> list[HotspotCell]:
        return [c for c in self.cells if c.cls == COLD]


def cell_counts(
    conn: Connection,
    sources: Source | Sequence[Source],
    size: float,
    city: str | None = None,
) -> list[tuple[Cell, int]]:
    """Each grid cell with the number of features whose representative point lies in it."""
    pts_sql, params = union_sql(sources)
    params.update(grid_params(size, city))
    sql = f"""
        WITH {GRID_CTE},
        pts AS ({pts_sql}),
        hits AS (
            SELECT DISTINCT ON (pts.src, pts.id) g.id AS cell
            FROM grid g
            JOIN pts ON pts.geom && g.hex4326
                    AND ST_Intersects(g.hex4326, ST_PointOnSurface(pts.geom))
            ORDER BY pts.src, pts.id, g.id
        ),
        counts AS (SELECT cell, count(*) AS n FROM hits GROUP BY cell)
        SELECT g.id, g.i, g.j, ST_AsGeoJSON(ST_Transform(g.geom, 4326), 6),
               g.area_m2, g.share, g.cx, g.cy, coalesce(c.n, 0)
        FROM grid g LEFT JOIN counts c ON c.cell = g.id
        ORDER BY g.id"""
    return [(Cell(*r[:8]), int(r[8])) for r in conn.execute(text(sql), params)]


def hotspots(
    conn: Connection,
    sources: Source | Sequence[Source],
    size: float = 500.0,
    *,
    alpha: float = 0.05,
    correction: Correction = "fdr",
    permutations: int | None = None,
    seed: int = 0,
    rings: int = 1,
    min_share: float = 0.5,
    city: str | None = None,
) -> HotspotResult:
    """Gi* hot and cold spots of the features of ``sources`` on a ``size``-metre hex grid."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}")
    if not 0 <= min_share <= 1:
        raise ValueError("min_share must be between 0 and 1")
    counted = cell_counts(conn, sources, size, city)
    tested = [k for k, (cell, _) in enumerate(counted) if cell.share >= min_share]
    m = len(tested)
    perms = permutations if permutations is not None else auto_permutations(m, alpha, correction)
    notes: list[str] = []
    cells = [c for c, _ in counted]
    all_nb = neighbours(cells, size, rings)
    position = {k: n for n, k in enumerate(tested)}
    nb = [[position[x] for x in all_nb[k] if x in position] for k in tested]
    values = np.array([counted[k][1] / counted[k][0].share for k in tested])
    stats = gi_star(values, nb, permutations=perms, seed=seed)
    cut = p_cutoff(stats.p, alpha, correction)
    floor = 2.0 / (perms + 1)
    if m and correction != "none" and floor > alpha / m:
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
    for k, (cell, count) in enumerate(counted):
        base = dict(
            id=cell.id,
            i=cell.i,
            j=cell.j,
            geojson=cell.geojson,
            area_m2=cell.area_m2,
            share=cell.share,
            count=count,
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
        p_cutoff=cut,
        p_floor=floor,
        permutations=perms,
        seed=seed,
        rings=rings,
        min_share=min_share,
        n_points=sum(c for _, c in counted),
        n_tested=m,
        sources=1 if isinstance(sources, Source) else len(sources),
        notes=notes,
    )
