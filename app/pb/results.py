"""Results pages of the participatory budget (``/budget/<year>/results``): per pool the
ranking by Kraków's rule with the funding line, where the published result departs from the
rule, the Method of Equal Shares beside it, turnout per district; CSV and GPKG (EPSG:2178)
exports. Also registers the voting pages (app/pb/vote.py): one WEB_MODULES line for both."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, render_template

from app.db import engine
from app.errors import wants_api
from app.views import district_spec, map_spec, page_map
from civic.pb import ballots as B
from civic.pb import results as R
from geo.export_csv import dict_rows_csv
from layers.pb_results import LAYER as RESULTS_LAYER

bp = Blueprint("pb_results", __name__, url_prefix="/budget")


def init_app(app) -> None:
    from app.pb import execution, vote

    app.register_blueprint(bp)
    app.register_blueprint(vote.bp)
    app.register_blueprint(execution.bp)


def _report(year: int):
    """The edition's results; kept in pb_result_rows (the pb-results layer: map, OGC API
    collection for MSIP) whenever they changed."""
    with engine().begin() as conn:
        if year not in R.editions(conn):
            abort(404)
        report = R.report(conn, year)
        R.store(conn, year, report)
        return report, B.turnout(conn, year), B.turnout_by_point(conn, year)


@bp.get("/<int:year>/results")
def results(year: int):
    report, turnout, points = _report(year)
    if wants_api():
        return jsonify(
            {
                "edition": year,
                "pools": [
                    {
                        **r["comparison"].as_dict(),
                        "budget": float(r["pool"].budget),
                        "ballots": r["pool"].ballots,
                        "greedy": sorted(r["greedy"]),
                        "mes": None if r["mes"] is None else sorted(r["mes"]),
                        "share_greedy": r["share_greedy"],
                        "share_mes": r["share_mes"],
                    }
                    for r in report
                ],
                "turnout": turnout,
                "turnout_by_point": points,
            }
        )
    # the winners on the map: every project of the edition, coloured funded / not funded
    fmap = page_map([district_spec(), map_spec(RESULTS_LAYER, params={"edition": year})])
    return render_template(
        "pb/results.html",
        year=year,
        report=report,
        turnout=turnout,
        points=points,
        fmap=fmap,
    )


@bp.get("/<int:year>/results.csv")
def results_csv(year: int):
    with engine().connect() as conn:
        if year not in R.editions(conn):
            abort(404)
        rows = R.export_rows(conn, year)
    # UTF-8 with a BOM (Excel), no cell a spreadsheet would run as a formula (issue 14 #4)
    body = dict_rows_csv(rows, list(rows[0]) if rows else ["edition"])
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="results_{year}.csv"'},
    )


@bp.get("/<int:year>/results.gpkg")
def results_gpkg(year: int):
    with engine().connect() as conn:
        if year not in R.editions(conn):
            abort(404)
        data = R.export_gpkg(conn, year)
    return Response(
        data,
        mimetype="application/geopackage+sqlite3",
        headers={"Content-Disposition": f'attachment; filename="results_{year}_2178.gpkg"'},
    )
