"""A private PostgreSQL + PostGIS cluster under var/ (the embedded default).

`make run` uses this when DATABASE_URL is not set, and the tests use it for their throwaway
clusters. initdb refuses to run as root, so when we are root the cluster runs as the
unprivileged ``postgres`` user; that user must be able to traverse every parent directory of
the data directory, so we fall back to a directory under /var/tmp when it cannot (e.g. a
checkout inside a 0700 home).

Two kinds of cluster (docs/security.md, "The private cluster"):

- ``Cluster(base, secure=True)`` — what ``civicmap up`` starts under var/. Every connection,
  over 127.0.0.1 or the socket, needs a password (scram-sha-256). The superuser ``postgres``
  has a generated password in ``base/pg_superuser_password`` (0600; given to initdb with
  ``--pwfile``); it creates the database, the extensions and the app role, nothing else. The
  app, the migrations and the importers connect as ``civicmap``, a role that is not a
  superuser and owns the database, the ``public`` schema and everything in it; its generated
  password is in ``base/pgpass`` (0600, libpq's password-file format), and the URL names that
  file (``?passfile=...``) so it carries no secret and may be printed or logged. A cluster made
  by the old code (``initdb -A trust``) is upgraded in place by the first secure start.
- ``Cluster(base)`` — a throwaway cluster for tests and benchmarks: trust on 127.0.0.1, the
  app connects as ``postgres``. Never for data that matters.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import hmac
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

POSTGIS_PACKAGES = (
    "postgresql postgresql-15-postgis-3 (Debian 12; on other releases postgresql-<major>-postgis-3)"
)

SUPERUSER = "postgres"
APP_ROLE = "civicmap"
# Created by the superuser before the migrations run (postgis is not a trusted extension; the
# migrations' `CREATE EXTENSION IF NOT EXISTS` then finds them). Keep in step with migrations/:
# tests/test_cluster_auth.py checks it.
EXTENSIONS = ("postgis", "pg_trgm", "unaccent")

HBA_SCRAM = """\
# Written by civicmap (geo/cluster.py): every connection needs a password (scram-sha-256).
# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             all                                     scram-sha-256
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     scram-sha-256
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
"""


class ClusterError(RuntimeError):
    """The private cluster could not be prepared; the message says what to do."""


def pg_bindir() -> Path:
    """Newest installed PostgreSQL server binaries (Debian/Ubuntu layout) that have PostGIS."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
        reverse=True,
    )
    for initdb in candidates:
        major = Path(initdb).parent.parent.name
        if glob.glob(f"/usr/share/postgresql/{major}/extension/postgis.control"):
            return Path(initdb).parent
    raise ClusterError(
        "PostgreSQL with PostGIS is not installed. Install it with:\n"
        f"  sudo apt-get install -y {POSTGIS_PACKAGES}\n"
        "or set DATABASE_URL to an existing PostGIS database."
    )


def _is_root() -> bool:
    return os.geteuid() == 0


