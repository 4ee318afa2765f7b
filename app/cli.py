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


def _import_group() -> click.Group:
    """The `import` group: another module may have made it already; add to that one."""
    found = main.commands.get("import")
    if isinstance(found, click.Group):
        return found

    @main.group("import", help="Import features from files and services.")
    def import_group() -> None:
        pass

    return import_group


_imports = _import_group()


def _mapping(map_: str | None, set_: str | None, id_field: str | None):
    from importers.common import FieldMapping, parse_map_option

    return FieldMapping(
        fields=parse_map_option(map_), constants=parse_map_option(set_), external_id=None
    ), id_field


def _echo_result(result, dry_run: bool) -> None:
    prefix = "[dry run] " if dry_run else ""
    if result.districts:
        click.echo(f"{prefix}{len(result.districts)} districts loaded: {result.districts}")
    elif result.report is not None:
        click.echo(prefix + result.report.summary())


_common_import_options = [
    click.option("--layer", required=True, help="Target: 'districts' or a registered layer."),
    click.option("--map", "map_", default=None, help="Field mapping: title=NAZWA,cost=KOSZT."),
    click.option("--set", "set_", default=None, help="Constants: status=published,edition=2025."),
    click.option("--id-field", default=None, help="Source attribute holding a stable id."),
    click.option("--name-field", default=None, help="Districts: the name attribute (NAZWA)."),
    click.option("--number-field", default=None, help="Districts: the number attribute."),
    click.option("--repair", is_flag=True, help="Repair invalid geometries (ST_MakeValid)."),
    click.option("--dry-run", is_flag=True, help="Do everything, then roll back."),
]


def _with_options(options):
    def deco(fn):
        for opt in reversed(options):
            fn = opt(fn)
        return fn

    return deco


@_imports.command("arcgis", help="Import an ArcGIS REST layer (FeatureServer/MapServer .../N).")
@click.argument("url")
@click.option("--out-sr", type=int, default=2178, show_default=True, help="outSR to ask for.")
@click.option("--page-size", type=int, default=None, help="resultRecordCount (≤ maxRecordCount).")
@click.option("--where", default="1=1", show_default=True, help="ArcGIS where clause.")
@_with_options(_common_import_options)
def import_arcgis_cmd(
    url,
    out_sr,
    page_size,
    where,
    layer,
    map_,
    set_,
    id_field,
    name_field,
    number_field,
    repair,
    dry_run,
):
    from importers.arcgis import import_arcgis
    from importers.common import ImportFileError

    mapping, id_field = _mapping(map_, set_, id_field)
    try:
        result = import_arcgis(
            db.engine(db.database_url()),
            url,
            layer,
            city=_city(),
            out_sr=out_sr,
            page_size=page_size,
            where=where,
            mapping=mapping,
            id_field=id_field,
            name_field=name_field,
            number_field=number_field,
            repair=repair,
            dry_run=dry_run,
        )
    except (ImportFileError, ValueError) as exc:
        raise click.ClickException(f"{exc} (nothing was changed)") from exc
    click.echo(f"read {result.read} features from {url}")
    _echo_result(result, dry_run)


