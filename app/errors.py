"""Errors as clear 4xx answers: JSON for the API, a page for people. Never a bare 500."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


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

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if wants_json():
            body = {
                "error": {"code": exc.name.lower().replace(" ", "_"), "message": exc.description}
            }
            return jsonify(body), exc.code
        return render_template("error.html", error=exc), exc.code
