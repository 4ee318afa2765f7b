"""NGO organisation profiles: claim or create with a KRS number, confirm by e-mail, moderation,
members who keep the profile current, places (seat + branches). Every change is audited.

The flow::

    start_claim (KRS + contact e-mail; a new profile or an existing entry)  -> a link by mail
    confirm_claim (the link's token)                                      -> waits for moderation
    decide_claim (a moderator approves or rejects, with a reason)         -> public, member

The places are rows of the ``ngos`` layer table (``ngo_locations``) with ``organisation_id``;
the profile's name, KRS, fields, target groups, districts served and website are copied onto
them (``sync_places``) so that the layer's API, maps, filters, exports and OGC collection
show them with no other code. A place is public only while its profile is (layers/ngos.py).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from civic import N_
from civic.audit import notify, record_audit, register_message
from civic.ngos.common import (
    Invalid,
    clean_choices,
    clean_districts,
    clean_email,
    clean_text,
    clean_website,
    normalise_krs,
)
from geo.validate import GeometryError, parse_geometry
from layers.ngos import FIELDS_OF_ACTIVITY, LEGAL_FORMS, PLACE_KINDS, TARGET_GROUPS

CLAIM_TTL = timedelta(hours=72)
TABLE = "ngo_organisations"
STAFF = frozenset({"moderator", "official", "admin"})

register_message(
    "ngo_claim_approved",
    N_("Moderator zatwierdził profil organizacji „%(name)s”. Jest on teraz publiczny."),
)
register_message(
    "ngo_claim_rejected",
    N_("Moderator odrzucił zgłoszenie profilu organizacji „%(name)s”. Powód: %(reason)s"),
)
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


def _sha(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


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


# --- claims -----------------------------------------------------------------------------------


def start_claim(
    conn: Connection,
    user_id: int,
    form: dict[str, Any],
) -> dict[str, Any]:
    """An NGO claims its entry (``location_id`` or its KRS found) or creates a profile.

    Returns ``{"claim_id", "organisation_id", "token", "contact_email", "name"}``; the
    caller mails the token's link to ``contact_email``. Nothing is public yet.
    """
    krs = normalise_krs(form.get("krs"))
    email = clean_email(form.get("contact_email"), "contact_email", required=False)
    if email is None:
        raise Invalid(
            "contact_email",
            "required",
            N_("Podaj adres e-mail organizacji: wyślemy na niego link potwierdzający."),
        )
    location_id = form.get("location_id")
    location = None
    if location_id not in (None, ""):
        try:
            location_id = int(location_id)
        except (TypeError, ValueError):
            raise Invalid("location_id", "invalid", N_("Nieznany wpis organizacji.")) from None
        location = conn.execute(
            text("SELECT id, name, krs, organisation_id FROM ngo_locations WHERE id = :id"),
            {"id": location_id},
        ).first()
        if location is None:
            raise Invalid("location_id", "not_found", N_("Nieznany wpis organizacji."), 404)
        if location.krs and location.krs != krs:
            raise Invalid(
                "krs", "krs_mismatch", N_("Numer KRS nie zgadza się z numerem tego wpisu."), 409
            )
    org = conn.execute(
        text("SELECT id, name, status FROM ngo_organisations WHERE krs = :k"), {"k": krs}
    ).first()
    if org is None and location is not None and location.organisation_id:
        org = conn.execute(
            text("SELECT id, name, status FROM ngo_organisations WHERE id = :id"),
            {"id": location.organisation_id},
        ).first()
    if org is None:
        if location is None:
            imported = conn.execute(
                text(
                    "SELECT id, name FROM ngo_locations WHERE krs = :k "
                    "AND organisation_id IS NULL ORDER BY id LIMIT 1"
                ),
                {"k": krs},
            ).first()
            location = imported
        profile = parse_profile(conn, form, partial=True)
        if location is not None and not profile.get("name"):
            profile["name"] = location.name
        if not profile.get("name"):
            raise Invalid("name", "required", N_("Podaj nazwę organizacji."))
        _sets, params = _set_clause(profile)
        cols = ", ".join(profile)
        vals = ", ".join(
            "ST_Multi(ST_GeomFromText(:service_area, 4326))" if c == "service_area" else f":{c}"
            for c in profile
        )
        try:
            with conn.begin_nested():
                org_id = conn.execute(
                    text(
                        f"INSERT INTO ngo_organisations ({cols}, krs, created_by) "
                        f"VALUES ({vals}, :krs, :u) RETURNING id"
                    ),
                    {**params, "krs": krs, "u": user_id},
                ).scalar_one()
        except IntegrityError:
            # somebody created the same KRS a moment ago: claim that one
            org_id = conn.execute(
                text("SELECT id FROM ngo_organisations WHERE krs = :k"), {"k": krs}
            ).scalar_one()
        name = profile["name"]
    else:
        org_id, name = org.id, org.name
        if conn.execute(
            text("SELECT 1 FROM ngo_members WHERE organisation_id = :o AND user_id = :u"),
            {"o": org_id, "u": user_id},
        ).first():
            raise Invalid("krs", "already_member", N_("Jesteś już w zespole tej organizacji."), 409)
    token = secrets.token_urlsafe(32)
    claim_id = conn.execute(
        text(
            """INSERT INTO ngo_claims (organisation_id, user_id, location_id, krs, contact_email,
                                       token_hash, expires_at)
               VALUES (:o, :u, :l, :k, :e, :h, now() + make_interval(secs => :ttl))
               ON CONFLICT (organisation_id, user_id) WHERE status IN ('unconfirmed', 'confirmed')
               DO UPDATE SET contact_email = EXCLUDED.contact_email,
                             token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at,
                             location_id = coalesce(EXCLUDED.location_id, ngo_claims.location_id),
                             status = 'unconfirmed', confirmed_at = NULL
               RETURNING id"""
        ),
        {
            "o": org_id,
            "u": user_id,
            "l": location.id if location is not None else None,
            "k": krs,
            "e": email,
            "h": _sha(token),
            "ttl": CLAIM_TTL.total_seconds(),
        },
    ).scalar_one()
    record_audit(conn, user_id, "ngo_claim_started", TABLE, org_id, f"claim {claim_id}")
    return {
        "claim_id": claim_id,
        "organisation_id": org_id,
        "token": token,
        "contact_email": email,
        "name": name,
    }


def confirm_claim(conn: Connection, token: str) -> dict[str, Any]:
    """The contact e-mail's link: the claim is confirmed and waits for a moderator."""
    row = conn.execute(
        text(
            """SELECT c.id, c.organisation_id, c.user_id, c.status, c.expires_at < now() AS expired,
                      o.name
               FROM ngo_claims c JOIN ngo_organisations o ON o.id = c.organisation_id
               WHERE c.token_hash = :h FOR UPDATE OF c"""
        ),
        {"h": _sha(token or "")},
    ).first()
    if row is None or row.status != "unconfirmed":
        raise Invalid(
            "token", "invalid_token", N_("Link jest nieważny albo został już użyty."), 404
        )
    if row.expired:
        raise Invalid("token", "expired", N_("Link wygasł: zgłoś organizację ponownie."), 410)
    conn.execute(
        text(
            "UPDATE ngo_claims SET status = 'confirmed', confirmed_at = now(), token_hash = NULL "
            "WHERE id = :id"
        ),
        {"id": row.id},
    )
    conn.execute(
        text("UPDATE ngo_organisations SET status = 'pending' WHERE id = :o AND status = 'draft'"),
        {"o": row.organisation_id},
    )
    record_audit(
        conn, row.user_id, "ngo_claim_confirmed", TABLE, row.organisation_id, f"claim {row.id}"
    )
    return {"claim_id": row.id, "organisation_id": row.organisation_id, "name": row.name}


