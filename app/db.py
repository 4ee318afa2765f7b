"""The web side's database handle: the engine create_app made for this application."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import Engine


def engine() -> Engine:
    """The application's SQLAlchemy engine (``app.extensions["engine"]``)."""
    return current_app.extensions["engine"]
