"""The budget edition a resident's proposal goes into, and that edition's rules as the propose
form uses them.

A new proposal (a draft too) goes into the edition whose submission phase is open today
(:func:`open_submission`, over ``civic.pb.submission.open_edition_for_submission``); with no
such phase the form is refused (409, field ``phase``) with the date the next submissions open.
The cost limits are the edition's pools (``budget_pools``: min_cost / max_cost per pool, and
for city-wide projects at most ``citywide_max_share`` of the city pool) — the same rule as
``civic.pb.submission.check_cost``, which the form's check calls; :func:`pool_limits` only
shows them next to the cost field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from civic import N_
from civic.accounts import Invalid
from civic.participation.errors import Msg
from civic.pb.editions import Edition
from civic.pb.errors import PbError
from civic.pb.phases import PHASE_TITLES
from civic.pb.submission import open_edition_for_submission

CLOSED_NEXT = N_(
    "Nabór projektów do budżetu obywatelskiego jest teraz zamknięty (etap „składanie "
    "projektów”). Następny nabór: od %(starts)s do %(ends)s."
)
CLOSED_NONE = N_(
    "Nabór projektów do budżetu obywatelskiego jest teraz zamknięty (etap „składanie "
    "projektów”). Termin następnego naboru nie został jeszcze ogłoszony."
)


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def closed_error(exc: PbError) -> Invalid:
    """The budget's "submissions are closed" as the form's error on field ``phase``."""
    starts, ends = _day(exc.params.get("starts")), _day(exc.params.get("ends"))
    if starts and ends:
        msgid, params = CLOSED_NEXT, {"starts": starts, "ends": ends}
    else:
        msgid, params = CLOSED_NONE, {}
    return Invalid({"phase": ("phase_closed", msgid, params)}, status=409)


def from_pb(exc: PbError) -> Invalid:
    """Any refusal of the budget process as a participation field error (same field, code,
    status); a phase named in it is shown by its title."""
    if exc.code == "phase_closed" and exc.field == "phase" and "asked" not in exc.params:
        return closed_error(exc)
    params: dict[str, Any] = dict(exc.params)
    for k in ("asked", "current"):
        if params.get(k) in PHASE_TITLES:
            params[k] = Msg(PHASE_TITLES[params[k]])
    return Invalid({exc.field: (exc.code, exc.message, params)}, status=exc.status)


def open_submission(conn: Connection, now: datetime | None = None) -> Edition:
    """The edition open for submissions today; Invalid (409, field ``phase``, code
    ``phase_closed``) naming when the next submissions open, or that none is scheduled."""
    try:
        return open_edition_for_submission(conn, now)
    except PbError as exc:
        raise from_pb(exc) from None


@dataclass(frozen=True)
class CostLimits:
    low: Decimal
    high: Decimal


def pool_limits(edition: Edition, scope: str, district: int | None) -> CostLimits | None:
    """The per-project limits of the edition's pool for a scope (and district); None when the
    edition has no such pool. The rule of ``civic.pb.submission.check_cost``."""
    pool = edition.pool(scope, 0 if scope == "citywide" else int(district or 0))
    if pool is None:
        return None
    low = pool.min_cost if pool.min_cost is not None else Decimal(0)
    high = pool.max_cost if pool.max_cost is not None else pool.budget
    if scope == "citywide":
        high = min(high, pool.budget * edition.citywide_max_share)
    return CostLimits(low, min(high, pool.budget))


def limits_for_page(edition: Edition | None) -> dict[str, Any]:
    """The limits the form's script shows next to the cost field (the server checks again):
    ``{"citywide": [low, high] | None, "district": {"<n>": [low, high]}}``."""
    out: dict[str, Any] = {"citywide": None, "district": {}}
    if edition is None:
        return out
    c = pool_limits(edition, "citywide", None)
    if c:
        out["citywide"] = [float(c.low), float(c.high)]
    for p in edition.pools:
        if p.scope == "district":
            d = pool_limits(edition, "district", p.district)
            if d:
                out["district"][str(p.district)] = [float(d.low), float(d.high)]
    return out
