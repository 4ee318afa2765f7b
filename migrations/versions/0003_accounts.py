"""Accounts, sessions, e-mail tokens, rate limits, moderation (flags, audit log), notifications.

Only what the process needs is collected: e-mail, a display name, the district of residence.
No PESEL, no phone number. A deleted account leaves a row without personal data (a tombstone)
so that the audit log keeps its meaning; contributions lose their author (author_id NULL).

Revision ID: 0003_accounts
Revises: 0002_layers
"""

from alembic import op

revision = "0003_accounts"
down_revision = "0002_layers"
branch_labels = None
depends_on = None

ROLES = ("resident", "ngo", "council", "official", "planner", "moderator", "admin")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.execute(f"""
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text CHECK (email IS NULL OR (length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%')),
    name text CHECK (name IS NULL OR length(btrim(name)) BETWEEN 1 AND 80),
    password_hash text,
    district smallint REFERENCES districts (number) ON DELETE SET NULL,
    roles text[] NOT NULL DEFAULT '{{resident}}'
        CHECK (roles <@ ARRAY[{_in(ROLES)}]::text[]),
    ngo_id bigint REFERENCES ngo_locations (id) ON DELETE SET NULL,
    council_district smallint REFERENCES districts (number) ON DELETE SET NULL,
    confirmed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    -- a live account has an e-mail, a name and a password; a deleted one has none of them
    CONSTRAINT users_live_or_deleted CHECK (
        (deleted_at IS NULL AND email IS NOT NULL AND name IS NOT NULL AND password_hash IS NOT NULL)
        OR (deleted_at IS NOT NULL AND email IS NULL AND password_hash IS NULL))
);
-- one account per address, whatever its case
CREATE UNIQUE INDEX users_email_lower ON users (lower(email)) WHERE email IS NOT NULL;

-- confirmation and reset links: only a SHA-256 of the token is stored
CREATE TABLE email_tokens (
    token_hash bytea PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('confirm', 'reset')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- server-side sessions: the signed cookie carries a random id, the table its SHA-256;
-- logout, password reset and deletion remove rows, so a copied cookie stops working
CREATE TABLE user_sessions (
    id_hash bytea PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    user_agent text
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);
CREATE INDEX user_sessions_expires ON user_sessions (expires_at);

-- rate limits shared by every worker: one counter per bucket, key and time window
CREATE TABLE rate_limits (
    bucket text NOT NULL,
    key text NOT NULL,
    window_start bigint NOT NULL,
    count integer NOT NULL DEFAULT 1,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (bucket, key, window_start)
);
CREATE INDEX rate_limits_expires ON rate_limits (expires_at);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_id bigint REFERENCES users (id) ON DELETE SET NULL,
    action text NOT NULL CHECK (length(action) BETWEEN 1 AND 80),
    target_table text NOT NULL CHECK (target_table ~ '^[a-z_][a-z0-9_]*$'),
    target_id bigint,
    reason text CHECK (length(reason) <= 2000)
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_target ON audit_log (target_table, target_id);

CREATE TABLE notifications (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_key text NOT NULL CHECK (length(message_key) BETWEEN 1 AND 80),
    params jsonb NOT NULL DEFAULT '{{}}',
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC);

-- anyone signed in flags content; one flag per person and item (the UNIQUE makes a
-- double click or a second tab harmless)
CREATE TABLE flags (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_table text NOT NULL CHECK (target_table ~ '^[a-z_][a-z0-9_]*$'),
    target_id bigint NOT NULL,
    user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    reason text NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 1000),
    created_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by bigint REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT flags_one_per_user UNIQUE (user_id, target_table, target_id)
);
CREATE INDEX flags_open ON flags (target_table, target_id) WHERE resolved_at IS NULL;

-- contributions name their author; the author's deletion leaves them anonymous
ALTER TABLE budget_proposals
    ADD CONSTRAINT budget_proposals_author FOREIGN KEY (author_id)
        REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX budget_proposals_author_id ON budget_proposals (author_id) WHERE author_id IS NOT NULL;
ALTER TABLE consultation_comments
    ADD COLUMN hidden_at timestamptz,
    ADD COLUMN hidden_reason text CHECK (length(hidden_reason) <= 2000),
    ADD CONSTRAINT consultation_comments_author FOREIGN KEY (author_id)
        REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX consultation_comments_author_id ON consultation_comments (author_id)
    WHERE author_id IS NOT NULL;
CREATE INDEX consultation_comments_pending ON consultation_comments (created_at)
    WHERE status = 'pending';
""")


def downgrade() -> None:
    op.execute("""
DROP INDEX IF EXISTS consultation_comments_pending, consultation_comments_author_id,
    budget_proposals_author_id;
ALTER TABLE consultation_comments DROP CONSTRAINT IF EXISTS consultation_comments_author,
    DROP COLUMN IF EXISTS hidden_at, DROP COLUMN IF EXISTS hidden_reason;
ALTER TABLE budget_proposals DROP CONSTRAINT IF EXISTS budget_proposals_author;
DROP TABLE IF EXISTS flags, notifications, audit_log, rate_limits, user_sessions, email_tokens,
    users CASCADE;
""")
