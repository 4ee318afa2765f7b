"""Errors as clear 4xx answers: JSON for the API, a page for people. Never a bare 500."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

RETRY_AFTER = "5"


class ApiError(Exception):
    """A client error with a machine-readable code and the field it concerns."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def to_dict(self) -> dict:
        err = {"code": self.code, "message": self.message}
        if self.field:
            err["field"] = self.field
        return {"error": err}


def wants_json() -> bool:
    return (
        request.path.startswith(("/api/", "/ogc"))
        or request.accept_mimetypes.best == "application/json"
    )


def wants_api() -> bool:
    """An API call or a script: JSON asked for, or a JSON body sent."""
    return wants_json() or request.is_json


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(exc.to_dict()), exc.status

    def _db_away(exc):
        # the database is away (stopped, restarting, pool exhausted): 503, not 500 (issue 14.2).
        # The page does not extend base.html: that would ask the database who is signed in.
        from flask import current_app
        from flask_babel import gettext

        current_app.logger.warning("database unavailable: %s", str(exc).splitlines()[0][:200])
        msg = gettext("Baza danych jest chwilowo niedostępna. Spróbuj ponownie za chwilę.")
        headers = {"Retry-After": RETRY_AFTER, "Cache-Control": "no-store"}
        if wants_api():
            body = {"error": {"code": "database_unavailable", "message": msg}}
            return jsonify(body), 503, headers
        html = render_template("db_away.html", message=msg)
        return html, 503, headers

    for exc_type in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(exc_type, _db_away)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        # the exception's own headers (405: Allow; 401: WWW-Authenticate …), not its body's type
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if wants_json():
            body = {
                "error": {"code": exc.name.lower().replace(" ", "_"), "message": exc.description}
            }
            return jsonify(body), exc.code, headers
        return render_template("error.html", error=exc), exc.code, headers