@_imports.command("wfs", help="Import a WFS 2.0/1.1 feature type (GML 3.1.1/3.2).")
@click.argument("url")
@click.argument("typename")
@click.option(
    "--version",
    "version",
    default="2.0.0",
    show_default=True,
    type=click.Choice(["2.0.0", "1.1.0"]),
)
@click.option("--srs", type=int, default=2178, show_default=True, help="EPSG code to ask for.")
@click.option("--page-size", type=int, default=1000, show_default=True)
@click.option(
    "--axis-order", type=click.Choice(["auto", "xy", "yx"]), default="auto", show_default=True
)
@click.option("--output-format", default=None, help="e.g. 'application/gml+xml; version=3.1'.")
@_with_options(_common_import_options)
def import_wfs_cmd(
    url,
    typename,
    version,
    srs,
    page_size,
    axis_order,
    output_format,
    layer,
    map_,
    set_,
    id_field,
    name_field,
    number_field,
    repair,
    dry_run,
):
    from importers.common import ImportFileError
    from importers.wfs import import_wfs

    mapping, id_field = _mapping(map_, set_, id_field)
    try:
        result = import_wfs(
            db.engine(db.database_url()),
            url,
            typename,
            layer,
            city=_city(),
            version=version,
            srs=srs,
            page_size=page_size,
            axis_order=axis_order,
            output_format=output_format,
            mapping=mapping,
            id_field=id_field,
            name_field=name_field,
            number_field=number_field,
            repair=repair,
            dry_run=dry_run,
        )
    except (ImportFileError, ValueError) as exc:
        raise click.ClickException(f"{exc} (nothing was changed)") from exc
    click.echo(f"read {result.read} features of {typename} from {url}")
    _echo_result(result, dry_run)


# --- file imports (issue 3): pabulib, vector, ngo-csv, civic-venues; the demo set -----------


def _refused(exc: Exception) -> click.ClickException:
    return click.ClickException(f"import refused: {exc}\nNothing was changed.")


def _print_reports(reports) -> None:
    for r in reports:
        click.echo(r.summary())
    if any(not r.ok for r in reports):
        raise click.ClickException("no row of the file could be imported (see the reasons above)")


@_import_group().command("pabulib", help="Import Pabulib .pb files (past budget editions).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--dry-run", is_flag=True, help="Do everything, then roll back.")
def import_pabulib_cmd(paths: tuple[str, ...], dry_run: bool) -> None:
    from pathlib import Path

    from importers.common import ImportFileError
    from importers.pabulib import import_pb_files, summarise

    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.glob("*.pb")) if p.is_dir() else [p]
    if not files:
        raise click.ClickException("no .pb files given")
    try:
        with db.engine(db.database_url()).begin() as conn:
            reports = import_pb_files(conn, files, _city(), dry_run=dry_run)
    except ImportFileError as exc:
        raise _refused(exc) from exc
    _print_reports(reports)
    totals = summarise(reports)
    click.echo(
        f"{'[dry run] ' if dry_run else ''}{totals['files']} file(s): {totals['proposals']} "
        f"proposals, {totals['ballots']} ballots, {totals['rejected']} rejected"
    )


@_import_group().command(
    "vector", help="Import a GeoJSON, GeoPackage, Shapefile (.shp/.zip) or Esri JSON file."
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--layer", required=True, help="A registered layer, e.g. revitalisation-areas.")
@click.option("--map", "map_", default=None, help="Field mapping: title=NAZWA,cost=KOSZT.")
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="YAML/JSON mapping file (fields:, defaults:, external_id:).",
)
@click.option("--set", "set_", default=None, help="Constants: scope=district,edition=2025.")
@click.option("--source-layer", default=None, help="Which layer of a multi-layer file.")
@click.option("--encoding", default=None, help="Text encoding when there is no .cpg (cp1250).")
@click.option("--crs", default=None, help="Source CRS when the file lacks one (EPSG:2178).")
@click.option("--repair", is_flag=True, help="Repair invalid geometries with ST_MakeValid.")
@click.option("--dry-run", is_flag=True, help="Do everything, then roll back.")
def import_vector_cmd(
    file, layer, map_, mapping_file, set_, source_layer, encoding, crs, repair, dry_run
) -> None:
    from importers.common import FieldMapping, ImportFileError, parse_map_option
    from importers.vector import import_vector

    try:
        mapping = FieldMapping.from_file(mapping_file) if mapping_file else FieldMapping()
        mapping = mapping.merged(
            FieldMapping(fields=parse_map_option(map_), constants=parse_map_option(set_))
        )
        with db.engine(db.database_url()).begin() as conn:
            report = import_vector(
                conn,
                file,
                layer,
                mapping=mapping,
                encoding=encoding,
                crs=crs,
                source_layer=source_layer,
                repair=repair,
                dry_run=dry_run,
            )
    except ImportFileError as exc:
        raise _refused(exc) from exc
    _print_reports([report])


