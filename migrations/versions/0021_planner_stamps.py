"""The planners' data stamp without counting whole tables (issue 11).

A planner result is cached under a stamp of the data it reads (civic/planning/jobs.py). The
stamp was ``count(*), max(id), max(updated_at)`` of every table, on every request: a scan of
each table (budget_proposals included) for each answer. The version rows of migration 0015
already change with every write of the layer tables; this tracks the two support tables and
the budget pools the same way, so that the stamp is one indexed read of ``layer_versions``.

Revision ID: 0021_planner_stamps
Revises: 0015_tile_cache
"""

from alembic import op

revision = "0021_planner_stamps"
down_revision = "0015_tile_cache"
branch_labels = None
depends_on = ("0004_gazetteer",)

TABLES = ("proposal_supports", "comment_supports", "budget_pools")


def upgrade() -> None:
    for t in TABLES:
        op.execute(f"SELECT civic_track_layer('{t}')")


def downgrade() -> None:
    for t in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {t}_tile_version ON {t}")
        op.execute(f"DELETE FROM layer_versions WHERE tbl = '{t}'")
