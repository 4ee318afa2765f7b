"""DDL shared by every feature table, so that each layer's table follows one contract.

Every layer table has: ``id`` (stable public id), ``external_id`` (unique; imports upsert
on it), ``geom`` (EPSG:4326, GiST-indexed, valid, of the layer's allowed types, inside the
city), ``districts`` (computed by the database from the geometry), ``created_at`` and
``updated_at``. The trigger ``civic_feature_write`` enforces "inside the city" and fills in
``districts``; a feature without geometry keeps the districts it was given (a "whole
district" proposal).
"""

from __future__ import annotations

import re

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")

GEOMETRY_TYPES = {
    "Point": ("ST_Point",),
    "LineString": ("ST_LineString",),
    "Polygon": ("ST_Polygon",),
    "MultiPoint": ("ST_MultiPoint",),
    "MultiLineString": ("ST_MultiLineString",),
    "MultiPolygon": ("ST_MultiPolygon",),
}


def ident(name: str) -> str:
    """Refuse anything that is not a plain lower-case SQL identifier."""
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def feature_table_sql(
    table: str, columns_sql: str, geometry_types: tuple[str, ...], geometry_required: bool = False
) -> str:
    """CREATE TABLE + index + trigger for one layer table.

    ``columns_sql`` holds the layer's own columns (``"title text NOT NULL, cost numeric"``).
    """
    t = ident(table)
    allowed = ", ".join(f"'{GEOMETRY_TYPES[g][0]}'" for g in geometry_types)
    null_ok = "" if geometry_required else "geom IS NULL OR "
    extra = f",\n    {columns_sql.strip().rstrip(',')}" if columns_sql.strip() else ""
    return f"""
CREATE TABLE {t} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id text UNIQUE,
    geom geometry(Geometry, 4326){" NOT NULL" if geometry_required else ""},
    districts smallint[] NOT NULL DEFAULT '{{}}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(){extra},
    CONSTRAINT {t}_geom_valid CHECK ({null_ok}ST_IsValid(geom)),
    CONSTRAINT {t}_geom_type CHECK ({null_ok}ST_GeometryType(geom) IN ({allowed}))
);
CREATE INDEX {t}_geom_gist ON {t} USING gist (geom);
CREATE INDEX {t}_districts_gin ON {t} USING gin (districts);
CREATE INDEX {t}_updated_at ON {t} (updated_at);
CREATE TRIGGER {t}_write BEFORE INSERT OR UPDATE ON {t}
    FOR EACH ROW EXECUTE FUNCTION civic_feature_write();
"""


def drop_feature_table_sql(table: str) -> str:
    return f"DROP TABLE IF EXISTS {ident(table)} CASCADE;"
