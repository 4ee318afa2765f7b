"""The lists beside the maps: a list entry, the filter controls, and the list of every layer
that / and /districts/<n> show (a preview per layer, or one layer's pages).

Every list comes from the one read path (layers.query.records) with the API's own filter
parsing (app.api.filters): a registered layer gets its list with no other code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import abort, request, url_for
from flask_babel import gettext as _

from app.api.filters import (
    ROLES,
    feature_query,
    filter_fields,
    parse_value,
    public_choices,
    public_layer,
    public_layers,
    role_field,
)
from app.errors import ApiError
from app.views import (
    FilterControl,
    Option,
    args_without,
    choice_title,
    feature_title,
    format_value,
    lang,
    map_spec,
    page_number,
    permalink,
    short,
    url_with,
)
from layers import query as lq
from layers.base import Layer

PAGE_SIZE = 20  # a paginated list
PREVIEW_SIZE = 5  # per layer, when the list shows every layer
BUDGET_LAYER = "budget-proposals"


def layer_list_url(name: str, args: dict[str, str]) -> str:
    """A layer's list page; the budget proposals' one list is /proposals (the other redirects)."""
    if name == BUDGET_LAYER:
        return url_with("proposals.browse", args)
    return url_with("layer_pages.layer_list", args, layer=name)


def list_item(layer: Layer, row: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    """One list entry: title, link and the layer's list fields as (label, text) pairs."""
    lng = lang()
    props = row["properties"]
    meta = []
    for name in layer.list_fields:
        if name == layer.title_field:
            continue
        f = layer.field(name)
        if not f.public:
            continue
        text = format_value(f, props.get(name), lng)
        if text:
            meta.append((f.title(lng), short(text, 200)))
    dists = props.get("districts") or []
    return {
        "id": row["id"],
        "url": permalink(layer, row["id"]),
        "title": feature_title(layer, props, row["id"]),
        "meta": meta,
        "districts": ", ".join(names.get(n, str(n)) for n in dists),
        "located": row.get("geometry_type") is not None,
    }


# --- filters shared by the lists ------------------------------------------------------


@dataclass
class Section:
    """A list of one layer's features (a page of it, or a preview)."""

    layer: Layer
    title: str
    items: list[dict[str, Any]]
    has_more: bool
    page: int = 1
    prev_url: str | None = None
    next_url: str | None = None
    more_url: str | None = None
    api_url: str = ""


def query_or_400(layer: Layer) -> lq.FeatureQuery:
    """The API's filter parsing for a page: a bad value is a 400 page naming the parameter."""
    try:
        return feature_query(layer, strict=False)
    except ApiError as exc:
        abort(400, description=exc.message)


def requested_roles() -> list[str]:
    return [r for r in ROLES if request.args.get(r)]


def applies(layer: Layer) -> bool:
    """Does this layer have every status/category/edition filter in the request, and are the
    values valid for it? (``?status=open`` concerns consultations, not budget proposals.)"""
    for role in requested_roles():
        name = role_field(layer, role)
        if not name:
            return False
        try:
            parse_value(layer, layer.field(name), request.args[role], role)
        except ApiError:
            return False
    return True


def role_params(layer: Layer) -> dict[str, str]:
    """The request's filters this layer understands, as API parameters (for its map layer)."""
    out = {r: request.args[r] for r in requested_roles() if role_field(layer, r)}
    if request.args.get("q"):
        out["q"] = request.args["q"]
    return out


def editions(conn, layers: list[Layer], district: int | None) -> list[int]:
    found: set[int] = set()
    for ly in layers:
        if ly.edition_field:
            q = lq.FeatureQuery(district=district)
            found.update(lq.distinct_values(conn, ly, ly.edition_field, q))
    return sorted(found, reverse=True)


def role_controls(conn, layers: list[Layer], district: int | None) -> list[FilterControl]:
    """category / status / edition selects over several layers (options merged)."""
    lng = lang()
    controls = []
    for role, label, any_label in (
        ("category", _("Kategoria"), _("Wszystkie kategorie")),
        ("status", _("Status"), _("Wszystkie statusy")),
    ):
        seen: dict[str, str] = {}
        for ly in layers:
            name = role_field(ly, role)
            if name:
                f = ly.field(name)
                for c in public_choices(ly, f):
                    seen.setdefault(c, choice_title(f, c, lng))
        if seen:
            opts = [Option(v, t) for v, t in seen.items()]
            controls.append(FilterControl(role, label, request.args.get(role, ""), opts, any_label))
    eds = editions(conn, layers, district)
    if eds:
        controls.append(
            FilterControl(
                "edition",
                _("Edycja"),
                request.args.get("edition", ""),
                [Option(str(e), str(e)) for e in eds],
                _("Wszystkie edycje"),
            )
        )
    return controls


def layer_controls(conn, layer: Layer, district: int | None) -> list[FilterControl]:
    """One select per filter field of a layer (the /layers/<layer> form)."""
    lng = lang()
    controls = []
    for f in filter_fields(layer):
        choices = public_choices(layer, f)
        value = request.args.get(f.name, "")
        if choices:
            opts = [Option(c, choice_title(f, c, lng)) for c in choices]
        elif f.type == "int" and f.name == layer.edition_field:
            vals = lq.distinct_values(conn, layer, f.name, lq.FeatureQuery(district=district))
            opts = [Option(str(v), str(v)) for v in sorted(vals, reverse=True)]
        elif f.type == "bool":
            opts = [Option("true", _("tak")), Option("false", _("nie"))]
        else:
            opts = None
        controls.append(FilterControl(f.name, f.title(lng), value, opts, _("Wszystkie")))
    return controls


