"""NGO organisation profiles (claims, members, places) and Inicjatywa Lokalna (local initiatives,
the pledge ledger, assessments, yearly pools).

* ``ngo_organisations``: the profile an NGO keeps itself; its places are rows of the existing
  ``ngo_locations`` layer table (``organisation_id``, ``kind`` seat/branch). A place of an
  organisation is public only once the organisation is (the layer's ``public_where``).
* ``ngo_claims``: "this is our organisation" — KRS + a contact e-mail that confirms the claim
  (only a SHA-256 of the link's token is stored), then a moderator's decision.
* ``ngo_members``: users who keep the profile current.
* ``local_initiatives`` (a layer table, geo.schema.feature_table_sql): applications all year.
* ``initiative_pledges``: the ledger — ONE line per person, kind and initiative (a UNIQUE
  constraint: a second pledge of the same kind edits the line).
* ``initiative_assessments``: 0–45 / 0–45 / 0–10 with a justification per part.
* ``initiative_pools``: the yearly pool and the PLN value of an hour of social work.

Revision ID: 0009_ngos_initiatives
Revises: 0002_layers (needs 0003_accounts)
"""

from alembic import op

from geo.schema import drop_feature_table_sql, feature_table_sql

revision = "0009_ngos_initiatives"
down_revision = "0002_layers"
branch_labels = None
depends_on = ("0003_accounts",)

