"""The pledge ledger (★): what residents pledge to an initiative and what they delivered.

Three kinds of pledge: social work (hours and the kind of work), goods (item, quantity, value
of one) and money (PLN). Each is valued in PLN: an hour of work at the hour value of the
initiative's year (``initiative_pools.hour_value``, configurable), goods at quantity × value,
money at its amount. A person has ONE line per kind and initiative — the UNIQUE constraint
``initiative_pledges_one_line``; pledging again edits the line (``ON CONFLICT DO UPDATE``), so
a double click or a second tab never makes two. Staff mark a line delivered after the work
(with the hours / quantity / amount actually delivered, the pledged one by default).

The ledger's totals are computed by the same SQL expressions as its rows, so they always
equal the sum of the rows; ``local_initiatives.pledged_value`` / ``delivered_value`` keep a
copy for the map, the API and exports (recomputed in the same transaction as every change).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.ngos.common import Invalid, clean_number, clean_text

KINDS = ("work", "goods", "money")
CLOSED = ("rejected", "completed")
TABLE = "local_initiatives"
DEFAULT_HOUR_VALUE = Decimal("27.70")  # used only when no pool year is configured at all

_VALUE = {
    "pledged": """CASE p.kind WHEN 'work' THEN round(p.hours * :hv, 2)
                              WHEN 'goods' THEN round(p.quantity * p.unit_value, 2)
                              ELSE p.amount END""",
    "delivered": """CASE WHEN p.delivered IS NULL THEN 0
                         WHEN p.kind = 'work' THEN round(p.delivered * :hv, 2)
                         WHEN p.kind = 'goods' THEN round(p.delivered * p.unit_value, 2)
                         ELSE p.delivered END""",
}


def hour_value(conn: Connection, year: int) -> Decimal:
    """The PLN value of an hour of social work for ``year``: that year's setting, else the
    nearest configured year (earlier first)."""
    value = conn.execute(
        text(
            """SELECT hour_value FROM initiative_pools
               ORDER BY year > :y, abs(year - :y) LIMIT 1"""
        ),
        {"y": year},
    ).scalar()
    return Decimal(value) if value is not None else DEFAULT_HOUR_VALUE


def parse_pledge(form: dict[str, Any], kind: Any, prefix: str = "") -> dict[str, Any]:
    """Clean one pledge of ``kind``; field names get ``prefix`` (the application form's)."""
    if kind not in KINDS:
        raise Invalid(prefix + "kind", "unknown_choice", N_("Nieznany rodzaj wkładu."))
    out: dict[str, Any] = {
        "kind": kind,
        "hours": None,
        "work_kind": None,
        "item": None,
        "quantity": None,
        "unit_value": None,
        "amount": None,
    }
    if kind == "work":
        out["hours"] = clean_number(
            form.get(prefix + "hours"),
            prefix + "hours",
            exclusive_minimum=True,
            maximum=Decimal(10000),
            places=1,
        )
        out["work_kind"] = clean_text(
            form.get(prefix + "work_kind"), prefix + "work_kind", max_len=300, required=True
        )
    elif kind == "goods":
        out["item"] = clean_text(
            form.get(prefix + "item"), prefix + "item", max_len=300, required=True
        )
        out["quantity"] = clean_number(
            form.get(prefix + "quantity"),
            prefix + "quantity",
            exclusive_minimum=True,
            maximum=Decimal(10**9),
        )
        out["unit_value"] = clean_number(
            form.get(prefix + "unit_value"), prefix + "unit_value", maximum=Decimal(10**9)
        )
    else:
        out["amount"] = clean_number(
            form.get(prefix + "amount"),
            prefix + "amount",
            exclusive_minimum=True,
            maximum=Decimal(10**9),
        )
    return out


def parse_display(form: dict[str, Any]) -> str | None:
    """None: shown under the person's name; else the pseudonym to show."""
    display = form.get("display") or "public"
    if display not in ("public", "pseudonym"):
        raise Invalid("display", "unknown_choice", N_("Wybierz: imię i nazwisko albo pseudonim."))
    if display == "public":
        return None
    return clean_text(
        form.get("pseudonym"), "pseudonym", max_len=80, required=True, multiline=False
    )


def _open_initiative(conn: Connection, initiative_id: int) -> Any:
    row = conn.execute(
        text("SELECT id, year, status FROM local_initiatives WHERE id = :id FOR UPDATE"),
        {"id": initiative_id},
    ).first()
    if row is None:
        raise Invalid("initiative", "not_found", N_("Nie ma takiej inicjatywy."), 404)
    if row.status in CLOSED:
        raise Invalid(
            "initiative",
            "closed",
            N_("Ta inicjatywa jest zamknięta: nie przyjmuje już deklaracji."),
            409,
        )
    return row


def save_pledge(
    conn: Connection,
    initiative_id: int,
    user_id: int,
    values: dict[str, Any],
    pseudonym: str | None,
) -> int:
    """Create or edit the person's one line of this kind; returns its id."""
    _open_initiative(conn, initiative_id)
    row = conn.execute(
        text(
            """INSERT INTO initiative_pledges (initiative_id, user_id, kind, hours, work_kind,
                                               item, quantity, unit_value, amount, pseudonym)
               VALUES (:i, :u, :kind, :hours, :work_kind, :item, :quantity, :unit_value,
                       :amount, :pseudonym)
               ON CONFLICT ON CONSTRAINT initiative_pledges_one_line DO UPDATE SET
                   hours = EXCLUDED.hours, work_kind = EXCLUDED.work_kind, item = EXCLUDED.item,
                   quantity = EXCLUDED.quantity, unit_value = EXCLUDED.unit_value,
                   amount = EXCLUDED.amount, pseudonym = EXCLUDED.pseudonym, updated_at = now()
               WHERE initiative_pledges.delivered_at IS NULL
               RETURNING id, (xmax = 0) AS created"""
        ),
        {"i": initiative_id, "u": user_id, "pseudonym": pseudonym, **values},
    ).first()
    if row is None:
        raise Invalid(
            "kind",
            "delivered",
            N_("Ta deklaracja została już rozliczona jako wniesiona i nie można jej zmienić."),
            409,
        )
    recompute(conn, initiative_id)
    action = "initiative_pledge_added" if row.created else "initiative_pledge_edited"
    record_audit(conn, user_id, action, TABLE, initiative_id, f"pledge {row.id} ({values['kind']})")
    return row.id


def pledge(conn: Connection, initiative_id: int, user_id: int, form: dict[str, Any]) -> int:
    """A resident's pledge from a form (``kind`` and its fields, ``display``/``pseudonym``)."""
    values = parse_pledge(form, form.get("kind"))
    pseudonym = parse_display(form)
    return save_pledge(conn, initiative_id, user_id, values, pseudonym)


def withdraw(conn: Connection, initiative_id: int, user_id: int, kind: str) -> None:
    """A person withdraws their line of ``kind`` (not once it is delivered)."""
    _open_initiative(conn, initiative_id)
    done = conn.execute(
        text(
            """DELETE FROM initiative_pledges WHERE initiative_id = :i AND user_id = :u
               AND kind = :k AND delivered_at IS NULL RETURNING id"""
        ),
        {"i": initiative_id, "u": user_id, "k": kind},
    ).first()
    if done is None:
        raise Invalid("kind", "not_found", N_("Nie ma takiej deklaracji do wycofania."), 404)
    recompute(conn, initiative_id)
    record_audit(
        conn, user_id, "initiative_pledge_withdrawn", TABLE, initiative_id, f"pledge {done.id}"
    )


def mark_delivered(
    conn: Connection, pledge_id: int, staff_id: int, delivered: Any = None
) -> dict[str, Any]:
    """Staff confirm a line after the work: the hours / quantity / PLN actually delivered."""
    row = conn.execute(
        text(
            """SELECT p.id, p.initiative_id, p.kind, p.hours, p.quantity, p.amount, i.status
               FROM initiative_pledges p JOIN local_initiatives i ON i.id = p.initiative_id
               WHERE p.id = :id FOR UPDATE OF p"""
        ),
        {"id": pledge_id},
    ).first()
    if row is None:
        raise Invalid("pledge", "not_found", N_("Nie ma takiej deklaracji."), 404)
    if row.status not in ("accepted", "in_progress", "completed"):
        raise Invalid(
            "pledge",
            "not_accepted",
            N_("Wkład rozlicza się dopiero w inicjatywie przyjętej do realizacji."),
            409,
        )
    pledged = {"work": row.hours, "goods": row.quantity, "money": row.amount}[row.kind]
    amount = clean_number(delivered, "delivered", required=False, maximum=Decimal(10**9))
    if amount is None:
        amount = pledged
    conn.execute(
        text(
            """UPDATE initiative_pledges SET delivered = :d, delivered_at = now(),
                      delivered_by = :s, updated_at = now() WHERE id = :id"""
        ),
        {"d": amount, "s": staff_id, "id": pledge_id},
    )
    recompute(conn, row.initiative_id)
    record_audit(
        conn,
        staff_id,
        "initiative_pledge_delivered",
        TABLE,
        row.initiative_id,
        f"pledge {pledge_id}: {amount} of {pledged}",
    )
    return {"initiative_id": row.initiative_id, "delivered": amount}


def recompute(conn: Connection, initiative_id: int) -> None:
    """Refresh the initiative's copy of its ledger totals (for the map, API and exports)."""
    year = conn.execute(
        text("SELECT year FROM local_initiatives WHERE id = :id"), {"id": initiative_id}
    ).scalar_one()
    conn.execute(
        text(
            f"""UPDATE local_initiatives i SET
                   pledged_value = coalesce((SELECT sum({_VALUE["pledged"]})
                                             FROM initiative_pledges p
                                             WHERE p.initiative_id = i.id), 0),
                   delivered_value = coalesce((SELECT sum({_VALUE["delivered"]})
                                               FROM initiative_pledges p
                                               WHERE p.initiative_id = i.id), 0)
                WHERE i.id = :id"""
        ),
        {"id": initiative_id, "hv": hour_value(conn, year)},
    )


def recompute_year(conn: Connection, year: int) -> None:
    for (initiative_id,) in conn.execute(
        text("SELECT id FROM local_initiatives WHERE year = :y"), {"y": year}
    ).all():
        recompute(conn, initiative_id)


def ledger(conn: Connection, initiative_id: int) -> dict[str, Any]:
    """The rows (who — name or pseudonym —, what, pledged and delivered in PLN) and totals."""
    year = conn.execute(
        text("SELECT year FROM local_initiatives WHERE id = :id"), {"id": initiative_id}
    ).scalar()
    if year is None:
        raise Invalid("initiative", "not_found", N_("Nie ma takiej inicjatywy."), 404)
    hv = hour_value(conn, year)
    params = {"i": initiative_id, "hv": hv}
    rows = conn.execute(
        text(
            f"""SELECT p.id, p.kind, p.user_id, p.hours, p.work_kind, p.item, p.quantity,
                       p.unit_value, p.amount, p.pseudonym, p.delivered, p.delivered_at,
                       p.created_at, p.updated_at,
                       coalesce(p.pseudonym, u.name) AS who, p.pseudonym IS NOT NULL AS pseudonymous,
                       {_VALUE["pledged"]} AS pledged_value,
                       {_VALUE["delivered"]} AS delivered_value
                FROM initiative_pledges p LEFT JOIN users u ON u.id = p.user_id
                WHERE p.initiative_id = :i ORDER BY p.id"""
        ),
        params,
    )
    totals = conn.execute(
        text(
            f"""SELECT k.kind, count(p.id) AS lines,
                       coalesce(sum({_VALUE["pledged"]}), 0) AS pledged_value,
                       coalesce(sum({_VALUE["delivered"]}), 0) AS delivered_value,
                       coalesce(sum(p.hours), 0) AS hours,
                       coalesce(sum(p.delivered) FILTER (WHERE p.kind = 'work'), 0)
                           AS delivered_hours
                FROM unnest(ARRAY['work', 'goods', 'money']) k(kind)
                LEFT JOIN initiative_pledges p ON p.kind = k.kind AND p.initiative_id = :i
                GROUP BY k.kind ORDER BY array_position(ARRAY['work', 'goods', 'money'], k.kind)"""
        ),
        params,
    )
    by_kind = {r.kind: dict(r._mapping) for r in totals}
    return {
        "hour_value": hv,
        "rows": [dict(r._mapping) for r in rows],
        "by_kind": by_kind,
        "pledged_value": sum((v["pledged_value"] for v in by_kind.values()), Decimal(0)),
        "delivered_value": sum((v["delivered_value"] for v in by_kind.values()), Decimal(0)),
    }


def my_pledges(conn: Connection, initiative_id: int, user_id: int) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        text("SELECT * FROM initiative_pledges WHERE initiative_id = :i AND user_id = :u"),
        {"i": initiative_id, "u": user_id},
    )
    return {r.kind: dict(r._mapping) for r in rows}
