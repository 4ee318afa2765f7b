"""Pages for people: the city map, district pages (their layers and lists: app/layer_pages.py)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, render_template, url_for

from app import engine
from app.layer_pages import district_counts, overview, past_budget
from app.maps import build_map
from geo import districts as gd

bp = Blueprint("pages", __name__)


def district_layer_spec(selected: int | None = None) -> dict:
    return {
        "kind": "districts",
        "url": url_for("api.districts", simplify=0.00005),
        "selected": selected,
        "link": url_for("pages.district", number=0).replace("/0", "/{n}"),
    }


def page_map(layers: list[dict], bounds=None):
    city = current_app.extensions["city"]
    return build_map(
        center=city.center,
        zoom=city.zoom,
        layers=layers,
        basemap=current_app.config["BASEMAP"],
        bounds=bounds,
        nonce=g.csp_nonce,
    )


@bp.get("/")
def index():
    with engine().connect() as conn:
        districts = gd.list_districts(conn)
        bounds = gd.city_bounds(conn)
        view = overview(conn, district=None, endpoint="pages.index", values={})
    fmap = page_map([district_layer_spec(), *view["specs"]], bounds)
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
        [district_layer_spec(selected=number), *view["specs"]],
        (d["west"], d["south"], d["east"], d["north"]),
    )
    return render_template("layers/district.html", d=d, fmap=fmap, counts=counts, past=past, **view)