@_import_group().command("ngo-csv", help="Import NGO locations from a CSV (see the README).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--encoding", default=None, help="e.g. cp1250 for a Windows export (default UTF-8).")
@click.option("--dry-run", is_flag=True, help="Do everything, then roll back.")
def import_ngo_csv_cmd(file: str, encoding: str | None, dry_run: bool) -> None:
    from importers.common import ImportFileError
    from importers.ngo_csv import import_ngo_csv

    try:
        with db.engine(db.database_url()).begin() as conn:
            report = import_ngo_csv(conn, file, _city(), encoding=encoding, dry_run=dry_run)
    except ImportFileError as exc:
        raise _refused(exc) from exc
    _print_reports([report])


@_import_group().command(
    "civic-venues", help="Import the OSM place lists (libraries/culture/education/offices.json)."
)
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--dry-run", is_flag=True, help="Do everything, then roll back.")
def import_civic_venues_cmd(directory: str | None, dry_run: bool) -> None:
    from importers.civic_venues import import_civic_venues
    from importers.common import ImportFileError

    try:
        with db.engine(db.database_url()).begin() as conn:
            report = import_civic_venues(conn, _city(), directory, dry_run=dry_run)
    except ImportFileError as exc:
        raise _refused(exc) from exc
    _print_reports([report])


@main.command("demo", help="Add (or --remove) a clearly labelled SYNTHETIC demo data set.")
@click.option("--remove", is_flag=True, help="Delete the demo rows (demo = true) instead.")
@click.option("--dry-run", is_flag=True, help="Do everything, then roll back.")
def demo_cmd(remove: bool, dry_run: bool) -> None:
    from importers.common import ImportFileError
    from importers.demo import load_demo, remove_demo

    eng = db.engine(db.database_url())
    if remove:
        with eng.begin() as conn:
            counts = remove_demo(conn)
            if dry_run:
                conn.rollback()
        click.echo(
            ("[dry run] " if dry_run else "")
            + "removed demo rows: "
            + ", ".join(f"{t} {n}" for t, n in counts.items())
        )
        return
    try:
        with eng.begin() as conn:
            reports = load_demo(conn, _city(), dry_run=dry_run)
    except ImportFileError as exc:
        raise _refused(exc) from exc
    _print_reports(reports)
    click.echo("Demo data is fictitious: every record is marked demo and titled [DEMO].")


@_import_group().command(
    "prg",
    help="Import PRG address points (GML 2012/2021 or CSV, EPSG:2180; .zip too) into the gazetteer.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--axis-order",
    type=click.Choice(["auto", "ne", "en"]),
    default="auto",
    show_default=True,
    help="auto: from the file's CRS convention; ne: northing first; en: easting first.",
)
@click.option("--dry-run", is_flag=True, help="Do everything, then roll back.")
def import_prg_cmd(file: str, axis_order: str, dry_run: bool) -> None:
    from importers.prg import PrgFormatError, load_prg

    t0 = time.monotonic()
    try:
        with db.engine(db.database_url()).begin() as conn:
            report = load_prg(conn, _city(), file, axis_order=axis_order)
            if dry_run:
                conn.rollback()
    except PrgFormatError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(("[dry run] " if dry_run else "") + report.summary())
    click.echo(f"({time.monotonic() - t0:.1f} s)")


# Command groups that live beside their audience (one line each): each module defines `commands`,
# a list of click commands/groups added to `civicmap`.
COMMAND_MODULES: list[str] = [
    "app.pb.cli",
    "app.pb.results_cli",
]


def _add_command_modules() -> None:
    import importlib

    for name in COMMAND_MODULES:
        for cmd in importlib.import_module(name).commands:
            main.add_command(cmd)


_add_command_modules()
