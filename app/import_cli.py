"""`civicmap import …` (files and services into layers, the gazetteer, past budgets) and
`civicmap demo`: listed in app/cli.py's COMMAND_MODULES."""

from __future__ import annotations

import time

import click

from geo import db
from geo.cities import get_city
from geo.config import Settings


def _city():
    return get_city(Settings().city)


@click.group("import", help="Import features from files and services.")
def _imports() -> None:
    pass


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


@_imports.command("pabulib", help="Import Pabulib .pb files (past budget editions).")
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


@_imports.command(
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


@_imports.command("ngo-csv", help="Import NGO locations from a CSV (see the README).")
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


@_imports.command(
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


@click.command("demo", help="Add (or --remove) a clearly labelled SYNTHETIC demo data set.")
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


@_imports.command(
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


commands = [_imports, demo_cmd]
