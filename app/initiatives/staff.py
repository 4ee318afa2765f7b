"""The city's staff: assessment, statuses (mailed to the applicants), deliveries, pools."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from app.auth import current_user, external_url, role_required
from app.errors import wants_api
from app.initiatives import STAFF, bp
from app.initiatives.views import _back, _json, pln, state_titles
from app.ngos.web import engine, error_response, read_form, send
from civic.initiatives import applications as apps
from civic.initiatives import assessment, ledger
from civic.initiatives.applications import Transition
from civic.ngos.common import Invalid


def _staff_id() -> int:
    user = current_user()
    assert user is not None
    return user.id


def mail_transition(tr: Transition | None) -> int:
    """E-mail each applicant about a status change (after the commit); returns how many."""
    if tr is None:
        return 0
    status = state_titles().get(tr.status, tr.status)
    link = external_url("initiatives.detail", initiative_id=tr.initiative_id)
    extra = ""
    if tr.waiting:
        extra = _(
            "Wkład miasta nie mieści się w tegorocznej puli: inicjatywa czeka na pulę roku "
            "%(year)s.",
            year=tr.pool_year,
        )
    sent = 0
    for email, name in tr.recipients:
        parts = [
            _("Dzień dobry %(name)s,", name=name),
            _(
                "inicjatywa lokalna „%(title)s” ma nowy status: %(status)s.",
                title=tr.title,
                status=status,
            ),
        ]
        if tr.reason:
            parts.append(_("Uzasadnienie: %(reason)s", reason=tr.reason))
        if extra:
            parts.append(extra)
        parts.append(_("Szczegóły: %(link)s", link=link))
        body = "\n\n".join(parts)
        subject = _("Inicjatywa lokalna: %(status)s — Civic Map Kraków", status=status)
        sent += bool(send(email, subject, body))
    return sent


@bp.post("/initiatives/<int:initiative_id>/assess")
@role_required(*STAFF)
def assess(initiative_id: int):
    form = read_form()
    try:
        with engine().begin() as conn:
            total, moved = apps.score(conn, initiative_id, _staff_id(), form)
    except Invalid as exc:
        return error_response(exc)
    mail_transition(moved)
    passed = total >= assessment.PASS_MARK
    message = (
        _("Ocena: %(total)d/100.", total=total)
        + " "
        + (_("Wniosek przekroczył próg.") if passed else _("Wniosek nie osiągnął progu."))
    )
    return _back(initiative_id, message, total=total, passed=passed)


@bp.post("/initiatives/<int:initiative_id>/status")
@role_required(*STAFF)
def status(initiative_id: int):
    form = read_form()
    try:
        with engine().begin() as conn:
            tr = apps.change_status(
                conn, initiative_id, _staff_id(), form.get("status"), form.get("reason")
            )
    except Invalid as exc:
        return error_response(exc)
    mailed = mail_transition(tr)
    message = _("Nowy status: %(status)s.", status=state_titles()[tr.status])
    if tr.waiting:
        message += " " + _("Inicjatywa czeka na pulę roku %(year)s.", year=tr.pool_year)
    return _back(
        initiative_id,
        message,
        status=tr.status,
        pool_year=tr.pool_year,
        waiting=tr.waiting,
        mailed=mailed,
    )


@bp.post("/initiatives/pledges/<int:pledge_id>/delivered")
@role_required(*STAFF)
def delivered(pledge_id: int):
    form = read_form()
    try:
        with engine().begin() as conn:
            done = ledger.mark_delivered(conn, pledge_id, _staff_id(), form.get("delivered"))
    except Invalid as exc:
        return error_response(exc)
    return _back(
        done["initiative_id"], _("Oznaczono jako wniesione."), delivered=str(done["delivered"])
    )


def _pools_page(form: dict[str, Any], errors: dict[str, str], status: int = 200):
    with engine().connect() as conn:
        pools = assessment.pools(conn)
        waiting = assessment.waiting(conn)
    return (
        render_template(
            "initiatives/pools.html",
            pools=pools,
            waiting=waiting,
            form=form,
            errors=errors,
            pln=pln,
        ),
        status,
    )


@bp.get("/initiatives/pools")
@role_required(*STAFF)
def pools():
    if wants_api():
        with engine().connect() as conn:
            return _json({"pools": assessment.pools(conn), "waiting": assessment.waiting(conn)})
    return _pools_page({}, {})


@bp.post("/initiatives/pools")
@role_required(*STAFF)
def pools_post():
    form = read_form()
    try:
        with engine().begin() as conn:
            year = assessment.set_pool(conn, _staff_id(), form)
    except Invalid as exc:
        if wants_api():
            return error_response(exc)
        with engine().connect() as conn:
            ctx = {"pools": assessment.pools(conn), "waiting": assessment.waiting(conn)}
        return error_response(exc, "initiatives/pools.html", form=form, pln=pln, **ctx)
    if wants_api():
        return _json({"year": year}), 201
    flash(_("Zapisano pulę na rok %(year)s.", year=year))
    return redirect(url_for("initiatives.pools"))
