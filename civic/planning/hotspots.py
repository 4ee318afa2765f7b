"""Hot and cold spots: where ideas and comments cluster more than chance would give, Getis-Ord
Gi* on a hexagon grid with confidence classes (a grid map)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from civic import N_
from civic.planning import charts
from civic.planning.base import (
    BASELINE_TITLES,
    Analysis,
    Column,
    Param,
    Table,
    baseline_param,
    edition_choices,
    size_param,
)
from civic.planning.common import (
    cell_districts,
    comments_source,
    editions,
    located_counts,
    proposals_source,
    public,
)
from civic.planning.maps import feature_collection
from civic.planning.text import Text
from geo.analysis.hotspots import COLD, HOT, hotspots, p_cutoff
from geo.analysis.source import Source

CONFIDENCE_LEVELS = (0.01, 0.05, 0.10)  # hot/cold spots at 99 / 95 / 90 % confidence
HOT_COLORS = ("#b2182b", "#ef8a62", "#fddbc7")  # strongest first
COLD_COLORS = ("#2166ac", "#67a9cf", "#d1e5f0")
NS_COLOR = "#f7f7f7"
ROWS_SHOWN = 300
CORRECTION_TITLES = {
    "fdr": N_("FDR (Benjamini–Hochberg)"),
    "bonferroni": N_("Bonferroni"),
    "none": N_("bez poprawki"),
}
INFERENCE_TITLES = {
    "csr": N_("losowe położenie na powierzchni"),
    "population": N_("losowe położenie według liczby mieszkańców"),
    "permutation": N_("permutacje warunkowe (esda)"),
}
PARAMS = ("layers", "edition", "size", "alpha", "correction", "inference", "baseline")
# Below this many located points no cell is tested: with 4 points in the whole city a "99 %
# hot spot" says nothing (a cell needs several points in its neighbourhood to differ from
# chance at all, and the multiple-testing correction over hundreds of cells needs more).
MIN_POINTS = 30


def confidence_levels(alpha: float) -> list[float]:
    """The significance levels shown as classes: 0.01 / 0.05 / 0.10 up to ``alpha``."""
    return sorted({lv for lv in CONFIDENCE_LEVELS if lv <= alpha + 1e-12} | {float(alpha)})


def confidence_label(level: float) -> str:
    return format(round((1 - level) * 100, 1), "g")


def hotspot_payload(
    conn: Connection,
    sources: Sequence[Source],
    *,
    size: float,
    alpha: float,
    correction: str,
    inference: str,
    seed: int = 0,
    min_points: int = MIN_POINTS,
    baseline: str = "settlement",
) -> dict[str, Any]:
    """Gi* hot and cold spots with confidence classes (99 / 95 / 90 % as far as ``alpha``).

    A cell's class is the strictest level whose cut-off (with the same multiple-testing
    correction) its p-value passes: ``hot_99``, ``hot_95``, ``hot_90``, ``not_significant``,
    ``cold_90`` … and ``not_tested`` for slivers at the city edge.
    """
    res = hotspots(
        conn,
        list(sources),
        size,
        alpha=alpha,
        correction=correction,
        inference=inference,
        seed=seed,
        min_points=min_points,
        baseline=baseline,
    )
    tested = [c.p for c in res.cells if c.p is not None]
    levels = confidence_levels(alpha)
    cuts = {lv: (p_cutoff(tested, lv, correction) if tested else 0.0) for lv in levels}
    significant = [c for c in res.cells if c.cls in (HOT, COLD)]
    names = dict(
        zip(
            [c.id for c in significant],
            cell_districts(conn, [c.geojson for c in significant]),
            strict=True,
        )
    )
    cells = []
    counts: dict[str, int] = {}
    for c in res.cells:
        key = c.cls
        conf = None
        if c.cls in (HOT, COLD) and c.p is not None:
            level = next((lv for lv in levels if cuts[lv] > 0 and c.p <= cuts[lv]), levels[-1])
            conf = confidence_label(level)
            key = f"{c.cls}_{conf}"
        counts[key] = counts.get(key, 0) + 1
        cells.append(
            {
                "id": c.id,
                "geojson": c.geojson,
                "count": c.count,
                "value": None if c.value is None else round(c.value, 4),
                "z": None if c.z is None or not math.isfinite(c.z) else round(c.z, 3),
                "p": c.p,
                "cls": c.cls,
                "confidence": conf,
                "key": key,
                "share": round(c.share, 4),
                "district": names.get(c.id),
            }
        )
    return {
        "summary": {
            "size": res.size,
            "alpha": res.alpha,
            "correction": res.correction,
            "inference": res.inference,
            "p_cutoff": res.p_cutoff,
            "levels": [confidence_label(lv) for lv in levels],
            "n_points": res.n_points,
            "n_tested": res.n_tested,
            "n_tested_points": res.n_tested_points,
            "n_cells": len(res.cells),
            "rings": res.rings,
            "min_share": res.min_share,
            "notes": list(res.notes),
            "counts": counts,
            "min_points": res.min_points,
            "insufficient": res.insufficient,
            "baseline": baseline if inference == "population" else None,
        },
        "cells": cells,
    }


def params(conn: Connection, t: Text) -> list[Param]:
    eds = editions(conn, public())
    return [
        Param(
            "layers",
            t.gettext("Co analizować"),
            "choice",
            "all",
            choices=[
                ("all", t.gettext("projekty i uwagi")),
                ("proposals", t.gettext("tylko projekty")),
                ("comments", t.gettext("tylko uwagi z konsultacji")),
            ],
        ),
        Param(
            "edition",
            t.gettext("Edycja (projekty)"),
            "edition",
            None,
            choices=edition_choices(eds, t.gettext("Wszystkie edycje")),
        ),
        size_param(t),
        Param(
            "alpha",
            t.gettext("Najniższy poziom ufności"),
            "choice",
            "0.1",
            choices=[("0.1", "90 %"), ("0.05", "95 %"), ("0.01", "99 %")],
            tuning=True,
        ),
        Param(
            "correction",
            t.gettext("Poprawka na wielokrotne testowanie"),
            "choice",
            "fdr",
            choices=[
                ("fdr", t.gettext("FDR (Benjamini–Hochberg)")),
                ("bonferroni", t.gettext("Bonferroni")),
                ("none", t.gettext("bez poprawki")),
            ],
            tuning=True,
        ),
        Param(
            "inference",
            t.gettext("Hipoteza zerowa"),
            "choice",
            "csr",
            choices=[
                ("csr", t.gettext("losowe położenie na powierzchni (dokładny test)")),
                ("population", t.gettext("losowe położenie według liczby mieszkańców")),
                ("permutation", t.gettext("permutacje (esda)")),
            ],
            tuning=True,
        ),
        baseline_param(t),
    ]


def compute(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    pub = public()
    sources = []
    if values["layers"] in ("all", "proposals"):
        sources.append(proposals_source(pub, values["edition"]))
    if values["layers"] in ("all", "comments"):
        sources.append(comments_source(pub))
    return hotspot_payload(
        conn,
        sources,
        size=float(values["size"]),
        alpha=float(values["alpha"]),
        correction=values["correction"],
        inference=values["inference"],
        baseline=values["baseline"],
    )


def context(conn: Connection, t: Text) -> dict[str, Any]:
    return {"located": located_counts(conn, public())}


def legend(values: dict[str, Any], payload: dict[str, Any] | None, t: Text):
    summary = (payload or {}).get("summary")
    alpha = float(values["alpha"])
    levels = (summary or {}).get("levels") or [
        confidence_label(lv) for lv in confidence_levels(alpha)
    ]
    counts = (summary or {}).get("counts", {})

    def spot(kind: str, i: int, conf: str, title: str) -> dict[str, Any]:
        hot = kind == "hot"
        colors = HOT_COLORS if hot else COLD_COLORS
        return {
            "key": f"{kind}_{conf}",
            "color": colors[min(i, len(colors) - 1)],
            "stroke": "#67001f" if hot else "#053061",
            "weight": 2.5 - 0.5 * min(i, 2),
            "fill": 0.8,
            "title": title,
            "count": counts.get(f"{kind}_{conf}", 0),
        }

    out = [
        spot("hot", i, conf, t.gettext("gorący punkt, ufność %(c)s %%", c=conf))
        for i, conf in enumerate(levels)
    ]
    out.append(
        {
            "key": "not_significant",
            "color": NS_COLOR,
            "stroke": "#888888",
            "weight": 0.5,
            "fill": 0.5,
            "title": t.gettext("nieistotne statystycznie"),
            "count": counts.get("not_significant", 0),
        }
    )
    out += [
        spot("cold", i, conf, t.gettext("zimny punkt, ufność %(c)s %%", c=conf))
        for i, conf in reversed(list(enumerate(levels)))
    ]
    out.append(
        {
            "key": "not_tested",
            "color": "#ffffff",
            "stroke": "#888888",
            "weight": 1,
            "dash": "3 3",
            "fill": 0.1,
            "title": t.gettext("nie testowano (skrawek na granicy miasta)"),
            "count": counts.get("not_tested", 0),
        }
    )
    return out


def page(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text):
    summary = payload["summary"]
    classes = legend(values, payload, t)
    titles = {c["key"]: c["title"] for c in classes}
    sig = [c for c in payload["cells"] if c["cls"] in ("hot", "cold")]
    sig.sort(key=lambda c: (c["cls"] != "hot", -(abs(c["z"] or 0))))
    rows = [
        [
            {"text": str(c["id"]), "header": True},
            {"text": titles.get(c["key"], c["key"])},
            {"text": c["district"] or "—"},
            {"text": t.num(c["count"]), "num": True},
            {"text": t.num(c["z"], 2), "num": True},
            {"text": t.p(c["p"]), "num": True},
        ]
        for c in sig[:ROWS_SHOWN]
    ]
    class_rows = [
        [{"text": c["title"], "header": True}, {"text": t.num(c["count"]), "num": True}]
        for c in classes
    ]
    return {
        "result": payload,
        "summary": summary,
        "classes": classes,
        "rows": rows,
        "more_rows": max(0, len(sig) - ROWS_SHOWN),
        "class_rows": class_rows,
        "inference_title": t.gettext(INFERENCE_TITLES[summary["inference"]]),
        "baseline_title": t.gettext(BASELINE_TITLES[summary["baseline"]])
        if summary.get("baseline")
        else None,
        "correction_title": t.gettext(CORRECTION_TITLES[summary["correction"]]),
        "p_cutoff": t.p(summary["p_cutoff"]) if summary["p_cutoff"] else "—",
        "map": {
            "kind": "grid",
            "title": t.gettext("Siatka: gorące i zimne punkty (Gi*)"),
            "classes": classes,
            "outlines": True,
        },
        "png_alt": t.gettext("Wykres słupkowy: liczba komórek siatki w każdej klasie istotności."),
    }


def label(c: dict[str, Any], titles: dict[str, str], t: Text) -> str:
    parts = [titles.get(c["key"], c["key"]), t.gettext("punktów: %(n)s", n=c["count"])]
    if c["z"] is not None:
        parts.append(f"z = {t.num(c['z'], 2)}")
    if c["p"] is not None:
        parts.append(f"p = {t.p(c['p'])}")
    if c.get("district"):
        parts.append(c["district"])
    return " · ".join(parts)


def features(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> str:
    titles = {c["key"]: c["title"] for c in legend(values, payload, t)}
    return feature_collection(
        (
            c["id"],
            c["geojson"],
            {
                "cls": c["key"],
                "label": label(c, titles, t),
                "count": c["count"],
                "z": c["z"],
                "p": c["p"],
                "confidence": c["confidence"],
            },
        )
        for c in payload["cells"]
    )


def chart(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> bytes:
    classes = legend(values, payload, t)
    title = t.gettext("Komórki siatki według klasy Gi*")
    return charts.bar_chart(
        [c["title"] for c in classes],
        [charts.Series(title, [c["count"] for c in classes])],
        title=title,
        axis_label=t.gettext("liczba komórek"),
        description=title,
        colors=[c["color"] for c in classes],
        note=t.gettext(
            "Siatka %(size)s m, punktów: %(n)s.",
            size=t.num(payload["summary"]["size"]),
            n=t.num(payload["summary"]["n_points"]),
        ),
    )


C = Column


def table(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> Table:
    titles = {c["key"]: c["title"] for c in legend(values, payload, t)}
    rows = [{**c, "class_title": titles.get(c["key"], c["key"])} for c in payload["cells"]]
    columns = [
        C("id", "int", "komórka"),
        C("count", "int", "liczba punktów"),
        C("value", "float", "punkty na pełny sześciokąt"),
        C("z", "float", "z (Gi*)"),
        C("p", "float", "p"),
        C("key", "text", "klasa (kod)"),
        C("class_title", "text", "klasa"),
        C("confidence", "text", "ufność (%)"),
        C("share", "float", "część sześciokąta w mieście"),
        C("district", "text", "dzielnica (istotne komórki)"),
    ]
    return Table(
        rows,
        columns,
        "Gorące i zimne punkty (Getis-Ord Gi*) projektów i uwag",
        filters={k: values[k] for k in PARAMS},
    )


ANALYSIS = Analysis(
    name="hotspots",
    titles={
        "pl": "Skupiska pomysłów i uwag",
        "en": "Clusters of ideas and comments",
        "uk": "Скупчення ідей і зауважень",
    },
    summary=N_(
        "Gdzie pomysły i uwagi skupiają się bardziej, niż wynikałoby z przypadku: statystyka "
        "Getisa-Orda Gi* na siatce sześciokątów."
    ),
    params=params,
    compute=compute,
    features=features,
    table=table,
    chart=chart,
    page=page,
    context=context,
    legend=legend,
    template="planners/hotspots.html",
    tables=("budget_proposals", "consultation_comments"),
    background=True,
)
