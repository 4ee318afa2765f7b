"""NGO pages: find an organisation (map + list), profiles, claims, members' editing, places,
the moderators' queue of claims. Thin routes over civic/ngos (all SQL there).

``/ngos`` find · ``/ngos/<id>`` a profile · ``/ngos/claim`` claim or create ·
``/ngos/claim/confirm/<token>`` the contact e-mail's link · ``/ngos/<id>/edit``,
``/ngos/<id>/places/new``, ``/ngos/<id>/members`` for members · ``/ngos/moderation`` claims.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("ngos", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.assets import vendor_url
    from app.ngos import manage, views  # noqa: F401  (routes)

    app.jinja_env.globals.setdefault("vendor_url", vendor_url)
    app.register_blueprint(bp)
