"""The history of past budget editions: proposals and winners per district and edition, how
demand moved between editions, and the turnout of the city-wide vote by the voter's district
(a choropleth of the districts). The planners' overview page shows its matrix too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.pb.states import DECIDED_STATES, WINNING_STATES
from civic.planning import charts
from civic.planning.base import Analysis, Column, Param, Table, edition_choices
from civic.planning.common import (
    PROPOSALS,
    Public,
    located_counts,
    per_1000,
    population_date,
    population_label,
    public,
)
from civic.planning.maps import (
    class_title,
    classify,
    district_choropleth,
    district_outlines,
    feature_collection,
    quantile_breaks,
    sequential_classes,
)
from civic.planning.text import Text, short

WINNERS_SHOWN = 30  # per district on the history page (a real Kraków edition has up to ~20)


def history_view(conn: Connection, pub: Public) -> dict[str, Any]:
    """Every edition's proposals and winners per district; ``0`` = not located (city-wide).

    A proposal counts in each district it lies in. ``decided`` says whether the source
    records the result of that edition (the 2018 Kraków file does not: no winners known).
    """
    rows = conn.execute(
        text(
            """WITH p AS (
                   SELECT p.edition, p.districts, coalesce(p.cost, 0) AS cost,
                          (p.selected IS TRUE OR p.status = ANY(:win)) AS won,
                          (p.selected IS NOT NULL OR p.status = ANY(:decided)) AS decided
                   FROM budget_proposals p
                   WHERE p.hidden_at IS NULL AND p.status = ANY(:states)
               )
               SELECT p.edition, d.number, count(*), count(*) FILTER (WHERE won),
                      bool_or(decided), sum(cost), coalesce(sum(cost) FILTER (WHERE won), 0)
               FROM p CROSS JOIN LATERAL unnest(p.districts) AS d(number)
               GROUP BY 1, 2
               UNION ALL
               SELECT p.edition, 0, count(*), count(*) FILTER (WHERE won),
                      bool_or(decided), sum(cost), coalesce(sum(cost) FILTER (WHERE won), 0)
               FROM p WHERE cardinality(p.districts) = 0
               GROUP BY 1
               ORDER BY 1, 2"""
        ),
        {
            "win": list(WINNING_STATES),
            "decided": list(DECIDED_STATES),
            "states": list(pub.proposal_states),
        },
    ).all()
    districts = [
        {"number": int(n), "name": name, "population": pop}
        for n, name, pop in conn.execute(
            text("SELECT number, name, population FROM districts ORDER BY number")
        )
    ]
    cells: dict[int, dict[int, dict[str, Any]]] = {}
    decided: dict[int, bool] = {}
    for edition, number, n, won, dec, money, money_won in rows:
        cells.setdefault(int(edition), {})[int(number)] = {
            "proposals": int(n),
            "winners": int(won),
            "money": float(money),
            "money_won": float(money_won),
        }
        decided[int(edition)] = decided.get(int(edition), False) or bool(dec)
    eds = sorted(cells)
    return {"editions": eds, "districts": districts, "cells": cells, "decided": decided}


def winners(conn: Connection, pub: Public, edition: int) -> list[dict[str, Any]]:
    """The proposals of an edition selected for delivery: per district (0 = not located,
    i.e. city-wide), most votes first."""
    rows = conn.execute(
        text(
            """SELECT coalesce(d.number, 0) AS district, p.id, p.title, p.cost, p.votes, p.scope
               FROM budget_proposals p
               LEFT JOIN LATERAL unnest(p.districts) AS d(number) ON true
               WHERE p.edition = :e AND p.hidden_at IS NULL AND p.status = ANY(:states)
                 AND (p.selected IS TRUE OR p.status = ANY(:win))
               ORDER BY 1, p.votes DESC NULLS LAST, p.title"""
        ),
        {"e": edition, "states": list(pub.proposal_states), "win": list(WINNING_STATES)},
    )
    return [
        {
            "district": int(r.district),
            "id": int(r.id),
            "title": r.title,
            "cost": float(r.cost) if r.cost is not None else None,
            "votes": r.votes,
            "scope": r.scope,
        }
        for r in rows
    ]


def ballot_editions(conn: Connection) -> list[int]:
    """Editions whose city-wide ballots record the voter's district."""
    rows = conn.execute(
        text(
            """SELECT p.edition FROM budget_pools p
               WHERE p.scope = 'citywide' AND p.district = 0 AND EXISTS (
                   SELECT 1 FROM ballots b WHERE b.edition = p.edition AND b.scope = 'citywide'
                     AND b.district = 0 AND b.voter_district IS NOT NULL)
               ORDER BY p.edition"""
        )
    )
    return [int(r[0]) for r in rows]


