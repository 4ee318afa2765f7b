"""Field errors of the participation processes, in the house's form: ``civic.accounts.Invalid``
(field -> (code, Polish msgid, parameters)), translated by the web when shown.

A parameter may itself need translating (a form label, a geometry's reason): it is then a
:class:`Msg`, a ``str`` holding the Polish text that also remembers its msgid and parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from civic.accounts import Invalid


class Msg(str):
    """A msgid with its parameters; as a plain ``str`` it is the Polish text."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Msg:
        obj = super().__new__(cls, msgid % params if params else msgid)
        obj.msgid, obj.params = msgid, params
        return obj


def field_error(field: str, code: str, message: Msg | str, status: int = 400) -> Invalid:
    """One field's error from a Msg (or a plain Polish sentence)."""
    if isinstance(message, Msg):
        return Invalid({field: (code, message.msgid, message.params)}, status=status)
    return Invalid({field: (code, str(message), {})}, status=status)


class Collector:
    """Gathers the errors of several checks (the first per field), to report them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, tuple[str, str, dict[str, Any]]] = {}

    def attempt(self, fn: Callable[[], Any], default: Any = None) -> Any:
        try:
            return fn()
        except Invalid as exc:
            self.merge(exc)
            return default

    def merge(self, exc: Invalid) -> None:
        for k, v in exc.errors.items():
            self.errors.setdefault(k, v)

    def add(self, field: str, code: str, message: Msg) -> None:
        self.errors.setdefault(field, (code, message.msgid, message.params))

    def __contains__(self, field: str) -> bool:
        return field in self.errors

    def raise_if_any(self) -> None:
        if self.errors:
            raise Invalid(self.errors)
