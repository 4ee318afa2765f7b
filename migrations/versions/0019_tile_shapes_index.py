"""Vector tiles at cluster zooms (issue 11): a partial GiST index of the lines and polygons.

Below the cluster zoom a tile carries the points of a layer as cluster cells and its lines
and polygons as features (layers/tiles.py). The features' statement asks for the rows in the
tile that are not points (``ST_GeometryType(geom) <> 'ST_Point'``); through the full GiST
index that meant reading every point in the tile to drop it (1.5 s of a 4 s z 11 tile over
1 000 000 proposals). This index holds only the other rows, so the statement reads just them.

The clusters' statement asks for the points (``ST_GeometryType(geom) = 'ST_Point'``): without
statistics on that expression the planner assumed 0.5 % of the rows match, planned ~2 300
rows for a tile of 460 000 points and sorted them on disk to group them. Statistics on the
expression (PostgreSQL 14+) give it the real share, and it hashes them.

For the layer tables whose points cluster and that allow other geometry types.

Revision ID: 0019_tile_shapes_index
Revises: 0015_tile_cache
"""

from alembic import op

revision = "0019_tile_shapes_index"
down_revision = "0015_tile_cache"
branch_labels = None
depends_on = ("0009_ngos_initiatives",)  # local_initiatives

TABLES = ("budget_proposals", "consultation_comments", "local_initiatives")


def upgrade() -> None:
    for t in TABLES:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {t}_geom_shapes ON {t} USING gist (geom) "
            "WHERE ST_GeometryType(geom) <> 'ST_Point'"
        )
        op.execute(
            f"CREATE STATISTICS IF NOT EXISTS {t}_geom_type_stats ON (ST_GeometryType(geom)) "
            f"FROM {t}"
        )
        op.execute(f"ANALYZE {t}")


def downgrade() -> None:
    for t in TABLES:
        op.execute(f"DROP STATISTICS IF EXISTS {t}_geom_type_stats")
        op.execute(f"DROP INDEX IF EXISTS {t}_geom_shapes")