def voter_district_counts(conn: Connection, edition: int) -> dict[int | None, int]:
    """City-wide ballots of an edition per voter district (None: not given / not matched)."""
    rows = conn.execute(
        text(
            "SELECT voter_district, count(*) FROM ballots "
            "WHERE edition = :e AND scope = 'citywide' AND district = 0 GROUP BY 1"
        ),
        {"e": edition},
    )
    return {(None if d is None else int(d)): int(n) for d, n in rows}


def turnout_view(conn: Connection, edition: int) -> dict[str, Any]:
    """Ballots in the city-wide vote by the voter's district, and per 1 000 residents."""
    counts = voter_district_counts(conn, edition)
    rows = []
    for number, name, pop in conn.execute(
        text("SELECT number, name, population FROM districts ORDER BY number")
    ):
        n = counts.get(int(number), 0)
        rows.append(
            {
                "number": int(number),
                "name": name,
                "population": pop,
                "ballots": n,
                "per_1000": per_1000(n, pop),
            }
        )
    return {
        "edition": edition,
        "rows": rows,
        "unknown": counts.get(None, 0),
        "total": sum(counts.values()),
        "recorded": any(k is not None for k in counts),
    }


def params(conn: Connection, t: Text) -> list[Param]:
    eds = ballot_editions(conn)
    return [
        Param(
            "edition",
            t.gettext("Edycja (frekwencja)"),
            "edition",
            eds[-1] if eds else None,
            choices=edition_choices(sorted(eds, reverse=True), None),
        )
    ]


