"""Load the reference data the app ships with (data/), once per database.

Each step is recorded in ``reference_loads``; a step that is already there is skipped, so
running ``make run`` again is quick and keeps data. Each step is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from geo.cities import City
from importers.districts import load_districts


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Connection, City], tuple[int, str]]  # -> (rows, source label)
    cities: tuple[str, ...] = ("krakow",)


def _districts(conn: Connection, city: City) -> tuple[int, str]:
    report = load_districts(conn, city)
    return len(report.loaded), report.source


def _gazetteer(conn: Connection, city: City) -> tuple[int, str]:
    from importers.gazetteer import load_gazetteer

    report = load_gazetteer(conn, city)
    return report.rows, "OpenStreetMap neighbourhoods + civic places (ODbL), districts"


def _civic_venues(conn: Connection, city: City) -> tuple[int, str]:
    from importers.civic_venues import SOURCE_LABEL, import_civic_venues

    report = import_civic_venues(conn, city)
    outside = report.extra.get("outside_city", 0)
    return report.accepted, f"{SOURCE_LABEL}; {outside} outside the city not loaded"


def _pabulib(conn: Connection, city: City) -> tuple[int, str]:
    from importers.pabulib import import_pb_files, reference_files, summarise

    files = reference_files(city)  # a progress bar per file on a terminal
    totals = summarise(import_pb_files(conn, files, city))
    return totals["proposals"], f"Pabulib, {totals['files']} files, {totals['ballots']} ballots"


def _pb_results(conn: Connection, city: City) -> tuple[int, str]:
    """The results of the closed editions that have none kept yet (a database whose pabulib
    files were loaded before the importer kept them; a fresh load keeps them already)."""
    from importers.pabulib import store_results

    missing = conn.execute(
        text(
            """SELECT DISTINCT p.edition FROM budget_pools p
               JOIN pb_editions e ON e.year = p.edition AND e.closed
               WHERE NOT EXISTS (SELECT 1 FROM pb_result_rows r WHERE r.edition = p.edition)"""
        )
    ).scalars()
    stored = store_results(conn, missing)
    return sum(stored.values()), f"results of {len(stored)} closed edition(s) (Kraków's rule)"


def _pb_mes(conn: Connection, city: City) -> tuple[int, str]:
    """The Method of Equal Shares' outcomes of the shipped editions, computed with pabutools
    and shipped beside the ballots (an hour of CPU; `civicmap results <year> --rule mes
    --recompute` computes them again); the editions' kept results then show them."""
    from importers.pabulib import load_mes_outcomes, store_results

    rows, editions = load_mes_outcomes(conn, city)
    # before the pabulib step (a new database) the ballots' import keeps the results with
    # MES already; a database loaded before this step existed keeps them again here
    kept = conn.execute(
        text("SELECT DISTINCT edition FROM pb_result_rows WHERE edition = ANY(:e)"),
        {"e": editions},
    ).scalars()
    store_results(conn, kept)
    return rows, f"MES outcomes (pabutools) of {len(editions)} edition(s), data/pabulib"


STEPS: list[Step] = [
    Step("districts", _districts, cities=("krakow", "warszawa")),
    Step("gazetteer", _gazetteer),
    Step("civic-venues", _civic_venues),
    Step("pb-mes", _pb_mes),  # before the ballots: their import keeps results with MES
    Step("pabulib", _pabulib),
    Step("pb-results", _pb_results),
]


def load_reference(
    engine: Engine, city: City, force: bool = False, echo: Callable[[str], None] = print
) -> dict[str, int]:
    done: dict[str, int] = {}
    for step in STEPS:
        if city.slug not in step.cities:
            continue
        with engine.begin() as conn:
            seen = conn.execute(
                text("SELECT rows FROM reference_loads WHERE name = :n"), {"n": step.name}
            ).scalar_one_or_none()
            if seen is not None and not force:
                echo(f"  {step.name}: already loaded ({seen} rows)")
                continue
            rows, source = step.run(conn, city)
            conn.execute(
                text(
                    """INSERT INTO reference_loads (name, rows, source) VALUES (:n, :r, :s)
                       ON CONFLICT (name) DO UPDATE SET rows = :r, source = :s, loaded_at = now()"""
                ),
                {"n": step.name, "r": rows, "s": source},
            )
            echo(f"  {step.name}: {rows} rows from {source}")
            done[step.name] = rows
    if done:
        with engine.begin() as conn:  # fresh statistics, so the planner uses the indexes
            conn.execute(text("ANALYZE"))
    return done
