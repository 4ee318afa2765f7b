"""Users, roles and passwords: the account fields' rules, argon2id hashing, registration
and login. Bad input raises :class:`Invalid` (field -> code, Polish msgid, parameters)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit

ROLES = (
    "resident",
    "ngo",
    "council",
    "official",
    "planner",
    "moderator",
    "admin",
    "voting_point",  # paper ballots at an assigned voting point (civic.pb.voting, issue 10)
)
ROLE_TITLES = {
    "resident": N_("mieszkaniec"),
    "ngo": N_("przedstawiciel organizacji pozarządowej"),
    "council": N_("członek rady dzielnicy"),
    "official": N_("urzędnik"),
    "planner": N_("planista"),
    "moderator": N_("moderator"),
    "admin": N_("administrator"),
    "voting_point": N_("obsługa punktu głosowania"),
}
STAFF_ROLES = frozenset({"official", "moderator", "admin"})
EMAIL_MAX = 254
NAME_MAX = 80
PASSWORD_MIN = 10
PASSWORD_MAX = 256
TOKEN_MAX = 100  # longer "tokens" in a URL are not ours: no lookup
CONFIRM_TTL = timedelta(hours=48)
RESET_TTL = timedelta(hours=1)
SESSION_TTL = timedelta(days=7)
LAST_SEEN_EVERY = timedelta(minutes=5)

# A deliberately simple check: one "@", a dot in the domain, no spaces or angle brackets.
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]{2,}$")
# Passwords people pick first; the length rule catches most of the rest.
_COMMON = {
    "1234567890", "12345678910", "qwertyuiop", "password123", "password1!", "haslo12345",
    "zaq12wsxcde", "qwerty12345", "1q2w3e4r5t", "iloveyou12", "krakow2024", "krakow12345",
    "administrator", "0987654321", "1111111111", "abcdefghij", "passw0rd12", "wislakrakow",
    "cracoviapany", "polska12345", "1qaz2wsx3edc", "qwertyuiop1", "zaq1@wsx", "0000000000",
}  # fmt: skip


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


def is_author_or_staff(user: User | None, author_id: int | None) -> bool:
    """May see content the public does not: its author, or an official, moderator or admin."""
    return user is not None and (user.id == author_id or user.has_role(*STAFF_ROLES))


# --- invalid input -----------------------------------------------------------------------------


class Invalid(Exception):
    """Field errors: field -> (code, Polish msgid, its parameters). The web translates the
    msgid when it shows it (``gettext(msgid, **params)``); :meth:`message` gives the Polish."""

    def __init__(self, errors: dict[str, tuple[str, str, dict[str, Any]]], status: int = 400):
        super().__init__(", ".join(errors))
        self.errors = errors
        self.status = status

    def message(self) -> str:
        """The first error's text in Polish (for the command line)."""
        _code, msgid, params = next(iter(self.errors.values()))
        return msgid % params if params else msgid


def invalid(field: str, code: str, msgid: str, /, status: int = 400, **params: Any) -> Invalid:
    """One field's error (raise it, or gather several with :func:`collect`); ``params`` fill
    the msgid's placeholders."""
    return Invalid({field: (code, msgid, params)}, status=status)


def collect(*checks: Callable[[], Any]) -> list[Any]:
    """Run every check and gather all field errors at once (a form shows them together)."""
    errors: dict[str, tuple[str, str, dict[str, Any]]] = {}
    values = []
    for check in checks:
        try:
            values.append(check())
        except Invalid as exc:
            errors.update(exc.errors)
            values.append(None)
    if errors:
        raise Invalid(errors)
    return values


def validate_email(raw: Any, field: str = "email") -> str:
    email = raw.strip() if isinstance(raw, str) else ""
    if not email:
        raise invalid(field, "required", N_("Pole „E-mail” jest wymagane."))
    if len(email) > EMAIL_MAX:
        raise invalid(
            field, "too_long", N_("Pole „E-mail” może mieć najwyżej %(n)d znaków."), n=EMAIL_MAX
        )
    if not _EMAIL.match(email):
        raise invalid(
            field,
            "invalid_email",
            N_("Pole „E-mail”: to nie wygląda na adres e-mail (np. jan@example.pl)."),
        )
    return email


def validate_name(raw: Any, field: str = "name") -> str:
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not name:
        raise invalid(field, "required", N_("Pole „Imię lub pseudonim” jest wymagane."))
    if len(name) > NAME_MAX:
        raise invalid(
            field,
            "too_long",
            N_("Pole „Imię lub pseudonim” może mieć najwyżej %(n)d znaków."),
            n=NAME_MAX,
        )
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in name):
        raise invalid(field, "invalid", N_("Pole „Imię lub pseudonim” zawiera znaki sterujące."))
    return name


def validate_password(raw: Any, email: str = "", field: str = "password") -> str:
    pw = raw if isinstance(raw, str) else ""
    if not pw:
        raise invalid(field, "required", N_("Pole „Hasło” jest wymagane."))
    if len(pw) > PASSWORD_MAX:
        raise invalid(
            field, "too_long", N_("Pole „Hasło” może mieć najwyżej %(n)d znaków."), n=PASSWORD_MAX
        )
    local = email.split("@")[0].lower()
    if len(pw) < PASSWORD_MIN:
        raise invalid(
            field,
            "weak_password",
            N_("Pole „Hasło” musi mieć co najmniej %(n)d znaków."),
            n=PASSWORD_MIN,
        )
    if len(set(pw)) < 4 or pw.lower() in _COMMON:
        raise invalid(
            field, "weak_password", N_("Pole „Hasło”: to hasło jest zbyt łatwe do odgadnięcia.")
        )
    if email and len(local) >= 4 and local in pw.lower():
        raise invalid(
            field, "weak_password", N_("Pole „Hasło” nie może zawierać Twojego adresu e-mail.")
        )
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
        raise invalid(field, "invalid", N_("Pole „Dzielnica”: wybierz dzielnicę z listy."))
    return number


