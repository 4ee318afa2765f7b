"""Revitalisation areas: public proposals and comments inside each area or near it, and the
money the proposals ask there (the areas and the features on the map)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection

from civic import N_
from civic.planning import charts
from civic.planning.base import Analysis, Column, Param, Table
from civic.planning.common import (
    COMMENTS,
    PROPOSALS,
    Public,
    comments_source,
    located_counts,
    proposals_source,
    public,
)
from civic.planning.maps import SIMPLIFY, feature_collection
from civic.planning.text import Text, short
from geo.analysis.revitalisation import revitalisation_overlap
from layers import query as lq
from layers import registry

MAP_HITS = 5000  # features of the map (the files hold all)
ROWS_SHOWN = 300
AREAS = "revitalisation-areas"
AREAS_LIMIT = 5000
Feature = tuple[str | None, dict[str, Any]]  # geometry (GeoJSON text), properties


def _read(conn: Connection, layer: str, q: lq.FeatureQuery) -> dict[int, Feature]:
    """id -> (geometry as GeoJSON text, properties), read through the one read path
    (layers.query.features): the layer's public rules and public fields apply there."""
    found = registry.get(layer)
    if found is None:
        return {}
    return {int(fid): (g, p) for fid, g, p in lq.features(conn, found, q).parts()}


def _hit_features(
    conn: Connection, layer: str, ids: list[int], title_sql: str | None
) -> dict[int, Feature]:
    """The public features of these ids: title (and edition for proposals) and geometry."""
    if not ids:
        return {}
    props: tuple[tuple[str, str | None], ...] = (("title", title_sql),)
    if layer == PROPOSALS:
        props += (("edition", None),)
    q = lq.FeatureQuery(ids=ids, limit=len(ids), sort="t.id", precision=6, properties=props)
    return _read(conn, layer, q)


def revitalisation_payload(conn: Connection, pub: Public, *, distance_m: float) -> dict[str, Any]:
    """Public proposals and comments inside or near each revitalisation area, money asked.

    The overlap (geo.analysis.revitalisation) finds which features lie where; what is shown of
    them (title, edition, geometry) and of the areas is read through layers.query.features, so
    a hit the public may not see (a draft, a hidden proposal, a comment waiting for a
    moderator) is left out of the map and the table even if the overlap's source let it in."""
    area_q = lq.FeatureQuery(
        limit=AREAS_LIMIT,
        sort="t.id",
        precision=6,
        simplify=SIMPLIFY,
        properties=(("name", None), ("code", None), ("programme", None), ("period", None)),
    )
    areas = [
        {
            "id": fid,
            "name": p["name"],
            "code": p["code"],
            "programme": p["programme"],
            "period": p["period"],
            "geojson": geometry,
        }
        for fid, (geometry, p) in _read(conn, AREAS, area_q).items()
    ]
    empty = {
        "summary": {"distance_m": float(distance_m), "areas": 0},
        "areas": [],
        "hits": [],
    }
    if not areas:
        return empty
    rp = revitalisation_overlap(conn, proposals_source(pub), distance_m=distance_m)
    rc = revitalisation_overlap(conn, comments_source(pub), distance_m=distance_m, cost_column=None)
    p_info = _hit_features(conn, PROPOSALS, sorted({h.feature_id for h in rp.hits}), None)
    c_info = _hit_features(
        conn, COMMENTS, sorted({h.feature_id for h in rc.hits}), "left(t.body, 300)"
    )
    names = {a["id"]: a["name"] for a in areas}
    hits = []
    for kind, res, info in (("proposal", rp, p_info), ("comment", rc, c_info)):
        for h in res.hits:
            f = info.get(h.feature_id)
            if f is None:
                continue  # not public (the read path's rules): never shown
            geometry, props = f
            hits.append(
                {
                    "kind": kind,
                    "feature_id": h.feature_id,
                    "title": props["title"],
                    "edition": props.get("edition"),
                    "area_id": h.area_id,
                    "area": names.get(h.area_id),
                    "inside": h.inside,
                    "distance_m": round(h.distance_m, 1),
                    "cost": h.cost,
                    "geojson": geometry,
                }
            )
    per_area = {a.area_id: a for a in rp.areas}
    per_area_c = {a.area_id: a for a in rc.areas}
    for a in areas:
        p, c = per_area.get(a["id"]), per_area_c.get(a["id"])
        a.update(
            proposals_inside=p.inside_count if p else 0,
            proposals_near=p.near_count if p else 0,
            money_inside=p.inside_money if p else 0.0,
            money_near=p.near_money if p else 0.0,
            comments_inside=c.inside_count if c else 0,
            comments_near=c.near_count if c else 0,
        )
    return {
        "summary": {
            "distance_m": float(distance_m),
            "areas": len(areas),
            "proposals_inside": rp.inside_count,
            "proposals_near": rp.near_count,
            "money_inside": rp.inside_money,
            "money_near": rp.near_money,
            "comments_inside": rc.inside_count,
            "comments_near": rc.near_count,
        },
        "areas": areas,
        "hits": hits,
    }


