"""Outgoing mail: SMTP in production, an outbox folder of .eml files in development.

Settings (environment, read by create_app's CIVICMAP_ prefix):
CIVICMAP_SMTP_HOST, CIVICMAP_SMTP_PORT (587), CIVICMAP_SMTP_USER, CIVICMAP_SMTP_PASSWORD,
CIVICMAP_SMTP_TLS ("starttls" | "ssl" | "none", default starttls), CIVICMAP_MAIL_FROM,
CIVICMAP_MAIL_OUTBOX (default var/outbox; a temporary folder under tests).
Without CIVICMAP_SMTP_HOST every message is written to the outbox and its path and text are
logged, so a developer can follow a confirmation link.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
import time
from datetime import UTC
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import Flask, current_app

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    if not app.config.get("MAIL_OUTBOX"):
        if app.testing:
            import tempfile

            app.config["MAIL_OUTBOX"] = tempfile.mkdtemp(prefix="civicmap-outbox-")
        else:
            from geo.config import VAR_DIR

            app.config["MAIL_OUTBOX"] = str(VAR_DIR / "outbox")
    app.config.setdefault("MAIL_FROM", "Civic Map Kraków <no-reply@localhost>")


def outbox_dir(app: Flask | None = None) -> Path:
    return Path((app or current_app).config["MAIL_OUTBOX"])


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(_now())
    msg["Message-ID"] = make_msgid(domain="civicmap.local")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


def _now():
    from datetime import datetime

    return datetime.now(UTC)


def send_mail(to: str, subject: str, body: str) -> Path | None:
    """Send one plain-text message; returns the outbox file when no SMTP host is set."""
    msg = build_message(to, subject, body)
    cfg = current_app.config
    host = cfg.get("SMTP_HOST")
    if host:
        port = int(cfg.get("SMTP_PORT") or 587)
        mode = str(cfg.get("SMTP_TLS") or "starttls").lower()
        context = ssl.create_default_context()
        if mode == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, context=context, timeout=20)
        else:
            smtp = smtplib.SMTP(host, port, timeout=20)
        with smtp:
            if mode == "starttls":
                smtp.starttls(context=context)
            if cfg.get("SMTP_USER"):
                smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
            smtp.send_message(msg)
        log.info("mail to %s sent via %s: %s", _mask(to), host, subject)
        return None
    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    ns = time.time_ns()
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{ns % 10**9:09d}-{secrets.token_hex(3)}.eml"
    path.write_bytes(bytes(msg))
    log.warning("no SMTP host set: mail to %s written to %s\n%s", to, path, body)
    return path


def _mask(address: str) -> str:
    """The log of a production server needs no full addresses."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def read_outbox(folder: Path) -> list[EmailMessage]:
    """The messages in an outbox folder, oldest first (for tests and the CLI)."""
    from email import policy
    from email.parser import BytesParser

    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]  # type: ignore[misc]
