"""Assessment by the city's criteria and the yearly pools.

Staff score each application out of 100: up to 45 points for its usefulness to the local
community, up to 45 for the applicants' own contribution, up to 10 extra — each part with a
written justification. 60 is the pass mark: only an application that reaches it can be
accepted. The yearly pool (``initiative_pools``: 150 000 zł in 2022, 195 000 zł in 2024, and
whatever staff configure) shows what accepted initiatives have committed and what is left;
an accepted initiative whose city share no longer fits waits for the next year's pool
(``pool_year`` = year + 1). Accepting locks the pool rows, so two staff members accepting at
the same moment cannot overspend a pool.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.initiatives.ledger import recompute_year
from civic.ngos.common import Invalid, clean_int, clean_number, clean_text

PASS_MARK = 60
PARTS = (("usefulness", 45), ("contribution", 45), ("extra", 10))
COMMITTED = ("accepted", "in_progress", "completed")
TABLE = "local_initiatives"


def parse_assessment(form: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, top in PARTS:
        out[name] = clean_int(form.get(name), name, minimum=0, maximum=top)
        out[f"{name}_reason"] = clean_text(
            form.get(f"{name}_reason"), f"{name}_reason", max_len=4000, required=True
        )
    return out


def assess(conn: Connection, initiative_id: int, staff_id: int, form: dict[str, Any]) -> int:
    """Score (or re-score) an application; returns the total. A submitted one moves to
    "under assessment"."""
    values = parse_assessment(form)
    row = conn.execute(
        text("SELECT id, status FROM local_initiatives WHERE id = :id FOR UPDATE"),
        {"id": initiative_id},
    ).first()
    if row is None:
        raise Invalid("initiative", "not_found", N_("Nie ma takiej inicjatywy."), 404)
    if row.status not in ("submitted", "under_assessment"):
        raise Invalid(
            "status",
            "not_assessable",
            N_("Ocenia się tylko wnioski złożone lub w ocenie."),
            409,
        )
    total = conn.execute(
        text(
            """INSERT INTO initiative_assessments (initiative_id, usefulness, usefulness_reason,
                      contribution, contribution_reason, extra, extra_reason, assessor_id)
               VALUES (:i, :usefulness, :usefulness_reason, :contribution, :contribution_reason,
                       :extra, :extra_reason, :s)
               ON CONFLICT (initiative_id) DO UPDATE SET
                   usefulness = EXCLUDED.usefulness, usefulness_reason = EXCLUDED.usefulness_reason,
                   contribution = EXCLUDED.contribution,
                   contribution_reason = EXCLUDED.contribution_reason,
                   extra = EXCLUDED.extra, extra_reason = EXCLUDED.extra_reason,
                   assessor_id = EXCLUDED.assessor_id, assessed_at = now()
               RETURNING total"""
        ),
        {"i": initiative_id, "s": staff_id, **values},
    ).scalar_one()
    conn.execute(
        text(
            """UPDATE local_initiatives SET score = :t,
                      status = CASE WHEN status = 'submitted' THEN 'under_assessment'
                                    ELSE status END
               WHERE id = :id"""
        ),
        {"t": total, "id": initiative_id},
    )
    if row.status == "submitted":
        record_audit(conn, staff_id, "initiative_status:under_assessment", TABLE, initiative_id)
    record_audit(
        conn,
        staff_id,
        "initiative_assessed",
        TABLE,
        initiative_id,
        f"{values['usefulness']} + {values['contribution']} + {values['extra']} = {total}/100",
    )
    return int(total)


def assessment(conn: Connection, initiative_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        text(
            """SELECT a.*, u.name AS assessor FROM initiative_assessments a
               LEFT JOIN users u ON u.id = a.assessor_id WHERE a.initiative_id = :i"""
        ),
        {"i": initiative_id},
    ).first()
    if row is None:
        return None
    out = dict(row._mapping)
    out["passed"] = out["total"] >= PASS_MARK
    return out


# --- pools ---------------------------------------------------------------------------------


def _committed(conn: Connection, year: int) -> Decimal:
    return Decimal(
        conn.execute(
            text(
                "SELECT coalesce(sum(city_cost), 0) FROM local_initiatives "
                "WHERE pool_year = :y AND status = ANY(:st)"
            ),
            {"y": year, "st": list(COMMITTED)},
        ).scalar_one()
    )


def pools(conn: Connection) -> list[dict[str, Any]]:
    """Every configured year: the pool, the hour value, committed, left, waiting."""
    rows = conn.execute(
        text(
            """SELECT p.year, p.amount, p.hour_value, p.note,
                      coalesce(sum(i.city_cost) FILTER (WHERE i.status = ANY(:st)), 0) AS committed,
                      count(i.id) FILTER (WHERE i.status = ANY(:st)) AS initiatives,
                      count(i.id) FILTER (WHERE i.status = ANY(:st) AND i.year < p.year)
                          AS from_earlier_years
               FROM initiative_pools p LEFT JOIN local_initiatives i ON i.pool_year = p.year
               GROUP BY p.year ORDER BY p.year DESC"""
        ),
        {"st": list(COMMITTED)},
    )
    out = []
    for r in rows:
        d = dict(r._mapping)
        d["left"] = d["amount"] - d["committed"]
        out.append(d)
    return out


def pool(conn: Connection, year: int) -> dict[str, Any] | None:
    return next((p for p in pools(conn) if p["year"] == year), None)


def waiting(conn: Connection) -> list[dict[str, Any]]:
    """Accepted initiatives waiting for a later year's pool than their own."""
    rows = conn.execute(
        text(
            """SELECT id, title, year, pool_year, city_cost FROM local_initiatives
               WHERE status = 'accepted' AND pool_year > year ORDER BY pool_year, id"""
        )
    )
    return [dict(r._mapping) for r in rows]


