"""Pages for people: the city map (``/``) and the district pages (``/districts/<n>``)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from app.db import engine
from app.public.lists import district_counts, overview, past_budget
from app.views import district_spec, page_map
from civic.ngos.find import organisations_in_district
from geo import districts as gd

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    with engine().connect() as conn:
        districts = gd.list_districts(conn)
        bounds = gd.city_bounds(conn)
        view = overview(conn, district=None, endpoint="pages.index", values={})
    fmap = page_map([district_spec(), *view["specs"]], bounds)
    return render_template("layers/city.html", districts=districts, fmap=fmap, **view)


@bp.get("/districts/<int:number>")
def district(number: int):
    with engine().connect() as conn:
        d = gd.get_district(conn, number)
        if d is None:
            abort(404, description=f"Nie ma dzielnicy nr {number}.")
        view = overview(conn, district=number, endpoint="pages.district", values={"number": number})
        counts = district_counts(conn, number)
        past = past_budget(conn, number)
        organisations = organisations_in_district(conn, number)
    fmap = page_map(
        [district_spec(selected=number), *view["specs"]],
        (d["west"], d["south"], d["east"], d["north"]),
    )
    return render_template(
        "layers/district.html",
        d=d,
        fmap=fmap,
        counts=counts,
        past=past,
        organisations=organisations,
        **view,
    )
