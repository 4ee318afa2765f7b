"""Submitting a project: the edition open for submissions, the city form's rules, and the
step that starts the support list's clock.

For the residents' /propose flow (the lead wires it; see docs/budget.md):

    edition = open_edition_for_submission(conn, now)       # PbError 409 when none is open
    check_submission(conn, edition, fields)                 # PbError naming the field/rule
    ... INSERT the proposal as 'draft' with edition=edition.year ...
    submit(conn, proposal_id, actor)                       # draft -> submitted, deadlines

Rules (from the edition's row): title of at most ``title_max`` (60) characters; a category;
scope district or city-wide; for a district project the district of the pool; the cost within
the pool's limits (and for city-wide at most ``citywide_max_share`` of the city pool); the
author declares living in Kraków, and in the district for a district project. No PESEL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.pb.clock import today
from civic.pb.editions import Edition, get_edition
from civic.pb.errors import PbError
from civic.pb.phases import require_phase
from civic.pb.workflow import get_proposal, transition
from layers.budget_proposals import CATEGORY_TITLES

LOCATION_KINDS = ("point", "line", "area", "district", "citywide")


def open_edition_for_submission(conn: Connection, now: datetime | None = None) -> Edition:
    """The (newest) open edition whose submission phase is open today."""
    day = today(now)
    year = conn.execute(
        text(
            """SELECT e.year FROM pb_editions e JOIN pb_edition_phases p ON p.edition = e.year
               WHERE NOT e.closed AND p.phase = 'submission'
                 AND :d BETWEEN p.starts_on AND p.ends_on
               ORDER BY e.year DESC LIMIT 1"""
        ),
        {"d": day},
    ).scalar()
    if year is None:
        upcoming = conn.execute(
            text(
                """SELECT e.year, p.starts_on, p.ends_on FROM pb_editions e
                   JOIN pb_edition_phases p ON p.edition = e.year
                   WHERE NOT e.closed AND p.phase = 'submission' AND p.starts_on > :d
                   ORDER BY p.starts_on LIMIT 1"""
            ),
            {"d": day},
        ).first()
        raise PbError(
            "phase_closed",
            "phase",
            N_("Nabór projektów jest zamknięty. Następny nabór: %(starts)s – %(ends)s."),
            409,
            starts=upcoming.starts_on.isoformat() if upcoming else "—",
            ends=upcoming.ends_on.isoformat() if upcoming else "—",
        )
    _ = require_phase(conn, year, "submission", now)
    return get_edition(conn, year)


def _cost(raw: Any) -> Decimal:
    try:
        v = Decimal(str(raw).replace(" ", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise PbError("not_a_number", "cost", N_("Pole „Koszt”: podaj kwotę w złotych.")) from None
    if not v.is_finite():
        raise PbError("not_a_number", "cost", N_("Pole „Koszt”: podaj kwotę w złotych."))
    return v


def check_cost(edition: Edition, scope: str, district: int, cost: Decimal, field: str = "cost"):
    pool = edition.pool(scope, district)
    if pool is None:
        raise PbError("no_pool", "district", N_("Ta edycja nie ma puli dla wybranej dzielnicy."))
    lo = pool.min_cost if pool.min_cost is not None else Decimal(0)
    hi = pool.max_cost if pool.max_cost is not None else pool.budget
    if scope == "citywide":
        hi = min(hi, pool.budget * edition.citywide_max_share)
    hi = min(hi, pool.budget)
    if not lo <= cost <= hi:
        raise PbError(
            "cost_out_of_limits",
            field,
            N_("Pole „Koszt”: koszt musi wynosić od %(min)s do %(max)s zł w tej puli."),
            min=f"{lo:.2f}",
            max=f"{hi:.2f}",
        )


def check_submission(conn: Connection, edition: Edition, fields: dict[str, Any]) -> dict[str, Any]:
    """Validate a submission against the edition's rules; returns the clean values.

    ``fields``: title, description, category, cost, scope, district (for a district project),
    location_kind, declared_residency, declared_district_residency."""
    title = str(fields.get("title") or "").strip()
    if not title:
        raise PbError("required", "title", N_("Pole „Tytuł” jest wymagane."))
    if len(title) > edition.title_max:
        raise PbError(
            "too_long",
            "title",
            N_("Pole „Tytuł”: najwyżej %(max)s znaków (jest %(n)s)."),
            max=edition.title_max,
            n=len(title),
        )
    description = str(fields.get("description") or "").strip()
    if not description:
        raise PbError("required", "description", N_("Pole „Opis” jest wymagane."))
    if len(description) > 10000:
        raise PbError("too_long", "description", N_("Pole „Opis”: najwyżej 10 000 znaków."))
    category = fields.get("category") or None
    if category not in CATEGORY_TITLES:
        raise PbError("bad_choice", "category", N_("Pole „Kategoria”: wybierz z listy."))
    scope = fields.get("scope")
    if scope not in ("district", "citywide"):
        raise PbError("bad_choice", "scope", N_("Pole „Zasięg”: dzielnicowy albo ogólnomiejski."))
    district = 0
    if scope == "district":
        try:
            district = int(fields.get("district") or 0)
        except (TypeError, ValueError):
            district = 0
        if district <= 0:
            raise PbError(
                "required",
                "district",
                N_("Pole „Dzielnica” jest wymagane dla projektu dzielnicowego."),
            )
    raw_cost = fields.get("cost")
    if raw_cost in (None, ""):
        raise PbError("required", "cost", N_("Pole „Koszt” jest wymagane."))
    cost = _cost(raw_cost)
    check_cost(edition, scope, district, cost)
    kind = fields.get("location_kind") or ("citywide" if scope == "citywide" else "district")
    if kind not in LOCATION_KINDS:
        raise PbError("bad_choice", "location_kind", N_("Pole „Lokalizacja”: wybierz z listy."))
    if not _truthy(fields.get("declared_residency")):
        raise PbError(
            "declaration_required",
            "declared_residency",
            N_("Potwierdź, że mieszkasz w Krakowie."),
        )
    if scope == "district" and not _truthy(fields.get("declared_district_residency")):
        raise PbError(
            "declaration_required",
            "declared_district_residency",
            N_("Potwierdź, że mieszkasz w dzielnicy projektu."),
        )
    return {
        "title": title,
        "description": description,
        "category": category,
        "cost": cost,
        "scope": scope,
        "district": district,
        "location_kind": kind,
    }


def _truthy(v: Any) -> bool:
    return v is True or str(v).lower() in ("1", "true", "on", "yes", "tak")


def create_proposal(
    conn: Connection,
    edition: Edition,
    actor: int,
    clean: dict[str, Any],
    wkt: str | None = None,
) -> int:
    """Insert a draft from checked values (the app's own /pb submit form; /propose has its
    own insert). The database computes the districts from the geometry."""
    districts = [clean["district"]] if clean["scope"] == "district" and wkt is None else []
    row = conn.execute(
        text(
            """INSERT INTO budget_proposals (edition, title, description, category, cost, scope,
                   status, geom, districts, author_id, source, pool_district, location_kind,
                   declared_residency)
               VALUES (:e, :title, :description, :category, :cost, :scope, 'draft',
                   ST_GeomFromText(CAST(:wkt AS text), 4326), CAST(:districts AS smallint[]),
                   :author, 'web', :pool, :kind, true)
               RETURNING id"""
        ),
        {
            "e": edition.year,
            **{k: clean[k] for k in ("title", "description", "category", "cost", "scope")},
            "wkt": wkt,
            "districts": districts,
            "author": actor,
            "pool": clean["district"],
            "kind": clean["location_kind"],
        },
    ).one()
    return row.id


def submit(
    conn: Connection, proposal_id: int, actor: int | None, now: datetime | None = None
) -> None:
    """draft -> submitted inside the submission window; starts the support list's clock
    (``support_days`` from today). A proposal already 'submitted' (inserted so by another
    path) only gets its dates, once."""
    p = get_proposal(conn, proposal_id, lock=True)
    require_phase(conn, p.edition, "submission", now)
    e = get_edition(conn, p.edition)
    day = today(now)
    deadline = day + timedelta(days=e.support_days)
    dates = {"submitted_at": now or datetime.now().astimezone(), "support_deadline": deadline}
    if p.status == "draft":
        transition(conn, proposal_id, "submitted", actor, expect=("draft",), now=now, extra=dates)
    elif p.status == "submitted" and p.submitted_at is None:
        conn.execute(
            text(
                "UPDATE budget_proposals SET submitted_at = :submitted_at, "
                "support_deadline = :support_deadline WHERE id = :id"
            ),
            {**dates, "id": proposal_id},
        )
        conn.execute(
            text(
                "INSERT INTO pb_status_history (proposal_id, from_state, to_state, actor_id) "
                "VALUES (:id, 'draft', 'submitted', :a)"
            ),
            {"id": proposal_id, "a": actor},
        )
        record_audit(conn, actor, "pb.status.submitted", "budget_proposals", proposal_id)
    else:
        raise PbError(
            "transition_not_allowed",
            "status",
            N_("Projekt ma status „%(state)s”: tego kroku nie można teraz wykonać."),
            409,
            state=p.status,
        )
