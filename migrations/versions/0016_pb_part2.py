"""Budżet Obywatelski, part 2: results and execution as map layers, voting-point staff.

* ``pb_result_rows`` — the last computed result of every pool, one row per project (Kraków's
  rule: funded or not, rank, points, voters, final cost, cumulative cost; MES beside it when
  kept). civic.pb.results.store() writes it from the engine (the results page, ``civicmap
  results``, closing the urn); nothing else does. ``geom`` is the project's location or, for a
  district project without one (every pabulib project), a point inside its district
  (``located`` false) so that the winners can be drawn per district.
* ``pb_results`` — the view the ``pb-results`` layer reads (layers/pb_results.py): the feature
  table layout (id, external_id, geom, districts, created_at, updated_at) plus the results.
  The OGC API collection for MSIP, the exports and the layers API come from the layer.
* ``pb_execution_map`` — the view the ``pb-execution`` layer reads: every selected project of
  every edition with its execution status (planned when nothing is reported yet).
* the ``voting_point`` role (users.roles' check) and ``pb_voting_point_staff`` — which civic venue (voting point) an account with the
  ``voting_point`` role enters paper ballots at.

Revision ID: 0016_pb_part2
Revises: 0008_pb_voting
"""

from alembic import op

revision = "0016_pb_part2"
down_revision = "0008_pb_voting"
branch_labels = None
depends_on = ("0003_accounts",)

ROLES = ("resident", "ngo", "council", "official", "planner", "moderator", "admin", "voting_point")


def _roles_check(roles) -> str:
    values = ", ".join(f"'{r}'" for r in roles)
    return f"""
DO $$ DECLARE c text; BEGIN
  SELECT conname INTO c FROM pg_constraint WHERE conrelid = 'users'::regclass
    AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%roles <@%';
  IF c IS NOT NULL THEN EXECUTE format('ALTER TABLE users DROP CONSTRAINT %I', c); END IF;
END $$;
ALTER TABLE users ADD CONSTRAINT users_roles_check CHECK (roles <@ ARRAY[{values}]::text[]);
"""


def upgrade() -> None:
    op.execute("""
CREATE TABLE pb_result_rows (
    proposal_id bigint PRIMARY KEY REFERENCES budget_proposals (id) ON DELETE CASCADE,
    edition smallint NOT NULL,
    scope text NOT NULL CHECK (scope IN ('district', 'citywide')),
    pool_district smallint NOT NULL DEFAULT 0,
    pool_name text NOT NULL,
    pool_ballots integer NOT NULL,
    rank integer NOT NULL,
    points integer NOT NULL,
    votes integer NOT NULL,
    first_choices integer NOT NULL,
    cost numeric(14, 2) NOT NULL,
    cumulative_cost numeric(14, 2) NOT NULL,
    funded boolean NOT NULL,
    funded_mes boolean,
    published_selected boolean,
    located boolean NOT NULL,
    geom geometry(Geometry, 4326),
    districts smallint[] NOT NULL DEFAULT '{}',
    computed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pb_result_rows_edition ON pb_result_rows (edition, pool_district, rank);
CREATE INDEX pb_result_rows_geom ON pb_result_rows USING gist (geom);
CREATE INDEX pb_result_rows_districts ON pb_result_rows USING gin (districts);

CREATE VIEW pb_results AS
SELECT r.proposal_id AS id, p.external_id, r.geom, r.districts,
       r.computed_at AS created_at, r.computed_at AS updated_at,
       r.edition, r.scope, r.pool_district, r.pool_name, p.title, r.rank, r.points, r.votes,
       r.first_choices, r.cost, r.cumulative_cost,
       CASE WHEN r.funded THEN 'funded' ELSE 'not_funded' END AS outcome,
       r.funded, r.funded_mes, r.published_selected, r.pool_ballots, r.located
FROM pb_result_rows r JOIN budget_proposals p ON p.id = r.proposal_id
WHERE p.hidden_at IS NULL;

CREATE VIEW pb_execution_map AS
SELECT p.id, p.external_id,
       coalesce(p.geom, CASE WHEN p.scope = 'district' THEN d.pt END) AS geom,
       p.districts, p.created_at, coalesce(e.updated_at, p.updated_at) AS updated_at,
       p.edition, p.title, p.scope, p.pool_district,
       coalesce(e.status, 'planned') AS status, coalesce(e.progress, 0) AS progress,
       e.responsible_unit, e.actual_cost, e.abandoned_reason,
       coalesce(p.final_cost, p.cost) AS cost, p.geom IS NOT NULL AS located
FROM budget_proposals p
LEFT JOIN pb_execution e ON e.proposal_id = p.id
LEFT JOIN (SELECT number, ST_PointOnSurface(geom) AS pt FROM districts) d
       ON d.number = p.pool_district
WHERE p.status IN ('selected', 'in_execution', 'completed') AND p.hidden_at IS NULL;

-- New district boundaries make every layer recompute its features' districts with
-- "UPDATE <table> SET geom = geom" (importers/districts.py): for these views there is nothing
-- to recompute (their sources are the tables, whose own triggers do it).
CREATE RULE pb_results_no_update AS ON UPDATE TO pb_results DO INSTEAD NOTHING;
CREATE RULE pb_execution_map_no_update AS ON UPDATE TO pb_execution_map DO INSTEAD NOTHING;

CREATE TABLE pb_voting_point_staff (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    venue_id bigint NOT NULL REFERENCES civic_venues (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, venue_id)
);
""")
    op.execute(_roles_check(ROLES))


def downgrade() -> None:
    op.execute("UPDATE users SET roles = array_remove(roles, 'voting_point')")
    op.execute(_roles_check(ROLES[:-1]))
    op.execute("""
DROP TABLE IF EXISTS pb_voting_point_staff;
DROP VIEW IF EXISTS pb_execution_map;
DROP VIEW IF EXISTS pb_results;
DROP TABLE IF EXISTS pb_result_rows;
""")
