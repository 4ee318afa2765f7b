"""Accounts: registration, e-mail confirmation, login with server-side sessions, password
reset, "my data" (view, export, delete), and the decorators other views use.

Interface for other modules::

    from app.auth import current_user, login_required, role_required

    user = current_user()          # User or None
    @login_required                # pages: redirect to /login; /api: 401 JSON
    @role_required("moderator", "admin")   # 403 for anyone else (admin passes every check)

Sessions: Flask's signed cookie carries a random session id; ``user_sessions`` stores its
SHA-256 with an absolute expiry (PERMANENT_SESSION_LIFETIME). Logout, a password reset and
deleting the account remove the rows, so a copied cookie stops working at once.
Passwords: argon2id (argon2-cffi), rehashed on login when the parameters change.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, ngettext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from werkzeug.routing import BuildError

from app import engine
from app.errors import wants_api
from app.security import form_or_json, rate_limit, rotate_csrf

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

ROLES = ("resident", "ngo", "council", "official", "planner", "moderator", "admin")


def N_(s: str) -> str:
    """Mark for translation (Babel extracts N_); translated where it is shown."""
    return s


ROLE_TITLES = {
    "resident": N_("mieszkaniec"),
    "ngo": N_("przedstawiciel organizacji pozarządowej"),
    "council": N_("członek rady dzielnicy"),
    "official": N_("urzędnik"),
    "planner": N_("planista"),
    "moderator": N_("moderator"),
    "admin": N_("administrator"),
}


def role_title(role: str) -> str:
    return gettext(ROLE_TITLES[role]) if role in ROLE_TITLES else role


STAFF_ROLES = frozenset({"official", "moderator", "admin"})
EMAIL_MAX = 254
NAME_MAX = 80
PASSWORD_MIN = 10
PASSWORD_MAX = 256
CONFIRM_TTL = timedelta(hours=48)
RESET_TTL = timedelta(hours=1)
_SESSION_KEY = "sid"
_LAST_SEEN_EVERY = timedelta(minutes=5)

# A deliberately simple check: one "@", a dot in the domain, no spaces or angle brackets.
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]{2,}$")
# Passwords people pick first; the length rule catches most of the rest.
_COMMON = {
    "1234567890",
    "12345678910",
    "qwertyuiop",
    "password123",
    "password1!",
    "haslo12345",
    "zaq12wsxcde",
    "qwerty12345",
    "1q2w3e4r5t",
    "iloveyou12",
    "krakow2024",
    "krakow12345",
    "administrator",
    "0987654321",
    "1111111111",
    "abcdefghij",
    "passw0rd12",
    "wislakrakow",
    "cracoviapany",
    "polska12345",
    "1qaz2wsx3edc",
    "qwertyuiop1",
    "zaq1@wsx",
    "0000000000",
}


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    roles: frozenset[str]
    district: int | None
    confirmed: bool
    ngo_id: int | None
    council_district: int | None

    def has_role(self, *roles: str) -> bool:
        return "admin" in self.roles or bool(self.roles.intersection(roles))


class FormError(Exception):
    """Field -> message for a form; rendered next to the fields, or as JSON."""

    def __init__(self, errors: dict[str, tuple[str, str]], status: int = 400):
        super().__init__(", ".join(errors))
        self.errors = errors  # field -> (code, message)
        self.status = status

    def messages(self) -> dict[str, str]:
        """field -> message, for a form shown again."""
        return {f: m for f, (_c, m) in self.errors.items()}


def form_error_json(exc: FormError):
    """The JSON answer for field errors: the first as ``error``, all of them under ``fields``."""
    field, (code, message) = next(iter(exc.errors.items()))
    return jsonify(
        {
            "error": {
                "code": code,
                "message": message,
                "field": field,
                "fields": {f: {"code": c, "message": m} for f, (c, m) in exc.errors.items()},
            }
        }
    ), exc.status


# --- passwords ------------------------------------------------------------------------------


def _hasher() -> PasswordHasher:
    app = current_app
    ph = app.extensions.get("password_hasher")
    if ph is None:
        if app.testing:  # fast, weak parameters: only under tests
            ph = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        else:
            ph = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        app.extensions["password_hasher"] = ph
    return ph


def hash_password(password: str) -> str:
    return _hasher().hash(password)


_DUMMY_HASH: dict[int, str] = {}


def verify_password(stored: str | None, password: str) -> bool:
    ph = _hasher()
    if not stored:
        # spend the same time as a real check, so that timing does not tell who has an account
        dummy = _DUMMY_HASH.setdefault(id(ph), ph.hash("not-a-password"))
        try:
            ph.verify(dummy, password)
        except VerificationError:
            pass
        return False
    try:
        return ph.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# --- validation -----------------------------------------------------------------------------


def field_error(field: str, code: str, message: str, status: int = 400) -> FormError:
    """One field's error (raise it, or gather several with :func:`collect`)."""
    return FormError({field: (code, message)}, status=status)


