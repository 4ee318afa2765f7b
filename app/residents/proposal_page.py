"""The canonical page of a budget proposal and what is done on it besides supporting:
comments (threaded, moderated like consultation comments), the author's edits while the
submission phase is open, the history.

``/proposals/<id>`` (the ``proposals.detail`` endpoint in app/residents/propose.py) renders
:func:`render_detail`; ``/budget/projects/<id>`` and ``/layers/budget-proposals/<id>``
redirect there (308, query string kept). The rules are civic/participation/proposal_page.py
and proposal_comments.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app import engine
from app.auth import current_user, login_required
from app.forms import form_error_json
from app.pb.common import phase_title, state_title
from app.residents import participation_web as pw
from app.security import rate_limit
from app.views import format_value, lang, map_spec
from civic.accounts import Invalid, is_author_or_staff
from civic.participation import consultations as pc
from civic.participation import proposal_comments as pcm
from civic.participation import proposal_page as pp_page
from civic.pb.execution import STATE_TITLES as EXECUTION_TITLES
from civic.pb.feasibility import SENTENCES
from civic.pb.review import CHECKLIST
from layers import registry
from layers.validate import form_max_length

bp = Blueprint("proposal_page", __name__)


def _roles() -> tuple[int | None, tuple[str, ...]]:
    u = current_user()
    return (u.id, tuple(u.roles)) if u else (None, ())


def render_detail(
    proposal_id: int,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
):
    """The page; with ``errors`` (a refused comment or edit) the forms show them."""
    user = current_user()
    uid, roles = _roles()
    with engine().begin() as conn:
        view = pp_page.proposal_page(conn, proposal_id, uid, roles)
    if view is None:
        abort(404, description=_("Nie ma takiego projektu."))
    p = view["p"]
    if not view["public"] and not is_author_or_staff(user, p["author_id"]):
        abort(404, description=_("Nie ma takiego projektu."))
    bounds = (p["west"], p["south"], p["east"], p["north"]) if p["west"] is not None else None
    extra = []
    if view["v"] is not None and view["v"]["feasibility"] is not None:
        ly = registry.get("city-land")
        if ly is not None:
            extra.append(map_spec(ly))
    labels = pw.labels()
    fmap = pw.list_map(
        url_for("proposals.api_proposal", proposal_id=proposal_id),
        bounds,
        {"id": proposal_id},
        extra,
    )
    here = url_for("proposals.detail", proposal_id=proposal_id)
    lng = lang()
    budget_layer = registry.get("budget-proposals")
    props = view.pop("properties")
    layer_facts = [
        {"name": f.name, "title": f.title(lng), "text": format_value(f, props.get(f.name), lng)}
        for f in (budget_layer.public_fields if budget_layer and props else [])
    ]
    ctx = {
        "user": user,
        "can_comment": user is not None and view["public"],
        "supports_label": labels["supporters_label"],
        "errors": errors or {},
        "new_key": lambda: uuid.uuid4().hex,
        "body_max": form_max_length(pc.body_field()),
        "support_url": lambda cid: url_for("proposal_page.support_comment", comment_id=cid),
        "reply_url": url_for("proposal_page.add_comment", proposal_id=proposal_id),
        "flag_table": pcm.TABLE,
        "back_url": here,
    }
    body = render_template(
        "propose/detail.html",
        **view,
        fmap=fmap,
        user=user,
        here=here,
        ctx=ctx,
        form=form or {"form_key": uuid.uuid4().hex},
        errors=errors or {},
        edit_error=pw.form_error(view["edit_refusal"]).messages().get("phase")
        if view["edit_refusal"] is not None
        else None,
        budget_layer=budget_layer,
        layer_facts=layer_facts,
        opinion_districts=[{"number": n} for n in p["districts"] or []],
        execution_titles=EXECUTION_TITLES,
        phase_title=phase_title,
        state_title=state_title,
        checklist_titles=CHECKLIST,
        sentences=SENTENCES,
        comments_total=_count(view["comments"]),
        **labels,
    )
    return body, status


def _count(comments: list[dict[str, Any]]) -> int:
    return sum((1 if c["status"] == "published" else 0) + _count(c["replies"]) for c in comments)


# --------------------------------------------------------------------------- comments


@bp.post("/proposals/<int:proposal_id>/comments")
@login_required
@rate_limit("post", limit=30, per=600)
def add_comment(proposal_id: int):
    user = current_user()
    assert user is not None
    pw.check_form_type(_("Nieobsługiwany typ treści %(type)s: wyślij formularz."))
    form = request.form.to_dict()
    try:
        with engine().begin() as conn:
            comment_id, duplicate, pending = pcm.add_comment(conn, user, proposal_id, form)
    except Invalid as exc:
        if exc.status == 404 and "proposal_id" in exc.errors:
            abort(404, description=_("Nie ma takiego projektu."))
        err = pw.form_error(exc)
        if pw.wants_json():
            return form_error_json(err)
        errors = err.messages()
        if form.get("reply_to"):
            errors = {f"reply-{form['reply_to']}": " ".join(errors.values())}
            form = {}
        return render_detail(proposal_id, errors=errors, form=form, status=err.status)
    here = url_for("proposals.detail", proposal_id=proposal_id) + f"#comment-{comment_id}"
    return pw.comment_added(
        comment_id,
        duplicate,
        pending,
        json_url=here,
        page_url=here,
        messages=(
            _("Ten komentarz został już dodany."),
            _(
                "Komentarz dodany. Pokaże się publicznie, gdy potwierdzisz adres e-mail i sprawdzi go moderator."
            ),
            _("Komentarz dodany. Dziękujemy!"),
        ),
    )


@bp.get("/proposals/comments/<int:comment_id>")
def comment(comment_id: int):
    """A comment's permalink: its place on the proposal's page."""
    with engine().connect() as conn:
        row = pcm.comment_place(conn, comment_id)
    if row is None or (
        row.status != "published" and not is_author_or_staff(current_user(), row.author_id)
    ):
        abort(404, description=_("Nie ma takiego komentarza."))
    return redirect(
        url_for("proposals.detail", proposal_id=row.proposal_id) + f"#comment-{comment_id}"
    )


@bp.post("/proposals/comments/<int:comment_id>/support")
@login_required
@rate_limit("support", limit=60, per=60)
def support_comment(comment_id: int):
    user = current_user()
    assert user is not None
    action = request.form.get("action") if request.mimetype != "application/json" else None
    try:
        with engine().begin() as conn:
            supported, total = pcm.set_support(
                conn, user, comment_id, withdraw=action == "withdraw"
            )
            place = pcm.comment_place(conn, comment_id)
    except Invalid as exc:
        raise pw.api_error(exc) from None
    if request.is_json or pw.wants_json():
        return jsonify({"supported": supported, "supports": total})
    flash(_("Poparłeś(-aś) ten komentarz.") if supported else _("Wycofano poparcie."))
    return redirect(
        url_for("proposals.detail", proposal_id=place.proposal_id) + f"#comment-{comment_id}",
        code=303,
    )


# --------------------------------------------------------------------------- the author's edit


@bp.post("/proposals/<int:proposal_id>/edit")
@login_required
@rate_limit("post", limit=30, per=600)
def edit(proposal_id: int):
    user = current_user()
    assert user is not None
    form = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(form, dict):
        form = {}
    try:
        with engine().begin() as conn:
            done = pp_page.edit(conn, user, proposal_id, form)
    except Invalid as exc:
        if exc.status == 404:
            abort(404, description=_("Nie ma takiego projektu."))
        err = pw.form_error(exc)
        if request.is_json or pw.wants_json():
            return form_error_json(err)
        return render_detail(
            proposal_id,
            errors={f"edit-{k}": v for k, v in err.messages().items()},
            form=form,
            status=err.status,
        )
    if request.is_json or pw.wants_json():
        return jsonify(done)
    flash(_("Zmiany zapisane.") if done["changed"] else _("Nic się nie zmieniło."))
    return redirect(url_for("proposals.detail", proposal_id=proposal_id) + "#history", code=303)
