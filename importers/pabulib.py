"""Pabulib ``.pb`` files (past participatory-budget editions) into the database.

One file is one voting unit of one edition: the city-wide pool or one district. Parsing is
importers.pabulib_format; district names are matched with geo.names against the configured
city's official ``district_names``, despite diacritics, case and spelling. A file is written
in ONE transaction (a savepoint inside the caller's): proposals, the unit's pool, its ballots.

**budget_proposals** (upserted by ``external_id`` through importers.common.import_rows):

* ``edition`` = META ``instance`` (the year); ``scope`` = ``district`` when META has a
  ``subunit``/``district``, else ``citywide``;
* ``title`` = ``name``; ``cost``, ``votes``, ``score`` as in the file; ``category`` = the
  first of the file's comma-separated categories that the layer knows (Pabulib's
  ``public transit and roads`` -> ``public transit``, ``bicycle infrastructure`` ->
  ``infrastructure``);
* ``selected`` 1/0 -> ``status`` ``selected`` / ``not_selected``; files without the column
  (Kraków 2018) leave ``selected`` empty and say ``accepted_for_vote`` (they were on the
  ballot; the result is not in the file and is not guessed);
* geometry: a Point where the file has ``latitude``/``longitude``; the database computes the
  districts from it. A project without coordinates (all Kraków files) gets
  ``districts = [<the file's district>]``; a city-wide one ``[]``. Coordinates outside the
  configured city are dropped (the proposal is kept, located by its district) and counted;
* ``external_id`` = the ``project_id`` when it is already a Kraków BO id such as
  ``BO.D18.41/24`` or ``BO.OM.97/24`` (unique across units and years by construction);
  otherwise ``pabulib:<unit>:<year>:<citywide|district-slug>:<project_id>``, e.g.
  ``pabulib:krakow:2018:podgorze-duchackie:12`` (bare numbers repeat across files).

**budget_pools**: one row per (edition, scope, district; 0 = city-wide) with META
``budget``, ``num_projects``, ``num_votes``, ``vote_type``, ``date_begin``, ``date_end``.

**ballots**: the unit's ballots are deleted and re-inserted with COPY on every import, so a
re-import leaves the same content (ballot ids are not stable and nothing refers to them).
``choices`` are the projects' external ids in ballot order (preference order for ordinal
ballots); ``voting_method`` (internet/paper) and ``voter_district`` (from a VOTES
``district``/``neighborhood`` column, matched to the city's districts) when the file has them.
``voter_id``, ``age`` and ``sex`` are never stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from geo.cities import City
from geo.config import DATA_DIR
from geo.names import match_name, normalise, roman_to_int
from importers.pabulib_format import (
    PbFile,
    PbFormatError,
    meta_float,
    meta_int,
    parse_pb,
    project_coordinates,
    vote_project_ids,
)
from importers.report import ImportFileError, ImportReport, progress_bar
from importers.writer import Row, import_rows, import_transaction
from layers.budget_proposals import LAYER

BO_ID = re.compile(r"^BO\.[A-Z]{1,3}\d{0,2}\.\d+/\d{2}$")
PABULIB_CATEGORIES = {
    "public transit and roads": "public transit",
    "bicycle infrastructure": "infrastructure",
}
VOTER_DISTRICT_COLUMNS = ("district", "neighborhood", "neighbourhood")
_DISABLE = {True: False, False: True, None: None}  # tqdm: None = only on a terminal


def slug(name: str) -> str:
    """``"Łagiewniki-Borek Fałęcki"`` -> ``"lagiewniki-borek-falecki"``."""
    return normalise(name, strip_prefix=False).replace(" ", "-")


@dataclass(frozen=True)
class PbUnit:
    """Which pool of which edition a file describes."""

    unit: str  # slug of META unit, e.g. "krakow"
    edition: int
    scope: str  # "district" | "citywide"
    district: int  # 0 for the city-wide pool
    district_name: str | None
    source: str  # file name, kept with the pool and the ballots

    @property
    def scope_slug(self) -> str:
        return "citywide" if self.district_name is None else slug(self.district_name)

    def external_id(self, project_id: str) -> str:
        pid = project_id.strip()
        if BO_ID.match(pid):
            return pid
        return f"pabulib:{self.unit}:{self.edition}:{self.scope_slug}:{pid}"


def districts_by_name(city: City) -> dict[str, int]:
    return {name: i + 1 for i, name in enumerate(city.district_names)}


_NUMBERED = re.compile(r"^\s*(?:dzielnica|dz\.)?\s*([IVXL]+|\d+)\s*$", re.IGNORECASE)


def district_number(value: str, city: City) -> int | None:
    """A district by name (diacritics and spelling forgiven, geo.names.match_name) or by
    its number alone (``"Dzielnica XIII"``, ``"XIII"``, ``"13"``)."""
    number = match_name(value, districts_by_name(city))
    if number is None and (m := _NUMBERED.match(value)):
        token = m.group(1)
        try:
            number = int(token) if token.isdigit() else roman_to_int(token)
        except ValueError:
            return None
    if number is None or not 1 <= number <= len(city.district_names):
        return None
    return number


def pb_unit(pb: PbFile, city: City, source: str) -> PbUnit:
    """The unit of a parsed file, checked against the configured city."""
    meta = pb.meta
    unit = (meta.get("unit") or "").strip()
    if not unit:
        raise ImportFileError("META has no 'unit' (the city)", source)
    if normalise(unit) != normalise(city.name):
        raise ImportFileError(
            f"the file is for {unit!r}, but this instance is configured for {city.name!r} "
            "(set CIVICMAP_CITY)",
            source,
        )
    try:
        edition = meta_int(meta, "instance")
    except PbFormatError as exc:
        raise ImportFileError(
            f"META 'instance' (the edition year): {exc.message}", source
        ) from None
    if not 2013 <= edition <= 2100:
        raise ImportFileError(f"META instance {edition} is not a plausible edition year", source)
    raw_district = (meta.get("subunit") or meta.get("district") or "").strip()
    if not raw_district:
        return PbUnit(slug(unit), edition, "citywide", 0, None, source)
    number = district_number(raw_district, city)
    if number is None:
        raise ImportFileError(
            f"META subunit {raw_district!r} is not a district of {city.name} "
            f"(known: {', '.join(city.district_names)})",
            source,
        )
    return PbUnit(slug(unit), edition, "district", number, city.district_names[number - 1], source)


def category(raw: str | None) -> str | None:
    choices = LAYER.field("category").choices
    for part in (raw or "").split(","):
        c = PABULIB_CATEGORIES.get(part.strip(), part.strip())
        if c in choices:
            return c
    return None


def _date(value: str | None) -> date | None:
    v = (value or "").strip()
    for fmt in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    return None


def _outside_city(conn: Connection, points: list[tuple[float, float]]) -> set[int]:
    """Indexes of the points not covered by the city outline."""
    if not points:
        return set()
    rows = conn.execute(
        text(
            """SELECT p.i FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[]))
                   WITH ORDINALITY AS p(lon, lat, i)
               WHERE NOT EXISTS (SELECT 1 FROM city c
                   WHERE ST_CoveredBy(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), c.geom))"""
        ),
        {"lons": [p[0] for p in points], "lats": [p[1] for p in points]},
    )
    return {int(r[0]) - 1 for r in rows}


def proposal_rows(conn: Connection, pb: PbFile, unit: PbUnit, report: ImportReport) -> list[Row]:
    has_selected = "selected" in pb.project_columns
    coords: list[tuple[float, float] | None] = [project_coordinates(p) for p in pb.projects]
    located = [(i, c) for i, c in enumerate(coords) if c is not None]
    outside = _outside_city(conn, [c for _, c in located])
    dropped = {located[k][0] for k in outside}
    if dropped:
        report.notes.append(
            f"{len(dropped)} project(s) have coordinates outside the city: kept without "
            "geometry, located by the file's district"
        )
    rows = []
    for i, (project, line) in enumerate(zip(pb.projects, pb.project_lines, strict=True)):
        sel = (project.get("selected") or "").strip() if has_selected else ""
        selected = {"1": True, "0": False}.get(sel)
        status = {True: "selected", False: "not_selected", None: "accepted_for_vote"}[selected]
        xy = None if i in dropped else coords[i]
        rows.append(
            Row(
                external_id=unit.external_id(project["project_id"]),
                properties={
                    "edition": unit.edition,
                    "title": project.get("name") or project["project_id"],
                    "category": category(project.get("category")),
                    "cost": project.get("cost"),
                    "scope": unit.scope,
                    "status": status,
                    "votes": project.get("votes") or None,
                    "score": project.get("score") or None,
                    "selected": selected,
                    "source": f"Pabulib: {unit.source}",
                },
                geometry=None if xy is None else {"type": "Point", "coordinates": list(xy)},
                srid=4326,
                ref=f"line {line}",
                districts=[unit.district] if unit.scope == "district" else [],
            )
        )
    return rows


def upsert_pool(conn: Connection, pb: PbFile, unit: PbUnit) -> None:
    meta = pb.meta
    try:
        budget = meta_float(meta, "budget")
    except PbFormatError as exc:
        raise ImportFileError(f"META 'budget': {exc.message}", unit.source) from None
    conn.execute(
        text(
            """INSERT INTO budget_pools AS p (edition, scope, district, budget, num_projects,
                   num_votes, vote_type, date_begin, date_end, source)
               VALUES (:edition, :scope, :district, :budget, :num_projects, :num_votes,
                   :vote_type, :date_begin, :date_end, :source)
               ON CONFLICT (edition, scope, district) DO UPDATE SET
                   budget = EXCLUDED.budget, num_projects = EXCLUDED.num_projects,
                   num_votes = EXCLUDED.num_votes, vote_type = EXCLUDED.vote_type,
                   date_begin = EXCLUDED.date_begin, date_end = EXCLUDED.date_end,
                   source = EXCLUDED.source
               WHERE (p.budget, p.num_projects, p.num_votes, p.vote_type, p.date_begin,
                      p.date_end, p.source)
                     IS DISTINCT FROM (EXCLUDED.budget, EXCLUDED.num_projects,
                      EXCLUDED.num_votes, EXCLUDED.vote_type, EXCLUDED.date_begin,
                      EXCLUDED.date_end, EXCLUDED.source)"""
        ),
        {
            "edition": unit.edition,
            "scope": unit.scope,
            "district": unit.district,
            "budget": Decimal(repr(budget)).quantize(Decimal("0.01")),
            "num_projects": meta_int(meta, "num_projects", None),
            "num_votes": meta_int(meta, "num_votes", None),
            "vote_type": (meta.get("vote_type") or "").strip() or None,
            "date_begin": _date(meta.get("date_begin")),
            "date_end": _date(meta.get("date_end")),
            "source": f"Pabulib: {unit.source}",
        },
    )


def _copy_text(value: str) -> str:
    """Escape a value for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _array_element(value: str) -> str:
    """A quoted text[] element, escaped for the array literal and then for COPY."""
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return _copy_text(quoted)