def validate_email(raw: Any, field: str = "email") -> str:
    email = (raw or "").strip() if isinstance(raw, str) else ""
    if not email:
        raise field_error(field, "required", gettext("Pole „E-mail” jest wymagane."))
    if len(email) > EMAIL_MAX:
        raise field_error(
            field,
            "too_long",
            gettext("Pole „E-mail” może mieć najwyżej %(n)d znaków.", n=EMAIL_MAX),
        )
    if not _EMAIL.match(email):
        raise field_error(
            field,
            "invalid_email",
            gettext("Pole „E-mail”: to nie wygląda na adres e-mail (np. jan@example.pl)."),
        )
    return email


def validate_name(raw: Any, field: str = "name") -> str:
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not name:
        raise field_error(field, "required", gettext("Pole „Imię lub pseudonim” jest wymagane."))
    if len(name) > NAME_MAX:
        raise field_error(
            field,
            "too_long",
            gettext("Pole „Imię lub pseudonim” może mieć najwyżej %(n)d znaków.", n=NAME_MAX),
        )
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in name):
        raise field_error(
            field, "invalid", gettext("Pole „Imię lub pseudonim” zawiera znaki sterujące.")
        )
    return name


def validate_password(raw: Any, email: str = "", field: str = "password") -> str:
    pw = raw if isinstance(raw, str) else ""
    if not pw:
        raise field_error(field, "required", gettext("Pole „Hasło” jest wymagane."))
    if len(pw) > PASSWORD_MAX:
        raise field_error(
            field,
            "too_long",
            gettext("Pole „Hasło” może mieć najwyżej %(n)d znaków.", n=PASSWORD_MAX),
        )
    weak = None
    if len(pw) < PASSWORD_MIN:
        weak = gettext("Pole „Hasło” musi mieć co najmniej %(n)d znaków.", n=PASSWORD_MIN)
    elif len(set(pw)) < 4 or pw.lower() in _COMMON:
        weak = gettext("Pole „Hasło”: to hasło jest zbyt łatwe do odgadnięcia.")
    elif email and email.split("@")[0].lower() in pw.lower() and len(email.split("@")[0]) >= 4:
        weak = gettext("Pole „Hasło” nie może zawierać Twojego adresu e-mail.")
    if weak:
        raise field_error(field, "weak_password", weak)
    return pw


def validate_district(raw: Any, conn: Connection, field: str = "district") -> int | None:
    if raw in (None, "", "0"):
        return None
    try:
        number = int(raw)
    except (TypeError, ValueError):
        number = -1
    exists = conn.execute(text("SELECT 1 FROM districts WHERE number = :n"), {"n": number}).scalar()
    if not exists:
        raise field_error(field, "invalid", gettext("Pole „Dzielnica”: wybierz dzielnicę z listy."))
    return number


def collect(*checks: Callable[[], Any]) -> list[Any]:
    """Run every check and gather all field errors at once (a form shows them together)."""
    errors: dict[str, tuple[str, str]] = {}
    values = []
    for check in checks:
        try:
            values.append(check())
        except FormError as exc:
            errors.update(exc.errors)
            values.append(None)
    if errors:
        raise FormError(errors)
    return values


# --- users in the database ------------------------------------------------------------------

_USER_COLS = (
    "u.id, u.email, u.name, u.roles, u.district, u.confirmed_at IS NOT NULL AS confirmed, "
    "u.ngo_id, u.council_district"
)