def set_pool(conn: Connection, staff_id: int, form: dict[str, Any]) -> int:
    """Configure a year's pool and hour value (an upsert; audited)."""
    year = clean_int(form.get("year"), "year", minimum=2011, maximum=2100)
    amount = clean_number(form.get("amount"), "amount", maximum=Decimal(10**11))
    hv = clean_number(
        form.get("hour_value"), "hour_value", exclusive_minimum=True, maximum=Decimal(100000)
    )
    note = clean_text(form.get("note"), "note", max_len=500, multiline=False)
    committed = _committed(conn, year)
    if amount < committed:
        raise Invalid(
            "amount",
            "below_committed",
            N_("Pula nie może być mniejsza niż już zaangażowane %(committed)s zł."),
            409,
            committed=committed,
        )
    conn.execute(
        text(
            """INSERT INTO initiative_pools (year, amount, hour_value, note)
               VALUES (:y, :a, :h, :n)
               ON CONFLICT (year) DO UPDATE SET amount = EXCLUDED.amount,
                   hour_value = EXCLUDED.hour_value, note = EXCLUDED.note, updated_at = now()"""
        ),
        {"y": year, "a": amount, "h": hv, "n": note},
    )
    record_audit(
        conn, staff_id, "initiative_pool_set", "initiative_pools", year, f"{amount} zł, {hv} zł/h"
    )
    recompute_year(conn, year)
    return year


def accept(
    conn: Connection, initiative_id: int, staff_id: int, reason: str | None = None
) -> dict[str, Any]:
    """Accept a passed application; commit its city share to its year's pool, or — when it no
    longer fits — to the next year's (it waits). Returns ``{"pool_year", "waiting"}``."""
    row = conn.execute(
        text(
            """SELECT i.id, i.year, i.status, i.city_cost, a.total
               FROM local_initiatives i
               LEFT JOIN initiative_assessments a ON a.initiative_id = i.id
               WHERE i.id = :id FOR UPDATE OF i"""
        ),
        {"id": initiative_id},
    ).first()
    if row is None:
        raise Invalid("initiative", "not_found", N_("Nie ma takiej inicjatywy."), 404)
    if row.status != "under_assessment":
        raise Invalid("status", "bad_transition", N_("Przyjąć można tylko wniosek w ocenie."), 409)
    if row.total is None:
        raise Invalid("score", "not_assessed", N_("Wniosek nie został jeszcze oceniony."), 409)
    if row.total < PASS_MARK:
        raise Invalid(
            "score",
            "below_pass_mark",
            N_("Wniosek uzyskał %(total)d pkt, a próg to %(mark)d pkt."),
            409,
            total=row.total,
            mark=PASS_MARK,
        )
    # lock this year's and next year's pool rows: concurrent acceptances queue here
    locked = {
        r.year: r.amount
        for r in conn.execute(
            text(
                "SELECT year, amount FROM initiative_pools WHERE year IN (:y, :y + 1) "
                "ORDER BY year FOR UPDATE"
            ),
            {"y": row.year},
        )
    }
    if row.year not in locked:
        raise Invalid(
            "pool",
            "no_pool",
            N_("Nie ustalono puli na rok %(year)d: ustaw ją najpierw."),
            409,
            year=row.year,
        )
    fits = _committed(conn, row.year) + row.city_cost <= locked[row.year]
    pool_year = row.year if fits else row.year + 1
    conn.execute(
        text(
            "UPDATE local_initiatives SET status = 'accepted', pool_year = :p, "
            "status_reason = :r WHERE id = :id"
        ),
        {"p": pool_year, "r": clean_text(reason, "reason", max_len=2000), "id": initiative_id},
    )
    note = f"{row.city_cost} zł from the {pool_year} pool" + ("" if fits else " (waits)")
    record_audit(conn, staff_id, "initiative_status:accepted", TABLE, initiative_id, note)
    return {"pool_year": pool_year, "waiting": not fits}
