"""The planners' routes, the same for every analysis of civic.planning.registry:

``/planners/<analysis>`` the page (a map, a table, a PNG chart, files), ``/planners/api/
<analysis>.geojson`` its map features, ``/planners/api/<analysis>`` its result as JSON,
``/planners/<analysis>/export.<csv|gpkg|png>`` its files. Slow analyses run through
civic.planning.jobs: a request waits ``PLANNERS_INLINE_WAIT`` seconds (default 1.5); a result
not ready by then is computed in the background while the page shows its progress
(static/js/planners.js polls ``/planners/api/jobs/<key>`` and reloads when done).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask_babel import gettext

from app import engine
from app.errors import ApiError
from app.planners import web
from app.security import rate_limit
from civic.planning import history, registry
from civic.planning.base import FORMATS, Analysis, Parsed
from civic.planning.files import file_bytes
from civic.planning.text import Text, short
from geo import export as gx

bp = Blueprint("planners", __name__, url_prefix="/planners")


@bp.get("")
def index():
    t = web.speech()
    with engine().connect() as conn:
        overview = history.overview(conn, t)
    return render_template(
        "planners/index.html",
        title=gettext("Analizy dla planistów"),
        nav=web.nav(),
        summaries=[
            {
                "title": n["title"],
                "text": t.gettext(registry.get(n["view"]).summary),
                "url": n["url"],
            }
            for n in web.nav()
        ],
        **overview,
        **web.audience(),
    )


@bp.get("/<analysis>")
def page(analysis: str):
    a = web.analysis_or_404(analysis)
    t = web.speech()
    p = web.parsed(a, t)
    ctx: dict = {}
    if a.context is not None:
        with engine().connect() as conn:
            ctx = a.context(conn, t)
    if not p.ok:
        return web.render(a, p, t, **ctx)
    st, payload = web.result(a, p.values, web.inline_wait())
    if payload is None:
        return web.render(a, p, t, job=web.job_context(st), **ctx)
    return web.render(a, p, t, **ctx, **web.page_context(a, p, payload, t))


def _pending(st):
    body = {"job": st.as_dict(), "status_url": url_for("planners.job_status", key=st.key)}
    if st.state == "failed":
        return jsonify({"error": {"code": "analysis_failed", "message": gettext(
            "Analiza się nie powiodła. Spróbuj ponownie za chwilę.")}, **body}), 503  # fmt: skip
    return jsonify(body), 202


@bp.get("/api/<analysis>.geojson")
def api_map(analysis: str):
    a = web.analysis_or_404(analysis)
    t = web.speech()
    p = web.parsed_or_error(a, t)
    st, payload = web.result(a, p.values, web.inline_wait())
    if payload is None:
        return _pending(st)
    with engine().connect() as conn:
        body = a.features(conn, p.values, payload, t)
    resp = Response(body, mimetype="application/geo+json")
    resp.headers["Cache-Control"] = "private, max-age=60"
    return resp


@bp.get("/api/<analysis>")
def api_data(analysis: str):
    """The analysis' result as JSON: its parameters and its payload."""
    a = web.analysis_or_404(analysis)
    p = web.parsed_or_error(a, web.speech())
    st, payload = web.result(a, p.values, web.inline_wait())
    if payload is None:
        return _pending(st)
    return jsonify({"analysis": a.name, "parameters": p.values, "result": payload})


@bp.get("/api/turnout.json")
def api_turnout():
    """Ballots of the city-wide vote by the voter's district (the numbers of the history page)."""
    p = web.parsed_or_error(history.ANALYSIS, web.speech())
    with engine().connect() as conn:
        return jsonify(history.turnout_json(conn, p.values))


@bp.get("/api/jobs/<key>")
def job_status(key: str):
    if not key.isalnum() or len(key) > 64:
        raise ApiError(400, "invalid_parameter", gettext("Nieprawidłowy identyfikator."), "key")
    st = web.store().status(key)
    if st.state == "missing":
        raise ApiError(404, "not_found", gettext("Nie ma takiego obliczenia."), "key")
    body = st.as_dict()
    if st.state == "failed":
        body["message"] = gettext("Analiza się nie powiodła. Spróbuj ponownie za chwilę.")
    return jsonify(body)


# --- files: PNG chart, CSV, GeoPackage -------------------------------------------------------------


@bp.get("/<analysis>/export.<fmt>")
@rate_limit("planners_file", limit=60, per=60, methods=("GET",))
def export(analysis: str, fmt: str):
    if fmt not in FORMATS:
        raise _bad_format(fmt)
    a, chart_name = registry.get(analysis), analysis
    if a is None and (owner := registry.chart_owner(analysis)) is not None:
        a = owner  # a further chart of an analysis (history's "turnout"); its files are the owner's
        if fmt != "png":
            chart_name = a.name
    if a is None:
        raise ApiError(404, "not_found", gettext("Nie ma takiej analizy."), "view")
    if fmt not in a.formats:
        raise _bad_format(fmt)
    t = web.speech()
    p = web.parsed_or_error(a, t)
    st, payload = web.result(a, p.values, web.export_wait())
    if payload is None:
        raise ApiError(
            503,
            "analysis_pending",
            gettext("Analiza jeszcze się liczy. Spróbuj ponownie za chwilę."),
        )
    base = p.basename(chart_name)
    if fmt == "png":
        return _png(a, chart_name, p, payload, t, base)
    return _file(a, fmt, p, payload, t, base)


def _bad_format(fmt: str) -> ApiError:
    return ApiError(
        400,
        "invalid_parameter",
        gettext("Nieznany format „%(f)s”: csv, gpkg albo png.", f=short(fmt, 20)),
        "format",
    )


def _png(a: Analysis, name: str, p: Parsed, payload, t: Text, base: str) -> Response:
    draw = a.charts.get(name) or a.chart
    if draw is None:
        raise ApiError(404, "not_found", gettext("Nie ma takiej analizy."), "view")
    with engine().connect() as conn:
        data = draw(conn, p.values, payload, t)
    resp = Response(data, mimetype="image/png")
    resp.headers["Content-Disposition"] = f'inline; filename="{base}.png"'
    resp.headers["Cache-Control"] = "private, max-age=60"
    return resp


def _file(a: Analysis, fmt: str, p: Parsed, payload, t: Text, base: str) -> Response:
    with engine().connect() as conn:
        table = a.table(conn, p.values, payload, t)
    meta = gx.ExportMeta(
        layer=f"planners-{a.name}",
        title=table.title,
        source="Civic Map Kraków — analizy dla planistów (/planners)",
        licence=table.licence,
        attribution=table.attribution,
        crs=4326,
        url=request.url,
        filters={k: v for k, v in table.filters.items() if v is not None},
    )
    data = file_bytes(table.rows, table.columns, fmt, meta, base)
    f = gx.get_format(fmt)
    resp = Response(data, mimetype=f.media_type.split(";")[0])
    if f.key == "csv":
        resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="{base}{f.suffix}"'
    return resp
