"""Demand per district: proposals, comments, supports and money asked in each district, in
numbers, per 1 000 residents and against the district's pool (a choropleth of the districts)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.planning import charts
from civic.planning.base import Analysis, Column, Param, Table, edition_choices
from civic.planning.common import (
    Public,
    comment_supports_source,
    comments_source,
    editions,
    per_1000,
    population_date,
    population_label,
    proposal_supports_source,
    proposals_source,
    public,
)
from civic.planning.maps import (
    class_title,
    classify,
    district_choropleth,
    district_outlines,
    quantile_breaks,
    sequential_classes,
)
from civic.planning.text import Text
from geo.analysis.demand import demand_by_district, district_pools

DEMAND_METRICS = (
    "proposals_per_1000",
    "proposals",
    "money",
    "money_per_resident",
    "asked_to_pool",
    "comments",
    "comments_per_1000",
    "supports",
    "supports_per_1000",
)

POOL_BREAKS = (1.0, 2.0, 3.0, 4.0)  # money asked / pool
METRIC_TITLES = {
    "proposals_per_1000": N_("Projekty na 1000 mieszkańców"),
    "proposals": N_("Projekty (liczba)"),
    "money": N_("Wnioskowana kwota (zł)"),
    "money_per_resident": N_("Wnioskowana kwota na mieszkańca (zł)"),
    "asked_to_pool": N_("Wnioskowana kwota względem puli dzielnicy"),
    "comments": N_("Uwagi z konsultacji (liczba)"),
    "comments_per_1000": N_("Uwagi na 1000 mieszkańców"),
    "supports": N_("Poparcia (liczba)"),
    "supports_per_1000": N_("Poparcia na 1000 mieszkańców"),
}
METRIC_DECIMALS = {
    "proposals_per_1000": 2,
    "money_per_resident": 2,
    "comments_per_1000": 2,
    "supports_per_1000": 2,
}


def demand_view(conn: Connection, pub: Public, edition: int | None) -> dict[str, Any]:
    """Per district: proposals, money asked (vs the edition's pool), comments and supports,
    absolute and per 1 000 registered residents.

    Supports are the support-list signatures of the proposals plus the supports of comments.
    Comments belong to consultations, not to budget editions: they are always all of them.
    A proposal in several districts counts (with its whole cost) in each.
    """
    pools = district_pools(conn, edition) if edition is not None else None
    prop = demand_by_district(conn, proposals_source(pub, edition), pools)
    com = demand_by_district(conn, comments_source(pub), cost_column=None)
    sup_p = demand_by_district(conn, proposal_supports_source(pub, edition), cost_column=None)
    sup_c = demand_by_district(conn, comment_supports_source(pub), cost_column=None)
    rows = []
    for d, c, s1, s2 in zip(
        prop.districts, com.districts, sup_p.districts, sup_c.districts, strict=True
    ):
        supports = s1.count + s2.count
        rows.append(
            {
                "number": d.number,
                "name": d.name,
                "population": d.population,
                "proposals": d.count,
                "proposals_per_1000": d.per_1000,
                "money": d.money,
                "money_per_resident": d.money_per_resident,
                "pool": d.pool,
                "asked_to_pool": d.asked_to_pool,
                "comments": c.count,
                "comments_per_1000": c.per_1000,
                "supports": supports,
                "supports_per_1000": per_1000(supports, d.population),
            }
        )
    citywide_pool = None
    if edition is not None:
        citywide_pool = conn.execute(
            text(
                "SELECT budget FROM budget_pools WHERE edition = :e AND scope = 'citywide' "
                "AND district = 0"
            ),
            {"e": edition},
        ).scalar_one_or_none()
    return {
        "edition": edition,
        "rows": rows,
        "total_proposals": prop.total_count,
        "total_money": prop.total_money,
        "unlocated": prop.unlocated_count,
        "comments": com.total_count,
        "citywide_pool": float(citywide_pool) if citywide_pool is not None else None,
        "has_pools": bool(pools),
    }


def metric_breaks(metric: str, values: Iterable[float | None]) -> list[float]:
    if metric == "asked_to_pool":
        return list(POOL_BREAKS)
    return quantile_breaks(values)


def params(conn: Connection, t: Text) -> list[Param]:
    eds = editions(conn, public())
    return [
        Param(
            "edition",
            t.gettext("Edycja"),
            "edition",
            eds[0] if eds else None,
            choices=edition_choices(eds, t.gettext("Wszystkie edycje")),
        ),
        Param(
            "metric",
            t.gettext("Miara na mapie"),
            "choice",
            "proposals_per_1000",
            choices=[(m, t.gettext(METRIC_TITLES[m])) for m in DEMAND_METRICS],
        ),
    ]


def compute(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "view": demand_view(conn, public(), values["edition"]),
        "pop_date": population_date(conn),
    }


def format_metric(t: Text, metric: str, value: float | None) -> str:
    if metric == "asked_to_pool":
        return t.percent(value)
    if metric in ("money", "money_per_resident"):
        return "—" if value is None else t.num(value, METRIC_DECIMALS.get(metric, 0)) + " zł"
    return t.num(value, METRIC_DECIMALS.get(metric, 0))


def classes(values: dict[str, Any], payload: dict[str, Any], t: Text):
    """The legend and each district's class key on the map."""
    metric = values["metric"]
    rows = payload["view"]["rows"]
    breaks = metric_breaks(metric, [r[metric] for r in rows])
    keys = {}
    counts: dict[str, int] = {}
    for r in rows:
        c = classify(r[metric], breaks)
        keys[r["number"]] = "none" if c is None else str(c)
        counts[keys[r["number"]]] = counts.get(keys[r["number"]], 0) + 1
    return sequential_classes(t, breaks, lambda v: format_metric(t, metric, v), counts), keys


def page(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text):
    view, metric = payload["view"], values["metric"]
    legend, keys = classes(values, payload, t)
    metric_title = t.gettext(METRIC_TITLES[metric])
    rows = [
        [
            {"text": f"{r['number']}. {r['name']}", "header": True},
            {"text": t.num(r["population"]), "num": True},
            {"text": t.num(r["proposals"]), "num": True},
            {"text": t.num(r["proposals_per_1000"], 2), "num": True},
            {"text": t.money(r["money"]), "num": True},
            {"text": t.num(r["money_per_resident"], 2) + " zł", "num": True},
            {"text": t.money(r["pool"]), "num": True},
            {"text": t.percent(r["asked_to_pool"]), "num": True},
            {"text": t.num(r["comments"]), "num": True},
            {"text": t.num(r["comments_per_1000"], 2), "num": True},
            {"text": t.num(r["supports"]), "num": True},
            {"text": t.num(r["supports_per_1000"], 2), "num": True},
            {"text": class_title(legend, keys[r["number"]])},
        ]
        for r in view["rows"]
    ]
    columns = [
        t.gettext("Dzielnica"),
        t.gettext("Mieszkańcy"),
        t.gettext("Projekty"),
        t.gettext("Projekty na 1000 mieszk."),
        t.gettext("Wnioskowana kwota"),
        t.gettext("Kwota na mieszkańca"),
        t.gettext("Pula dzielnicy"),
        t.gettext("Kwota względem puli"),
        t.gettext("Uwagi"),
        t.gettext("Uwagi na 1000 mieszk."),
        t.gettext("Poparcia"),
        t.gettext("Poparcia na 1000 mieszk."),
        t.gettext("Klasa na mapie: %(metric)s", metric=metric_title),
    ]
    return {
        "result": view,
        "metric_title": metric_title,
        "classes": legend,
        "columns": columns,
        "rows": rows,
        "pop_label": population_label(t, payload["pop_date"]),
        "map": {
            "kind": "choropleth",
            "title": t.gettext("Dzielnice: %(metric)s", metric=metric_title),
            "classes": legend,
        },
        "png_alt": t.gettext(
            "Wykres słupkowy: %(metric)s w każdej dzielnicy.", metric=metric_title
        ),
        "edition": values["edition"],
        "totals": {
            "proposals": t.num(view["total_proposals"]),
            "money": t.money(view["total_money"]),
            "unlocated": t.num(view["unlocated"]),
            "citywide_pool": t.money(view["citywide_pool"]),
            "comments": t.num(view["comments"]),
        },
    }


def features(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> str:
    metric = values["metric"]
    _, keys = classes(values, payload, t)
    title = t.gettext(METRIC_TITLES[metric])
    props = {}
    for r in payload["view"]["rows"]:
        props[r["number"]] = {
            "cls": keys[r["number"]],
            "label": f"{r['number']}. {r['name']}: {title} — {format_metric(t, metric, r[metric])}",
            "value": r[metric],
            "proposals": r["proposals"],
            "proposals_per_1000": r["proposals_per_1000"],
            "money": r["money"],
            "pool": r["pool"],
            "asked_to_pool": r["asked_to_pool"],
            "comments": r["comments"],
            "supports": r["supports"],
        }
    return district_choropleth(conn, props)


def _edition_text(values: dict[str, Any], t: Text) -> str:
    return str(values["edition"]) if values["edition"] else t.gettext("wszystkie edycje")


def chart(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> bytes:
    metric = values["metric"]
    rows = payload["view"]["rows"]
    legend, keys = classes(values, payload, t)
    title = t.gettext(METRIC_TITLES[metric]) + f" — {_edition_text(values, t)}"
    colors = [next(c["color"] for c in legend if c["key"] == keys[r["number"]]) for r in rows]
    value_scale = 100.0 if metric == "asked_to_pool" else 1.0
    return charts.bar_chart(
        [f"{r['number']}. {r['name']}" for r in rows],
        [
            charts.Series(
                title, [None if r[metric] is None else r[metric] * value_scale for r in rows]
            )
        ],
        title=title,
        axis_label=t.gettext("procent puli dzielnicy") if metric == "asked_to_pool" else title,
        description=t.gettext("Wykres słupkowy: %(metric)s w każdej dzielnicy.", metric=title),
        decimals=METRIC_DECIMALS.get(metric, 0),
        colors=colors,
        note=t.gettext(
            "Ludność: %(label)s. Źródła: Pabulib, Civic Map Kraków.",
            label=population_label(t, payload["pop_date"]),
        ),
    )


C = Column


def table(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> Table:
    legend, keys = classes(values, payload, t)
    outlines = district_outlines(conn)
    rows = [
        {
            **r,
            "edition": values["edition"],
            "cls": class_title(legend, keys[r["number"]]),
            "geojson": outlines.get(r["number"]),
        }
        for r in payload["view"]["rows"]
    ]
    columns = [
        C("number", "int", "numer dzielnicy"),
        C("name", "text", "dzielnica"),
        C("edition", "int", "edycja (puste: wszystkie)"),
        C("population", "int", "zameldowani na pobyt stały"),
        C("proposals", "int", "projekty"),
        C("proposals_per_1000", "float", "projekty na 1000 mieszkańców"),
        C("money", "float", "wnioskowana kwota (zł)"),
        C("money_per_resident", "float", "kwota na mieszkańca (zł)"),
        C("pool", "float", "pula dzielnicy (zł)"),
        C("asked_to_pool", "float", "kwota / pula"),
        C("comments", "int", "uwagi"),
        C("comments_per_1000", "float", "uwagi na 1000 mieszkańców"),
        C("supports", "int", "poparcia"),
        C("supports_per_1000", "float", "poparcia na 1000 mieszkańców"),
        C("cls", "text", "klasa na mapie"),
    ]
    return Table(
        rows,
        columns,
        f"Zapotrzebowanie w dzielnicach — {_edition_text(values, t)}",
        attribution="Gmina Miejska Kraków (granice, ludność); Pabulib (dawne edycje)",
        filters={"edition": values["edition"], "metric": values["metric"]},
    )


ANALYSIS = Analysis(
    name="demand",
    titles={
        "pl": "Zapotrzebowanie w dzielnicach",
        "en": "Demand by district",
        "uk": "Попит за районами",
    },
    summary=N_(
        "Projekty, uwagi, poparcia i wnioskowane kwoty w każdej dzielnicy: w liczbach, na "
        "1000 mieszkańców i w porównaniu z pulą dzielnicy."
    ),
    params=params,
    compute=compute,
    features=features,
    table=table,
    chart=chart,
    page=page,
    template="planners/demand.html",
    # kept per process until one of these changes (civic.planning.jobs.memo): all editions
    # read every proposal (135 ms at 200 000), a kept answer one row of versions
    tables=(
        "budget_proposals",
        "consultation_comments",
        "proposal_supports",
        "comment_supports",
        "budget_pools",
    ),
)
