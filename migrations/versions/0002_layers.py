"""The participation layers, civic venues, past budget results and ballots.

Revision ID: 0002_layers
Revises: 0001_core
"""

from alembic import op

from geo.schema import drop_feature_table_sql, feature_table_sql

revision = "0002_layers"
down_revision = "0001_core"
branch_labels = None
depends_on = None

ANY_GEOMETRY = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")
PROPOSAL_STATES = (
    "draft",
    "submitted",
    "under_review",
    "accepted_for_vote",
    "rejected",
    "selected",
    "not_selected",
    "in_execution",
    "completed",
)
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
VENUE_TYPES = (
    "library",
    "culture",
    "school",
    "university",
    "council_seat",
    "city_office",
    "social_welfare",
    "other",
)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.execute(
        feature_table_sql(
            "budget_proposals",
            f"""
        edition smallint NOT NULL CHECK (edition BETWEEN 2013 AND 2100),
        title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 500),
        description text CHECK (length(description) <= 10000),
        category text,
        cost numeric(14, 2) CHECK (cost >= 0),
        scope text NOT NULL CHECK (scope IN ('district', 'citywide')),
        status text NOT NULL DEFAULT 'draft' CHECK (status IN ({_in(PROPOSAL_STATES)})),
        rejection_reason text,
        votes integer CHECK (votes >= 0),
        score integer CHECK (score >= 0),
        selected boolean,
        source text,
        author_id bigint,
        hidden_at timestamptz,
        hidden_reason text,
        CONSTRAINT budget_proposals_located CHECK (
            scope = 'citywide' OR geom IS NOT NULL OR cardinality(districts) > 0)
    """,
            ANY_GEOMETRY,
        )
    )
    op.execute("CREATE INDEX budget_proposals_edition ON budget_proposals (edition, status)")
    op.execute(
        "CREATE INDEX budget_proposals_title_trgm ON budget_proposals USING gin (title gin_trgm_ops)"
    )

    op.execute(
        feature_table_sql(
            "consultations",
            """
        title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
        description text,
        opens_on date NOT NULL,
        closes_on date NOT NULL,
        stage text NOT NULL DEFAULT 'planned' CHECK (stage IN ('planned', 'open', 'closed', 'report')),
        documents_url text,
        demo boolean NOT NULL DEFAULT false,
        CONSTRAINT consultations_dates CHECK (closes_on >= opens_on)
    """,
            ("Polygon", "MultiPolygon"),
            geometry_required=True,
        )
    )

    op.execute(
        feature_table_sql(
            "consultation_comments",
            """
        consultation_id bigint NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
        body text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 5000),
        reply_to bigint REFERENCES consultation_comments (id) ON DELETE SET NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'hidden')),
        supports integer NOT NULL DEFAULT 0 CHECK (supports >= 0),
        author_id bigint
    """,
            ("Point", "LineString", "Polygon"),
        )
    )
    op.execute(
        "CREATE INDEX consultation_comments_consultation ON consultation_comments (consultation_id)"
    )
    # A comment lies inside its consultation's area and arrives while the consultation is open.
    op.execute("""
CREATE FUNCTION consultation_comment_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE c consultations%ROWTYPE;
BEGIN
    SELECT * INTO c FROM consultations WHERE id = NEW.consultation_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no consultation %', NEW.consultation_id
            USING ERRCODE = 'CV004', COLUMN = 'consultation_id';
    END IF;
    IF TG_OP = 'INSERT' AND current_date NOT BETWEEN c.opens_on AND c.closes_on THEN
        RAISE EXCEPTION 'the consultation is not open for comments (% – %)', c.opens_on, c.closes_on
            USING ERRCODE = 'CV003', COLUMN = 'consultation_id';
    END IF;
    IF NEW.geom IS NOT NULL AND NOT ST_CoveredBy(NEW.geom, c.geom) THEN
        RAISE EXCEPTION 'the comment lies outside the consultation area'
            USING ERRCODE = 'CV002', COLUMN = 'geom';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultation_comments_check BEFORE INSERT OR UPDATE OF geom, consultation_id
    ON consultation_comments FOR EACH ROW EXECUTE FUNCTION consultation_comment_check();
""")

    op.execute(
        feature_table_sql(
            "ngo_locations",
            f"""
        name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 300),
        krs text CHECK (krs ~ '^[0-9]{{10}}$'),
        address text,
        fields text[] NOT NULL DEFAULT '{{}}' CHECK (fields <@ ARRAY[{_in(NGO_FIELDS)}]::text[]),
        districts_served smallint[] NOT NULL DEFAULT '{{}}',
        website text,
        demo boolean NOT NULL DEFAULT false,
        service_area geometry(MultiPolygon, 4326) CHECK (service_area IS NULL OR ST_IsValid(service_area))
    """,
            ("Point",),
            geometry_required=True,
        )
    )

    op.execute(
        feature_table_sql(
            "revitalisation_areas",
            """
        name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 300),
        code text,
        programme text,
        period text,
        demo boolean NOT NULL DEFAULT false
    """,
            ("Polygon", "MultiPolygon"),
            geometry_required=True,
        )
    )

    op.execute(
        feature_table_sql(
            "civic_venues",
            f"""
        name text NOT NULL,
        type text NOT NULL CHECK (type IN ({_in(VENUE_TYPES)})),
        address text,
        accessibility text[] NOT NULL DEFAULT '{{}}',
        source text
    """,
            ("Point",),
            geometry_required=True,
        )
    )

    # Past editions: the money each unit had (META budget) and the ballots, without personal data.
    op.execute("""
CREATE TABLE budget_pools (
    edition smallint NOT NULL,
    scope text NOT NULL CHECK (scope IN ('district', 'citywide')),
    district smallint NOT NULL DEFAULT 0,  -- 0 for the city-wide pool
    budget numeric(14, 2) NOT NULL CHECK (budget >= 0),
    num_projects integer,
    num_votes integer,
    vote_type text,
    date_begin date,
    date_end date,
    source text NOT NULL,
    PRIMARY KEY (edition, scope, district)
);
CREATE TABLE ballots (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    edition smallint NOT NULL,
    scope text NOT NULL CHECK (scope IN ('district', 'citywide')),
    district smallint NOT NULL DEFAULT 0,  -- the unit voted in (0 = city-wide)
    voter_district smallint,  -- where the voter lives, when the source records it
    voting_method text,
    choices text[] NOT NULL,  -- external ids of the projects, in ballot order
    source text NOT NULL
);
CREATE INDEX ballots_unit ON ballots (edition, scope, district);
""")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ballots, budget_pools CASCADE")
    for t in (
        "civic_venues",
        "revitalisation_areas",
        "ngo_locations",
        "consultation_comments",
        "consultations",
        "budget_proposals",
    ):
        op.execute(drop_feature_table_sql(t))
    op.execute("DROP FUNCTION IF EXISTS consultation_comment_check() CASCADE")
