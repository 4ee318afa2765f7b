"""NGO organisation profiles: the profile's fields, members who keep it current, its
visibility. Every change is audited. Claims are civic/ngos/claims.py, places
civic/ngos/places.py.

The places are rows of the ``ngos`` layer table (``ngo_locations``) with ``organisation_id``;
the profile's name, KRS, fields, target groups, districts served and website are copied onto
them (``sync_places``) so that the layer's API, maps, filters, exports and OGC collection
show them with no other code. A place is public only while its profile is (layers/ngos.py).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import notify, record_audit, register_message
from civic.ngos.common import (
    Invalid,
    clean_choices,
    clean_districts,
    clean_email,
    clean_text,
    clean_website,
)
from geo.validate import GeometryError, parse_geometry
from layers.ngos import FIELDS_OF_ACTIVITY, LEGAL_FORMS, TARGET_GROUPS

TABLE = "ngo_organisations"
STAFF = frozenset({"moderator", "official", "admin"})

register_message(
    "ngo_member_added", N_("Dodano Cię do zespołu organizacji „%(name)s” w Civic Map.")
)

PROFILE_FIELDS = (
    "name",
    "legal_form",
    "fields",
    "target_groups",
    "districts_served",
    "service_area",
    "opening_hours",
    "offer",
    "website",
    "public_email",
    "public_phone",
)


def _district_count(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM districts")).scalar_one() or 18)


def parse_profile(
    conn: Connection, form: dict[str, Any], *, partial: bool = False
) -> dict[str, Any]:
    """Clean the profile fields of a form; ``partial`` keeps only the fields present."""
    out: dict[str, Any] = {}

    def want(name: str) -> bool:
        return not partial or name in form

    if want("name"):
        out["name"] = clean_text(
            form.get("name"), "name", max_len=300, required=True, multiline=False
        )
    if want("legal_form"):
        lf = clean_text(form.get("legal_form"), "legal_form", max_len=40, multiline=False)
        if lf is not None and lf not in LEGAL_FORMS:
            raise Invalid("legal_form", "unknown_choice", N_("Nieznana forma prawna."))
        out["legal_form"] = lf
    if want("fields"):
        out["fields"] = clean_choices(form.get("fields"), "fields", FIELDS_OF_ACTIVITY)
    if want("target_groups"):
        out["target_groups"] = clean_choices(
            form.get("target_groups"), "target_groups", TARGET_GROUPS
        )
    if want("districts_served"):
        out["districts_served"] = clean_districts(
            form.get("districts_served"), "districts_served", _district_count(conn)
        )
    if want("service_area"):
        out["service_area"] = _service_area(conn, form.get("service_area"))
    for name, limit in (("opening_hours", 1000), ("offer", 5000)):
        if want(name):
            out[name] = clean_text(form.get(name), name, max_len=limit)
    if want("website"):
        out["website"] = clean_website(form.get("website"))
    if want("public_email"):
        out["public_email"] = clean_email(form.get("public_email"), "public_email", required=False)
    if want("public_phone"):
        out["public_phone"] = clean_text(
            form.get("public_phone"), "public_phone", max_len=40, multiline=False
        )
    return out


def _service_area(conn: Connection, raw: Any) -> str | None:
    """A drawn polygon (GeoJSON) as WKT, inside the city; None when not given."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        geom = parse_geometry(raw, allowed_types=("Polygon", "MultiPolygon"))
    except GeometryError as exc:
        raise Invalid("service_area", exc.code, exc.message) from None
    inside = conn.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM city c "
            "WHERE ST_CoveredBy(ST_GeomFromText(:w, 4326), ST_Buffer(c.geom, 0.0001)))"
        ),
        {"w": geom.wkt},
    ).scalar_one()
    if not inside:
        raise Invalid("service_area", "outside_city", N_("Obszar działania wykracza poza miasto."))
    return geom.wkt


