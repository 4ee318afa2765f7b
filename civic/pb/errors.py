"""The one error of the budget process: a rule refused an action.

``code`` is machine-readable, ``field`` names the input or the rule, ``message`` is a Polish
msgid with ``%(name)s`` placeholders (the web translates it and fills in ``params``), and
``status`` the HTTP status the web answers with (always 4xx). Raised before any row changes, or
inside the caller's transaction, which then rolls back: a refused action changes no row.
"""

from __future__ import annotations

from typing import Any


class PbError(Exception):
    def __init__(
        self, code: str, field: str, message: str, status: int = 400, **params: Any
    ) -> None:
        super().__init__(f"{field}: {code}: {message % params if params else message}")
        self.code = code
        self.field = field
        self.message = message
        self.status = status
        self.params = params

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "field": self.field,
            "message": self.message % self.params if self.params else self.message,
            "params": {k: str(v) for k, v in self.params.items()},
        }