def _user(row) -> User | None:
    if row is None:
        return None
    m = row._mapping
    return User(
        id=m["id"],
        email=m["email"],
        name=m["name"],
        roles=frozenset(m["roles"] or ()),
        district=m["district"],
        confirmed=bool(m["confirmed"]),
        ngo_id=m["ngo_id"],
        council_district=m["council_district"],
    )


def get_user(conn: Connection, user_id: int) -> User | None:
    return _user(
        conn.execute(
            text(f"SELECT {_USER_COLS} FROM users u WHERE id = :id AND deleted_at IS NULL"),
            {"id": user_id},
        ).first()
    )


def find_user_by_email(conn: Connection, email: str) -> tuple[User, str] | None:
    row = conn.execute(
        text(
            f"SELECT {_USER_COLS}, u.password_hash FROM users u "
            "WHERE lower(email) = lower(:e) AND deleted_at IS NULL"
        ),
        {"e": email},
    ).first()
    return (_user(row), row.password_hash) if row else None  # type: ignore[return-value]


def create_user(
    conn: Connection,
    email: str,
    name: str,
    password: str,
    roles: tuple[str, ...] | list[str] = ("resident",),
    district: int | None = None,
    confirmed: bool = False,
    ngo_id: int | None = None,
    council_district: int | None = None,
) -> User | None:
    """Insert a user; None if the e-mail is taken (in any letter case)."""
    bad = set(roles) - set(ROLES)
    if bad:
        raise ValueError(f"unknown roles: {sorted(bad)}")
    row = conn.execute(
        text(
            f"""
INSERT INTO users AS u (email, name, password_hash, roles, district, confirmed_at, ngo_id,
                        council_district)
VALUES (:email, :name, :ph, :roles, :district, CASE WHEN :confirmed THEN now() END, :ngo,
        :council)
ON CONFLICT (lower(email)) WHERE email IS NOT NULL DO NOTHING
RETURNING {_USER_COLS}"""
        ),
        {
            "email": email,
            "name": name,
            "ph": hash_password(password),
            "roles": list(dict.fromkeys(roles)),
            "district": district,
            "confirmed": confirmed,
            "ngo": ngo_id,
            "council": council_district,
        },
    ).first()
    return _user(row)


