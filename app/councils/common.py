"""The councils' blueprint and what its routes share: the domain's answers in the reader's
language (opinion titles, statuses, money, "not found"). Field errors (civic's Invalid) go to
app.forms.form_error_response as they are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, abort, request
from flask_babel import gettext

from app.auth import deny
from app.views import choice_title, format_value, lang
from civic import councils
from layers.base import Field

bp = Blueprint("councils", __name__, url_prefix="/councils")

PAGE_SIZE = 25


def opinion_title(value: str | None) -> str:
    return gettext(councils.OPINION_TITLES[value]) if value in councils.OPINION_TITLES else ""


def status_title(kind: str, status: str) -> str:
    ly = councils.common.layer(councils.PROPOSALS if kind == "proposals" else councils.COMMENTS)
    return choice_title(ly.field(ly.status_field or "status"), status, lang())


def money(value: float | None) -> str:
    return format_value(Field("cost", "money", {}), value, lang()) if value is not None else ""


def arg_int(name: str, lo: int, hi: int) -> int | None:
    """An integer query parameter in [lo, hi]; anything else is a 400 naming it."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        abort(
            400,
            description=gettext(
                "Parametr „%(name)s” musi być liczbą od %(lo)s do %(hi)s.", name=name, lo=lo, hi=hi
            ),
        )
    return int(raw)


@contextmanager
def found() -> Iterator[None]:
    """A district or proposal the domain did not find is a 404 saying which."""
    try:
        yield
    except councils.NotFound as exc:
        if exc.what == "district":
            abort(404, description=gettext("Nie ma dzielnicy nr %(n)s.", n=exc.number))
        abort(404, description=gettext("W tej dzielnicy nie ma takiego projektu."))


def forbidden() -> Any:
    return deny(
        403,
        "forbidden",
        gettext("Opinie i priorytety zapisują tylko członkowie rady tej dzielnicy."),
    )


def submitted_form() -> dict[str, Any]:
    if request.is_json:
        from app.security import json_body

        return json_body()
    return request.form.to_dict()
