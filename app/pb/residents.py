"""What residents do in an edition: submit a project, sign a support list, correct a formal
gap, protest a rejection, withdraw, propose and confirm a merge. Thin: parse, one civic.pb
call, answer."""

from __future__ import annotations

from flask import render_template, url_for

from app.auth import current_user, login_required
from app.db import engine
from app.pb.common import act, bp, form, form_list, local_back, refused, send_mails
from app.pb.pages import _helpers
from civic import N_
from civic.pb import merges, protests, review, submission, support
from civic.pb.errors import PbError
from civic.pb.workflow import take_mails
from layers.budget_proposals import CATEGORY_TITLES


def _project(pid: int) -> str:
    return url_for("proposals.detail", proposal_id=pid)


def _submit_new(conn, year: int, user_id: int, data: dict) -> int:
    # the edition page's own submission form: check, insert a draft, submit it
    edition = submission.open_edition_for_submission(conn)
    if edition.year != year:
        raise PbError("phase_closed", "edition", N_("Nabór tej edycji jest zamknięty."), 409)
    clean = submission.check_submission(conn, edition, data)
    wkt = None
    if data.get("lon") and data.get("lat"):
        try:
            wkt = f"POINT({float(data['lon'])} {float(data['lat'])})"
        except ValueError:
            raise PbError("not_a_number", "lon", N_("Współrzędne muszą być liczbami.")) from None
    pid = submission.create_proposal(conn, edition, user_id, clean, wkt)
    submission.submit(conn, pid, user_id)
    return pid


@bp.route("/<int:year>/submit", methods=["GET", "POST"])
@login_required
def submit(year: int):
    from flask import request

    ctx = {"year": year, "categories": CATEGORY_TITLES, **_helpers()}
    if request.method == "GET":
        return render_template("pb/submit.html", form={}, error=None, **ctx)
    data = form()
    try:
        with engine().begin() as conn:
            pid = _submit_new(conn, year, current_user().id, data)
            mails = take_mails(conn)
    except PbError as exc:
        if request.is_json:
            return refused(exc)
        from app.pb.common import message

        return render_template(
            "pb/submit.html", form=data, error=exc, error_text=message(exc), **ctx
        ), exc.status
    send_mails(mails)
    if request.is_json:
        return {"ok": True, "id": pid}, 201
    from flask import redirect

    return redirect(_project(pid), code=303)


@bp.post("/projects/<int:proposal_id>/support")
@login_required
def sign(proposal_id: int):
    data = form()
    district = data.get("district")
    return act(
        support.sign,
        proposal_id,
        current_user().id,
        str(data.get("declared_residency", "")).lower() in ("1", "on", "true", "yes"),
        int(district) if str(district or "").isdigit() else None,
        back=_project(proposal_id),
    )


@bp.post("/projects/<int:proposal_id>/correct")
@login_required
def correct(proposal_id: int):
    data = form()
    fields = {k: data.get(k) for k in ("title", "description", "category", "cost")}
    return act(review.correct, proposal_id, current_user().id, fields, back=_project(proposal_id))


@bp.post("/projects/<int:proposal_id>/protest")
@login_required
def protest(proposal_id: int):
    return act(
        protests.file_protest,
        proposal_id,
        current_user().id,
        form().get("justification", ""),
        back=_project(proposal_id),
    )


@bp.post("/projects/<int:proposal_id>/withdraw")
@login_required
def withdraw(proposal_id: int):
    return act(
        merges.withdraw,
        proposal_id,
        current_user().id,
        form().get("reason"),
        back=_project(proposal_id),
    )


@bp.post("/<int:year>/merges")
@login_required
def propose_merge(year: int):
    data = form()
    ids = [int(x) for x in form_list("proposals") if str(x).isdigit()]
    back = _project(ids[0]) if ids else url_for("pb.edition", year=year)
    return act(
        merges.propose_merge,
        year,
        ids,
        current_user().id,
        data.get("title", ""),
        data.get("description"),
        back=back,
    )


@bp.post("/merges/<int:merge_id>/confirm")
@login_required
def confirm_merge(merge_id: int):
    back = local_back(form(), url_for("pb.index"))
    return act(merges.confirm_merge, merge_id, current_user().id, back=back)
