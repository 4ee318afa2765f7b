"""Budżet Obywatelski on the web (``/budget``): editions, submission, support lists, review,
protests, the ballot list, merges. Routes are thin over civic.pb (which holds the process and
its SQL); app/pb/cli.py has ``civicmap editions …``."""

from __future__ import annotations

from app.pb import pages, residents, staff  # noqa: F401  (routes)
from app.pb.common import bp


def init_app(app) -> None:
    app.register_blueprint(bp)
