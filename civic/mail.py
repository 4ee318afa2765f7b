"""Outgoing mail, framework-free: SMTP in production, an outbox folder of .eml files in
development and under tests.

The web (app/mail.py) builds :class:`MailSettings` from its configuration (the CIVICMAP_SMTP_*
and CIVICMAP_MAIL_* settings); the CLI and background jobs can build one themselves. Without an
SMTP host every message is written to the outbox and its path and text are logged, so a
developer can follow a confirmation link.
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_FROM = "Civic Map Kraków <no-reply@localhost>"


@dataclass(frozen=True)
class MailSettings:
    outbox: Path
    mail_from: str = DEFAULT_FROM
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_tls: str = "starttls"  # "starttls" | "ssl" | "none"
    smtp_user: str | None = None
    smtp_password: str | None = None


def build_message(settings: MailSettings, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="civicmap.local")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


def send_mail(settings: MailSettings, to: str, subject: str, body: str) -> Path | None:
    """Send one plain-text message; returns the outbox file when no SMTP host is set.
    Raises OSError / smtplib.SMTPException when the server cannot be reached."""
    msg = build_message(settings, to, subject, body)
    host = settings.smtp_host
    if host:
        port = int(settings.smtp_port or 587)
        mode = (settings.smtp_tls or "starttls").lower()
        context = ssl.create_default_context()
        if mode == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, context=context, timeout=20)
        else:
            smtp = smtplib.SMTP(host, port, timeout=20)
        with smtp:
            if mode == "starttls":
                smtp.starttls(context=context)
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(msg)
        log.info("mail to %s sent via %s: %s", mask(to), host, subject)
        return None
    folder = Path(settings.outbox)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ns = time.time_ns()
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{ns % 10**9:09d}-{secrets.token_hex(3)}.eml"
    # The mails carry confirmation and reset links: readable by the server's user only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(bytes(msg))
    log.warning("no SMTP host set: mail to %s written to %s\n%s", to, path, body)
    return path


def mask(address: str) -> str:
    """The log of a production server needs no full addresses."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def read_outbox(folder: Path) -> list[EmailMessage]:
    """The messages in an outbox folder, oldest first (for tests and the CLI)."""
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(p.read_bytes()) for p in sorted(Path(folder).glob("*.eml"))]  # type: ignore[misc]
