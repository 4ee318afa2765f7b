"""E-mail tokens (confirmation, password reset) and the storage of sessions. Only the
SHA-256 of a token or a session id is stored, so a copy of the database opens nothing."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, text

from civic.accounts.users import (
    _USER_COLS,
    LAST_SEEN_EVERY,
    SESSION_TTL,
    TOKEN_MAX,
    User,
    _user,
    get_user,
    hash_password,
    validate_password,
)
from civic.audit import record_audit

# --- e-mail tokens ------------------------------------------------------------------------------


def sha(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def issue_token(conn: Connection, user_id: int, purpose: str, ttl: timedelta) -> str:
    """A single-use link token; a new one replaces older unused ones of the same purpose."""
    raw = secrets.token_urlsafe(32)
    conn.execute(
        text("DELETE FROM email_tokens WHERE user_id = :u AND purpose = :p AND used_at IS NULL"),
        {"u": user_id, "p": purpose},
    )
    conn.execute(
        text(
            "INSERT INTO email_tokens (token_hash, user_id, purpose, expires_at) "
            "VALUES (:h, :u, :p, now() + make_interval(secs => :ttl))"
        ),
        {"h": sha(raw), "u": user_id, "p": purpose, "ttl": ttl.total_seconds()},
    )
    return raw


def peek_token(conn: Connection, raw: str, purpose: str) -> int | None:
    if len(raw) > TOKEN_MAX:
        return None
    return conn.execute(
        text(
            "SELECT t.user_id FROM email_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_hash = :h AND t.purpose = :p AND t.used_at IS NULL "
            "AND t.expires_at > now() AND u.deleted_at IS NULL"
        ),
        {"h": sha(raw), "p": purpose},
    ).scalar()


def consume_token(conn: Connection, raw: str, purpose: str) -> int | None:
    """Mark a token used and return its user, atomically: a link works once."""
    if len(raw) > TOKEN_MAX:
        return None
    return conn.execute(
        text(
            "UPDATE email_tokens t SET used_at = now() FROM users u "
            "WHERE u.id = t.user_id AND t.token_hash = :h AND t.purpose = :p "
            "AND t.used_at IS NULL AND t.expires_at > now() AND u.deleted_at IS NULL "
            "RETURNING t.user_id"
        ),
        {"h": sha(raw), "p": purpose},
    ).scalar()


def user_of_token(conn: Connection, raw: str, purpose: str) -> User | None:
    """The account a still-valid token belongs to (the token stays unused)."""
    user_id = peek_token(conn, raw, purpose)
    return get_user(conn, user_id) if user_id else None


def confirm_email(conn: Connection, raw: str) -> int | None:
    """Open a confirmation link: the account is confirmed (once); None for a bad link."""
    user_id = consume_token(conn, raw, "confirm")
    if user_id is None:
        return None
    conn.execute(
        text("UPDATE users SET confirmed_at = coalesce(confirmed_at, now()) WHERE id = :id"),
        {"id": user_id},
    )
    record_audit(conn, user_id, "user.confirm", "users", user_id)
    return user_id


def reset_password(
    conn: Connection, raw: str, user: User, password: Any, hasher: PasswordHasher | None = None
) -> bool:
    """Set a new password from a reset link (which confirms the address too) and sign out
    every device; False when the link is no longer valid for this account."""
    password = validate_password(password, user.email)
    if consume_token(conn, raw, "reset") != user.id:
        return False
    conn.execute(
        text(
            "UPDATE users SET password_hash = :h, "
            "confirmed_at = coalesce(confirmed_at, now()) WHERE id = :id"
        ),
        {"h": hash_password(password, hasher), "id": user.id},
    )
    end_all_sessions(conn, user.id)
    record_audit(conn, user.id, "user.password_reset", "users", user.id)
    return True


# --- sessions -----------------------------------------------------------------------------------


def create_session(
    conn: Connection,
    user_id: int,
    ttl: timedelta = SESSION_TTL,
    user_agent: str = "",
    replaces: str | None = None,
) -> str:
    """A fresh session id for a login (the one from before login, ``replaces``, is dropped)."""
    raw = secrets.token_urlsafe(32)
    conn.execute(
        text(
            "INSERT INTO user_sessions (id_hash, user_id, expires_at, user_agent) "
            "VALUES (:h, :u, now() + make_interval(secs => :ttl), :ua)"
        ),
        {"h": sha(raw), "u": user_id, "ttl": ttl.total_seconds(), "ua": user_agent[:200]},
    )
    if replaces:
        delete_session(conn, replaces)
    return raw


def delete_session(conn: Connection, raw: str) -> None:
    conn.execute(text("DELETE FROM user_sessions WHERE id_hash = :h"), {"h": sha(raw)})


def end_all_sessions(conn: Connection, user_id: int) -> None:
    conn.execute(text("DELETE FROM user_sessions WHERE user_id = :u"), {"u": user_id})


def session_user(
    conn: Connection, raw: str, touch_every: timedelta = LAST_SEEN_EVERY
) -> User | None:
    """The user of a live session id (its ``last_seen_at`` refreshed now and then), or None
    when it expired, was revoked or its account is deleted."""
    row = conn.execute(
        text(
            f"SELECT {_USER_COLS}, s.last_seen_at < now() - make_interval(secs => :every) "
            "AS stale FROM user_sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.id_hash = :h AND s.expires_at > now() AND u.deleted_at IS NULL"
        ),
        {"h": sha(raw), "every": touch_every.total_seconds()},
    ).first()
    if row is not None and row.stale:
        conn.execute(
            text("UPDATE user_sessions SET last_seen_at = now() WHERE id_hash = :h"),
            {"h": sha(raw)},
        )
    return _user(row)
