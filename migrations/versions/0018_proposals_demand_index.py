"""The planners' demand per district (issue 11): a covering index for its aggregate.

``geo.analysis.demand.demand_by_district`` groups the public budget proposals by edition and
set of districts and sums their cost. With this partial index (public rows only: the layer's
``public_where`` is ``t.hidden_at IS NULL``) ordered by (edition, districts) and carrying
status and cost, that is an index-only scan feeding a streaming aggregate: no heap pages (the
table is ~3x the index, with geometry and text), no hash of every row's array. One edition
reads only its own slice; the editions list (``layers.query.distinct_values``) probes it
once per edition as well.

Revision ID: 0018_proposals_demand_index
Revises: 0002_layers
"""

from alembic import op

revision = "0018_proposals_demand_index"
down_revision = "0002_layers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS budget_proposals_demand ON budget_proposals "
        "(edition, districts) INCLUDE (status, cost) WHERE hidden_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS budget_proposals_demand")
