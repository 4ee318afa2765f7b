"""Vector tiles (Mapbox Vector Tile, WebMercatorQuad) of any registered layer, built by PostGIS.

One statement per tile: the rows come through the one read path's filter
(:func:`layers.query.where_clause`: the same public rules and filters as the API), the tile's
envelope transformed once to EPSG:4326 so the GiST index on ``geom`` selects them, each row's
geometry transformed to EPSG:3857 (integer SRID) and clipped by ``ST_AsMVTGeom``.

Below :data:`CLUSTER_BELOW` a layer whose style clusters (``Style.cluster``) carries its points
as **exact clusters**: a grid of :data:`GRID` x :data:`GRID` cells per tile, aligned to the
tile (a cell never spans two tiles), each point in exactly one cell (half-open cells in
EPSG:3857), one feature per non-empty cell in the MVT layer ``<layer>-clusters`` with its
``count`` and one ``<field>:<value>`` count per value of the legend's field (status or
category). Lines and polygons stay features at every zoom (MVT layer ``<layer>``). So the
features in view are the sum of the cluster counts plus the distinct ids of the other
features, as the list counts them for the same box and filters.

The tile cache (migration 0015): ``layer_versions`` holds a version per table that a trigger
bumps on every write; ``tile_cache`` keeps a tile's bytes with the version they were built
from, under the filters' key. The ETag is a digest of (table, version, filters, z/x/y,
:data:`SCHEMA`), known before the tile is read: a revalidation costs one indexed lookup.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, text

from geo.schema import ident
from layers import query as lq
from layers.base import Field, Layer

MAX_ZOOM = 22
CLUSTER_BELOW = 14  # z < 14: clusters of points; z >= 14: every feature
GRID = 4  # cells per tile side at cluster zooms (64 px cells on 256 px tiles)
EXTENT = 4096
BUFFER = 64  # for lines and polygons; points are not buffered (each in one tile)
LONG_TEXT = 2000  # text fields longer than this (descriptions) stay out of tiles
SCHEMA = "1"  # bump when the tiles' SQL or content changes: new ETags, old cache rows unused
WORLD = 20037508.342789244  # half the side of the EPSG:3857 square
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
POINT_ONLY = ("Point",)  # a layer of these has no lines or polygons to draw at cluster zooms


def in_range(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of a tile in EPSG:3857 (as ST_TileEnvelope computes it)."""
    size = 2 * WORLD / 2**z
    return (-WORLD + x * size, WORLD - (y + 1) * size, -WORLD + (x + 1) * size, WORLD - y * size)


def clustered(layer: Layer, z: int) -> bool:
    return layer.style.cluster and z < CLUSTER_BELOW


def layer_names(layer: Layer) -> tuple[str, str]:
    """The MVT layer names: features, clusters."""
    return layer.name, f"{layer.name}-clusters"


def tile_fields(layer: Layer) -> tuple[Field, ...]:
    """The public fields a tile carries: all but long texts (the popup reads the feature)."""
    return tuple(
        f
        for f in layer.public_fields
        if not (f.type == "text" and f.max_length is not None and f.max_length > LONG_TEXT)
    )


def breakdown_field(layer: Layer) -> Field | None:
    """The field whose values the clusters count (the legend's: category with its own
    colours, else a status with more than one public state), or None."""
    if layer.style.category_colors and layer.category_field:
        f = layer.field(layer.category_field)
        if f.public and f.choices:
            return f
    if layer.status_field:
        f = layer.field(layer.status_field)
        states = [c for c in f.choices if not layer.workflow or c in layer.workflow.public_states]
        if f.public and len(states) > 1:
            return f
    return None


def breakdown_values(layer: Layer, f: Field) -> tuple[str, ...]:
    if layer.workflow and f.name == layer.status_field:
        return tuple(c for c in f.choices if c in layer.workflow.public_states)
    return f.choices


def _attr(f: Field, key: str) -> str:
    col = f"t.{ident(f.name)}"
    if '"' in key:
        raise ValueError(f"unsafe attribute name {key!r}")
    if f.type.endswith("[]"):
        expr = f"array_to_string({col}, ',')"
    elif f.type in ("money", "float"):
        expr = f"{col}::float8"
    elif f.type in ("date", "datetime"):
        expr = f"{col}::text"
    elif f.type in ("int", "bool", "text"):
        expr = col
    else:
        expr = f"{col}::text"
    return f'{expr} AS "{key}"'