def replace_ballots(
    conn: Connection,
    pb: PbFile,
    unit: PbUnit,
    city: City,
    report: ImportReport,
    progress: bool | None = None,
) -> int:
    """Delete the unit's ballots and COPY the file's in; returns how many were written."""
    conn.execute(
        text("DELETE FROM ballots WHERE edition = :e AND scope = :s AND district = :d"),
        {"e": unit.edition, "s": unit.scope, "d": unit.district},
    )
    if not pb.has_votes_section:
        return 0
    district_col = next((c for c in VOTER_DISTRICT_COLUMNS if c in pb.vote_columns), None)
    method_col = "voting_method" if "voting_method" in pb.vote_columns else None
    matched: dict[str, str] = {}  # raw value -> COPY text of the district number
    ids: dict[str, str] = {}
    unknown_projects: set[str] = set()
    known = {p["project_id"] for p in pb.projects}
    unmatched = 0
    unmatched_names: set[str] = set()
    methods: dict[str, str] = {}
    count = 0
    raw = conn.connection.driver_connection
    copy_sql = (
        "COPY ballots (edition, scope, district, voter_district, voting_method, choices, "
        "source) FROM STDIN"
    )
    total = meta_int(pb.meta, "num_votes", None)
    votes = progress_bar(
        pb.iter_votes(),
        desc=f"ballots {Path(unit.source).name}",
        total=total,
        unit=" ballots",
        disable=_DISABLE[progress],
    )
    head = f"{unit.edition}\t{unit.scope}\t{unit.district}\t"
    tail = f"\t{_copy_text(unit.source)}\n"
    with raw.cursor() as cur, cur.copy(copy_sql) as copy:
        buffer: list[str] = []
        for ballot in votes:
            elements = []
            for pid in vote_project_ids(ballot):
                element = ids.get(pid)
                if element is None:
                    element = ids[pid] = _array_element(unit.external_id(pid))
                    if pid not in known:
                        unknown_projects.add(pid)
                elements.append(element)
            voter_district = "\\N"
            if district_col is not None:
                value = ballot[district_col]
                if value not in matched:
                    number = district_number(value, city) if value.strip() else None
                    matched[value] = "\\N" if number is None else str(number)
                    if number is None and value.strip():
                        unmatched_names.add(value)
                voter_district = matched[value]
                if voter_district == "\\N" and value.strip():
                    unmatched += 1
            method = "\\N"
            if method_col is not None:
                raw_method = ballot[method_col]
                method = methods.get(raw_method)
                if method is None:
                    method = methods[raw_method] = _copy_text(raw_method.strip()) or "\\N"
            buffer.append(f"{head}{voter_district}\t{method}\t{{{','.join(elements)}}}{tail}")
            count += 1
            if len(buffer) >= 2000:
                copy.write("".join(buffer))
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))
    if unknown_projects:
        report.notes.append(
            f"ballots name {len(unknown_projects)} project id(s) absent from PROJECTS: "
            + ", ".join(sorted(unknown_projects)[:10])
        )
    if unmatched:
        report.notes.append(
            f"{unmatched} ballot(s) name a voter district that matches none of {city.name}'s: "
            + ", ".join(sorted(unmatched_names)[:10])
        )
    if total is not None and total != count:
        report.notes.append(f"META num_votes is {total}, the file holds {count} ballots")
    return count


