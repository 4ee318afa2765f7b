"""Pages for the registered layers: ``/layers`` lists them, ``/layers/<layer>`` is one layer's
filterable list (with a district filter) beside its map, ``/layers/<layer>/<id>`` shows one
feature on a map with all its public properties.

Everything is driven by layers.registry: a registered layer gets its list and permalink with
no other code. The lists are server-rendered HTML (they work without JavaScript);
static/js/civicmap.js can refresh them from the API for the map's current view.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.api.filters import param_names, public_layers
from app.db import engine
from app.public.lists import (
    BUDGET_LAYER,
    PAGE_SIZE,
    FilterControl,
    Section,
    district_control,
    layer_controls,
    layer_or_404,
    list_item,
    query_or_400,
)
from app.views import (
    args_without,
    canonical_url,
    district_spec,
    feature_title,
    format_value,
    geometry_title,
    lang,
    map_spec,
    page_map,
    page_number,
    url_with,
)
from geo import districts as gd
from layers import query as lq
from layers.base import Field

bp = Blueprint("layer_pages", __name__)


def _with_query(url: str) -> str:
    return url + ("?" + request.query_string.decode() if request.query_string else "")


@bp.get("/layers")
def layers_index():
    lng = lang()
    items = [
        {
            "name": ly.name,
            "title": ly.title(lng),
            "description": ly.descriptions.get(lng) or ly.descriptions.get("pl", ""),
            "url": url_for("layer_pages.layer_list", layer=ly.name),
            "api": url_for("api_layers.features", layer=ly.name),
        }
        for ly in public_layers()
    ]
    return render_template("layers/index.html", layers=items)


@bp.get("/layers/<layer>")
def layer_list(layer: str):
    if layer == BUDGET_LAYER:  # the proposals' one list and map is /proposals
        return redirect(_with_query(url_for("proposals.browse")), code=308)
    ly = layer_or_404(layer)
    q = query_or_400(ly)
    page = page_number()
    q.bbox = None
    q.with_geometry = False
    q.limit, q.offset = PAGE_SIZE, (page - 1) * PAGE_SIZE
    with engine().connect() as conn:
        names = lq.district_names(conn)
        if q.district is not None and q.district not in names:
            abort(400, description=_("Nie ma dzielnicy nr %(n)s.", n=q.district))
        found = lq.records(conn, ly, q)
        controls = [district_control(names, q.district), *layer_controls(conn, ly, q.district)]
        d = gd.get_district(conn, q.district) if q.district else None
        bounds = (d["west"], d["south"], d["east"], d["north"]) if d else gd.city_bounds(conn)
    known = param_names(ly) - {"lang", "bbox", "limit", "offset"}
    params = {k: v for k, v in request.args.items() if v and k in known}
    fmap = page_map([district_spec(selected=q.district), map_spec(ly, params=params)], bounds)
    sec = Section(
        layer=ly,
        title=ly.title(lang()),
        items=[list_item(ly, r, names) for r in found.rows],
        has_more=found.has_more,
        page=page,
        api_url=url_with("api_layers.features", params, layer=ly.name),
    )
    if page > 1:
        sec.prev_url = url_with(
            "layer_pages.layer_list", args_without("page", page=page - 1), layer=ly.name
        )
    if found.has_more:
        sec.next_url = url_with(
            "layer_pages.layer_list", args_without("page", page=page + 1), layer=ly.name
        )
    filtered = any(v for k, v in request.args.items() if k not in ("page", "lang"))
    return render_template(
        "layers/layer_list.html",
        layer=ly,
        title=ly.title(lang()),
        description=ly.descriptions.get(lang()) or ly.descriptions.get("pl", ""),
        district=d,
        section=sec,
        controls=controls,
        controls_extra=[FilterControl("q", _("Szukaj w tytułach"), request.args.get("q", ""))],
        form_action=url_for("layer_pages.layer_list", layer=ly.name),
        filtered=filtered,
        fmap=fmap,
    )


@bp.get("/layers/<layer>/<feature_id>")
def feature_page(layer: str, feature_id: str):
    ly = layer_or_404(layer)
    if not feature_id.isdigit() or len(feature_id) > 19 or int(feature_id) > 2**63 - 1:
        abort(404, description=_("Nie ma takiego obiektu."))
    if layer == BUDGET_LAYER:  # a proposal's one page (council opinions included)
        return redirect(canonical_url(int(feature_id)), code=308)
    fid = int(feature_id)
    with engine().connect() as conn:
        found = lq.records(conn, ly, lq.FeatureQuery(ids=[fid], limit=1, with_geometry=False))
        if not found.rows:
            abort(404, description=_("Nie ma takiego obiektu (albo nie jest publiczny)."))
        row = found.rows[0]
        names = lq.district_names(conn)
        dists = row["properties"].get("districts") or []
        d = gd.get_district(conn, dists[0]) if dists else None
        bounds = (d["west"], d["south"], d["east"], d["north"]) if d else gd.city_bounds(conn)
    lng = lang()
    props = row["properties"]
    properties = []
    for f in ly.public_fields:
        text = format_value(f, props.get(f.name), lng)
        properties.append({"name": f.name, "title": f.title(lng), "text": text})
    spec = map_spec(ly, feature_id=fid)
    selected = dists[0] if len(dists) == 1 else None
    fmap = page_map([district_spec(selected=selected), spec], bounds)
    return render_template(
        "layers/feature.html",
        layer=ly,
        layer_title=ly.title(lng),
        title=feature_title(ly, props, fid),
        full_title=str(props.get(ly.title_field) or ""),
        fid=fid,
        external_id=props.get("external_id"),
        updated_at=format_value(Field("u", "datetime", {}), props.get("updated_at"), lng),
        geometry_type=geometry_title(row["geometry_type"]),
        properties=properties,
        districts=[
            {"number": n, "name": names.get(n, str(n)), "url": url_for("pages.district", number=n)}
            for n in dists
        ],
        list_url=url_for("layer_pages.layer_list", layer=ly.name),
        api_url=url_for("api_layers.feature", layer=ly.name, feature_id=str(fid)),
        fmap=fmap,
    )
