"""Shared form helpers of the web: field errors (shown next to the fields, or as JSON), the
request body as a form or a JSON object, and safe redirects.

``json_body()`` / ``form_or_json()`` (the body as a JSON object or a form, strictly: 415 naming
another content type, 400 ``bad_json``) are defined beside the JSON provider in app/security.py
and re-exported here.

The domain (civic/) raises :class:`civic.accounts.Invalid` — field -> (code, Polish msgid,
parameters); :func:`translated` turns it (or anything of that shape, e.g.
``civic.councils.Invalid``) into a :class:`FormError` in the reader's language, and
:func:`form_error_response` takes either.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app, jsonify, render_template, url_for
from flask_babel import gettext

from app.errors import wants_api
from app.security import FORM_TYPES, form_or_json, json_body  # noqa: F401  (re-exported)
from geo.config import VAR_DIR


class FormError(Exception):
    """Field -> (code, message) for a form; rendered next to the fields, or as JSON."""

    def __init__(self, errors: dict[str, tuple[str, str]], status: int = 400):
        super().__init__(", ".join(errors))
        self.errors = errors  # field -> (code, message)
        self.status = status

    def messages(self) -> dict[str, str]:
        """field -> message, for a form shown again."""
        return {f: m for f, (_c, m) in self.errors.items()}


def translated(exc: Any) -> FormError:
    """A domain error (field -> (code, msgid, params)) as a FormError in the reader's language."""
    if isinstance(exc, FormError):
        return exc
    return FormError(
        {f: (code, gettext(msgid, **params)) for f, (code, msgid, params) in exc.errors.items()},
        status=exc.status,
    )


def field_error(field: str, code: str, message: str, status: int = 400) -> FormError:
    """One field's error (raise it, or gather several with :func:`collect`)."""
    return FormError({field: (code, message)}, status=status)


def collect(*checks: Callable[[], Any]) -> list[Any]:
    """Run every check and gather all field errors at once (a form shows them together)."""
    errors: dict[str, tuple[str, str]] = {}
    values = []
    for check in checks:
        try:
            values.append(check())
        except FormError as exc:
            errors.update(exc.errors)
            values.append(None)
    if errors:
        raise FormError(errors)
    return values


def form_error_json(exc: Any):
    """The JSON answer for field errors: the first as ``error``, all of them under ``fields``."""
    exc = translated(exc)
    field, (code, message) = next(iter(exc.errors.items()))
    return jsonify(
        {
            "error": {
                "code": code,
                "message": message,
                "field": field,
                "fields": {f: {"code": c, "message": m} for f, (c, m) in exc.errors.items()},
            }
        }
    ), exc.status


def form_error_response(exc: Any, template: str, **context):
    """All field errors at once: JSON for scripts, the form again (with messages) for people.
    ``exc`` is a FormError or a domain error of civic/."""
    exc = translated(exc)
    if wants_api():
        return form_error_json(exc)
    return render_template(template, errors=exc.messages(), **context), exc.status


# --- redirects ----------------------------------------------------------------------------------


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only local paths: "/x" yes; "//evil", "https://evil", "/\\evil" no."""
    default = default or url_for("pages.index")
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


def upload_dir() -> Path:
    """Where uploaded photos (proposals', milestones') are kept: UPLOAD_DIR or var/uploads."""
    return Path(current_app.config.get("UPLOAD_DIR") or VAR_DIR / "uploads")