def _traversable_by(user: str, path: Path) -> bool:
    """True when `user` can reach `path` (x on every ancestor)."""
    if not _is_root():
        return True
    pw = pwd.getpwnam(user)
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        st = parent.stat()
        if st.st_uid == pw.pw_uid:
            ok = st.st_mode & 0o100
        elif st.st_gid == pw.pw_gid:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677).

    Sent instead of the password in ``ALTER ROLE ... PASSWORD``, so the plain password never
    reaches the server (nor its log, should the statement fail). `password` is ASCII here, for
    which SASLprep is the identity.
    """
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _write_private(path: Path, text: str, owner: str | None = None) -> None:
    """Write `text` to `path` with mode 0600 from the first byte (tmp file + rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if owner is not None:
        shutil.chown(tmp, owner, owner)
    os.replace(tmp, path)


def _new_password() -> str:
    return secrets.token_hex(24)  # 192 bits; hex needs no quoting in URLs, pgpass or SQL


@dataclass
class Cluster:
    """One private cluster: data in `base/pg`, socket in `base/run`, port in `base/port`."""

    base: Path
    user: str = "postgres"  # the OS user that runs the server when we are root
    secure: bool = False  # True: passwords, an app role (see the module docstring)

    def __post_init__(self) -> None:
        self.base = Path(self.base).resolve()
        if _is_root() and not _traversable_by(self.user, self.base):
            digest = hashlib.sha1(str(self.base).encode()).hexdigest()[:10]
            link_target = Path("/var/tmp") / f"civicmap-{digest}"
            self.base = link_target

    @property
    def datadir(self) -> Path:
        return self.base / "pg"

    @property
    def sockdir(self) -> Path:
        return self.base / "run"

    @property
    def portfile(self) -> Path:
        return self.base / "port"

    @property
    def superuser_pwfile(self) -> Path:
        """The superuser's password, one line (initdb --pwfile); 0600."""
        return self.base / "pg_superuser_password"

    @property
    def passfile(self) -> Path:
        """The app role's password in libpq's password-file format; 0600."""
        return self.base / "pgpass"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(pg_bindir() / args[0]), *args[1:]]
        if _is_root():
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialised():
            return False
        return self._run("pg_ctl", "-D", str(self.datadir), "status", check=False).returncode == 0

    @property
    def port(self) -> int:
        return int(self.portfile.read_text().strip())

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL of `dbname`: as the app role when the cluster has one.

        The password stays in `passfile`; the URL only names it, so it can be logged.
        """
        if self.passfile.exists():
            passfile = urllib.parse.quote(str(self.passfile), safe="/")
            return (
                f"postgresql+psycopg://{APP_ROLE}@127.0.0.1:{self.port}/{dbname}"
                f"?passfile={passfile}"
            )
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def _read_secret(self, path: Path) -> str:
        return path.read_text().strip()

    def _app_password(self) -> str | None:
        if not self.passfile.exists():
            return None
        return self._read_secret(self.passfile).rsplit(":", 1)[1]

    def admin_connect(self, dbname: str = "postgres"):
        """A psycopg connection (autocommit) as the superuser: for set-up only."""
        import psycopg

        kwargs = {}
        if self.superuser_pwfile.exists():
            kwargs["password"] = self._read_secret(self.superuser_pwfile)
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            dbname=dbname,
            autocommit=True,
            **kwargs,
        )

    # --- set-up -----------------------------------------------------------------------------

    def _ensure_superuser_pwfile(self) -> None:
        owner = self.user if _is_root() else None  # initdb (as `user`) reads it
        if not self.superuser_pwfile.exists():
            _write_private(self.superuser_pwfile, _new_password() + "\n", owner)
        os.chmod(self.superuser_pwfile, 0o600)

    def init(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.sockdir.mkdir(exist_ok=True)
        if _is_root():
            shutil.chown(self.base, self.user, self.user)
            shutil.chown(self.sockdir, self.user, self.user)
        if self.secure:
            os.chmod(self.sockdir, 0o700)
        if self.initialised():
            return
        if self.secure:
            self._ensure_superuser_pwfile()
            auth = [
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                f"--pwfile={self.superuser_pwfile}",
            ]
        else:
            auth = ["-A", "trust"]
        try:
            self._run(
                "initdb",
                "-D",
                str(self.datadir),
                *auth,
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
        except subprocess.CalledProcessError as exc:
            raise ClusterError(f"initdb failed:\n{exc.stderr}") from exc

    def start(self, port: int | None = None) -> None:
        """Start (initialising first if needed); reuse the recorded port when it is free.

        A secure cluster is then checked: a trust cluster made by the old code gets passwords
        and the app role (:meth:`_upgrade_from_trust`), and the app role is (re)created.
        """
        self.init()
        if not self.running():
            self._start_server(port)
        if self.secure:
            if self._hba_trusts():
                self._upgrade_from_trust()
            self._ensure_app_role()

    def _start_server(self, port: int | None) -> None:
        if port is None:
            port = self.port if self.portfile.exists() else free_port()
            try:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            except OSError:
                port = free_port()
        self.portfile.write_text(str(port))
        opts = (
            f"-p {port} -k {self.sockdir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            if os.environ.get("CIVICMAP_FAST_UNSAFE")
            else f"-p {port} -k {self.sockdir} -c listen_addresses=127.0.0.1"
        )
        try:
            self._run(
                "pg_ctl",
                "-D",
                str(self.datadir),
                "-o",
                opts,
                "-l",
                str(self.datadir / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            )
        except subprocess.CalledProcessError as exc:
            log = self.datadir / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise ClusterError(f"PostgreSQL did not start:\n{exc.stderr}\n{tail}") from exc

    @property
    def hba_file(self) -> Path:
        return self.datadir / "pg_hba.conf"

    def _hba_trusts(self) -> bool:
        """True when some pg_hba.conf rule lets a connection in without a password."""
        for line in self.hba_file.read_text().splitlines():
            fields = line.split("#", 1)[0].split()
            if "trust" in fields:
                return True
        return False

    def _upgrade_from_trust(self) -> None:
        """Give a trust cluster (made before issue 14.3) passwords, then switch auth off trust.

        While trust is still on we connect without a password, set the superuser's password
        and create the app role; then pg_hba.conf is replaced by scram-sha-256 rules and
        reloaded. Each step can be repeated, so an interrupted upgrade finishes next time.
        The databases' ownership moves to the app role in :meth:`create_database`.
        """
        import psycopg
        from psycopg.sql import SQL, Identifier, Literal

        self._ensure_superuser_pwfile()
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            verifier = scram_verifier(self._read_secret(self.superuser_pwfile))
            conn.execute(
                SQL("ALTER ROLE {} PASSWORD {}").format(Identifier(SUPERUSER), Literal(verifier))
            )
        self._ensure_app_role()
        _write_private(self.hba_file, HBA_SCRAM, self.user if _is_root() else None)
        self._run("pg_ctl", "-D", str(self.datadir), "reload")
        deadline = time.monotonic() + 10
        while not self._refuses_without_password():
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{self.hba_file} was switched to scram-sha-256 but the server still lets "
                    "a connection in without a password; see its server.log"
                )
            time.sleep(0.1)

    def _refuses_without_password(self) -> bool:
        import psycopg

        try:
            psycopg.connect(
                host="127.0.0.1",
                port=self.port,
                user=SUPERUSER,
                dbname="postgres",
                passfile=str(self.base / "no-such-passfile"),
                connect_timeout=5,
            ).close()
        except psycopg.OperationalError:
            return True
        return False

    def _ensure_app_role(self) -> None:
        """The app role exists, is no superuser, and has the password in `passfile`."""
        import psycopg
        from psycopg.sql import SQL, Identifier, Literal

        if not self.superuser_pwfile.exists():
            raise ClusterError(
                f"{self.superuser_pwfile} is missing, so the cluster in {self.datadir} cannot be "
                "administered. Restore the file, or remove the cluster (its data is lost) and run "
                "`civicmap up` again."
            )
        password = self._app_password()
        if password is None:
            password = _new_password()
            _write_private(self.passfile, f"127.0.0.1:*:*:{APP_ROLE}:{password}\n")
        os.chmod(self.passfile, 0o600)
        try:
            conn = self.admin_connect()
        except psycopg.OperationalError as exc:
            raise ClusterError(
                f"cannot connect as {SUPERUSER} with the password in {self.superuser_pwfile}: {exc}"
            ) from exc
        role = Identifier(APP_ROLE)
        with conn:
            found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,))
            verb = "ALTER" if found.fetchone() else "CREATE"
            conn.execute(
                SQL(
                    "{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                    "NOBYPASSRLS PASSWORD {}"
                ).format(SQL(verb), role, Literal(scram_verifier(password)))
            )

    def stop(self) -> None:
        if self.running():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop", check=False)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def create_database(self, dbname: str, template: str | None = None) -> str:
        """Create `dbname` (with PostGIS) unless it exists; return its SQLAlchemy URL.

        In a secure cluster the app role owns the database, its ``public`` schema and every
        object in it that is not part of an extension; the superuser creates the extensions.
        """
        from psycopg.sql import SQL, Identifier

        owned = self.passfile.exists()
        with self.admin_connect() as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
            ).fetchone()
            ident = Identifier(dbname)
            if not exists:
                sql = SQL("CREATE DATABASE {}").format(ident)
                if template:
                    sql += SQL(" TEMPLATE {}").format(Identifier(template))
                if owned:
                    sql += SQL(" OWNER {}").format(Identifier(APP_ROLE))
                conn.execute(sql)
            elif owned:
                conn.execute(
                    SQL("ALTER DATABASE {} OWNER TO {}").format(ident, Identifier(APP_ROLE))
                )
        if owned:
            with self.admin_connect(dbname) as conn:
                for ext in EXTENSIONS:
                    conn.execute(SQL("CREATE EXTENSION IF NOT EXISTS {}").format(Identifier(ext)))
                give_schema_to(conn, "public", APP_ROLE)
        return self.url(dbname)


_NOT_IN_EXTENSION = """
NOT EXISTS (SELECT 1 FROM pg_depend d
            WHERE d.classid = '{catalog}'::regclass AND d.objid = o.oid AND d.deptype = 'e')"""


def give_schema_to(conn, schema: str, role: str) -> int:
    """Make `role` own `schema` and every object in it that no extension owns.

    Tables bring their indexes, triggers, identity sequences and row types along. Needed once
    for a database migrated as the superuser (a cluster made before issue 14.3); a no-op
    afterwards. Returns how many objects changed owner.
    """
    from psycopg.sql import SQL, Identifier

    r = Identifier(role)
    conn.execute(SQL("ALTER SCHEMA {} OWNER TO {}").format(Identifier(schema), r))
    kinds = {
        "r": "TABLE",
        "p": "TABLE",
        "f": "FOREIGN TABLE",
        "v": "VIEW",
        "m": "MATERIALIZED VIEW",
    }
    kinds["S"] = "SEQUENCE"
    rels = conn.execute(
        "SELECT o.relname, o.relkind FROM pg_class o "
        "WHERE o.relnamespace = %s::regnamespace AND o.relkind::text = ANY(%s) "
        "AND o.relowner <> %s::regrole AND "
        + _NOT_IN_EXTENSION.format(catalog="pg_class")
        # sequences that belong to a column move with their table
        + " AND NOT (o.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend a "
        "WHERE a.classid = 'pg_class'::regclass AND a.objid = o.oid AND a.deptype IN ('a', 'i')))",
        (schema, list(kinds), role),
    ).fetchall()
    procs = conn.execute(
        "SELECT o.oid::regprocedure::text FROM pg_proc o "
        "WHERE o.pronamespace = %s::regnamespace AND o.proowner <> %s::regrole AND "
        + _NOT_IN_EXTENSION.format(catalog="pg_proc"),
        (schema, role),
    ).fetchall()
    types = conn.execute(
        "SELECT format('%%I.%%I', n.nspname, o.typname) FROM pg_type o "
        "JOIN pg_namespace n ON n.oid = o.typnamespace "
        "WHERE o.typnamespace = %s::regnamespace AND o.typowner <> %s::regrole "
        "AND o.typtype IN ('e', 'd', 'r', 'm') AND " + _NOT_IN_EXTENSION.format(catalog="pg_type"),
        (schema, role),
    ).fetchall()
    for name, kind in rels:
        conn.execute(
            SQL("ALTER {} {}.{} OWNER TO {}").format(
                SQL(kinds[kind]), Identifier(schema), Identifier(name), r
            )
        )
    for (sig,) in procs:
        conn.execute(SQL("ALTER ROUTINE {} OWNER TO {}").format(SQL(sig), r))
    for (name,) in types:
        conn.execute(SQL("ALTER TYPE {} OWNER TO {}").format(SQL(name), r))
    return len(rels) + len(procs) + len(types)
