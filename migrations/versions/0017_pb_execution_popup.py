"""Budżet Obywatelski: the execution map's features carry their latest milestone.

``pb_execution_map`` (the ``pb-execution`` layer, migration 0016) gains, at its end:

* ``milestone_date``, ``milestone_note`` — the project's latest milestone (by date, then id);
  the note cut to 200 characters (the project's execution page has it in full);
* ``photo_url`` — the latest milestone photo, as the photo route of app/pb/execution.py serves
  it (``/budget/execution/photos/<name>``; a root-relative URL, the host is the site's);
* ``execution_url`` — the project's execution page, ``/budget/execution/<id>``.

Only what is public already: the view holds selected, not hidden projects, and the photo route
serves exactly the photos of their milestones (civic.pb.execution.milestone_photo_visible).

Revision ID: 0017_pb_execution_popup
Revises: 0016_pb_part2
"""

from alembic import op

revision = "0017_pb_execution_popup"
down_revision = "0016_pb_part2"
branch_labels = None
depends_on = None

_0016 = """
SELECT p.id, p.external_id,
       coalesce(p.geom, CASE WHEN p.scope = 'district' THEN d.pt END) AS geom,
       p.districts, p.created_at, coalesce(e.updated_at, p.updated_at) AS updated_at,
       p.edition, p.title, p.scope, p.pool_district,
       coalesce(e.status, 'planned') AS status, coalesce(e.progress, 0) AS progress,
       e.responsible_unit, e.actual_cost, e.abandoned_reason,
       coalesce(p.final_cost, p.cost) AS cost, p.geom IS NOT NULL AS located{extra}
FROM budget_proposals p
LEFT JOIN pb_execution e ON e.proposal_id = p.id
LEFT JOIN (SELECT number, ST_PointOnSurface(geom) AS pt FROM districts) d
       ON d.number = p.pool_district{joins}
WHERE p.status IN ('selected', 'in_execution', 'completed') AND p.hidden_at IS NULL
"""

EXTRA = """,
       lm.on_date AS milestone_date,
       CASE WHEN length(lm.note) > 200 THEN left(lm.note, 199) || '…' ELSE lm.note END
           AS milestone_note,
       '/budget/execution/photos/' || lp.photo AS photo_url,
       '/budget/execution/' || p.id AS execution_url"""

JOINS = """
LEFT JOIN LATERAL (SELECT m.on_date, m.note FROM pb_milestones m WHERE m.proposal_id = p.id
                   ORDER BY m.on_date DESC, m.id DESC LIMIT 1) lm ON true
LEFT JOIN LATERAL (SELECT m.photo FROM pb_milestones m
                   WHERE m.proposal_id = p.id AND m.photo IS NOT NULL
                   ORDER BY m.on_date DESC, m.id DESC LIMIT 1) lp ON true"""


def upgrade() -> None:
    # new columns at the end: CREATE OR REPLACE keeps the view (and its no-update rule)
    op.execute(
        "CREATE OR REPLACE VIEW pb_execution_map AS" + _0016.format(extra=EXTRA, joins=JOINS)
    )


def downgrade() -> None:
    op.execute(f"""
DROP VIEW IF EXISTS pb_execution_map;
CREATE VIEW pb_execution_map AS {_0016.format(extra="", joins="")};
CREATE RULE pb_execution_map_no_update AS ON UPDATE TO pb_execution_map DO INSTEAD NOTHING;
""")
