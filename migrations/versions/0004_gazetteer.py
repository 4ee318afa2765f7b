"""Participation: the offline gazetteer, supports, and what the propose form stores.

* ``gazetteer``: Kraków places, streets and addresses searched with pg_trgm + unaccent.
  ``search`` is a generated, normalised key (``civic_search_key``: unaccented, lower case,
  punctuation folded to single spaces), so "zablocie" finds "Zabłocie" through a trigram
  GIN index. ``unaccent()`` itself is only STABLE (its dictionary could change), which an
  index or a generated column refuses; ``civic_unaccent`` pins the dictionary and is
  declared IMMUTABLE — the usual, documented wrapper.
* ``comment_supports`` / ``proposal_supports``: one support per person and item, enforced
  by the primary key; the app inserts with ON CONFLICT DO NOTHING and, for comments, bumps
  ``consultation_comments.supports`` in the same statement. ``user_id`` references
  ``users`` (migration 0003, another branch: ``depends_on`` orders it first); deleting an
  account keeps the row pointing at the anonymised tombstone, so "one per person" holds.
* ``budget_proposals`` gains ``photo`` (file name under var/uploads) and ``address`` (what
  the resident picked in the address search). A proposal's supports are counted from
  ``proposal_supports`` when read (a counter column would bump ``updated_at`` — the MSIP
  sync cursor — on every support).

Revision ID: 0004_gazetteer
Revises: 0002_layers
"""

from alembic import op

revision = "0004_gazetteer"
down_revision = "0002_layers"
branch_labels = None
depends_on = "0003_accounts"

KINDS = ("district", "quarter", "neighbourhood", "street", "address", "venue")


def upgrade() -> None:
    kinds = ", ".join(f"'{k}'" for k in KINDS)
    op.execute(
        r"""
CREATE FUNCTION civic_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

-- The comparison key: no diacritics, lower case, anything but letters and digits
-- (ASCII and Cyrillic) folded to one space. Python's geo.gazetteer.search_key mirrors it.
CREATE FUNCTION civic_search_key(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT btrim(regexp_replace(lower(public.civic_unaccent($1)),
                                      '[^a-z0-9\u0400-\u04ff]+', ' ', 'g')) $$;
"""
    )
    op.execute(
        f"""
CREATE TABLE gazetteer (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ({kinds})),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 300),
    street text,
    house_number text CHECK (house_number IS NULL OR length(house_number) <= 20),
    postcode text,
    district smallint,
    geom geometry(Point, 4326) NOT NULL CHECK (ST_IsValid(geom)),
    search text GENERATED ALWAYS AS (civic_search_key(name)) STORED,
    source text NOT NULL,
    external_id text,
    CONSTRAINT gazetteer_source_id UNIQUE (source, external_id)
);
CREATE INDEX gazetteer_search_trgm ON gazetteer USING gin (search gin_trgm_ops);
CREATE INDEX gazetteer_geom_gist ON gazetteer USING gist (geom);
-- One row per address and per street name in the city (Kraków is one locality): a PRG
-- import takes over an address that the civic-places data also had.
CREATE UNIQUE INDEX gazetteer_unique_address ON gazetteer (kind, search)
    WHERE kind IN ('address', 'street');

CREATE TABLE comment_supports (
    comment_id bigint NOT NULL REFERENCES consultation_comments (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (comment_id, user_id)
);
CREATE INDEX comment_supports_user ON comment_supports (user_id);

CREATE TABLE proposal_supports (
    proposal_id bigint NOT NULL REFERENCES budget_proposals (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (proposal_id, user_id)
);
CREATE INDEX proposal_supports_user ON proposal_supports (user_id);

ALTER TABLE budget_proposals
    ADD COLUMN photo text CHECK (photo ~ '^[0-9a-f]{{32}}\\.(jpg|png)$'),
    ADD COLUMN address text CHECK (length(address) <= 300);
CREATE INDEX consultation_comments_reply_to ON consultation_comments (reply_to)
    WHERE reply_to IS NOT NULL;
"""
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS consultation_comments_reply_to")
    op.execute(
        "ALTER TABLE budget_proposals DROP COLUMN IF EXISTS photo, DROP COLUMN IF EXISTS address"
    )
    op.execute("DROP TABLE IF EXISTS proposal_supports, comment_supports, gazetteer CASCADE")
    op.execute("DROP FUNCTION IF EXISTS civic_search_key(text)")
    op.execute("DROP FUNCTION IF EXISTS civic_unaccent(text)")
