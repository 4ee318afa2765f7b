"""Budżet Obywatelski editions as data: schedule, pools with cost limits, support lists,
reviews, protests, merges, the ballot list, status history; the city-land constraint layer.

* ``pb_editions`` — one row per edition (keyed by its year, like budget_proposals.edition and
  budget_pools.edition); its rules (support count and days, correction working days, protest
  days, title length, city-wide share cap) are columns with Kraków 2025's values as defaults.
* ``pb_edition_phases`` — the dates (Europe/Warsaw, inclusive) of every phase of an edition.
* ``budget_pools`` (0002) gains ``min_cost`` / ``max_cost``: the cost limits of each pool.
* ``pb_supports`` — online signatures, UNIQUE (proposal_id, user_id): one per person and
  project, whatever the concurrency; ``pb_paper_lists`` — paper lists recorded by staff.
* ``pb_reviews`` — formal and merit decisions, UNIQUE (proposal_id, stage).
* ``pb_protests`` — one protest per proposal (UNIQUE), its hearing and outcome.
* ``pb_merges`` / ``pb_merge_sources`` — a merge and each source's author's confirmation;
  a proposal is in at most one open merge (partial unique index).
* ``pb_status_history`` — every status change of a proposal with date, actor and reason.
* ``city_land_parcels`` — a constraint layer (parcels and who owns them).

Revision ID: 0007_pb_editions
Revises: 0006_councils
"""

from alembic import op

from geo.schema import drop_feature_table_sql, feature_table_sql

revision = "0007_pb_editions"
down_revision = "0006_councils"
branch_labels = None
depends_on = ("0003_accounts",)

