"""Public budget pages: the editions, an edition (timeline, pools, map by status with the
district filter, summary table), the ballot list, a project with its history."""

from __future__ import annotations

from flask import abort, redirect, render_template, request

from app.db import engine
from app.pb.common import bp, phase_title, refused, state_title
from app.views import canonical_url, district_spec, map_spec, page_map
from civic.pb import pages as pbp
from civic.pb.errors import PbError
from civic.pb.feasibility import SENTENCES
from civic.pb.review import CHECKLIST
from civic.pb.summary import COLUMN_TITLES
from layers.budget_proposals import LAYER


def _helpers() -> dict:
    return {
        "phase_title": phase_title,
        "state_title": state_title,
        "column_titles": COLUMN_TITLES,
        "checklist_titles": CHECKLIST,
        "sentences": SENTENCES,
    }


@bp.get("/")
def index():
    with engine().connect() as conn:
        rows = pbp.editions_page(conn)
    return render_template("pb/index.html", editions=rows, **_helpers())


@bp.get("/<int:year>")
def edition(year: int):
    raw = request.args.get("district") or ""
    if raw and (not raw.isdigit() or not 1 <= int(raw) <= 18):
        abort(400, description="district")
    district = int(raw) if raw else None
    try:
        with engine().begin() as conn:
            view = pbp.edition_page(conn, year, district)
    except PbError as exc:
        return refused(exc)
    b = view["bounds"]
    bounds = (b["west"], b["south"], b["east"], b["north"]) if b else None
    fmap = page_map(
        [
            district_spec(selected=district),
            map_spec(LAYER, params={"edition": year, "district": district}),
        ],
        bounds,
    )
    return render_template("pb/edition.html", v=view, fmap=fmap, **_helpers())


@bp.get("/<int:year>/ballot")
def ballot(year: int):
    try:
        with engine().connect() as conn:
            view = pbp.ballot_page(conn, year)
    except PbError as exc:
        return refused(exc)
    return render_template("pb/ballot.html", v=view, **_helpers())


@bp.get("/projects/<int:proposal_id>")
def project(proposal_id: int):
    """The proposal's one page is /proposals/<id> (app/residents/proposal_page.py): it shows
    the workflow, support list, reviews and feasibility that this page showed."""
    return redirect(canonical_url(proposal_id), code=308)
