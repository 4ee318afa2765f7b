"""Results of a budget edition, counted from the app's own ballot table.

The **tally** is computed in SQL over ``ballots`` (the 569 074 real ballots of 2018–2024 that
importers/pabulib.py loads, and every ballot cast online or on paper through civic/pb/voting.py,
including the ones still in the urn, ``pb_urn``, waiting to be shuffled in): per project the
number of ballots naming it (``votes``) and its **points** (``score``): on a Kraków ballot the
1st choice gets 3 points, the 2nd 2 and the 3rd 1 (pabulib ``vote_type;ordinal``, 3 choices).

**Kraków's rule** (the regulation's "greedy" rule, META ``rule;greedy``), per pool: order the
pool's projects by points, fund each in turn if its cost still fits in what is left of the pool,
skip one that does not fit and go on to the end of the list.

**Tie-break** (equal points): more first-place votes (3-point choices) first, then more ballots
naming the project, then the lower cost, then the external id (alphabetical) — a total order, so
the result is reproducible. In the shipped data exactly one tie decides a funding (Czyżyny 2022:
two projects with 40 points, only one fits): the city funded the one with more first-place
votes (7 against 5) although fewer ballots named it (21 against 27); "more ballots first" would
depart from the published result there, "more first choices first" reproduces it.

The **departures** of a published result from the rule are the projects whose published
``selected`` differs from what the rule funds on the same ballots; see :func:`compare`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from civic.pb import mes
from civic.pb.tally import (  # noqa: F401  (the results API)
    ON_BALLOT_STATES,
    POINTS,
    Pool,
    ProjectResult,
    _ballots_sql,
    _params,
    editions,
    greedy,
    pool_ballots,
    pools,
    rank_key,
    tally,
    tie_decides,
)

RULES = ("greedy", "mes")


def results(
    conn: Connection, edition: int, rule: str = "greedy", stored_only: bool = False
) -> list[Pool]:
    """Every pool of the edition, tallied and decided by ``rule`` ("greedy" or "mes").

    MES outcomes are kept in pb_mes_results (a city-wide pool takes minutes in pabutools);
    ``stored_only`` leaves a pool whose MES outcome is not kept undecided (nothing funded,
    ``pool.decided`` False) instead of computing it now."""
    out = [tally(conn, pool) for pool in pools(conn, edition)]
    if rule == "greedy":
        return [greedy(p) for p in out]
    if rule == "mes":
        for p in out:
            kept = mes.stored(conn, p)
            if kept is not None:
                mes.mark(p, kept)
            elif stored_only:
                p.decided = False
            else:
                mes.compute(conn, p)
        return out
    raise ValueError(f"unknown rule {rule!r} (greedy, mes)")


# --- comparison with the published result -----------------------------------------------------


@dataclass
class Comparison:
    pool: Pool
    votes_equal: bool
    score_equal: bool
    has_published: bool
    selected_equal: bool | None
    funded_not_published: list[ProjectResult]  # the rule funds it, the city did not
    published_not_funded: list[ProjectResult]  # the city funded it, the rule does not
    tied_at_line: bool  # a tie in points decides a funding (tie-break matters)

    @property
    def reproduced(self) -> bool:
        return self.votes_equal and self.score_equal and self.selected_equal is not False

    @property
    def departs(self) -> bool:
        return self.selected_equal is False

    def as_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool.key,
            "name": self.pool.name,
            "votes_equal": self.votes_equal,
            "score_equal": self.score_equal,
            "has_published": self.has_published,
            "selected_equal": self.selected_equal,
            "funded_by_rule_not_published": [p.external_id for p in self.funded_not_published],
            "published_not_funded_by_rule": [p.external_id for p in self.published_not_funded],
            "tied_at_line": self.tied_at_line,
        }


def compare(pool: Pool) -> Comparison:
    """A pool decided by :func:`greedy` against its source's ``votes``/``score``/``selected``."""
    ps = pool.projects
    has_published = any(p.published_selected is not None for p in ps)
    votes_equal = all(p.file_votes is None or p.file_votes == p.votes for p in ps)
    score_equal = all(p.file_score is None or p.file_score == p.score for p in ps)
    a = [p for p in ps if p.funded and has_published and not p.published_selected]
    b = [p for p in ps if not p.funded and p.published_selected]
    tied = tie_decides(pool)
    return Comparison(
        pool,
        votes_equal,
        score_equal,
        has_published,
        (not a and not b) if has_published else None,
        a,
        b,
        tied,
    )


def departures(conn: Connection, edition: int) -> list[Comparison]:
    """Every pool of the edition compared with its published result."""
    return [compare(p) for p in results(conn, edition, "greedy")]


def share_with_funded(ballots: list[list[str]], funded: set[str]) -> float:
    """Share of the ballots with at least one funded project."""
    if not ballots:
        return 0.0
    return sum(1 for b in ballots if funded.intersection(b)) / len(ballots)


def share_funded(conn: Connection, pool: Pool, funded: set[str]) -> float | None:
    """Share of the pool's ballots naming at least one funded project (in SQL)."""
    row = conn.execute(
        text(
            f"SELECT count(*) AS n, count(*) FILTER (WHERE choices && CAST(:f AS text[])) AS hit "
            f"FROM ({_ballots_sql(conn)}) b"
        ),
        {**_params(pool), "f": sorted(funded)},
    ).one()
    return (row.hit / row.n) if row.n else None


