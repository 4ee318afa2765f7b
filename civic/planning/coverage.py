"""Coverage: the distance from every grid cell to the nearest NGO or civic venue, weighted by
the residents living there, and the under-served places (a grid map)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.planning import charts
from civic.planning.base import (
    BASELINE_TITLES,
    Analysis,
    Column,
    Param,
    Table,
    baseline_param,
    size_param,
)
from civic.planning.common import cell_districts, ngos_source, table_count, venues_source
from civic.planning.maps import DISTANCE_COLORS, NO_DATA, classify, feature_collection
from civic.planning.text import Text, short
from geo.analysis.coverage import coverage
from geo.analysis.source import Source
from geo.schema import ident
from layers import registry

DISTANCE_BREAKS = (250.0, 500.0, 1000.0, 2000.0)  # metres, coverage classes
WORST_SHOWN = 25


def coverage_payload(
    conn: Connection,
    target: Source,
    *,
    size: float,
    threshold_m: float,
    baseline: str = "settlement",
) -> dict[str, Any]:
    """Distance from every grid cell to the nearest target, population-weighted, with the
    nearest target's public name and the under-served cells flagged."""
    res = coverage(conn, target, size, threshold_m=threshold_m, baseline=baseline)
    ids = sorted({c.nearest_id for c in res.cells if c.nearest_id is not None})
    names: dict[int, str] = {}
    if ids and target.table:
        names = {
            int(i): n
            for i, n in conn.execute(
                text(f"SELECT id, name FROM {ident(target.table)} WHERE id = ANY(:ids)"),
                {"ids": ids},
            )
        }
    cells = [
        {
            "id": c.id,
            "geojson": c.geojson,
            "population": round(c.population, 1),
            "distance_m": None if c.distance_m is None else round(c.distance_m, 1),
            "nearest_id": c.nearest_id,
            "nearest_name": names.get(c.nearest_id) if c.nearest_id is not None else None,
            "underserved": c.underserved,
            "cls": classify(c.distance_m, DISTANCE_BREAKS),
        }
        for c in res.cells
    ]
    return {
        "summary": {
            "size": res.size,
            "threshold_m": res.threshold_m,
            "targets": res.targets,
            "population": res.population,
            "mean_distance_m": res.mean_distance_m,
            "underserved_population": res.underserved_population,
            "underserved_share": res.underserved_share,
            "underserved_cells": sum(1 for c in res.cells if c.underserved),
            "baseline": baseline,
        },
        "districts": [asdict(d) for d in res.districts],
        "cells": cells,
    }


def targets(t: Text) -> list[tuple[str, str]]:
    out = [("ngos", t.gettext("organizacje pozarządowe: wszystkie"))]
    ngos = registry.get("ngos")
    if ngos is not None:
        f = ngos.field("fields")
        for c in f.choices:
            out.append((f"ngos:{c}", t.gettext("organizacje: %(field)s", field=t.choice(f, c))))
    out.append(("venues", t.gettext("miejsca obywatelskie: wszystkie")))
    venues = registry.get("civic-venues")
    if venues is not None:
        f = venues.field("type")
        for c in f.choices:
            out.append((f"venues:{c}", t.gettext("miejsca: %(type)s", type=t.choice(f, c))))
    return out


def params(conn: Connection, t: Text) -> list[Param]:
    default = "ngos" if table_count(conn, "ngo_locations") else "venues"
    return [
        Param(
            "target",
            t.gettext("Do czego liczyć odległość"),
            "choice",
            default,
            choices=targets(t),
        ),
        size_param(t),
        Param(
            "threshold",
            t.gettext("Próg niedostatecznej obsługi (m)"),
            "float",
            1000.0,
            lo=100,
            hi=10000,
            tuning=True,
            help=t.gettext("Komórki dalej niż ten próg od najbliższego celu są oznaczone."),
        ),
        baseline_param(t),
    ]


