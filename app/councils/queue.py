"""``/councils`` and ``/councils/<n>``: the districts, and what lies in one (map + list)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import abort, render_template, request, url_for
from flask_babel import gettext

from app import engine
from app.auth import current_user
from app.councils.common import PAGE_SIZE, arg_int, bp, found, money, opinion_title, status_title
from app.views import (
    FilterControl,
    Option,
    choice_title,
    district_spec,
    lang,
    map_spec,
    page_map,
    permalink,
    short,
)
from civic import councils
from civic.councils import COMMENTS, KIND_OF_LAYER, PROPOSALS, QueueFilter, Visibility
from civic.councils.common import layer
from layers.base import Layer


def _queue_filter() -> QueueFilter:
    """?layer= / status / edition / category; a value that cannot exist is a 400 naming it."""
    proposals = layer(PROPOSALS)
    f = QueueFilter()
    raw_layer = request.args.get("layer") or ""
    if raw_layer:
        if raw_layer not in KIND_OF_LAYER:
            abort(
                400,
                description=gettext(
                    "Parametr „layer”: nie ma warstwy „%(v)s”.", v=short(raw_layer, 60)
                ),
            )
        f.kind = KIND_OF_LAYER[raw_layer]
    status = request.args.get("status") or ""
    if status:
        vis = councils.visibility()
        if status not in vis.proposal_states + vis.comment_states:
            abort(
                400,
                description=gettext(
                    "Parametr „status”: nieznany status „%(v)s”.", v=short(status, 60)
                ),
            )
        f.status = status
    f.edition = arg_int("edition", 2013, 2100)
    category = request.args.get("category") or ""
    if category:
        if category not in proposals.field(proposals.category_field or "category").choices:
            abort(
                400,
                description=gettext(
                    "Parametr „category”: nieznana kategoria „%(v)s”.", v=short(category, 60)
                ),
            )
        f.category = category
    return f


def _row_view(row: dict[str, Any], names: dict[int, str], member: bool) -> dict[str, Any]:
    kind = row["kind"]
    ly = layer(PROPOSALS if kind == "proposals" else COMMENTS)
    lng = lang()
    item = {
        "kind": kind,
        "id": row["id"],
        "layer_title": ly.title(lng),
        "url": permalink(ly, row["id"]),
        "title": short(row["title"] or f"#{row['id']}"),
        "status": row["status"],
        "status_title": status_title(kind, row["status"]),
        "created_at": row["created_at"],
        "districts": ", ".join(names.get(n, str(n)) for n in row["districts"] or []),
        "located": row["located"],
        "meta": [],
    }
    if kind == "proposals":
        cat = ly.field("category")
        if row["edition"]:
            item["meta"].append((gettext("Edycja"), str(row["edition"])))
        if row["category"]:
            item["meta"].append((cat.title(lng), choice_title(cat, row["category"], lng)))
        if row["cost"] is not None:
            item["meta"].append((gettext("Koszt"), money(row["cost"])))
        scope = ly.field("scope")
        item["meta"].append((scope.title(lng), choice_title(scope, row["scope"], lng)))
        item["opinion"] = row["opinion"]
        item["opinion_title"] = opinion_title(row["opinion"])
        item["resolution"] = " ".join(
            x for x in (row["resolution_ref"] or "", str(row["resolution_date"] or "")) if x
        )
    else:
        item["meta"].append((gettext("Konsultacja"), short(row["consultation_title"] or "", 120)))
        item["meta"].append((gettext("Poparcia"), str(row["votes"] or 0)))
    if member:
        item["author"] = row["author_name"] or gettext("(konto usunięte lub import)")
    return item


@bp.get("")
def index():
    user = current_user()
    with engine().connect() as conn:
        districts = councils.districts(conn)
    for d in districts:
        d["url"] = url_for("councils.queue", number=d["number"])
        d["mine"] = councils.is_own_council(user, d["number"])
    return render_template("councils/index.html", districts=districts)


@bp.get("/<int:number>")
def queue(number: int):
    member = councils.is_member(current_user(), number)
    f = _queue_filter()
    page = arg_int("page", 1, 10_000) or 1
    vis = councils.visibility()
    with engine().connect() as conn, found():
        q = councils.district_queue(
            conn, number, vis, f, page=page, page_size=PAGE_SIZE, private=member
        )
    d = q.district
    items = [_row_view(r, q.names, member) for r in q.page.rows]
    proposals, comments = layer(PROPOSALS), layer(COMMENTS)
    return render_template(
        "councils/queue.html",
        d=d,
        member=member,
        items=items,
        count_tables=_count_tables(number, f, q.counts, proposals, comments, vis),
        controls=_controls(f, q.editions, proposals, comments, vis),
        filtered=any(request.args.get(k) for k in ("layer", "status", "edition", "category")),
        page=page,
        prev_url=_self_url(number, page=page - 1) if page > 1 else None,
        next_url=_self_url(number, page=page + 1) if q.page.has_more else None,
        fmap=_map(number, d, f, proposals, comments, vis),
    )


def _count_tables(
    number: int,
    f: QueueFilter,
    counts: dict[str, dict[str, int]],
    proposals: Layer,
    comments: Layer,
    vis: Visibility,
) -> list[dict[str, Any]]:
    lng = lang()
    out = []
    for kind, ly in (("proposals", proposals), ("comments", comments)):
        if kind not in counts:
            continue
        st = ly.field(ly.status_field or "status")
        states = vis.proposal_states if kind == "proposals" else vis.comment_states
        rows = [
            {
                "status": s,
                "title": choice_title(st, s, lng),
                "count": counts[kind].get(s, 0),
                "url": _self_url(number, layer=ly.name, status=s, page=None),
                "current": f.status == s,
            }
            for s in states
        ]
        out.append(
            {
                "kind": kind,
                "title": ly.title(lng),
                "rows": rows,
                "total": sum(counts[kind].values()),
            }
        )
    return out


def _map(
    number: int,
    d: dict[str, Any],
    f: QueueFilter,
    proposals: Layer,
    comments: Layer,
    vis: Visibility,
):
    """The same filters, through the layers API, limited to the district."""
    specs = [district_spec(selected=number)]
    for kind, ly in (("proposals", proposals), ("comments", comments)):
        states = vis.proposal_states if kind == "proposals" else vis.comment_states
        visible = f.wants(kind) and (not f.status or f.status in states)
        params: dict[str, Any] = {"district": number}
        if visible and f.status:
            params["status"] = f.status
        if kind == "proposals":
            params.update(edition=f.edition, category=f.category)
        specs.append(map_spec(ly, params=params, visible=visible))
    return page_map(specs, (d["west"], d["south"], d["east"], d["north"]))


def _self_url(number: int, **changes: Any) -> str:
    args = {k: v for k, v in request.args.items() if v and k != "page"}
    for k, v in changes.items():
        if v in (None, "", 1) and k == "page":
            args.pop(k, None)
        elif v in (None, ""):
            args.pop(k, None)
        else:
            args[k] = str(v)
    base = url_for("councils.queue", number=number)
    return base + ("?" + urlencode(args) if args else "") + "#queue"


def _controls(
    f: QueueFilter, eds: list[int], proposals: Layer, comments: Layer, vis: Visibility
) -> list[FilterControl]:
    lng = lang()
    st_p = proposals.field(proposals.status_field or "status")
    st_c = comments.field(comments.status_field or "status")
    cat = proposals.field(proposals.category_field or "category")
    status_opts = [Option(s, choice_title(st_p, s, lng)) for s in vis.proposal_states]
    status_opts += [
        Option(s, f"{choice_title(st_c, s, lng)} ({comments.title(lng)})")
        for s in vis.comment_states
        if s not in vis.proposal_states
    ]
    return [
        FilterControl(
            "layer",
            gettext("Warstwa"),
            request.args.get("layer", ""),
            [Option(PROPOSALS, proposals.title(lng)), Option(COMMENTS, comments.title(lng))],
            gettext("Wszystkie warstwy"),
        ),
        FilterControl(
            "status", gettext("Status"), f.status or "", status_opts, gettext("Wszystkie statusy")
        ),
        FilterControl(
            "edition",
            gettext("Edycja"),
            str(f.edition or ""),
            [Option(str(e), str(e)) for e in eds],
            gettext("Wszystkie edycje"),
        ),
        FilterControl(
            "category",
            gettext("Kategoria"),
            f.category or "",
            [Option(c, choice_title(cat, c, lng)) for c in cat.choices],
            gettext("Wszystkie kategorie"),
        ),
    ]