def features_sql(
    layer: Layer, q: lq.FeatureQuery, params: dict[str, Any], name: str, *, points: bool
) -> str:
    """ST_AsMVT of the rows in the tile (``points=False``: lines and polygons only)."""
    where = lq.where_clause(layer, q, params)
    if not points:
        where += " AND ST_GeometryType(t.geom) <> 'ST_Point'"
    attrs = ", ".join(_attr(f, q.keys.get(f.name, f.name)) for f in tile_fields(layer))
    params["fname"] = name
    return f"""
        SELECT ST_AsMVT(m, :fname, {EXTENT}, 'geom', 'fid') FROM (
            SELECT t.id AS fid, t.id,
                   ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope(:z, :x, :y),
                                {EXTENT}, {BUFFER}, true) AS geom,
                   array_to_string(t.districts, ',') AS districts{", " + attrs if attrs else ""}
            FROM {lq.source_sql(layer, q)} WHERE {where}) m
        WHERE m.geom IS NOT NULL"""


# A point's EPSG:3857 coordinates from its stored EPSG:4326 ones, in plain arithmetic (the
# spherical Mercator that ST_Transform applies, without a PROJ call per row).
MERC_X = f"radians(ST_X(t.geom)) * {WORLD / math.pi!r}"
MERC_Y = f"ln(tan(radians(45 + ST_Y(t.geom) / 2))) * {WORLD / math.pi!r}"


def legend_column(layer: Layer) -> str:
    """The legend value of a row (an SQL expression over ``t``) that the clusters count."""
    by = breakdown_field(layer)
    return "NULL::text" if by is None else f"t.{ident(by.name)}::text"


def cell_counts(layer: Layer, q: lq.FeatureQuery, params: dict[str, Any]) -> str:
    """The cluster cells' count columns, one per legend value, over the per-(cell, value)
    rows ``s``."""
    by = breakdown_field(layer)
    if by is None:
        return ""
    key = q.keys.get(by.name, by.name)
    counts = ""
    for i, v in enumerate(breakdown_values(layer, by)):
        params[f"cb{i}"] = v
        label = f"{key}:{v}"
        if '"' in label:
            raise ValueError(f"unsafe attribute name {label!r}")
        counts += f', coalesce(sum(s.n) FILTER (WHERE s.by_ = :cb{i}), 0)::int AS "{label}"'
    return counts


def points_by_cell(layer: Layer, q: lq.FeatureQuery, params: dict[str, Any], cell: str) -> str:
    """The public points of ``q`` counted per (cell, legend value): rows (ix, iy, by_, n, sx,
    sy, id) of the grid whose cells are ``cell`` metres of EPSG:3857 (an SQL expression)."""
    where = lq.where_clause(layer, q, params)
    by_col = legend_column(layer)
    return f"""
        SELECT p.ix, p.iy, p.by_, count(*) AS n, sum(p.px) AS sx, sum(p.py) AS sy,
               min(p.id) AS id
        FROM (SELECT p.*, floor((p.px + {WORLD!r}) / {cell}) AS ix,
                     floor(({WORLD!r} - p.py) / {cell}) AS iy
              FROM (SELECT t.id, {by_col} AS by_, {MERC_X} AS px, {MERC_Y} AS py
                    FROM {lq.source_sql(layer, q)}
                    WHERE {where} AND ST_GeometryType(t.geom) = 'ST_Point') p) p
        GROUP BY p.ix, p.iy, p.by_"""


def cells_mvt(
    layer: Layer, q: lq.FeatureQuery, params: dict[str, Any], name: str, z: int, x: int, y: int,
    cells: str,
) -> str:  # fmt: skip
    """ST_AsMVT of the tile's cluster cells from ``cells``, rows (ix, iy, by_, n, sx, sy, id)
    of the tile's own grid (zoom ``z``); a cell's marker is at the mean of its points."""
    counts = cell_counts(layer, q, params)
    params.update(cname=name, ix0=x * GRID, iy0=y * GRID, grid=GRID)
    return f"""
        SELECT ST_AsMVT(c, :cname, {EXTENT}, 'geom') FROM (
            SELECT ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(sum(s.sx) / sum(s.n),
                                                        sum(s.sy) / sum(s.n)), 3857),
                                ST_TileEnvelope(:z, :x, :y), {EXTENT}, 0, false) AS geom,
                   sum(s.n)::int AS count,
                   CASE WHEN sum(s.n) = 1 THEN min(s.id) END AS id{counts}
            FROM ({cells}) s
            WHERE s.ix >= :ix0 AND s.ix < :ix0 + :grid AND s.iy >= :iy0 AND s.iy < :iy0 + :grid
            GROUP BY s.ix, s.iy) c"""