def target_source(target: str) -> Source:
    kind, _, value = target.partition(":")
    if kind == "ngos":
        return ngos_source(value or None)
    return venues_source(value or None)


def compute(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    return coverage_payload(
        conn,
        target_source(values["target"]),
        size=float(values["size"]),
        threshold_m=float(values["threshold"]),
        baseline=values["baseline"],
    )


def context(conn: Connection, t: Text) -> dict[str, Any]:
    return {"n_ngos": table_count(conn, "ngo_locations")}


def key(c: dict[str, Any]) -> str:
    if c["cls"] is None:
        return "none"
    return f"{c['cls']}{'u' if c['underserved'] else ''}"


def legend(values: dict[str, Any], payload: dict[str, Any], t: Text) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for c in payload["cells"]:
        k = key(c)
        counts[k] = counts.get(k, 0) + 1
    b = DISTANCE_BREAKS
    titles = [t.gettext("do %(m)s", m=t.metres(b[0]))]
    titles += [
        t.gettext("od %(lo)s do %(hi)s", lo=t.metres(b[i - 1]), hi=t.metres(b[i]))
        for i in range(1, len(b))
    ]
    titles.append(t.gettext("ponad %(m)s", m=t.metres(b[-1])))
    out = []
    for i, title in enumerate(titles):
        plain, under = counts.get(str(i), 0), counts.get(f"{i}u", 0)
        if plain or not under:
            out.append(
                {
                    "key": str(i),
                    "color": DISTANCE_COLORS[i],
                    "stroke": "#555555",
                    "weight": 0.5,
                    "fill": 0.75,
                    "title": title,
                    "count": plain,
                }
            )
        if under:
            out.append(
                {
                    "key": f"{i}u",
                    "color": DISTANCE_COLORS[i],
                    "stroke": "#b30000",
                    "weight": 2.5,
                    "dash": "5 3",
                    "fill": 0.75,
                    "count": under,
                    "title": title + " — " + t.gettext("niedostatecznie obsłużone"),
                }
            )
    if counts.get("none"):
        out.append(
            {
                "key": "none",
                "color": NO_DATA,
                "stroke": "#b30000",
                "weight": 2.5,
                "dash": "5 3",
                "fill": 0.6,
                "title": t.gettext("brak celów: niedostatecznie obsłużone"),
                "count": counts["none"],
            }
        )
    return out


def target_title(values: dict[str, Any], t: Text) -> str:
    return dict(targets(t)).get(values["target"], values["target"])


def page(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text):
    summary = payload["summary"]
    classes = legend(values, payload, t)
    district_rows = [
        [
            {"text": f"{d['number']}. {d['name']}", "header": True},
            {"text": t.num(d["population"]), "num": True},
            {"text": t.metres(d["mean_distance_m"]), "num": True},
            {"text": t.num(d["underserved_population"]), "num": True},
            {"text": t.percent(d["underserved_share"], 1), "num": True},
        ]
        for d in payload["districts"]
    ]
    worst = sorted(
        (c for c in payload["cells"] if c["underserved"] and c["population"] > 0),
        key=lambda c: -c["population"] * (c["distance_m"] or 1e9),
    )[:WORST_SHOWN]
    names = dict(
        zip(
            [c["id"] for c in worst],
            cell_districts(conn, [c["geojson"] for c in worst]),
            strict=True,
        )
    )
    cell_rows = [
        [
            {"text": str(c["id"]), "header": True},
            {"text": names.get(c["id"]) or "—"},
            {"text": t.num(c["population"]), "num": True},
            {"text": t.metres(c["distance_m"]), "num": True},
            {"text": c["nearest_name"] or "—"},
        ]
        for c in worst
    ]
    title = target_title(values, t)
    return {
        "result": payload,
        "summary": summary,
        "baseline_title": t.gettext(BASELINE_TITLES[summary.get("baseline", "area")]),
        "target_title": title,
        "classes": classes,
        "district_rows": district_rows,
        "cell_rows": cell_rows,
        "map": {
            "kind": "grid",
            "title": t.gettext("Odległość do najbliższego celu: %(t)s", t=title),
            "classes": classes,
            "outlines": True,
        },
        "stats": {
            "targets": t.num(summary["targets"]),
            "mean": t.metres(summary["mean_distance_m"]),
            "under_pop": t.num(summary["underserved_population"]),
            "under_share": t.percent(summary["underserved_share"], 1),
            "threshold": t.metres(summary["threshold_m"]),
            "cells": t.num(summary["underserved_cells"]),
        },
        "png_alt": t.gettext(
            "Wykres słupkowy: średnia odległość do najbliższego celu w każdej dzielnicy, "
            "ważona liczbą mieszkańców."
        ),
    }


def label(c: dict[str, Any], t: Text) -> str:
    parts = [
        t.gettext("odległość: %(d)s", d=t.metres(c["distance_m"])),
        t.gettext("mieszkańcy: %(n)s", n=t.num(c["population"])),
    ]
    if c.get("nearest_name"):
        parts.append(t.gettext("najbliżej: %(name)s", name=short(c["nearest_name"], 60)))
    if c["underserved"]:
        parts.append(t.gettext("niedostatecznie obsłużone"))
    return " · ".join(parts)


def features(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> str:
    return feature_collection(
        (
            c["id"],
            c["geojson"],
            {
                "cls": key(c),
                "label": label(c, t),
                "population": c["population"],
                "distance_m": c["distance_m"],
                "underserved": c["underserved"],
            },
        )
        for c in payload["cells"]
    )


def chart(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> bytes:
    ds = payload["districts"]
    title = t.gettext("Średnia odległość do celu: %(t)s", t=target_title(values, t))
    return charts.bar_chart(
        [f"{d['number']}. {d['name']}" for d in ds],
        [charts.Series(title, [d["mean_distance_m"] for d in ds])],
        title=title,
        axis_label=t.gettext("metry (średnia ważona liczbą mieszkańców)"),
        description=title,
        colors=[
            DISTANCE_COLORS[classify(d["mean_distance_m"], DISTANCE_BREAKS) or 0]
            if d["mean_distance_m"] is not None
            else NO_DATA
            for d in ds
        ],
        note=t.gettext(
            "Próg niedostatecznej obsługi: %(t)s.", t=t.metres(payload["summary"]["threshold_m"])
        ),
    )


C = Column


def table(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> Table:
    columns = [
        C("id", "int", "komórka"),
        C("population", "float", "mieszkańcy (szacunek)"),
        C("distance_m", "float", "odległość do najbliższego celu (m)"),
        C("nearest_id", "int", "najbliższy cel (id)"),
        C("nearest_name", "text", "najbliższy cel"),
        C("underserved", "bool", "niedostatecznie obsłużona"),
    ]
    return Table(
        payload["cells"],
        columns,
        f"Dostęp: {target_title(values, t)}",
        licence="ODbL 1.0" if values["target"].startswith("venues") else "CC BY 4.0",
        attribution="© OpenStreetMap contributors (miejsca); Gmina Miejska Kraków (ludność)",
        filters={k: values[k] for k in ("target", "size", "threshold")},
    )


ANALYSIS = Analysis(
    name="coverage",
    titles={
        "pl": "Dostęp do organizacji i miejsc obywatelskich",
        "en": "Access to NGOs and civic venues",
        "uk": "Доступ до організацій і громадських місць",
    },
    summary=N_(
        "Odległość do najbliższej organizacji pozarządowej lub miejsca obywatelskiego, ważona "
        "liczbą mieszkańców; miejsca niedostatecznie obsłużone."
    ),
    params=params,
    compute=compute,
    features=features,
    table=table,
    chart=chart,
    page=page,
    context=context,
    legend=legend,
    template="planners/coverage.html",
    tables=("civic_venues", "ngo_locations"),
    background=True,
)
