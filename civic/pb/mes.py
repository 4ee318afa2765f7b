"""The Method of Equal Shares (MES) beside Kraków's rule, computed with pabutools (PyPI).

Nothing of MES is hand-written here: this module only turns a tallied pool (civic/pb/results.py)
and its ballots into a pabutools instance and profile and reads the outcome back.

* **Utilities**: a Kraków ballot ranks 3 projects of a pool; a voter's satisfaction with a
  project is the points the ballot gives it (3, 2, 1), the same points the city sums. In
  pabutools: ``CumulativeMultiProfile`` of ``FrozenCumulativeBallot({project: points})`` and
  ``Additive_Cardinal_Sat``. Identical ballots are collapsed into one with a multiplicity (the
  outcome is the same, the computation much shorter).
* **Completion** (MES alone usually leaves money unspent): first **Add1** — the iterated variant
  of pabutools (``voter_budget_increment``): every voter's share grows by 1 % of the initial
  share (the city's pool divided by the ballots) until the outcome is exhaustive or would cost more
  than the pool, keeping the last outcome that fits; then the rest of the pool is filled by
  **Kraków's own greedy rule** (points, in the rank order of results.rank_key). This is the
  "MES + Add1 + utilitarian greedy" completion recommended on equalshares.net; the 1 % step (not
  1 PLN) keeps a district pool at seconds, not minutes.
* **Ties** inside MES: pabutools' lexicographic tie-breaking on the project name, which is the
  rank position in the city's order (zero-padded), so MES breaks ties like the city's rule does.
* Exact arithmetic: pabutools' default gmpy2 fractions.
"""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal

from sqlalchemy import Connection, text

from civic.pb.tally import POINTS, Pool, pool_ballots

DEFAULT_STEP = 0.01  # of the initial per-voter share
METHOD = "mes-points-add1-1pct-greedy"  # how pb_mes_results rows were computed


def _names(pool: Pool) -> dict[str, str]:
    """external id -> pabutools project name (rank position, so ties break in rank order)."""
    return {p.external_id: f"{p.rank:05d}" for p in pool.projects}


def build(pool: Pool, ballots: list[list[str]]):
    """A pabutools (instance, multiprofile) of a tallied pool and its ballots."""
    from pabutools.election import (
        CumulativeMultiProfile,
        FrozenCumulativeBallot,
        Instance,
        Project,
    )

    names = _names(pool)
    projects = {p.external_id: Project(names[p.external_id], int(p.cost)) for p in pool.projects}
    instance = Instance(projects.values(), budget_limit=int(pool.budget))
    counts = Counter(tuple(b) for b in ballots)
    profile = CumulativeMultiProfile(instance=instance)
    for choices, n in counts.items():
        scores = {}
        for pos, pid in enumerate(choices):
            if pid in projects and pos < len(POINTS) and projects[pid] not in scores:
                scores[projects[pid]] = POINTS[pos]
        if scores:
            profile[FrozenCumulativeBallot(scores)] += n
    return instance, profile, projects


def mes_outcome(
    pool: Pool, ballots: list[list[str]], step: float | None = DEFAULT_STEP, complete: bool = True
) -> set[str]:
    """External ids funded by MES (+ Add1 with ``step``, + greedy completion)."""
    from pabutools.election import Additive_Cardinal_Sat
    from pabutools.fractions import frac
    from pabutools.rules import method_of_equal_shares

    instance, profile, projects = build(pool, ballots)
    if profile.num_ballots() == 0:
        return set()
    increment = None
    if step:
        increment = frac(int(pool.budget), profile.num_ballots()) * frac(step)
    outcome = method_of_equal_shares(
        instance,
        profile,
        sat_class=Additive_Cardinal_Sat,
        voter_budget_increment=increment,
    )
    by_name = {p.name: pid for pid, p in projects.items()}
    funded = {by_name[p.name] for p in outcome}
    if complete:
        left = pool.budget - sum(
            (p.cost for p in pool.projects if p.external_id in funded), Decimal(0)
        )
        for p in pool.projects:  # in the city's rank order
            if p.external_id not in funded and p.cost <= left:
                funded.add(p.external_id)
                left -= p.cost
    return funded


