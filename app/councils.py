"""District councils (Rady Dzielnic): ``/councils/<n>`` — the queue of what lies in the
district (map + list), opinions on budget proposals, the council's priorities, and the report
for a council meeting (HTML, print CSS, CSV, GeoPackage, PDF when Chromium is installed).

Everyone may read a council's pages; only the council's members (role ``council`` with
``council_district == n``) and admins record opinions and priorities. Members also see who
wrote each item (the author's display name); the public pages carry no personal data.
The SQL lives in geo/councils.py; this module parses, checks rights and renders.

Other modules call :func:`notify_council` after a proposal is submitted or a comment is
published (see its docstring).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import smtplib
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    after_this_request,
    current_app,
    flash,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app import engine
from app.auth import (
    FormError,
    User,
    collect,
    current_user,
    deny,
    field_error,
    form_error_response,
    login_required,
)
from app.errors import wants_api
from app.layer_pages import (
    FilterControl,
    Option,
    choice_title,
    district_spec,
    format_value,
    lang,
    map_spec,
    page_map,
    permalink,
    short,
)
from app.moderation import N_
from app.security import rate_limit
from civic.audit import notify, record_audit, register_message
from geo import councils as gc
from geo import districts as gd
from geo import export as gx
from layers import registry
from layers.base import Field, Layer

log = logging.getLogger(__name__)

bp = Blueprint("councils", __name__, url_prefix="/councils")

PROPOSALS = "budget-proposals"
COMMENTS = "consultation-comments"
KIND_OF_LAYER = {PROPOSALS: "proposals", COMMENTS: "comments"}
TABLE_OF_KIND = {"budget_proposals": PROPOSALS, "consultation_comments": COMMENTS}
PAGE_SIZE = 25
TODAY_SLACK = dt.timedelta(days=1)  # a resolution dated "today" in any time zone is accepted

OPINION_TITLES = {
    "positive": N_("pozytywna"),
    "negative": N_("negatywna"),
    "remarks": N_("z uwagami"),
}

register_message(
    "council_new_item",
    N_("Nowy wpis w dzielnicy %(district)s (%(kind)s): „%(title)s”"),
)


# --- helpers ---------------------------------------------------------------------------------


def _layer(name: str) -> Layer:
    ly = registry.get(name)
    if ly is None:
        raise RuntimeError(f"layer {name} is not registered")
    return ly


def visibility() -> gc.Visibility:
    """What the public sees, from the layers' workflows (the registry is the one source)."""

    def states(name: str) -> tuple[str, ...]:
        ly = _layer(name)
        return ly.workflow.public_states if ly.workflow else ()

    return gc.Visibility(states(PROPOSALS), states(COMMENTS))


def is_member(user: User | None, district: int) -> bool:
    """A member of district ``district``'s council, or an admin."""
    if user is None:
        return False
    return "admin" in user.roles or ("council" in user.roles and user.council_district == district)


def opinion_title(value: str | None) -> str:
    return gettext(OPINION_TITLES[value]) if value in OPINION_TITLES else ""


def _district_or_404(conn: Connection, number: int) -> dict[str, Any]:
    d = gd.get_district(conn, number) if 0 < number < 32768 else None
    if d is None:
        abort(404, description=gettext("Nie ma dzielnicy nr %(n)s.", n=number))
    d["roman"] = roman(number)
    return d


def roman(n: int) -> str:
    out = ""
    for value, numeral in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):  # fmt: skip
        while n >= value:
            out += numeral
            n -= value
    return out


def _forbidden() -> Any:
    return deny(
        403,
        "forbidden",
        gettext("Opinie i priorytety zapisują tylko członkowie rady tej dzielnicy."),
    )


def _status_title(kind: str, status: str) -> str:
    ly = _layer(PROPOSALS if kind == "proposals" else COMMENTS)
    return choice_title(ly.field(ly.status_field or "status"), status, lang())


def _money(value: float | None) -> str:
    return format_value(Field("cost", "money", {}), value, lang()) if value is not None else ""


def _arg_int(name: str, lo: int, hi: int) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        abort(
            400,
            description=gettext(
                "Parametr „%(name)s” musi być liczbą od %(lo)s do %(hi)s.", name=name, lo=lo, hi=hi
            ),
        )
    return int(raw)


