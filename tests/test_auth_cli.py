"""`civicmap users add` / `civicmap users list`: the first admin comes from the command line."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import text

from app.cli import main


def test_users_add_and_list(db_url, engine, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    r = runner.invoke(
        main,
        [
            "users",
            "add",
            "--email",
            "Admin@Example.org",
            "--name",
            "Pierwsza Admin",
            "--role",
            "admin",
        ],
        input="a long secret passphrase\na long secret passphrase\n",
    )
    assert r.exit_code == 0, r.output
    assert "created Admin@Example.org" in r.output
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT roles, confirmed_at, password_hash FROM users WHERE email = 'Admin@Example.org'"
            )
        ).one()
    assert row.roles == ["admin"] and row.confirmed_at is not None
    assert row.password_hash.startswith("$argon2id$") and "m=65536" in row.password_hash

    # the same address again (other case): roles are added, nothing is duplicated
    r = runner.invoke(
        main, ["users", "add", "--email", "admin@example.org", "--name", "X", "--role", "moderator"]
    )
    assert r.exit_code == 0 and "roles moderator added" in r.output
    with engine.connect() as conn:
        roles = (
            conn.execute(text("SELECT roles FROM users WHERE lower(email) = 'admin@example.org'"))
            .scalars()
            .all()
        )
    assert len(roles) == 1 and sorted(roles[0]) == ["admin", "moderator"]

    r = runner.invoke(main, ["users", "list"])
    assert r.exit_code == 0 and "Admin@Example.org" in r.output and "confirmed" in r.output


def test_users_add_refuses_bad_input(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    r = runner.invoke(
        main, ["users", "add", "--email", "bad", "--name", "X", "--password", "long enough pass"]
    )
    assert r.exit_code != 0 and "E-mail" in r.output
    r = runner.invoke(
        main, ["users", "add", "--email", "ok@example.org", "--name", "X", "--password", "short"]
    )
    assert r.exit_code != 0 and "Hasło" in r.output
    r = runner.invoke(
        main, ["users", "add", "--email", "ok@example.org", "--name", "X", "--role", "king"]
    )
    assert r.exit_code != 0


def test_users_add_builds_no_flask_app(db_url, engine, monkeypatch):
    """The CLI calls civic.accounts directly: no app factory, no request context."""
    import flask

    import app as app_package

    def no_app(*_a, **_kw):
        raise AssertionError("civicmap users add must not build a Flask app")

    monkeypatch.setattr(app_package, "create_app", no_app)
    monkeypatch.setenv("DATABASE_URL", db_url)
    r = CliRunner().invoke(
        main,
        ["users", "add", "--email", "cli-only@example.org", "--name", "CLI", "--role", "planner"],
        input="another long passphrase\nanother long passphrase\n",
    )
    assert r.exit_code == 0, r.output
    assert not flask.has_app_context() and not flask.has_request_context()
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT roles FROM users WHERE email = 'cli-only@example.org'")
        ).scalar_one() == ["planner"]


def test_accounts_work_without_flask(db_url):
    """civic.accounts imports and runs in a process where flask cannot be imported at all."""
    import subprocess
    import sys

    script = f"""
import sys
for name in ("flask", "flask_babel", "werkzeug", "folium"):
    sys.modules[name] = None  # any import of them fails
from sqlalchemy import create_engine
from civic import accounts
engine = create_engine({db_url!r})
with engine.begin() as conn:
    u = accounts.create_user(conn, "noflask@example.org", "Bez Flaska", "a long passphrase 1",
                             hasher=accounts.fast_hasher(), confirmed=True)
    assert u is not None and u.confirmed
    assert accounts.authenticate(conn, "NOFLASK@example.org", "a long passphrase 1",
                                 hasher=accounts.fast_hasher()) == u
    assert accounts.authenticate(conn, "noflask@example.org", "wrong one",
                                 hasher=accounts.fast_hasher()) is None
    raw = accounts.create_session(conn, u.id)
    assert accounts.session_user(conn, raw) == u
    try:
        accounts.validate_password("short")
    except accounts.Invalid as exc:
        assert "Hasło" in exc.message() and exc.errors["password"][0] == "weak_password"
    else:
        raise AssertionError("a short password passed")
    accounts.delete_account(conn, u.id)
    assert accounts.session_user(conn, raw) is None
assert "flask" not in [m for m in sys.modules if sys.modules[m] is not None]
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
