"""The web session: who is signed in, and the decorators other views use.

Interface for other modules::

    from app.auth import current_user, login_required, role_required

    user = current_user()          # User or None
    @login_required                # pages: redirect to /login; /api: 401 JSON
    @role_required("moderator", "admin")   # 403 for anyone else (admin passes every check)

Sessions: Flask's signed cookie carries a random session id; ``user_sessions`` stores its
SHA-256 with an absolute expiry (PERMANENT_SESSION_LIFETIME). Logout, a password reset and
deleting the account remove the rows, so a copied cookie stops working at once. The accounts
themselves (users, passwords, tokens, the session rows, a person's data) are
:mod:`civic.accounts`; the account pages are app/residents/account.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta

from argon2 import PasswordHasher
from flask import (
    Flask,
    abort,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import Connection

from app.errors import wants_api
from app.security import rotate_csrf
from civic import N_, accounts
from civic.accounts import ROLES, User, is_author_or_staff

__all__ = [
    "N_",
    "ROLES",
    "User",
    "create_user",
    "current_user",
    "deny",
    "end_session",
    "external_url",
    "is_author_or_staff",
    "login_required",
    "password_hasher",
    "role_required",
    "role_title",
    "start_session",
]

_SESSION_KEY = "sid"


def role_title(role: str) -> str:
    title = accounts.ROLE_TITLES.get(role)
    return gettext(title) if title else role


# --- passwords: this app's hasher ---------------------------------------------------------------


def password_hasher() -> PasswordHasher:
    """argon2id; under tests only, fast and weak parameters."""
    ph = current_app.extensions.get("password_hasher")
    if ph is None:
        ph = accounts.fast_hasher() if current_app.testing else accounts.default_hasher()
        current_app.extensions["password_hasher"] = ph
    return ph


def create_user(conn: Connection, email: str, name: str, password: str, **kw) -> User | None:
    """:func:`civic.accounts.create_user` with this app's password hasher."""
    return accounts.create_user(conn, email, name, password, hasher=password_hasher(), **kw)


_sha = accounts.sha  # tests build session rows by hand

# --- sessions -----------------------------------------------------------------------------------


def _lifetime() -> timedelta:
    life = current_app.permanent_session_lifetime
    return life if isinstance(life, timedelta) else timedelta(seconds=int(life))


def start_session(conn: Connection, user_id: int) -> None:
    """Log a user in: a fresh session id (never reuse one from before login)."""
    raw = accounts.create_session(
        conn,
        user_id,
        ttl=_lifetime(),
        user_agent=request.user_agent.string or "",
        replaces=session.pop(_SESSION_KEY, None),
    )
    session.clear()
    rotate_csrf()
    session.permanent = True
    session[_SESSION_KEY] = raw
    g.pop("_user", None)


def end_session() -> None:
    raw = session.pop(_SESSION_KEY, None)
    if raw:
        with current_app.extensions["engine"].begin() as conn:
            accounts.delete_session(conn, raw)
    session.clear()
    g.pop("_user", None)


def forget_user() -> None:
    """The account changed under this request (confirmed, deleted): look it up again."""
    g.pop("_user", None)


def current_user() -> User | None:
    """The signed-in user of this request, or None (also outside a request)."""
    if not has_request_context():
        return None
    if "_user" in g:
        return g._user
    user = None
    raw = session.get(_SESSION_KEY)
    if raw:
        with current_app.extensions["engine"].begin() as conn:
            user = accounts.session_user(conn, raw)
        if user is None:
            session.pop(_SESSION_KEY, None)  # expired or revoked: forget it
    g._user = user
    return user


# --- refusing -----------------------------------------------------------------------------------


def deny(status: int, code: str, message: str):
    """Refuse: a JSON error for the API and scripts, the error page for people."""
    if wants_api():
        return jsonify({"error": {"code": code, "message": message}}), status
    abort(status, description=message)


def _here() -> str:
    return request.full_path.rstrip("?") if request.query_string else request.path


def _login_first():
    """Nobody is signed in: 401 for the API, the login page (and back) for people."""
    if wants_api():
        return deny(401, "login_required", gettext("Zaloguj się, aby to zrobić."))
    return redirect(url_for("auth.login", next=_here()))


def login_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            return _login_first()
        return view(*args, **kwargs)

    return wrapper


def role_required(*roles: str) -> Callable:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                return _login_first()
            if not user.has_role(*roles):
                return deny(403, "forbidden", gettext("Nie masz uprawnień do tej strony."))
            return view(*args, **kwargs)

        return wrapper

    return decorator


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail: CIVICMAP_BASE_URL (never trust the Host header in
    production), else this request's own root (development)."""
    base = current_app.config.get("BASE_URL")
    path = url_for(endpoint, **values)
    if base:
        return base.rstrip("/") + path
    return request.host_url.rstrip("/") + path


# --- wiring -----------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", accounts.SESSION_TTL)
    if app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(days=31):  # Flask's default
        app.config["PERMANENT_SESSION_LIFETIME"] = accounts.SESSION_TTL
    app.extensions["civicmap.current_user"] = current_user  # app.security's rate-limit key
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.globals["role_title"] = role_title

    @app.after_request
    def _no_store_for_users(resp):
        # pages showing a person's data must not sit in shared caches
        if "_user" in g and g._user is not None:
            resp.headers.setdefault("Cache-Control", "private, no-store")
        return resp
