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


def clusters_sql(
    layer: Layer, q: lq.FeatureQuery, params: dict[str, Any], name: str, z: int, x: int, y: int
) -> str:
    """ST_AsMVT of the tile's cluster cells: each point in exactly one cell of the grid."""
    where = lq.where_clause(layer, q, params)
    by = breakdown_field(layer)
    counts = ""
    by_col = "NULL"
    if by is not None:
        by_col = f"t.{ident(by.name)}"
        key = q.keys.get(by.name, by.name)
        for i, v in enumerate(breakdown_values(layer, by)):
            params[f"cb{i}"] = v
            label = f"{key}:{v}"
            if '"' in label:
                raise ValueError(f"unsafe attribute name {label!r}")
            counts += f', count(*) FILTER (WHERE p.by_ = :cb{i})::int AS "{label}"'
    cell = 2 * WORLD / 2**z / GRID
    params.update(cname=name, cell=cell, world=WORLD, ix0=x * GRID, iy0=y * GRID, grid=GRID)
    return f"""
        SELECT ST_AsMVT(c, :cname, {EXTENT}, 'geom') FROM (
            SELECT ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(avg(p.px), avg(p.py)), 3857),
                                ST_TileEnvelope(:z, :x, :y), {EXTENT}, 0, false) AS geom,
                   count(*)::int AS count,
                   CASE WHEN count(*) = 1 THEN min(p.id) END AS id{counts}
            FROM (SELECT p.*, floor((p.px + :world) / :cell) AS ix,
                         floor((:world - p.py) / :cell) AS iy
                  FROM (SELECT t.id, {by_col} AS by_, ST_X(g.g) AS px, ST_Y(g.g) AS py
                        FROM {lq.source_sql(layer, q)},
                             LATERAL (SELECT ST_Transform(t.geom, 3857) AS g) g
                        WHERE {where} AND ST_GeometryType(t.geom) = 'ST_Point') p) p
            WHERE p.ix >= :ix0 AND p.ix < :ix0 + :grid AND p.iy >= :iy0 AND p.iy < :iy0 + :grid
            GROUP BY p.ix, p.iy) c"""


def tile_sql(
    layer: Layer, q: lq.FeatureQuery, z: int, x: int, y: int, params: dict[str, Any]
) -> str:
    """The one statement building a tile (bytea; empty when nothing is in it)."""
    if not in_range(z, x, y):
        raise ValueError(f"tile {z}/{x}/{y} is outside the WebMercatorQuad matrix")
    params.update(z=z, x=x, y=y)
    fname, cname = layer_names(layer)
    xmin, ymin, xmax, ymax = tile_bounds(z, x, y)
    base = replace(q, bbox=(xmin, ymin, xmax, ymax), bbox_srid=3857, params=dict(q.params))
    if not clustered(layer, z):
        return f"SELECT coalesce(({features_sql(layer, base, params, fname, points=True)}), '')"
    # Clusters: a point on a tile edge passes both tiles' box, and the grid puts it in one.
    # The box is a metre wider, so that the box's rounding cannot drop an edge point.
    wider = replace(base, bbox=(xmin - 1, ymin - 1, xmax + 1, ymax + 1))
    feats = features_sql(layer, base, params, fname, points=False)
    cl = clusters_sql(layer, wider, params, cname, z, x, y)
    return f"SELECT coalesce(({feats}), '') || coalesce(({cl}), '')"


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
    data: bytes
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
) -> Tile:
    """The tile, from the cache while the layer's version is current, else built and stored.

    When ``if_none_match`` holds the tile's current ETag, ``not_modified`` is set and the tile
    is not read (the caller answers 304).
    ``conn`` should be a transaction (``engine.begin()``): the version and the tile then come
    from one snapshot, and the stored tile is exactly the version's.
    """
    key = _digest(filters_key(q))
    row = conn.execute(
        text(
            """SELECT v.version, c.tile FROM layer_versions v
               LEFT JOIN tile_cache c ON c.tbl = v.tbl AND c.key = :key AND c.z = :z
                    AND c.x = :x AND c.y = :y AND c.version = v.version
               WHERE v.tbl = :t"""
        ),
        {"t": layer.table, "key": f"{SCHEMA}:{layer.name}:{key}", "z": z, "x": x, "y": y},
    ).one_or_none()
    if row is None:  # not tracked: no cache; the ETag is the content's
        data = render(conn, layer, q, z, x, y)
        tag = _digest(SCHEMA, layer.name, hashlib.sha1(data).hexdigest())
        return Tile(data, tag, None, False, bool(if_none_match and tag in if_none_match))
    ver, cached = row
    tag = etag_for(layer, ver, key, z, x, y)
    if if_none_match and tag in if_none_match:
        return Tile(b"", tag, ver, cached is not None, True)
    if cached is not None:
        return Tile(bytes(cached), tag, ver, True)
    data = render(conn, layer, q, z, x, y)
    conn.execute(
        text(
            """INSERT INTO tile_cache (tbl, key, z, x, y, version, tile)
               VALUES (:t, :key, :z, :x, :y, :v, :tile)
               ON CONFLICT (tbl, key, z, x, y) DO UPDATE
               SET version = EXCLUDED.version, tile = EXCLUDED.tile, created_at = now()
               WHERE tile_cache.version < EXCLUDED.version"""
        ),
        {
            "t": layer.table,
            "key": f"{SCHEMA}:{layer.name}:{key}",
            "z": z,
            "x": x,
            "y": y,
            "v": ver,
            "tile": data,
        },
    )
    if random.randrange(PRUNE_ONE_IN) == 0:
        prune(conn, layer)
    return Tile(data, tag, ver, False)


def prune(conn: Connection, layer: Layer | None = None) -> int:
    """Drop cached tiles of versions that are no longer current."""
    sql = """DELETE FROM tile_cache c USING layer_versions v
             WHERE c.tbl = v.tbl AND c.version < v.version"""
    params: dict[str, Any] = {}
    if layer is not None:
        sql += " AND c.tbl = :t"
        params["t"] = layer.table
    return conn.execute(text(sql), params).rowcount
