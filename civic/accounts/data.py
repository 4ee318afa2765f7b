"""A person's data: their contributions, the export of everything stored about them, and
the deletion of the account (public contributions stay, without their author)."""

from __future__ import annotations

import json
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, text

from civic import N_
from civic.accounts.users import PASSWORD_MAX, invalid, verify_password
from civic.audit import record_audit
from geo.schema import ident

# --- a person's data: contributions, export, deletion --------------------------------------------


def contributions(conn: Connection, user_id: int, limit: int = 200) -> list[dict]:
    """The user's proposals and comments with their state, newest first."""
    rows = conn.execute(
        text(
            """
(SELECT 'budget_proposals' AS kind, id, title AS label, status AS state,
        hidden_at IS NOT NULL AS hidden, created_at
 FROM budget_proposals WHERE author_id = :u)
UNION ALL
(SELECT 'consultation_comments', id, left(body, 120), status, status = 'hidden', created_at
 FROM consultation_comments WHERE author_id = :u)
ORDER BY created_at DESC LIMIT :lim"""
        ),
        {"u": user_id, "lim": limit},
    ).all()
    return [dict(r._mapping) for r in rows]


def user_references(conn: Connection) -> list[tuple[str, str, bool]]:
    """Every (table, column, nullable) with a foreign key to users — found in the catalogue,
    so tables other modules add later are exported and anonymised without new code here."""
    rows = conn.execute(
        text(
            """
SELECT c.conrelid::regclass::text AS tbl, a.attname AS col, NOT a.attnotnull AS nullable
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass AND cardinality(c.conkey) = 1
ORDER BY 1, 2"""
        )
    ).all()
    return [(r.tbl, r.col, r.nullable) for r in rows]


# what an export leaves out: secrets and the parts of the account row that mean nothing to a person
_SECRET_COLUMNS = ("password_hash", "token_hash", "id_hash")
_NOT_EXPORTED = {("email_tokens", "user_id")}


def _geometry_columns(conn: Connection, table: str) -> list[str]:
    return list(
        conn.execute(
            text(
                "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
                "AND atttypid = 'geometry'::regtype AND NOT attisdropped AND attnum > 0"
            ),
            {"t": table},
        ).scalars()
    )


def export_user_data(conn: Connection, user_id: int) -> dict[str, Any]:
    """Everything stored about one person, as JSON-ready data (their rows only)."""
    account = conn.execute(
        text(
            "SELECT id, email, name, district, roles, ngo_id, council_district, confirmed_at, "
            "created_at FROM users WHERE id = :id"
        ),
        {"id": user_id},
    ).first()
    out: dict[str, Any] = {
        "format": "civicmap-user-export/1",
        "account": json.loads(json.dumps(dict(account._mapping), default=str)) if account else None,
        "data": {},
    }
    for table, column, _nullable in user_references(conn):
        if (table, column) in _NOT_EXPORTED or table == "users":
            continue
        t, c = ident(table), ident(column)
        geoms = _geometry_columns(conn, t)
        expr = "to_jsonb(x)"
        for gcol in [*_SECRET_COLUMNS, *geoms]:
            expr += f" - '{ident(gcol)}'"
        for gcol in geoms:
            expr += f" || jsonb_build_object('{gcol}', ST_AsGeoJSON(x.{gcol}, 7)::jsonb)"
        rows = (
            conn.execute(text(f"SELECT {expr} FROM {t} x WHERE x.{c} = :id"), {"id": user_id})
            .scalars()
            .all()
        )
        if rows:
            out["data"].setdefault(f"{table}.{column}", []).extend(rows)
    return out


def delete_account(conn: Connection, user_id: int) -> None:
    """Remove the personal data; public contributions stay, without their author."""
    keep = {("audit_log", "actor_id"), ("flags", "resolved_by")}  # accountability, no PII left
    purge = {"user_sessions", "email_tokens", "notifications"}
    for table, column, nullable in user_references(conn):
        if table == "users" or (table, column) in keep:
            continue
        t, c = ident(table), ident(column)
        if table in purge:
            conn.execute(text(f"DELETE FROM {t} WHERE {c} = :id"), {"id": user_id})
        elif nullable:
            conn.execute(text(f"UPDATE {t} SET {c} = NULL WHERE {c} = :id"), {"id": user_id})
        # a NOT NULL reference (e.g. one support per person) keeps pointing at the tombstone,
        # which holds no personal data and keeps the uniqueness rule meaningful
    conn.execute(
        text(
            "UPDATE users SET email = NULL, name = NULL, password_hash = NULL, district = NULL, "
            "ngo_id = NULL, council_district = NULL, roles = '{}', deleted_at = now() "
            "WHERE id = :id"
        ),
        {"id": user_id},
    )
    record_audit(conn, user_id, "user.delete", "users", user_id)


def close_account(
    conn: Connection, user_id: int, password: Any, hasher: PasswordHasher | None = None
) -> None:
    """The person deletes their own account: only with their current password."""
    stored = conn.execute(
        text("SELECT password_hash FROM users WHERE id = :id FOR UPDATE"), {"id": user_id}
    ).scalar()
    password = password if isinstance(password, str) else ""
    if not password or not verify_password(stored, password[:PASSWORD_MAX], hasher):
        raise invalid(
            "password",
            "bad_password",
            N_("Pole „Hasło”: podaj swoje obecne hasło, aby usunąć konto."),
        )
    delete_account(conn, user_id)
