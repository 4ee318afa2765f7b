"""Mails in the development outbox carry confirmation and reset links: owner-only files."""

from __future__ import annotations

import stat

from civic.mail import MailSettings, read_outbox, send_mail


def test_outbox_mail_is_readable_by_the_owner_only(tmp_path):
    folder = tmp_path / "outbox"
    path = send_mail(
        MailSettings(outbox=folder), "ala@example.org", "Potwierdź konto", "http://x/confirm/t"
    )
    assert path is not None and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    [msg] = read_outbox(folder)
    assert msg["Subject"] == "Potwierdź konto"
