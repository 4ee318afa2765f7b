"""The district councils hear of what lands in their district.

Subscribes to ``content_public`` (published by moderation, inside the transaction that makes a
proposal or a comment public): every council of the item's districts gets an in-app
notification, once per member and item. E-mail is the web's business: this module publishes
``council_notified`` with the members to mail, and the web (app/councils/mail.py) sends after
the transaction has committed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import notify, register_message
from civic.councils.common import TABLES, Tables, roman, short, visibility
from civic.events import publish, subscribe

MESSAGE_KEY = "council_new_item"
register_message(MESSAGE_KEY, N_("Nowy wpis w dzielnicy %(district)s (%(kind)s): „%(title)s”"))

# The event for mailers: payload kind, target_id, title, recipients [{id, email, name, district}]
NOTIFIED = "council_notified"

_KIND_SQL = {
    "budget_proposals": (
        "SELECT p.title, p.districts, p.author_id FROM budget_proposals p "
        "WHERE p.id = :id AND p.hidden_at IS NULL AND p.status = ANY(:states)"
    ),
    "consultation_comments": (
        "SELECT left(c.body, 120) AS title, c.districts, c.author_id FROM consultation_comments c "
        "WHERE c.id = :id AND c.hidden_at IS NULL AND c.status = ANY(:states)"
    ),
}

_TOLD_SQL = (
    "SELECT user_id FROM notifications WHERE user_id = ANY(:u) "
    "AND message_key = 'council_new_item' AND params @> CAST(:p AS jsonb)"
)


def council_members(
    conn: Connection, districts: Sequence[int], tables: Tables = TABLES
) -> list[dict[str, Any]]:
    """Live accounts with the council role for any of these districts."""
    if not districts:
        return []
    rows = conn.execute(
        text(
            f"""SELECT id, email, name, council_district, confirmed_at IS NOT NULL AS confirmed
                FROM {tables.users}
                WHERE council_district = ANY(CAST(:d AS smallint[])) AND 'council' = ANY(roles)
                  AND deleted_at IS NULL
                ORDER BY id"""
        ),
        {"d": [int(n) for n in districts]},
    ).mappings()
    return [dict(r) for r in rows]


def told(conn: Connection, user_ids: Sequence[int], kind: str, target_id: int) -> set[int]:
    """Which of these members have a notification of this item (on ``conn``: a fresh
    connection sees only what has committed)."""
    return {
        r[0]
        for r in conn.execute(
            text(_TOLD_SQL),
            {"u": list(user_ids) or [0], "p": json.dumps({"kind": kind, "id": target_id})},
        )
    }


def notify_council(
    conn: Connection,
    district_numbers: list[int] | tuple[int, ...] | None,
    kind: str,
    target_id: int,
) -> int:
    """Tell the councils of these districts that something new landed there.

    Runs in the transaction that makes a proposal or a comment public (through the
    ``content_public`` event), with the districts to tell (``None``: every district the item
    lies in, as the database computed them; a list is intersected with those)::

        notify_council(conn, None, "budget_proposals", row.id)

    ``kind`` is the table (``budget_proposals`` / ``consultation_comments``). Content that
    is not public (a draft, held for moderation) is skipped, so calling it at every such
    point is safe; a member is told once per item, and never of their own item. Members get
    an in-app notification; the confirmed addresses among them are published as
    ``council_notified`` for a mailer. Returns the notifications created.
    """
    if kind not in _KIND_SQL:  # content councils do not follow (e.g. another moderated table)
        return 0
    vis = visibility()
    states = vis.proposal_states if kind == "budget_proposals" else vis.comment_states
    item = conn.execute(text(_KIND_SQL[kind]), {"id": target_id, "states": list(states)}).first()
    if item is None:
        return 0
    located = set(item.districts or ())
    if district_numbers is not None:
        located &= {int(n) for n in district_numbers}
    wanted = sorted(located)
    if not wanted:
        return 0
    members = council_members(conn, wanted)
    already = told(conn, [m["id"] for m in members], kind, target_id)
    title = short(item.title or "", 120)
    sent = []
    for m in members:
        if m["id"] in already or m["id"] == item.author_id:
            continue
        district = int(m["council_district"])
        notify(
            conn,
            m["id"],
            MESSAGE_KEY,
            kind=kind,
            id=target_id,
            title=title,
            district=f"{roman(district)}",
        )
        already.add(m["id"])
        sent.append((m, district))
    recipients = [
        {"id": m["id"], "email": m["email"], "name": m["name"], "district": d}
        for m, d in sent
        if m["confirmed"] and m["email"]
    ]
    if recipients:
        publish(conn, NOTIFIED, kind=kind, target_id=target_id, title=title, recipients=recipients)
    return len(sent)


@subscribe("content_public")
def on_content_public(conn: Connection, *, table: str, target_id: int, **_: Any) -> None:
    """Content became public (a submitted proposal, a published comment, or one a moderator
    let through): its district councils hear of it, once per item."""
    notify_council(conn, None, table, int(target_id))
