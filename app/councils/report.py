"""``/councils/<n>/report``: the report for a council meeting (HTML with print CSS, CSV,
GeoPackage, and PDF when Chromium is installed)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import Connection

from app import engine
from app.councils.common import arg_int, bp, found, money, opinion_title, status_title
from app.security import rate_limit
from app.views import choice_title, lang, permalink
from civic import councils
from civic.councils import OPINIONS, PROPOSALS, Report
from civic.councils.common import layer
from civic.councils.report_files import basename
from layers import registry


def _report(conn: Connection, number: int) -> tuple[dict[str, Any], Report]:
    with found():
        d = councils.district(conn, number)
    rep = councils.report(conn, number, councils.visibility(), arg_int("edition", 2013, 2100))
    assert rep is not None
    return d, rep


def _report_context(conn: Connection, d: dict[str, Any], rep: Report) -> dict[str, Any]:
    lng = lang()
    ly = layer(PROPOSALS)
    scope, cat = ly.field("scope"), ly.field("category")
    for r in rep.proposals + rep.citywide:
        r["url"] = permalink(ly, r["id"])
        r["status_title"] = status_title("proposals", r["status"])
        r["category_title"] = choice_title(cat, r["category"], lng) if r["category"] else ""
        r["scope_title"] = choice_title(scope, r["scope"], lng)
        r["cost_text"] = money(r["cost"])
        r["opinion_title"] = opinion_title(r["opinion"])
    labels = {k: opinion_title(k) for k in OPINIONS}
    labels[None] = gettext("bez opinii")  # type: ignore[index]
    located = sum(1 for r in rep.proposals + rep.citywide if r["geometry_type"])
    svg = councils.svg_map(
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
        "money_asked": money(rep.money_asked),
        "money_in_play": money(rep.money_in_play),
        "citywide_money": money(rep.citywide_money),
        "pool_text": money(pool["budget"]) if pool else "",
        "pool_ratio": None if rep.pool_ratio is None else f"{rep.pool_ratio * 100:.0f}",
        "status_rows": [
            {"title": status_title("proposals", s), "count": n}
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


def _csv_labels() -> dict[str, Any]:
    """The report CSV's coded columns as labels in the reader's language."""
    lng = lang()
    ly = layer(PROPOSALS)
    scope, cat = ly.field("scope"), ly.field("category")
    return {
        "status": lambda v: status_title("proposals", v),
        "kategoria": lambda v: choice_title(cat, v, lng),
        "zasieg": lambda v: choice_title(scope, v, lng),
        "opinia": opinion_title,
    }


def _export(number: int, fmt: str) -> Response:
    with engine().connect() as conn:
        d, rep = _report(conn, number)
        f = councils.report_file(conn, d, rep, fmt, url=request.url, labels=_csv_labels())
    resp = Response(f.data, mimetype=f.media_type)
    if fmt == "csv":
        resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="{f.filename}"'
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
    return councils.find_chromium(current_app.config.get("COUNCIL_CHROMIUM", "/usr/bin/chromium"))


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
        pdf = councils.html_to_pdf(html, chromium)
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        abort(503, description=gettext("Nie udało się przygotować PDF. Spróbuj ponownie później."))
    resp = Response(pdf, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'attachment; filename="{basename(rep)}.pdf"'
    return resp
