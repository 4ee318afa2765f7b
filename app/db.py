"""The web side's database handle: the engine create_app made for this application.

Importing this module binds ``app.db`` in the app package, where app/__init__.py also calls
geo.db as ``db`` (``db.database_url()``, ``db.engine(url)``, ``db.versions(url)``); so this
module answers those three the same way (a URL given: geo.db's engine for it).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import Engine

from geo import db as _geo_db
from geo.db import database_url, versions  # noqa: F401  (see the docstring)


def engine(url: str | None = None) -> Engine:
    """The application's SQLAlchemy engine (``app.extensions["engine"]``)."""
    if url is not None:
        return _geo_db.engine(url)
    return current_app.extensions["engine"]