# --- the queue -------------------------------------------------------------------------------


def _queue_filter() -> gc.QueueFilter:
    """?layer= / status / edition / category; a value that cannot exist is a 400 naming it."""
    proposals = _layer(PROPOSALS)
    f = gc.QueueFilter()
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
        vis = visibility()
        if status not in vis.proposal_states + vis.comment_states:
            abort(
                400,
                description=gettext(
                    "Parametr „status”: nieznany status „%(v)s”.", v=short(status, 60)
                ),
            )
        f.status = status
    f.edition = _arg_int("edition", 2013, 2100)
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
    ly = _layer(PROPOSALS if kind == "proposals" else COMMENTS)
    lng = lang()
    item = {
        "kind": kind,
        "id": row["id"],
        "layer_title": ly.title(lng),
        "url": permalink(ly, row["id"]),
        "title": short(row["title"] or f"#{row['id']}"),
        "status": row["status"],
        "status_title": _status_title(kind, row["status"]),
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
            item["meta"].append((gettext("Koszt"), _money(row["cost"])))
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
        districts = gd.list_districts(conn)
    for d in districts:
        d["roman"] = roman(d["number"])
        d["url"] = url_for("councils.queue", number=d["number"])
        d["mine"] = bool(user and "council" in user.roles and user.council_district == d["number"])
    return render_template("councils/index.html", districts=districts)


@bp.get("/<int:number>")
def queue(number: int):
    user = current_user()
    member = is_member(user, number)
    f = _queue_filter()
    page = _arg_int("page", 1, 10_000) or 1
    vis = visibility()
    with engine().connect() as conn:
        d = _district_or_404(conn, number)
        found = gc.queue(
            conn, number, vis, f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, private=member
        )
        counts = gc.status_counts(conn, number, vis, f)
        eds = gc.editions(conn, number, vis)
        names = {x["number"]: x["name"] for x in gd.list_districts(conn)}
    items = [_row_view(r, names, member) for r in found.rows]
    proposals, comments = _layer(PROPOSALS), _layer(COMMENTS)
    lng = lang()
    count_tables = []
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
        count_tables.append(
            {
                "kind": kind,
                "title": ly.title(lng),
                "rows": rows,
                "total": sum(counts[kind].values()),
            }
        )
    # the map: the same filters, through the layers API, limited to the district
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
    fmap = page_map(specs, (d["west"], d["south"], d["east"], d["north"]))
    controls = _controls(f, eds, proposals, comments, vis)
    return render_template(
        "councils/queue.html",
        d=d,
        member=member,
        items=items,
        count_tables=count_tables,
        controls=controls,
        filtered=any(request.args.get(k) for k in ("layer", "status", "edition", "category")),
        page=page,
        prev_url=_self_url(number, page=page - 1) if page > 1 else None,
        next_url=_self_url(number, page=page + 1) if found.has_more else None,
        fmap=fmap,
    )


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
    f: gc.QueueFilter, eds: list[int], proposals: Layer, comments: Layer, vis: gc.Visibility
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


# --- opinions --------------------------------------------------------------------------------


def _form() -> dict[str, Any]:
    if request.is_json:
        from app.security import json_body

        return json_body()
    return request.form.to_dict()


def validate_opinion(form: dict[str, Any]) -> tuple[str, str, dt.date, str | None]:
    def opinion() -> str:
        v = form.get("opinion")
        if v not in gc.OPINIONS:
            raise field_error(
                "opinion",
                "required" if not v else "invalid",
                gettext("Pole „Opinia”: wybierz pozytywna, negatywna albo z uwagami."),
            )
        return v

    def justification() -> str:
        v = form.get("justification")
        v = v.strip() if isinstance(v, str) else ""
        if not v:
            raise field_error(
                "justification", "required", gettext("Pole „Uzasadnienie” jest wymagane.")
            )
        if len(v) > gc.JUSTIFICATION_MAX:
            raise field_error(
                "justification",
                "too_long",
                gettext(
                    "Pole „Uzasadnienie” może mieć najwyżej %(n)d znaków.", n=gc.JUSTIFICATION_MAX
                ),
            )
        if "\x00" in v:
            raise field_error(
                "justification", "invalid", gettext("Pole „Uzasadnienie” zawiera znak NUL.")
            )
        return v

    def resolution_date() -> dt.date:
        v = form.get("resolution_date")
        if not isinstance(v, str) or not v.strip():
            raise field_error(
                "resolution_date",
                "required",
                gettext("Pole „Data uchwały lub posiedzenia” jest wymagane."),
            )
        try:
            day = dt.date.fromisoformat(v.strip())
        except ValueError:
            raise field_error(
                "resolution_date",
                "invalid_date",
                gettext("Pole „Data uchwały lub posiedzenia”: podaj datę RRRR-MM-DD."),
            ) from None
        if day > dt.date.today() + TODAY_SLACK or day.year < 1990:
            raise field_error(
                "resolution_date",
                "out_of_range",
                gettext("Pole „Data uchwały lub posiedzenia”: data nie może być z przyszłości."),
            )
        return day

    def resolution_ref() -> str | None:
        v = form.get("resolution_ref")
        v = " ".join(v.split()) if isinstance(v, str) else ""
        if len(v) > gc.RESOLUTION_REF_MAX:
            raise field_error(
                "resolution_ref",
                "too_long",
                gettext(
                    "Pole „Numer uchwały” może mieć najwyżej %(n)d znaków.", n=gc.RESOLUTION_REF_MAX
                ),
            )
        return v or None

    op, just, day, ref = collect(opinion, justification, resolution_date, resolution_ref)
    return op, just, day, ref


@bp.route("/<int:number>/proposals/<int:proposal_id>/opinion", methods=["GET", "POST"])
@login_required
@rate_limit("council_opinion", limit=60, per=600)
def opinion(number: int, proposal_id: int):
    user = current_user()
    if not is_member(user, number):
        return _forbidden()
    vis = visibility()
    with engine().connect() as conn:
        d = _district_or_404(conn, number)
        proposal = gc.proposal_in_district(conn, proposal_id, number, vis)
        if proposal is None:
            abort(404, description=gettext("W tej dzielnicy nie ma takiego projektu."))
        current = gc.opinion_of(conn, proposal_id, number)
    ctx = {
        "d": d,
        "proposal": proposal,
        "proposal_url": permalink(_layer(PROPOSALS), proposal_id),
        "cost": _money(proposal["cost"]),
        "current": current,
        "opinion_titles": {k: opinion_title(k) for k in gc.OPINIONS},
        "today": dt.date.today().isoformat(),
    }
    if request.method == "GET":
        form = {}
        if current:
            form = {**current, "resolution_date": str(current["resolution_date"])}
        return render_template("councils/opinion.html", form=form, errors={}, **ctx)
    form = _form()
    try:
        op, just, day, ref = validate_opinion(form)
    except FormError as exc:
        return form_error_response(exc, "councils/opinion.html", form=form, **ctx)
    with engine().begin() as conn:
        w = gc.record_opinion(
            conn,
            proposal_id=proposal_id,
            district=number,
            opinion=op,
            justification=just,
            resolution_date=day,
            resolution_ref=ref,
            author_id=user.id,
        )
        reason = {"proposal_id": proposal_id, "district": number, "opinion": op}
        if w.previous:
            reason["previous"] = {
                k: (v if k != "justification" else short(v or "", 600))
                for k, v in w.previous.items()
            }
        record_audit(
            conn,
            user.id,
            "council.opinion.create" if w.created else "council.opinion.replace",
            "council_opinions",
            w.id,
            reason=json.dumps(reason, ensure_ascii=False, default=str)[:2000],
        )
    if wants_api():
        body = {
            "opinion": {
                "id": w.id,
                "proposal_id": proposal_id,
                "district": number,
                "opinion": op,
                "justification": just,
                "resolution_date": day.isoformat(),
                "resolution_ref": ref,
                "replaced": not w.created,
            }
        }
        return jsonify(body), 201 if w.created else 200
    flash(gettext("Opinia rady zapisana.") if w.created else gettext("Opinia rady zmieniona."))
    return redirect(permalink(_layer(PROPOSALS), proposal_id))


# --- priorities ------------------------------------------------------------------------------


class _Stale(Exception):
    """The district's list of proposals changed between the form and the save."""


@bp.get("/<int:number>/priorities")
def priorities(number: int):
    return _priorities(number)


@bp.post("/<int:number>/priorities")
@login_required
@rate_limit("council_priorities", limit=60, per=600)
def save_priorities(number: int):
    if not is_member(current_user(), number):
        return _forbidden()
    return _priorities(number)


def _priorities(number: int):
    user = current_user()
    member = is_member(user, number)
    vis = visibility()
    with engine().connect() as conn:
        d = _district_or_404(conn, number)
        eds = gc.editions(conn, number, vis)
        edition = _arg_int("edition", 2013, 2100) or (eds[0] if eds else None)
        rows = gc.district_proposals(conn, number, edition, vis) if edition else []
    for r in rows:
        r["url"] = permalink(_layer(PROPOSALS), r["id"])
        r["cost_text"] = _money(r["cost"])
        r["status_title"] = _status_title("proposals", r["status"])
        r["opinion_title"] = opinion_title(r["opinion"])
    ctx = {"d": d, "edition": edition, "editions": eds, "rows": rows, "member": member}
    if request.method == "GET":
        form = {f"rank-{r['id']}": r["rank"] or "" for r in rows}
        return render_template("councils/priorities.html", form=form, errors={}, **ctx)
    form = _form()
    if edition is None:
        abort(404, description=gettext("W tej dzielnicy nie ma projektów do uszeregowania."))
    try:
        ranks = _parse_ranks(form, [r["id"] for r in rows])
    except FormError as exc:
        return form_error_response(exc, "councils/priorities.html", form=form, **ctx)
    assert user is not None
    try:
        with engine().begin() as conn:
            n = gc.set_priorities(conn, number, edition, ranks, user.id, vis)
            if n != len(ranks):  # a proposal left the list meanwhile: roll everything back
                raise _Stale
            record_audit(
                conn,
                user.id,
                "council.priorities",
                "council_priorities",
                None,
                reason=json.dumps(
                    {"district": number, "edition": edition, "ranks": ranks}, ensure_ascii=False
                )[:2000],
            )
    except _Stale:
        return form_error_response(
            field_error("ranks", "stale", gettext("Lista projektów zmieniła się. Odśwież stronę.")),
            "councils/priorities.html",
            form=form,
            **ctx,
        )
    if wants_api():
        return jsonify({"district": number, "edition": edition, "ranks": ranks})
    flash(
        ngettext("Zapisano kolejność %(num)d projektu.", "Zapisano kolejność %(num)d projektów.", n)
    )
    return redirect(url_for("councils.priorities", number=number, edition=edition))


def _parse_ranks(form: dict[str, Any], ids: list[int]) -> dict[int, int]:
    """``rank-<id>`` fields: blank = unranked; a number 1..RANK_MAX, each used once."""
    errors: dict[str, tuple[str, str]] = {}
    ranks: dict[int, int] = {}
    seen: dict[int, int] = {}
    allowed = set(ids)
    for key, raw in form.items():
        if not key.startswith("rank-"):
            continue
        suffix = key.removeprefix("rank-")
        if not suffix.isdigit() or int(suffix) not in allowed:
            errors[key] = (
                "unknown",
                gettext("Pole „%(f)s”: nie ma takiego projektu na liście.", f=short(key, 40)),
            )
            continue
        value = str(raw if raw is not None else "").strip()
        if not value:
            continue
        if not value.isdigit() or not 1 <= int(value) <= gc.RANK_MAX:
            errors[key] = (
                "invalid",
                gettext(
                    "Pole „Priorytet”: podaj liczbę od 1 do %(n)d albo zostaw puste.", n=gc.RANK_MAX
                ),
            )
            continue
        rank = int(value)
        if rank in seen:
            errors[key] = (
                "duplicate",
                gettext("Pole „Priorytet”: numer %(n)d jest już użyty.", n=rank),
            )
            continue
        seen[rank] = int(suffix)
        ranks[int(suffix)] = rank
    if errors:
        raise FormError(errors)
    return ranks


# --- the report ------------------------------------------------------------------------------


def _report(conn: Connection, number: int) -> tuple[dict[str, Any], gc.Report]:
    d = _district_or_404(conn, number)
    edition = _arg_int("edition", 2013, 2100)
    rep = gc.report(conn, number, visibility(), edition)
    assert rep is not None
    return d, rep


def _report_context(conn: Connection, d: dict[str, Any], rep: gc.Report) -> dict[str, Any]:
    lng = lang()
    ly = _layer(PROPOSALS)
    scope, cat = ly.field("scope"), ly.field("category")
    for r in rep.proposals + rep.citywide:
        r["url"] = permalink(ly, r["id"])
        r["status_title"] = _status_title("proposals", r["status"])
        r["category_title"] = choice_title(cat, r["category"], lng) if r["category"] else ""
        r["scope_title"] = choice_title(scope, r["scope"], lng)
        r["cost_text"] = _money(r["cost"])
        r["opinion_title"] = opinion_title(r["opinion"])
    labels = {k: opinion_title(k) for k in gc.OPINIONS}
    labels[None] = gettext("bez opinii")  # type: ignore[index]
    located = sum(1 for r in rep.proposals + rep.citywide if r["geometry_type"])
    svg = gc.svg_map(
        conn,
        rep,
        title=gettext("Mapa: %(name)s", name=d["full_name"]),
        description=gettext(
            "Granica dzielnicy i %(n)d projektów z położeniem, oznaczonych numerami z tabeli; "
            "kolor oznacza opinię rady.",
            n=located,
        ),
        labels=labels,
    )
    args = {"edition": rep.edition} if rep.edition else {}
    pool = rep.pool
    cons = registry.get("consultations")
    stage_titles = {}
    if cons is not None and cons.status_field:
        st = cons.field(cons.status_field)
        stage_titles = {c: choice_title(st, c, lng) for c in st.choices}
    return {
        "stage_titles": stage_titles,
        "d": d,
        "rep": rep,
        "svg": svg,
        "money_asked": _money(rep.money_asked),
        "money_in_play": _money(rep.money_in_play),
        "citywide_money": _money(rep.citywide_money),
        "pool_text": _money(pool["budget"]) if pool else "",
        "pool_ratio": None if rep.pool_ratio is None else f"{rep.pool_ratio * 100:.0f}",
        "status_rows": [
            {"title": _status_title("proposals", s), "count": n}
            for s, n in sorted(rep.status_counts.items(), key=lambda kv: -kv[1])
        ],
        "opinion_rows": [
            {"title": labels[k if k != "none" else None], "count": n}  # type: ignore[index]
            for k, n in rep.opinion_counts.items()
        ],
        "csv_url": url_for("councils.report_csv", number=d["number"], **args),
        "gpkg_url": url_for("councils.report_gpkg", number=d["number"], **args),
        "pdf_url": url_for("councils.report_pdf", number=d["number"], **args)
        if chromium_path()
        else None,
        "generated": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "edition_urls": [
            {"edition": e, "url": url_for("councils.report", number=d["number"], edition=e)}
            for e in rep.editions
        ],
    }


@bp.get("/<int:number>/report")
def report(number: int):
    with engine().connect() as conn:
        d, rep = _report(conn, number)
        ctx = _report_context(conn, d, rep)
    return render_template("councils/report.html", **ctx)


def _basename(rep: gc.Report) -> str:
    ed = f"-{rep.edition}" if rep.edition else ""
    return f"raport-rada-dzielnicy-{rep.district['number']}{ed}"


def _export(number: int, fmt: str) -> Response:
    with engine().connect() as conn:
        d, rep = _report(conn, number)
        meta = gx.ExportMeta(
            layer=f"council-report-{number}",
            title=f"Raport dla Rady Dzielnicy {d['roman']} {d['name']}"
            + (f" — Budżet Obywatelski {rep.edition}" if rep.edition else ""),
            source="Civic Map Kraków: projekty budżetu obywatelskiego i opinie rad dzielnic",
            licence=_layer(PROPOSALS).ogc.license,
            attribution=_layer(PROPOSALS).ogc.attribution,
            crs=4326,
            url=request.url,
            filters={"district": number, "edition": rep.edition},
        )
        out_dir = Path(tempfile.mkdtemp(prefix="civicmap-council-"))
        try:
            path = gc.write_report(conn, rep, fmt, meta, out_dir, _basename(rep))
            data = path.read_bytes()
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
    f = gx.get_format(fmt)
    resp = Response(data, mimetype=f.media_type.split(";")[0])
    if f.key == "csv":
        resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="{_basename(rep)}{f.suffix}"'
    return resp


@bp.get("/<int:number>/report.csv")
@rate_limit("council_report_file", limit=60, per=60, methods=("GET",))
def report_csv(number: int):
    return _export(number, "csv")


@bp.get("/<int:number>/report.gpkg")
@rate_limit("council_report_file", limit=60, per=60, methods=("GET",))
def report_gpkg(number: int):
    return _export(number, "gpkg")


def chromium_path() -> str | None:
    """The Chromium that prints the report to PDF (config COUNCIL_CHROMIUM), if installed."""
    path = current_app.config.get("COUNCIL_CHROMIUM", "/usr/bin/chromium")
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def html_to_pdf(html: str, chromium: str, timeout: int = 90) -> bytes:
    """Print a self-contained HTML page (no scripts, no outside URLs) with headless Chromium."""
    with tempfile.TemporaryDirectory(prefix="civicmap-pdf-") as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(html, encoding="utf-8")
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={tmp}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            src.as_uri(),
        ]
        proc = subprocess.run(
            cmd, capture_output=True, timeout=timeout, check=False, env={**os.environ, "HOME": tmp}
        )
        if not out.exists() or out.stat().st_size == 0:
            log.error("chromium made no PDF (%s): %s", proc.returncode, proc.stderr[-2000:])
            raise RuntimeError("chromium produced no PDF")
        return out.read_bytes()