PHASES = (
    "submission",
    "formal_review",
    "merit_review",
    "protests",
    "ballot_list",
    "withdrawals",
    "voting",
    "results",
    "execution",
)
STATES = (
    "draft",
    "submitted",
    "correction",
    "no_support_list",
    "under_review",
    "accepted_for_vote",
    "rejected",
    "protested",
    "withdrawn",
    "merged",
    "selected",
    "not_selected",
    "in_execution",
    "completed",
)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.execute(f"""
CREATE TABLE pb_editions (
    year smallint PRIMARY KEY CHECK (year BETWEEN 2013 AND 2100),
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    closed boolean NOT NULL DEFAULT false,
    support_count integer NOT NULL DEFAULT 15 CHECK (support_count BETWEEN 0 AND 10000),
    support_days integer NOT NULL DEFAULT 10 CHECK (support_days BETWEEN 1 AND 365),
    correction_days integer NOT NULL DEFAULT 5 CHECK (correction_days BETWEEN 1 AND 60),
    protest_days integer NOT NULL DEFAULT 10 CHECK (protest_days BETWEEN 1 AND 60),
    title_max integer NOT NULL DEFAULT 60 CHECK (title_max BETWEEN 10 AND 500),
    citywide_max_share numeric(5, 4) NOT NULL DEFAULT 0.2
        CHECK (citywide_max_share > 0 AND citywide_max_share <= 1),
    ballot_published_at timestamptz,
    source text NOT NULL DEFAULT 'admin',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pb_edition_phases (
    edition smallint NOT NULL REFERENCES pb_editions (year) ON DELETE CASCADE,
    phase text NOT NULL CHECK (phase IN ({_in(PHASES)})),
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    PRIMARY KEY (edition, phase),
    CONSTRAINT pb_edition_phases_order CHECK (ends_on >= starts_on)
);

-- each phase of an edition is recorded (and audited) once, when it is first seen open
CREATE TABLE pb_phase_log (
    edition smallint NOT NULL REFERENCES pb_editions (year) ON DELETE CASCADE,
    phase text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (edition, phase)
);

ALTER TABLE budget_pools
    ADD COLUMN min_cost numeric(14, 2) CHECK (min_cost >= 0),
    ADD COLUMN max_cost numeric(14, 2) CHECK (max_cost >= 0),
    ADD CONSTRAINT budget_pools_limits CHECK (min_cost IS NULL OR max_cost IS NULL OR min_cost <= max_cost);

-- city units that verify projects (ZDMK roads, ZZM greenery, education...) and their verifiers
CREATE TABLE pb_units (
    code text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{{1,40}}$'),
    name_pl text NOT NULL,
    name_en text NOT NULL,
    name_uk text NOT NULL,
    categories text[] NOT NULL DEFAULT '{{}}'
);
CREATE TABLE pb_verifiers (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    unit text NOT NULL REFERENCES pb_units (code) ON DELETE CASCADE,
    PRIMARY KEY (user_id, unit)
);

ALTER TABLE budget_proposals DROP CONSTRAINT IF EXISTS budget_proposals_status_check;
ALTER TABLE budget_proposals
    ADD CONSTRAINT budget_proposals_status_check CHECK (status IN ({_in(STATES)})),
    ADD COLUMN pool_district smallint NOT NULL DEFAULT 0,  -- the district pool; 0 = city-wide
    ADD COLUMN final_cost numeric(14, 2) CHECK (final_cost >= 0),
    ADD COLUMN unit text REFERENCES pb_units (code) ON DELETE SET NULL,
    ADD COLUMN location_kind text CHECK (location_kind IN ('point', 'line', 'area', 'district', 'citywide')),
    ADD COLUMN declared_residency boolean,
    ADD COLUMN submitted_at timestamptz,
    ADD COLUMN support_deadline date,
    ADD COLUMN correction_deadline date,
    ADD COLUMN formal_gap text CHECK (length(formal_gap) <= 2000),
    ADD COLUMN review_reasons text[] NOT NULL DEFAULT '{{}}',
    ADD COLUMN rejection_stage text CHECK (rejection_stage IN ('formal', 'merit', 'protest')),
    ADD COLUMN ballot_number integer CHECK (ballot_number > 0),
    ADD COLUMN merged_into bigint REFERENCES budget_proposals (id) ON DELETE SET NULL,
    ADD COLUMN merged_from bigint[] NOT NULL DEFAULT '{{}}';
ALTER TABLE budget_proposals ADD CONSTRAINT budget_proposals_ballot_number
    UNIQUE (edition, scope, pool_district, ballot_number) DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE pb_supports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id bigint NOT NULL REFERENCES budget_proposals (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    district smallint,  -- the district the supporter declared living in
    declared_residency boolean NOT NULL CHECK (declared_residency),
    signed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pb_supports_one_per_person UNIQUE (proposal_id, user_id)
);
CREATE TABLE pb_paper_lists (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id bigint NOT NULL REFERENCES budget_proposals (id) ON DELETE CASCADE,
    signatures integer NOT NULL CHECK (signatures BETWEEN 1 AND 10000),
    scan_name text CHECK (length(scan_name) <= 200),
    scan_type text,
    scan bytea,
    recorded_by bigint REFERENCES users (id) ON DELETE SET NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pb_paper_lists_proposal ON pb_paper_lists (proposal_id);

CREATE TABLE pb_reviews (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id bigint NOT NULL REFERENCES budget_proposals (id) ON DELETE CASCADE,
    stage text NOT NULL CHECK (stage IN ('formal', 'merit')),
    unit text REFERENCES pb_units (code) ON DELETE SET NULL,
    reviewer_id bigint REFERENCES users (id) ON DELETE SET NULL,
    decision text NOT NULL CHECK (decision IN ('positive', 'negative')),
    checklist jsonb NOT NULL DEFAULT '{{}}',
    final_cost numeric(14, 2) CHECK (final_cost >= 0),
    reasons text[] NOT NULL DEFAULT '{{}}',
    reason_text text CHECK (length(reason_text) <= 5000),
    decided_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pb_reviews_one_per_stage UNIQUE (proposal_id, stage)
);

CREATE TABLE pb_protests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id bigint NOT NULL UNIQUE REFERENCES budget_proposals (id) ON DELETE CASCADE,
    author_id bigint REFERENCES users (id) ON DELETE SET NULL,
    justification text NOT NULL CHECK (length(btrim(justification)) BETWEEN 10 AND 5000),
    filed_at timestamptz NOT NULL DEFAULT now(),
    hearing_date date,
    participants text[] NOT NULL DEFAULT '{{}}',
    minutes text CHECK (length(minutes) <= 20000),
    outcome text CHECK (outcome IN ('upheld', 'dismissed')),
    decided_by bigint REFERENCES users (id) ON DELETE SET NULL,
    decided_at timestamptz
);

CREATE TABLE pb_merges (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    edition smallint NOT NULL REFERENCES pb_editions (year) ON DELETE CASCADE,
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 500),
    description text CHECK (length(description) <= 10000),
    proposed_by bigint REFERENCES users (id) ON DELETE SET NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'cancelled')),
    result_id bigint REFERENCES budget_proposals (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    done_at timestamptz
);
CREATE TABLE pb_merge_sources (
    merge_id bigint NOT NULL REFERENCES pb_merges (id) ON DELETE CASCADE,
    proposal_id bigint NOT NULL REFERENCES budget_proposals (id) ON DELETE CASCADE,
    author_id bigint REFERENCES users (id) ON DELETE SET NULL,
    confirmed_at timestamptz,
    open boolean NOT NULL DEFAULT true,
    PRIMARY KEY (merge_id, proposal_id)
);
CREATE UNIQUE INDEX pb_merge_sources_one_open ON pb_merge_sources (proposal_id) WHERE open;

CREATE TABLE pb_status_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id bigint NOT NULL REFERENCES budget_proposals (id) ON DELETE CASCADE,
    from_state text,
    to_state text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    actor_id bigint REFERENCES users (id) ON DELETE SET NULL,
    reason text CHECK (length(reason) <= 5000)
);
CREATE INDEX pb_status_history_proposal ON pb_status_history (proposal_id, at);

INSERT INTO pb_units (code, name_pl, name_en, name_uk, categories) VALUES
 ('zdmk', 'Zarząd Dróg Miasta Krakowa', 'City Roads Authority (ZDMK)', 'Управління доріг міста Кракова (ZDMK)',
  ARRAY['infrastructure', 'bicycle infrastructure', 'public transit', 'security']),
 ('zzm', 'Zarząd Zieleni Miejskiej', 'Municipal Greenery Authority (ZZM)', 'Управління міської зелені (ZZM)',
  ARRAY['urban greenery', 'environmental protection', 'public space']),
 ('edukacja', 'Wydział Edukacji', 'Education Department', 'Відділ освіти', ARRAY['education']),
 ('kultura', 'Wydział Kultury i Dziedzictwa Narodowego', 'Culture Department', 'Відділ культури',
  ARRAY['culture']),
 ('sport', 'Zarząd Infrastruktury Sportowej', 'Sports Infrastructure Authority', 'Управління спортивної інфраструктури',
  ARRAY['sport']),
 ('spoleczne', 'Wydział Polityki Społecznej i Zdrowia', 'Social Policy and Health Department',
  'Відділ соціальної політики та охорони здоров''я', ARRAY['society', 'health', 'welfare']);

-- Past editions exist as closed editions with the pools pabulib shipped: budget_pools is
-- filled by the importer after the migrations, so a pool of an unknown edition creates it
-- (closed). A new edition is inserted before its pools, so this never touches it.
INSERT INTO pb_editions (year, title, closed, source)
SELECT DISTINCT edition, 'Budżet Obywatelski ' || edition, true, 'pabulib'
FROM budget_pools ON CONFLICT DO NOTHING;
CREATE FUNCTION pb_pool_edition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pb_editions (year, title, closed, source)
    VALUES (NEW.edition, 'Budżet Obywatelski ' || NEW.edition, true, 'pabulib')
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$;
CREATE TRIGGER budget_pools_edition BEFORE INSERT ON budget_pools
    FOR EACH ROW EXECUTE FUNCTION pb_pool_edition();

-- The pool a proposal competes in: 0 for city-wide; for a district project the district the
-- author chose, or else its (first) district. Runs after budget_proposals_write ("x" > "w"),
-- which computes the districts from the geometry.
CREATE FUNCTION pb_proposal_pool() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.scope = 'citywide' THEN
        NEW.pool_district := 0;
    ELSIF coalesce(NEW.pool_district, 0) = 0 AND cardinality(NEW.districts) > 0 THEN
        NEW.pool_district := NEW.districts[1];
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER budget_proposals_x_pool BEFORE INSERT OR UPDATE ON budget_proposals
    FOR EACH ROW EXECUTE FUNCTION pb_proposal_pool();
UPDATE budget_proposals SET pool_district = pool_district;
""")
    op.execute(
        feature_table_sql(
            "city_land_parcels",
            """
        parcel_id text NOT NULL CHECK (length(btrim(parcel_id)) BETWEEN 1 AND 60),
        precinct text,
        owner text,
        city_owned boolean NOT NULL,
        synthetic boolean NOT NULL DEFAULT false,
        source text
    """,
            ("Polygon", "MultiPolygon"),
            geometry_required=True,
        )
    )


