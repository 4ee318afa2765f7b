"""Residents farther than X m from any organisation in field F (and for target group G), per
district, as a map and a table — from the NGO profiles (issue 13).

It is the coverage analysis (civic.planning.coverage: a population-weighted hexagonal grid,
exact nearest-neighbour distances) narrowed to the public places of organisations working in
one field of activity, optionally for one target group, with the distance X as the question
asked. Only places the public may see count (the ``ngos`` layer's ``public_where``: a place of
a profile still waiting for moderation is no organisation yet).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from civic import N_
from civic.planning import coverage as cov
from civic.planning.base import Analysis, Param, Table, size_param
from civic.planning.common import table_count
from civic.planning.text import Text
from geo.analysis.source import Source
from layers.ngos import FIELDS_OF_ACTIVITY, LAYER, TARGET_GROUPS

DISTANCES = (250, 500, 750, 1000, 1500, 2000, 3000)


def params(conn: Connection, t: Text) -> list[Param]:
    f, g = LAYER.field("fields"), LAYER.field("target_groups")
    return [
        Param(
            "field",
            t.gettext("Obszar działalności"),
            "choice",
            "social_assistance",
            choices=[(c, t.choice(f, c)) for c in FIELDS_OF_ACTIVITY],
        ),
        Param(
            "target_group",
            t.gettext("Dla kogo"),
            "choice",
            "",
            choices=[("", t.gettext("wszyscy"))] + [(c, t.choice(g, c)) for c in TARGET_GROUPS],
        ),
        Param(
            "distance",
            t.gettext("Odległość X (m)"),
            "choice",
            "1000",
            choices=[(str(d), t.metres(d)) for d in DISTANCES],
            help=t.gettext("Mieszkańcy dalej niż X metrów od każdej takiej organizacji."),
        ),
        size_param(t),
    ]


def source(values: dict[str, Any]) -> Source:
    contains = {"fields": values["field"]}
    if values.get("target_group"):
        contains["target_groups"] = values["target_group"]
    return Source(LAYER.table, contains=contains, where=LAYER.public_where or None)


def compute(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    return cov.coverage_payload(
        conn, source(values), size=float(values["size"]), threshold_m=float(values["distance"])
    )


def as_coverage(values: dict[str, Any]) -> dict[str, Any]:
    """The values in the coverage analysis' terms (its page, map, chart and files)."""
    return {
        **values,
        "target": f"ngos:{values['field']}",
        "threshold": float(values["distance"]),
    }


def title(values: dict[str, Any], t: Text) -> str:
    out = cov.target_title(as_coverage(values), t)
    if values.get("target_group"):
        g = LAYER.field("target_groups")
        out += " — " + t.gettext("dla: %(group)s", group=t.choice(g, values["target_group"]))
    return out


def page(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text):
    out = cov.page(conn, as_coverage(values), payload, t)
    out["target_title"] = title(values, t)
    return out


def features(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> str:
    return cov.features(conn, as_coverage(values), payload, t)


def legend(values: dict[str, Any], payload: dict[str, Any], t: Text) -> list[dict[str, Any]]:
    return cov.legend(as_coverage(values), payload, t)


def chart(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> bytes:
    return cov.chart(conn, as_coverage(values), payload, t)


def table(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> Table:
    out = cov.table(conn, as_coverage(values), payload, t)
    out.title = f"Mieszkańcy dalej niż {values['distance']} m: {title(values, t)}"
    out.filters = {k: values[k] for k in ("field", "target_group", "distance", "size")}
    return out


def context(conn: Connection, t: Text) -> dict[str, Any]:
    return {"n_ngos": table_count(conn, LAYER.table)}


ANALYSIS = Analysis(
    name="ngo-reach",
    titles={
        "pl": "Mieszkańcy daleko od organizacji danej dziedziny",
        "en": "Residents far from organisations of a field",
        "uk": "Мешканці далеко від організацій певного напряму",
    },
    summary=N_(
        "Ilu mieszkańców każdej dzielnicy mieszka dalej niż X metrów od każdej organizacji "
        "pozarządowej danego obszaru działalności (i grupy odbiorców)."
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
    tables=("ngo_locations", "ngo_organisations"),
    background=True,
)
