"""District councils hear of protests about their district (a civic.events subscriber).

Subscribed at import (civic.pb.protests imports it; it can also be listed in
``civic.events.SUBSCRIBERS``). Each live council member of the project's districts gets one
in-app notification; a city-wide project's protest concerns no single council.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import notify, register_message
from civic.events import subscribe

KEY = "pb_protest_council"
register_message(
    KEY, N_("Protest od odrzucenia projektu budżetu obywatelskiego w Twojej dzielnicy: „%(title)s”")
)


@subscribe("pb_protest_filed")
def tell_councils(conn: Connection, **payload: Any) -> None:
    if payload.get("scope") != "district":
        return
    members = conn.execute(
        text(
            """SELECT id FROM users WHERE council_district = ANY(CAST(:d AS smallint[]))
               AND 'council' = ANY(roles) AND deleted_at IS NULL"""
        ),
        {"d": [int(x) for x in payload.get("districts") or []]},
    ).scalars()
    for uid in members:
        notify(conn, uid, KEY, title=payload.get("title"), proposal_id=payload.get("target_id"))
