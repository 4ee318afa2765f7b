"""District councils (Rady Dzielnic): ``/councils/<n>`` — the queue of what lies in the
district (map + list), opinions on budget proposals, the council's priorities, and the report
for a council meeting (HTML, print CSS, CSV, GeoPackage, PDF when Chromium is installed).

Everyone may read a council's pages; only the council's members (role ``council`` with
``council_district == n``) and admins record opinions and priorities. Members also see who
wrote each item (the author's display name); the public pages carry no personal data.

The process and its SQL live in civic/councils/; these modules parse, check rights and
render: queue.py, opinions.py, priorities.py, report.py; mail.py mails members about new
items (civic.councils.notify tells them in the app, on the ``content_public`` event).
"""

from __future__ import annotations

from app.councils import mail, opinions, priorities, queue, report  # noqa: F401  (routes)
from app.councils.common import bp


def init_app(app) -> None:
    app.register_blueprint(bp)
    mail.init_app(app)
