"""The `civicmap` command line: the same steps `make run` takes, one by one."""

from __future__ import annotations

import os
import sys
import time

import click

from geo import db
from geo.cities import get_city
from geo.cluster import APP_ROLE, Cluster, ClusterError
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
        # passwords (scram-sha-256), an app role that owns the database: docs/security.md
        cluster = Cluster(VAR_DIR, secure=True)
        t0 = time.monotonic()
        try:
            cluster.start()
            url = cluster.create_database(db.EMBEDDED_DB)
        except ClusterError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(
            f"PostGIS cluster in {cluster.base} on 127.0.0.1:{cluster.port} "
            f"({time.monotonic() - t0:.1f} s); the app connects as role {APP_ROLE!r} with the "
            f"password in {cluster.passfile}"
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
    os.environ.setdefault("CIVICMAP_TILE_WARM", "10")  # city-scale tiles rebuilt after writes
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
            # gunicorn 27's control socket defaults to ~/.gunicorn/gunicorn.ctl, shared by every
            # instance of this user: a second `civicmap serve` would take it over (issue 14.11)
            "--no-control-socket",
            "app:create_app()",
        ],
    )


# --- accounts (issue 4) -------------------------------------------------------------------------


@main.group("users", help="Accounts: add the first admin, list accounts.")
def users_group() -> None:
    pass


def _role_option():
    from civic.accounts import ROLES

    return click.Choice(list(ROLES))


@users_group.command("add", help="Create a confirmed account (or add roles to an existing one).")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    "roles",
    multiple=True,
    default=("resident",),
    show_default=True,
    type=_role_option(),
    help="repeat for several roles",
)
@click.option("--district", type=int, default=None, help="district of residence (1-18)")
@click.option("--council-district", type=int, default=None, help="for the council role")
@click.option("--ngo-id", type=int, default=None, help="for the ngo role: ngo_locations.id")
@click.option(
    "--password",
    default=None,
    help="asked for (hidden) when left out; prefer the prompt over the shell history",
)
def users_add(email, name, roles, district, council_district, ngo_id, password) -> None:
    # civic.accounts directly: no Flask app, no request context (messages are Polish)
    from civic import accounts
    from civic.audit import record_audit

    try:
        email = accounts.validate_email(email)
        name = accounts.validate_name(name)
    except accounts.Invalid as exc:
        raise click.BadParameter(exc.message()) from exc
    with db.engine(db.database_url()).begin() as conn:
        found = accounts.find_user_by_email(conn, email)
        if found:
            user = found[0]
            accounts.add_roles(conn, user.id, roles, actor_id=None)
            click.echo(f"{email} exists (id {user.id}): roles {', '.join(roles)} added")
            return
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            accounts.validate_password(password, email)
        except accounts.Invalid as exc:
            raise click.BadParameter(exc.message()) from exc
        user = accounts.create_user(
            conn,
            email,
            name,
            password,
            roles=roles,
            district=district,
            confirmed=True,
            ngo_id=ngo_id,
            council_district=council_district,
        )
        if user is None:  # created by someone else since the lookup above
            raise click.ClickException(f"{email} already has an account")
        record_audit(conn, None, "user.create_cli", "users", user.id, ",".join(roles))
    click.echo(f"created {email} (id {user.id}) with roles {', '.join(sorted(user.roles))}")


@users_group.command("list", help="List accounts (deleted ones are left out unless --all).")
@click.option("--all", "show_all", is_flag=True)
def users_list(show_all: bool) -> None:
    from civic.accounts import list_users

    with db.engine(db.database_url()).connect() as conn:
        rows = list_users(conn, include_deleted=show_all)
    for r in rows:
        state = "deleted" if r.deleted else ("confirmed" if r.confirmed else "unconfirmed")
        click.echo(
            f"{r.id}\t{r.email or '-'}\t{r.name or '-'}\t{','.join(r.roles) or '-'}\t"
            f"{r.district or '-'}\t{state}\t{r.created_at:%Y-%m-%d}"
        )
    click.echo(f"{len(rows)} account(s)")


# --- MSIP: exports and imports from ArcGIS REST / WFS (issue 6) ----------------------------


@main.command("export", help="Write a GIS file of a public layer (or 'districts').")
@click.argument("layer")
@click.argument(
    "fmt", metavar="FORMAT", type=click.Choice(["gpkg", "shp", "geojson", "csv", "kml"])
)
@click.option("--crs", default=None, help="EPSG:4326 (default), EPSG:2180, EPSG:2178, EPSG:3857.")
@click.option("--district", type=int, default=None, help="Only features in this district (1–18).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Output file.")
def export_cmd(layer: str, fmt: str, crs: str | None, district: int | None, output: str | None):
    import shutil
    import tempfile
    from pathlib import Path

    from geo import export as gx
    from layers.collections import export_collection, get_collection

    coll = get_collection(layer)
    if coll is None:
        from layers.collections import collections

        names = ", ".join(c.name for c in collections())
        raise click.BadParameter(
            f"no public layer {layer!r}; use one of: {names}", param_hint="LAYER"
        )
    f = gx.get_format(fmt)
    try:
        srid = gx.check_crs(
            f, gx.parse_crs(crs, allow_crs84=False) if crs else (f.fixed_crs or 4326)
        )
    except gx.ExportError as exc:
        raise click.BadParameter(str(exc), param_hint="--crs") from None
    eng = db.engine(db.database_url())
    if district is not None:
        from layers.collections import district_count

        with eng.connect() as conn:
            n = district_count(conn)
        if not 1 <= district <= n:
            raise click.BadParameter(f"must be 1–{n}", param_hint="--district")
    tmp = Path(tempfile.mkdtemp(prefix="civicmap-export-"))
    try:
        path, count = export_collection(eng, coll, f.key, srid, district, out_dir=tmp)
        target = Path(output) if output else Path.cwd() / path.name
        shutil.move(str(path), target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    click.echo(f"{count} features of {layer} -> {target} ({f.title}, EPSG:{srid})")


# Command groups that live beside their audience (one line each): each module defines `commands`,
# a list of click commands/groups added to `civicmap`.
COMMAND_MODULES: list[str] = [
    "app.import_cli",
    "app.pb.cli",
    "app.pb.results_cli",
    "app.tiles.cli",
]


def _add_command_modules() -> None:
    import importlib

    for name in COMMAND_MODULES:
        for cmd in importlib.import_module(name).commands:
            main.add_command(cmd)


_add_command_modules()
