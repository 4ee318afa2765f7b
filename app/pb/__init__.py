"""Budżet Obywatelski on the web (``/budget``): editions, submission, support lists, review,
protests, the ballot list, merges. Routes are thin over civic.pb (which holds the process and
its SQL); app/pb/cli.py has ``civicmap editions …``."""

from __future__ import annotations

import re

from flask_babel import gettext

from app.pb import pages, residents, staff  # noqa: F401  (routes)
from app.pb.common import bp

# The names editions get by default (civic.pb.editions, migration 0007): shown translated.
_DEFAULT_TITLE = re.compile(r"^Budżet Obywatelski (?:Krakowa )?(\d{4})$")


def edition_title(title: str) -> str:
    """An edition's name in the reader's language when it is a default one; else as typed."""
    m = _DEFAULT_TITLE.match(title or "")
    return gettext("Budżet Obywatelski Krakowa %(year)s", year=m.group(1)) if m else title


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(edition_title, "edition_title")