def downgrade() -> None:
    op.execute(drop_feature_table_sql("city_land_parcels"))
    op.execute("""
DROP TABLE IF EXISTS pb_status_history, pb_merge_sources, pb_merges, pb_protests, pb_reviews,
    pb_paper_lists, pb_supports, pb_verifiers CASCADE;
ALTER TABLE budget_proposals DROP CONSTRAINT IF EXISTS budget_proposals_ballot_number,
    DROP COLUMN IF EXISTS pool_district, DROP COLUMN IF EXISTS final_cost,
    DROP COLUMN IF EXISTS unit, DROP COLUMN IF EXISTS location_kind,
    DROP COLUMN IF EXISTS declared_residency, DROP COLUMN IF EXISTS submitted_at,
    DROP COLUMN IF EXISTS support_deadline, DROP COLUMN IF EXISTS correction_deadline,
    DROP COLUMN IF EXISTS formal_gap, DROP COLUMN IF EXISTS review_reasons,
    DROP COLUMN IF EXISTS rejection_stage, DROP COLUMN IF EXISTS ballot_number,
    DROP COLUMN IF EXISTS merged_into, DROP COLUMN IF EXISTS merged_from;
ALTER TABLE budget_proposals DROP CONSTRAINT IF EXISTS budget_proposals_status_check;
ALTER TABLE budget_proposals ADD CONSTRAINT budget_proposals_status_check CHECK (status IN (
    'draft', 'submitted', 'under_review', 'accepted_for_vote', 'rejected', 'selected',
    'not_selected', 'in_execution', 'completed'));
DROP TRIGGER IF EXISTS budget_proposals_x_pool ON budget_proposals;
DROP FUNCTION IF EXISTS pb_proposal_pool() CASCADE;
DROP TRIGGER IF EXISTS budget_pools_edition ON budget_pools;
DROP FUNCTION IF EXISTS pb_pool_edition() CASCADE;
DROP TABLE IF EXISTS pb_units, pb_phase_log, pb_edition_phases, pb_editions CASCADE;
ALTER TABLE budget_pools DROP CONSTRAINT IF EXISTS budget_pools_limits,
    DROP COLUMN IF EXISTS min_cost, DROP COLUMN IF EXISTS max_cost;
""")
