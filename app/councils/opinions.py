"""``/councils/<n>/proposals/<id>/opinion``: a council's opinion on a budget proposal, and the
opinions shown on the proposal's own page (an include in layers/feature.html)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext

from app import engine
from app.auth import current_user, login_required
from app.councils.common import (
    bp,
    forbidden,
    found,
    money,
    opinion_title,
    submitted_form,
)
from app.errors import wants_api
from app.forms import form_error_response
from app.security import rate_limit
from app.views import permalink
from civic import councils
from civic.councils import OPINIONS, PROPOSALS
from civic.councils.common import layer


@bp.route("/<int:number>/proposals/<int:proposal_id>/opinion", methods=["GET", "POST"])
@login_required
@rate_limit("council_opinion", limit=60, per=600)
def opinion(number: int, proposal_id: int):
    user = current_user()
    if not councils.is_member(user, number):
        return forbidden()
    with engine().connect() as conn, found():
        page = councils.opinion_page(conn, number, proposal_id, councils.visibility())
    proposal, current = page.proposal, page.current
    ctx = {
        "d": page.district,
        "proposal": proposal,
        "proposal_url": permalink(layer(PROPOSALS), proposal_id),
        "cost": money(proposal["cost"]),
        "current": current,
        "opinion_titles": {k: opinion_title(k) for k in OPINIONS},
        "today": dt.date.today().isoformat(),
    }
    if request.method == "GET":
        form = {}
        if current:
            form = {**current, "resolution_date": str(current["resolution_date"])}
        return render_template("councils/opinion.html", form=form, errors={}, **ctx)
    form = submitted_form()
    try:
        with engine().begin() as conn:
            w, given = councils.give_opinion(
                conn, proposal_id=proposal_id, district=number, form=form, author_id=user.id
            )
    except councils.Invalid as exc:
        return form_error_response(exc, "councils/opinion.html", form=form, **ctx)
    if wants_api():
        body = {
            "opinion": {
                "id": w.id,
                "proposal_id": proposal_id,
                "district": number,
                "opinion": given.opinion,
                "justification": given.justification,
                "resolution_date": given.resolution_date.isoformat(),
                "resolution_ref": given.resolution_ref,
                "replaced": not w.created,
            }
        }
        return jsonify(body), 201 if w.created else 200
    flash(gettext("Opinia rady zapisana.") if w.created else gettext("Opinia rady zmieniona."))
    return redirect(permalink(layer(PROPOSALS), proposal_id))


@bp.app_template_global("council_opinions")
def council_opinions(layer_name: str, feature_id: int) -> list[dict[str, Any]]:
    """The councils' public opinions on a budget proposal, for its permalink page."""
    if layer_name != PROPOSALS:
        return []
    with engine().connect() as conn:
        ops = councils.opinions_for(conn, [int(feature_id)]).get(int(feature_id), [])
    for o in ops:
        o["roman"] = councils.roman(o["district"])
        o["opinion_title"] = opinion_title(o["opinion"])
        o["council_url"] = url_for("councils.queue", number=o["district"])
    return ops


@bp.app_template_global("council_opinion_links")
def council_opinion_links(layer_name: str, districts: list[int]) -> list[dict[str, Any]]:
    """For a council member viewing a proposal of their district: where to record an opinion."""
    user = current_user()
    if layer_name != PROPOSALS or user is None:
        return []
    return [
        {"district": n, "roman": councils.roman(n)}
        for n in districts or []
        if councils.is_member(user, int(n))
    ]