def clusters_sql(
    layer: Layer, q: lq.FeatureQuery, params: dict[str, Any], name: str, z: int, x: int, y: int
) -> str:
    """ST_AsMVT of the tile's cluster cells: each point in exactly one cell of the grid.

    The points are counted per (cell, legend value) first and the cells' columns made from
    those few rows: one small aggregate over the points instead of one FILTER per legend
    value per point. The cells are kept to the tile's own after the points are counted
    (OFFSET 0: not pushed into the scan, where the planner took the cell bounds for a filter
    leaving one row and sorted 460 000 points on disk instead of hashing ~100 groups)."""
    params["cell"] = 2 * WORLD / 2**z / GRID
    cells = points_by_cell(layer, q, params, ":cell") + " OFFSET 0"
    return cells_mvt(layer, q, params, name, z, x, y, cells)


def tile_sql(
    layer: Layer,
    q: lq.FeatureQuery,
    z: int,
    x: int,
    y: int,
    params: dict[str, Any],
    cells: str | None = None,
) -> str:
    """The one statement building a tile (bytea; empty when nothing is in it). ``cells``: at a
    cluster zoom, rows (ix, iy, by_, n, sx, sy, id) of the tile's grid counted elsewhere,
    instead of counting the points here."""
    if not in_range(z, x, y):
        raise ValueError(f"tile {z}/{x}/{y} is outside the WebMercatorQuad matrix")
    params.update(z=z, x=x, y=y)
    fname, cname = layer_names(layer)
    xmin, ymin, xmax, ymax = tile_bounds(z, x, y)
    if not clustered(layer, z):
        base = replace(q, bbox=(xmin, ymin, xmax, ymax), bbox_srid=3857, params=dict(q.params))
        return f"SELECT coalesce(({features_sql(layer, base, params, fname, points=True)}), '')"
    # Clusters: a point on a tile edge passes both tiles' box, and the grid puts it in one.
    # The box is a metre wider, so that the box's rounding cannot drop an edge point.
    wider = replace(q, bbox=(xmin - 1, ymin - 1, xmax + 1, ymax + 1), bbox_srid=3857,
                    params=dict(q.params))  # fmt: skip
    if cells is None:
        cl = clusters_sql(layer, wider, params, cname, z, x, y)
    else:  # the tile's cells counted already (layers/tile_warm.py)
        cl = cells_mvt(layer, q, params, cname, z, x, y, cells)
    if all(g in POINT_ONLY for g in layer.geometry_types):
        return f"SELECT coalesce(({cl}), '')"
    return f"SELECT coalesce(({shapes_sql(layer, q, params, fname, z, x, y)}), '') || coalesce(({cl}), '')"


def shapes_sql(
    layer: Layer, q: lq.FeatureQuery, params: dict[str, Any], name: str, z: int, x: int, y: int
) -> str:
    """ST_AsMVT of the lines and polygons in a cluster tile (read through the partial index
    of non-points, migration 0019)."""
    xmin, ymin, xmax, ymax = tile_bounds(z, x, y)
    base = replace(q, bbox=(xmin, ymin, xmax, ymax), bbox_srid=3857, params=dict(q.params))
    return features_sql(layer, base, params, name, points=False)


def render(conn: Connection, layer: Layer, q: lq.FeatureQuery, z: int, x: int, y: int) -> bytes:
    """The tile's bytes, built now (no cache)."""
    params: dict[str, Any] = {}
    sql = tile_sql(layer, q, z, x, y, params)
    lq.serial(conn)
    return bytes(conn.execute(text(sql), params).scalar_one())


# --- cache and validators -------------------------------------------------------------------


def filters_key(q: lq.FeatureQuery) -> str:
    """The request's filters as one canonical string (part of the cache key and the ETag)."""
    parts = [f"d={q.district}" if q.district is not None else ""]
    parts += [f"{k}={v!r}" for k, v in sorted(q.filters.items())]
    parts.append(f"q={q.search}" if q.search else "")
    parts += [f"k:{k}={v}" for k, v in sorted(q.keys.items()) if k != v]  # renamed attributes
    return "&".join(p for p in parts if p)


