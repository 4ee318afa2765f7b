"""Duplicate candidates: proposals close to each other with similar titles (pg_trgm).

Pairs ``(a, b)`` with ``a.id < b.id`` (so no self-pairs and each pair once) whose geometries
lie within ``distance_m`` metres of each other (on the ellipsoid) and whose titles have a
trigram ``similarity`` of at least ``threshold``, most similar first. Titles are compared
lower-cased and without diacritics (``unaccent``), so "Łąka" and "laka" match.

The spatial join probes the GiST index of the 4326 geometry with a box widened by the
distance in degrees (wider in longitude by 1/cos(latitude)), then checks the exact distance
and the similarity on the few candidates. ``same`` lists columns that must be equal in a pair,
e.g. ``("edition",)`` to compare proposals of the same budget edition only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from geo.analysis.degrees import city_margins
from geo.analysis.source import Source, no_jit
from geo.schema import ident


@dataclass(frozen=True)
class DuplicatePair:
    a_id: int
    b_id: int
    a_title: str
    b_title: str
    similarity: float  # pg_trgm similarity of the normalised titles, 0..1
    distance_m: float


def duplicates(
    conn: Connection,
    source: Source,
    distance_m: float = 200.0,
    threshold: float = 0.5,
    *,
    title_column: str = "title",
    same: Sequence[str] = (),
    limit: int = 1000,
) -> list[DuplicatePair]:
    """Candidate duplicate pairs, most similar first (then nearest)."""
    if not 0 < distance_m <= 50_000:
        raise ValueError("distance_m must be between 0 and 50 000 metres")
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    if not 1 <= limit <= 100_000:
        raise ValueError("limit must be between 1 and 100 000")
    same_cols = {f"same_{n}": ident(c) for n, c in enumerate(same)}
    inner, params = source.select(
        {"title": title_column, **same_cols},
        prefix="dp",
        expressions={"key": f"lower(unaccent(t.{ident(title_column)}))"},
    )
    dx, dy = city_margins(conn, distance_m)
    params.update(dist=float(distance_m), thr=float(threshold), dx=dx, dy=dy, lim=int(limit))
    same_sql = "".join(f" AND a.{c} IS NOT DISTINCT FROM b.{c}" for c in same_cols)
    sql = f"""
        WITH p AS NOT MATERIALIZED ({inner})
        SELECT a.id, b.id, a.title, b.title, similarity(a.key, b.key) AS sim,
               ST_Distance(a.geom::geography, b.geom::geography) AS dist
        FROM p a
        JOIN p b ON b.geom && ST_Expand(a.geom, :dx, :dy)
                AND a.id < b.id{same_sql}
                AND similarity(a.key, b.key) >= :thr
                AND ST_DWithin(a.geom::geography, b.geom::geography, :dist)
        ORDER BY sim DESC, dist, a.id, b.id
        LIMIT :lim"""
    no_jit(conn)
    return [
        DuplicatePair(int(a), int(b), ta, tb, float(s), float(d))
        for a, b, ta, tb, s, d in conn.execute(text(sql), params)
    ]