def _password_given(password: Any) -> str:
    if not isinstance(password, str) or not password:
        raise invalid("password", "required", N_("Pole „Hasło” jest wymagane."))
    return password


def district_choices(conn: Connection) -> list[dict]:
    """Every district (number, name, full_name) for a form's select, in number order."""
    return [
        dict(r._mapping)
        for r in conn.execute(text("SELECT number, name, full_name FROM districts ORDER BY number"))
    ]


# --- passwords ----------------------------------------------------------------------------------

_default: PasswordHasher | None = None
_DUMMY_HASH: dict[int, str] = {}


def default_hasher() -> PasswordHasher:
    """argon2id with the library's defaults (RFC 9106 low-memory profile)."""
    global _default
    if _default is None:
        _default = PasswordHasher()
    return _default


def fast_hasher() -> PasswordHasher:
    """Fast, weak parameters: for tests only."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    return (hasher or default_hasher()).hash(password)


def verify_password(
    stored: str | None, password: str, hasher: PasswordHasher | None = None
) -> bool:
    ph = hasher or default_hasher()
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


# --- users --------------------------------------------------------------------------------------

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
    """The account of an address (any letter case) and its password hash."""
    row = conn.execute(
        text(
            f"SELECT {_USER_COLS}, u.password_hash FROM users u "
            "WHERE lower(email) = lower(:e) AND deleted_at IS NULL"
        ),
        {"e": email},
    ).first()
    return (_user(row), row.password_hash) if row else None  # type: ignore[return-value]


def _check_roles(roles: Iterable[str]) -> list[str]:
    bad = set(roles) - set(ROLES)
    if bad:
        raise ValueError(f"unknown roles: {sorted(bad)}")
    return list(dict.fromkeys(roles))


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
    hasher: PasswordHasher | None = None,
) -> User | None:
    """Insert a user; None if the e-mail is taken (in any letter case: a unique index)."""
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
            "ph": hash_password(password, hasher),
            "roles": _check_roles(roles),
            "district": district,
            "confirmed": confirmed,
            "ngo": ngo_id,
            "council": council_district,
        },
    ).first()
    return _user(row)


def add_roles(conn: Connection, user_id: int, roles: Iterable[str], actor_id: int | None) -> None:
    """Give an account more roles (those it has stay); audited."""
    roles = _check_roles(roles)
    conn.execute(
        text("UPDATE users SET roles = ARRAY(SELECT DISTINCT unnest(roles || :r)) WHERE id = :id"),
        {"r": roles, "id": user_id},
    )
    record_audit(conn, actor_id, "user.roles_add", "users", user_id, ",".join(roles))


def list_users(conn: Connection, include_deleted: bool = False) -> list[Any]:
    return conn.execute(
        text(
            "SELECT id, email, name, roles, district, confirmed_at IS NOT NULL AS confirmed, "
            "deleted_at IS NOT NULL AS deleted, created_at FROM users "
            + ("" if include_deleted else "WHERE deleted_at IS NULL ")
            + "ORDER BY id"
        )
    ).all()


def register(
    conn: Connection, form: dict[str, Any], hasher: PasswordHasher | None = None
) -> tuple[str, User | None]:
    """A new resident's account from the registration form (email, name, password,
    district); all field errors at once. Returns the address and the new account, or None
    for the account when the address already has one — the caller must answer both alike
    (issue 14.10: registration must not tell who has an account; the password is hashed in
    both cases, so the time is the same too)."""
    email, name, password, district = collect(
        lambda: validate_email(form.get("email")),
        lambda: validate_name(form.get("name")),
        lambda: validate_password(form.get("password"), str(form.get("email") or "")),
        lambda: validate_district(form.get("district"), conn),
    )
    user = create_user(conn, email, name, password, district=district, hasher=hasher)
    if user is not None:
        record_audit(conn, user.id, "user.register", "users", user.id)
    return email, user


def check_login(email: Any, password: Any) -> tuple[str, str]:
    """The login form's two fields, checked for shape (not yet against the database)."""
    email = str(email or "").strip()
    password = password if isinstance(password, str) else ""
    collect(lambda: validate_email(email), lambda: _password_given(password))
    return email, password


def authenticate(
    conn: Connection, email: str, password: str, hasher: PasswordHasher | None = None
) -> User | None:
    """The account whose password this is (rehashed when the parameters changed), or None —
    in the same time whether or not the address has an account."""
    found = find_user_by_email(conn, email)
    ph = hasher or default_hasher()
    if not verify_password(found[1] if found else None, password[:PASSWORD_MAX], ph):
        return None
    assert found is not None
    user, stored = found
    if ph.check_needs_rehash(stored):
        conn.execute(
            text("UPDATE users SET password_hash = :h WHERE id = :id"),
            {"h": ph.hash(password), "id": user.id},
        )
    return user


def update_profile(conn: Connection, user_id: int, form: dict[str, Any]) -> None:
    """The account page's name and district (all field errors at once)."""
    name, district = collect(
        lambda: validate_name(form.get("name")),
        lambda: validate_district(form.get("district"), conn),
    )
    conn.execute(
        text("UPDATE users SET name = :n, district = :d WHERE id = :id"),
        {"n": name, "d": district, "id": user_id},
    )
