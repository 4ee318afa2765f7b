"""Budget proposals located only by their district (no geometry of their own) for the
/proposals map (issue 15.3).

Such a proposal has no place to draw a marker at: the map draws each district that has some
as its shape with the count, and a click lists them. One query under the list's filters
(civic.participation.proposal_lists.Browse) answers a FeatureCollection of the districts
that have any: the district's (simplified) shape, how many there are, and the first
``per_district`` of them in the list's order with their page. Built in the database.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, text

from civic.participation.proposal_lists import Browse, _where
from civic.participation.proposals import SORTS

PER_DISTRICT = 20
SIMPLIFY = 0.00005  # degrees, as the district outlines of the participation maps


def whole_district_geojson(
    conn: Connection,
    b: Browse,
    link: str,
    states: dict[str, str],
    per_district: int = PER_DISTRICT,
) -> str:
    """The districts with whole-district proposals under ``b``'s filters, as GeoJSON text:
    properties ``number``, ``name``, ``full_name``, ``count``, ``items`` (id, title, status,
    status_title, edition, url = ``link`` + id); the collection's ``total`` counts the
    proposals (one crossing two districts once) and ``citywide`` those with no district and
    no place at all (they are on the list only)."""
    params: dict[str, object] = {
        "link": link,
        "per": per_district,
        "tol": SIMPLIFY,
        "states": json.dumps(states, ensure_ascii=False),
    }
    where = _where(b, params)
    sql = f"""
        WITH p AS (
            SELECT t.id, t.title, t.status, t.edition, t.districts,
                   row_number() OVER (ORDER BY {SORTS[b.sort]}) AS pos
            FROM budget_proposals t
            WHERE ({where}) AND t.geom IS NULL
        ), per AS (
            SELECT n AS number, p.id, p.title, p.status, p.edition, p.pos,
                   row_number() OVER (PARTITION BY n ORDER BY p.pos) AS rn,
                   count(*) OVER (PARTITION BY n) AS cnt
            FROM p CROSS JOIN LATERAL unnest(p.districts) AS n
        ), g AS (
            SELECT number, max(cnt) AS cnt,
                   json_agg(json_build_object(
                       'id', id, 'title', title, 'status', status,
                       'status_title', CAST(:states AS jsonb) ->> status,
                       'edition', edition, 'url', :link || id) ORDER BY rn)
                     FILTER (WHERE rn <= :per) AS items
            FROM per GROUP BY number
        )
        SELECT json_build_object(
            'type', 'FeatureCollection',
            'total', (SELECT count(*) FROM p WHERE cardinality(p.districts) > 0),
            'citywide', (SELECT count(*) FROM p WHERE coalesce(cardinality(p.districts), 0) = 0),
            'features', coalesce((
                SELECT json_agg(json_build_object(
                    'type', 'Feature', 'id', d.number,
                    'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(d.geom, :tol), 6)::json,
                    'properties', json_build_object(
                        'number', d.number, 'name', d.name, 'full_name', d.full_name,
                        'count', g.cnt, 'items', g.items)) ORDER BY d.number)
                FROM g JOIN districts d ON d.number = g.number), '[]'::json))::text
    """
    return conn.execute(text(sql), params).scalar_one()
