"""Inicjatywa Lokalna pages: the map and list by status and year, applying, an initiative's
page with its pledge ledger and support list, staff assessment, statuses and pools.
Thin routes over civic/initiatives (all SQL there).

``/initiatives`` map + list · ``/initiatives/apply`` · ``/initiatives/<id>`` (ledger,
pledges, support) · ``/initiatives/<id>/assess``, ``/initiatives/<id>/status``,
``/initiatives/pledges/<id>/delivered`` for staff · ``/initiatives/pools``.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("initiatives", __name__, template_folder="templates")

STAFF = ("official",)  # role_required lets admins in too


def init_app(app: Flask) -> None:
    from app.assets import vendor_url
    from app.initiatives import staff, views  # noqa: F401  (routes)

    app.jinja_env.globals.setdefault("vendor_url", vendor_url)
    app.register_blueprint(bp)