def store_results(conn: Connection, editions: Iterable[int]) -> dict[int, int]:
    """Keep the results of the imported editions that are closed (every pabulib edition is:
    migration 0007 creates it closed) for the ``pb-results`` layer — its OGC API collection
    for MSIP, exports and map — with civic.pb.results.store, in the import's transaction.
    An edition being voted here is left alone (its results wait for the urn to close).
    Returns {edition: rows written} (0: the kept rows were already these)."""
    from civic.pb import results as R

    wanted = sorted(set(editions))
    closed = {
        r[0]
        for r in conn.execute(
            text("SELECT year FROM pb_editions WHERE year = ANY(:e) AND closed"), {"e": wanted}
        )
    }
    return {e: R.store(conn, e) for e in wanted if e in closed}


def import_pb(
    conn: Connection,
    path: str | Path,
    city: City,
    *,
    dry_run: bool = False,
    progress: bool | None = None,
    results: bool = True,
) -> ImportReport:
    """Import one ``.pb`` file: proposals, pool and ballots, all or nothing; then (``results``)
    the edition's results are kept in the same transaction (:func:`store_results`)."""
    path = Path(path)
    report = ImportReport(source=path.name, layer=LAYER.name, dry_run=dry_run)
    with import_transaction(conn, dry_run):
        try:
            pb = parse_pb(path)
            unit = pb_unit(pb, city, path.name)
            report.extra["edition"] = unit.edition
            rows = proposal_rows(conn, pb, unit, report)
            expected = meta_int(pb.meta, "num_projects", None)
            if expected is not None and expected != len(rows):
                report.notes.append(
                    f"META num_projects is {expected}, the file lists {len(rows)} projects"
                )
            import_rows(conn, LAYER, rows, report=report, progress=progress, allow_empty=True)
            upsert_pool(conn, pb, unit)
            report.extra["ballots"] = replace_ballots(conn, pb, unit, city, report, progress)
        except PbFormatError as exc:
            where = f"line {exc.line_number}: " if exc.line_number else ""
            raise ImportFileError(f"{where}{exc.message}", path.name) from exc
        if not rows:
            raise ImportFileError("the file lists no projects", path.name)
        if results and not dry_run:
            report.extra["results"] = store_results(conn, [unit.edition]).get(unit.edition)
    return report