@bp.get("/<int:number>/report.pdf")
@rate_limit("council_report_pdf", limit=10, per=60, methods=("GET",))
def report_pdf(number: int):
    chromium = chromium_path()
    if not chromium:
        abort(404, description=gettext("PDF jest niedostępny: na serwerze nie ma Chromium."))
    with engine().connect() as conn:
        d, rep = _report(conn, number)
        ctx = _report_context(conn, d, rep)
    static = Path(current_app.static_folder or "static")
    css = "\n".join(
        (static / "css" / name).read_text(encoding="utf-8")
        for name in ("civicmap.css", "print.css")
    )
    html = render_template("councils/report_pdf.html", css=css, **ctx)
    try:
        pdf = html_to_pdf(html, chromium)
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        abort(503, description=gettext("Nie udało się przygotować PDF. Spróbuj ponownie później."))
    resp = Response(pdf, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'attachment; filename="{_basename(rep)}.pdf"'
    return resp


# --- opinions on the proposal's own page (an include in layers/feature.html) -------------------


@bp.app_template_global("council_opinions")
def council_opinions(layer_name: str, feature_id: int) -> list[dict[str, Any]]:
    """The councils' public opinions on a budget proposal, for its permalink page."""
    if layer_name != PROPOSALS:
        return []
    with engine().connect() as conn:
        ops = gc.opinions_for(conn, [int(feature_id)]).get(int(feature_id), [])
    for o in ops:
        o["roman"] = roman(o["district"])
        o["opinion_title"] = opinion_title(o["opinion"])
        o["council_url"] = url_for("councils.queue", number=o["district"])
    return ops


@bp.app_template_global("council_opinion_links")
def council_opinion_links(layer_name: str, districts: list[int]) -> list[dict[str, Any]]:
    """For a council member viewing a proposal of their district: where to record an opinion."""
    user = current_user()
    if layer_name != PROPOSALS or user is None:
        return []
    return [{"district": n, "roman": roman(n)} for n in districts or [] if is_member(user, int(n))]


# --- notifications ---------------------------------------------------------------------------

_KIND_SQL = {
    "budget_proposals": (
        "SELECT p.title, p.districts, p.author_id FROM budget_proposals p "
        "WHERE p.id = :id AND p.hidden_at IS NULL AND p.status = ANY(:states)"
    ),
    "consultation_comments": (
        "SELECT left(c.body, 120) AS title, c.districts, c.author_id FROM consultation_comments c "
        "WHERE c.id = :id AND c.hidden_at IS NULL AND c.status = ANY(:states)"
    ),
}


def mail_enabled() -> bool:
    """E-mail council members too? COUNCIL_MAIL; by default only where SMTP is configured."""
    cfg = current_app.config
    value = cfg.get("COUNCIL_MAIL")
    if value is None:
        return bool(cfg.get("SMTP_HOST"))
    return str(value).lower() not in ("0", "false", "no", "")


def notify_council(
    conn: Connection,
    district_numbers: list[int] | tuple[int, ...] | None,
    kind: str,
    target_id: int,
) -> int:
    """Tell the councils of these districts that something new landed there.

    Call it in the transaction that makes a proposal or a comment public — after a proposal
    is submitted, after a comment is published, and when a moderator approves content that
    waited — with the districts to tell (``None``: every district the item lies in, as the
    database computed them; a list is intersected with those)::

        notify_council(conn, None, "budget_proposals", row.id)

    ``kind`` is the table (``budget_proposals`` / ``consultation_comments``). Content that
    is not public (a draft, held for moderation) is skipped, so calling it at every such
    point is safe; a member is told once per item. Members get an in-app notification; an
    e-mail too where configured (:func:`mail_enabled`), sent only after the transaction has
    committed (never for a write that rolled back). Returns the notifications created.
    """
    if kind not in _KIND_SQL:  # content councils do not follow (e.g. another moderated table)
        return 0
    vis = visibility()
    states = vis.proposal_states if kind == "budget_proposals" else vis.comment_states
    item = conn.execute(text(_KIND_SQL[kind]), {"id": target_id, "states": list(states)}).first()
    if item is None:
        return 0
    located = set(item.districts or ())
    if district_numbers is not None:
        located &= {int(n) for n in district_numbers}
    wanted = sorted(located)
    if not wanted:
        return 0
    members = gc.council_members(conn, wanted)
    already = {
        r[0]
        for r in conn.execute(
            text(
                "SELECT user_id FROM notifications WHERE user_id = ANY(:u) "
                "AND message_key = 'council_new_item' AND params @> CAST(:p AS jsonb)"
            ),
            {
                "u": [m["id"] for m in members] or [0],
                "p": json.dumps({"kind": kind, "id": target_id}),
            },
        )
    }
    title = short(item.title or "", 120)
    sent = []
    for m in members:
        if m["id"] in already or m["id"] == item.author_id:
            continue
        district = int(m["council_district"])
        notify(
            conn,
            m["id"],
            "council_new_item",
            kind=kind,
            id=target_id,
            title=title,
            district=f"{roman(district)}",
        )
        already.add(m["id"])
        sent.append((m, district))
    if sent and has_request_context() and mail_enabled():
        _mail_after_commit(
            [(m["id"], m["email"], m["name"], d) for m, d in sent if m["confirmed"] and m["email"]],
            kind,
            target_id,
            title,
        )
    return len(sent)


def _mail_after_commit(
    recipients: list[tuple[int, str, str, int]], kind: str, target_id: int, title: str
) -> None:
    if not recipients:
        return
    from app.auth import external_url
    from app.mail import send_mail
    from app.moderation import kind_label

    link = external_url("layer_pages.feature_page", layer=TABLE_OF_KIND[kind], feature_id=target_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    @after_this_request
    def _send(resp):
        with app.extensions["engine"].connect() as conn:
            committed = {
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT user_id FROM notifications WHERE user_id = ANY(:u) "
                        "AND message_key = 'council_new_item' AND params @> CAST(:p AS jsonb)"
                    ),
                    {
                        "u": [r[0] for r in recipients],
                        "p": json.dumps({"kind": kind, "id": target_id}),
                    },
                )
            }
        for uid, email, name, district in recipients:
            if uid not in committed:
                continue
            with force_locale("pl"):
                subject = gettext(
                    "Nowy wpis w dzielnicy %(d)s — Civic Map Kraków", d=roman(district)
                )
                body = gettext(
                    "Dzień dobry %(name)s,\n\nw dzielnicy %(d)s pojawił się nowy wpis "
                    "(%(kind)s): „%(title)s”.\n\n%(link)s\n\nTę wiadomość dostajesz jako "
                    "członek rady dzielnicy w Civic Map Kraków.",
                    name=name,
                    d=roman(district),
                    kind=kind_label(kind),
                    title=title,
                    link=link,
                )
            try:
                send_mail(email, subject, body)
            except (OSError, smtplib.SMTPException):
                log.exception("could not mail council member %s", uid)
        return resp


def init_app(app) -> None:
    app.register_blueprint(bp)