def mark(pool: Pool, funded: set[str]) -> Pool:
    """Mark ``funded`` on a tallied pool; cumulative cost in rank order."""
    spent = Decimal(0)
    for p in pool.projects:
        p.funded = p.external_id in funded
        if p.funded:
            spent += p.cost
        p.cumulative = spent
    return pool


def mes_pool(pool: Pool, ballots: list[list[str]], step: float | None = DEFAULT_STEP) -> Pool:
    """A tallied pool decided by MES (completed)."""
    return mark(pool, mes_outcome(pool, ballots, step))


def _engine() -> str:
    from importlib.metadata import version

    return f"pabutools {version('pabutools')}"


def stored(conn: Connection, pool: Pool) -> set[str] | None:
    """The kept MES outcome of a pool, if it was computed on the same number of ballots."""
    row = conn.execute(
        text(
            "SELECT funded, ballots FROM pb_mes_results WHERE edition = :e AND scope = :s "
            "AND district = :d AND method = :m"
        ),
        {"e": pool.edition, "s": pool.scope, "d": pool.district, "m": METHOD},
    ).first()
    if row is None or row.ballots != pool.ballots:
        return None
    return set(row.funded)


def compute(conn: Connection, pool: Pool, force: bool = False) -> Pool:
    """MES on a tallied pool: the kept outcome, or computed now with pabutools and kept."""
    funded = None if force else stored(conn, pool)
    if funded is None:
        t0 = time.monotonic()
        funded = mes_outcome(pool, pool_ballots(conn, pool))
        conn.execute(
            text(
                """INSERT INTO pb_mes_results (edition, scope, district, method, ballots, funded,
                       engine, seconds)
                   VALUES (:e, :s, :d, :m, :b, :f, :g, :t)
                   ON CONFLICT (edition, scope, district, method) DO UPDATE SET
                       ballots = EXCLUDED.ballots, funded = EXCLUDED.funded,
                       engine = EXCLUDED.engine, seconds = EXCLUDED.seconds, computed_at = now()"""
            ),
            {
                "e": pool.edition,
                "s": pool.scope,
                "d": pool.district,
                "m": METHOD,
                "b": pool.ballots,
                "f": sorted(funded),
                "g": _engine(),
                "t": round(time.monotonic() - t0, 2),
            },
        )
    return mark(pool, funded)


# --- outcomes shipped with the data ----------------------------------------------------------

OUTCOME_COLUMNS = (
    "edition",
    "scope",
    "district",
    "method",
    "ballots",
    "funded",
    "engine",
    "seconds",
)


def outcomes(conn: Connection) -> list[dict]:
    """Every kept MES outcome, for shipping beside the ballots (data/pabulib/<city>/
    mes-outcomes.csv): pabutools takes 1-20 minutes an edition on the city-wide pools."""
    rows = conn.execute(
        text(
            f"SELECT {', '.join(OUTCOME_COLUMNS)} FROM pb_mes_results "
            "ORDER BY edition, scope, district, method"
        )
    ).all()
    return [dict(r._mapping) for r in rows]


def load_outcomes(conn: Connection, rows: list[dict]) -> list[int]:
    """Keep shipped MES outcomes where none is kept yet; returns the editions they are for.
    An outcome counts only while its pool still has the ballots it was computed on
    (:func:`stored`), so a stale row is never shown and is recomputed on demand."""
    done = set()
    for r in rows:
        got = conn.execute(
            text(
                """INSERT INTO pb_mes_results (edition, scope, district, method, ballots, funded,
                       engine, seconds)
                   VALUES (:edition, :scope, :district, :method, :ballots, :funded, :engine,
                           :seconds)
                   ON CONFLICT DO NOTHING RETURNING edition"""
            ),
            {**r, "funded": sorted(r["funded"])},
        ).first()
        if got is not None:
            done.add(int(r["edition"]))
    return sorted(done)
