"""Staff of the budget: editions (create, rules, pools, schedule, advance a phase), the review
queue, formal review, paper support lists, the unit, merit review (verifiers of the unit),
protest hearings, publishing the ballot list, the feasibility pre-check as JSON."""

from __future__ import annotations

from datetime import date

from flask import abort, jsonify, render_template, request, url_for

from app.auth import current_user, login_required, role_required
from app.db import engine
from app.pb.common import act, bp, form, form_list, local_back, me, refused
from app.pb.pages import _helpers
from civic import N_
from civic.pb import ballot_list, editions, phases, protests, review, support
from civic.pb import pages as pbp
from civic.pb.errors import PbError

STAFF = ("official", "admin")


def _project(pid: int) -> str:
    return url_for("proposals.detail", proposal_id=pid)


def _date(raw: str | None, field: str) -> date:
    try:
        return date.fromisoformat(str(raw or ""))
    except ValueError:
        raise PbError("bad_date", field, N_("Podaj datę w formacie RRRR-MM-DD.")) from None


@bp.route("/admin/new", methods=["GET", "POST"])
@role_required("admin")
def new_edition():
    if request.method == "GET":
        return render_template("pb/admin_new.html", error_text=None, **_helpers())
    data = form()
    raw = str(data.get("year") or "")
    if not raw.isdigit():
        return refused(
            PbError("not_a_number", "year", N_("Rok edycji musi być między 2013 a 2100."))
        )
    year = int(raw)
    rules = {k: data.get(k) for k in editions.RULE_FIELDS}
    return act(
        lambda conn: (
            editions.create_edition(
                conn, year, current_user().id, title=data.get("title"), rules=rules
            ).year
        ),
        back=url_for("pb.new_edition"),
        done=url_for("pb.admin_edition", year=year),
    )


def _save_edition(conn, year: int, actor: int, data: dict) -> int:
    rules = {k: data.get(k) for k in editions.RULE_FIELDS}
    editions.update_edition(conn, year, actor, title=data.get("title"), rules=rules)
    for phase in phases.PHASES:
        s, f = data.get(f"{phase}.starts_on"), data.get(f"{phase}.ends_on")
        if s or f:
            phases.set_phase(
                conn,
                year,
                phase,
                _date(s, f"{phase}.starts_on"),
                _date(f, f"{phase}.ends_on"),
                actor,
            )
    for p in editions.pools(conn, year):
        key = f"pool.{p.district}"
        if f"{key}.budget" in data:
            editions.set_pool(
                conn,
                year,
                p.scope,
                p.district,
                data.get(f"{key}.budget"),
                data.get(f"{key}.min_cost"),
                data.get(f"{key}.max_cost"),
                actor,
            )
    return year


@bp.route("/<int:year>/admin", methods=["GET", "POST"])
@role_required("admin")
def admin_edition(year: int):
    if request.method == "POST":
        return act(
            _save_edition,
            year,
            current_user().id,
            form(),
            back=url_for("pb.admin_edition", year=year),
        )
    try:
        with engine().connect() as conn:
            e = editions.get_edition(conn, year)
            sched = editions.edition_schedule(conn, year)
    except PbError as exc:
        return refused(exc)
    return render_template(
        "pb/admin_edition.html", e=e, schedule=sched, rule_fields=editions.RULE_FIELDS, **_helpers()
    )


@bp.post("/<int:year>/admin/advance")
@role_required("admin")
def advance(year: int):
    return act(
        phases.advance,
        year,
        current_user().id,
        back=url_for("pb.admin_edition", year=year),
        done=url_for("pb.edition", year=year),
    )


@bp.get("/<int:year>/review")
@login_required
def review_queue(year: int):
    uid, roles = me()
    try:
        with engine().begin() as conn:
            view = pbp.review_page(conn, year, uid, roles)
    except PbError as exc:
        return refused(exc)
    if not view["staff"] and not view["rows"]:
        abort(403)
    return render_template("pb/review.html", v=view, **_helpers())


@bp.post("/projects/<int:proposal_id>/formal")
@role_required(*STAFF)
def formal(proposal_id: int):
    data = form()
    return act(
        review.formal_decide,
        proposal_id,
        current_user().id,
        data.get("decision", ""),
        data.get("note"),
        back=_project(proposal_id),
    )


@bp.post("/projects/<int:proposal_id>/paper-list")
@role_required(*STAFF)
def paper_list(proposal_id: int):
    scan = request.files.get("scan")
    blob = scan.read() if scan and scan.filename else None
    return act(
        support.record_paper_list,
        proposal_id,
        request.form.get("signatures"),
        current_user().id,
        blob,
        scan.filename if blob else None,
        scan.mimetype if blob else None,
        back=_project(proposal_id),
    )


@bp.post("/projects/<int:proposal_id>/unit")
@role_required(*STAFF)
def unit(proposal_id: int):
    return act(
        review.assign_unit,
        proposal_id,
        form().get("unit", ""),
        current_user().id,
        back=_project(proposal_id),
    )


@bp.post("/projects/<int:proposal_id>/merit")
@login_required
def merit(proposal_id: int):
    data = form()
    checklist = {k: data.get(f"checklist.{k}") for k in review.CHECKLIST}
    return act(
        review.merit_decide,
        proposal_id,
        current_user().id,
        checklist,
        data.get("final_cost"),
        data.get("decision", ""),
        data.get("reason"),
        back=_project(proposal_id),
    )


@bp.post("/protests/<int:protest_id>/decide")
@role_required(*STAFF)
def decide_protest(protest_id: int):
    data = form()
    back = local_back(data, url_for("pb.index"))
    return act(
        protests.decide_protest,
        protest_id,
        current_user().id,
        data.get("outcome", ""),
        data.get("hearing_date"),
        form_list("participants"),
        data.get("minutes", ""),
        back=back,
    )


@bp.post("/<int:year>/ballot/publish")
@role_required(*STAFF)
def publish_ballot(year: int):
    return act(
        ballot_list.publish_ballot_list,
        year,
        current_user().id,
        back=url_for("pb.review_queue", year=year),
        done=url_for("pb.ballot", year=year),
    )


@bp.get("/projects/<int:proposal_id>/feasibility.json")
@login_required
def feasibility_json(proposal_id: int):
    uid, roles = me()
    try:
        with engine().connect() as conn:
            view = pbp.project_page(conn, proposal_id, uid, roles)
    except PbError as exc:
        return refused(exc)
    if view["feasibility"] is None:
        abort(403)
    return jsonify(view["feasibility"].as_dict())
