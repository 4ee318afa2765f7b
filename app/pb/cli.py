"""``civicmap editions …``: the budget's editions for staff and scripts (same civic.pb calls as
the web; every change audited, with no actor: the command line)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from civic.pb import editions as ed
from civic.pb import feasibility, phases, review, summary, support
from civic.pb.errors import PbError
from civic.pb.workflow import take_mails
from geo import db


def _engine():
    return db.engine(db.database_url())


def _run(fn):
    try:
        with _engine().begin() as conn:
            return fn(conn)
    except PbError as exc:
        raise click.ClickException(f"{exc.field}: {exc.code}: {exc.as_dict()['message']}") from exc


@click.group("editions")
def editions() -> None:
    """Budżet Obywatelski editions: list, create, show, set a phase, advance, tick."""


@editions.command("list")
def list_cmd() -> None:
    for e in _run(ed.list_editions):
        state = "closed" if e["closed"] else "open"
        click.echo(f"{e['year']}\t{state}\t{float(e['total'] or 0):.2f}\t{e['title']}")


@editions.command("create")
@click.argument("year", type=int)
@click.option("--title")
@click.option("--support-count", type=int)
@click.option("--support-days", type=int)
def create_cmd(year: int, title: str | None, support_count, support_days) -> None:
    """A new edition with Kraków 2025's configuration (moved to YEAR) unless told otherwise."""
    rules = {"support_count": support_count, "support_days": support_days}
    e = _run(lambda c: ed.create_edition(c, year, None, title=title, rules=rules))
    click.echo(json.dumps(e.as_dict(), ensure_ascii=False, default=str, indent=1))


@editions.command("show")
@click.argument("year", type=int)
@click.option("--json", "as_json", is_flag=True)
def show_cmd(year: int, as_json: bool) -> None:
    def go(conn):
        return {
            **ed.get_edition(conn, year).as_dict(),
            "phase": phases.current_phase(conn, year),
            "schedule": ed.edition_schedule(conn, year),
            "summary": summary.summary(conn, year),
        }

    out = _run(go)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, default=str, indent=1))
        return
    click.echo(f"{out['year']} {out['title']} — now: {out['phase'] or '-'}")
    for w in out["schedule"]:
        click.echo(f"  {w['phase']:<14} {w['starts_on']} – {w['ends_on']}")
    for r in out["summary"]["rows"]:
        cols = " ".join(f"{c}={r[c]}" for c in out["summary"]["columns"])
        click.echo(f"  pool {r['district']:>2}: {cols}")


@editions.command("set-phase")
@click.argument("year", type=int)
@click.argument("phase", type=click.Choice(phases.PHASES))
@click.argument("starts_on", type=click.DateTime(["%Y-%m-%d"]))
@click.argument("ends_on", type=click.DateTime(["%Y-%m-%d"]))
def set_phase_cmd(year: int, phase: str, starts_on, ends_on) -> None:
    _run(lambda c: phases.set_phase(c, year, phase, starts_on.date(), ends_on.date(), None))
    click.echo(f"{year} {phase}: {starts_on.date()} – {ends_on.date()}")


@editions.command("advance")
@click.argument("year", type=int)
def advance_cmd(year: int) -> None:
    """Open the next phase today."""
    click.echo(_run(lambda c: phases.advance(c, year, None)))


@editions.command("close")
@click.argument("year", type=int)
def close_cmd(year: int) -> None:
    _run(lambda c: ed.update_edition(c, year, None, closed=True))
    click.echo(f"{year} closed")


@editions.command("tick")
def tick_cmd() -> None:
    """Daily: record phases that opened, close incomplete support lists, expire corrections."""

    def go(conn):
        out = []
        for e in ed.list_editions(conn):
            if e["closed"]:
                continue
            phases.current_phase(conn, e["year"])
            a = support.close_support_lists(conn, e["year"])
            b = review.expire_corrections(conn, e["year"])
            out.append((e["year"], len(a), len(b)))
        return out, take_mails(conn)

    out, mails = _run(go)
    for year, a, b in out:
        click.echo(f"{year}: {a} without a support list, {b} uncorrected gaps rejected")
    _mail(mails)


def _mail(mails: list[dict]) -> None:
    """The authors hear of the decisions made by the tick (in Polish: no reader's language)."""
    import os

    from civic.audit import MESSAGES
    from civic.mail import MailSettings, send_mail
    from geo.config import VAR_DIR

    settings = MailSettings(
        outbox=Path(os.environ.get("CIVICMAP_MAIL_OUTBOX") or VAR_DIR / "outbox"),
        smtp_host=os.environ.get("CIVICMAP_SMTP_HOST") or None,
        smtp_port=int(os.environ.get("CIVICMAP_SMTP_PORT") or 587),
        smtp_user=os.environ.get("CIVICMAP_SMTP_USER") or None,
        smtp_password=os.environ.get("CIVICMAP_SMTP_PASSWORD") or None,
    )
    for m in mails:
        params = {k: v for k, v in m["params"].items()}
        body = MESSAGES.get(m["key"], m["key"]) % params
        send_mail(settings, m["to"], f"Budżet Obywatelski: {params.get('title', '')}", body)


@editions.command("add-verifier")
@click.argument("email")
@click.argument("unit")
def add_verifier_cmd(email: str, unit: str) -> None:
    """Give a user the verifier role of a city unit (zdmk, zzm, edukacja, kultura, sport, …)."""
    from civic.pb.review import add_verifier_by_email

    _run(lambda c: add_verifier_by_email(c, email, unit, None))
    click.echo(f"{email}: verifier of {unit}")


@editions.command("add-voting-point-staff")
@click.argument("email")
@click.argument("venue_id", type=int)
def add_voting_point_staff_cmd(email: str, venue_id: int) -> None:
    """Give a user the voting_point role at a voting point (a civic venue's id)."""
    from civic.pb.voting import assign_voting_point_by_email

    point = _run(lambda c: assign_voting_point_by_email(c, email, venue_id))
    click.echo(f"{email}: voting point {point['id']} {point['name']}")


@editions.command("synthetic-parcels")
@click.option("--lon", type=float, default=19.9373)
@click.option("--lat", type=float, default=50.0617)
@click.option("--size", type=float, default=100.0, help="parcel side, metres (EPSG:2180)")
@click.option("-n", type=int, default=4, help="parcels per side")
def synthetic_parcels_cmd(lon: float, lat: float, size: float, n: int) -> None:
    """Generate a labelled-synthetic city-land layer (for the demo and tests; not real data)."""
    count = _run(lambda c: feasibility.generate_synthetic_parcels(c, lon, lat, size, n))
    click.echo(f"{count} synthetic parcels (city_land_parcels.synthetic = true)")


@editions.command("feasibility")
@click.argument("proposal_id", type=int)
def feasibility_cmd(proposal_id: int) -> None:
    out = _run(lambda c: feasibility.check(c, proposal_id).as_dict())
    click.echo(json.dumps(out, ensure_ascii=False, indent=1))


commands = [editions]
