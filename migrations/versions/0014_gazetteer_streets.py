"""Streets across districts: a street of the gazetteer knows every district its addresses lie
in (``districts``) and the extent they span (``extent``), so "Karmelicka" answers Stare
Miasto and Krowodrza, and a map zooms to the whole street rather than one of its points.
Other kinds get ``districts`` = their one district.

Revision ID: 0014_gazetteer_streets
Revises: 0004_gazetteer
"""

from alembic import op

revision = "0014_gazetteer_streets"
down_revision = "0004_gazetteer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE gazetteer
    ADD COLUMN districts smallint[] NOT NULL DEFAULT '{}',
    ADD COLUMN extent geometry(Polygon, 4326) CHECK (extent IS NULL OR ST_IsValid(extent));
"""
    )
    from geo.gazetteer import STREET_EXTENTS_SQL

    op.execute(STREET_EXTENTS_SQL.replace("CAST(:source AS text)", "CAST(NULL AS text)"))


def downgrade() -> None:
    op.execute(
        "ALTER TABLE gazetteer DROP COLUMN IF EXISTS districts, DROP COLUMN IF EXISTS extent"
    )
