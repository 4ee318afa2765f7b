"""A private PostgreSQL + PostGIS cluster under var/ (the embedded default).

`make run` and `make test` use this when DATABASE_URL is not set. initdb refuses to run as
root, so when we are root the cluster runs as the unprivileged ``postgres`` user; that user
must be able to traverse every parent directory of the data directory, so we fall back to a
directory under /var/tmp when it cannot (e.g. a checkout inside a 0700 home).
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

POSTGIS_PACKAGES = (
    "postgresql postgresql-15-postgis-3 (Debian 12; on other releases postgresql-<major>-postgis-3)"
)


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


@dataclass
class Cluster:
    """One private cluster: data in `base/pg`, socket in `base/run`, port in `base/port`."""

    base: Path
    user: str = "postgres"

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
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def init(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.sockdir.mkdir(exist_ok=True)
        if _is_root():
            shutil.chown(self.base, self.user, self.user)
            shutil.chown(self.sockdir, self.user, self.user)
        if self.initialised():
            return
        try:
            self._run(
                "initdb",
                "-D",
                str(self.datadir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
        except subprocess.CalledProcessError as exc:
            raise ClusterError(f"initdb failed:\n{exc.stderr}") from exc

    def start(self, port: int | None = None) -> None:
        """Start (initialising first if needed); reuse the recorded port when it is free."""
        self.init()
        if self.running():
            return
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

    def stop(self) -> None:
        if self.running():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop", check=False)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def create_database(self, dbname: str, template: str | None = None) -> str:
        """Create `dbname` (with PostGIS) unless it exists; return its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
            ).fetchone()
            if not exists:
                tmpl = (
                    f" TEMPLATE {psycopg.sql.Identifier(template).as_string(conn)}"
                    if template
                    else ""
                )
                ident = psycopg.sql.Identifier(dbname).as_string(conn)
                conn.execute(f"CREATE DATABASE {ident}{tmpl}")
        return self.url(dbname)
