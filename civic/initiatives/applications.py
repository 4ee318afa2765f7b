"""Applications for a local initiative, the support list and the statuses.

An application comes at any time of the year from a group of residents (its author and the
co-applicants named by the e-mail of their accounts) or from an NGO (a member of its
profile). It says where (a point, line or area: the district comes from the geometry, via
the table trigger), what the city is asked to do or lend, the schedule, the city's share in
PLN and the applicants' own contribution — which becomes their lines in the pledge ledger.

Statuses: submitted -> under assessment -> accepted | rejected (with reasons) -> in progress
-> completed. Every change is audited, notified in the app, and its ``Transition`` lists the
applicants to e-mail (the web sends the mail after the commit).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from civic import N_
from civic.audit import notify, record_audit, register_message
from civic.initiatives import assessment as assess_mod
from civic.initiatives.ledger import CLOSED, parse_pledge, save_pledge
from civic.ngos.common import Invalid, clean_email, clean_int, clean_number, clean_text
from geo.validate import GeometryError, check_size, parse_geometry
from layers.local_initiatives import STATES, TRANSITIONS

TABLE = "local_initiatives"
_FORM_KEY = re.compile(r"^[0-9a-f]{32}$")
OWN_CONTRIBUTION = (
    ("work", "own_work_"),
    ("goods", "own_goods_"),
    ("money", "own_money_"),
)

register_message(
    "initiative_status",
    N_("Inicjatywa lokalna „%(title)s”: nowy status — %(status)s. %(reason)s"),
)


@dataclass
class Transition:
    """A status change, for the web to mail to ``recipients`` [(email, name)]."""

    initiative_id: int
    title: str
    status: str
    reason: str | None
    recipients: list[tuple[str, str]] = field(default_factory=list)
    pool_year: int | None = None
    waiting: bool = False


def _date(raw: Any, name: str) -> date | None:
    value = clean_text(raw, name, max_len=10, multiline=False)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(name, "invalid_date", N_("Data musi mieć postać RRRR-MM-DD.")) from None


def _has_any(form: dict[str, Any], prefix: str) -> bool:
    return any(str(v).strip() for k, v in form.items() if k.startswith(prefix) and v is not None)


def parse_application(conn: Connection, user_id: int, form: dict[str, Any]) -> dict[str, Any]:
    """Every field checked before anything is written (a 4xx names the first bad one)."""
    this_year = date.today().year
    out: dict[str, Any] = {
        "title": clean_text(
            form.get("title"), "title", max_len=200, required=True, multiline=False
        ),
        "description": clean_text(
            form.get("description"), "description", max_len=10000, required=True
        ),
        "city_task": clean_text(form.get("city_task"), "city_task", max_len=5000, required=True),
        "schedule": clean_text(form.get("schedule"), "schedule", max_len=2000, required=True),
        "address": clean_text(form.get("address"), "address", max_len=300, multiline=False),
        "starts_on": _date(form.get("starts_on"), "starts_on"),
        "ends_on": _date(form.get("ends_on"), "ends_on"),
        "city_cost": clean_number(form.get("city_cost"), "city_cost", maximum=Decimal(10**9)),
        "year": clean_int(
            form.get("year") or this_year, "year", minimum=this_year - 1, maximum=this_year + 1
        ),
    }
    if out["starts_on"] and out["ends_on"] and out["ends_on"] < out["starts_on"]:
        raise Invalid("ends_on", "before_start", N_("Koniec nie może być przed początkiem."))
    try:
        geom = parse_geometry(form.get("geometry") or "")
        check_size(conn, geom)
    except GeometryError as exc:
        raise Invalid("geometry", exc.code, exc.message) from None
    out["wkt"] = geom.wkt
    kind = form.get("applicant_kind") or "residents"
    if kind not in ("residents", "ngo"):
        raise Invalid("applicant_kind", "unknown_choice", N_("Wybierz wnioskodawcę."))
    out["applicant_kind"] = kind
    out["organisation_id"] = None
    if kind == "ngo":
        org_id = clean_int(form.get("organisation_id"), "organisation_id", minimum=1, maximum=2**62)
        org = conn.execute(
            text(
                """SELECT o.name FROM ngo_organisations o JOIN ngo_members m
                   ON m.organisation_id = o.id AND m.user_id = :u
                   WHERE o.id = :o AND o.status = 'public'"""
            ),
            {"o": org_id, "u": user_id},
        ).first()
        if org is None:
            raise Invalid(
                "organisation_id",
                "not_member",
                N_("Wniosek w imieniu organizacji składa członek jej opublikowanego profilu."),
                403,
            )
        out["organisation_id"], out["applicant_name"] = org_id, org.name
    else:
        out["applicant_name"] = clean_text(
            form.get("applicant_name"),
            "applicant_name",
            max_len=300,
            required=True,
            multiline=False,
        )
    out["co_applicants"] = _co_applicants(conn, form.get("co_applicants"), user_id)
    pledges = []
    for kind_, prefix in OWN_CONTRIBUTION:
        if _has_any(form, prefix):
            pledges.append(parse_pledge(form, kind_, prefix))
    out["pledges"] = pledges
    key = str(form.get("form_key") or "")
    out["form_key"] = key if _FORM_KEY.match(key) else None
    return out


def _co_applicants(conn: Connection, raw: Any, author_id: int) -> list[int]:
    if not raw:
        return []
    ids = []
    for part in re.split(r"[\s,;]+", str(raw)):
        if not part:
            continue
        address = clean_email(part, "co_applicants")
        uid = conn.execute(
            text("SELECT id FROM users WHERE lower(email) = lower(:e) AND deleted_at IS NULL"),
            {"e": address},
        ).scalar()
        if uid is None:
            raise Invalid(
                "co_applicants",
                "not_found",
                N_("Nie ma konta z adresem %(email)s: współwnioskodawcy muszą mieć konto."),
                email=address,
            )
        if uid != author_id and uid not in ids:
            ids.append(uid)
    return ids


def apply(conn: Connection, user_id: int, form: dict[str, Any]) -> int:
    """File an application; a repeated ``form_key`` returns the application already filed."""
    data = parse_application(conn, user_id, form)
    ext = f"web:{data['form_key']}" if data["form_key"] else None
    if ext:
        found = conn.execute(
            text("SELECT id FROM local_initiatives WHERE external_id = :e"), {"e": ext}
        ).scalar()
        if found:
            return int(found)
    cols = (
        "year, title, description, address, city_task, schedule, starts_on, ends_on, "
        "city_cost, applicant_kind, organisation_id, applicant_name"
    )
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                text(
                    f"""INSERT INTO local_initiatives (external_id, geom, author_id, {cols})
                        VALUES (:ext, ST_GeomFromText(:wkt, 4326), :u,
                                {", ".join(":" + c.strip() for c in cols.split(","))})
                        ON CONFLICT (external_id) DO NOTHING RETURNING id"""
                ),
                {
                    **{k: v for k, v in data.items() if k not in ("pledges", "co_applicants")},
                    "ext": ext,
                    "u": user_id,
                },
            ).scalar()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == "CV001":
            raise Invalid(
                "geometry", "outside_city", N_("To miejsce leży poza granicami miasta.")
            ) from None
        raise
    if new_id is None:  # the same form a moment ago, in another request
        return int(
            conn.execute(
                text("SELECT id FROM local_initiatives WHERE external_id = :e"), {"e": ext}
            ).scalar_one()
        )
    for uid in [user_id, *data["co_applicants"]]:
        conn.execute(
            text(
                "INSERT INTO initiative_applicants (initiative_id, user_id) VALUES (:i, :u) "
                "ON CONFLICT DO NOTHING"
            ),
            {"i": new_id, "u": uid},
        )
    record_audit(conn, user_id, "initiative_status:submitted", TABLE, new_id)
    for values in data["pledges"]:
        save_pledge(conn, new_id, user_id, values, None)
    return int(new_id)


def get(conn: Connection, initiative_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        text(
            """SELECT i.id, i.year, i.title, i.description, i.address, i.city_task, i.schedule,
                      i.starts_on, i.ends_on, i.city_cost, i.applicant_kind, i.organisation_id,
                      i.applicant_name, i.status, i.status_reason, i.pool_year, i.score,
                      i.pledged_value, i.delivered_value, i.districts, i.author_id,
                      i.created_at, i.updated_at, ST_AsGeoJSON(i.geom, 7) AS geometry,
                      (SELECT count(*) FROM initiative_supports s WHERE s.initiative_id = i.id)
                          AS supporters,
                      (SELECT string_agg(d.full_name, ', ' ORDER BY d.number) FROM districts d
                       WHERE d.number = ANY(i.districts)) AS district_names
               FROM local_initiatives i WHERE i.id = :id"""
        ),
        {"id": initiative_id},
    ).first()
    if row is None:
        return None
    out = dict(row._mapping)
    out["geometry"] = json.loads(out["geometry"])
    out["applicants"] = [
        dict(r._mapping)
        for r in conn.execute(
            text(
                """SELECT u.id, u.name FROM initiative_applicants a JOIN users u ON u.id = a.user_id
                   WHERE a.initiative_id = :i ORDER BY a.added_at, u.id"""
            ),
            {"i": initiative_id},
        )
    ]
    out["assessment"] = assess_mod.assessment(conn, initiative_id)
    out["closed"] = out["status"] in CLOSED
    out["transitions"] = TRANSITIONS.get(out["status"], ())
    return out


def list_initiatives(
    conn: Connection,
    *,
    status: str | None = None,
    year: int | None = None,
    district: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    conds, params = ["TRUE"], {"limit": limit + 1, "offset": offset}
    if status:
        if status not in STATES:
            raise Invalid("status", "unknown_choice", N_("Nieznany status."))
        conds.append("i.status = :status")
        params["status"] = status
    if year:
        conds.append("i.year = :year")
        params["year"] = year
    if district:
        conds.append("i.districts @> ARRAY[CAST(:district AS smallint)]")
        params["district"] = district
    rows = conn.execute(
        text(
            f"""SELECT i.id, i.title, i.year, i.status, i.applicant_name, i.city_cost,
                       i.pledged_value, i.delivered_value, i.score, i.pool_year, i.address,
                       (SELECT string_agg(d.full_name, ', ' ORDER BY d.number) FROM districts d
                        WHERE d.number = ANY(i.districts)) AS district_names
                FROM local_initiatives i WHERE {" AND ".join(conds)}
                ORDER BY i.year DESC, i.id DESC LIMIT :limit OFFSET :offset"""
        ),
        params,
    ).all()
    return {"items": [dict(r._mapping) for r in rows[:limit]], "has_more": len(rows) > limit}


def years(conn: Connection) -> list[int]:
    return [
        int(y)
        for (y,) in conn.execute(
            text(
                "SELECT year FROM local_initiatives UNION SELECT year FROM initiative_pools "
                "ORDER BY 1 DESC"
            )
        )
    ]


def support(conn: Connection, initiative_id: int, user_id: int) -> tuple[bool, int]:
    """Sign the support list once (a primary key + ON CONFLICT); returns (added, count)."""
    status = conn.execute(
        text("SELECT status FROM local_initiatives WHERE id = :id FOR UPDATE"),
        {"id": initiative_id},
    ).scalar()
    if status is None:
        raise Invalid("initiative", "not_found", N_("Nie ma takiej inicjatywy."), 404)
    if status in CLOSED:
        raise Invalid("initiative", "closed", N_("Ta inicjatywa jest zamknięta."), 409)
    added = conn.execute(
        text(
            "INSERT INTO initiative_supports (initiative_id, user_id) VALUES (:i, :u) "
            "ON CONFLICT DO NOTHING RETURNING 1"
        ),
        {"i": initiative_id, "u": user_id},
    ).first()
    count = conn.execute(
        text(
            """UPDATE local_initiatives SET supporters =
                   (SELECT count(*) FROM initiative_supports WHERE initiative_id = :i)
               WHERE id = :i RETURNING supporters"""
        ),
        {"i": initiative_id},
    ).scalar_one()
    if added:
        record_audit(conn, user_id, "initiative_supported", TABLE, initiative_id)
    return bool(added), int(count)


def recipients(conn: Connection, initiative_id: int) -> list[tuple[int, str, str]]:
    """(user id, e-mail, name) of the applicants (and, for an NGO, its members)."""
    rows = conn.execute(
        text(
            """SELECT DISTINCT u.id, u.email, u.name FROM users u
               WHERE u.deleted_at IS NULL AND u.email IS NOT NULL AND (
                   u.id IN (SELECT user_id FROM initiative_applicants WHERE initiative_id = :i)
                   OR u.id IN (SELECT m.user_id FROM ngo_members m JOIN local_initiatives l
                               ON l.organisation_id = m.organisation_id WHERE l.id = :i))
               ORDER BY u.id"""
        ),
        {"i": initiative_id},
    )
    return [(r.id, r.email, r.name) for r in rows]


def change_status(
    conn: Connection, initiative_id: int, staff_id: int, to: Any, reason: Any = None
) -> Transition:
    """Move an initiative along its workflow (accepting commits the pool; rejecting needs a
    reason). Audited, notified, and returned for the mail to the applicants."""
    if to not in STATES:
        raise Invalid("status", "unknown_choice", N_("Nieznany status."))
    row = conn.execute(
        text("SELECT id, title, status FROM local_initiatives WHERE id = :id FOR UPDATE"),
        {"id": initiative_id},
    ).first()
    if row is None:
        raise Invalid("initiative", "not_found", N_("Nie ma takiej inicjatywy."), 404)
    if to not in TRANSITIONS.get(row.status, ()):
        raise Invalid(
            "status",
            "bad_transition",
            N_("Ze statusu „%(from)s” nie można przejść do „%(to)s”."),
            409,
            **{"from": row.status, "to": to},
        )
    why = clean_text(reason, "reason", max_len=2000, required=(to == "rejected"))
    result = Transition(initiative_id, row.title, to, why)
    if to == "accepted":
        done = assess_mod.accept(conn, initiative_id, staff_id, why)
        result.pool_year, result.waiting = done["pool_year"], done["waiting"]
    else:
        conn.execute(
            text("UPDATE local_initiatives SET status = :s, status_reason = :r WHERE id = :id"),
            {"s": to, "r": why, "id": initiative_id},
        )
        record_audit(conn, staff_id, f"initiative_status:{to}", TABLE, initiative_id, why)
    for uid, email, name in recipients(conn, initiative_id):
        notify(conn, uid, "initiative_status", title=row.title, status=to, reason=why or "")
        result.recipients.append((email, name))
    return result


def score(
    conn: Connection, initiative_id: int, staff_id: int, form: dict[str, Any]
) -> tuple[int, Transition | None]:
    """Assess an application (civic.initiatives.assessment.assess); when that moved it from
    "submitted" to "under assessment", the change is notified and returned for the mail."""
    before = conn.execute(
        text("SELECT status, title FROM local_initiatives WHERE id = :id"), {"id": initiative_id}
    ).first()
    total = assess_mod.assess(conn, initiative_id, staff_id, form)
    if before is None or before.status != "submitted":
        return total, None
    result = Transition(initiative_id, before.title, "under_assessment", None)
    for uid, email, name in recipients(conn, initiative_id):
        notify(conn, uid, "initiative_status", title=before.title, status=result.status, reason="")
        result.recipients.append((email, name))
    return total, result


def history(conn: Connection, initiative_id: int) -> list[dict[str, Any]]:
    """The audit trail of an initiative (statuses, assessment, pledges, deliveries)."""
    rows = conn.execute(
        text(
            """SELECT a.at, a.action, a.reason, u.name AS actor FROM audit_log a
               LEFT JOIN users u ON u.id = a.actor_id
               WHERE a.target_table = :t AND a.target_id = :i ORDER BY a.id"""
        ),
        {"t": TABLE, "i": initiative_id},
    )
    return [dict(r._mapping) for r in rows]
