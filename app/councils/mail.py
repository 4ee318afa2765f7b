"""E-mail to council members about new items, after the transaction has committed.

civic.councils.notify publishes ``council_notified`` (in the writing transaction) with the
confirmed addresses of the members it told; here, inside a request, the mail is queued for
after the response, and sent only to those whose notification did commit (never for a write
that rolled back). Outside a request (the CLI, importers) nobody is mailed.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from flask import after_this_request, current_app, has_request_context
from flask_babel import force_locale, gettext
from sqlalchemy import Connection

from civic import councils
from civic.councils.notify import NOTIFIED
from civic.events import subscribe

log = logging.getLogger(__name__)


def mail_enabled() -> bool:
    """E-mail council members too? COUNCIL_MAIL; by default only where SMTP is configured."""
    cfg = current_app.config
    value = cfg.get("COUNCIL_MAIL")
    if value is None:
        return bool(cfg.get("SMTP_HOST"))
    return str(value).lower() not in ("0", "false", "no", "")


def mail_after_commit(
    conn: Connection,
    *,
    kind: str,
    target_id: int,
    title: str,
    recipients: list[dict[str, Any]],
    **_: Any,
) -> None:
    """The ``council_notified`` handler."""
    if not recipients or not has_request_context() or not mail_enabled():
        return
    from app.auth import external_url
    from app.mail import send_mail
    from app.moderation import kind_label

    link = external_url(
        "layer_pages.feature_page", layer=councils.TABLE_OF_KIND[kind], feature_id=target_id
    )
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    @after_this_request
    def _send(resp):
        with app.extensions["engine"].connect() as fresh:
            committed = councils.told(fresh, [r["id"] for r in recipients], kind, target_id)
        for r in recipients:
            if r["id"] not in committed:
                continue
            d = councils.roman(r["district"])
            with force_locale("pl"):
                subject = gettext("Nowy wpis w dzielnicy %(d)s — Civic Map Kraków", d=d)
                body = gettext(
                    "Dzień dobry %(name)s,\n\nw dzielnicy %(d)s pojawił się nowy wpis "
                    "(%(kind)s): „%(title)s”.\n\n%(link)s\n\nTę wiadomość dostajesz jako "
                    "członek rady dzielnicy w Civic Map Kraków.",
                    name=r["name"],
                    d=d,
                    kind=kind_label(kind),
                    title=title,
                    link=link,
                )
            try:
                send_mail(r["email"], subject, body)
            except (OSError, smtplib.SMTPException):
                log.exception("could not mail council member %s", r["id"])
        return resp


def init_app(app) -> None:
    subscribe(NOTIFIED, mail_after_commit)