def params(conn: Connection, t: Text) -> list[Param]:
    return [
        Param(
            "distance",
            t.gettext("Odległość „blisko” (m)"),
            "float",
            250.0,
            lo=0,
            hi=2000,
            tuning=True,
            help=t.gettext("Od 0 do 2000 metrów od granicy obszaru."),
        )
    ]


def compute(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    return revitalisation_payload(conn, public(), distance_m=float(values["distance"]))


def context(conn: Connection, t: Text) -> dict[str, Any]:
    return {"located": located_counts(conn, public())}


def legend(values: dict[str, Any], payload: dict[str, Any] | None, t: Text):
    hits = (payload or {}).get("hits", [])
    best: dict[tuple[str, int], bool] = {}  # a feature counts once: inside any area wins
    for h in hits:
        k = (h["kind"], h["feature_id"])
        best[k] = best.get(k, False) or h["inside"]

    def n(kind: str, inside: bool) -> int:
        return sum(1 for (k, _), v in best.items() if k == kind and v == inside)

    return [
        {
            "key": "area",
            "color": "#9e9ac8",
            "stroke": "#54278f",
            "weight": 2,
            "fill": 0.25,
            "title": t.gettext("obszar rewitalizacji"),
            "count": len((payload or {}).get("areas", [])),
        },
        {
            "key": "proposal_in",
            "color": "#d95f02",
            "stroke": "#7f2704",
            "weight": 2,
            "fill": 0.9,
            "title": t.gettext("projekt w obszarze"),
            "count": n("proposal", True),
        },
        {
            "key": "proposal_near",
            "color": "#fdd0a2",
            "stroke": "#d95f02",
            "weight": 2,
            "dash": "3 2",
            "fill": 0.9,
            "title": t.gettext("projekt blisko obszaru"),
            "count": n("proposal", False),
        },
        {
            "key": "comment_in",
            "color": "#1b9e77",
            "stroke": "#00441b",
            "weight": 2,
            "fill": 0.9,
            "title": t.gettext("uwaga w obszarze"),
            "count": n("comment", True),
        },
        {
            "key": "comment_near",
            "color": "#c7e9c0",
            "stroke": "#1b9e77",
            "weight": 2,
            "dash": "3 2",
            "fill": 0.9,
            "title": t.gettext("uwaga blisko obszaru"),
            "count": n("comment", False),
        },
    ]


def page(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text):
    area_rows = [
        [
            {"text": a["name"], "header": True},
            {"text": a["code"] or "—"},
            {"text": t.num(a["proposals_inside"]), "num": True},
            {"text": t.money(a["money_inside"]), "num": True},
            {"text": t.num(a["proposals_near"]), "num": True},
            {"text": t.money(a["money_near"]), "num": True},
            {"text": t.num(a["comments_inside"]), "num": True},
            {"text": t.num(a["comments_near"]), "num": True},
        ]
        for a in payload["areas"]
    ]
    hit_rows = [
        [
            {
                "text": short(h["title"] or f"#{h['feature_id']}", 120),
                "header": True,
                "href": t.link(PROPOSALS if h["kind"] == "proposal" else COMMENTS, h["feature_id"]),
            },
            {"text": t.gettext("projekt") if h["kind"] == "proposal" else t.gettext("uwaga")},
            {"text": h["area"] or "—"},
            {"text": t.gettext("w obszarze") if h["inside"] else t.gettext("blisko")},
            {"text": t.metres(h["distance_m"]), "num": True},
            {"text": t.money(h["cost"]) if h["kind"] == "proposal" else "—", "num": True},
        ]
        for h in payload["hits"][:ROWS_SHOWN]
    ]
    classes = legend(values, payload, t)
    s = payload["summary"]
    return {
        "result": payload,
        "summary": s,
        "classes": classes,
        "area_rows": area_rows,
        "hit_rows": hit_rows,
        "more_hits": max(0, len(payload["hits"]) - ROWS_SHOWN),
        "map_sampled": len(payload["hits"]) > MAP_HITS,
        "map_hits": MAP_HITS,
        "map": {
            "kind": "choropleth",
            "title": t.gettext("Obszary rewitalizacji z projektami i uwagami"),
            "classes": classes,
            "outlines": True,
        }
        if payload["areas"]
        else None,
        "stats": {
            "areas": t.num(s["areas"]),
            "distance": t.metres(s["distance_m"]),
            "p_in": t.num(s.get("proposals_inside")),
            "p_near": t.num(s.get("proposals_near")),
            "m_in": t.money(s.get("money_inside")),
            "m_near": t.money(s.get("money_near")),
            "c_in": t.num(s.get("comments_inside")),
            "c_near": t.num(s.get("comments_near")),
        },
        "png_alt": t.gettext(
            "Wykres słupkowy: kwota wnioskowana w projektach w każdym obszarze i blisko niego."
        ),
    }


def features(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> str:
    feats: list[tuple[Any, str | None, dict[str, Any]]] = [
        (f"area-{a['id']}", a["geojson"], {"cls": "area", "label": a["name"]})
        for a in payload["areas"]
    ]
    hits = payload["hits"]
    step = max(1, math.ceil(len(hits) / MAP_HITS))  # a sample of every area, not the first
    for n, h in enumerate(hits[::step]):
        kind = "proposal" if h["kind"] == "proposal" else "comment"
        where = t.gettext("w obszarze") if h["inside"] else t.gettext("blisko")
        feats.append(
            (
                f"hit-{n}",
                h["geojson"],
                {
                    "cls": f"{kind}_{'in' if h['inside'] else 'near'}",
                    "label": f"{short(h['title'] or '', 80)} · {where}: {h['area']}",
                },
            )
        )
    return feature_collection(feats)


def chart(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> bytes:
    areas = payload["areas"]
    title = t.gettext("Kwota wnioskowana w obszarach rewitalizacji i blisko nich")
    return charts.bar_chart(
        [a["name"] for a in areas],
        [
            charts.Series(t.gettext("w obszarze"), [a["money_inside"] / 1e6 for a in areas]),
            charts.Series(t.gettext("blisko"), [a["money_near"] / 1e6 for a in areas]),
        ],
        title=title,
        axis_label=t.gettext("mln zł"),
        description=title,
        decimals=2,
        note="" if areas else t.gettext("Nie zaimportowano jeszcze obszarów rewitalizacji."),
    )


C = Column


def table(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> Table:
    rows = [
        {
            "kind": "obszar",
            "feature_id": a["id"],
            "title": a["name"],
            "area_id": a["id"],
            "area": a["name"],
            "inside": None,
            "distance_m": None,
            "cost": None,
            "proposals_inside": a["proposals_inside"],
            "proposals_near": a["proposals_near"],
            "money_inside": a["money_inside"],
            "money_near": a["money_near"],
            "comments_inside": a["comments_inside"],
            "comments_near": a["comments_near"],
            "geojson": a["geojson"],
        }
        for a in payload["areas"]
    ]
    rows += [
        {**h, "kind": "projekt" if h["kind"] == "proposal" else "uwaga"} for h in payload["hits"]
    ]
    columns = [
        C("kind", "text", "rodzaj: obszar / projekt / uwaga"),
        C("feature_id", "int", "id"),
        C("title", "text", "nazwa / tytuł"),
        C("edition", "int", "edycja"),
        C("area_id", "int", "obszar (id)"),
        C("area", "text", "obszar"),
        C("inside", "bool", "w obszarze"),
        C("distance_m", "float", "odległość od obszaru (m)"),
        C("cost", "float", "koszt projektu (zł)"),
        C("proposals_inside", "int", "projekty w obszarze"),
        C("proposals_near", "int", "projekty blisko"),
        C("money_inside", "float", "kwota w obszarze (zł)"),
        C("money_near", "float", "kwota blisko (zł)"),
        C("comments_inside", "int", "uwagi w obszarze"),
        C("comments_near", "int", "uwagi blisko"),
    ]
    return Table(
        rows,
        columns,
        "Projekty i uwagi w obszarach rewitalizacji i blisko nich",
        attribution="Civic Map Kraków; obszary: import MSIP",
        filters={"distance": values["distance"]},
    )


ANALYSIS = Analysis(
    name="revitalisation",
    titles={
        "pl": "Obszary rewitalizacji",
        "en": "Revitalisation areas",
        "uk": "Території ревіталізації",
    },
    summary=N_(
        "Projekty i uwagi w obszarach rewitalizacji lub blisko nich oraz wnioskowane tam kwoty."
    ),
    params=params,
    compute=compute,
    features=features,
    table=table,
    chart=chart,
    page=page,
    context=context,
    legend=legend,
    template="planners/revitalisation.html",
    tables=("budget_proposals", "consultation_comments", "revitalisation_areas"),
    background=True,
)
