"""`civicmap results <edition> --rule greedy|mes [--json]`: an edition's results per pool."""

from __future__ import annotations

import json

import click

from geo import db


def _payload(pools, rule: str) -> dict:
    return {
        "edition": pools[0].edition if pools else None,
        "rule": rule,
        "pools": [
            {
                "pool": p.key,
                "scope": p.scope,
                "district": p.district or None,
                "name": p.name,
                "budget": float(p.budget),
                "ballots": p.ballots,
                "funded": [
                    {"external_id": x.external_id, "points": x.score, "cost": float(x.cost)}
                    for x in p.funded
                ],
                "spent": float(p.spent),
                "left": float(p.left),
            }
            for p in pools
        ],
    }


@click.command("results", help="An edition's results per pool (city-wide, then each district).")
@click.argument("edition", type=int)
@click.option(
    "--rule",
    type=click.Choice(["greedy", "mes"]),
    default="greedy",
    show_default=True,
    help="greedy = Kraków's rule; mes = the Method of Equal Shares (pabutools).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--recompute", is_flag=True, help="MES: compute again even when kept.")
def results_cmd(edition: int, rule: str, as_json: bool, recompute: bool) -> None:
    from civic.pb import results as R

    with db.engine(db.database_url()).begin() as conn:
        if edition not in R.editions(conn):
            raise click.ClickException(f"no pools for edition {edition} (import it first)")
        if rule == "mes" and recompute:
            from civic.pb import mes

            pools = [
                mes.compute(conn, R.tally(conn, p), force=True) for p in R.pools(conn, edition)
            ]
        else:
            pools = R.results(conn, edition, rule)
        R.store(conn, edition)  # the pb-results layer (map, OGC API collection) follows
    if as_json:
        click.echo(json.dumps(_payload(pools, rule), ensure_ascii=False, indent=2))
        return
    for p in pools:
        click.echo(f"{p.name} — budget {p.budget:,.2f} PLN, {p.ballots} ballots ({rule})")
        for x in p.funded:
            click.echo(f"  {x.external_id}  {x.score} pts  {x.cost:,.2f} PLN")
        click.echo(f"  left: {p.left:,.2f} PLN")


@click.command(
    "mes-outcomes",
    help="Write the kept MES outcomes to a CSV: by default the file shipped with the data "
    "(data/pabulib/<city>/mes-outcomes.csv), loaded by `civicmap up` into a new database.",
)
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def mes_outcomes_cmd(path: str | None) -> None:
    from pathlib import Path

    from geo.cities import get_city
    from geo.config import Settings
    from importers.pabulib import mes_outcomes_path, write_mes_outcomes

    target = Path(path) if path else mes_outcomes_path(get_city(Settings().city))
    with db.engine(db.database_url()).connect() as conn:
        n = write_mes_outcomes(conn, target)
    click.echo(f"{n} MES outcomes -> {target}")


commands = [results_cmd, mes_outcomes_cmd]
