"""Demand per district: how many features, how much money asked, per 1 000 residents, and
against the district's pool. One SQL statement; every district appears, also with zero.

A feature counts in every district it lies in (the ``districts`` array the database computed
from its geometry; a "whole district" proposal without geometry keeps the districts it was
given). Money follows ``allocation``:

- ``"full"`` — a proposal's whole cost counts in each of its districts: what a district
  council sees as "asked in our district". District sums can then exceed the city total.
- ``"shared"`` — the cost is split equally between its districts, so district sums add up to
  the money asked by located features.

Per-1 000 rates use ``districts.population`` (the official registered residents loaded with
the reference data). Pools come from the caller (``{district number: PLN}``), e.g.
:func:`district_pools` for a past edition's META budgets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, text

from geo.analysis.source import Source
from geo.schema import ident

Allocation = Literal["full", "shared"]

# The districts of a geometry, as the feature trigger computes them (for sources without a
# ``districts`` column).
_DISTRICTS_OF_GEOM = """ARRAY(
    SELECT d.number FROM districts d
    WHERE t.geom IS NOT NULL AND ST_Intersects(d.geom, t.geom)
      AND (ST_Dimension(t.geom) = 0 OR NOT ST_Touches(d.geom, t.geom))
    ORDER BY d.number)"""


@dataclass(frozen=True)
class DistrictDemand:
    number: int
    name: str
    population: int | None
    count: int  # features located (wholly or partly) in the district
    money: float  # PLN asked, per the result's allocation
    per_1000: float | None  # count per 1 000 residents
    money_per_resident: float | None  # PLN per resident
    pool: float | None  # the district's pool, PLN (None: not given)
    asked_to_pool: float | None  # money / pool (1.0 = exactly the pool)


@dataclass(frozen=True)
class DemandResult:
    districts: list[DistrictDemand]
    total_count: int  # each feature once
    total_money: float  # each feature's cost once
    unlocated_count: int  # features in no district (e.g. city-wide, without geometry)
    allocation: str


def _validate_pools(pools: Mapping[int, float] | None) -> tuple[list[int], list[float]]:
    numbers: list[int] = []
    amounts: list[float] = []
    for number, amount in (pools or {}).items():
        value = float(amount)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"pool of district {number} must be a non-negative number")
        numbers.append(int(number))
        amounts.append(value)
    return numbers, amounts


def demand_by_district(
    conn: Connection,
    source: Source,
    pools: Mapping[int, float] | None = None,
    *,
    cost_column: str | None = "cost",
    districts_column: str | None = "districts",
    allocation: Allocation = "full",
) -> DemandResult:
    """Counts and money per district from ``source`` (one row = one feature).

    With ``budget_proposals_demand`` (migration 0018: public rows, ordered by edition and
    districts, carrying status and cost) one edition's proposals are an index-only scan whose
    groups arrive in order: a streaming aggregate, no heap page, no hash of every row's array.
    """
    if allocation not in ("full", "shared"):
        raise ValueError("allocation must be 'full' or 'shared'")
    districts_sql = (
        _DISTRICTS_OF_GEOM.replace("t.geom", f"t.{ident(source.geom)}")
        if districts_column is None
        else f"t.{ident(districts_column)}"
    )
    # Money is summed as numeric (exact, whatever the order the plan adds the rows in) and
    # turned into float8 once per district.
    cost_sql = (
        "CAST(NULL AS numeric)"
        if cost_column is None
        else f"CAST(t.{ident(cost_column)} AS numeric)"
    )
    inner, params = source.select(
        prefix="dm",
        require_geom=False,
        expressions={"cost": cost_sql, "districts": districts_sql},
    )
    numbers, amounts = _validate_pools(pools)
    params.update(pool_numbers=numbers, pool_amounts=amounts)
    # Every row of a group has the same districts, so the share is one factor per group.
    share = "" if allocation == "full" else " / nullif(cardinality(g.districts), 0)"
    sql = f"""
        WITH g AS (
            -- one group per set of districts (a few hundred, whatever the number of rows):
            -- only the arrays, counts and sums, never a row or its geometry (issue 11)
            SELECT s.districts, count(*) AS n, sum(s.cost) AS cost
            FROM ({inner}) s GROUP BY s.districts
        ),
        per AS (
            SELECT d.number, CAST(sum(g.n) AS bigint) AS n,
                   CAST(coalesce(sum(g.cost{share}), 0) AS float8) AS money
            FROM g CROSS JOIN LATERAL unnest(g.districts) AS d(number) GROUP BY d.number
        ),
        pools AS (
            SELECT * FROM unnest(CAST(:pool_numbers AS int[]), CAST(:pool_amounts AS float8[]))
                AS p(number, pool)
        ),
        totals AS (
            SELECT CAST(coalesce(sum(n), 0) AS bigint) AS n,
                   CAST(coalesce(sum(cost), 0) AS float8) AS money,
                   CAST(coalesce(sum(n) FILTER (WHERE cardinality(districts) = 0), 0) AS bigint)
                       AS unlocated
            FROM g
        )
        SELECT d.number, d.name, d.population, coalesce(per.n, 0), coalesce(per.money, 0),
               pools.pool, totals.n, totals.money, totals.unlocated
        FROM districts d
        LEFT JOIN per ON per.number = d.number
        LEFT JOIN pools ON pools.number = d.number
        CROSS JOIN totals
        ORDER BY d.number"""
    rows = conn.execute(text(sql), params).all()
    out: list[DistrictDemand] = []
    for number, name, population, n, money, pool, *_ in rows:
        money = float(money)
        pop = int(population) if population is not None else None
        out.append(
            DistrictDemand(
                number=int(number),
                name=name,
                population=pop,
                count=int(n),
                money=money,
                per_1000=(n * 1000.0 / pop) if pop else None,
                money_per_resident=(money / pop) if pop else None,
                pool=float(pool) if pool is not None else None,
                asked_to_pool=(money / float(pool)) if pool else None,
            )
        )
    total_n, total_money, unlocated = (rows[0][6], rows[0][7], rows[0][8]) if rows else (0, 0, 0)
    return DemandResult(
        districts=out,
        total_count=int(total_n),
        total_money=float(total_money),
        unlocated_count=int(unlocated),
        allocation=allocation,
    )


def district_pools(conn: Connection, edition: int) -> dict[int, float]:
    """The district pools (PLN) of one budget edition, from ``budget_pools``."""
    rows = conn.execute(
        text(
            "SELECT district, budget FROM budget_pools "
            "WHERE edition = :e AND scope = 'district' AND district > 0"
        ),
        {"e": edition},
    )
    return {int(d): float(b) for d, b in rows}


def rows(result: DemandResult) -> list[dict[str, Any]]:
    """Plain dicts for tables and CSV."""
    from dataclasses import asdict

    return [asdict(d) for d in result.districts]
