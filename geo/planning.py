"""The planners' views over the analyses in :mod:`geo.analysis`, framework-free.

app/planners.py only parses requests and renders; everything that touches the database is
here: which features count as public (:class:`Public`), demand per district with its
supports and pools, the history of past budget editions and the turnout by voter district,
the hot-spot / coverage / duplicate / revitalisation results as plain JSON-ready *payloads*
(cached by :class:`JobStore`, which also runs the slow ones in the background), the
district choropleth built as GeoJSON in SQL, class breaks, and the GeoPackage/CSV writers.

Nothing here selects an author: the payloads hold counts, titles of public proposals,
published comments' text and public names of venues and NGOs only.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from geo.analysis.coverage import coverage
from geo.analysis.demand import demand_by_district, district_pools
from geo.analysis.duplicates import duplicates
from geo.analysis.hotspots import COLD, HOT, hotspots, p_cutoff
from geo.analysis.revitalisation import revitalisation_overlap
from geo.analysis.source import Source
from geo.schema import ident

log = logging.getLogger(__name__)

WINNING_STATES = ("selected", "in_execution", "completed")
DECIDED_STATES = ("selected", "not_selected", "in_execution", "completed")
CONFIDENCE_LEVELS = (0.01, 0.05, 0.10)  # hot/cold spots at 99 / 95 / 90 % confidence
DISTANCE_BREAKS = (250.0, 500.0, 1000.0, 2000.0)  # metres, coverage classes
POOL_BREAKS = (1.0, 2.0, 3.0, 4.0)  # money asked / pool
SIMPLIFY = 0.00005  # degrees (~5 m): district outlines for maps and exports


# --- what the public sees ---------------------------------------------------------------------


@dataclass(frozen=True)
class Public:
    """The workflow states the public sees (from the layers' workflows: the caller knows)."""

    proposal_states: tuple[str, ...]
    comment_states: tuple[str, ...]


def proposals_source(pub: Public, edition: int | None = None) -> Source:
    filters: dict[str, Any] = {"status": list(pub.proposal_states)}
    if edition is not None:
        filters["edition"] = int(edition)
    return Source("budget_proposals", filters=filters, where="t.hidden_at IS NULL")


def comments_source(pub: Public) -> Source:
    return Source(
        "consultation_comments",
        filters={"status": list(pub.comment_states)},
        where="t.hidden_at IS NULL",
    )


def _proposal_supports_source(pub: Public, edition: int | None) -> Source:
    """One row per support (lista poparcia) of a public proposal, located like it."""
    filters: dict[str, Any] = {"status": list(pub.proposal_states)}
    if edition is not None:
        filters["edition"] = int(edition)
    return Source(
        query="SELECT p.id, p.geom, p.districts, p.status, p.edition, p.hidden_at "
        "FROM proposal_supports s JOIN budget_proposals p ON p.id = s.proposal_id",
        filters=filters,
        where="t.hidden_at IS NULL",
    )


def _comment_supports_source(pub: Public) -> Source:
    return Source(
        query="SELECT c.id, c.geom, c.districts, c.status, c.hidden_at "
        "FROM comment_supports s JOIN consultation_comments c ON c.id = s.comment_id",
        filters={"status": list(pub.comment_states)},
        where="t.hidden_at IS NULL",
    )


def venues_source(venue_type: str | None = None) -> Source:
    return Source("civic_venues", filters={"type": venue_type} if venue_type else {})


def ngos_source(field: str | None = None) -> Source:
    return Source("ngo_locations", contains={"fields": field} if field else {})


def editions(conn: Connection, pub: Public) -> list[int]:
    """The budget editions with public proposals, newest first."""
    rows = conn.execute(
        text(
            "SELECT DISTINCT edition FROM budget_proposals "
            "WHERE hidden_at IS NULL AND status = ANY(:s) ORDER BY edition DESC"
        ),
        {"s": list(pub.proposal_states)},
    )
    return [int(r[0]) for r in rows]


def located_counts(conn: Connection, pub: Public) -> dict[str, int]:
    """How many public proposals have a geometry and how many do not; located comments."""
    row = conn.execute(
        text(
            """SELECT count(*) FILTER (WHERE geom IS NOT NULL),
                      count(*) FILTER (WHERE geom IS NULL),
                      (SELECT count(*) FROM consultation_comments c
                       WHERE c.hidden_at IS NULL AND c.status = ANY(:cs) AND c.geom IS NOT NULL)
               FROM budget_proposals WHERE hidden_at IS NULL AND status = ANY(:ps)"""
        ),
        {"ps": list(pub.proposal_states), "cs": list(pub.comment_states)},
    ).one()
    return {"proposals": int(row[0]), "unlocated": int(row[1]), "comments": int(row[2])}


def table_count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {ident(table)}")).scalar_one())


def population_date(conn: Connection) -> Any:
    return conn.execute(text("SELECT max(population_date) FROM districts")).scalar_one()


# --- class breaks -----------------------------------------------------------------------------


def _nice(value: float) -> float:
    """Two significant digits (class limits people can read)."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.2g}")


def quantile_breaks(values: Iterable[float | None], classes: int = 5) -> list[float]:
    """Up to ``classes - 1`` rounded quantile limits of the finite values (none: one class)."""
    vals = sorted(float(v) for v in values if v is not None and math.isfinite(float(v)))
    if len(vals) < 2 or vals[0] == vals[-1]:
        return []
    out: set[float] = set()
    for k in range(1, classes):
        q = vals[round(k / classes * (len(vals) - 1))]
        b = _nice(q)
        if vals[0] < b <= vals[-1]:
            out.add(b)
    return sorted(out)


def classify(value: float | None, breaks: Sequence[float]) -> int | None:
    """Class index: 0 below the first limit, i for breaks[i-1] <= value < breaks[i]."""
    if value is None or not math.isfinite(float(value)):
        return None
    return bisect.bisect_right(list(breaks), float(value))


# --- GeoJSON ----------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def feature_collection(features: Iterable[tuple[Any, str | None, Mapping[str, Any]]]) -> str:
    """A FeatureCollection from (id, geometry as GeoJSON text made by PostGIS, properties)."""
    parts = []
    for fid, geometry, props in features:
        clean = {k: _clean(v) for k, v in props.items()}
        fid_json = json.dumps(fid)
        props_json = json.dumps(clean, ensure_ascii=False, allow_nan=False)
        parts.append(
            f'{{"type":"Feature","id":{fid_json},"geometry":{geometry or "null"},'
            f'"properties":{props_json}}}'
        )
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def district_choropleth(conn: Connection, properties: Mapping[int, Mapping[str, Any]]) -> str:
    """The districts as a FeatureCollection, built in SQL, each with ``properties[number]``
    (plus ``number`` and ``name``), outlines simplified to ~5 m."""
    props = {str(n): {k: _clean(v) for k, v in p.items()} for n, p in properties.items()}
    return conn.execute(
        text(
            """SELECT json_build_object('type', 'FeatureCollection', 'features',
                   coalesce(json_agg(json_build_object(
                       'type', 'Feature', 'id', d.number,
                       'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(d.geom, :tol), 6)::json,
                       'properties', coalesce(CAST(:props AS jsonb) -> CAST(d.number AS text),
                                              '{}'::jsonb)
                                     || jsonb_build_object('number', d.number, 'name', d.name)
                   ) ORDER BY d.number), '[]'))::text
               FROM districts d"""
        ),
        {"tol": SIMPLIFY, "props": json.dumps(props, ensure_ascii=False)},
    ).scalar_one()


def district_outlines(conn: Connection) -> dict[int, str]:
    """number -> simplified outline as GeoJSON text (for exports)."""
    rows = conn.execute(
        text(
            "SELECT number, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 6) "
            "FROM districts ORDER BY number"
        ),
        {"tol": SIMPLIFY},
    )
    return {int(n): g for n, g in rows}


# --- demand per district ----------------------------------------------------------------------

DEMAND_METRICS = (
    "proposals_per_1000",
    "proposals",
    "money",
    "money_per_resident",
    "asked_to_pool",
    "comments",
    "comments_per_1000",
    "supports",
    "supports_per_1000",
)


def _per_1000(n: int, population: int | None) -> float | None:
    return n * 1000.0 / population if population else None


def demand_view(conn: Connection, pub: Public, edition: int | None) -> dict[str, Any]:
    """Per district: proposals, money asked (vs the edition's pool), comments and supports,
    absolute and per 1 000 registered residents.

    Supports are the support-list signatures of the proposals plus the supports of comments.
    Comments belong to consultations, not to budget editions: they are always all of them.
    A proposal in several districts counts (with its whole cost) in each.
    """
    pools = district_pools(conn, edition) if edition is not None else None
    prop = demand_by_district(conn, proposals_source(pub, edition), pools)
    com = demand_by_district(conn, comments_source(pub), cost_column=None)
    sup_p = demand_by_district(conn, _proposal_supports_source(pub, edition), cost_column=None)
    sup_c = demand_by_district(conn, _comment_supports_source(pub), cost_column=None)
    rows = []
    for d, c, s1, s2 in zip(
        prop.districts, com.districts, sup_p.districts, sup_c.districts, strict=True
    ):
        supports = s1.count + s2.count
        rows.append(
            {
                "number": d.number,
                "name": d.name,
                "population": d.population,
                "proposals": d.count,
                "proposals_per_1000": d.per_1000,
                "money": d.money,
                "money_per_resident": d.money_per_resident,
                "pool": d.pool,
                "asked_to_pool": d.asked_to_pool,
                "comments": c.count,
                "comments_per_1000": c.per_1000,
                "supports": supports,
                "supports_per_1000": _per_1000(supports, d.population),
            }
        )
    citywide_pool = None
    if edition is not None:
        citywide_pool = conn.execute(
            text(
                "SELECT budget FROM budget_pools WHERE edition = :e AND scope = 'citywide' "
                "AND district = 0"
            ),
            {"e": edition},
        ).scalar_one_or_none()
    return {
        "edition": edition,
        "rows": rows,
        "total_proposals": prop.total_count,
        "total_money": prop.total_money,
        "unlocated": prop.unlocated_count,
        "comments": com.total_count,
        "citywide_pool": float(citywide_pool) if citywide_pool is not None else None,
        "has_pools": bool(pools),
    }


def metric_breaks(metric: str, values: Iterable[float | None]) -> list[float]:
    if metric == "asked_to_pool":
        return list(POOL_BREAKS)
    return quantile_breaks(values)


# --- history of past editions and turnout -----------------------------------------------------


def history_view(conn: Connection, pub: Public) -> dict[str, Any]:
    """Every edition's proposals and winners per district; ``0`` = not located (city-wide).

    A proposal counts in each district it lies in. ``decided`` says whether the source
    records the result of that edition (the 2018 Kraków file does not: no winners known).
    """
    rows = conn.execute(
        text(
            """WITH p AS (
                   SELECT p.edition, p.districts, coalesce(p.cost, 0) AS cost,
                          (p.selected IS TRUE OR p.status = ANY(:win)) AS won,
                          (p.selected IS NOT NULL OR p.status = ANY(:decided)) AS decided
                   FROM budget_proposals p
                   WHERE p.hidden_at IS NULL AND p.status = ANY(:states)
               )
               SELECT p.edition, d.number, count(*), count(*) FILTER (WHERE won),
                      bool_or(decided), sum(cost), coalesce(sum(cost) FILTER (WHERE won), 0)
               FROM p CROSS JOIN LATERAL unnest(p.districts) AS d(number)
               GROUP BY 1, 2
               UNION ALL
               SELECT p.edition, 0, count(*), count(*) FILTER (WHERE won),
                      bool_or(decided), sum(cost), coalesce(sum(cost) FILTER (WHERE won), 0)
               FROM p WHERE cardinality(p.districts) = 0
               GROUP BY 1
               ORDER BY 1, 2"""
        ),
        {
            "win": list(WINNING_STATES),
            "decided": list(DECIDED_STATES),
            "states": list(pub.proposal_states),
        },
    ).all()
    districts = [
        {"number": int(n), "name": name, "population": pop}
        for n, name, pop in conn.execute(
            text("SELECT number, name, population FROM districts ORDER BY number")
        )
    ]
    cells: dict[int, dict[int, dict[str, Any]]] = {}
    decided: dict[int, bool] = {}
    for edition, number, n, won, dec, money, money_won in rows:
        cells.setdefault(int(edition), {})[int(number)] = {
            "proposals": int(n),
            "winners": int(won),
            "money": float(money),
            "money_won": float(money_won),
        }
        decided[int(edition)] = decided.get(int(edition), False) or bool(dec)
    eds = sorted(cells)
    return {"editions": eds, "districts": districts, "cells": cells, "decided": decided}


def winners(conn: Connection, pub: Public, edition: int) -> list[dict[str, Any]]:
    """The proposals of an edition selected for delivery: per district (0 = not located,
    i.e. city-wide), most votes first."""
    rows = conn.execute(
        text(
            """SELECT coalesce(d.number, 0) AS district, p.id, p.title, p.cost, p.votes, p.scope
               FROM budget_proposals p
               LEFT JOIN LATERAL unnest(p.districts) AS d(number) ON true
               WHERE p.edition = :e AND p.hidden_at IS NULL AND p.status = ANY(:states)
                 AND (p.selected IS TRUE OR p.status = ANY(:win))
               ORDER BY 1, p.votes DESC NULLS LAST, p.title"""
        ),
        {"e": edition, "states": list(pub.proposal_states), "win": list(WINNING_STATES)},
    )
    return [
        {
            "district": int(r.district),
            "id": int(r.id),
            "title": r.title,
            "cost": float(r.cost) if r.cost is not None else None,
            "votes": r.votes,
            "scope": r.scope,
        }
        for r in rows
    ]


def ballot_editions(conn: Connection) -> list[int]:
    """Editions whose city-wide ballots record the voter's district."""
    rows = conn.execute(
        text(
            """SELECT p.edition FROM budget_pools p
               WHERE p.scope = 'citywide' AND p.district = 0 AND EXISTS (
                   SELECT 1 FROM ballots b WHERE b.edition = p.edition AND b.scope = 'citywide'
                     AND b.district = 0 AND b.voter_district IS NOT NULL)
               ORDER BY p.edition"""
        )
    )
    return [int(r[0]) for r in rows]


def voter_district_counts(conn: Connection, edition: int) -> dict[int | None, int]:
    """City-wide ballots of an edition per voter district (None: not given / not matched)."""
    rows = conn.execute(
        text(
            "SELECT voter_district, count(*) FROM ballots "
            "WHERE edition = :e AND scope = 'citywide' AND district = 0 GROUP BY 1"
        ),
        {"e": edition},
    )
    return {(None if d is None else int(d)): int(n) for d, n in rows}


def turnout_view(conn: Connection, edition: int) -> dict[str, Any]:
    """Ballots in the city-wide vote by the voter's district, and per 1 000 residents."""
    counts = voter_district_counts(conn, edition)
    rows = []
    for number, name, pop in conn.execute(
        text("SELECT number, name, population FROM districts ORDER BY number")
    ):
        n = counts.get(int(number), 0)
        rows.append(
            {
                "number": int(number),
                "name": name,
                "population": pop,
                "ballots": n,
                "per_1000": _per_1000(n, pop),
            }
        )
    return {
        "edition": edition,
        "rows": rows,
        "unknown": counts.get(None, 0),
        "total": sum(counts.values()),
        "recorded": any(k is not None for k in counts),
    }


# --- hot spots --------------------------------------------------------------------------------


def confidence_levels(alpha: float) -> list[float]:
    """The significance levels shown as classes: 0.01 / 0.05 / 0.10 up to ``alpha``."""
    return sorted({lv for lv in CONFIDENCE_LEVELS if lv <= alpha + 1e-12} | {float(alpha)})


def confidence_label(level: float) -> str:
    return format(round((1 - level) * 100, 1), "g")


def _cell_districts(conn: Connection, geojsons: Sequence[str]) -> list[str | None]:
    if not geojsons:
        return []
    rows = conn.execute(
        text(
            """SELECT g.i, (SELECT d.name FROM districts d
                            WHERE ST_Intersects(d.geom, ST_PointOnSurface(ST_GeomFromGeoJSON(g.j)))
                            ORDER BY d.number LIMIT 1)
               FROM unnest(CAST(:g AS text[])) WITH ORDINALITY AS g(j, i)"""
        ),
        {"g": list(geojsons)},
    )
    found = dict(rows.all())
    return [found.get(i + 1) for i in range(len(geojsons))]


def hotspot_payload(
    conn: Connection,
    sources: Sequence[Source],
    *,
    size: float,
    alpha: float,
    correction: str,
    inference: str,
    seed: int = 0,
) -> dict[str, Any]:
    """Gi* hot and cold spots with confidence classes (99 / 95 / 90 % as far as ``alpha``).

    A cell's class is the strictest level whose cut-off (with the same multiple-testing
    correction) its p-value passes: ``hot_99``, ``hot_95``, ``hot_90``, ``not_significant``,
    ``cold_90`` … and ``not_tested`` for slivers at the city edge.
    """
    res = hotspots(
        conn,
        list(sources),
        size,
        alpha=alpha,
        correction=correction,
        inference=inference,
        seed=seed,
    )
    tested = [c.p for c in res.cells if c.p is not None]
    levels = confidence_levels(alpha)
    cuts = {lv: (p_cutoff(tested, lv, correction) if tested else 0.0) for lv in levels}
    significant = [c for c in res.cells if c.cls in (HOT, COLD)]
    names = dict(
        zip(
            [c.id for c in significant],
            _cell_districts(conn, [c.geojson for c in significant]),
            strict=True,
        )
    )
    cells = []
    counts: dict[str, int] = {}
    for c in res.cells:
        key = c.cls
        conf = None
        if c.cls in (HOT, COLD) and c.p is not None:
            level = next((lv for lv in levels if cuts[lv] > 0 and c.p <= cuts[lv]), levels[-1])
            conf = confidence_label(level)
            key = f"{c.cls}_{conf}"
        counts[key] = counts.get(key, 0) + 1
        cells.append(
            {
                "id": c.id,
                "geojson": c.geojson,
                "count": c.count,
                "value": None if c.value is None else round(c.value, 4),
                "z": None if c.z is None or not math.isfinite(c.z) else round(c.z, 3),
                "p": c.p,
                "cls": c.cls,
                "confidence": conf,
                "key": key,
                "share": round(c.share, 4),
                "district": names.get(c.id),
            }
        )
    return {
        "summary": {
            "size": res.size,
            "alpha": res.alpha,
            "correction": res.correction,
            "inference": res.inference,
            "p_cutoff": res.p_cutoff,
            "levels": [confidence_label(lv) for lv in levels],
            "n_points": res.n_points,
            "n_tested": res.n_tested,
            "n_tested_points": res.n_tested_points,
            "n_cells": len(res.cells),
            "rings": res.rings,
            "min_share": res.min_share,
            "notes": list(res.notes),
            "counts": counts,
        },
        "cells": cells,
    }


# --- coverage ---------------------------------------------------------------------------------


def coverage_payload(
    conn: Connection, target: Source, *, size: float, threshold_m: float
) -> dict[str, Any]:
    """Distance from every grid cell to the nearest target, population-weighted, with the
    nearest target's public name and the under-served cells flagged."""
    res = coverage(conn, target, size, threshold_m=threshold_m)
    ids = sorted({c.nearest_id for c in res.cells if c.nearest_id is not None})
    names: dict[int, str] = {}
    if ids and target.table:
        names = {
            int(i): n
            for i, n in conn.execute(
                text(f"SELECT id, name FROM {ident(target.table)} WHERE id = ANY(:ids)"),
                {"ids": ids},
            )
        }
    cells = [
        {
            "id": c.id,
            "geojson": c.geojson,
            "population": round(c.population, 1),
            "distance_m": None if c.distance_m is None else round(c.distance_m, 1),
            "nearest_id": c.nearest_id,
            "nearest_name": names.get(c.nearest_id) if c.nearest_id is not None else None,
            "underserved": c.underserved,
            "cls": classify(c.distance_m, DISTANCE_BREAKS),
        }
        for c in res.cells
    ]
    return {
        "summary": {
            "size": res.size,
            "threshold_m": res.threshold_m,
            "targets": res.targets,
            "population": res.population,
            "mean_distance_m": res.mean_distance_m,
            "underserved_population": res.underserved_population,
            "underserved_share": res.underserved_share,
            "underserved_cells": sum(1 for c in res.cells if c.underserved),
        },
        "districts": [asdict(d) for d in res.districts],
        "cells": cells,
    }


# --- duplicates -------------------------------------------------------------------------------


def duplicates_payload(
    conn: Connection,
    source: Source,
    *,
    distance_m: float,
    threshold: float,
    same_edition: bool,
    limit: int,
) -> dict[str, Any]:
    """Pairs of nearby proposals with similar titles, with a line joining them for the map."""
    pairs = duplicates(
        conn,
        source,
        distance_m,
        threshold,
        same=("edition",) if same_edition else (),
        limit=limit + 1,
    )
    more = len(pairs) > limit
    pairs = pairs[:limit]
    details: dict[tuple[int, int], Any] = {}
    if pairs:
        rows = conn.execute(
            text(
                """SELECT x.a, x.b, a.edition, b.edition, a.status, b.status,
                          a.districts, b.districts,
                          ST_AsGeoJSON(ST_MakeLine(ST_PointOnSurface(a.geom),
                                                   ST_PointOnSurface(b.geom)), 6)
                   FROM unnest(CAST(:a AS bigint[]), CAST(:b AS bigint[])) AS x(a, b)
                   JOIN budget_proposals a ON a.id = x.a
                   JOIN budget_proposals b ON b.id = x.b"""
            ),
            {"a": [p.a_id for p in pairs], "b": [p.b_id for p in pairs]},
        )
        details = {(int(r[0]), int(r[1])): r for r in rows}
    out = []
    for n, p in enumerate(pairs, start=1):
        r = details.get((p.a_id, p.b_id))
        out.append(
            {
                "id": n,
                "a_id": p.a_id,
                "b_id": p.b_id,
                "a_title": p.a_title,
                "b_title": p.b_title,
                "similarity": round(p.similarity, 4),
                "distance_m": round(p.distance_m, 1),
                "a_edition": r[2] if r else None,
                "b_edition": r[3] if r else None,
                "a_status": r[4] if r else None,
                "b_status": r[5] if r else None,
                "districts": sorted(set(r[6] or []) | set(r[7] or [])) if r else [],
                "geojson": r[8] if r else None,
            }
        )
    return {
        "summary": {
            "distance_m": float(distance_m),
            "threshold": float(threshold),
            "same_edition": bool(same_edition),
            "limit": int(limit),
            "pairs": len(out),
            "more": more,
        },
        "pairs": out,
    }


# --- revitalisation areas ---------------------------------------------------------------------


def revitalisation_payload(conn: Connection, pub: Public, *, distance_m: float) -> dict[str, Any]:
    """Public proposals and comments inside or near each revitalisation area, money asked."""
    areas = [
        {
            "id": int(r[0]),
            "name": r[1],
            "code": r[2],
            "programme": r[3],
            "period": r[4],
            "geojson": r[5],
        }
        for r in conn.execute(
            text(
                "SELECT id, name, code, programme, period, "
                "ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 6) "
                "FROM revitalisation_areas ORDER BY id"
            ),
            {"tol": SIMPLIFY},
        )
    ]
    empty = {
        "summary": {"distance_m": float(distance_m), "areas": 0},
        "areas": [],
        "hits": [],
    }
    if not areas:
        return empty
    rp = revitalisation_overlap(conn, proposals_source(pub), distance_m=distance_m)
    rc = revitalisation_overlap(conn, comments_source(pub), distance_m=distance_m, cost_column=None)
    p_ids = sorted({h.feature_id for h in rp.hits})
    c_ids = sorted({h.feature_id for h in rc.hits})
    p_info = {
        int(r[0]): r
        for r in conn.execute(
            text(
                "SELECT id, title, edition, status, ST_AsGeoJSON(geom, 6) "
                "FROM budget_proposals WHERE id = ANY(:ids)"
            ),
            {"ids": p_ids},
        )
    }
    c_info = {
        int(r[0]): r
        for r in conn.execute(
            text(
                "SELECT id, left(body, 300), NULL, status, ST_AsGeoJSON(geom, 6) "
                "FROM consultation_comments WHERE id = ANY(:ids)"
            ),
            {"ids": c_ids},
        )
    }
    names = {a["id"]: a["name"] for a in areas}
    hits = []
    for kind, res, info in (("proposal", rp, p_info), ("comment", rc, c_info)):
        for h in res.hits:
            r = info.get(h.feature_id)
            hits.append(
                {
                    "kind": kind,
                    "feature_id": h.feature_id,
                    "title": r[1] if r else None,
                    "edition": r[2] if r else None,
                    "area_id": h.area_id,
                    "area": names.get(h.area_id),
                    "inside": h.inside,
                    "distance_m": round(h.distance_m, 1),
                    "cost": h.cost,
                    "geojson": r[4] if r else None,
                }
            )
    per_area = {a.area_id: a for a in rp.areas}
    per_area_c = {a.area_id: a for a in rc.areas}
    for a in areas:
        p, c = per_area.get(a["id"]), per_area_c.get(a["id"])
        a.update(
            proposals_inside=p.inside_count if p else 0,
            proposals_near=p.near_count if p else 0,
            money_inside=p.inside_money if p else 0.0,
            money_near=p.near_money if p else 0.0,
            comments_inside=c.inside_count if c else 0,
            comments_near=c.near_count if c else 0,
        )
    return {
        "summary": {
            "distance_m": float(distance_m),
            "areas": len(areas),
            "proposals_inside": rp.inside_count,
            "proposals_near": rp.near_count,
            "money_inside": rp.inside_money,
            "money_near": rp.near_money,
            "comments_inside": rc.inside_count,
            "comments_near": rc.near_count,
        },
        "areas": areas,
        "hits": hits,
    }


# --- cache keys -------------------------------------------------------------------------------

STAMP_TABLES = (
    "budget_proposals",
    "consultation_comments",
    "proposal_supports",
    "comment_supports",
    "civic_venues",
    "ngo_locations",
    "revitalisation_areas",
)


def data_stamp(conn: Connection, tables: Sequence[str]) -> str:
    """Changes whenever a row of these tables (or a district's population) changes."""
    parts: list[Any] = [
        conn.execute(
            text("SELECT current_database() || ':' || coalesce(inet_server_port()::text, '')")
        ).scalar_one()
    ]
    for t in tables:
        cols = (
            "count(*), max(id), max(updated_at)"
            if t not in ("proposal_supports", "comment_supports")
            else "count(*), max(created_at), 0"
        )
        parts.append(list(conn.execute(text(f"SELECT {cols} FROM {ident(t)}")).one()))
    parts.append(list(conn.execute(text("SELECT count(*), sum(population) FROM districts")).one()))
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:20]


def statement_timeout(conn: Connection, seconds: float) -> None:
    """Cancel any statement of the current transaction that runs longer than ``seconds``."""
    conn.execute(
        text("SELECT set_config('statement_timeout', :t, true)"),
        {"t": str(max(1, int(seconds * 1000)))},
    )


def job_key(analysis: str, params: Mapping[str, Any], stamp: str) -> str:
    raw = json.dumps([analysis, dict(params), stamp], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


# --- background jobs --------------------------------------------------------------------------


@dataclass(frozen=True)
class JobStatus:
    key: str
    state: str  # "missing" | "queued" | "running" | "done" | "failed"
    analysis: str = ""
    submitted: float | None = None
    started: float | None = None
    finished: float | None = None
    expected_s: float | None = None
    error: str | None = None

    @property
    def ready(self) -> bool:
        return self.state == "done"

    def elapsed(self, now: float | None = None) -> float:
        if self.submitted is None:
            return 0.0
        end = self.finished if self.finished is not None else (now or time.time())
        return max(0.0, end - self.submitted)

    def progress(self, now: float | None = None) -> float:
        """0..1: done is 1; a running job's share of the last run's duration (at most 0.95)."""
        if self.state == "done":
            return 1.0
        if self.state not in ("queued", "running") or not self.expected_s:
            return 0.0
        return min(0.95, self.elapsed(now) / self.expected_s)

    def as_dict(self) -> dict[str, Any]:
        now = time.time()
        return {
            "key": self.key,
            "state": self.state,
            "analysis": self.analysis,
            "elapsed_s": round(self.elapsed(now), 2),
            "expected_s": None if self.expected_s is None else round(self.expected_s, 2),
            "progress": round(self.progress(now), 3),
            "error": self.error,
        }


class JobStore:
    """Runs analyses in background threads and keeps their results as JSON files.

    Files live in ``directory`` (shared by every worker process of the server on this
    machine): ``<key>.json`` is the result, ``<key>.status`` the state, ``<key>.lock`` the
    claim of the process computing it (its pid; a dead pid's claim is void). A result stays
    valid for ``keep_s`` seconds; the key holds a stamp of the data, so a change of the data
    gives a new key. At most ``workers`` analyses at a time per process: the machine is small.
    Progress is the elapsed share of the previous run of the same analysis.
    """

    _lock = threading.Lock()
    _executors: dict[tuple[int, int], ThreadPoolExecutor] = {}  # (pid, workers) -> pool
    _memo: dict[str, dict[str, Any]] = {}

    def __init__(
        self,
        directory: str | Path,
        *,
        workers: int = 1,
        keep_s: float = 3600.0,
        retry_failed_s: float = 10.0,
    ):
        self.dir = Path(directory)
        self.workers = workers
        self.keep_s = keep_s
        self.retry_failed_s = retry_failed_s

    # files
    def _path(self, key: str, suffix: str) -> Path:
        if not key.isalnum():
            raise ValueError("bad job key")
        return self.dir / f"{key}{suffix}"

    def _write(self, path: Path, data: str) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(data, encoding="utf-8")
        os.replace(tmp, path)

    def _read_json(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _durations(self) -> dict[str, float]:
        return self._read_json(self.dir / "durations.json") or {}

    # state
    def status(self, key: str) -> JobStatus:
        result = self._path(key, ".json")
        st = self._read_json(self._path(key, ".status")) or {}
        base = {
            "analysis": st.get("analysis", ""),
            "submitted": st.get("submitted"),
            "started": st.get("started"),
            "finished": st.get("finished"),
            "expected_s": st.get("expected_s"),
            "error": st.get("error"),
        }
        with contextlib.suppress(OSError):
            if time.time() - result.stat().st_mtime <= self.keep_s:
                return JobStatus(key, "done", **base)
        lock = self._path(key, ".lock")
        if lock.exists():
            if self._claim_alive(lock):
                return JobStatus(key, st.get("state", "queued"), **base)
            with contextlib.suppress(OSError):
                lock.unlink()
        if st.get("state") == "failed":
            return JobStatus(key, "failed", **base)
        return JobStatus(key, "missing", **base)

    def _claim_alive(self, lock: Path) -> bool:
        try:
            pid = int(lock.read_text().strip() or 0)
        except (OSError, ValueError):
            return True  # being written right now
        if pid <= 0:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def result(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        if self.status(key).state != "done":
            return None
        data = self._read_json(self._path(key, ".json"))
        if data is not None:
            with self._lock:
                if len(self._memo) >= 8:
                    self._memo.pop(next(iter(self._memo)))
                self._memo[key] = data
        return data

    def _pool(self) -> ThreadPoolExecutor:
        """One pool per process (a forked worker makes its own) and size."""
        key = (os.getpid(), self.workers)
        with self._lock:
            pool = self._executors.get(key)
            if pool is None:
                pool = self._executors[key] = ThreadPoolExecutor(
                    max_workers=self.workers, thread_name_prefix="planner-job"
                )
            return pool

    def submit(self, key: str, analysis: str, fn: Callable[[], dict[str, Any]]) -> JobStatus:
        """Start computing ``key`` unless it is done, under way, or failed moments ago."""
        st = self.status(key)
        if st.state in ("done", "queued", "running"):
            return st
        if st.state == "failed" and st.finished and time.time() - st.finished < self.retry_failed_s:
            return st
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = self._path(key, ".lock")
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return self.status(key)  # another worker claimed it first
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        self._cleanup()
        expected = self._durations().get(analysis)
        now = time.time()
        status = {"state": "queued", "analysis": analysis, "submitted": now, "expected_s": expected}
        self._write(self._path(key, ".status"), json.dumps(status))
        self._pool().submit(self._run, key, analysis, fn, status)
        return self.status(key)

    def _run(self, key: str, analysis: str, fn: Callable[[], dict[str, Any]], status: dict) -> None:
        status = {**status, "state": "running", "started": time.time()}
        self._write(self._path(key, ".status"), json.dumps(status))
        try:
            payload = fn()
            self._write(self._path(key, ".json"), json.dumps(payload, ensure_ascii=False))
            finished = time.time()
            status.update(state="done", finished=finished)
            durations = self._durations()
            durations[analysis] = finished - status["started"]
            self._write(self.dir / "durations.json", json.dumps(durations))
        except Exception as exc:  # the page shows it; the log keeps the traceback
            log.exception("planner job %s (%s) failed", key, analysis)
            status.update(state="failed", finished=time.time(), error=type(exc).__name__)
        finally:
            self._write(self._path(key, ".status"), json.dumps(status))
            with contextlib.suppress(OSError):
                self._path(key, ".lock").unlink()

    def wait(self, key: str, timeout: float) -> JobStatus:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            st = self.status(key)
            if st.state in ("done", "failed", "missing") or time.monotonic() >= deadline:
                return st
            time.sleep(0.05)

    def run(
        self, key: str, analysis: str, fn: Callable[[], dict[str, Any]], wait_s: float
    ) -> tuple[JobStatus, dict[str, Any] | None]:
        """Submit (if needed) and wait up to ``wait_s``: (status, result or None)."""
        st = self.submit(key, analysis, fn)
        if st.state in ("queued", "running"):
            st = self.wait(key, wait_s)
        return st, (self.result(key) if st.ready else None)

    def _cleanup(self) -> None:
        """Drop files older than a day (results of data that has changed since)."""
        cutoff = time.time() - max(self.keep_s, 86400.0)
        try:
            entries = list(os.scandir(self.dir))
        except OSError:
            return
        for e in entries:
            if e.name.endswith((".json", ".status", ".tmp")) and e.name != "durations.json":
                with contextlib.suppress(OSError):
                    if e.stat().st_mtime < cutoff:
                        os.unlink(e.path)


# --- exports ----------------------------------------------------------------------------------


def write_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Any],
    fmt: str,
    meta: Any,
    out_dir: Path,
    basename: str,
    geometry_key: str = "geojson",
) -> Path:
    """Rows (dicts with a GeoJSON geometry under ``geometry_key``) as a GeoPackage or CSV
    through geo.export (``columns``: geo.export.Column, ``meta``: geo.export.ExportMeta)."""
    import geopandas as gpd
    import shapely

    from geo import export as gx
    from geo.councils import csv_safe

    fmt_obj = gx.get_format(fmt)
    data: dict[str, list[Any]] = {}
    for col in columns:
        values = [r.get(col.name) for r in rows]
        if fmt_obj.key == "csv" and col.type == "text":
            values = [csv_safe(v) for v in values]
        data[col.name] = values
    geoms = shapely.from_geojson([r.get(geometry_key) for r in rows]) if rows else []
    frame = gpd.GeoDataFrame(data, geometry=list(geoms), crs=4326)
    return gx.write_export(frame, columns, fmt_obj, meta, out_dir, basename)
