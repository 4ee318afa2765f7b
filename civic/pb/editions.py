"""Editions are rows, not code: the schedule, the pools with their cost limits, the rules.

A new edition's configuration defaults to Kraków 2025's values (:data:`KRAKOW_2025`), moved to
the new edition's year: 10.2 m PLN city-wide (projects of 25 000 – 2 000 000 PLN and at most
20 % of the city pool), 40.8 m PLN for the 18 districts (each project at least 2 500 PLN and at
most the district's maximum), 15 supporters within 10 days, 5 working days to correct a formal
gap, 10 days for protests, titles of at most 60 characters, and the 2025 dates.

Kraków publishes the per-district 2025 pools only in its own documents, which are not shipped:
the default splits the 40.8 m in proportion to the district pools of the latest edition in
``budget_pools`` (the real 2024 pools from pabulib) and sets each district maximum at 40 % of
its pool (Kraków's 2024 rule, data/krakow/budget-limits.json). An admin edits each pool.

Past editions (2018–2024) are closed rows created from the pabulib pools (migration 0007).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.pb.errors import PbError
from civic.pb.phases import PHASES, schedule, set_phase

# Kraków 2025 (XII edition), from the city's schedule: submissions 7 Feb – 9 Mar; the
# verification list by 9 Jun; protests 9 – 19 Jun; the ballot list by 18 Jul; withdrawals until
# 29 Aug; voting 19 Sep – 3 Oct; results by 30 Oct. Where the city names only an end date, the
# phase starts the day after the previous one ends (formal review gets a month, merit review
# the rest until 9 Jun).
KRAKOW_2025_DATES = {
    "submission": ((2, 7), (3, 9)),
    "formal_review": ((3, 10), (4, 9)),
    "merit_review": ((4, 10), (6, 9)),
    "protests": ((6, 9), (6, 19)),
    "ballot_list": ((6, 20), (7, 18)),
    "withdrawals": ((7, 19), (8, 29)),
    "voting": ((9, 19), (10, 3)),
    "results": ((10, 4), (10, 30)),
    "execution": ((10, 31), (12, 31)),
}
KRAKOW_2025 = {
    "support_count": 15,
    "support_days": 10,
    "correction_days": 5,
    "protest_days": 10,
    "title_max": 60,
    "citywide_max_share": Decimal("0.2"),
    "citywide_pool": Decimal("10200000"),
    "citywide_min": Decimal("25000"),
    "citywide_max": Decimal("2000000"),
    "district_total": Decimal("40800000"),
    "district_min": Decimal("2500"),
    "district_max_share": Decimal("0.4"),
}
RULE_FIELDS = (
    "support_count",
    "support_days",
    "correction_days",
    "protest_days",
    "title_max",
    "citywide_max_share",
)
LIMITS = {
    "support_count": (0, 10000),
    "support_days": (1, 365),
    "correction_days": (1, 60),
    "protest_days": (1, 60),
    "title_max": (10, 500),
}


@dataclass
class Pool:
    scope: str
    district: int  # 0 = city-wide
    budget: Decimal
    min_cost: Decimal | None
    max_cost: Decimal | None
    name: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "district": self.district,
            "name": self.name,
            "budget": float(self.budget),
            "min_cost": None if self.min_cost is None else float(self.min_cost),
            "max_cost": None if self.max_cost is None else float(self.max_cost),
        }


@dataclass
class Edition:
    year: int
    title: str
    closed: bool
    support_count: int
    support_days: int
    correction_days: int
    protest_days: int
    title_max: int
    citywide_max_share: Decimal
    ballot_published_at: Any
    source: str
    pools: list[Pool] = field(default_factory=list)

    def pool(self, scope: str, district: int) -> Pool | None:
        d = 0 if scope == "citywide" else district
        return next((p for p in self.pools if p.scope == scope and p.district == d), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "title": self.title,
            "closed": self.closed,
            **{k: getattr(self, k) for k in RULE_FIELDS},
            "citywide_max_share": float(self.citywide_max_share),
            "pools": [p.as_dict() for p in self.pools],
        }


def _money(v: Decimal) -> Decimal:
    return v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def pools(conn: Connection, year: int) -> list[Pool]:
    rows = conn.execute(
        text(
            """SELECT p.scope, p.district, p.budget, p.min_cost, p.max_cost,
                      coalesce(d.name, '') AS name
               FROM budget_pools p LEFT JOIN districts d ON d.number = p.district
               WHERE p.edition = :e ORDER BY p.scope = 'district', p.district"""
        ),
        {"e": year},
    ).all()
    return [Pool(r.scope, r.district, r.budget, r.min_cost, r.max_cost, r.name) for r in rows]


def get_edition(conn: Connection, year: int) -> Edition:
    row = conn.execute(
        text(
            f"""SELECT year, title, closed, ballot_published_at, source, {", ".join(RULE_FIELDS)}
                FROM pb_editions WHERE year = :y"""
        ),
        {"y": year},
    ).first()
    if row is None:
        raise PbError("no_edition", "edition", N_("Nie ma edycji %(edition)s."), 404, edition=year)
    return Edition(**row._mapping, pools=pools(conn, year))


def list_editions(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            """SELECT e.year, e.title, e.closed, e.source,
                      (SELECT sum(budget) FROM budget_pools p WHERE p.edition = e.year) AS total
               FROM pb_editions e ORDER BY e.year DESC"""
        )
    ).mappings()
    return [dict(r) for r in rows]


def default_pools(conn: Connection) -> list[dict[str, Any]]:
    """Kraków 2025's pools: the city pool and 40.8 m split like the latest shipped pools."""
    k = KRAKOW_2025
    latest = conn.execute(
        text(
            "SELECT max(edition) FROM budget_pools WHERE scope = 'district' "
            "AND edition IN (SELECT year FROM pb_editions WHERE closed)"
        )
    ).scalar()
    weights: dict[int, Decimal] = {}
    if latest is not None:
        for r in conn.execute(
            text(
                "SELECT district, budget FROM budget_pools WHERE edition = :e AND scope = 'district'"
            ),
            {"e": latest},
        ):
            weights[r.district] = Decimal(r.budget)
    numbers = [r[0] for r in conn.execute(text("SELECT number FROM districts ORDER BY number"))]
    if not weights or set(weights) != set(numbers):
        weights = {n: Decimal(1) for n in numbers}
    total_w = sum(weights.values())
    out = [
        {
            "scope": "citywide",
            "district": 0,
            "budget": k["citywide_pool"],
            "min_cost": k["citywide_min"],
            "max_cost": k["citywide_max"],
        }
    ]
    for n in numbers:
        budget = _money(k["district_total"] * weights[n] / total_w)
        out.append(
            {
                "scope": "district",
                "district": n,
                "budget": budget,
                "min_cost": k["district_min"],
                "max_cost": _money(budget * k["district_max_share"]),
            }
        )
    return out


