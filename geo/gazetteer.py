"""The offline gazetteer: Kraków places, streets and addresses, searched in PostGIS.

Search is trigram similarity (pg_trgm) on a normalised key (``civic_search_key`` in
migration 0004: unaccented, lower case, punctuation folded), so "zablocie" finds
"Zabłocie" and "rajska 12" finds "Rajska 12". The GeoJSON answer is built in SQL.

Candidates: word similarity (``q <% search``, pg_trgm's threshold 0.6), which the trigram
GIN index answers directly and which also matches a typed prefix ("rajsk") or one word of
a longer name. (``search % q`` as well made the planner fall back to a sequential scan:
1.2 s on 100 000 rows instead of a few ms.)

Ranking, best first: the key equals the query; the key starts with the query; trigram
score (the larger of similarity and word similarity); then the kind (a district before a
quarter before an address ...); then the shorter name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

KINDS = ("district", "quarter", "neighbourhood", "street", "address", "venue")
MAX_QUERY = 100
MAX_LIMIT = 20

# "ul. Rajska 12" and "ulica Rajska 12": PRG and OSM street names carry no "ul." prefix.
_STREET_PREFIX = re.compile(r"^(ul|ulica)\s+")
_NOT_WORD = re.compile(r"[^a-z0-9\u0400-\u04ff]+")
_ADDRESS = re.compile(r"^(?P<street>.+?)\s+(?P<number>\d+[A-Za-z]?(?:[/-]\d*[A-Za-z]?)?)$")
# unaccent folds these; NFKD leaves them alone.
_FOLD = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ß": "ss"})


def search_key(value: str) -> str:
    """Python twin of the SQL ``civic_search_key`` (used for reporting and tests)."""
    decomposed = unicodedata.normalize("NFKD", value.translate(_FOLD))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return _NOT_WORD.sub(" ", plain).strip()


def split_address(address: str) -> tuple[str, str | None]:
    """'Rajska 12' -> ('Rajska', '12'); 'Osiedle Dywizjonu 303 1' -> (.., '1'); no number -> None."""
    address = " ".join(address.split())
    m = _ADDRESS.match(address)
    if not m:
        return address, None
    return m.group("street"), m.group("number")


@dataclass(frozen=True)
class GeocodeQuery:
    q: str
    limit: int = 8
    kinds: tuple[str, ...] = ()  # restrict to these kinds; empty = all


class QueryError(ValueError):
    def __init__(self, message: str, field: str = "q"):
        super().__init__(message)
        self.field = field


def check_query(q: str | None, limit: int | None = None) -> GeocodeQuery:
    """Refuse what cannot be searched: empty, too long, only punctuation, bad limit."""
    q = (q or "").strip()
    if not q:
        raise QueryError("parameter 'q' is required: type a place, street or address")
    if len(q) > MAX_QUERY:
        raise QueryError(f"parameter 'q' is longer than {MAX_QUERY} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in q):
        raise QueryError("parameter 'q' contains control characters")
    if not search_key(q):
        raise QueryError("parameter 'q' has no letters or digits")
    if limit is None:
        limit = 8
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"parameter 'limit' must be between 1 and {MAX_LIMIT}", "limit")
    return GeocodeQuery(q=q, limit=limit)


_SEARCH_SQL = """
WITH q AS (
    SELECT regexp_replace(civic_search_key(:q), '^(ul|ulica) ', '') AS k
), scored AS (
    -- each score once per candidate: on a common word ("osiedle": ~10 000 candidates in a
    -- full PRG import) the scoring functions are most of the time
    SELECT g.id, g.kind, length(g.name) AS len,
           g.search = q.k AS exact,
           left(g.search, length(q.k)) = q.k AS prefix,
           greatest(similarity(g.search, q.k), word_similarity(q.k, g.search)) AS score
    FROM gazetteer g, q
    WHERE q.k <% g.search
      AND (cardinality(CAST(:kinds AS text[])) = 0 OR g.kind = ANY(CAST(:kinds AS text[])))
), hits AS (
    SELECT s.*, row_number() OVER (
               ORDER BY s.exact DESC, s.prefix DESC, s.score DESC,
                        array_position(CAST(:kind_order AS text[]), s.kind),
                        s.len, s.id) AS rn
    FROM scored s
    ORDER BY rn
    LIMIT :limit
)
SELECT json_build_object(
    'type', 'FeatureCollection',
    'query', CAST(:q AS text),
    'features', coalesce(json_agg(json_build_object(
        'type', 'Feature',
        'id', h.id,
        'geometry', ST_AsGeoJSON(h.geom, 6)::json,
        'properties', json_build_object(
            'name', h.name,
            'kind', h.kind,
            'street', h.street,
            'house_number', h.house_number,
            'postcode', h.postcode,
            'district', h.district,
            'district_name', d.name,
            'district_full_name', d.full_name,
            'districts', (SELECT json_agg(json_build_object(
                               'number', x.number, 'name', x.name, 'full_name', x.full_name)
                           ORDER BY x.number)
                          FROM districts x WHERE x.number = ANY(h.districts)),
            'score', round(h.score::numeric, 3)),
        'bbox', CASE WHEN h.extent IS NOT NULL THEN json_build_array(
                    round(ST_XMin(h.extent)::numeric, 6), round(ST_YMin(h.extent)::numeric, 6),
                    round(ST_XMax(h.extent)::numeric, 6), round(ST_YMax(h.extent)::numeric, 6))
                END
    ) ORDER BY h.rn), '[]'::json))::text
