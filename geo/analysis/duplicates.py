"""Duplicate candidates: proposals close to each other with similar titles (pg_trgm).

Pairs ``(a, b)`` with ``a.id < b.id`` (so no self-pairs and each pair once) whose geometries
lie within ``distance_m`` metres of each other (on the ellipsoid) and whose titles have a
trigram ``similarity`` of at least ``threshold``, most similar first. Titles are compared
lower-cased and without diacritics (``unaccent``), so "Łąka" and "laka" match.

The source's rows are copied to a temporary table (normalised titles computed once, its own
GiST index), then joined with themselves: each row probes the index with a box widened by the
distance in degrees (wider in longitude by 1/cos(latitude)), and the exact distance and the
similarity are checked on the few candidates. The temporary table needs the TEMP privilege
(granted to everyone by default; not available on a read-only standby). ``same`` lists columns that must be equal in a pair,
e.g. ``("edition",)`` to compare proposals of the same budget edition only.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from geo.analysis.degrees import city_margins
from geo.analysis.source import Source
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
    # The source's rows (filters applied) go to a temporary table with their normalised
    # titles computed once and one GiST index over (geometry, title trigrams): each row then
    # probes it with its box *and* its trigrams (pg_trgm's % operator), so similarity is
    # decided inside the index on precomputed trigram arrays instead of re-parsing both titles
    # for every nearby pair (3x faster here on 28 000 proposals).
    tmp = f"analysis_dups_{secrets.token_hex(6)}"
    # % uses pg_trgm.similarity_threshold; set it for this transaction only. Outside a
    # transaction (autocommit) SET LOCAL does nothing: then no % and the plain test below.
    index_trgm = _in_transaction(conn)
    if index_trgm:
        conn.execute(
            text("SELECT set_config('pg_trgm.similarity_threshold', :t, true)"),
            {"t": repr(float(threshold))},
        )
    conn.execute(text(f"CREATE TEMPORARY TABLE {tmp} AS {inner}"), params)
    try:
        opclass = ", key gist_trgm_ops" if index_trgm else ""
        conn.execute(text(f"CREATE INDEX ON {tmp} USING gist (geom{opclass})"))
        trgm = " AND b.key % a.key" if index_trgm else ""
        sql = f"""
            SELECT a.id, b.id, a.title, b.title, similarity(a.key, b.key) AS sim,
                   ST_Distance(a.geom::geography, b.geom::geography) AS dist
            FROM {tmp} a
            JOIN {tmp} b ON b.geom && ST_Expand(a.geom, :dx, :dy){trgm}
                        AND a.id < b.id{same_sql}
                        AND similarity(a.key, b.key) >= :thr
                        AND ST_DWithin(a.geom::geography, b.geom::geography, :dist)
            ORDER BY sim DESC, dist, a.id, b.id
            LIMIT :lim"""
        rows = conn.execute(text(sql), params).all()
    finally:
        conn.execute(text(f"DROP TABLE IF EXISTS {tmp}"))
    return [
        DuplicatePair(int(a), int(b), ta, tb, float(s), float(d)) for a, b, ta, tb, s, d in rows
    ]


def _in_transaction(conn: Connection) -> bool:
    """True unless the connection runs in autocommit mode (where SET LOCAL has no effect)."""
    level = conn.get_isolation_level() if hasattr(conn, "get_isolation_level") else None
    return level != "AUTOCOMMIT"
