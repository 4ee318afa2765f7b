"""Duplicates: nearby budget proposals with similar titles, candidates to merge (lines joining
each pair on the map)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.planning import charts
from civic.planning.base import Analysis, Column, Param, Table, edition_choices
from civic.planning.common import (
    PROPOSALS,
    district_names,
    editions,
    located_counts,
    proposals_source,
    public,
)
from civic.planning.maps import feature_collection
from civic.planning.text import Text, short
from geo.analysis.duplicates import duplicates
from geo.analysis.source import Source
from layers import registry

SIMILARITY_COLORS = ("#fdae6b", "#e6550d", "#a63603")
PARAMS = ("edition", "same_edition", "distance", "threshold", "limit")


def duplicates_payload(
    conn: Connection,
    source: Source,
    *,
    distance_m: float,
    threshold: float,
    same_edition: bool,
    limit: int,
) -> dict[str, Any]:
    """Pairs of nearby proposals with similar titles, with a line joining them for the map."""
    pairs = duplicates(
        conn,
        source,
        distance_m,
        threshold,
        same=("edition",) if same_edition else (),
        limit=limit + 1,
    )
    more = len(pairs) > limit
    pairs = pairs[:limit]
    details: dict[tuple[int, int], Any] = {}
    if pairs:
        rows = conn.execute(
            text(
                """SELECT x.a, x.b, a.edition, b.edition, a.status, b.status,
                          a.districts, b.districts,
                          ST_AsGeoJSON(ST_MakeLine(ST_PointOnSurface(a.geom),
                                                   ST_PointOnSurface(b.geom)), 6)
                   FROM unnest(CAST(:a AS bigint[]), CAST(:b AS bigint[])) AS x(a, b)
                   JOIN budget_proposals a ON a.id = x.a
                   JOIN budget_proposals b ON b.id = x.b"""
            ),
            {"a": [p.a_id for p in pairs], "b": [p.b_id for p in pairs]},
        )
        details = {(int(r[0]), int(r[1])): r for r in rows}
    out = []
    for n, p in enumerate(pairs, start=1):
        r = details.get((p.a_id, p.b_id))
        out.append(
            {
                "id": n,
                "a_id": p.a_id,
                "b_id": p.b_id,
                "a_title": p.a_title,
                "b_title": p.b_title,
                "similarity": round(p.similarity, 4),
                "distance_m": round(p.distance_m, 1),
                "a_edition": r[2] if r else None,
                "b_edition": r[3] if r else None,
                "a_status": r[4] if r else None,
                "b_status": r[5] if r else None,
                "districts": sorted(set(r[6] or []) | set(r[7] or [])) if r else [],
                "geojson": r[8] if r else None,
            }
        )
    return {
        "summary": {
            "distance_m": float(distance_m),
            "threshold": float(threshold),
            "same_edition": bool(same_edition),
            "limit": int(limit),
            "pairs": len(out),
            "more": more,
        },
        "pairs": out,
    }


def params(conn: Connection, t: Text) -> list[Param]:
    eds = editions(conn, public())
    return [
        Param(
            "edition",
            t.gettext("Edycja"),
            "edition",
            None,
            choices=edition_choices(eds, t.gettext("Wszystkie edycje")),
        ),
        Param(
            "same_edition",
            t.gettext("Porównuj"),
            "choice",
            "1",
            choices=[
                ("1", t.gettext("tylko projekty tej samej edycji")),
                ("0", t.gettext("projekty wszystkich edycji")),
            ],
            tuning=True,
        ),
        Param(
            "distance",
            t.gettext("Największa odległość (m)"),
            "float",
            200.0,
            lo=1,
            hi=2000,
            tuning=True,
            help=t.gettext("Od 1 do 2000 metrów."),
        ),
        Param(
            "threshold",
            t.gettext("Najmniejsze podobieństwo tytułów"),
            "float",
            0.5,
            lo=0.1,
            hi=1,
            tuning=True,
            help=t.gettext("Podobieństwo trigramów od 0,1 do 1."),
        ),
        Param("limit", t.gettext("Najwięcej par"), "int", 500, lo=1, hi=5000, tuning=True),
    ]


def compute(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    return duplicates_payload(
        conn,
        proposals_source(public(), values["edition"]),
        distance_m=float(values["distance"]),
        threshold=float(values["threshold"]),
        same_edition=values["same_edition"] == "1",
        limit=int(values["limit"]),
    )


def context(conn: Connection, t: Text) -> dict[str, Any]:
    return {"located": located_counts(conn, public())}


def legend(values: dict[str, Any], payload: dict[str, Any], t: Text) -> list[dict[str, Any]]:
    pairs = payload["pairs"]
    bands = [(0.9, 1.01), (0.75, 0.9), (float(values["threshold"]), 0.75)]
    out = []
    for i, (lo, hi) in enumerate(bands):
        if lo >= hi:
            continue
        n = sum(1 for p in pairs if lo <= p["similarity"] < hi)
        title = (
            t.gettext("podobieństwo co najmniej %(lo)s", lo=t.num(lo, 2))
            if i == 0
            else t.gettext(
                "podobieństwo od %(lo)s do poniżej %(hi)s", lo=t.num(lo, 2), hi=t.num(hi, 2)
            )
        )
        out.append(
            {
                "key": str(i),
                "color": SIMILARITY_COLORS[2 - i],
                "stroke": SIMILARITY_COLORS[2 - i],
                "weight": 5 - i,
                "fill": 0.9,
                "title": title,
                "count": n,
            }
        )
    return out


def key(p: dict[str, Any]) -> str:
    s = p["similarity"]
    return "0" if s >= 0.9 else "1" if s >= 0.75 else "2"


def _proposal_meta(edition: Any, status: Any, status_field: Any, t: Text) -> str:
    parts = []
    if edition:
        parts.append(t.gettext("edycja %(e)s", e=edition))
    if status and status_field is not None:
        parts.append(t.choice(status_field, status))
    return ", ".join(parts)


def page(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text):
    ly = registry.get(PROPOSALS)
    status_field = ly.field("status") if ly else None
    names = district_names(conn)
    rows = [
        [
            {"text": str(p["id"]), "header": True},
            {
                "text": short(p["a_title"], 120),
                "href": t.link(PROPOSALS, p["a_id"]),
                "sub": _proposal_meta(p["a_edition"], p["a_status"], status_field, t),
            },
            {
                "text": short(p["b_title"], 120),
                "href": t.link(PROPOSALS, p["b_id"]),
                "sub": _proposal_meta(p["b_edition"], p["b_status"], status_field, t),
            },
            {"text": t.num(p["similarity"], 2), "num": True},
            {"text": t.metres(p["distance_m"]), "num": True},
            {"text": ", ".join(names.get(n, str(n)) for n in p["districts"]) or "—"},
        ]
        for p in payload["pairs"]
    ]
    classes = legend(values, payload, t)
    return {
        "result": payload,
        "summary": payload["summary"],
        "rows": rows,
        "classes": classes,
        "map": {
            "kind": "choropleth",
            "title": t.gettext("Pary podobnych projektów"),
            "classes": classes,
            "outlines": True,
        },
        "png_alt": t.gettext("Wykres słupkowy: liczba par podobnych projektów w każdej dzielnicy."),
    }


def features(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> str:
    return feature_collection(
        (
            p["id"],
            p["geojson"],
            {
                "cls": key(p),
                "label": f"„{short(p['a_title'], 80)}” ↔ „{short(p['b_title'], 80)}” · "
                + t.gettext("podobieństwo %(s)s", s=t.num(p["similarity"], 2))
                + " · "
                + t.metres(p["distance_m"]),
                "similarity": p["similarity"],
                "distance_m": p["distance_m"],
                "a_id": p["a_id"],
                "b_id": p["b_id"],
            },
        )
        for p in payload["pairs"]
    )


def chart(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> bytes:
    names = district_names(conn)
    counts = {n: 0 for n in names}
    for p in payload["pairs"]:
        for n in p["districts"]:
            counts[n] = counts.get(n, 0) + 1
    title = t.gettext("Pary podobnych projektów w dzielnicach")
    return charts.bar_chart(
        [f"{n}. {names.get(n, n)}" for n in sorted(counts)],
        [charts.Series(title, [counts[n] for n in sorted(counts)])],
        title=title,
        axis_label=t.gettext("liczba par"),
        description=title,
    )


C = Column


def table(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> Table:
    names = district_names(conn)
    rows = [
        {**p, "district_names": ", ".join(names.get(n, str(n)) for n in p["districts"])}
        for p in payload["pairs"]
    ]
    columns = [
        C("id", "int", "para"),
        C("a_id", "int", "projekt A (id)"),
        C("a_title", "text", "projekt A"),
        C("a_edition", "int", "edycja A"),
        C("a_status", "text", "status A"),
        C("b_id", "int", "projekt B (id)"),
        C("b_title", "text", "projekt B"),
        C("b_edition", "int", "edycja B"),
        C("b_status", "text", "status B"),
        C("similarity", "float", "podobieństwo tytułów"),
        C("distance_m", "float", "odległość (m)"),
        C("district_names", "text", "dzielnice"),
    ]
    return Table(
        rows,
        columns,
        "Podobne projekty budżetu obywatelskiego (kandydaci do połączenia)",
        filters={k: values[k] for k in PARAMS},
    )


ANALYSIS = Analysis(
    name="duplicates",
    titles={
        "pl": "Podobne projekty do połączenia",
        "en": "Similar proposals to merge",
        "uk": "Схожі проєкти для об'єднання",
    },
    summary=N_("Projekty położone blisko siebie o podobnych tytułach: kandydaci do połączenia."),
    params=params,
    compute=compute,
    features=features,
    table=table,
    chart=chart,
    page=page,
    context=context,
    legend=legend,
    template="planners/duplicates.html",
    tables=("budget_proposals",),
    background=True,
)
