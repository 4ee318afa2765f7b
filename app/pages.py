"""Pages for people: the city map, district pages (their layers and lists: app/layer_pages.py)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from app import engine
from app.layer_pages import district_counts, district_spec, overview, page_map, past_budget
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
    fmap = page_map(
        [district_spec(selected=number), *view["specs"]],
        (d["west"], d["south"], d["east"], d["north"]),
    )
    return render_template("layers/district.html", d=d, fmap=fmap, counts=counts, past=past, **view)