@dataclass
class Tile:
    data: bytes | None  # None: not in the cache and not built (``tile(build=False)``)
    etag: str  # without quotes
    version: int | None  # None: the table is not tracked (served uncached)
    cached: bool
    not_modified: bool = False  # the client's If-None-Match holds ``etag``: no data


def _digest(*parts: Any) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:24]


def version(conn: Connection, layer: Layer) -> int | None:
    return conn.execute(
        text("SELECT version FROM layer_versions WHERE tbl = :t"), {"t": layer.table}
    ).scalar_one_or_none()


def etag_for(layer: Layer, ver: int, key: str, z: int, x: int, y: int) -> str:
    return _digest(SCHEMA, layer.table, layer.name, ver, key, z, x, y)


PRUNE_ONE_IN = 200  # about one miss in 200 drops the cache rows of older versions


def tile(
    conn: Connection,
    layer: Layer,
    q: lq.FeatureQuery,
    z: int,
    x: int,
    y: int,
    if_none_match: set[str] | None = None,
    build: bool = True,
) -> Tile:
    """The tile, from the cache while the layer's version is current, else built and stored
    (``build=False``: a cache miss of a tracked layer returns ``data=None`` instead).

    When ``if_none_match`` holds the tile's current ETag, ``not_modified`` is set and the tile
    is not read (the caller answers 304).
    ``conn`` should be a transaction (``engine.begin()``): the version and the tile then come
    from one snapshot, and the stored tile is exactly the version's.
    """
    key = cache_key(layer, q)
    row = conn.execute(
        text(
            """SELECT v.version, c.tile FROM layer_versions v
               LEFT JOIN tile_cache c ON c.tbl = v.tbl AND c.key = :key AND c.z = :z
                    AND c.x = :x AND c.y = :y AND c.version = v.version
               WHERE v.tbl = :t"""
        ),
        {"t": layer.table, "key": key, "z": z, "x": x, "y": y},
    ).one_or_none()
    if row is None:  # not tracked: no cache; the ETag is the content's
        data = render(conn, layer, q, z, x, y)
        tag = _digest(SCHEMA, layer.name, hashlib.sha1(data).hexdigest())
        return Tile(data, tag, None, False, bool(if_none_match and tag in if_none_match))
    ver, cached = row
    tag = etag_for(layer, ver, _digest(filters_key(q)), z, x, y)
    if if_none_match and tag in if_none_match:
        return Tile(b"", tag, ver, cached is not None, True)
    if cached is not None:
        return Tile(bytes(cached), tag, ver, True)
    if not build:
        return Tile(None, tag, ver, False)
    data = render(conn, layer, q, z, x, y)
    store(conn, layer, key, z, x, y, ver, data)
    if random.randrange(PRUNE_ONE_IN) == 0:
        prune(conn, layer)
    return Tile(data, tag, ver, False)


def cache_key(layer: Layer, q: lq.FeatureQuery) -> str:
    """The tile cache's key of a layer's tiles under ``q``'s filters."""
    return f"{SCHEMA}:{layer.name}:{_digest(filters_key(q))}"


def store(
    conn: Connection, layer: Layer, key: str, z: int, x: int, y: int, ver: int, data: bytes
) -> None:
    """Keep a tile built from version ``ver`` (a newer one already kept stays)."""
    conn.execute(
        text(
            """INSERT INTO tile_cache (tbl, key, z, x, y, version, tile)
               VALUES (:t, :key, :z, :x, :y, :v, :tile)
               ON CONFLICT (tbl, key, z, x, y) DO UPDATE
               SET version = EXCLUDED.version, tile = EXCLUDED.tile, created_at = now()
               WHERE tile_cache.version < EXCLUDED.version"""
        ),
        {"t": layer.table, "key": key, "z": z, "x": x, "y": y, "v": ver, "tile": data},
    )


def prune(conn: Connection, layer: Layer | None = None) -> int:
    """Drop cached tiles of versions that are no longer current."""
    sql = """DELETE FROM tile_cache c USING layer_versions v
             WHERE c.tbl = v.tbl AND c.version < v.version"""
    params: dict[str, Any] = {}
    if layer is not None:
        sql += " AND c.tbl = :t"
        params["t"] = layer.table
    return conn.execute(text(sql), params).rowcount
