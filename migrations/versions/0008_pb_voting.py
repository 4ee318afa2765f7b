"""Budżet Obywatelski voting, results and execution.

* ``ballots`` (0002) keeps the counted ballots: one row per pool of a cast ballot (the city-wide
  part and the district part are two rows, as in the pabulib files). Its ``id`` stops being a
  sequence: new rows get a random id (``pb_random_id()``), so an id says nothing about when a
  ballot was cast. ``voting_point`` records where a paper ballot was cast (a civic venue).
* ``pb_urn`` — ballots just cast, not yet shuffled into ``ballots``: a flush moves them in
  random order (civic/pb/ballots.py). The tally counts both tables.
* ``pb_voter_register`` — who has voted, and nothing about how: PRIMARY KEY (edition,
  identity_key), the identity key being an HMAC (server secret) of the normalised full name, date
  of birth and address. One ballot per person and edition, across channels, by this key alone.
  No user id, no timestamp.
* ``pb_declarations`` — an account's declared district for an edition (once: PRIMARY KEY) and
  whether the account has voted (``voted``, set once by a conditional UPDATE). No ballot link.
* ``pb_invalid_ballots`` — invalid paper ballots with the reason, counted apart.
* ``pb_mes_results`` — the Method of Equal Shares' outcome per pool (pabutools is slow on the
  city-wide pools: computed once, kept with the pabutools version and the ballot count).
* ``pb_execution``, ``pb_milestones``, ``pb_follows`` — execution of selected projects.

Revision ID: 0008_pb_voting
Revises: 0002_layers
"""

from alembic import op

revision = "0008_pb_voting"
down_revision = "0002_layers"
branch_labels = None
depends_on = ("0003_accounts", "0007_pb_editions")

INVALID_REASONS = ("too_many", "too_few", "repeated", "unknown_project", "unreadable", "other")
EXECUTION_STATES = ("planned", "design", "tender", "works", "completed", "abandoned")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.execute(f"""
CREATE FUNCTION pb_random_id() RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT (('x' || substr(md5(gen_random_uuid()::text), 1, 16))::bit(64)::bigint
            & 9223372036854775807)
$$;
ALTER TABLE ballots ALTER COLUMN id DROP IDENTITY IF EXISTS;
ALTER TABLE ballots ALTER COLUMN id SET DEFAULT pb_random_id();
ALTER TABLE ballots ADD COLUMN voting_point bigint REFERENCES civic_venues (id) ON DELETE SET NULL;

CREATE TABLE pb_urn (
    slot uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    edition smallint NOT NULL,
    scope text NOT NULL CHECK (scope IN ('district', 'citywide')),
    district smallint NOT NULL DEFAULT 0,
    voter_district smallint,
    voting_method text NOT NULL CHECK (voting_method IN ('internet', 'paper')),
    voting_point bigint REFERENCES civic_venues (id) ON DELETE SET NULL,
    choices text[] NOT NULL CHECK (cardinality(choices) = 3),
    source text NOT NULL
);
CREATE INDEX pb_urn_unit ON pb_urn (edition, scope, district);

CREATE TABLE pb_voter_register (
    edition smallint NOT NULL,
    identity_key bytea NOT NULL CHECK (length(identity_key) = 32),
    channel text NOT NULL CHECK (channel IN ('internet', 'paper')),
    PRIMARY KEY (edition, identity_key)
);

CREATE TABLE pb_declarations (
    edition smallint NOT NULL,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    district smallint NOT NULL REFERENCES districts (number),
    voted boolean NOT NULL DEFAULT false,
    PRIMARY KEY (edition, user_id)
);

CREATE TABLE pb_invalid_ballots (
    id bigint PRIMARY KEY DEFAULT pb_random_id(),
    edition smallint NOT NULL,
    district smallint REFERENCES districts (number),
    voting_point bigint REFERENCES civic_venues (id) ON DELETE SET NULL,
    reason text NOT NULL CHECK (reason IN ({_in(INVALID_REASONS)})),
    note text CHECK (length(note) <= 500)
);
CREATE INDEX pb_invalid_ballots_edition ON pb_invalid_ballots (edition, district);

CREATE TABLE pb_mes_results (
    edition smallint NOT NULL,
    scope text NOT NULL CHECK (scope IN ('district', 'citywide')),
    district smallint NOT NULL DEFAULT 0,
    method text NOT NULL,
    ballots integer NOT NULL,
    funded text[] NOT NULL,
    engine text NOT NULL,
    seconds numeric(10, 2),
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (edition, scope, district, method)
);

CREATE TABLE pb_execution (
    proposal_id bigint PRIMARY KEY REFERENCES budget_proposals (id) ON DELETE CASCADE,
    responsible_unit text CHECK (length(responsible_unit) <= 200),
    status text NOT NULL DEFAULT 'planned' CHECK (status IN ({_in(EXECUTION_STATES)})),
    progress smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    actual_cost numeric(14, 2) CHECK (actual_cost >= 0),
    abandoned_reason text CHECK (length(abandoned_reason) <= 2000),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pb_execution_abandoned CHECK (
        (status = 'abandoned') = (abandoned_reason IS NOT NULL AND length(btrim(abandoned_reason)) > 0)),
    CONSTRAINT pb_execution_completed CHECK (status <> 'completed' OR progress = 100)
);
CREATE TABLE pb_milestones (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id bigint NOT NULL REFERENCES pb_execution (proposal_id) ON DELETE CASCADE,
    on_date date NOT NULL,
    note text NOT NULL CHECK (length(btrim(note)) BETWEEN 1 AND 2000),
    photo text CHECK (photo ~ '^[0-9a-f]{{32}}\\.(jpg|png)$'),
    actor_id bigint REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX pb_milestones_proposal ON pb_milestones (proposal_id, on_date);
CREATE TABLE pb_follows (
    proposal_id bigint NOT NULL REFERENCES budget_proposals (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (proposal_id, user_id)
);
""")


def downgrade() -> None:
    op.execute("""
DROP TABLE IF EXISTS pb_follows, pb_milestones, pb_execution, pb_mes_results,
    pb_invalid_ballots, pb_declarations, pb_voter_register, pb_urn CASCADE;
ALTER TABLE ballots DROP COLUMN IF EXISTS voting_point;
ALTER TABLE ballots ALTER COLUMN id DROP DEFAULT;
ALTER TABLE ballots ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
SELECT setval(pg_get_serial_sequence('ballots', 'id'), coalesce(max(id), 0) + 1, false) FROM ballots;
DROP FUNCTION IF EXISTS pb_random_id();
""")
