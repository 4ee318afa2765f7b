"""The private cluster `civicmap up` starts trusts nobody (issue 14.3).

Real clusters made by geo/cluster.py in /var/tmp, not the session's throwaway (trust) cluster:
one made secure from the start, one made by the old code (trust) and upgraded in place.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from geo import db
from geo.cities import KRAKOW
from geo.cluster import APP_ROLE, EXTENSIONS, SUPERUSER, Cluster
from importers.districts import load_districts

pytestmark = pytest.mark.slow  # two real clusters: ≈ 18 s

WAWEL = "SRID=4326;POINT(19.9355 50.0540)"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"

# every object in public that no extension owns, with its owner
OWNERS_SQL = """
SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'S', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT p.proname, pg_get_userbyid(p.proowner) FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT t.typname, pg_get_userbyid(t.typowner) FROM pg_type t
WHERE t.typnamespace = 'public'::regnamespace AND t.typtype = 'e'
"""


def _tmp_base(prefix: str) -> Path:
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    os.chmod(base, 0o755)
    return base


@pytest.fixture(scope="module")
def fast_unsafe():
    old = os.environ.get("CIVICMAP_FAST_UNSAFE")
    os.environ["CIVICMAP_FAST_UNSAFE"] = "1"  # fsync off: auth is what is tested
    yield
    if old is None:
        os.environ.pop("CIVICMAP_FAST_UNSAFE", None)


@pytest.fixture(scope="module")
def secure(fast_unsafe):
    """A cluster made the way `civicmap up` makes it, migrated as the app role."""
    c = Cluster(_tmp_base("civicmap-auth-"), secure=True)
    try:
        c.start()
        url = c.create_database("civicmap")
        db.migrate(url)
        yield c, url
        db.engine(url).dispose()
    finally:
        c.destroy()


def _refused(**kwargs) -> str:
    with pytest.raises(psycopg.OperationalError) as exc:
        psycopg.connect(connect_timeout=5, **kwargs).close()
    return str(exc.value)


def _assert_trusts_nobody(c: Cluster) -> None:
    nopass = {"passfile": "/nonexistent", "dbname": "postgres"}
    for user in (SUPERUSER, APP_ROLE):
        msg = _refused(host="127.0.0.1", port=c.port, user=user, **nopass)
        assert "password" in msg
        # the Unix socket as well (its directory is 0700 too)
        assert "password" in _refused(host=str(c.sockdir), port=c.port, user=user, **nopass)
        assert "password authentication failed" in _refused(
            host="127.0.0.1", port=c.port, user=user, password="guess", **nopass
        )
    assert stat.S_IMODE(c.sockdir.stat().st_mode) == 0o700
    rules = [ln.split() for ln in c.hba_file.read_text().splitlines() if ln.split()[:1] != ["#"]]
    assert {r[-1] for r in rules if r} == {"scram-sha-256"}


def _assert_owned_by_app(url: str) -> None:
    with db.engine(url).connect() as conn:
        who = conn.execute(
            text(
                "SELECT current_user, r.rolsuper, r.rolcreaterole, r.rolcreatedb, "
                "pg_get_userbyid(n.nspowner) AS schema_owner, "
                "(SELECT pg_get_userbyid(datdba) FROM pg_database "
                " WHERE datname = current_database()) AS db_owner "
                "FROM pg_roles r, pg_namespace n "
                "WHERE r.rolname = current_user AND n.nspname = 'public'"
            )
        ).one()
        owners = conn.execute(text(OWNERS_SQL)).all()
    assert who.current_user == APP_ROLE
    assert (who.rolsuper, who.rolcreaterole, who.rolcreatedb) == (False, False, False)
    assert (who.schema_owner, who.db_owner) == (APP_ROLE, APP_ROLE)
    assert len(owners) > 50  # the migrations' tables, views, functions, enum
    assert {o.owner for o in owners} == {APP_ROLE}, [o for o in owners if o.owner != APP_ROLE]


def test_connections_without_the_password_are_refused(secure):
    c, _ = secure
    _assert_trusts_nobody(c)


def test_app_role_is_no_superuser_and_owns_the_schema(secure):
    _, url = secure
    _assert_owned_by_app(url)
    with db.engine(url).connect() as conn:
        for sql in (
            "SELECT pg_read_file('PG_VERSION')",
            "COPY (SELECT 1) TO '/var/tmp/civicmap-auth-copy'",
            "CREATE ROLE intruder SUPERUSER",
        ):
            with pytest.raises(Exception, match="permission denied|must be superuser"):
                conn.execute(text(sql))
            conn.rollback()


def test_password_files_are_private_and_stay_out_of_the_url(secure):
    c, url = secure
    for path in (c.superuser_pwfile, c.passfile):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    superuser_pw = c.superuser_pwfile.read_text().strip()
    app_pw = c.passfile.read_text().strip().rsplit(":", 1)[1]
    assert len(superuser_pw) >= 32 and len(app_pw) >= 32 and superuser_pw != app_pw
    assert superuser_pw not in url and app_pw not in url
    assert f"{APP_ROLE}@127.0.0.1:{c.port}/civicmap?passfile=" in url
    assert url == db.sqlalchemy_url(url)
    log = (c.datadir / "server.log").read_text()
    assert superuser_pw not in log and app_pw not in log


def test_app_reads_and_writes_a_layer_table(secure):
    _, url = secure
    eng = db.engine(url)
    with eng.begin() as conn:
        load_districts(conn, KRAKOW)
        vid = conn.execute(
            text(
                "INSERT INTO civic_venues (name, type, geom) "
                "VALUES ('Biblioteka', 'library', ST_GeomFromEWKT(:g)) RETURNING id"
            ),
            {"g": WAWEL},
        ).scalar_one()
    with eng.begin() as conn:
        row = conn.execute(
            text("SELECT name, districts FROM civic_venues WHERE id = :i"), {"i": vid}
        ).one()
        conn.execute(text("UPDATE civic_venues SET name = 'Filia' WHERE id = :i"), {"i": vid})
        conn.execute(text("DELETE FROM civic_venues WHERE id = :i"), {"i": vid})
    assert row.name == "Biblioteka" and row.districts == [1]  # Stare Miasto


def test_up_again_is_a_no_op(secure):
    c, url = secure
    again = Cluster(c.base, secure=True)
    again.start()
    assert again.create_database("civicmap") == url
    db.migrate(url)
    _assert_trusts_nobody(again)


def test_superuser_creates_every_extension_the_migrations_name():
    named = set()
    for path in MIGRATIONS.glob("*.py"):
        named |= set(re.findall(r"CREATE EXTENSION (?:IF NOT EXISTS )?(\w+)", path.read_text()))
    assert named and named <= set(EXTENSIONS)


def test_a_trust_cluster_from_the_old_code_is_upgraded(fast_unsafe):
    """Made and migrated as before (trust, everything owned by postgres), then `civicmap up`."""
    base = _tmp_base("civicmap-auth-old-")
    old = Cluster(base)
    try:
        old.start()
        old_url = old.create_database("civicmap")
        assert old_url.startswith(f"postgresql+psycopg://{SUPERUSER}@")
        db.migrate(old_url)
        with db.engine(old_url).begin() as conn:
            conn.execute(
                text("INSERT INTO reference_loads (name, rows, source) VALUES ('x', 1, 'y')")
            )
        db.engine(old_url).dispose()

        new = Cluster(base, secure=True)
        new.start()  # running already: upgraded while it runs
        url = new.create_database("civicmap")
        _assert_trusts_nobody(new)
        for path in (new.superuser_pwfile, new.passfile):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        _assert_owned_by_app(url)
        db.migrate(url)  # at head already: a no-op as the app role
        with db.engine(url).begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM reference_loads")).scalar_one() == 1
            conn.execute(
                text("INSERT INTO reference_loads (name, rows, source) VALUES ('z', 1, 'y')")
            )
        # restarted later: still scram, nothing to upgrade
        db.engine(url).dispose()
        new.stop()
        Cluster(base, secure=True).start()
        _assert_trusts_nobody(new)
    finally:
        old.destroy()