def district_control(names: dict[int, str], value: int | None) -> FilterControl:
    opts = [Option(str(n), t) for n, t in names.items()]
    return FilterControl(
        "district", _("Dzielnica"), str(value or ""), opts, _("Wszystkie dzielnice")
    )


# --- the list beside a map of every layer (/ and /districts/<n>) -----------------------------


def overview(conn, *, district: int | None, endpoint: str, values: dict[str, Any]) -> dict:
    """Specs for the map and the list of every public layer, honouring the request's filters.

    ``?layer=`` picks one layer (a paginated list); without it each layer shows a preview
    with a link to its own list. status/category/edition filters hide the layers that lack
    them (on the map too).
    """
    layers = public_layers()
    chosen_name = request.args.get("layer") or ""
    chosen = None
    if chosen_name:
        chosen = next((ly for ly in layers if ly.name == chosen_name), None)
        if chosen is None:
            abort(400, description=_("Nie ma warstwy „%(name)s”.", name=short(chosen_name, 60)))
    names = lq.district_names(conn)
    specs, sections = [], []
    for ly in layers:
        ok = applies(ly)
        visible = ok and (ly is chosen if chosen else ly.on_overview)
        params = role_params(ly) if ok else {}
        if district:
            params["district"] = str(district)
        specs.append(map_spec(ly, params=params, visible=visible))
        if not visible:
            continue
        q = query_or_400(ly)
        q.district = district
        q.with_geometry = False
        q.bbox = None
        page = page_number() if chosen else 1
        q.limit = PAGE_SIZE if chosen else PREVIEW_SIZE
        q.offset = (page - 1) * q.limit
        found = lq.records(conn, ly, q)
        list_args = {k: v for k, v in role_params(ly).items()}
        if district:
            list_args["district"] = str(district)
        sec = Section(
            layer=ly,
            title=ly.title(lang()),
            items=[list_item(ly, r, names) for r in found.rows],
            has_more=found.has_more,
            page=page,
            api_url=url_with("api_layers.features", list_args, layer=ly.name),
        )
        if chosen:
            if page > 1:
                sec.prev_url = url_with(endpoint, args_without("page", page=page - 1), **values)
            if found.has_more:
                sec.next_url = url_with(endpoint, args_without("page", page=page + 1), **values)
        elif found.has_more:
            sec.more_url = layer_list_url(ly.name, list_args)
        sections.append(sec)
    controls = [
        FilterControl(
            "layer",
            _("Warstwa"),
            chosen_name,
            [Option(ly.name, ly.title(lang())) for ly in layers],
            _("Wszystkie warstwy"),
        ),
        *role_controls(conn, layers, district),
        FilterControl("q", _("Szukaj w tytułach"), request.args.get("q", "")),
    ]
    return {
        "specs": specs,
        "sections": sections,
        "controls": controls,
        "chosen": chosen,
        "form_action": url_for(endpoint, **values),
        "filtered": any(request.args.get(k) for k in ("layer", "q", *ROLES)),
    }


def district_counts(conn, number: int) -> list[dict[str, Any]]:
    return [
        {
            "layer": ly,
            "title": ly.title(lang()),
            "count": lq.count_by_district(conn, ly, number),
            "url": layer_list_url(ly.name, {"district": str(number)}),
        }
        for ly in public_layers()
    ]


def past_budget(conn, number: int) -> dict[str, Any] | None:
    """The district's proposals of past budget editions: one edition at a time (?bo_edition=)."""
    try:
        layer = public_layer(BUDGET_LAYER)
    except ApiError:
        return None
    raw = request.args.get("bo_edition") or ""
    if raw and not raw.isdigit():
        abort(400, description=_("Parametr „bo_edition” musi być rokiem."))
    wanted = int(raw) if raw and int(raw) < 10000 else None
    # The current year's edition is still under way (submission, review, vote): "past" is before it.
    order = tuple(
        n for n in ("-votes", "-score", "title") if n.lstrip("-") in {f.name for f in layer.fields}
    )
    eds, page = lq.past_editions(
        conn, layer, number, before=dt.date.today().year, edition=wanted, order=order
    )
    if not eds:
        return {"layer": layer, "editions": [], "rows": [], "edition": None}
    edition = wanted if wanted in eds else eds[0]
    lng = lang()
    cols = [
        layer.field(n)
        for n in ("cost", "votes", "selected")
        if n in {f.name for f in layer.public_fields}
    ]
    rows = []
    for r in page.rows:
        props = r["properties"]
        rows.append(
            {
                "url": permalink(layer, r["id"]),
                "title": feature_title(layer, props, r["id"]),
                "cells": [format_value(f, props.get(f.name), lng) for f in cols],
                "selected": bool(props.get("selected")),
            }
        )
    return {
        "layer": layer,
        "editions": [
            {
                "edition": e,
                "url": url_with(
                    "pages.district", args_without("bo_edition", bo_edition=e), number=number
                )
                + "#past-budget",
            }
            for e in eds
        ],
        "edition": edition,
        "columns": [f.title(lng) for f in cols],
        "rows": rows,
        "has_more": page.has_more,
        "all_url": layer_list_url(layer.name, {"district": str(number), "edition": str(edition)}),
    }


def layer_or_404(name: str) -> Layer:
    try:
        return public_layer(name)
    except ApiError:
        abort(404, description=_("Nie ma warstwy „%(name)s”.", name=short(name, 60)))