def _set_clause(values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    parts, params = [], {}
    for name, value in values.items():
        if name == "service_area":
            parts.append(
                "service_area = CASE WHEN CAST(:service_area AS text) IS NULL THEN NULL "
                "ELSE ST_Multi(ST_GeomFromText(:service_area, 4326)) END"
            )
        else:
            parts.append(f"{name} = :{name}")
        params[name] = value
    return ", ".join(parts), params


def _grant_ngo_role(conn: Connection, user_id: int | None) -> None:
    conn.execute(
        text(
            "UPDATE users SET roles = array_append(roles, 'ngo') "
            "WHERE id = :u AND NOT ('ngo' = ANY(roles))"
        ),
        {"u": user_id},
    )


# --- members and the profile --------------------------------------------------------------


def is_member(conn: Connection, org_id: int, user_id: int | None) -> bool:
    if user_id is None:
        return False
    return bool(
        conn.execute(
            text("SELECT 1 FROM ngo_members WHERE organisation_id = :o AND user_id = :u"),
            {"o": org_id, "u": user_id},
        ).first()
    )


def _preparing(conn: Connection, org_id: int, user_id: int) -> bool:
    """The claimant of a new profile prepares it (places, offer) while it waits for moderation:
    not public yet, no members yet, and this person's claim is open."""
    return bool(
        conn.execute(
            text(
                """SELECT 1 FROM ngo_organisations o JOIN ngo_claims c ON c.organisation_id = o.id
                   WHERE o.id = :o AND o.status IN ('draft', 'pending') AND c.user_id = :u
                     AND c.status IN ('unconfirmed', 'confirmed')
                     AND NOT EXISTS (SELECT 1 FROM ngo_members m WHERE m.organisation_id = o.id)"""
            ),
            {"o": org_id, "u": user_id},
        ).first()
    )


def can_edit(conn: Connection, org_id: int, user_id: int | None, roles: frozenset[str]) -> bool:
    if user_id is None:
        return False
    return (
        bool(roles & STAFF) or is_member(conn, org_id, user_id) or _preparing(conn, org_id, user_id)
    )


def require_editor(conn: Connection, org_id: int, user_id: int, roles: frozenset[str]) -> None:
    """A member of the organisation, or staff; else 403 (404 when there is no such profile)."""
    found = conn.execute(
        text("SELECT 1 FROM ngo_organisations WHERE id = :o FOR UPDATE"), {"o": org_id}
    ).first()
    if found is None:
        raise Invalid("organisation", "not_found", N_("Nie ma takiej organizacji."), 404)
    if (
        not (roles & STAFF)
        and not is_member(conn, org_id, user_id)
        and not _preparing(conn, org_id, user_id)
    ):
        raise Invalid(
            "organisation",
            "forbidden",
            N_("Profil mogą zmieniać tylko członkowie organizacji."),
            403,
        )


def update_profile(
    conn: Connection, org_id: int, actor_id: int, roles: frozenset[str], form: dict[str, Any]
) -> list[str]:
    """Members keep the profile current; returns the names of the fields that changed."""
    require_editor(conn, org_id, actor_id, roles)
    values = parse_profile(conn, form, partial=True)
    if "name" in values and not values["name"]:
        raise Invalid("name", "required", N_("Podaj nazwę organizacji."))
    before = _snapshot(conn, org_id)
    if not values:
        return []
    sets, params = _set_clause(values)
    conn.execute(
        text(f"UPDATE ngo_organisations SET {sets}, updated_at = now() WHERE id = :id"),
        {**params, "id": org_id},
    )
    after = _snapshot(conn, org_id)
    changed = [k for k in PROFILE_FIELDS if before.get(k) != after.get(k)]
    if changed:
        sync_places(conn, org_id)
        record_audit(conn, actor_id, "ngo_profile_updated", TABLE, org_id, ", ".join(changed))
    return changed


def _snapshot(conn: Connection, org_id: int) -> dict[str, Any]:
    row = conn.execute(
        text(
            f"SELECT {', '.join(c for c in PROFILE_FIELDS if c != 'service_area')}, "
            "ST_AsText(service_area) AS service_area FROM ngo_organisations WHERE id = :id"
        ),
        {"id": org_id},
    ).first()
    return dict(row._mapping) if row else {}


def sync_places(conn: Connection, org_id: int) -> None:
    """Copy the profile onto its places (the layer's rows), so filters and exports see it."""
    conn.execute(
        text(
            """UPDATE ngo_locations l SET name = o.name, krs = o.krs, fields = o.fields,
                      target_groups = o.target_groups, districts_served = o.districts_served,
                      website = o.website, service_area = o.service_area
               FROM ngo_organisations o
               WHERE o.id = :o AND l.organisation_id = o.id"""
        ),
        {"o": org_id},
    )


def set_status(
    conn: Connection, org_id: int, moderator_id: int, status: str, reason: str | None
) -> None:
    """A moderator hides a public profile (with a reason) or publishes it again."""
    if status not in ("public", "hidden"):
        raise Invalid("status", "unknown_choice", N_("Nieznany status."))
    reason = clean_text(reason, "reason", max_len=2000, required=True)
    done = conn.execute(
        text(
            "UPDATE ngo_organisations SET status = :s, status_reason = :r, updated_at = now(), "
            "published_at = coalesce(published_at, now()) WHERE id = :o RETURNING id"
        ),
        {"s": status, "r": reason, "o": org_id},
    ).first()
    if done is None:
        raise Invalid("organisation", "not_found", N_("Nie ma takiej organizacji."), 404)
    record_audit(conn, moderator_id, f"ngo_profile_{status}", TABLE, org_id, reason)


def add_member(
    conn: Connection, org_id: int, actor_id: int, roles: frozenset[str], email: Any
) -> int:
    """A member adds a colleague by the e-mail of their account."""
    require_editor(conn, org_id, actor_id, roles)
    address = clean_email(email, "email")
    user = conn.execute(
        text("SELECT id FROM users WHERE lower(email) = lower(:e) AND deleted_at IS NULL"),
        {"e": address},
    ).first()
    if user is None:
        raise Invalid("email", "not_found", N_("Nie ma konta z tym adresem e-mail."), 404)
    conn.execute(
        text(
            "INSERT INTO ngo_members (organisation_id, user_id, role) VALUES (:o, :u, 'editor') "
            "ON CONFLICT DO NOTHING"
        ),
        {"o": org_id, "u": user.id},
    )
    _grant_ngo_role(conn, user.id)
    name = conn.execute(
        text("SELECT name FROM ngo_organisations WHERE id = :o"), {"o": org_id}
    ).scalar_one()
    record_audit(conn, actor_id, "ngo_member_added", TABLE, org_id, f"user {user.id}")
    notify(conn, user.id, "ngo_member_added", name=name)
    return user.id


def remove_member(
    conn: Connection, org_id: int, actor_id: int, roles: frozenset[str], user_id: int
) -> None:
    require_editor(conn, org_id, actor_id, roles)
    left = conn.execute(
        text("SELECT count(*) FROM ngo_members WHERE organisation_id = :o AND user_id <> :u"),
        {"o": org_id, "u": user_id},
    ).scalar_one()
    if left == 0 and not (roles & STAFF):
        raise Invalid(
            "user", "last_member", N_("Organizacja musi mieć co najmniej jednego członka."), 409
        )
    conn.execute(
        text("DELETE FROM ngo_members WHERE organisation_id = :o AND user_id = :u"),
        {"o": org_id, "u": user_id},
    )
    record_audit(conn, actor_id, "ngo_member_removed", TABLE, org_id, f"user {user_id}")


def organisation(conn: Connection, org_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        text(
            f"""SELECT id, krs, status, status_reason, created_at, updated_at, published_at,
                       {", ".join(c for c in PROFILE_FIELDS if c != "service_area")},
                       ST_AsGeoJSON(service_area, 6) AS service_area
                FROM ngo_organisations WHERE id = :id"""
        ),
        {"id": org_id},
    ).first()
    if row is None:
        return None
    out = dict(row._mapping)
    out["service_area"] = json.loads(out["service_area"]) if out["service_area"] else None
    return out


def members(conn: Connection, org_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            """SELECT u.id, u.name, u.email, m.role, m.added_at FROM ngo_members m
               JOIN users u ON u.id = m.user_id WHERE m.organisation_id = :o ORDER BY m.added_at"""
        ),
        {"o": org_id},
    )
    return [dict(r._mapping) for r in rows]


def my_organisations(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            """SELECT o.id, o.name, o.status, m.role FROM ngo_members m
               JOIN ngo_organisations o ON o.id = m.organisation_id
               WHERE m.user_id = :u ORDER BY o.name"""
        ),
        {"u": user_id},
    )
    return [dict(r._mapping) for r in rows]
