"""The `civicmap` command line: the same steps `make run` takes, one by one."""

from __future__ import annotations

import os
import sys
import time

import click

from geo import db
from geo.cities import get_city
from geo.cluster import Cluster, ClusterError
from geo.config import VAR_DIR, Settings


def _city():
    return get_city(Settings().city)


@click.group(help="Civic Map Kraków — command line.")
def main() -> None:
    pass


@main.group(
    "db", help="The database: a private PostGIS cluster under var/ unless DATABASE_URL is set."
)
def db_group() -> None:
    pass


def _up() -> str:
    if os.environ.get("DATABASE_URL"):
        url = db.database_url()
        click.echo("Using DATABASE_URL")
    else:
        cluster = Cluster(VAR_DIR)
        t0 = time.monotonic()
        try:
            cluster.start()
            url = cluster.create_database(db.EMBEDDED_DB)
        except ClusterError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(
            f"PostGIS cluster in {cluster.base} on 127.0.0.1:{cluster.port} ({time.monotonic() - t0:.1f} s)"
        )
    db.migrate(url)
    click.echo("Migrations applied")
    return url


@db_group.command("up", help="Start the private cluster (if needed), create the database, migrate.")
def db_up() -> None:
    _up()


@db_group.command("down", help="Stop the private cluster (data is kept in var/).")
def db_down() -> None:
    Cluster(VAR_DIR).stop()
    click.echo("PostGIS cluster stopped")


@db_group.command("migrate", help="Apply Alembic migrations.")
def db_migrate() -> None:
    db.migrate(db.database_url())
    click.echo("Migrations applied")


@main.command("load-reference", help="Load the shipped reference data (skips what is loaded).")
@click.option("--force", is_flag=True, help="Reload even what is already loaded.")
def load_reference_cmd(force: bool) -> None:
    from importers.reference import load_reference

    click.echo(f"Reference data for {_city().name}:")
    load_reference(db.engine(db.database_url()), _city(), force=force, echo=click.echo)


@main.command("up", help="db up + load-reference: everything `make run` does before serving.")
def up() -> None:
    from importers.reference import load_reference

    url = _up()
    click.echo(f"Reference data for {_city().name}:")
    load_reference(db.engine(url), _city(), echo=click.echo)


@main.command("serve", help="Serve the app with gunicorn on 127.0.0.1:PORT (default 5000).")
@click.option("--port", type=int, default=None, help="default: $PORT or 5000")
@click.option(
    "--host",
    default=lambda: os.environ.get("HOST", "127.0.0.1"),
    help="default: $HOST or 127.0.0.1",
)
@click.option("--workers", type=int, default=2)
def serve(port: int | None, host: str, workers: int) -> None:
    port = port or Settings().port
    os.environ["DATABASE_URL"] = db.database_url()
    click.echo(f"Serving on http://{host}:{port}")
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "-",
            "app:create_app()",
        ],
    )
