"""What the NGO and local-initiative processes share: the field error, text and number checks.

``Invalid`` carries a machine-readable code, the field it concerns and a Polish msgid with
its parameters (marked with N_); the web translates it when it answers (a 4xx naming the
field). Every check runs before anything is written, and every write runs in the caller's
transaction, so a refused request changes no row.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from civic import N_

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]{2,}$")
_WEBSITE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)


class Invalid(ValueError):
    """Bad input for one field: ``status`` 400 (malformed) / 409 (not now) / 404 / 403."""

    def __init__(self, field: str, code: str, msgid: str, status: int = 400, **params: Any):
        super().__init__(msgid % params if params else msgid)
        self.field, self.code, self.msgid, self.status, self.params = (
            field,
            code,
            msgid,
            status,
            params,
        )


def clean_text(
    raw: Any, field: str, *, max_len: int, required: bool = False, multiline: bool = True
) -> str | None:
    """Trimmed text without control characters; None when empty and optional."""
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise Invalid(field, "invalid", N_("Pole „%(label)s” musi być tekstem."), label=field)
    value = raw.replace("\r\n", "\n").strip()
    if not multiline:
        value = " ".join(value.split())
    value = _CONTROL.sub("", value)
    if not value:
        if required:
            raise Invalid(field, "required", N_("Pole „%(label)s” jest wymagane."), label=field)
        return None
    if len(value) > max_len:
        raise Invalid(
            field,
            "too_long",
            N_("Pole „%(label)s” może mieć najwyżej %(n)d znaków."),
            label=field,
            n=max_len,
        )
    return value


def clean_email(raw: Any, field: str, *, required: bool = True) -> str | None:
    value = clean_text(raw, field, max_len=254, required=required, multiline=False)
    if value is None:
        return None
    if not _EMAIL.match(value):
        raise Invalid(
            field, "invalid_email", N_("„%(label)s”: to nie jest adres e-mail."), label=field
        )
    return value


def clean_website(raw: Any, field: str = "website") -> str | None:
    value = clean_text(raw, field, max_len=300, multiline=False)
    if value is None:
        return None
    if not value.lower().startswith(("http://", "https://")):
        value = "https://" + value
    if not _WEBSITE.match(value):
        raise Invalid(field, "invalid_url", N_("Adres strony WWW jest niepoprawny."))
    return value


def clean_number(
    raw: Any,
    field: str,
    *,
    required: bool = True,
    minimum: Decimal | None = Decimal(0),
    maximum: Decimal | None = None,
    exclusive_minimum: bool = False,
    places: int = 2,
) -> Decimal | None:
    """A decimal number (``12,5`` or ``12.5``; spaces as thousands separators allowed)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise Invalid(field, "required", N_("Pole „%(label)s” jest wymagane."), label=field)
        return None
    if isinstance(raw, bool):
        raise Invalid(field, "not_a_number", N_("„%(label)s” musi być liczbą."), label=field)
    text_value = str(raw).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    text_value = text_value.removesuffix("zł").removesuffix("PLN")
    try:
        value = Decimal(text_value)
    except (InvalidOperation, ValueError):
        raise Invalid(
            field, "not_a_number", N_("„%(label)s” musi być liczbą."), label=field
        ) from None
    if not value.is_finite():
        raise Invalid(field, "not_a_number", N_("„%(label)s” musi być liczbą."), label=field)
    if minimum is not None and (value < minimum or (exclusive_minimum and value == minimum)):
        raise Invalid(
            field,
            "out_of_range",
            N_("„%(label)s” musi być większe od %(min)s.")
            if exclusive_minimum
            else N_("„%(label)s” nie może być mniejsze od %(min)s."),
            label=field,
            min=minimum,
        )
    if maximum is not None and value > maximum:
        raise Invalid(
            field,
            "out_of_range",
            N_("„%(label)s” nie może być większe od %(max)s."),
            label=field,
            max=maximum,
        )
    return value.quantize(Decimal(1).scaleb(-places))


def clean_int(raw: Any, field: str, *, minimum: int, maximum: int, required: bool = True):
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise Invalid(field, "required", N_("Pole „%(label)s” jest wymagane."), label=field)
        return None
    if isinstance(raw, bool) or not re.fullmatch(r"[+-]?\d{1,9}", str(raw).strip()):
        raise Invalid(
            field, "not_an_integer", N_("„%(label)s” musi być liczbą całkowitą."), label=field
        )
    value = int(str(raw).strip())
    if not minimum <= value <= maximum:
        raise Invalid(
            field,
            "out_of_range",
            N_("„%(label)s” musi być liczbą od %(min)d do %(max)d."),
            label=field,
            min=minimum,
            max=maximum,
        )
    return value


def clean_choices(raw: Any, field: str, allowed: dict[str, Any] | tuple[str, ...]) -> list[str]:
    """A list of codes (or one ``;``/``,``-separated string) that must all be known."""
    if raw is None or raw == "":
        return []
    values = raw if isinstance(raw, list | tuple) else re.split(r"[;,]", str(raw))
    out: list[str] = []
    for v in values:
        if not isinstance(v, str):
            raise Invalid(field, "invalid", N_("Pole „%(label)s” musi być tekstem."), label=field)
        v = v.strip()
        if not v:
            continue
        if v not in allowed:
            raise Invalid(
                field,
                "unknown_choice",
                N_("„%(label)s”: nieznana wartość „%(value)s”."),
                label=field,
                value=v[:40],
            )
        if v not in out:
            out.append(v)
    return out


def clean_districts(raw: Any, field: str, count: int) -> list[int]:
    if raw is None or raw == "":
        return []
    values = raw if isinstance(raw, list | tuple) else re.split(r"[;, ]+", str(raw))
    out = sorted({clean_int(v, field, minimum=1, maximum=count) for v in values if str(v).strip()})
    return [v for v in out if v is not None]


# --- KRS -------------------------------------------------------------------------------------

KRS_RE = re.compile(r"^\d{10}$")


def normalise_krs(raw: Any, field: str = "krs") -> str:
    """``"KRS 0000-123-456"`` -> ``"0000123456"``.

    The KRS number has no check digit: the National Court Register assigns the numbers in
    sequence (ustawa o Krajowym Rejestrze Sądowym, art. 15), zero-padded to ten digits; unlike
    NIP, REGON or PESEL there is no checksum to verify. So the rule is the format: exactly ten
    digits, and not 0000000000 (numbering starts at 1).
    """
    if raw is None or not str(raw).strip():
        raise Invalid(field, "required", N_("Podaj numer KRS (10 cyfr)."))
    text_value = re.sub(r"^\s*krs[:\s]*", "", str(raw), flags=re.IGNORECASE)
    digits = re.sub(r"[\s\-.]", "", text_value)
    if not KRS_RE.match(digits) or digits == "0000000000":
        raise Invalid(field, "invalid_krs", N_("Numer KRS musi mieć dokładnie 10 cyfr."))
    return digits
