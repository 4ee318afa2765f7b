"""What every planner analysis reads: the public features, their sources, plain counts.

Nothing here selects an author: the analyses hold counts, titles of public proposals,
published comments' text and public names of venues and NGOs only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from geo import districts as gd
from geo.analysis.source import Source
from geo.schema import ident
from layers import query as lq
from layers import registry

PROPOSALS = "budget-proposals"
COMMENTS = "consultation-comments"


# --- what the public sees ---------------------------------------------------------------------


@dataclass(frozen=True)
class Public:
    """The workflow states the public sees (from the layers' workflows: the caller knows)."""

    proposal_states: tuple[str, ...]
    comment_states: tuple[str, ...]


def public() -> Public:
    """The workflow states the public sees (the layers' workflows are the one source)."""

    def states(name: str) -> tuple[str, ...]:
        ly = registry.get(name)
        return ly.workflow.public_states if ly is not None and ly.workflow else ()

    return Public(states(PROPOSALS), states(COMMENTS))


def public_where(name: str) -> str:
    """The layer's own rule for public rows beyond its workflow states (``Layer.public_where``,
    the same one layers.query applies), with ``hidden_at`` for moderated rows."""
    ly = registry.get(name)
    rule = ly.public_where if ly is not None and ly.public_where else None
    return rule or "t.hidden_at IS NULL"


def proposals_source(pub: Public, edition: int | None = None) -> Source:
    filters: dict[str, Any] = {"status": list(pub.proposal_states)}
    if edition is not None:
        filters["edition"] = int(edition)
    return Source("budget_proposals", filters=filters, where=public_where(PROPOSALS))


def comments_source(pub: Public) -> Source:
    return Source(
        "consultation_comments",
        filters={"status": list(pub.comment_states)},
        where=public_where(COMMENTS),
    )


def proposal_supports_source(pub: Public, edition: int | None) -> Source:
    """One row per support (lista poparcia) of a public proposal, located like it."""
    filters: dict[str, Any] = {"status": list(pub.proposal_states)}
    if edition is not None:
        filters["edition"] = int(edition)
    return Source(
        query="SELECT p.id, p.geom, p.districts, p.status, p.edition, p.hidden_at "
        "FROM proposal_supports s JOIN budget_proposals p ON p.id = s.proposal_id",
        filters=filters,
        where=public_where(PROPOSALS),
    )


def comment_supports_source(pub: Public) -> Source:
    return Source(
        query="SELECT c.id, c.geom, c.districts, c.status, c.hidden_at "
        "FROM comment_supports s JOIN consultation_comments c ON c.id = s.comment_id",
        filters={"status": list(pub.comment_states)},
        where=public_where(COMMENTS),
    )


def venues_source(venue_type: str | None = None) -> Source:
    return Source("civic_venues", filters={"type": venue_type} if venue_type else {})


def ngos_source(field: str | None = None) -> Source:
    """Public NGO places (the layer's own public condition: a profile waiting for moderation
    is not counted)."""
    layer = registry.get("ngos")
    return Source(
        "ngo_locations",
        contains={"fields": field} if field else {},
        where=layer.public_where if layer else None,
    )


def editions(conn: Connection, pub: Public) -> list[int]:
    """The budget editions with public proposals, newest first: one probe of the edition
    index per edition (layers.query.distinct_values), not a scan of the table (issue 11)."""
    layer = registry.get(PROPOSALS)
    q = lq.FeatureQuery(public=False, where=("t.hidden_at IS NULL", "t.status = ANY(:ps)"))
    q.params = {"ps": list(pub.proposal_states)}
    return sorted((int(e) for e in lq.distinct_values(conn, layer, "edition", q)), reverse=True)


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


def per_1000(n: int, population: int | None) -> float | None:
    return n * 1000.0 / population if population else None


def cell_districts(conn: Connection, geojsons: Sequence[str]) -> list[str | None]:
    """The district holding a point on each geometry (GeoJSON texts), in order."""
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


def district_names(conn: Connection) -> dict[int, str]:
    return {d["number"]: d["name"] for d in gd.list_districts(conn)}


def population_label(t: Any, pop_date: Any) -> str:
    when = pop_date.strftime("%d.%m.%Y") if pop_date else "31.12.2025"
    return t.gettext("zameldowani na pobyt stały, stan na %(date)s", date=when)
