"""Core: extensions, districts, the city outline and the shared feature trigger.

Revision ID: 0001_core
Revises:
"""

from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute(
        """
CREATE TABLE districts (
    number smallint PRIMARY KEY CHECK (number BETWEEN 1 AND 99),
    name text NOT NULL,
    full_name text NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    population integer CHECK (population >= 0),
    population_date date,
    population_label text,
    source text NOT NULL
);
CREATE INDEX districts_geom_gist ON districts USING gist (geom);

-- The city outline: the union of its districts with the slivers between them filled.
-- Derived from districts when they are loaded; kept because every write checks it.
CREATE TABLE city (
    slug text PRIMARY KEY,
    name text NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX city_geom_gist ON city USING gist (geom);

CREATE TABLE reference_loads (
    name text PRIMARY KEY,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    rows integer NOT NULL,
    source text NOT NULL
);

CREATE FUNCTION civic_feature_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.geom IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM city c WHERE ST_CoveredBy(NEW.geom, c.geom)) THEN
            RAISE EXCEPTION 'geometry lies outside the city'
                USING ERRCODE = 'CV001', COLUMN = 'geom';
        END IF;
        NEW.districts := ARRAY(
            SELECT d.number FROM districts d
            WHERE ST_Intersects(d.geom, NEW.geom)
              AND (ST_Dimension(NEW.geom) = 0 OR NOT ST_Touches(d.geom, NEW.geom))
            ORDER BY d.number);
        IF cardinality(NEW.districts) = 0 THEN
            -- a point in a sliver between two districts: the nearest one
            NEW.districts := ARRAY(
                SELECT d.number FROM districts d
                ORDER BY d.geom <-> NEW.geom LIMIT 1);
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS civic_feature_write() CASCADE")
    op.execute("DROP TABLE IF EXISTS reference_loads, city, districts CASCADE")