def compute(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    pub = public()
    edition = values["edition"]
    return {
        "history": history_view(conn, pub),
        "turnout": turnout_view(conn, edition) if edition is not None else None,
        "winners": winners(conn, pub, edition) if edition is not None else [],
        "ballot_editions": ballot_editions(conn),
        "pop_date": population_date(conn),
    }


def matrix(hist: dict[str, Any], t: Text) -> dict[str, Any]:
    """Districts × editions: "proposals / winners" (winners "?" where the source lacks them)."""
    eds = hist["editions"]
    rows = []
    unlocated = {"number": 0, "name": t.gettext("bez dzielnicy (ogólnomiejskie)")}
    for d in hist["districts"] + [unlocated]:
        cells = []
        for e in eds:
            c = hist["cells"].get(e, {}).get(d["number"]) or {"proposals": 0, "winners": 0}
            won = str(c["winners"]) if hist["decided"].get(e) else "?"
            cells.append(
                {
                    "text": f"{c['proposals']} / {won}",
                    "num": True,
                    "data": {
                        "edition": e,
                        "district": d["number"],
                        "proposals": c["proposals"],
                        "winners": won,
                    },
                }
            )
        label = d["name"] if d["number"] == 0 else f"{d['number']}. {d['name']}"
        rows.append([{"text": label, "header": True}, *cells])
    return {
        "editions": eds,
        "rows": rows,
        "undecided": [e for e in eds if not hist["decided"].get(e)],
    }


def overview(conn: Connection, t: Text) -> dict[str, Any]:
    """What the planners' index shows beside the list of analyses."""
    pub = public()
    return {
        "history": matrix(history_view(conn, pub), t),
        "located": located_counts(conn, pub),
        "ballot_editions": ballot_editions(conn),
    }


def turnout_classes(view: dict[str, Any], t: Text) -> tuple[list[dict[str, Any]], dict[int, str]]:
    breaks = quantile_breaks([r["per_1000"] for r in view["rows"]])
    keys: dict[int, str] = {}
    counts: dict[str, int] = {}
    for r in view["rows"]:
        c = classify(r["per_1000"], breaks) if r["ballots"] or r["per_1000"] else None
        if not view["recorded"]:
            c = None
        keys[r["number"]] = "none" if c is None else str(c)
        counts[keys[r["number"]]] = counts.get(keys[r["number"]], 0) + 1
    return sequential_classes(t, breaks, lambda v: t.num(v, 1), counts), keys


def movement(hist: dict[str, Any], t: Text) -> dict[str, Any]:
    """How demand moved between editions: proposals and money per district, and the change."""
    eds = hist["editions"]
    rows = []
    for d in hist["districts"]:
        cells = []
        prev = None
        for e in eds:
            c = hist["cells"].get(e, {}).get(d["number"]) or {"proposals": 0, "money": 0.0}
            change = ""
            if prev is not None and prev["proposals"]:
                delta = (c["proposals"] - prev["proposals"]) / prev["proposals"]
                change = " (" + ("+" if delta > 0 else "") + t.num(delta * 100) + " %)"
            cells.append(
                {
                    "text": f"{c['proposals']}{change}",
                    "sub": t.num(c["money"] / 1e6, 1) + " " + t.gettext("mln zł"),
                    "num": True,
                }
            )
            prev = c
        rows.append([{"text": f"{d['number']}. {d['name']}", "header": True}, *cells])
    return {"editions": eds, "rows": rows}


def page(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text):
    hist, turnout, edition = payload["history"], payload["turnout"], values["edition"]
    legend, keys = turnout_classes(turnout, t) if turnout else ([], {})
    turnout_rows = [
        [
            {"text": f"{r['number']}. {r['name']}", "header": True},
            {"text": t.num(r["population"]), "num": True},
            {
                "text": t.num(r["ballots"]),
                "num": True,
                "data": {"district": r["number"], "ballots": r["ballots"]},
            },
            {"text": t.num(r["per_1000"], 1), "num": True},
            {"text": class_title(legend, keys[r["number"]])},
        ]
        for r in (turnout["rows"] if turnout else [])
    ]
    names = {d["number"]: f"{d['number']}. {d['name']}" for d in hist["districts"]}
    per_district: dict[int, int] = {}
    winner_rows = []
    for w in payload["winners"]:
        per_district[w["district"]] = per_district.get(w["district"], 0) + 1
        if per_district[w["district"]] > WINNERS_SHOWN:
            continue
        winner_rows.append(
            [
                {
                    "text": names.get(w["district"], t.gettext("bez dzielnicy (ogólnomiejskie)")),
                    "header": True,
                },
                {
                    "text": short(w["title"], 140),
                    "href": t.link(PROPOSALS, w["id"]),
                    "data": {"winner": w["id"], "district": w["district"]},
                },
                {"text": t.money(w["cost"]), "num": True},
                {"text": t.num(w["votes"]), "num": True},
            ]
        )
    title = t.gettext("Głosujący w edycji %(e)s na 1000 mieszkańców", e=edition)
    return {
        "winner_rows": winner_rows,
        "winners_hidden": sum(max(0, n - WINNERS_SHOWN) for n in per_district.values()),
        "winners_shown": WINNERS_SHOWN,
        "decided": bool(edition is not None and hist["decided"].get(edition)),
        "result": hist,
        "matrix": matrix(hist, t),
        "movement": movement(hist, t),
        "turnout": turnout,
        "turnout_rows": turnout_rows,
        "edition": edition,
        "classes": legend,
        "ballot_editions": payload["ballot_editions"],
        "pop_label": population_label(t, payload["pop_date"]),
        "map": {"kind": "choropleth", "title": title, "classes": legend} if turnout else None,
        "png_alt": t.gettext(
            "Małe wykresy liniowe: liczba projektów i zwycięzców w każdej dzielnicy "
            "w kolejnych edycjach."
        ),
    }


def features(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> str:
    turnout = payload["turnout"]
    if turnout is None:
        return feature_collection([])
    _, keys = turnout_classes(turnout, t)
    props = {
        r["number"]: {
            "cls": keys[r["number"]],
            "label": t.gettext(
                "%(name)s: %(n)s głosujących, %(r)s na 1000 mieszkańców",
                name=f"{r['number']}. {r['name']}",
                n=t.num(r["ballots"]),
                r=t.num(r["per_1000"], 1),
            ),
            "ballots": r["ballots"],
            "per_1000": r["per_1000"],
        }
        for r in turnout["rows"]
    }
    return district_choropleth(conn, props)


def turnout_json(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    """Ballots of the city-wide vote by the voter's district (the numbers of the page)."""
    eds = ballot_editions(conn)
    edition = values["edition"]
    if edition is None:
        return {"edition": None, "editions": eds, "districts": []}
    tv = turnout_view(conn, edition)
    return {
        "edition": edition,
        "editions": eds,
        "total": tv["total"],
        "unknown": tv["unknown"],
        "districts": [
            {
                "number": r["number"],
                "name": r["name"],
                "population": r["population"],
                "ballots": r["ballots"],
                "per_1000": None if r["per_1000"] is None else round(r["per_1000"], 3),
            }
            for r in tv["rows"]
        ],
    }


def chart(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> bytes:
    hist = payload["history"]
    panels = []
    for d in hist["districts"]:
        cells = [hist["cells"].get(e, {}).get(d["number"]) or {} for e in hist["editions"]]
        proposals = [c.get("proposals", 0) for c in cells]
        wins = [
            c.get("winners", 0) if hist["decided"].get(e) else None
            for e, c in zip(hist["editions"], cells, strict=True)
        ]
        panels.append(
            (
                f"{d['number']}. {d['name']}",
                hist["editions"],
                [
                    charts.Series(t.gettext("projekty"), proposals),
                    charts.Series(t.gettext("wybrane do realizacji"), wins),
                ],
            )
        )
    title = t.gettext("Projekty i zwycięzcy w dzielnicach, kolejne edycje")
    return charts.small_multiples(
        panels,
        title=title,
        axis_label=t.gettext("liczba projektów"),
        description=title,
        note=t.gettext("Źródło: Pabulib. Brak punktu zwycięzców: plik edycji nie podaje wyników."),
    )


def turnout_chart(
    conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text
) -> bytes:
    edition = values["edition"]
    rows = payload["turnout"]["rows"] if payload["turnout"] else []
    title = t.gettext("Głosujący na 1000 mieszkańców według dzielnicy, edycja %(e)s", e=edition)
    return charts.bar_chart(
        [f"{r['number']}. {r['name']}" for r in rows],
        [charts.Series(title, [r["per_1000"] for r in rows])],
        title=title,
        axis_label=t.gettext("głosujący na 1000 mieszkańców"),
        description=title,
        decimals=1,
        note=t.gettext("Głosy w puli ogólnomiejskiej według dzielnicy podanej przez głosującego."),
    )


C = Column


def table(conn: Connection, values: dict[str, Any], payload: dict[str, Any], t: Text) -> Table:
    hist = payload["history"]
    outlines = district_outlines(conn)
    turnouts = {e: voter_district_counts(conn, e) for e in payload["ballot_editions"]}
    pops = {d["number"]: d["population"] for d in hist["districts"]}
    names = {d["number"]: d["name"] for d in hist["districts"]}
    out = []
    for e in hist["editions"]:
        for number in [d["number"] for d in hist["districts"]] + [0]:
            c = hist["cells"].get(e, {}).get(number)
            if c is None and number == 0:
                continue
            c = c or {"proposals": 0, "winners": 0, "money": 0.0, "money_won": 0.0}
            ballots = turnouts.get(e, {}).get(number) if number and e in turnouts else None
            pop = pops.get(number)
            out.append(
                {
                    "edition": e,
                    "number": number,
                    "name": names.get(number, "bez dzielnicy (ogólnomiejskie)"),
                    "proposals": c["proposals"],
                    "winners": c["winners"] if hist["decided"].get(e) else None,
                    "money": c["money"],
                    "money_won": c["money_won"] if hist["decided"].get(e) else None,
                    "ballots": ballots,
                    "ballots_per_1000": (ballots * 1000.0 / pop)
                    if ballots is not None and pop
                    else None,
                    "geojson": outlines.get(number),
                }
            )
    columns = [
        C("edition", "int", "edycja"),
        C("number", "int", "numer dzielnicy (0: bez dzielnicy)"),
        C("name", "text", "dzielnica"),
        C("proposals", "int", "projekty"),
        C("winners", "int", "wybrane (puste: źródło nie podaje)"),
        C("money", "float", "wnioskowana kwota (zł)"),
        C("money_won", "float", "kwota wybranych (zł)"),
        C("ballots", "int", "głosy ogólnomiejskie według dzielnicy głosującego"),
        C("ballots_per_1000", "float", "głosujący na 1000 mieszkańców"),
    ]
    return Table(
        out,
        columns,
        "Historia edycji budżetu obywatelskiego Krakowa w dzielnicach",
        attribution="Pabulib (dawne edycje); Gmina Miejska Kraków (granice, ludność)",
    )


ANALYSIS = Analysis(
    name="history",
    titles={
        "pl": "Historia edycji budżetu obywatelskiego",
        "en": "History of participatory budget editions",
        "uk": "Історія випусків громадського бюджету",
    },
    summary=N_(
        "Projekty i zwycięzcy każdej dawnej edycji w dzielnicach, frekwencja według dzielnicy "
        "głosującego i zmiany między edycjami."
    ),
    params=params,
    compute=compute,
    features=features,
    table=table,
    chart=chart,
    page=page,
    template="planners/history.html",
    charts={"turnout": turnout_chart},
)
