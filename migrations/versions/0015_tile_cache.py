"""Vector tiles (issue 11): a version per layer table, bumped by every write, and a tile cache.

``layer_versions`` holds one row per tracked table. A statement-level trigger on the table
(``civic_layer_changed``) bumps it after every INSERT, UPDATE, DELETE or TRUNCATE, whoever
writes: importers, forms, the CLI or plain SQL. The row is updated in the writer's own
transaction, so a reader sees the new version exactly when it sees the new rows. A table
whose public rows depend on another table (``ngo_locations`` on ``ngo_organisations``) gets
the trigger on that table as well, naming the layer table as the trigger's argument.

``tile_cache`` (UNLOGGED: a cache, rebuilt after a crash) keeps the MVT bytes of a tile under
(table, filters key, z, x, y) with the version they were built from; layers/tiles.py serves a
row only while its version is current. A table without a ``layer_versions`` row is served
uncached.

Revision ID: 0015_tile_cache
Revises: 0013_proposal_comments
"""

from alembic import op

revision = "0015_tile_cache"
down_revision = "0013_proposal_comments"
branch_labels = None
depends_on = ("0007_pb_editions",)  # city_land_parcels

# (table with the trigger, layer table whose version it bumps)
TRACKED = (
    ("budget_proposals", "budget_proposals"),
    ("consultations", "consultations"),
    ("consultation_comments", "consultation_comments"),
    ("ngo_locations", "ngo_locations"),
    ("ngo_organisations", "ngo_locations"),
    ("revitalisation_areas", "revitalisation_areas"),
    ("civic_venues", "civic_venues"),
    ("city_land_parcels", "city_land_parcels"),
    ("local_initiatives", "local_initiatives"),
    ("districts", "districts"),
)


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE layer_versions (
    tbl text PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNLOGGED TABLE tile_cache (
    tbl text NOT NULL,
    key text NOT NULL,
    z smallint NOT NULL,
    x integer NOT NULL,
    y integer NOT NULL,
    version bigint NOT NULL,
    tile bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tbl, key, z, x, y)
);

CREATE FUNCTION civic_layer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO layer_versions AS v (tbl) VALUES (coalesce(TG_ARGV[0], TG_TABLE_NAME))
    ON CONFLICT (tbl) DO UPDATE SET version = v.version + 1, changed_at = now();
    RETURN NULL;
END $$;

-- Track a table: its writes bump the version of layer_table (default: itself). A later
-- migration adding a layer table calls this once.
CREATE FUNCTION civic_track_layer(tbl text, layer_table text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
        'FOR EACH STATEMENT EXECUTE FUNCTION civic_layer_changed(%L)',
        tbl || '_tile_version', tbl, coalesce(layer_table, tbl));
    INSERT INTO layer_versions (tbl) VALUES (coalesce(layer_table, tbl)) ON CONFLICT DO NOTHING;
END $$;
"""
    )
    for table, layer_table in TRACKED:
        op.execute(
            f"""DO $$ BEGIN
                IF to_regclass('public.{table}') IS NOT NULL THEN
                    PERFORM civic_track_layer('{table}', '{layer_table}');
                END IF;
            END $$"""
        )


def downgrade() -> None:
    for table, _ in TRACKED:
        op.execute(
            f"""DO $$ BEGIN
                IF to_regclass('public.{table}') IS NOT NULL THEN
                    EXECUTE 'DROP TRIGGER IF EXISTS {table}_tile_version ON {table}';
                END IF;
            END $$"""
        )
    op.execute(
        "DROP FUNCTION IF EXISTS civic_track_layer(text, text); "
        "DROP FUNCTION IF EXISTS civic_layer_changed(); "
        "DROP TABLE IF EXISTS tile_cache; DROP TABLE IF EXISTS layer_versions;"
    )
