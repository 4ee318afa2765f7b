"""Sync log: every export, every OGC pull with ``datetime`` and every MSIP import.

The city wants to see what MSIP (or anyone) has taken from us and when: one row per export
file, per OGC API items page requested with ``datetime`` (an incremental sync), and per
``civicmap import arcgis|wfs`` run. Rows hold no personal data: the client is the
remote address and user agent of the request, or "cli".

Revision ID: 0005_sync_log
Revises: 0001_core
"""

from alembic import op

revision = "0005_sync_log"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE sync_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    layer text NOT NULL,
    op text NOT NULL CHECK (op IN ('export', 'ogc-items', 'import')),
    format text NOT NULL,
    crs text,
    features integer NOT NULL CHECK (features >= 0),
    params jsonb NOT NULL DEFAULT '{}',
    client text NOT NULL DEFAULT ''
);
CREATE INDEX sync_log_at ON sync_log (at DESC);
CREATE INDEX sync_log_layer_at ON sync_log (layer, at DESC);
"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS sync_log")
