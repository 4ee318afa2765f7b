"""``/councils/<n>/priorities``: the council's ranking of the district's proposals."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from app import engine
from app.auth import current_user, login_required
from app.councils.common import (
    arg_int,
    bp,
    forbidden,
    found,
    money,
    opinion_title,
    status_title,
    submitted_form,
)
from app.errors import wants_api
from app.forms import field_error, form_error_response
from app.security import rate_limit
from app.views import permalink
from civic import councils
from civic.councils import PROPOSALS
from civic.councils.common import layer

TEMPLATE = "councils/priorities.html"


@bp.get("/<int:number>/priorities")
def priorities(number: int):
    return _priorities(number)


@bp.post("/<int:number>/priorities")
@login_required
@rate_limit("council_priorities", limit=60, per=600)
def save_priorities(number: int):
    if not councils.is_member(current_user(), number):
        return forbidden()
    return _priorities(number)


def _priorities(number: int):
    user = current_user()
    member = councils.is_member(user, number)
    vis = councils.visibility()
    with engine().connect() as conn, found():
        d = councils.district(conn, number)
        page = councils.priorities_page(conn, d, arg_int("edition", 2013, 2100), vis)
    edition, rows = page.edition, page.rows
    for r in rows:
        r["url"] = permalink(layer(PROPOSALS), r["id"])
        r["cost_text"] = money(r["cost"])
        r["status_title"] = status_title("proposals", r["status"])
        r["opinion_title"] = opinion_title(r["opinion"])
    ctx = {"d": d, "edition": edition, "editions": page.editions, "rows": rows, "member": member}
    if request.method == "GET":
        form = {f"rank-{r['id']}": r["rank"] or "" for r in rows}
        return render_template(TEMPLATE, form=form, errors={}, **ctx)
    form = submitted_form()
    if edition is None:
        abort(404, description=gettext("W tej dzielnicy nie ma projektów do uszeregowania."))
    assert user is not None
    try:
        with engine().begin() as conn:
            ranks = councils.save_priorities(
                conn, number, edition, form, [r["id"] for r in rows], user.id, vis
            )
    except councils.Invalid as exc:
        return form_error_response(exc, TEMPLATE, form=form, **ctx)
    except councils.Stale:
        return form_error_response(
            field_error("ranks", "stale", gettext("Lista projektów zmieniła się. Odśwież stronę.")),
            TEMPLATE,
            form=form,
            **ctx,
        )
    if wants_api():
        return jsonify({"district": number, "edition": edition, "ranks": ranks})
    flash(
        ngettext(
            "Zapisano kolejność %(num)d projektu.",
            "Zapisano kolejność %(num)d projektów.",
            len(ranks),
        )
    )
    return redirect(url_for("councils.priorities", number=number, edition=edition))
