"""The one read path for features of any registered layer, built in SQL (GeoJSON by PostGIS).

The layers API, the OGC API – Features items, the exports, the lists beside the maps and the
permalinks all read features here (:func:`features`, :func:`feature`, :func:`records`,
:func:`rows`); a :class:`FeatureQuery` says which rows (public rules, bbox in any published
CRS, district, filters, time, search, page), in which CRS and axis order, and how the
properties are written (their keys and the feature-table members that come first).

Hot path: a bbox (GiST) or a district (GIN) narrows the rows, a LIMIT bounds them, and
PostgreSQL writes each feature's JSON. No whole-table count: we fetch ``limit + 1`` rows to
know whether there is a next page.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, text

from geo.schema import ident
from layers.base import Layer

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000


@dataclass
class FeatureQuery:
    bbox: tuple[float, float, float, float] | None = None  # in bbox_srid, easting first
    bbox_srid: int = 4326
    district: int | None = None
    filters: dict[str, Any] = field(default_factory=dict)  # field name -> value (equality)
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    ids: list[int] | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    srid: int = 4326
    flip_axes: bool = False  # write northing first (OGC CRS axis order for EPSG:2178/2180)
    precision: int = 6
    public: bool = True  # apply the layer's public visibility rules
    search: str | None = None  # case/diacritics-insensitive substring of the title
    with_geometry: bool = True  # False: "geometry": null (a list needs no shapes)
    order: tuple[str, ...] = ()  # field names, "-name" descending (NULLs last); default order_by
    edition_before: int | None = None  # only editions earlier than this (layer.edition_field)
    # How the properties are written: the feature-table columns that come before the layer's
    # public fields, and an output key per field name (e.g. MSIP's names; default the name).
    members: tuple[str, ...] = ("external_id", "districts", "updated_at")
    keys: dict[str, str] = field(default_factory=dict)
    fields: tuple[str, ...] | None = None  # a subset of the public fields, in layer order
    # The FROM item, aliased ``t``, with the feature-table columns; default the layer's table
    # (the OGC districts collection reads a view of the districts table this way).
    source: str | None = None
    # For readers that write their own properties (the residents' proposals map, a permalink):
    # an explicit list of (output key, SQL expression over ``t``, or None for the public field
    # or feature-table member of that name), replacing members/fields/keys. The expressions
    # come from code, never from a request; their bind parameters go in ``params``.
    properties: tuple[tuple[str, str | None], ...] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # The geometry of a row without one (e.g. its districts' area), an SQL expression over t.
    geometry_fallback: str | None = None
    where: tuple[str, ...] = ()  # further SQL conditions over t, from code
    sort: str | None = None  # an ORDER BY over t from code (a layer's named sorts), over order
    # json_build_object for the whole Feature ('"k" : v', features joined by ", "), as the
    # residents' map has written its GeoJSON since it was published; byte for byte.
    build_object: bool = False
    # Rows this reader may see beyond the public ones (their own comment waiting for a
    # moderator): a trusted SQL condition over t from code, ORed with the layer's public rules
    # (only when ``public``); its bind parameters go in ``params``.
    also_visible: str | None = None
    # Outlines for an overview map: ST_SimplifyPreserveTopology with this tolerance, in the
    # stored CRS's units (degrees), before any transform. The filters see the stored geometry.
    simplify: float | None = None


@dataclass
class FeaturePage:
    """A page of features as PostgreSQL wrote them: ``text`` is the Features' GeoJSON joined
    by ``sep`` (one row from the database, not one per feature), ``number`` how many."""

    text: str
    number: int
    has_more: bool
    sep: str = ","

    @cached_property
    def features(self) -> list[str]:
        """Each Feature's text, byte for byte (for the few readers that want them one by one)."""
        out, i, n = [], 0, len(self.text)
        decoder = json.JSONDecoder()
        while i < n:
            _, end = decoder.raw_decode(self.text, i)
            out.append(self.text[i:end])
            i = end + len(self.sep)
        return out

    def parts(self) -> list[tuple[int, str | None, dict[str, Any]]]:
        """Each Feature as (id, its geometry's GeoJSON text as PostGIS wrote it, properties):
        for readers that put the geometry into documents of their own (a planner's map, an
        analysis' table) without decoding and re-encoding it. The :func:`feature_sql` text
        only (not ``build_object``): ``{"type":"Feature","id":…,"geometry":…,"properties":…}``,
        whose geometry (keys type, coordinates, geometries) never holds ``,"properties":``."""
        if self.sep != ",":
            raise ValueError("parts() reads the default feature text, not build_object's")
        head, mid = '{"type":"Feature","id":', ',"properties":'
        decoder = json.JSONDecoder()
        out: list[tuple[int, str | None, dict[str, Any]]] = []
        text, i, n = self.text, 0, len(self.text)
        while i < n:
            comma = text.index(",", i + len(head))
            fid = int(text[i + len(head) : comma])
            start = comma + len(',"geometry":')
            i = text.index(mid, start)
            geometry = text[start:i]
            props, i = decoder.raw_decode(text, i + len(mid))
            out.append((fid, None if geometry == "null" else geometry, props))
            i += 1 + len(self.sep)  # the Feature's closing brace, the separator
        return out

    def collection(self, **members: Any) -> str:
        """The page as a FeatureCollection (with foreign ``members``). A ``build_object`` page
        keeps json_build_object's spacing ('"k" : v'): the maps that read such pages have
        answered that way since they were published."""
        if self.sep == ", ":
            head, pair = '{"type" : "FeatureCollection", "features" : [', ', "{}" : {}'
        else:
            head, pair = '{"type":"FeatureCollection","features":[', ',"{}":{}'
        extra = "".join(
            pair.format(key, json.dumps(v, ensure_ascii=False, default=str))
            for key, v in members.items()
        )
        return head + self.text + "]" + extra + "}"