def import_pb_files(
    conn: Connection,
    paths: Iterable[str | Path],
    city: City,
    *,
    dry_run: bool = False,
    progress: bool | None = None,
) -> list[ImportReport]:
    """Several files in one transaction (any bad file undoes them all); then the results of
    every edition they belong to, once per edition, in the same transaction."""
    paths = list(paths)
    reports: list[ImportReport] = []
    with import_transaction(conn, dry_run):
        bar = progress_bar(paths, desc="pabulib files", unit=" files", disable=_DISABLE[progress])
        for p in bar:
            reports.append(
                import_pb(
                    conn, p, city, progress=False if progress is None else progress, results=False
                )
            )
        if not dry_run:
            stored = store_results(conn, [r.extra["edition"] for r in reports])
            for r in reports:
                r.extra["results"] = stored.get(r.extra["edition"])
    for r in reports:
        r.dry_run = dry_run or r.dry_run
    return reports


def reference_files(city: City) -> list[Path]:
    """The shipped Pabulib files of a city: data/pabulib/<city>/*.pb."""
    return sorted((DATA_DIR / "pabulib" / city.slug).glob("*.pb"))


MES_OUTCOMES = "mes-outcomes.csv"


def mes_outcomes_path(city: City) -> Path:
    return DATA_DIR / "pabulib" / city.slug / MES_OUTCOMES


