"""District councils (Rady Dzielnic): opinions on budget proposals and priority rankings.

One opinion per council and proposal (UNIQUE (proposal_id, district)); a new opinion of the
same council replaces the old one (INSERT … ON CONFLICT DO UPDATE; the app records the change
in the audit log). A council ranks its district's proposals of an edition; a rank and a
proposal appear at most once per (district, edition).

``budget_proposals.council_opinion`` is a summary the database derives from the opinions
(positive / negative / remarks, or ``mixed`` when the councils of a proposal's districts
disagree): the map popup, the API, the OGC collection and the exports read it like any other
public field. A trigger recomputes it on every write to either table, so no client can set it.

Revision ID: 0006_councils
Revises: 0002_layers
"""

from alembic import op

revision = "0006_councils"
down_revision = "0002_layers"
branch_labels = None
depends_on = ("0003_accounts",)


def upgrade() -> None:
    op.execute("""
CREATE TYPE council_opinion_kind AS ENUM ('positive', 'negative', 'remarks');

CREATE TABLE council_opinions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id bigint NOT NULL REFERENCES budget_proposals (id) ON DELETE CASCADE,
    district smallint NOT NULL REFERENCES districts (number) ON DELETE CASCADE,
    opinion council_opinion_kind NOT NULL,
    justification text NOT NULL CHECK (length(btrim(justification)) BETWEEN 1 AND 5000),
    resolution_date date NOT NULL CHECK (resolution_date BETWEEN '1990-01-01' AND '2100-12-31'),
    resolution_ref text CHECK (resolution_ref IS NULL OR length(btrim(resolution_ref)) BETWEEN 1 AND 120),
    author_id bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT council_opinions_one_per_council UNIQUE (proposal_id, district)
);
CREATE INDEX council_opinions_district ON council_opinions (district, updated_at DESC);

CREATE TABLE council_priorities (
    district smallint NOT NULL REFERENCES districts (number) ON DELETE CASCADE,
    edition smallint NOT NULL CHECK (edition BETWEEN 2013 AND 2100),
    proposal_id bigint NOT NULL REFERENCES budget_proposals (id) ON DELETE CASCADE,
    rank smallint NOT NULL CHECK (rank BETWEEN 1 AND 1000),
    author_id bigint REFERENCES users (id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT council_priorities_rank UNIQUE (district, edition, rank),
    CONSTRAINT council_priorities_proposal UNIQUE (district, edition, proposal_id)
);
CREATE INDEX council_priorities_proposal_id ON council_priorities (proposal_id);

-- The council's queue is "newest first, in district n": with these a page of it walks the
-- newest rows and stops (the GIN index on districts serves small districts and counts).
CREATE INDEX budget_proposals_created_at ON budget_proposals (created_at DESC, id DESC);
CREATE INDEX consultation_comments_created_at ON consultation_comments (created_at DESC, id DESC);

ALTER TABLE budget_proposals ADD COLUMN council_opinion text
    CHECK (council_opinion IN ('positive', 'negative', 'remarks', 'mixed'));

-- The summary is derived, never written by a client: recomputed before every write.
CREATE FUNCTION budget_proposal_council_opinion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.council_opinion := NULL;
    ELSE
        NEW.council_opinion := (
            SELECT CASE WHEN count(DISTINCT o.opinion) > 1 THEN 'mixed'
                        ELSE min(o.opinion::text) END
            FROM council_opinions o WHERE o.proposal_id = NEW.id);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER budget_proposals_council_opinion BEFORE INSERT OR UPDATE ON budget_proposals
    FOR EACH ROW EXECUTE FUNCTION budget_proposal_council_opinion();

-- A changed opinion touches its proposal (which recomputes the summary and updated_at, so
-- incremental exports and MSIP synchronisation see the change).
CREATE FUNCTION council_opinion_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE budget_proposals SET council_opinion = NULL WHERE id = OLD.proposal_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.proposal_id <> OLD.proposal_id) THEN
        UPDATE budget_proposals SET council_opinion = NULL WHERE id = NEW.proposal_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER council_opinions_touch AFTER INSERT OR UPDATE OR DELETE ON council_opinions
    FOR EACH ROW EXECUTE FUNCTION council_opinion_touch();
""")


def downgrade() -> None:
    op.execute("""
DROP TRIGGER IF EXISTS budget_proposals_council_opinion ON budget_proposals;
DROP FUNCTION IF EXISTS budget_proposal_council_opinion() CASCADE;
DROP TABLE IF EXISTS council_priorities, council_opinions CASCADE;
DROP INDEX IF EXISTS budget_proposals_created_at, consultation_comments_created_at;
DROP FUNCTION IF EXISTS council_opinion_touch() CASCADE;
ALTER TABLE budget_proposals DROP COLUMN IF EXISTS council_opinion;
DROP TYPE IF EXISTS council_opinion_kind;
""")