def report(conn: Connection, edition: int) -> list[dict[str, Any]]:
    """Per pool: the city's rule, the comparison with the published result, MES beside it
    (when kept, see civic/pb/mes.py) and the share of voters with a funded project under each."""
    out = []
    for pool in results(conn, edition, "greedy"):
        greedy_set = {p.external_id for p in pool.funded}
        mes_set = mes.stored(conn, pool)
        out.append(
            {
                "pool": pool,
                "comparison": compare(pool),
                "greedy": greedy_set,
                "mes": mes_set,
                "only_greedy": [
                    p for p in pool.funded if mes_set is not None and p.external_id not in mes_set
                ],
                "only_mes": [
                    p
                    for p in pool.projects
                    if mes_set and p.external_id in mes_set and not p.funded
                ],
                "share_greedy": share_funded(conn, pool, greedy_set),
                "share_mes": None if mes_set is None else share_funded(conn, pool, mes_set),
            }
        )
    return out


def export_rows(conn: Connection, edition: int) -> list[dict[str, Any]]:
    """One row per project of every pool (CSV / GPKG exports, the OGC collection)."""
    rows = []
    for r in report(conn, edition):
        pool = r["pool"]
        for p in pool.projects:
            rows.append(
                {
                    "edition": edition,
                    "pool": pool.key,
                    "pool_name": pool.name,
                    "proposal_id": p.id,
                    **p.as_dict(),
                    "funded_greedy": p.external_id in r["greedy"],
                    "funded_mes": None if r["mes"] is None else p.external_id in r["mes"],
                }
            )
    return rows


def export_gpkg(conn: Connection, edition: int) -> bytes:
    """The edition's results as a GeoPackage in EPSG:2178 (MSIP's CRS; PL-2000 zone 7). A
    project without a location (all pabulib projects) has an empty geometry."""
    import tempfile
    from pathlib import Path

    import geopandas as gpd
    from shapely import wkb

    rows = export_rows(conn, edition)
    geoms = dict(
        conn.execute(
            text(
                "SELECT id, ST_AsBinary(ST_Transform(geom, 2178)) FROM budget_proposals "
                "WHERE id = ANY(:ids) AND geom IS NOT NULL"
            ),
            {"ids": [r["proposal_id"] for r in rows]},
        ).all()
    )
    frame = gpd.GeoDataFrame(
        rows,
        geometry=[
            wkb.loads(bytes(geoms[r["proposal_id"]])) if r["proposal_id"] in geoms else None
            for r in rows
        ],
        crs="EPSG:2178",
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"results_{edition}.gpkg"
        frame.to_file(path, driver="GPKG", layer=f"results_{edition}")
        return path.read_bytes()


def store(conn: Connection, edition: int, report_rows: list[dict[str, Any]] | None = None) -> int:
    """Keep the edition's computed results in ``pb_result_rows`` (read by the ``pb-results``
    layer: its OGC API collection, exports and map). Replaces the edition's rows; returns how
    many were written. A district project without a location gets a point inside its district
    (``located`` false) so that the map can show the winners per district."""
    rows = report_rows if report_rows is not None else report(conn, edition)
    values = []
    for r in rows:
        pool = r["pool"]
        for p in pool.projects:
            values.append(
                {
                    "id": p.id,
                    "e": edition,
                    "s": pool.scope,
                    "d": pool.district,
                    "n": pool.name,
                    "b": pool.ballots,
                    "rank": p.rank,
                    "pts": p.score,
                    "v": p.votes,
                    "f": p.first,
                    "c": p.cost,
                    "cum": p.cumulative,
                    "fund": p.funded,
                    "mes": None if r["mes"] is None else p.external_id in r["mes"],
                    "pub": p.published_selected,
                }
            )
    # one writer per edition at a time; nothing to write when the kept rows are the same
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('pb_result_rows'), :e)"), {"e": edition}
    )
    kept = conn.execute(
        text(
            "SELECT proposal_id, rank, points, votes, cost, funded, funded_mes "
            "FROM pb_result_rows WHERE edition = :e ORDER BY proposal_id"
        ),
        {"e": edition},
    ).all()
    now = sorted(
        (x["id"], x["rank"], x["pts"], x["v"], x["c"], x["fund"], x["mes"]) for x in values
    )
    if [tuple(r) for r in kept] == now:
        return 0
    conn.execute(text("DELETE FROM pb_result_rows WHERE edition = :e"), {"e": edition})
    if values:
        conn.execute(
            text(
                """WITH v AS (
                       SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(
                           id bigint, e int, s text, d int, n text, b int, rank int, pts int,
                           v int, f int, c numeric, cum numeric, fund boolean, mes boolean,
                           pub boolean)),
                   pt AS (SELECT number, ST_PointOnSurface(geom) AS geom FROM districts)
                   INSERT INTO pb_result_rows (proposal_id, edition, scope, pool_district,
                       pool_name, pool_ballots, rank, points, votes, first_choices, cost,
                       cumulative_cost, funded, funded_mes, published_selected, located, geom,
                       districts)
                   SELECT v.id, v.e, v.s, v.d, v.n, v.b, v.rank, v.pts, v.v, v.f, v.c, v.cum,
                          v.fund, v.mes, v.pub, p.geom IS NOT NULL,
                          coalesce(p.geom, pt.geom),
                          CASE WHEN v.d > 0 THEN ARRAY[CAST(v.d AS smallint)]
                               ELSE coalesce(p.districts, '{}') END
                   FROM v JOIN budget_proposals p ON p.id = v.id
                   LEFT JOIN pt ON pt.number = v.d AND v.d > 0"""
            ),
            {"rows": json.dumps(values, default=float)},
        )
    return len(values)
