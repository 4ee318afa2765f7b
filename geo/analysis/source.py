"""Where an analysis reads its features from: a table with validated names and filters.

Every analysis takes a :class:`Source` instead of a table name, so that the same function
runs over budget proposals, consultation comments, NGO locations or a test's own table, with
the filters a page needs (edition, status, field of activity) bound as parameters.

Table and column names go through :func:`geo.schema.ident`; filter values are always bound
parameters. ``where`` and ``query`` are *trusted* SQL written by our own code (for instance a
layer's ``public_where``), never text a person typed.

The analyses expect a connection from :func:`geo.db.engine`, which switches JIT off for every
session: the planner's cost estimates for set-returning PostGIS functions (ST_HexagonGrid,
ST_Subdivide) are huge and would trigger ~1.3 s of JIT compiling for a 0.2 s query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from geo.schema import ident

# Default table names of the layer tables (migrations/versions/0002_layers.py).
PROPOSALS_TABLE = "budget_proposals"
COMMENTS_TABLE = "consultation_comments"
NGOS_TABLE = "ngo_locations"
REVITALISATION_TABLE = "revitalisation_areas"
VENUES_TABLE = "civic_venues"


@dataclass(frozen=True)
class Source:
    """A set of features: ``table`` (alias ``t``) or a trusted subquery ``query``.

    ``filters``: column -> value; a scalar means ``t.col = value``, a list/tuple/set means
    ``t.col = ANY(values)``. ``contains``: array column -> value, meaning ``value = ANY(t.col)``
    (e.g. an NGO's fields of activity). ``where``: an extra trusted SQL condition over ``t``,
    with its bound values in ``params``.
    """

    table: str | None = None
    geom: str = "geom"
    id: str = "id"
    filters: Mapping[str, Any] = field(default_factory=dict)
    contains: Mapping[str, Any] = field(default_factory=dict)
    where: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    query: str | None = None

    def __post_init__(self) -> None:
        if (self.table is None) == (self.query is None):
            raise ValueError("a Source needs exactly one of table= or query=")
        if self.table is not None:
            ident(self.table)
        ident(self.geom)
        ident(self.id)
        for name in (*self.filters, *self.contains):
            ident(name)

    @property
    def from_sql(self) -> str:
        return f"{ident(self.table)} t" if self.table else f"({self.query}) t"

    def where_sql(self, prefix: str = "s") -> tuple[str, dict[str, Any]]:
        """The WHERE condition over alias ``t`` and its parameters (names start with prefix)."""
        params: dict[str, Any] = dict(self.params)
        conds: list[str] = []
        for i, (name, value) in enumerate(sorted(self.filters.items())):
            key = f"{prefix}_f{i}"
            if isinstance(value, list | tuple | set | frozenset):
                conds.append(f"t.{ident(name)} = ANY(:{key})")
                params[key] = list(value)
            elif value is None:
                conds.append(f"t.{ident(name)} IS NULL")
            else:
                conds.append(f"t.{ident(name)} = :{key}")
                params[key] = value
        for i, (name, value) in enumerate(sorted(self.contains.items())):
            key = f"{prefix}_c{i}"
            conds.append(f":{key} = ANY(t.{ident(name)})")
            params[key] = value
        if self.where:
            conds.append(f"({self.where})")
        return (" AND ".join(conds) if conds else "TRUE"), params

    def select(
        self,
        columns: Mapping[str, str | None] | None = None,
        prefix: str = "s",
        require_geom: bool = True,
        expressions: Mapping[str, str] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """``SELECT t.id AS id, t.geom AS geom[, t.<col> AS <alias>...] FROM ... WHERE ...``.

        ``columns`` maps an output alias to a column of the source; ``None`` gives NULL.
        Features without geometry are left out unless ``require_geom`` is false (a "whole
        district" proposal still counts in its district's demand). ``expressions`` maps an
        alias to trusted SQL over ``t`` (our own code only).
        """
        cols = [f"t.{ident(self.id)} AS id", f"t.{ident(self.geom)} AS geom"]
        for alias, column in (columns or {}).items():
            cols.append(f"{'NULL' if column is None else 't.' + ident(column)} AS {ident(alias)}")
        for alias, expression in (expressions or {}).items():
            cols.append(f"{expression} AS {ident(alias)}")
        where, params = self.where_sql(prefix)
        located = f"t.{ident(self.geom)} IS NOT NULL AND " if require_geom else ""
        sql = f"SELECT {', '.join(cols)} FROM {self.from_sql} WHERE {located}{where}"
        return sql, params


def as_sources(sources: Source | Sequence[Source]) -> tuple[Source, ...]:
    out = (sources,) if isinstance(sources, Source) else tuple(sources)
    if not out:
        raise ValueError("at least one Source is needed")
    return out


def union_sql(
    sources: Source | Sequence[Source], columns: Mapping[str, str | None] | None = None
) -> tuple[str, dict[str, Any]]:
    """Several sources as one ``UNION ALL`` with columns ``src`` (index), ``id``, ``geom``..."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    for n, src in enumerate(as_sources(sources)):
        sql, p = src.select(columns, prefix=f"s{n}")
        parts.append(sql.replace("SELECT ", f"SELECT {n} AS src, ", 1))
        clash = set(p) & set(params)
        if clash and any(params[k] != p[k] for k in clash):
            raise ValueError(f"sources bind the same parameter names differently: {sorted(clash)}")
        params.update(p)
    return " UNION ALL ".join(parts), params