NGO_FIELDS = (
    "social_assistance",
    "charity",
    "health",
    "disability",
    "seniors",
    "family",
    "children_youth",
    "education",
    "culture",
    "sport",
    "tourism",
    "ecology",
    "public_safety",
    "local_community",
    "human_rights",
    "foreigners",
    "employment",
    "volunteering",
    "revitalisation",
    "other",
)
TARGET_GROUPS = (
    "children",
    "youth",
    "adults",
    "seniors",
    "families",
    "people_with_disabilities",
    "homeless",
    "migrants",
    "unemployed",
    "women",
    "animals",
    "everyone",
)
LEGAL_FORMS = ("association", "foundation", "ordinary_association", "church_entity", "other")
ORG_STATES = ("draft", "pending", "public", "rejected", "hidden")
INITIATIVE_STATES = (
    "submitted",
    "under_assessment",
    "accepted",
    "rejected",
    "in_progress",
    "completed",
)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.execute(f"""
CREATE TABLE ngo_organisations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 300),
    krs text CHECK (krs ~ '^[0-9]{{10}}$' AND krs <> '0000000000'),
    legal_form text CHECK (legal_form IN ({_in(LEGAL_FORMS)})),
    fields text[] NOT NULL DEFAULT '{{}}' CHECK (fields <@ ARRAY[{_in(NGO_FIELDS)}]::text[]),
    target_groups text[] NOT NULL DEFAULT '{{}}'
        CHECK (target_groups <@ ARRAY[{_in(TARGET_GROUPS)}]::text[]),
    districts_served smallint[] NOT NULL DEFAULT '{{}}',
    service_area geometry(MultiPolygon, 4326)
        CHECK (service_area IS NULL OR ST_IsValid(service_area)),
    opening_hours text CHECK (length(opening_hours) <= 1000),
    offer text CHECK (length(offer) <= 5000),
    website text CHECK (length(website) <= 300),
    public_email text CHECK (length(public_email) <= 254),
    public_phone text CHECK (length(public_phone) <= 40),
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ({_in(ORG_STATES)})),
    status_reason text CHECK (length(status_reason) <= 2000),
    created_by bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
-- one profile per KRS number
CREATE UNIQUE INDEX ngo_organisations_krs ON ngo_organisations (krs) WHERE krs IS NOT NULL;
CREATE INDEX ngo_organisations_status ON ngo_organisations (status);
CREATE INDEX ngo_organisations_service_area ON ngo_organisations USING gist (service_area);

CREATE TABLE ngo_members (
    organisation_id bigint NOT NULL REFERENCES ngo_organisations (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL DEFAULT 'editor' CHECK (role IN ('owner', 'editor')),
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, user_id)
);
CREATE INDEX ngo_members_user ON ngo_members (user_id);

CREATE TABLE ngo_claims (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint NOT NULL REFERENCES ngo_organisations (id) ON DELETE CASCADE,
    user_id bigint REFERENCES users (id) ON DELETE CASCADE,
    location_id bigint REFERENCES ngo_locations (id) ON DELETE SET NULL,
    krs text NOT NULL CHECK (krs ~ '^[0-9]{{10}}$'),
    contact_email text NOT NULL
        CHECK (length(contact_email) BETWEEN 3 AND 254 AND contact_email LIKE '%_@_%'),
    token_hash bytea UNIQUE,
    expires_at timestamptz NOT NULL,
    confirmed_at timestamptz,
    status text NOT NULL DEFAULT 'unconfirmed'
        CHECK (status IN ('unconfirmed', 'confirmed', 'approved', 'rejected')),
    decided_by bigint REFERENCES users (id) ON DELETE SET NULL,
    decided_at timestamptz,
    reason text CHECK (length(reason) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ngo_claims_confirmed CHECK (status IN ('unconfirmed', 'rejected')
        OR confirmed_at IS NOT NULL)
);
-- one open claim per person and organisation (a double submit edits nothing twice)
CREATE UNIQUE INDEX ngo_claims_open ON ngo_claims (organisation_id, user_id)
    WHERE status IN ('unconfirmed', 'confirmed');

ALTER TABLE ngo_locations
    ADD COLUMN organisation_id bigint REFERENCES ngo_organisations (id) ON DELETE CASCADE,
    ADD COLUMN kind text NOT NULL DEFAULT 'seat' CHECK (kind IN ('seat', 'branch')),
    ADD COLUMN place_name text CHECK (length(place_name) <= 200),
    ADD COLUMN target_groups text[] NOT NULL DEFAULT '{{}}'
        CHECK (target_groups <@ ARRAY[{_in(TARGET_GROUPS)}]::text[]);
CREATE INDEX ngo_locations_organisation ON ngo_locations (organisation_id)
    WHERE organisation_id IS NOT NULL;
-- an organisation has at most one seat
CREATE UNIQUE INDEX ngo_locations_one_seat ON ngo_locations (organisation_id)
    WHERE organisation_id IS NOT NULL AND kind = 'seat';
""")

    op.execute(
        feature_table_sql(
            "local_initiatives",
            f"""
        year smallint NOT NULL CHECK (year BETWEEN 2011 AND 2100),
        title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
        description text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 10000),
        address text CHECK (length(address) <= 300),
        city_task text NOT NULL CHECK (length(btrim(city_task)) BETWEEN 1 AND 5000),
        schedule text NOT NULL CHECK (length(btrim(schedule)) BETWEEN 1 AND 2000),
        starts_on date,
        ends_on date,
        city_cost numeric(12, 2) NOT NULL CHECK (city_cost >= 0),
        applicant_kind text NOT NULL CHECK (applicant_kind IN ('residents', 'ngo')),
        organisation_id bigint REFERENCES ngo_organisations (id) ON DELETE SET NULL,
        applicant_name text NOT NULL CHECK (length(btrim(applicant_name)) BETWEEN 1 AND 300),
        status text NOT NULL DEFAULT 'submitted' CHECK (status IN ({_in(INITIATIVE_STATES)})),
        status_reason text CHECK (length(status_reason) <= 2000),
        pool_year smallint,
        score smallint CHECK (score BETWEEN 0 AND 100),
        pledged_value numeric NOT NULL DEFAULT 0 CHECK (pledged_value >= 0),
        delivered_value numeric NOT NULL DEFAULT 0 CHECK (delivered_value >= 0),
        supporters integer NOT NULL DEFAULT 0 CHECK (supporters >= 0),
        author_id bigint REFERENCES users (id) ON DELETE SET NULL,
        CONSTRAINT local_initiatives_dates CHECK (ends_on IS NULL OR starts_on IS NULL
            OR ends_on >= starts_on),
        CONSTRAINT local_initiatives_ngo CHECK (applicant_kind = 'residents'
            OR organisation_id IS NOT NULL),
        CONSTRAINT local_initiatives_rejected_reason CHECK (status <> 'rejected'
            OR length(btrim(status_reason)) > 0),
        CONSTRAINT local_initiatives_committed CHECK (
            status NOT IN ('accepted', 'in_progress', 'completed') OR pool_year IS NOT NULL)
    """,
            ("Point", "LineString", "Polygon"),
            geometry_required=True,
        )
    )
    op.execute("""
CREATE INDEX local_initiatives_year ON local_initiatives (year, status);
CREATE INDEX local_initiatives_pool ON local_initiatives (pool_year) WHERE pool_year IS NOT NULL;
CREATE INDEX local_initiatives_organisation ON local_initiatives (organisation_id)
    WHERE organisation_id IS NOT NULL;

CREATE TABLE initiative_pools (
    year smallint PRIMARY KEY CHECK (year BETWEEN 2011 AND 2100),
    amount numeric(14, 2) NOT NULL CHECK (amount >= 0),
    hour_value numeric(8, 2) NOT NULL CHECK (hour_value > 0),
    note text CHECK (length(note) <= 500),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Kraków's published pools. The hour value is seeded with the statutory minimum hourly rate
-- of the year (19,70 zł in 2022, 27,70 zł from 1 January 2024); staff change it when the
-- city's resolution sets another value (docs/local-initiative.md).
INSERT INTO initiative_pools (year, amount, hour_value, note) VALUES
    (2022, 150000, 19.70, 'Inicjatywa Lokalna 2022'),
    (2024, 195000, 27.70, 'Inicjatywa Lokalna 2024');

CREATE TABLE initiative_applicants (
    initiative_id bigint NOT NULL REFERENCES local_initiatives (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (initiative_id, user_id)
);

-- the support list: one signature per person and initiative
CREATE TABLE initiative_supports (
    initiative_id bigint NOT NULL REFERENCES local_initiatives (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (initiative_id, user_id)
);

CREATE TABLE initiative_pledges (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    initiative_id bigint NOT NULL REFERENCES local_initiatives (id) ON DELETE CASCADE,
    user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    kind text NOT NULL CHECK (kind IN ('work', 'goods', 'money')),
    hours numeric(8, 1) CHECK (hours > 0 AND hours <= 10000),
    work_kind text CHECK (length(work_kind) <= 300),
    item text CHECK (length(item) <= 300),
    quantity numeric(12, 2) CHECK (quantity > 0),
    unit_value numeric(12, 2) CHECK (unit_value >= 0),
    amount numeric(12, 2) CHECK (amount > 0),
    pseudonym text CHECK (length(btrim(pseudonym)) BETWEEN 1 AND 80),
    delivered numeric(12, 2) CHECK (delivered >= 0),  -- hours, quantity or PLN, as pledged
    delivered_at timestamptz,
    delivered_by bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT initiative_pledges_one_line UNIQUE (initiative_id, user_id, kind),
    CONSTRAINT initiative_pledges_shape CHECK (
        (kind = 'work' AND hours IS NOT NULL AND length(btrim(work_kind)) > 0
            AND item IS NULL AND quantity IS NULL AND amount IS NULL)
        OR (kind = 'goods' AND length(btrim(item)) > 0 AND quantity IS NOT NULL
            AND unit_value IS NOT NULL AND hours IS NULL AND amount IS NULL)
        OR (kind = 'money' AND amount IS NOT NULL AND hours IS NULL AND item IS NULL
            AND quantity IS NULL)),
    CONSTRAINT initiative_pledges_delivered CHECK ((delivered IS NULL) = (delivered_at IS NULL))
);
CREATE INDEX initiative_pledges_initiative ON initiative_pledges (initiative_id);

CREATE TABLE initiative_assessments (
    initiative_id bigint PRIMARY KEY REFERENCES local_initiatives (id) ON DELETE CASCADE,
    usefulness smallint NOT NULL CHECK (usefulness BETWEEN 0 AND 45),
    usefulness_reason text NOT NULL CHECK (length(btrim(usefulness_reason)) BETWEEN 1 AND 4000),
    contribution smallint NOT NULL CHECK (contribution BETWEEN 0 AND 45),
    contribution_reason text NOT NULL
        CHECK (length(btrim(contribution_reason)) BETWEEN 1 AND 4000),
    extra smallint NOT NULL CHECK (extra BETWEEN 0 AND 10),
    extra_reason text NOT NULL CHECK (length(btrim(extra_reason)) BETWEEN 1 AND 4000),
    total smallint GENERATED ALWAYS AS (usefulness + contribution + extra) STORED,
    assessor_id bigint REFERENCES users (id) ON DELETE SET NULL,
    assessed_at timestamptz NOT NULL DEFAULT now()
);
""")


def downgrade() -> None:
    op.execute("""
DROP TABLE IF EXISTS initiative_assessments, initiative_pledges, initiative_supports,
    initiative_applicants, initiative_pools CASCADE;
""")
    op.execute(drop_feature_table_sql("local_initiatives"))
    op.execute("""
DROP INDEX IF EXISTS ngo_locations_one_seat, ngo_locations_organisation;
ALTER TABLE ngo_locations DROP COLUMN IF EXISTS organisation_id, DROP COLUMN IF EXISTS kind,
    DROP COLUMN IF EXISTS place_name, DROP COLUMN IF EXISTS target_groups;
DROP TABLE IF EXISTS ngo_claims, ngo_members, ngo_organisations CASCADE;
""")
