"""The tally of a budget pool and Kraków's greedy rule, over the app's own ballot table.

Counted in SQL over ``ballots`` and the urn (``pb_urn``); the rule and its tie-break are
described in civic/pb/results.py, which adds the comparison with the published outcome and the
Method of Equal Shares (civic/pb/mes.py) on top of this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from civic.pb.states import DECIDED_STATES

POINTS = (3, 2, 1)  # points by ballot position (Kraków: 3 choices per pool)
# projects that were on the ballot: the ballot list and every decided state
ON_BALLOT_STATES = ("accepted_for_vote", *DECIDED_STATES)


@dataclass
class ProjectResult:
    id: int
    external_id: str
    title: str
    cost: Decimal
    votes: int  # ballots naming the project (counted here)
    score: int  # points (counted here)
    first: int  # first-place votes
    file_votes: int | None = None  # the published columns, where the source has them
    file_score: int | None = None
    published_selected: bool | None = None
    funded: bool = False  # by the rule being computed
    cumulative: Decimal = Decimal(0)  # cost of the funded projects so far, in rank order
    rank: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "id": self.id,
            "external_id": self.external_id,
            "title": self.title,
            "cost": float(self.cost),
            "votes": self.votes,
            "points": self.score,
            "first_choices": self.first,
            "funded": self.funded,
            "cumulative_cost": float(self.cumulative),
            "published_selected": self.published_selected,
        }


@dataclass
class Pool:
    edition: int
    scope: str  # "citywide" | "district"
    district: int  # 0 = city-wide
    name: str
    budget: Decimal
    ballots: int = 0
    projects: list[ProjectResult] = field(default_factory=list)
    decided: bool = True  # False: MES asked for but not computed yet

    @property
    def key(self) -> str:
        return "citywide" if self.district == 0 else f"district-{self.district}"

    @property
    def funded(self) -> list[ProjectResult]:
        return [p for p in self.projects if p.funded]

    @property
    def spent(self) -> Decimal:
        return sum((p.cost for p in self.funded), Decimal(0))

    @property
    def left(self) -> Decimal:
        return self.budget - self.spent


def pools(conn: Connection, edition: int) -> list[Pool]:
    """The edition's pools, city-wide first, then the districts by number, with names."""
    rows = conn.execute(
        text(
            """SELECT p.scope, p.district, p.budget, d.name
               FROM budget_pools p LEFT JOIN districts d ON d.number = p.district
               WHERE p.edition = :e ORDER BY p.district"""
        ),
        {"e": edition},
    ).all()
    return [Pool(edition, r.scope, r.district, r.name or "Kraków", Decimal(r.budget)) for r in rows]


def editions(conn: Connection) -> list[int]:
    """Editions that have pools (closed ones loaded from pabulib and those voted here)."""
    return [
        r[0] for r in conn.execute(text("SELECT DISTINCT edition FROM budget_pools ORDER BY 1"))
    ]


def _ballots_sql(conn: Connection, columns: str = "choices") -> str:
    """The pool's ballots: the counted table and, once voting exists here, the urn."""
    sql = f"SELECT {columns} FROM ballots WHERE edition = :e AND scope = :s AND district = :d"
    if conn.execute(text("SELECT to_regclass('pb_urn') IS NOT NULL")).scalar_one():
        sql += (
            f" UNION ALL SELECT {columns} FROM pb_urn"
            " WHERE edition = :e AND scope = :s AND district = :d"
        )
    return sql


_TALLY = """
WITH b AS ({ballots}), t AS (
    SELECT c.pid, count(*) AS votes,
           sum(coalesce((CAST(:points AS int[]))[c.pos], 0)) AS score,
           count(*) FILTER (WHERE c.pos = 1) AS first
    FROM b, unnest(b.choices) WITH ORDINALITY AS c(pid, pos)
    GROUP BY c.pid
)
SELECT p.id, coalesce(p.external_id, 'id:' || p.id) AS external_id, p.title,
       coalesce(p.final_cost, p.cost) AS cost,
       p.votes AS file_votes, p.score AS file_score, p.selected,
       coalesce(t.votes, 0) AS votes, coalesce(t.score, 0) AS score, coalesce(t.first, 0) AS first
FROM budget_proposals p
LEFT JOIN t ON t.pid = coalesce(p.external_id, 'id:' || p.id)
WHERE p.edition = :e AND p.scope = :s AND p.status = ANY(:states)
  AND (p.scope = 'citywide' OR p.pool_district = :d)
"""


def _params(pool: Pool) -> dict[str, Any]:
    return {"e": pool.edition, "s": pool.scope, "d": pool.district}


def tally(conn: Connection, pool: Pool) -> Pool:
    """Fill ``pool.projects`` (in the rule's rank order) and ``pool.ballots``."""
    params = {**_params(pool), "points": list(POINTS), "states": list(ON_BALLOT_STATES)}
    rows = conn.execute(text(_TALLY.format(ballots=_ballots_sql(conn))), params).all()
    pool.projects = [
        ProjectResult(
            id=r.id,
            external_id=r.external_id,
            title=r.title,
            cost=Decimal(r.cost if r.cost is not None else 0),
            votes=int(r.votes),
            score=int(r.score),
            first=int(r.first),
            file_votes=r.file_votes,
            file_score=r.file_score,
            published_selected=r.selected,
        )
        for r in rows
    ]
    pool.projects.sort(key=rank_key)
    for i, p in enumerate(pool.projects, 1):
        p.rank = i
    pool.ballots = int(
        conn.execute(
            text(f"SELECT count(*) FROM ({_ballots_sql(conn, '1')}) b"), _params(pool)
        ).scalar_one()
    )
    return pool


def rank_key(p: ProjectResult) -> tuple:
    """Points, then first choices, then ballots naming it (all descending), then cost, id."""
    return (-p.score, -p.first, -p.votes, p.cost, p.external_id)


def _greedy_set(budget: Decimal, ordered: list[ProjectResult]) -> set[str]:
    left, out = budget, set()
    for p in ordered:
        if p.cost <= left:
            left -= p.cost
            out.add(p.external_id)
    return out


def tie_decides(pool: Pool) -> bool:
    """True when reversing the tie-break among equal points would fund a different set."""
    reverse = sorted(
        pool.projects,
        key=lambda p: (-p.score, p.first, p.votes, -p.cost, [-ord(c) for c in p.external_id]),
    )
    return _greedy_set(pool.budget, reverse) != _greedy_set(pool.budget, pool.projects)


def greedy(pool: Pool) -> Pool:
    """Kraków's rule on a tallied pool: fund in rank order what still fits, skip the rest."""
    left = pool.budget
    spent = Decimal(0)
    for p in pool.projects:
        p.funded = p.cost <= left
        if p.funded:
            left -= p.cost
            spent += p.cost
        p.cumulative = spent
    return pool


def pool_ballots(conn: Connection, pool: Pool) -> list[list[str]]:
    """The pool's ballots as lists of external ids in ballot order (for MES)."""
    return [list(r[0]) for r in conn.execute(text(_ballots_sql(conn)), _params(pool))]