def write_mes_outcomes(conn: Connection, path: Path) -> int:
    """Write the kept MES outcomes as CSV (``funded``: external ids separated by spaces)."""
    import csv

    from civic.pb.mes import OUTCOME_COLUMNS, outcomes

    rows = outcomes(conn)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=OUTCOME_COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "funded": " ".join(r["funded"])})
    return len(rows)


def load_mes_outcomes(conn: Connection, city: City) -> tuple[int, list[int]]:
    """The shipped MES outcomes of the city's editions (none: nothing), kept where none is;
    returns (rows read, editions with outcomes newly kept)."""
    import csv

    path = mes_outcomes_path(city)
    if not path.exists():
        return 0, []
    from civic.pb.mes import load_outcomes

    with path.open(encoding="utf-8") as f:
        rows = [
            {
                **r,
                "edition": int(r["edition"]),
                "district": int(r["district"]),
                "ballots": int(r["ballots"]),
                "funded": r["funded"].split(),
                "seconds": float(r["seconds"]) if r["seconds"] else None,
            }
            for r in csv.DictReader(f)
        ]
    return len(rows), load_outcomes(conn, rows)


def summarise(reports: list[ImportReport]) -> dict[str, Any]:
    return {
        "files": len(reports),
        "proposals": sum(r.accepted for r in reports),
        "ballots": sum(r.extra.get("ballots", 0) for r in reports),
        "rejected": sum(len(r.rejected) for r in reports),
    }