def pending_claims(conn: Connection) -> list[dict[str, Any]]:
    """Claims for the moderators: confirmed ones first (those can be decided)."""
    rows = conn.execute(
        text(
            """SELECT c.id, c.organisation_id, c.krs, c.contact_email, c.status, c.created_at,
                      c.confirmed_at, o.name AS organisation, o.status AS organisation_status,
                      u.name AS user_name, u.email AS user_email
               FROM ngo_claims c JOIN ngo_organisations o ON o.id = c.organisation_id
               LEFT JOIN users u ON u.id = c.user_id
               WHERE c.status IN ('unconfirmed', 'confirmed')
               ORDER BY c.status = 'confirmed' DESC, c.id"""
        )
    )
    return [dict(r._mapping) for r in rows]


def decide_claim(
    conn: Connection, claim_id: int, moderator_id: int, *, approve: bool, reason: str | None
) -> dict[str, Any]:
    """A moderator's decision. Approving makes the claimant a member and the profile public."""
    claim = conn.execute(
        text(
            """SELECT c.*, o.name, o.status AS org_status FROM ngo_claims c
               JOIN ngo_organisations o ON o.id = c.organisation_id
               WHERE c.id = :id FOR UPDATE OF c, o"""
        ),
        {"id": claim_id},
    ).first()
    if claim is None:
        raise Invalid("claim", "not_found", N_("Nie ma takiego zgłoszenia."), 404)
    if claim.status in ("approved", "rejected"):
        raise Invalid("claim", "decided", N_("To zgłoszenie zostało już rozpatrzone."), 409)
    reason = clean_text(reason, "reason", max_len=2000, required=not approve)
    if approve and claim.status != "confirmed":
        raise Invalid(
            "contact_email",
            "not_confirmed",
            N_("Zgłoszenie nie zostało potwierdzone linkiem z wiadomości e-mail."),
            409,
        )
    org_id = claim.organisation_id
    if not approve:
        conn.execute(
            text(
                "UPDATE ngo_claims SET status = 'rejected', decided_by = :m, decided_at = now(), "
                "reason = :r, token_hash = NULL WHERE id = :id"
            ),
            {"m": moderator_id, "r": reason, "id": claim_id},
        )
        conn.execute(
            text(
                """UPDATE ngo_organisations SET status = 'rejected', status_reason = :r,
                          updated_at = now()
                   WHERE id = :o AND status IN ('draft', 'pending')
                     AND NOT EXISTS (SELECT 1 FROM ngo_members m WHERE m.organisation_id = :o)"""
            ),
            {"o": org_id, "r": reason},
        )
        record_audit(conn, moderator_id, "ngo_claim_rejected", TABLE, org_id, reason)
        notify(conn, claim.user_id, "ngo_claim_rejected", name=claim.name, reason=reason)
        return {"organisation_id": org_id, "approved": False, "user_id": claim.user_id}
    conn.execute(
        text(
            "UPDATE ngo_claims SET status = 'approved', decided_by = :m, decided_at = now(), "
            "reason = :r WHERE id = :id"
        ),
        {"m": moderator_id, "r": reason, "id": claim_id},
    )
    has_members = conn.execute(
        text("SELECT EXISTS (SELECT 1 FROM ngo_members WHERE organisation_id = :o)"), {"o": org_id}
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO ngo_members (organisation_id, user_id, role) VALUES (:o, :u, :r) "
            "ON CONFLICT DO NOTHING"
        ),
        {"o": org_id, "u": claim.user_id, "r": "editor" if has_members else "owner"},
    )
    _grant_ngo_role(conn, claim.user_id)
    conn.execute(
        text(
            """UPDATE ngo_organisations SET status = 'public', status_reason = NULL,
                      published_at = coalesce(published_at, now()), updated_at = now()
               WHERE id = :o AND status IN ('draft', 'pending', 'rejected')"""
        ),
        {"o": org_id},
    )
    _adopt_imported(conn, org_id, claim.location_id, claim.krs)
    sync_places(conn, org_id)
    record_audit(conn, moderator_id, "ngo_claim_approved", TABLE, org_id, reason)
    notify(conn, claim.user_id, "ngo_claim_approved", name=claim.name)
    return {"organisation_id": org_id, "approved": True, "user_id": claim.user_id}


