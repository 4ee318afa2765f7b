"""The execution layer's editions (issue 11): a partial index of the selected projects.

The city map lists the editions of every layer for its filters (``layers.query.
distinct_values``: one index probe per edition). For the ``pb-execution`` layer those come
through the view ``pb_execution_map``, whose rows are the selected, executed or completed
public proposals: with only the ``(edition)`` index each probe walked the edition's proposals
on the heap to find a selected one (577 ms a page at 1 000 000 proposals). This index holds
exactly the view's rows, so each probe reads one entry.

Revision ID: 0020_execution_edition_index
Revises: 0017_pb_execution_popup
"""

from alembic import op

revision = "0020_execution_edition_index"
down_revision = "0017_pb_execution_popup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS budget_proposals_selected_edition ON budget_proposals "
        "(edition) WHERE status = ANY (ARRAY['selected', 'in_execution', 'completed']) "
        "AND hidden_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS budget_proposals_selected_edition")