_MEMBERS = ("external_id", "districts", "updated_at")


def properties_sql(layer: Layer, q: FeatureQuery | None = None) -> str:
    """The SQL expression building one row's ``properties`` object (public fields only)."""
    q = q or FeatureQuery()
    if q.properties is not None:
        return _explicit_properties(layer, q)
    pairs = []
    for m in q.members:
        if m not in _MEMBERS:
            raise ValueError(f"unknown feature member {m!r}")
        pairs.append((m, f"t.{m}"))
    chosen = layer.public_fields
    if q.fields is not None:
        public = {f.name for f in chosen}
        unknown = [n for n in q.fields if n not in public]
        if unknown:
            raise KeyError(f"layer {layer.name} has no public field {unknown[0]!r}")
        chosen = tuple(f for f in chosen if f.name in q.fields)
    pairs += [(q.keys.get(f.name, f.name), f"t.{ident(f.name)}") for f in chosen]
    return json_object(pairs)


def json_object(pairs: list[tuple[str, str]]) -> str:
    """A JSON object of (key, SQL expression) pairs, in order: ``row_to_json`` of a one-row
    subselect whose columns are named by the keys. As cheap per row as the bare
    ``ST_AsGeoJSON(record)``; ``json_build_object`` (variadic "any", at most 100 arguments)
    cost 25-40 % more of the whole statement at 1 000-5 000 features (issue 11)."""
    for key, _ in pairs:
        if "'" in key or '"' in key or len(key.encode()) > 63:
            raise ValueError(f"unsafe property key {key!r}")
    if not pairs:
        return "'{}'::json"
    cols = ", ".join(f'{expr} AS "{key}"' for key, expr in pairs)
    return f"(SELECT row_to_json(p_) FROM (SELECT {cols}) p_)"


def _explicit_properties(layer: Layer, q: FeatureQuery) -> str:
    public = {f.name for f in layer.public_fields}
    pairs = []
    for key, expr in q.properties or ():
        if expr is None:
            if key in _MEMBERS:
                expr = f"t.{key}"
            elif key in public:
                expr = f"t.{ident(key)}"
            else:
                raise KeyError(f"layer {layer.name} has no public field {key!r}")
        pairs.append((key, expr))
    return json_object(pairs)


def source_sql(layer: Layer, q: FeatureQuery) -> str:
    return q.source or f"{ident(layer.table)} t"


