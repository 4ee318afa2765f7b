"""Database engine, migrations and the SQL error codes our triggers raise."""

from __future__ import annotations

import os
from functools import lru_cache

from sqlalchemy import Engine, create_engine, text

from geo.config import ROOT, sqlalchemy_url

MIGRATIONS = ROOT / "migrations"

# SQLSTATEs raised by our own triggers (class "CV" is free for applications).
OUTSIDE_CITY = "CV001"


@lru_cache(maxsize=8)
def engine(url: str) -> Engine:
    """One pooled engine per URL; pre-ping so a restarted server loses no writes."""
    # JIT compilation cost over a second on the hex-grid and bbox queries (bench/RESULTS.md)
    # and never paid off on these short queries: off for our sessions.
    return create_engine(
        sqlalchemy_url(url),
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"options": "-c jit=off"},
    )


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "heads") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def versions(url: str) -> dict[str, str]:
    with engine(url).connect() as conn:
        row = conn.execute(
            text("SELECT current_setting('server_version'), postgis_full_version()")
        ).one()
    return {"postgresql": row[0], "postgis": row[1].split('"')[1] if '"' in row[1] else row[1]}


EMBEDDED_DB = "civicmap"


def database_url() -> str:
    """DATABASE_URL, or the private cluster under var/ (which `civicmap db up` starts)."""
    from geo.cluster import Cluster
    from geo.config import VAR_DIR

    url = os.environ.get("DATABASE_URL")
    if url:
        return sqlalchemy_url(url)
    cluster = Cluster(VAR_DIR)
    if not cluster.portfile.exists():
        raise RuntimeError("no database: set DATABASE_URL or run `civicmap db up` (make run does)")
    return cluster.url(EMBEDDED_DB)
