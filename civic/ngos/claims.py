"""Claiming an organisation's profile: KRS + a contact e-mail that confirms the claim, then a
moderator's decision (approving makes the claimant a member and the profile public).

    start_claim (KRS + contact e-mail; a new profile or an existing entry)  -> a link by mail
    confirm_claim (the link's token)                                      -> waits for moderation
    decide_claim (a moderator approves or rejects, with a reason)         -> public, member

Only a SHA-256 of the link's token is stored. Every step is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from civic import N_
from civic.audit import notify, record_audit, register_message
from civic.ngos.common import Invalid, clean_email, clean_text, normalise_krs
from civic.ngos.profiles import TABLE, _grant_ngo_role, _set_clause, parse_profile, sync_places

CLAIM_TTL = timedelta(hours=72)

register_message(
    "ngo_claim_approved",
    N_("Moderator zatwierdził profil organizacji „%(name)s”. Jest on teraz publiczny."),
)
register_message(
    "ngo_claim_rejected",
    N_("Moderator odrzucił zgłoszenie profilu organizacji „%(name)s”. Powód: %(reason)s"),
)


def _sha(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


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
