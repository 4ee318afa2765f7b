"""`civicmap tiles warm [LAYER ...]`: build the city-scale tiles (z 0-12) of the clustered
layers into the tile cache now (layers.tile_warm), e.g. after a large import."""

from __future__ import annotations

import click

from geo import db


@click.group("tiles", help="Vector tiles: warm the tile cache.")
def tiles_group() -> None:
    pass


@tiles_group.command("warm", help="Build the z 0-12 tiles of the clustered layers now.")
@click.argument("layers", nargs=-1)
def warm_command(layers: tuple[str, ...]) -> None:
    from layers import registry
    from layers.tile_warm import clustered_layers, warm_layers

    chosen = clustered_layers([ly for ly in registry.all_layers() if ly.is_public])
    if layers:
        unknown = sorted(set(layers) - {ly.name for ly in chosen})
        if unknown:
            raise click.BadParameter(
                f"no clustered public layer {unknown[0]!r}", param_hint="LAYER"
            )
        chosen = [ly for ly in chosen if ly.name in layers]
    for w in warm_layers(db.engine(db.database_url()), chosen):
        state = "busy (another warmer)" if w.version is None else f"version {w.version}"
        click.echo(f"{w.layer}: {w.tiles} tiles, {w.points} points, {state}, {w.seconds:.1f} s")


commands = [tiles_group]