def where_clause(layer: Layer, q: FeatureQuery, params: dict[str, Any]) -> str:
    conds: list[str] = []
    visible: list[str] = []
    if q.public and layer.public_where:
        visible.append(f"({layer.public_where})")
    if q.public and layer.workflow and layer.status_field:
        # COLLATE "C" (the same equality): the (edition, status) btree cannot serve it, so the
        # planner does not BitmapAnd it with the GiST index on dense boxes (+8-10 ms, issue
        # 11); the column's statistics still give the estimate.
        visible.append(f't.{ident(layer.status_field)} COLLATE "C" = ANY(:public_states)')
        params["public_states"] = list(layer.workflow.public_states)
    if visible and q.also_visible:
        conds.append(f"(({' AND '.join(visible)}) OR ({q.also_visible}))")
    else:
        conds.extend(visible)
    if q.bbox:
        w, s, e, n = q.bbox
        params.update(bw=w, bs=s, be=e, bn=n, bsrid=q.bbox_srid)
        env = "ST_MakeEnvelope(:bw, :bs, :be, :bn, 4326)"
        if q.bbox_srid != 4326:
            env = "ST_Transform(ST_MakeEnvelope(:bw, :bs, :be, :bn, :bsrid), 4326)"
        # Exactly ST_Intersects: the box operators (~, @) compare float4-rounded boxes and
        # would let a point just outside the envelope in (seen: 1 234 rows instead of 1 233).
        conds.append(f"ST_Intersects(t.geom, {env})")
    if q.district is not None:
        conds.append("t.districts @> ARRAY[CAST(:district AS smallint)]")  # GIN-indexed
        params["district"] = q.district
    for i, (name, value) in enumerate(sorted(q.filters.items())):
        f = layer.field(name)
        key = f"f{i}"
        params[key] = value
        col = f"t.{ident(f.name)}"
        conds.append(f":{key} = ANY({col})" if f.type.endswith("[]") else f"{col} = :{key}")
    if q.updated_from:
        conds.append("t.updated_at >= :ufrom")
        params["ufrom"] = q.updated_from
    if q.updated_to:
        conds.append("t.updated_at <= :uto")
        params["uto"] = q.updated_to
    if q.ids is not None:
        conds.append("t.id = ANY(:ids)")
        params["ids"] = q.ids
    if q.edition_before is not None and layer.edition_field:
        conds.append(f"t.{ident(layer.edition_field)} < :ebefore")
        params["ebefore"] = q.edition_before
    if q.search:
        conds.append(f"unaccent(t.{ident(layer.title_field)}) ILIKE unaccent(:search)")
        params["search"] = (
            "%" + q.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
    conds.extend(f"({c})" for c in q.where)
    params.update(q.params)
    return " AND ".join(conds) if conds else "TRUE"


def order_sql(layer: Layer, q: FeatureQuery) -> str:
    """``q.order`` as SQL over the layer's fields (unknown names raise KeyError), else order_by."""
    if q.sort:
        return q.sort
    if not q.order:
        return layer.order_by
    if q.order == ("id",):
        return "t.id"
    parts = []
    for item in q.order:
        name = item.lstrip("-")
        col = "t.id" if name == "id" else f"t.{ident(layer.field(name).name)}"
        parts.append(f"{col} DESC NULLS LAST" if item.startswith("-") else f"{col} ASC NULLS LAST")
    return ", ".join(parts + ["t.id"])


def geometry_sql(q: FeatureQuery, col: str = "t.geom") -> str:
    if not q.with_geometry:
        return "NULL"
    if q.geometry_fallback:
        col = f"coalesce({col}, ({q.geometry_fallback}))"
    if q.simplify is not None:
        col = f"ST_SimplifyPreserveTopology({col}, {float(q.simplify)!r})"
    g = col if q.srid == 4326 else f"ST_Transform({col}, {int(q.srid)})"
    if q.flip_axes:
        g = f"ST_FlipCoordinates({g})"
    return f"ST_AsGeoJSON({g}, {int(q.precision)}, 0)"  # options 0: no non-standard "crs" member


# A bbox at most this large (km²) is read through its spatial index whatever the order: the
# planner, assuming ids and places are unrelated, would otherwise walk the primary key from
# the newest row for a small page (limit=1: 46-53 ms on 200 000 proposals whose newest rows
# are all in the centre) instead of a few ms for the box's rows and a top-N sort.
SMALL_BBOX_KM2 = 25.0


def small_bbox(q: FeatureQuery) -> bool:
    if not q.bbox:
        return False
    w, s, e, n = q.bbox
    if q.bbox_srid == 4326:
        lat = math.radians(max(-89.0, min(89.0, (s + n) / 2)))
        km2 = abs(e - w) * 111.32 * math.cos(lat) * abs(n - s) * 111.32
    else:  # the published projected CRSs are metric (EPSG:2178, 2180, 3857)
        km2 = abs(e - w) * abs(n - s) / 1e6
    return km2 <= SMALL_BBOX_KM2


def feature_sql(layer: Layer, q: FeatureQuery) -> str:
    """One row's GeoJSON Feature as text (an SQL expression over ``t``)."""
    props = properties_sql(layer, q)
    if q.build_object:
        geom = geometry_sql(q)
        geom = "NULL" if geom == "NULL" else f"({geom})::json"
        return (
            f"json_build_object('type', 'Feature', 'id', t.id, 'geometry', {geom}, "
            f"'properties', {props})::text"
        )
    return (
        f"""'{{"type":"Feature","id":' || t.id """
        f"""|| ',"geometry":' || coalesce({geometry_sql(q)}, 'null') """
        f"""|| ',"properties":' || ({props})::text || '}}'"""
    )


def page_sql(layer: Layer, q: FeatureQuery, params: dict[str, Any]) -> str:
    """The statement of :func:`features`: one row, the page's Features joined (text), how
    many rows matched up to ``limit + 1`` (so: is there a next page)."""
    params.update(limit=q.limit + 1, offset=q.offset, page=q.limit)
    where = where_clause(layer, q, params)
    sep = ", " if q.build_object else ","
    order = order_sql(layer, q)
    source = source_sql(layer, q)
    if small_bbox(q):
        # The box's rows come from the GiST index, planned on their own (OFFSET 0): the
        # planner would otherwise walk the primary key from the newest row, assuming ids and
        # places are unrelated (limit=1: 46-53 ms on 200 000 proposals, issue 11).
        source = f"(SELECT t.* FROM {source} WHERE {where} OFFSET 0) t"
        where = "TRUE"
    rows = f"""SELECT t.*, row_number() OVER () AS fq_row_
               FROM (SELECT t.* FROM {source} WHERE {where}
                     ORDER BY {order} LIMIT :limit OFFSET :offset) t"""
    # The page is chosen first and the JSON built only for its rows, in one aggregate row:
    # fetching 1 001 rows through the driver cost more than the statement (issue 11). The
    # aggregate reads the numbered rows in the order the sorted subquery gives them (no
    # parallel plan: serial()); an ORDER BY inside it would sort the built texts again (15 ms
    # of 100 at 5 000 features).
    return f"""
        SELECT coalesce(string_agg({feature_sql(layer, q)}, '{sep}')
                        FILTER (WHERE t.fq_row_ <= :page), ''), coalesce(max(t.fq_row_), 0)
        FROM ({rows}) t"""


def features(conn: Connection, layer: Layer, q: FeatureQuery) -> FeaturePage:
    params: dict[str, Any] = {}
    sql = page_sql(layer, q, params)
    serial(conn)
    body, n = conn.execute(text(sql), params).one()
    return FeaturePage(
        text=body, number=min(n, q.limit), has_more=n > q.limit, sep=", " if q.build_object else ","
    )


def serial(conn: Connection) -> None:
    """No parallel workers for the rest of this transaction: for these short queries a
    1-worker Gather Merge was chosen for 27 of 48 viewports and cost 20-27 ms instead of
    9-13 (issue 11; ../shared/PITFALLS.md). ``SET LOCAL`` ends with the transaction."""
    tx = conn.get_transaction()
    if tx is not None and conn.info.get("fq_serial_tx") is tx:
        return
    conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    conn.info["fq_serial_tx"] = conn.get_transaction()


def feature(
    conn: Connection, layer: Layer, feature_id: int, q: FeatureQuery | None = None
) -> str | None:
    """One feature as GeoJSON text (None when there is none, or it is not public)."""
    q = q or FeatureQuery()
    q.ids, q.limit, q.offset = [feature_id], 1, 0
    page = features(conn, layer, q)
    return page.features[0] if page.features else None


def with_members(feature_text: str, **members: Any) -> str:
    """A Feature's text (from :func:`feature`) with foreign members appended (e.g. links)."""
    import json

    extra = "".join(
        f',"{k}":{json.dumps(v, ensure_ascii=False, default=str)}' for k, v in members.items()
    )
    return feature_text[:-1] + extra + "}"


def count_by_district(conn: Connection, layer: Layer, district: int) -> int:
    """Count of public features in one district (GIN index on districts)."""
    params: dict[str, Any] = {}
    where = where_clause(layer, FeatureQuery(district=district), params)
    sql = f"SELECT count(*) FROM {ident(layer.table)} t WHERE {where}"
    return conn.execute(text(sql), params).scalar_one()


def updated_range(
    conn: Connection, layer: Layer, q: FeatureQuery | None = None
) -> tuple[datetime | None, datetime | None]:
    """The first and last ``updated_at`` of the matching rows (an OGC temporal extent)."""
    q = q or FeatureQuery()
    params: dict[str, Any] = {}
    where = where_clause(layer, q, params)
    sql = f"SELECT min(t.updated_at), max(t.updated_at) FROM {source_sql(layer, q)} WHERE {where}"
    row = conn.execute(text(sql), params).one()
    return row[0], row[1]


def rows(
    conn: Connection,
    layer: Layer,
    q: FeatureQuery,
    columns: list[tuple[str, str]],
    *,
    paged: bool = False,
) -> list[Any]:
    """The matching rows as ``(SQL expression over t, name)`` columns, in the query's order.

    For readers that want typed columns rather than GeoJSON (the GIS exports). Unpaged by
    default: an export takes every public row. Each row is a mapping by column name.
    """
    params: dict[str, Any] = {}
    where = where_clause(layer, q, params)
    for _, name in columns:
        if '"' in name:
            raise ValueError(f"unsafe column name {name!r}")
    select = ", ".join(f'{expr} AS "{name}"' for expr, name in columns)
    sql = (
        f"SELECT {select} FROM {source_sql(layer, q)} WHERE {where} ORDER BY {order_sql(layer, q)}"
    )
    if paged:
        sql += " LIMIT :limit OFFSET :offset"
        params.update(limit=q.limit, offset=q.offset)
    return list(conn.execute(text(sql), params).mappings())


@dataclass
class RecordPage:
    """Features as Python dicts for server-rendered lists: id, geometry_type, properties."""

    rows: list[dict[str, Any]]
    has_more: bool


def records(conn: Connection, layer: Layer, q: FeatureQuery) -> RecordPage:
    """Like :func:`features` but without geometry, each row a dict (for HTML lists)."""
    params: dict[str, Any] = {"limit": q.limit + 1, "offset": q.offset}
    where = where_clause(layer, q, params)
    # The page is chosen first, the JSON built only for its rows: PostgreSQL would otherwise
    # build it for every matching row before the sort (seen: 190 ms instead of 2 ms).
    order = order_sql(layer, q)
    sql = f"""
        SELECT t.id, ST_GeometryType(t.geom) AS geometry_type, ({properties_sql(layer, q)}) AS properties
        FROM (SELECT t.* FROM {source_sql(layer, q)}
              WHERE {where}
              ORDER BY {order}
              LIMIT :limit OFFSET :offset) t
        ORDER BY {order}"""
    rows = [dict(r._mapping) for r in conn.execute(text(sql), params)]
    for r in rows:
        r["geometry_type"] = (r["geometry_type"] or "").removeprefix("ST_") or None
    return RecordPage(rows=rows[: q.limit], has_more=len(rows) > q.limit)


def distinct_values(
    conn: Connection, layer: Layer, field_name: str, q: FeatureQuery | None = None, limit: int = 200
) -> list[Any]:
    """Distinct public values of one scalar field, ascending (e.g. the editions for a filter).

    A recursive "skip scan": one index probe per distinct value instead of a scan of the
    table, so it stays cheap on a large layer when the column is indexed.
    """
    col = f"t.{ident(layer.field(field_name).name)}"
    params: dict[str, Any] = {"dlimit": limit}
    where = where_clause(layer, q or FeatureQuery(), params)
    table = ident(layer.table)
    sql = f"""
        WITH RECURSIVE v(val, n) AS (
            (SELECT {col}, 1 FROM {table} t WHERE {where} AND {col} IS NOT NULL ORDER BY {col} LIMIT 1)
            UNION ALL
            SELECT (SELECT {col} FROM {table} t WHERE {where} AND {col} > v.val ORDER BY {col} LIMIT 1),
                   v.n + 1
            FROM v WHERE v.val IS NOT NULL AND v.n < :dlimit
        )
        SELECT val FROM v WHERE val IS NOT NULL"""
    return [r[0] for r in conn.execute(text(sql), params)]


def past_editions(
    conn: Connection,
    layer: Layer,
    district: int,
    before: int,
    edition: int | None = None,
    order: tuple[str, ...] = (),
    limit: int = 500,
) -> tuple[list[int], RecordPage]:
    """A district's features from editions earlier than ``before`` (e.g. past budget editions).

    Returns the editions there are (newest first) and the records of ``edition`` (default:
    the newest of them), in ``order`` (default: the layer's order).
    """
    if not layer.edition_field:
        return [], RecordPage(rows=[], has_more=False)
    base = FeatureQuery(district=district, edition_before=before)
    editions = sorted(distinct_values(conn, layer, layer.edition_field, base), reverse=True)
    if not editions:
        return [], RecordPage(rows=[], has_more=False)
    chosen = edition if edition in editions else editions[0]
    q = FeatureQuery(
        district=district,
        edition_before=before,
        filters={layer.edition_field: chosen},
        order=order,
        limit=limit,
        with_geometry=False,
    )
    return editions, records(conn, layer, q)


def district_names(conn: Connection) -> dict[int, str]:
    """number -> full name of every district (for lists; no geometry work)."""
    rows = conn.execute(text("SELECT number, full_name FROM districts ORDER BY number"))
    return {r[0]: r[1] for r in rows}