def _sha(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def issue_token(conn: Connection, user_id: int, purpose: str, ttl: timedelta) -> str:
    raw = secrets.token_urlsafe(32)
    # a new link replaces older unused ones of the same purpose
    conn.execute(
        text("DELETE FROM email_tokens WHERE user_id = :u AND purpose = :p AND used_at IS NULL"),
        {"u": user_id, "p": purpose},
    )
    conn.execute(
        text(
            "INSERT INTO email_tokens (token_hash, user_id, purpose, expires_at) "
            "VALUES (:h, :u, :p, now() + make_interval(secs => :ttl))"
        ),
        {"h": _sha(raw), "u": user_id, "p": purpose, "ttl": ttl.total_seconds()},
    )
    return raw


def peek_token(conn: Connection, raw: str, purpose: str) -> int | None:
    return conn.execute(
        text(
            "SELECT t.user_id FROM email_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_hash = :h AND t.purpose = :p AND t.used_at IS NULL "
            "AND t.expires_at > now() AND u.deleted_at IS NULL"
        ),
        {"h": _sha(raw), "p": purpose},
    ).scalar()


def consume_token(conn: Connection, raw: str, purpose: str) -> int | None:
    """Mark a token used and return its user, atomically: a link works once."""
    return conn.execute(
        text(
            "UPDATE email_tokens t SET used_at = now() FROM users u "
            "WHERE u.id = t.user_id AND t.token_hash = :h AND t.purpose = :p "
            "AND t.used_at IS NULL AND t.expires_at > now() AND u.deleted_at IS NULL "
            "RETURNING t.user_id"
        ),
        {"h": _sha(raw), "p": purpose},
    ).scalar()


# --- sessions -------------------------------------------------------------------------------


def _lifetime() -> timedelta:
    life = current_app.permanent_session_lifetime
    return life if isinstance(life, timedelta) else timedelta(seconds=int(life))


def start_session(conn: Connection, user_id: int) -> None:
    """Log a user in: a fresh session id (never reuse one from before login)."""
    raw = secrets.token_urlsafe(32)
    conn.execute(
        text(
            "INSERT INTO user_sessions (id_hash, user_id, expires_at, user_agent) "
            "VALUES (:h, :u, now() + make_interval(secs => :ttl), :ua)"
        ),
        {
            "h": _sha(raw),
            "u": user_id,
            "ttl": _lifetime().total_seconds(),
            "ua": (request.user_agent.string or "")[:200],
        },
    )
    old = session.pop(_SESSION_KEY, None)
    if old:
        conn.execute(text("DELETE FROM user_sessions WHERE id_hash = :h"), {"h": _sha(old)})
    session.clear()
    rotate_csrf()
    session.permanent = True
    session[_SESSION_KEY] = raw
    g.pop("_user", None)


def end_session() -> None:
    raw = session.pop(_SESSION_KEY, None)
    if raw:
        with engine().begin() as conn:
            conn.execute(text("DELETE FROM user_sessions WHERE id_hash = :h"), {"h": _sha(raw)})
    session.clear()
    g.pop("_user", None)


def end_all_sessions(conn: Connection, user_id: int) -> None:
    conn.execute(text("DELETE FROM user_sessions WHERE user_id = :u"), {"u": user_id})


def current_user() -> User | None:
    """The signed-in user of this request, or None (also outside a request)."""
    if not has_request_context():
        return None
    if "_user" in g:
        return g._user
    user = None
    raw = session.get(_SESSION_KEY)
    if raw:
        with engine().begin() as conn:
            row = conn.execute(
                text(
                    f"SELECT {_USER_COLS}, s.last_seen_at < now() - make_interval(secs => :every) "
                    "AS stale FROM user_sessions s JOIN users u ON u.id = s.user_id "
                    "WHERE s.id_hash = :h AND s.expires_at > now() AND u.deleted_at IS NULL"
                ),
                {"h": _sha(raw), "every": _LAST_SEEN_EVERY.total_seconds()},
            ).first()
            user = _user(row)
            if row is not None and row.stale:
                conn.execute(
                    text("UPDATE user_sessions SET last_seen_at = now() WHERE id_hash = :h"),
                    {"h": _sha(raw)},
                )
        if user is None:
            session.pop(_SESSION_KEY, None)  # expired or revoked: forget it
    g._user = user
    return user


def deny(status: int, code: str, message: str):
    """Refuse: a JSON error for the API and scripts, the error page for people."""
    if wants_api():
        return jsonify({"error": {"code": code, "message": message}}), status
    abort(status, description=message)


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


def is_author_or_staff(user: User | None, author_id: int | None) -> bool:
    """May see content the public does not: its author, or an official, moderator or admin."""
    return user is not None and (user.id == author_id or user.has_role(*STAFF_ROLES))


def _here() -> str:
    return request.full_path.rstrip("?") if request.query_string else request.path


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only local paths: "/x" yes; "//evil", "https://evil", "/\\evil" no."""
    default = default or url_for("pages.index")
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


# --- mail -----------------------------------------------------------------------------------


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail: CIVICMAP_BASE_URL (never trust the Host header in
    production), else this request's own root (development)."""
    base = current_app.config.get("BASE_URL")
    path = url_for(endpoint, **values)
    if base:
        return base.rstrip("/") + path
    return request.host_url.rstrip("/") + path


def _send(to: str, subject: str, body: str) -> bool:
    """Send, but never lose the account over a mail server that is down (resend exists)."""
    import smtplib

    from app.mail import send_mail

    try:
        send_mail(to, subject, body)
    except (OSError, smtplib.SMTPException):
        log.exception("could not send mail %r", subject)
        flash(gettext("Nie udało się wysłać wiadomości e-mail. Spróbuj ponownie później."))
        return False
    return True


def send_confirmation(conn: Connection, user: User) -> None:
    token = issue_token(conn, user.id, "confirm", CONFIRM_TTL)
    link = external_url("auth.confirm", token=token)
    body = gettext(
        "Dzień dobry %(name)s,\n\n"
        "aby potwierdzić adres e-mail w serwisie Civic Map Kraków, otwórz ten link "
        "(ważny 48 godzin):\n\n%(link)s\n\n"
        "Jeśli to nie Ty zakładałeś(-aś) konto, zignoruj tę wiadomość.",
        name=user.name,
        link=link,
    )
    _send(user.email, gettext("Potwierdź adres e-mail — Civic Map Kraków"), body)


def send_reset(conn: Connection, user: User) -> None:
    token = issue_token(conn, user.id, "reset", RESET_TTL)
    link = external_url("auth.reset", token=token)
    body = gettext(
        "Dzień dobry %(name)s,\n\n"
        "ktoś (zapewne Ty) poprosił o nowe hasło w serwisie Civic Map Kraków. "
        "Aby je ustawić, otwórz ten link (ważny 1 godzinę):\n\n%(link)s\n\n"
        "Jeśli to nie Ty, zignoruj tę wiadomość: hasło się nie zmieni.",
        name=user.name,
        link=link,
    )
    _send(user.email, gettext("Nowe hasło — Civic Map Kraków"), body)


# --- form helpers ---------------------------------------------------------------------------


def district_choices(conn: Connection) -> list[dict]:
    """Every district (number, name, full_name) for a form's select, in number order."""
    return [
        dict(r._mapping)
        for r in conn.execute(text("SELECT number, name, full_name FROM districts ORDER BY number"))
    ]


def form_error_response(exc: FormError, template: str, **context):
    """All field errors at once: JSON for scripts, the form again (with messages) for people."""
    if wants_api():
        return form_error_json(exc)
    return render_template(template, errors=exc.messages(), **context), exc.status


# --- views: registration, confirmation, login, logout, password reset -------------------------


@bp.route("/register", methods=["GET", "POST"])
@rate_limit("register", limit=10, per=3600)
def register():
    with engine().connect() as conn:
        districts = district_choices(conn)
    if request.method == "GET":
        if current_user():
            return redirect(url_for("auth.account"))
        return render_template("auth/register.html", form={}, errors={}, districts=districts)
    form = form_or_json()
    ctx = {"form": form, "districts": districts}
    try:
        with engine().begin() as conn:
            email, name, password, district = collect(
                lambda: validate_email(form.get("email")),
                lambda: validate_name(form.get("name")),
                lambda: validate_password(form.get("password"), str(form.get("email") or "")),
                lambda: validate_district(form.get("district"), conn),
            )
            user = create_user(conn, email, name, password, district=district)
            if user is None:
                raise FormError(
                    {
                        "email": (
                            "email_taken",
                            gettext(
                                "Pole „E-mail”: konto z tym adresem już istnieje. "
                                "Zaloguj się lub ustaw nowe hasło."
                            ),
                        )
                    },
                    status=409,
                )
            from civic.audit import record_audit

            record_audit(conn, user.id, "user.register", "users", user.id)
            send_confirmation(conn, user)
            start_session(conn, user.id)
    except FormError as exc:
        return form_error_response(exc, "auth/register.html", **ctx)
    if wants_api():
        return jsonify({"id": user.id, "confirmed": False}), 201
    flash(
        gettext(
            "Konto założone. Wysłaliśmy link potwierdzający na %(email)s — "
            "do czasu potwierdzenia Twoje wpisy czekają na moderatora.",
            email=email,
        )
    )
    return redirect(url_for("auth.account"))


@bp.get("/confirm/<token>")
def confirm(token: str):
    with engine().begin() as conn:
        user_id = consume_token(conn, token, "confirm") if len(token) < 100 else None
        if user_id is None:
            return render_template("auth/confirm.html", ok=False), 404
        conn.execute(
            text("UPDATE users SET confirmed_at = coalesce(confirmed_at, now()) WHERE id = :id"),
            {"id": user_id},
        )
        from civic.audit import record_audit

        record_audit(conn, user_id, "user.confirm", "users", user_id)
    g.pop("_user", None)
    return render_template("auth/confirm.html", ok=True)


@bp.post("/confirm/resend")
@login_required
@rate_limit("confirm_resend", limit=3, per=3600)
def confirm_resend():
    user = current_user()
    assert user is not None
    if not user.confirmed:
        with engine().begin() as conn:
            send_confirmation(conn, user)
        flash(gettext("Wysłaliśmy nowy link potwierdzający na %(email)s.", email=user.email))
    return redirect(url_for("auth.account"))


def _password_given(password: str) -> str:
    if not password:
        raise field_error("password", "required", gettext("Pole „Hasło” jest wymagane."))
    return password


def _login_key() -> str:
    from app.security import client_ip

    return client_ip()


@bp.route("/login", methods=["GET", "POST"])
@rate_limit("login", limit=5, per=60, key=_login_key)
def login():
    nxt = safe_next(request.values.get("next"), url_for("auth.account"))
    if request.method == "GET":
        return render_template("auth/login.html", form={}, errors={}, next=nxt)
    form = form_or_json()
    email = str(form.get("email") or "").strip()
    password = form.get("password") if isinstance(form.get("password"), str) else ""
    ctx = {"form": {"email": email}, "next": nxt}
    try:
        collect(lambda: validate_email(email), lambda: _password_given(password))
    except FormError as exc:
        return form_error_response(exc, "auth/login.html", **ctx)
    # the account under attack, whatever the address it comes from
    from app.security import check_rate

    check_rate("login_account", limit=10, per=600, key=email.lower())
    with engine().begin() as conn:
        found = find_user_by_email(conn, email)
        ok = verify_password(found[1] if found else None, password[:PASSWORD_MAX])
        if not ok or found is None:
            exc = field_error(
                "password",
                "bad_credentials",
                gettext("Nieprawidłowy e-mail lub hasło (pole „Hasło”)."),
                status=401,
            )
            return form_error_response(exc, "auth/login.html", **ctx)
        user, stored = found
        if _hasher().check_needs_rehash(stored):
            conn.execute(
                text("UPDATE users SET password_hash = :h WHERE id = :id"),
                {"h": hash_password(password), "id": user.id},
            )
        start_session(conn, user.id)
    if wants_api():
        return jsonify({"id": user.id, "name": user.name})
    return redirect(nxt)


@bp.post("/logout")
def logout():
    end_session()
    rotate_csrf()
    if wants_api():
        return jsonify({"logged_out": True})
    flash(gettext("Wylogowano."))
    return redirect(url_for("pages.index"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@rate_limit("password_forgot", limit=5, per=3600)
def forgot():
    if request.method == "GET":
        return render_template("auth/forgot.html", form={}, errors={}, sent=False)
    form = form_or_json()
    try:
        email = validate_email(form.get("email"))
    except FormError as exc:
        return form_error_response(exc, "auth/forgot.html", form=form, sent=False)
    from app.security import check_rate

    check_rate("password_forgot_account", limit=3, per=3600, key=email.lower())
    with engine().begin() as conn:
        found = find_user_by_email(conn, email)
        if found:
            send_reset(conn, found[0])
    # the same answer whether or not the account exists
    return render_template("auth/forgot.html", form={}, errors={}, sent=True)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@rate_limit("password_reset", limit=10, per=3600)
def reset(token: str):
    if len(token) > 100:
        return render_template("auth/reset.html", valid=False, errors={}), 404
    with engine().connect() as conn:
        user_id = peek_token(conn, token, "reset")
        user = get_user(conn, user_id) if user_id else None
    if user is None:
        return render_template("auth/reset.html", valid=False, errors={}), 404
    if request.method == "GET":
        return render_template("auth/reset.html", valid=True, errors={}, token=token)
    form = form_or_json()
    try:
        password = validate_password(form.get("password"), user.email)
    except FormError as exc:
        return form_error_response(exc, "auth/reset.html", valid=True, token=token)
    with engine().begin() as conn:
        if consume_token(conn, token, "reset") != user.id:
            return render_template("auth/reset.html", valid=False, errors={}), 404
        conn.execute(
            text(
                "UPDATE users SET password_hash = :h, "
                "confirmed_at = coalesce(confirmed_at, now()) WHERE id = :id"
            ),
            {"h": hash_password(password), "id": user.id},
        )
        end_all_sessions(conn, user.id)  # every other device is signed out
        from civic.audit import record_audit

        record_audit(conn, user.id, "user.password_reset", "users", user.id)
    session.clear()
    flash(gettext("Hasło zmienione. Zaloguj się nowym hasłem."))
    return redirect(url_for("auth.login"))


# --- "my data": account page, export, deletion ------------------------------------------------


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
    from geo.schema import ident

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
    from geo.schema import ident

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
    from civic.audit import record_audit

    record_audit(conn, user_id, "user.delete", "users", user_id)


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
    from app.moderation import content_url

    return [dict(r._mapping, url=content_url(r.kind, r.id)) for r in rows]


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    from app.moderation import list_notifications

    user = current_user()
    assert user is not None
    errors: dict[str, str] = {}
    status = 200
    with engine().begin() as conn:
        districts = district_choices(conn)
        if request.method == "POST":
            form = form_or_json()
            try:
                name, district = collect(
                    lambda: validate_name(form.get("name")),
                    lambda: validate_district(form.get("district"), conn),
                )
            except FormError as exc:
                if wants_api():
                    return form_error_response(exc, "account/index.html")
                errors = exc.messages()
                status = 400
            else:
                conn.execute(
                    text("UPDATE users SET name = :n, district = :d WHERE id = :id"),
                    {"n": name, "d": district, "id": user.id},
                )
                flash(gettext("Zapisano zmiany."))
                return redirect(url_for("auth.account"))
        mine = contributions(conn, user.id)
        notes = list_notifications(conn, user.id)
    unread = sum(1 for n in notes if not n["read"])
    try:
        all_contributions = url_for("proposals.contributions")
    except BuildError:
        all_contributions = None
    return render_template(
        "account/index.html",
        all_contributions=all_contributions,
        user=user,
        districts=districts,
        errors=errors,
        contributions=mine,
        notifications=notes,
        unread=unread,
        unread_label=ngettext("%(num)d nowe powiadomienie", "%(num)d nowych powiadomień", unread),
    ), status


@bp.post("/account/notifications/read")
@login_required
def notifications_read():
    user = current_user()
    assert user is not None
    with engine().begin() as conn:
        conn.execute(
            text("UPDATE notifications SET read_at = now() WHERE user_id = :u AND read_at IS NULL"),
            {"u": user.id},
        )
    if wants_api():
        return jsonify({"read": True})
    return redirect(url_for("auth.account") + "#notifications")


@bp.get("/account/export")
@login_required
def export():
    user = current_user()
    assert user is not None
    with engine().connect() as conn:
        data = export_user_data(conn, user.id)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="civicmap-data-{user.id}.json"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
@rate_limit("account_delete", limit=5, per=3600)
def delete():
    user = current_user()
    assert user is not None
    if request.method == "GET":
        return render_template("account/delete.html", errors={})
    form = form_or_json()
    with engine().begin() as conn:
        stored = conn.execute(
            text("SELECT password_hash FROM users WHERE id = :id"), {"id": user.id}
        ).scalar()
        password = form.get("password") if isinstance(form.get("password"), str) else ""
        if not password or not verify_password(stored, password[:PASSWORD_MAX]):
            exc = field_error(
                "password",
                "bad_password",
                gettext("Pole „Hasło”: podaj swoje obecne hasło, aby usunąć konto."),
            )
            return form_error_response(exc, "account/delete.html")
        delete_account(conn, user.id)
    session.clear()
    g.pop("_user", None)
    if wants_api():
        return jsonify({"deleted": True})
    flash(gettext("Konto usunięte. Twoje publiczne wpisy zostały bez imienia autora."))
    return redirect(url_for("pages.index"))


# --- wiring -----------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(days=7))
    if app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(days=31):  # Flask's default
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=7)
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.globals["role_title"] = role_title
    app.register_blueprint(bp)

    @app.after_request
    def _no_store_for_users(resp):
        # pages showing a person's data must not sit in shared caches
        if "_user" in g and g._user is not None:
            resp.headers.setdefault("Cache-Control", "private, no-store")
        return resp
