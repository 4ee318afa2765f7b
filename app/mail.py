"""Outgoing mail for the web: the settings from the app's configuration; the sending itself
is :mod:`civic.mail` (SMTP, or the outbox folder of .eml files).

Settings (environment, read by create_app's CIVICMAP_ prefix):
CIVICMAP_SMTP_HOST, CIVICMAP_SMTP_PORT (587), CIVICMAP_SMTP_USER, CIVICMAP_SMTP_PASSWORD,
CIVICMAP_SMTP_TLS ("starttls" | "ssl" | "none", default starttls), CIVICMAP_MAIL_FROM,
CIVICMAP_MAIL_OUTBOX (default var/outbox; a temporary folder under tests).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from civic import mail
from civic.mail import read_outbox  # noqa: F401  (tests and the CLI read the outbox from here)


def init_app(app: Flask) -> None:
    if not app.config.get("MAIL_OUTBOX"):
        if app.testing:
            import tempfile

            app.config["MAIL_OUTBOX"] = tempfile.mkdtemp(prefix="civicmap-outbox-")
        else:
            from geo.config import VAR_DIR

            app.config["MAIL_OUTBOX"] = str(VAR_DIR / "outbox")
    app.config.setdefault("MAIL_FROM", mail.DEFAULT_FROM)


def outbox_dir(app: Flask | None = None) -> Path:
    return Path((app or current_app).config["MAIL_OUTBOX"])


def settings(app: Flask | None = None) -> mail.MailSettings:
    cfg = (app or current_app).config
    return mail.MailSettings(
        outbox=Path(cfg["MAIL_OUTBOX"]),
        mail_from=cfg.get("MAIL_FROM") or mail.DEFAULT_FROM,
        smtp_host=cfg.get("SMTP_HOST") or None,
        smtp_port=int(cfg.get("SMTP_PORT") or 587),
        smtp_tls=str(cfg.get("SMTP_TLS") or "starttls"),
        smtp_user=cfg.get("SMTP_USER") or None,
        smtp_password=cfg.get("SMTP_PASSWORD") or None,
    )


def send_mail(to: str, subject: str, body: str) -> Path | None:
    """Send one plain-text message with this app's settings (see :func:`civic.mail.send_mail`)."""
    return mail.send_mail(settings(), to, subject, body)