FROM (SELECT g.*, hits.rn, hits.score FROM hits JOIN gazetteer g ON g.id = hits.id) h
LEFT JOIN districts d ON d.number = h.district
"""


def search(conn: Connection, query: GeocodeQuery) -> str:
    """Matches as a GeoJSON FeatureCollection (text), best first."""
    params: dict[str, Any] = {
        "q": query.q,
        "limit": query.limit,
        "kinds": list(query.kinds),
        "kind_order": list(KINDS),
    }
    return conn.execute(text(_SEARCH_SQL), params).scalar_one()


# --------------------------------------------------------------------------- writing


def fill_districts(conn: Connection, source: str) -> None:
    """Set ``district`` from the point; a point in a sliver gets the nearest district.

    Districts drive the join (18 outer rows, an index scan of points each), so PostGIS
    prepares each district polygon once: ~4x faster than probing districts per point."""
    conn.execute(
        text(
            """
            UPDATE gazetteer g SET district = m.number
            FROM (SELECT DISTINCT ON (p.id) p.id, d.number
                  FROM districts d JOIN gazetteer p ON ST_Intersects(d.geom, p.geom)
                  WHERE p.source = :source
                  ORDER BY p.id, d.number) m
            WHERE g.id = m.id"""
        ),
        {"source": source},
    )
    conn.execute(
        text(
            """
            UPDATE gazetteer g SET district =
                (SELECT d.number FROM districts d ORDER BY d.geom <-> g.geom LIMIT 1)
            WHERE g.source = :source AND g.district IS NULL"""
        ),
        {"source": source},
    )


# Every row's ``districts``; a street's from all addresses of that street name (any source)
# and its ``extent``: their envelope, 40 m wider (a street known by one point: a box round it).
# ``:source`` NULL: every row (the migration).
STREET_EXTENTS_SQL = """
UPDATE gazetteer g SET districts = CASE WHEN g.district IS NULL THEN '{}' ELSE ARRAY[g.district] END
WHERE (CAST(:source AS text) IS NULL OR g.source = CAST(:source AS text)) AND g.kind <> 'street';
WITH a AS (
    SELECT civic_search_key(street) AS k,
           array_agg(DISTINCT district ORDER BY district)
               FILTER (WHERE district IS NOT NULL) AS ds,
           ST_Envelope(ST_Buffer(ST_Envelope(ST_Collect(geom))::geography, 40)::geometry) AS ext
    FROM gazetteer WHERE kind = 'address' AND street IS NOT NULL GROUP BY 1
)
UPDATE gazetteer g
SET districts = coalesce(x.ds, CASE WHEN g.district IS NULL THEN '{}' ELSE ARRAY[g.district] END),
    extent = coalesce(x.ext, ST_Envelope(ST_Buffer(g.geom::geography, 40)::geometry))
FROM (SELECT s.id, a.ds, a.ext FROM gazetteer s
      LEFT JOIN a ON a.k = civic_search_key(s.street)
      WHERE s.kind = 'street') x
WHERE g.id = x.id;
"""


def street_extents(conn: Connection, source: str) -> None:
    """Fill ``districts`` of ``source``'s rows and every street's districts and extent."""
    for statement in STREET_EXTENTS_SQL.split(";"):
        if statement.strip():
            conn.execute(text(statement), {"source": source})


def add_streets_from_addresses(conn: Connection, source: str) -> int:
    """One 'street' row per street name of ``source``'s addresses, at the address point
    nearest the middle of that street's addresses (so it lies on the street)."""
    return conn.execute(
        text(
            """
            INSERT INTO gazetteer (kind, name, street, geom, source, external_id)
            SELECT DISTINCT ON (civic_search_key(a.street))
                   'street', a.street, a.street, a.geom, :source, 'street:' || civic_search_key(a.street)
            FROM gazetteer a
            JOIN (SELECT civic_search_key(street) AS k, ST_Centroid(ST_Collect(geom)) AS c
                  FROM gazetteer WHERE source = :source AND kind = 'address' AND street IS NOT NULL
                  GROUP BY 1) m ON m.k = civic_search_key(a.street)
            WHERE a.source = :source AND a.kind = 'address'
            ORDER BY civic_search_key(a.street), a.geom <-> m.c, a.id
            ON CONFLICT (kind, search) WHERE kind IN ('address', 'street') DO NOTHING
            """
        ),
        {"source": source},
    ).rowcount


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(text("SELECT kind, count(*) FROM gazetteer GROUP BY kind"))
    return {k: n for k, n in rows}