def _grant_ngo_role(conn: Connection, user_id: int | None) -> None:
    conn.execute(
        text(
            "UPDATE users SET roles = array_append(roles, 'ngo') "
            "WHERE id = :u AND NOT ('ngo' = ANY(roles))"
        ),
        {"u": user_id},
    )


def _adopt_imported(conn: Connection, org_id: int, location_id: int | None, krs: str) -> None:
    """Imported entries of this organisation (the one claimed, and others with its KRS) become
    its places: the first is the seat unless it has one."""
    rows = conn.execute(
        text(
            """SELECT id FROM ngo_locations
               WHERE organisation_id IS NULL AND (id = :l OR (krs = :k AND :k IS NOT NULL))
               ORDER BY id = :l DESC, id"""
        ),
        {"l": location_id, "k": krs},
    ).scalars()
    for loc in list(rows):
        has_seat = conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM ngo_locations WHERE organisation_id = :o "
                "AND kind = 'seat')"
            ),
            {"o": org_id},
        ).scalar_one()
        conn.execute(
            text("UPDATE ngo_locations SET organisation_id = :o, kind = :k WHERE id = :id"),
            {"o": org_id, "k": "branch" if has_seat else "seat", "id": loc},
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


# --- places -------------------------------------------------------------------------------


def _point(raw: Any) -> str:
    try:
        geom = parse_geometry(raw, allowed_types=("Point",))
    except GeometryError as exc:
        raise Invalid("geometry", exc.code, exc.message) from None
    return geom.wkt


def add_place(
    conn: Connection, org_id: int, actor_id: int, roles: frozenset[str], form: dict[str, Any]
) -> int:
    """A seat or a branch: a point chosen by address search or on the map."""
    require_editor(conn, org_id, actor_id, roles)
    kind = form.get("kind") or "branch"
    if kind not in PLACE_KINDS:
        raise Invalid("kind", "unknown_choice", N_("Nieznany rodzaj miejsca."))
    address = clean_text(form.get("address"), "address", max_len=300, multiline=False)
    place_name = clean_text(form.get("place_name"), "place_name", max_len=200, multiline=False)
    wkt = _point(form.get("geometry"))
    try:
        with conn.begin_nested():
            place_id = conn.execute(
                text(
                    """INSERT INTO ngo_locations (external_id, geom, name, krs, address, fields,
                              target_groups, districts_served, website, service_area,
                              organisation_id, kind, place_name)
                       SELECT :ext, ST_GeomFromText(:wkt, 4326), o.name, o.krs, :address,
                              o.fields, o.target_groups, o.districts_served, o.website,
                              o.service_area, o.id, :kind, :place_name
                       FROM ngo_organisations o WHERE o.id = :o RETURNING id"""
                ),
                {
                    "ext": f"ngo-profile:{org_id}:{uuid.uuid4().hex}",
                    "wkt": wkt,
                    "address": address,
                    "kind": kind,
                    "place_name": place_name,
                    "o": org_id,
                },
            ).scalar_one()
    except DBAPIError as exc:
        raise _place_error(exc) from None
    record_audit(conn, actor_id, "ngo_place_added", TABLE, org_id, f"{kind} {place_id}")
    return place_id


def _place_error(exc: DBAPIError) -> Invalid:
    code = getattr(exc.orig, "sqlstate", None)
    if code == "CV001":
        return Invalid("geometry", "outside_city", N_("To miejsce leży poza granicami miasta."))
    if code == "23505":
        return Invalid(
            "kind", "seat_exists", N_("Organizacja ma już siedzibę: dodaj oddział."), 409
        )
    raise exc


def update_place(
    conn: Connection,
    org_id: int,
    place_id: int,
    actor_id: int,
    roles: frozenset[str],
    form: dict[str, Any],
) -> None:
    require_editor(conn, org_id, actor_id, roles)
    sets, params = [], {"id": place_id, "o": org_id}
    if "geometry" in form and form.get("geometry"):
        sets.append("geom = ST_GeomFromText(:wkt, 4326)")
        params["wkt"] = _point(form["geometry"])
    for name, limit in (("address", 300), ("place_name", 200)):
        if name in form:
            sets.append(f"{name} = :{name}")
            params[name] = clean_text(form.get(name), name, max_len=limit, multiline=False)
    if "kind" in form:
        if form["kind"] not in PLACE_KINDS:
            raise Invalid("kind", "unknown_choice", N_("Nieznany rodzaj miejsca."))
        sets.append("kind = :kind")
        params["kind"] = form["kind"]
    if not sets:
        return
    try:
        with conn.begin_nested():
            done = conn.execute(
                text(
                    f"UPDATE ngo_locations SET {', '.join(sets)} "
                    "WHERE id = :id AND organisation_id = :o RETURNING id"
                ),
                params,
            ).first()
    except DBAPIError as exc:
        raise _place_error(exc) from None
    if done is None:
        raise Invalid("place", "not_found", N_("Nie ma takiego miejsca."), 404)
    record_audit(conn, actor_id, "ngo_place_updated", TABLE, org_id, f"place {place_id}")


def remove_place(
    conn: Connection, org_id: int, place_id: int, actor_id: int, roles: frozenset[str]
) -> None:
    require_editor(conn, org_id, actor_id, roles)
    done = conn.execute(
        text("DELETE FROM ngo_locations WHERE id = :id AND organisation_id = :o RETURNING id"),
        {"id": place_id, "o": org_id},
    ).first()
    if done is None:
        raise Invalid("place", "not_found", N_("Nie ma takiego miejsca."), 404)
    record_audit(conn, actor_id, "ngo_place_removed", TABLE, org_id, f"place {place_id}")


def places(conn: Connection, org_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            """SELECT l.id, l.kind, l.place_name, l.address, l.districts,
                      ST_X(l.geom) AS lon, ST_Y(l.geom) AS lat,
                      (SELECT string_agg(d.full_name, ', ' ORDER BY d.number) FROM districts d
                       WHERE d.number = ANY(l.districts)) AS district_names
               FROM ngo_locations l WHERE l.organisation_id = :o
               ORDER BY l.kind = 'seat' DESC, l.id"""
        ),
        {"o": org_id},
    )
    return [dict(r._mapping) for r in rows]


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
