"""Comments on budget proposals: threaded, moderated like consultation comments.

* ``proposal_comments``: the same states as ``consultation_comments`` ('pending' while an
  unconfirmed account's comment waits for a moderator, 'published', 'hidden' with
  ``hidden_at``/``hidden_reason``), a ``supports`` counter moved in the same statement as
  ``proposal_comment_supports`` (one support per person), ``external_id`` = ``web:<form_key>``
  so the same form posted twice leaves one comment.
* The proposal's edits by its author are kept in ``audit_log`` (``proposal.edit``) with the
  previous values in ``proposal_versions`` (the history everyone sees).

Revision ID: 0013_proposal_comments
Revises: 0009_ngos_initiatives
"""

from alembic import op

revision = "0013_proposal_comments"
down_revision = "0009_ngos_initiatives"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE proposal_comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id text UNIQUE,
    proposal_id bigint NOT NULL REFERENCES budget_proposals (id) ON DELETE CASCADE,
    body text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 5000),
    reply_to bigint REFERENCES proposal_comments (id) ON DELETE SET NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'hidden')),
    supports integer NOT NULL DEFAULT 0 CHECK (supports >= 0),
    author_id bigint REFERENCES users (id) ON DELETE SET NULL,
    hidden_at timestamptz,
    hidden_reason text CHECK (length(hidden_reason) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX proposal_comments_proposal ON proposal_comments (proposal_id, id);
CREATE INDEX proposal_comments_pending ON proposal_comments (created_at) WHERE status = 'pending';
CREATE INDEX proposal_comments_author ON proposal_comments (author_id) WHERE author_id IS NOT NULL;

CREATE TABLE proposal_comment_supports (
    comment_id bigint NOT NULL REFERENCES proposal_comments (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (comment_id, user_id)
);

CREATE TABLE proposal_versions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id bigint NOT NULL REFERENCES budget_proposals (id) ON DELETE CASCADE,
    audit_id bigint REFERENCES audit_log (id) ON DELETE SET NULL,
    editor_id bigint REFERENCES users (id) ON DELETE SET NULL,
    at timestamptz NOT NULL DEFAULT now(),
    phase text,
    changes jsonb NOT NULL
);
CREATE INDEX proposal_versions_proposal ON proposal_versions (proposal_id, at);
""")


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS proposal_versions, proposal_comment_supports, proposal_comments"
    )