def default_schedule(year: int) -> dict[str, tuple[date, date]]:
    """Kraków 2025's dates moved to ``year`` (the year of the vote)."""
    return {
        p: (date(year, s[0], s[1]), date(year, f[0], f[1]))
        for p, (s, f) in KRAKOW_2025_DATES.items()
    }


def _check_rules(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in RULE_FIELDS:
        if key not in values or values[key] is None or values[key] == "":
            continue
        raw = values[key]
        try:
            v = Decimal(str(raw)) if key == "citywide_max_share" else int(str(raw))
        except (ValueError, ArithmeticError):
            raise PbError(
                "not_a_number", key, N_("Pole „%(field)s”: podaj liczbę."), field=key
            ) from None
        if key == "citywide_max_share":
            if not (Decimal(0) < v <= Decimal(1)):
                raise PbError(
                    "out_of_range", key, N_("Pole „%(field)s”: poza zakresem."), field=key
                )
        else:
            lo, hi = LIMITS[key]
            if not lo <= v <= hi:
                raise PbError(
                    "out_of_range", key, N_("Pole „%(field)s”: poza zakresem."), field=key
                )
        out[key] = v
    return out


def create_edition(
    conn: Connection,
    year: int,
    actor: int | None,
    title: str | None = None,
    rules: dict[str, Any] | None = None,
    dates: dict[str, tuple[date, date]] | None = None,
    pool_values: list[dict[str, Any]] | None = None,
) -> Edition:
    """A new open edition with Kraków 2025's configuration unless told otherwise."""
    if not isinstance(year, int) or not 2013 <= year <= 2100:
        raise PbError("out_of_range", "year", N_("Rok edycji musi być między 2013 a 2100."))
    checked = _check_rules(rules or {})
    cfg = {k: KRAKOW_2025[k] for k in RULE_FIELDS} | checked
    name = (title or "").strip() or f"Budżet Obywatelski Krakowa {year}"
    if len(name) > 200:
        raise PbError("too_long", "title", N_("Tytuł edycji może mieć najwyżej 200 znaków."))
    made = conn.execute(
        text(
            f"""INSERT INTO pb_editions (year, title, closed, source, {", ".join(RULE_FIELDS)})
                VALUES (:year, :title, false, 'admin', {", ".join(":" + k for k in RULE_FIELDS)})
                ON CONFLICT (year) DO NOTHING RETURNING year"""
        ),
        {"year": year, "title": name, **cfg},
    ).first()
    if made is None:
        raise PbError(
            "edition_exists", "year", N_("Edycja %(edition)s już istnieje."), 409, edition=year
        )
    for p in pool_values or default_pools(conn):
        set_pool(conn, year, p["scope"], p["district"], p["budget"], p["min_cost"], p["max_cost"])
    sched = default_schedule(year) | (dates or {})
    for phase in PHASES:
        s, f = sched[phase]
        set_phase(conn, year, phase, s, f, actor)
    record_audit(conn, actor, "pb.edition_create", "pb_editions", year, reason=name)
    return get_edition(conn, year)


def update_edition(
    conn: Connection,
    year: int,
    actor: int | None,
    title: str | None = None,
    rules: dict[str, Any] | None = None,
    closed: bool | None = None,
) -> Edition:
    get_edition(conn, year)
    checked = _check_rules(rules or {})
    sets = [f"{k} = :{k}" for k in checked]
    params: dict[str, Any] = {"y": year, **checked}
    if title is not None:
        t = title.strip()
        if not 1 <= len(t) <= 200:
            raise PbError("too_long", "title", N_("Tytuł edycji może mieć najwyżej 200 znaków."))
        sets.append("title = :title")
        params["title"] = t
    if closed is not None:
        sets.append("closed = :closed")
        params["closed"] = closed
    if sets:
        conn.execute(
            text(f"UPDATE pb_editions SET {', '.join(sets)}, updated_at = now() WHERE year = :y"),
            params,
        )
        changed = ", ".join(f"{k}={params[k]}" for k in params if k != "y")
        record_audit(conn, actor, "pb.edition_update", "pb_editions", year, reason=changed)
    return get_edition(conn, year)


def set_pool(
    conn: Connection,
    year: int,
    scope: str,
    district: int,
    budget: Any,
    min_cost: Any,
    max_cost: Any,
    actor: int | None = None,
) -> None:
    if scope not in ("district", "citywide"):
        raise PbError("bad_choice", "scope", N_("Nieznany zasięg puli."))
    try:
        b, lo, hi = (
            None if v in (None, "") else Decimal(str(v)) for v in (budget, min_cost, max_cost)
        )
    except ArithmeticError:
        raise PbError("not_a_number", "budget", N_("Kwoty puli muszą być liczbami.")) from None
    if b is None or b < 0 or (lo is not None and lo < 0) or (hi is not None and hi < 0):
        raise PbError("out_of_range", "budget", N_("Kwoty puli muszą być nieujemne."))
    if lo is not None and hi is not None and lo > hi:
        raise PbError(
            "limits_order", "min_cost", N_("Minimalny koszt projektu przekracza maksymalny.")
        )
    conn.execute(
        text(
            """INSERT INTO budget_pools (edition, scope, district, budget, min_cost, max_cost, source)
               VALUES (:e, :s, :d, :b, :lo, :hi, 'edition configuration')
               ON CONFLICT (edition, scope, district) DO UPDATE SET budget = EXCLUDED.budget,
                   min_cost = EXCLUDED.min_cost, max_cost = EXCLUDED.max_cost"""
        ),
        {
            "e": year,
            "s": scope,
            "d": 0 if scope == "citywide" else int(district),
            "b": b,
            "lo": lo,
            "hi": hi,
        },
    )
    if actor is not None:
        record_audit(
            conn,
            actor,
            "pb.pool_set",
            "pb_editions",
            year,
            reason=f"{scope}:{district} budget={b} min={lo} max={hi}",
        )


def edition_schedule(conn: Connection, year: int) -> list[dict[str, Any]]:
    return [
        {"phase": w.phase, "starts_on": w.starts_on, "ends_on": w.ends_on}
        for w in schedule(conn, year)
    ]
