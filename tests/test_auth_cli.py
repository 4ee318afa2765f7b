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
