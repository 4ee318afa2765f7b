"""Urban planners: ``/planners`` — spatial demand analysis, each view a map, a table, a PNG
chart and GeoPackage/CSV downloads.

Views: demand per district, hot spots (Getis-Ord Gi*), the history of past budget editions
with the turnout by voter district, overlap with revitalisation areas, coverage by NGOs and
civic venues, duplicate candidates. The analyses are geo.analysis functions wrapped by
geo/planning.py; this module parses parameters, checks who may tune them, and renders.

Who sees what: everyone gets the same analyses of public data (no author is ever selected).
Selectors that choose *what* to look at (edition, metric, layer, target) are open to all;
parameters that change *how* it is computed (grid size, significance, correction, null
model, distances, thresholds, limits) are for planners and admins — anyone else sending a
non-default value gets a 403 naming the field. That keeps anonymous requests on the shared,
cached standard results and the expensive variants behind an account.

Slow analyses (hot spots, coverage, duplicates, revitalisation) run through
geo.planning.JobStore: a request waits ``PLANNERS_INLINE_WAIT`` seconds (default 1.5); a
result not ready by then is computed in the background while the page shows its progress
(static/js/planners.js polls ``/planners/api/jobs/<key>`` and reloads when done).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext

from app import engine
from app.auth import N_, current_user
from app.errors import ApiError
from app.layer_pages import choice_title, lang, page_map, permalink, short
from app.security import rate_limit
from geo import charts
from geo import districts as gd
from geo import export as gx
from geo import planning as gp
from geo.config import VAR_DIR
from layers import registry

bp = Blueprint("planners", __name__, url_prefix="/planners")

PROPOSALS = "budget-proposals"
COMMENTS = "consultation-comments"
VIEWS = ("demand", "hotspots", "history", "revitalisation", "coverage", "duplicates")
VIEW_TITLES = {
    "demand": N_("Zapotrzebowanie w dzielnicach"),
    "hotspots": N_("Skupiska pomysłów i uwag"),
    "history": N_("Historia edycji budżetu obywatelskiego"),
    "revitalisation": N_("Obszary rewitalizacji"),
    "coverage": N_("Dostęp do organizacji i miejsc obywatelskich"),
    "duplicates": N_("Podobne projekty do połączenia"),
}
VIEW_SUMMARIES = {
    "demand": N_(
        "Projekty, uwagi, poparcia i wnioskowane kwoty w każdej dzielnicy: w liczbach, na "
        "1000 mieszkańców i w porównaniu z pulą dzielnicy."
    ),
    "hotspots": N_(
        "Gdzie pomysły i uwagi skupiają się bardziej, niż wynikałoby z przypadku: statystyka "
        "Getisa-Orda Gi* na siatce sześciokątów."
    ),
    "history": N_(
        "Projekty i zwycięzcy każdej dawnej edycji w dzielnicach, frekwencja według dzielnicy "
        "głosującego i zmiany między edycjami."
    ),
    "revitalisation": N_(
        "Projekty i uwagi w obszarach rewitalizacji lub blisko nich oraz wnioskowane tam kwoty."
    ),
    "coverage": N_(
        "Odległość do najbliższej organizacji pozarządowej lub miejsca obywatelskiego, ważona "
        "liczbą mieszkańców; miejsca niedostatecznie obsłużone."
    ),
    "duplicates": N_(
        "Projekty położone blisko siebie o podobnych tytułach: kandydaci do połączenia."
    ),
}
FORMATS = ("csv", "gpkg", "png")
MAP_HITS = 5000  # features of the revitalisation map (the files hold all)
WINNERS_SHOWN = 30  # per district on the history page (a real Kraków edition has up to ~20)
EDITION_MIN, EDITION_MAX = 2013, 2100

# Sequential classes (ColorBrewer YlOrRd / Blues), light = low.
SEQUENTIAL = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
DISTANCE_COLORS = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
NO_DATA = "#d9d9d9"
HOT_COLORS = ("#b2182b", "#ef8a62", "#fddbc7")  # strongest first
COLD_COLORS = ("#2166ac", "#67a9cf", "#d1e5f0")
NS_COLOR = "#f7f7f7"
SIMILARITY_COLORS = ("#fdae6b", "#e6550d", "#a63603")


# --- who, and what is public -----------------------------------------------------------------


def is_planner() -> bool:
    user = current_user()
    return bool(user and user.has_role("planner"))


def public() -> gp.Public:
    """The workflow states the public sees (the layers' workflows are the one source)."""

    def states(name: str) -> tuple[str, ...]:
        ly = registry.get(name)
        return ly.workflow.public_states if ly is not None and ly.workflow else ()

    return gp.Public(states(PROPOSALS), states(COMMENTS))


def store() -> gp.JobStore:
    directory = current_app.config.get("PLANNERS_JOB_DIR") or (VAR_DIR / "planner-jobs")
    return gp.JobStore(
        directory,
        keep_s=float(current_app.config.get("PLANNERS_KEEP_S", 3600)),
        workers=int(current_app.config.get("PLANNERS_JOB_THREADS", 2)),
    )


def inline_wait() -> float:
    return float(current_app.config.get("PLANNERS_INLINE_WAIT", 1.5))


# --- numbers as people read them --------------------------------------------------------------


def num(value: float | None, decimals: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(round(float(value), decimals), pattern, locale=lang())


def money(value: float | None) -> str:
    return "—" if value is None else num(value) + " zł"


def percent(value: float | None, decimals: int = 0) -> str:
    return "—" if value is None else num(value * 100, decimals) + " %"


def metres(value: float | None) -> str:
    return "—" if value is None else num(value) + " m"


# --- parameters -------------------------------------------------------------------------------


@dataclass
class Param:
    """One GET parameter of a view: its parsing, its form control, and who may change it."""

    name: str
    label: str  # translated
    kind: str  # "choice" | "edition" | "int" | "float"
    default: Any
    choices: list[tuple[str, str]] = field(default_factory=list)  # (value, title)
    lo: float | None = None
    hi: float | None = None
    tuning: bool = False  # planners and admins only
    help: str = ""
    any_label: str = ""  # the "all" option of an edition select

    def parse(self, raw: str) -> Any:
        raw = raw.strip()
        if self.kind == "edition":
            if raw == "":
                return None
            if not raw.isdigit() or int(raw) not in {int(v) for v, _ in self.choices if v}:
                raise ValueError(
                    gettext(
                        "Pole „%(label)s” (%(name)s): nie ma edycji „%(value)s”.",
                        label=self.label,
                        name=self.name,
                        value=short(raw, 20),
                    )
                )
            return int(raw)
        if self.kind == "choice":
            if raw not in {v for v, _ in self.choices}:
                raise ValueError(
                    gettext(
                        "Pole „%(label)s” (%(name)s): niedozwolona wartość „%(value)s”.",
                        label=self.label,
                        name=self.name,
                        value=short(raw, 40),
                    )
                )
            return raw
        try:
            value = int(raw) if self.kind == "int" else float(raw.replace(",", "."))
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or not self.lo <= value <= self.hi:  # type: ignore[operator]
            raise ValueError(
                gettext(
                    "Pole „%(label)s” (%(name)s) musi być liczbą od %(lo)s do %(hi)s.",
                    label=self.label,
                    name=self.name,
                    lo=num(self.lo, 0 if float(self.lo or 0).is_integer() else 2),
                    hi=num(self.hi, 0 if float(self.hi or 0).is_integer() else 2),
                )
            )
        return value

    def raw_default(self) -> str:
        if self.default is None:
            return ""
        if isinstance(self.default, float) and self.default.is_integer():
            return str(int(self.default))
        return str(self.default)


@dataclass
class Parsed:
    values: dict[str, Any]
    errors: dict[str, str]  # field -> message (400)
    forbidden: dict[str, str]  # field -> message (403: tuning by someone not a planner)
    params: list[Param]
    raw: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.forbidden

    def query(self, **extra: Any) -> dict[str, str]:
        """The request's parameters of this view that differ from the defaults (for links)."""
        out = {}
        for p in self.params:
            raw = self.raw.get(p.name)
            if raw is not None and raw != p.raw_default():
                out[p.name] = raw
        out.update({k: str(v) for k, v in extra.items() if v not in (None, "")})
        return out

    def first_error(self) -> ApiError:
        if self.errors:
            name, message = next(iter(self.errors.items()))
            return ApiError(400, "invalid_parameter", message, name)
        name, message = next(iter(self.forbidden.items()))
        return ApiError(403, "planner_only", message, name)


def parse(params: list[Param]) -> Parsed:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    forbidden: dict[str, str] = {}
    raw_args: dict[str, str] = {}
    planner = is_planner()
    for p in params:
        raw = request.args.get(p.name)
        if raw is None:
            values[p.name] = p.default
            continue
        raw_args[p.name] = raw
        try:
            values[p.name] = p.parse(raw)
        except ValueError as exc:
            errors[p.name] = str(exc)
            values[p.name] = p.default
            continue
        if p.tuning and not planner and values[p.name] != p.default:
            forbidden[p.name] = gettext(
                "Pole „%(label)s” (%(name)s) mogą zmieniać tylko planiści. Widok publiczny "
                "pokazuje wynik dla parametrów standardowych.",
                label=p.label,
                name=p.name,
            )
            values[p.name] = p.default
    return Parsed(values, errors, forbidden, params, raw_args)


def form_controls(parsed: Parsed) -> list[dict[str, Any]]:
    """The view's GET form: selectors for everyone, tuning fields for planners."""
    planner = is_planner()
    out = []
    for p in parsed.params:
        if p.tuning and not planner:
            continue
        value = parsed.raw.get(p.name, p.raw_default())
        control: dict[str, Any] = {
            "name": p.name,
            "label": p.label,
            "value": value,
            "error": parsed.errors.get(p.name) or parsed.forbidden.get(p.name),
            "help": p.help,
            "tuning": p.tuning,
        }
        if p.kind in ("choice", "edition"):
            control["type"] = "select"
            control["options"] = list(p.choices)
        else:
            control["type"] = "number"
            control["min"] = _plain(p.lo)
            control["max"] = _plain(p.hi)
            control["step"] = "1" if p.kind == "int" else "any"
        out.append(control)
    return out


def _plain(v: float | None) -> str:
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() else str(v)


def edition_choices(eds: Sequence[int], any_label: str | None) -> list[tuple[str, str]]:
    out = [("", any_label)] if any_label else []
    return out + [(str(e), str(e)) for e in eds]


def size_param(default: float = 500.0) -> Param:
    return Param(
        "size",
        gettext("Rozmiar sześciokąta (m)"),
        "float",
        default,
        lo=150,
        hi=5000,
        tuning=True,
        help=gettext("Długość boku sześciokąta w metrach (150–5000)."),
    )


# --- shared rendering -------------------------------------------------------------------------


def audience() -> dict[str, Any]:
    planner = is_planner()
    return {
        "planner": planner,
        "audience_note": gettext(
            "Widok planisty: możesz zmieniać parametry analiz. Analizy nie zawierają danych "
            "osobowych ani autorów wpisów."
        )
        if planner
        else gettext(
            "Widok publiczny, tylko do odczytu, bez danych osobowych. Parametry analiz (siatka, "
            "istotność, odległości) zmieniają planiści po zalogowaniu."
        ),
    }


def nav() -> list[dict[str, str]]:
    return [
        {"view": v, "title": gettext(VIEW_TITLES[v]), "url": url_for(f"planners.{v}")}
        for v in VIEWS
    ]


def city_map(specs: list[dict[str, Any]]):
    with engine().connect() as conn:
        bounds = gd.city_bounds(conn)
    return page_map(specs, bounds)


def map_i18n() -> dict[str, str]:
    return {
        "loading": gettext("Wczytywanie mapy…"),
        "loaded": gettext("Na mapie: %(n)s obiektów.", n="{n}"),
        "empty": gettext("Brak obiektów do pokazania na mapie."),
        "error": gettext("Nie udało się wczytać mapy."),
        "running": gettext("Trwa obliczanie: %(p)s%% (%(s)s s)", p="{p}", s="{s}"),
    }


def map_spec(
    view: str, kind: str, query: dict[str, str], classes: list[dict[str, Any]], title: str
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "kind": kind,
        "name": view,
        "title": title,
        "url": url_for("planners.api_map", view=view, **query, lang=lang()),
        "classes": [
            {k: c[k] for k in ("key", "color", "stroke", "weight", "dash", "fill") if k in c}
            for c in classes
        ],
        "i18n": map_i18n(),
    }
    if kind == "grid" or view in ("duplicates", "revitalisation"):
        spec["outlines"] = url_for("api.districts", simplify=0.0002)
    return spec


def downloads(view: str, query: dict[str, str], png_alt: str) -> dict[str, Any]:
    return {
        "png": url_for("planners.export", view=view, fmt="png", **query),
        "csv": url_for("planners.export", view=view, fmt="csv", **query),
        "gpkg": url_for("planners.export", view=view, fmt="gpkg", **query),
        "png_alt": png_alt,
    }


def render(view: str, parsed: Parsed, **ctx: Any):
    for k in ("result", "job", "fmap", "files"):
        ctx.setdefault(k, None)
    status = 200
    if parsed.errors:
        status = 400
    elif parsed.forbidden:
        status = 403
    return (
        render_template(
            f"planners/{view}.html",
            view=view,
            title=gettext(VIEW_TITLES[view]),
            nav=nav(),
            form=form_controls(parsed),
            errors={**parsed.forbidden, **parsed.errors},
            action=url_for(f"planners.{view}"),
            **audience(),
            **ctx,
        ),
        status,
    )


def job_context(st: gp.JobStatus) -> dict[str, Any]:
    d = st.as_dict()
    return {
        "key": st.key,
        "state": st.state,
        "percent": int(round(d["progress"] * 100)),
        "elapsed": d["elapsed_s"],
        "url": url_for("planners.job_status", key=st.key),
        "failed": st.state == "failed",
    }


def run_job(
    analysis: str,
    params: dict[str, Any],
    compute: Callable[[Any], dict[str, Any]],
    tables: Sequence[str],
    wait_s: float,
) -> tuple[gp.JobStatus, dict[str, Any] | None]:
    """A cached analysis result, computed now or in the background (see geo.planning.JobStore)."""
    eng = engine()
    with eng.connect() as conn:
        key = gp.job_key(analysis, params, gp.data_stamp(conn, tables))

    limit_s = float(current_app.config.get("PLANNERS_STATEMENT_TIMEOUT_S", 600))

    def fn() -> dict[str, Any]:
        with eng.begin() as conn:
            # a runaway analysis must not hold the (single) analysis thread for ever
            gp.statement_timeout(conn, limit_s)
            return compute(conn)

    return store().run(key, analysis, fn, wait_s)


# --- the index ----------------------------------------------------------------------------------


@bp.get("")
def index():
    pub = public()
    with engine().connect() as conn:
        hist = gp.history_view(conn, pub)
        located = gp.located_counts(conn, pub)
        ballot_eds = gp.ballot_editions(conn)
    return render_template(
        "planners/index.html",
        title=gettext("Analizy dla planistów"),
        nav=nav(),
        summaries=[
            {
                "title": gettext(VIEW_TITLES[v]),
                "text": gettext(VIEW_SUMMARIES[v]),
                "url": url_for(f"planners.{v}"),
            }
            for v in VIEWS
        ],
        history=history_matrix(hist),
        located=located,
        ballot_editions=ballot_eds,
        **audience(),
    )


# --- demand per district ------------------------------------------------------------------------

DEMAND_METRIC_TITLES = {
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


def demand_params(eds: Sequence[int]) -> list[Param]:
    return [
        Param(
            "edition",
            gettext("Edycja"),
            "edition",
            eds[0] if eds else None,
            choices=edition_choices(eds, gettext("Wszystkie edycje")),
        ),
        Param(
            "metric",
            gettext("Miara na mapie"),
            "choice",
            "proposals_per_1000",
            choices=[(m, gettext(DEMAND_METRIC_TITLES[m])) for m in gp.DEMAND_METRICS],
        ),
    ]


def format_metric(metric: str, value: float | None) -> str:
    if metric == "asked_to_pool":
        return percent(value)
    if metric in ("money", "money_per_resident"):
        return "—" if value is None else num(value, METRIC_DECIMALS.get(metric, 0)) + " zł"
    return num(value, METRIC_DECIMALS.get(metric, 0))


def sequential_classes(
    breaks: Sequence[float], fmt: Callable[[float | None], str], counts: dict[Any, int]
) -> list[dict[str, Any]]:
    """Legend entries for class breaks (lower limit inclusive) plus "no data"."""
    k = len(breaks) + 1
    colors = [SEQUENTIAL[round(i * (len(SEQUENTIAL) - 1) / max(1, k - 1))] for i in range(k)]
    if k == 1:
        colors = [SEQUENTIAL[2]]
    out = []
    for i in range(k):
        if k == 1:
            title = gettext("wszystkie wartości")
        elif i == 0:
            title = gettext("poniżej %(v)s", v=fmt(breaks[0]))
        elif i == k - 1:
            title = gettext("%(v)s i więcej", v=fmt(breaks[-1]))
        else:
            title = gettext("od %(lo)s do poniżej %(hi)s", lo=fmt(breaks[i - 1]), hi=fmt(breaks[i]))
        out.append(
            {"key": str(i), "color": colors[i], "stroke": "#444444", "weight": 1, "fill": 0.75}
            | {"title": title, "count": counts.get(str(i), 0)}
        )
    if counts.get("none"):
        out.append(
            {
                "key": "none",
                "color": NO_DATA,
                "stroke": "#444444",
                "weight": 1,
                "dash": "4 3",
                "fill": 0.5,
                "title": gettext("brak danych"),
                "count": counts["none"],
            }
        )
    return out


def demand_data(values: dict[str, Any]) -> dict[str, Any]:
    metric = values["metric"]
    with engine().connect() as conn:
        view = gp.demand_view(conn, public(), values["edition"])
        pop_date = gp.population_date(conn)
    vals = [r[metric] for r in view["rows"]]
    breaks = gp.metric_breaks(metric, vals)
    keys = {}
    counts: dict[str, int] = {}
    for r in view["rows"]:
        c = gp.classify(r[metric], breaks)
        keys[r["number"]] = "none" if c is None else str(c)
        counts[keys[r["number"]]] = counts.get(keys[r["number"]], 0) + 1
    classes = sequential_classes(breaks, lambda v: format_metric(metric, v), counts)
    return {"view": view, "keys": keys, "classes": classes, "pop_date": pop_date}


@bp.get("/demand")
def demand():
    with engine().connect() as conn:
        eds = gp.editions(conn, public())
    parsed = parse(demand_params(eds))
    if not parsed.ok:
        return render("demand", parsed)
    values = parsed.values
    data = demand_data(values)
    view, metric = data["view"], values["metric"]
    metric_title = gettext(DEMAND_METRIC_TITLES[metric])
    query = parsed.query()
    rows = []
    for r in view["rows"]:
        rows.append(
            [
                {"text": f"{r['number']}. {r['name']}", "header": True},
                {"text": num(r["population"]), "num": True},
                {"text": num(r["proposals"]), "num": True},
                {"text": num(r["proposals_per_1000"], 2), "num": True},
                {"text": money(r["money"]), "num": True},
                {"text": num(r["money_per_resident"], 2) + " zł", "num": True},
                {"text": money(r["pool"]), "num": True},
                {"text": percent(r["asked_to_pool"]), "num": True},
                {"text": num(r["comments"]), "num": True},
                {"text": num(r["comments_per_1000"], 2), "num": True},
                {"text": num(r["supports"]), "num": True},
                {"text": num(r["supports_per_1000"], 2), "num": True},
                {"text": _class_title(data["classes"], data["keys"][r["number"]])},
            ]
        )
    columns = [
        gettext("Dzielnica"),
        gettext("Mieszkańcy"),
        gettext("Projekty"),
        gettext("Projekty na 1000 mieszk."),
        gettext("Wnioskowana kwota"),
        gettext("Kwota na mieszkańca"),
        gettext("Pula dzielnicy"),
        gettext("Kwota względem puli"),
        gettext("Uwagi"),
        gettext("Uwagi na 1000 mieszk."),
        gettext("Poparcia"),
        gettext("Poparcia na 1000 mieszk."),
        gettext("Klasa na mapie: %(metric)s", metric=metric_title),
    ]
    spec = map_spec(
        "demand",
        "choropleth",
        query,
        data["classes"],
        gettext("Dzielnice: %(metric)s", metric=metric_title),
    )
    return render(
        "demand",
        parsed,
        result=view,
        metric_title=metric_title,
        classes=data["classes"],
        columns=columns,
        rows=rows,
        pop_label=population_label(data["pop_date"]),
        fmap=city_map([spec]),
        files=downloads(
            "demand",
            query,
            gettext("Wykres słupkowy: %(metric)s w każdej dzielnicy.", metric=metric_title),
        ),
        edition=values["edition"],
        totals={
            "proposals": num(view["total_proposals"]),
            "money": money(view["total_money"]),
            "unlocated": num(view["unlocated"]),
            "citywide_pool": money(view["citywide_pool"]),
            "comments": num(view["comments"]),
        },
    )


def population_label(pop_date: Any) -> str:
    when = pop_date.strftime("%d.%m.%Y") if pop_date else "31.12.2025"
    return gettext("zameldowani na pobyt stały, stan na %(date)s", date=when)


def _class_title(classes: list[dict[str, Any]], key: str) -> str:
    return next((c["title"] for c in classes if c["key"] == key), "")


def demand_geojson(values: dict[str, Any]) -> str:
    data = demand_data(values)
    metric = values["metric"]
    title = gettext(DEMAND_METRIC_TITLES[metric])
    props = {}
    for r in data["view"]["rows"]:
        props[r["number"]] = {
            "cls": data["keys"][r["number"]],
            "label": f"{r['number']}. {r['name']}: {title} — {format_metric(metric, r[metric])}",
            "value": r[metric],
            "proposals": r["proposals"],
            "proposals_per_1000": r["proposals_per_1000"],
            "money": r["money"],
            "pool": r["pool"],
            "asked_to_pool": r["asked_to_pool"],
            "comments": r["comments"],
            "supports": r["supports"],
        }
    with engine().connect() as conn:
        return gp.district_choropleth(conn, props)


# --- history of past editions ---------------------------------------------------------------------


def history_matrix(hist: dict[str, Any]) -> dict[str, Any]:
    """Districts × editions: "proposals / winners" (winners "?" where the source lacks them)."""
    eds = hist["editions"]
    rows = []
    for d in hist["districts"] + [{"number": 0, "name": gettext("bez dzielnicy (ogólnomiejskie)")}]:
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


def history_params(eds: Sequence[int]) -> list[Param]:
    return [
        Param(
            "edition",
            gettext("Edycja (frekwencja)"),
            "edition",
            eds[-1] if eds else None,
            choices=edition_choices(sorted(eds, reverse=True), None),
        )
    ]


def turnout_classes(view: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[int, str]]:
    vals = [r["per_1000"] for r in view["rows"]]
    breaks = gp.quantile_breaks(vals)
    keys: dict[int, str] = {}
    counts: dict[str, int] = {}
    for r in view["rows"]:
        c = gp.classify(r["per_1000"], breaks) if r["ballots"] or r["per_1000"] else None
        if not view["recorded"]:
            c = None
        keys[r["number"]] = "none" if c is None else str(c)
        counts[keys[r["number"]]] = counts.get(keys[r["number"]], 0) + 1
    return sequential_classes(breaks, lambda v: num(v, 1), counts), keys


@bp.get("/history")
def history():
    pub = public()
    with engine().connect() as conn:
        ballot_eds = gp.ballot_editions(conn)
        hist = gp.history_view(conn, pub)
        parsed = parse(history_params(ballot_eds))
        if not parsed.ok:
            return render("history", parsed)
        edition = parsed.values["edition"]
        turnout = gp.turnout_view(conn, edition) if edition is not None else None
        won = gp.winners(conn, pub, edition) if edition is not None else []
        pop_date = gp.population_date(conn)
    query = parsed.query()
    classes, keys = turnout_classes(turnout) if turnout else ([], {})
    turnout_rows = []
    if turnout:
        for r in turnout["rows"]:
            turnout_rows.append(
                [
                    {"text": f"{r['number']}. {r['name']}", "header": True},
                    {"text": num(r["population"]), "num": True},
                    {
                        "text": num(r["ballots"]),
                        "num": True,
                        "data": {"district": r["number"], "ballots": r["ballots"]},
                    },
                    {"text": num(r["per_1000"], 1), "num": True},
                    {"text": _class_title(classes, keys[r["number"]])},
                ]
            )
    fmap = None
    if turnout:
        fmap = city_map(
            [
                map_spec(
                    "history",
                    "choropleth",
                    query,
                    classes,
                    gettext("Głosujący w edycji %(e)s na 1000 mieszkańców", e=edition),
                )
            ]
        )
    movement = demand_movement(hist)
    ly = registry.get(PROPOSALS)
    names = {d["number"]: f"{d['number']}. {d['name']}" for d in hist["districts"]}
    per_district: dict[int, int] = {}
    winner_rows = []
    for w in won:
        per_district[w["district"]] = per_district.get(w["district"], 0) + 1
        if per_district[w["district"]] > WINNERS_SHOWN:
            continue
        winner_rows.append(
            [
                {
                    "text": names.get(w["district"], gettext("bez dzielnicy (ogólnomiejskie)")),
                    "header": True,
                },
                {
                    "text": short(w["title"], 140),
                    "href": permalink(ly, w["id"]) if ly else None,
                    "data": {"winner": w["id"], "district": w["district"]},
                },
                {"text": money(w["cost"]), "num": True},
                {"text": num(w["votes"]), "num": True},
            ]
        )
    winners_hidden = sum(max(0, n - WINNERS_SHOWN) for n in per_district.values())
    return render(
        "history",
        parsed,
        winner_rows=winner_rows,
        winners_hidden=winners_hidden,
        winners_shown=WINNERS_SHOWN,
        decided=bool(edition is not None and hist["decided"].get(edition)),
        result=hist,
        matrix=history_matrix(hist),
        movement=movement,
        turnout=turnout,
        turnout_rows=turnout_rows,
        edition=edition,
        classes=classes,
        ballot_editions=ballot_eds,
        pop_label=population_label(pop_date),
        fmap=fmap,
        files=downloads(
            "history",
            query,
            gettext(
                "Małe wykresy liniowe: liczba projektów i zwycięzców w każdej dzielnicy "
                "w kolejnych edycjach."
            ),
        ),
        turnout_png=url_for("planners.export", view="turnout", fmt="png", **query),
        turnout_json=url_for("planners.api_turnout", edition=edition) if edition else None,
    )


def demand_movement(hist: dict[str, Any]) -> dict[str, Any]:
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
                change = " (" + ("+" if delta > 0 else "") + num(delta * 100) + " %)"
            cells.append(
                {
                    "text": f"{c['proposals']}{change}",
                    "sub": num(c["money"] / 1e6, 1) + " " + gettext("mln zł"),
                    "num": True,
                }
            )
            prev = c
        rows.append([{"text": f"{d['number']}. {d['name']}", "header": True}, *cells])
    return {"editions": eds, "rows": rows}


# --- hot spots ------------------------------------------------------------------------------------

HOTSPOT_LAYERS = ("all", "proposals", "comments")


def hotspot_params(eds: Sequence[int]) -> list[Param]:
    return [
        Param(
            "layers",
            gettext("Co analizować"),
            "choice",
            "all",
            choices=[
                ("all", gettext("projekty i uwagi")),
                ("proposals", gettext("tylko projekty")),
                ("comments", gettext("tylko uwagi z konsultacji")),
            ],
        ),
        Param(
            "edition",
            gettext("Edycja (projekty)"),
            "edition",
            None,
            choices=edition_choices(eds, gettext("Wszystkie edycje")),
        ),
        size_param(),
        Param(
            "alpha",
            gettext("Najniższy poziom ufności"),
            "choice",
            "0.1",
            choices=[("0.1", "90 %"), ("0.05", "95 %"), ("0.01", "99 %")],
            tuning=True,
        ),
        Param(
            "correction",
            gettext("Poprawka na wielokrotne testowanie"),
            "choice",
            "fdr",
            choices=[
                ("fdr", gettext("FDR (Benjamini–Hochberg)")),
                ("bonferroni", gettext("Bonferroni")),
                ("none", gettext("bez poprawki")),
            ],
            tuning=True,
        ),
        Param(
            "inference",
            gettext("Hipoteza zerowa"),
            "choice",
            "csr",
            choices=[
                ("csr", gettext("losowe położenie na powierzchni (dokładny test)")),
                ("population", gettext("losowe położenie według liczby mieszkańców")),
                ("permutation", gettext("permutacje (esda)")),
            ],
            tuning=True,
        ),
    ]


def hotspot_classes(summary: dict[str, Any] | None, alpha: float) -> list[dict[str, Any]]:
    levels = (summary or {}).get("levels") or [
        gp.confidence_label(lv) for lv in gp.confidence_levels(alpha)
    ]
    counts = (summary or {}).get("counts", {})
    out = []
    for i, conf in enumerate(levels):
        out.append(
            {
                "key": f"hot_{conf}",
                "color": HOT_COLORS[min(i, len(HOT_COLORS) - 1)],
                "stroke": "#67001f",
                "weight": 2.5 - 0.5 * min(i, 2),
                "fill": 0.8,
                "title": gettext("gorący punkt, ufność %(c)s %%", c=conf),
                "count": counts.get(f"hot_{conf}", 0),
            }
        )
    out.append(
        {
            "key": "not_significant",
            "color": NS_COLOR,
            "stroke": "#888888",
            "weight": 0.5,
            "fill": 0.5,
            "title": gettext("nieistotne statystycznie"),
            "count": counts.get("not_significant", 0),
        }
    )
    for i, conf in reversed(list(enumerate(levels))):
        out.append(
            {
                "key": f"cold_{conf}",
                "color": COLD_COLORS[min(i, len(COLD_COLORS) - 1)],
                "stroke": "#053061",
                "weight": 2.5 - 0.5 * min(i, 2),
                "fill": 0.8,
                "title": gettext("zimny punkt, ufność %(c)s %%", c=conf),
                "count": counts.get(f"cold_{conf}", 0),
            }
        )
    out.append(
        {
            "key": "not_tested",
            "color": "#ffffff",
            "stroke": "#888888",
            "weight": 1,
            "dash": "3 3",
            "fill": 0.1,
            "title": gettext("nie testowano (skrawek na granicy miasta)"),
            "count": counts.get("not_tested", 0),
        }
    )
    return out


def hotspot_job(values: dict[str, Any], wait_s: float):
    pub = public()
    sources = []
    if values["layers"] in ("all", "proposals"):
        sources.append(gp.proposals_source(pub, values["edition"]))
    if values["layers"] in ("all", "comments"):
        sources.append(gp.comments_source(pub))
    params = {
        k: values[k] for k in ("layers", "edition", "size", "alpha", "correction", "inference")
    }

    def compute(conn):
        return gp.hotspot_payload(
            conn,
            sources,
            size=float(values["size"]),
            alpha=float(values["alpha"]),
            correction=values["correction"],
            inference=values["inference"],
        )

    return run_job(
        "hotspots",
        params,
        compute,
        ("budget_proposals", "consultation_comments"),
        wait_s,
    )


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


@bp.get("/hotspots")
def hotspots():
    pub = public()
    with engine().connect() as conn:
        eds = gp.editions(conn, pub)
        located = gp.located_counts(conn, pub)
    parsed = parse(hotspot_params(eds))
    if not parsed.ok:
        return render("hotspots", parsed, located=located)
    values = parsed.values
    st, payload = hotspot_job(values, inline_wait())
    query = parsed.query()
    alpha = float(values["alpha"])
    if payload is None:
        return render("hotspots", parsed, located=located, job=job_context(st))
    summary = payload["summary"]
    inference, correction = summary["inference"], summary["correction"]
    classes = hotspot_classes(summary, alpha)
    titles = {c["key"]: c["title"] for c in classes}
    sig = [c for c in payload["cells"] if c["cls"] in ("hot", "cold")]
    sig.sort(key=lambda c: (c["cls"] != "hot", -(abs(c["z"] or 0))))
    limit = 300
    rows = [
        [
            {"text": str(c["id"]), "header": True},
            {"text": titles.get(c["key"], c["key"])},
            {"text": c["district"] or "—"},
            {"text": num(c["count"]), "num": True},
            {"text": num(c["z"], 2), "num": True},
            {"text": _p(c["p"]), "num": True},
        ]
        for c in sig[:limit]
    ]
    class_rows = [
        [{"text": c["title"], "header": True}, {"text": num(c["count"]), "num": True}]
        for c in classes
    ]
    spec = map_spec(
        "hotspots", "grid", query, classes, gettext("Siatka: gorące i zimne punkty (Gi*)")
    )
    return render(
        "hotspots",
        parsed,
        located=located,
        result=payload,
        summary=summary,
        classes=classes,
        rows=rows,
        more_rows=max(0, len(sig) - limit),
        class_rows=class_rows,
        inference_title=gettext(INFERENCE_TITLES[inference]),
        correction_title=gettext(CORRECTION_TITLES[correction]),
        p_cutoff=_p(summary["p_cutoff"]) if summary["p_cutoff"] else "—",
        fmap=city_map([spec]),
        files=downloads(
            "hotspots",
            query,
            gettext("Wykres słupkowy: liczba komórek siatki w każdej klasie istotności."),
        ),
    )


def _p(p: float | None) -> str:
    if p is None:
        return "—"
    if p < 0.0001:
        return "< 0,0001" if lang() == "pl" else "< 0.0001"
    return num(p, 4)


def hotspot_label(c: dict[str, Any], titles: dict[str, str]) -> str:
    parts = [titles.get(c["key"], c["key"]), gettext("punktów: %(n)s", n=c["count"])]
    if c["z"] is not None:
        parts.append(f"z = {num(c['z'], 2)}")
    if c["p"] is not None:
        parts.append(f"p = {_p(c['p'])}")
    if c.get("district"):
        parts.append(c["district"])
    return " · ".join(parts)


# --- coverage -------------------------------------------------------------------------------------


def coverage_targets() -> list[tuple[str, str]]:
    lng = lang()
    out = [("ngos", gettext("organizacje pozarządowe: wszystkie"))]
    ngos = registry.get("ngos")
    if ngos is not None:
        f = ngos.field("fields")
        for c in f.choices:
            out.append(
                (f"ngos:{c}", gettext("organizacje: %(field)s", field=choice_title(f, c, lng)))
            )
    out.append(("venues", gettext("miejsca obywatelskie: wszystkie")))
    venues = registry.get("civic-venues")
    if venues is not None:
        f = venues.field("type")
        for c in f.choices:
            out.append((f"venues:{c}", gettext("miejsca: %(type)s", type=choice_title(f, c, lng))))
    return out


def coverage_params(default_target: str) -> list[Param]:
    return [
        Param(
            "target",
            gettext("Do czego liczyć odległość"),
            "choice",
            default_target,
            choices=coverage_targets(),
        ),  # fmt: skip
        size_param(),
        Param(
            "threshold",
            gettext("Próg niedostatecznej obsługi (m)"),
            "float",
            1000.0,
            lo=100,
            hi=10000,
            tuning=True,
            help=gettext("Komórki dalej niż ten próg od najbliższego celu są oznaczone."),
        ),
    ]


def target_source(target: str) -> gp.Source:
    kind, _, value = target.partition(":")
    if kind == "ngos":
        return gp.ngos_source(value or None)
    return gp.venues_source(value or None)


def coverage_job(values: dict[str, Any], wait_s: float):
    source = target_source(values["target"])
    params = {k: values[k] for k in ("target", "size", "threshold")}

    def compute(conn):
        return gp.coverage_payload(
            conn, source, size=float(values["size"]), threshold_m=float(values["threshold"])
        )

    return run_job("coverage", params, compute, ("civic_venues", "ngo_locations"), wait_s)


def coverage_classes(summary: dict[str, Any] | None, cells: list[dict[str, Any]]):
    counts: dict[str, int] = {}
    for c in cells:
        k = coverage_key(c)
        counts[k] = counts.get(k, 0) + 1
    b = gp.DISTANCE_BREAKS
    titles = [gettext("do %(m)s", m=metres(b[0]))]
    titles += [
        gettext("od %(lo)s do %(hi)s", lo=metres(b[i - 1]), hi=metres(b[i]))
        for i in range(1, len(b))
    ]
    titles.append(gettext("ponad %(m)s", m=metres(b[-1])))
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
                }  # fmt: skip
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
                    "title": title + " — " + gettext("niedostatecznie obsłużone"),
                }  # fmt: skip
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
                "title": gettext("brak celów: niedostatecznie obsłużone"),
                "count": counts["none"],
            }
        )
    return out


def coverage_key(c: dict[str, Any]) -> str:
    if c["cls"] is None:
        return "none"
    return f"{c['cls']}{'u' if c['underserved'] else ''}"


def default_target() -> str:
    with engine().connect() as conn:
        return "ngos" if gp.table_count(conn, "ngo_locations") else "venues"


@bp.get("/coverage")
def coverage():
    with engine().connect() as conn:
        n_ngos = gp.table_count(conn, "ngo_locations")
    parsed = parse(coverage_params("ngos" if n_ngos else "venues"))
    if not parsed.ok:
        return render("coverage", parsed, n_ngos=n_ngos)
    values = parsed.values
    st, payload = coverage_job(values, inline_wait())
    if payload is None:
        return render("coverage", parsed, n_ngos=n_ngos, job=job_context(st))
    query = parsed.query()
    summary = payload["summary"]
    classes = coverage_classes(summary, payload["cells"])
    district_rows = [
        [
            {"text": f"{d['number']}. {d['name']}", "header": True},
            {"text": num(d["population"]), "num": True},
            {"text": metres(d["mean_distance_m"]), "num": True},
            {"text": num(d["underserved_population"]), "num": True},
            {"text": percent(d["underserved_share"], 1), "num": True},
        ]
        for d in payload["districts"]
    ]
    worst = sorted(
        (c for c in payload["cells"] if c["underserved"] and c["population"] > 0),
        key=lambda c: -c["population"] * (c["distance_m"] or 1e9),
    )[:25]
    with engine().connect() as conn:
        names = dict(
            zip(
                [c["id"] for c in worst],
                gp._cell_districts(conn, [c["geojson"] for c in worst]),
                strict=True,
            )
        )
    cell_rows = [
        [
            {"text": str(c["id"]), "header": True},
            {"text": names.get(c["id"]) or "—"},
            {"text": num(c["population"]), "num": True},
            {"text": metres(c["distance_m"]), "num": True},
            {"text": c["nearest_name"] or "—"},
        ]
        for c in worst
    ]
    target_title = dict(coverage_targets()).get(values["target"], values["target"])
    spec = map_spec(
        "coverage",
        "grid",
        query,
        classes,
        gettext("Odległość do najbliższego celu: %(t)s", t=target_title),
    )
    return render(
        "coverage",
        parsed,
        n_ngos=n_ngos,
        result=payload,
        summary=summary,
        target_title=target_title,
        classes=classes,
        district_rows=district_rows,
        cell_rows=cell_rows,
        fmap=city_map([spec]),
        stats={
            "targets": num(summary["targets"]),
            "mean": metres(summary["mean_distance_m"]),
            "under_pop": num(summary["underserved_population"]),
            "under_share": percent(summary["underserved_share"], 1),
            "threshold": metres(summary["threshold_m"]),
            "cells": num(summary["underserved_cells"]),
        },
        files=downloads(
            "coverage",
            query,
            gettext(
                "Wykres słupkowy: średnia odległość do najbliższego celu w każdej dzielnicy, "
                "ważona liczbą mieszkańców."
            ),
        ),
    )


# --- duplicates -----------------------------------------------------------------------------------


def duplicate_params(eds: Sequence[int]) -> list[Param]:
    return [
        Param(
            "edition",
            gettext("Edycja"),
            "edition",
            None,
            choices=edition_choices(eds, gettext("Wszystkie edycje")),
        ),
        Param(
            "same_edition",
            gettext("Porównuj"),
            "choice",
            "1",
            choices=[
                ("1", gettext("tylko projekty tej samej edycji")),
                ("0", gettext("projekty wszystkich edycji")),
            ],
            tuning=True,
        ),
        Param(
            "distance",
            gettext("Największa odległość (m)"),
            "float",
            200.0,
            lo=1,
            hi=2000,
            tuning=True,
            help=gettext("Od 1 do 2000 metrów."),
        ),
        Param(
            "threshold",
            gettext("Najmniejsze podobieństwo tytułów"),
            "float",
            0.5,
            lo=0.1,
            hi=1,
            tuning=True,
            help=gettext("Podobieństwo trigramów od 0,1 do 1."),
        ),
        Param(
            "limit",
            gettext("Najwięcej par"),
            "int",
            500,
            lo=1,
            hi=5000,
            tuning=True,
        ),
    ]


def duplicate_job(values: dict[str, Any], wait_s: float):
    source = gp.proposals_source(public(), values["edition"])
    params = {k: values[k] for k in ("edition", "same_edition", "distance", "threshold", "limit")}

    def compute(conn):
        return gp.duplicates_payload(
            conn,
            source,
            distance_m=float(values["distance"]),
            threshold=float(values["threshold"]),
            same_edition=values["same_edition"] == "1",
            limit=int(values["limit"]),
        )

    return run_job("duplicates", params, compute, ("budget_proposals",), wait_s)


def duplicate_classes(pairs: list[dict[str, Any]], threshold: float) -> list[dict[str, Any]]:
    bands = [(0.9, 1.01), (0.75, 0.9), (threshold, 0.75)]
    out = []
    for i, (lo, hi) in enumerate(bands):
        if lo >= hi:
            continue
        n = sum(1 for p in pairs if lo <= p["similarity"] < hi)
        title = (
            gettext("podobieństwo co najmniej %(lo)s", lo=num(lo, 2))
            if i == 0
            else gettext("podobieństwo od %(lo)s do poniżej %(hi)s", lo=num(lo, 2), hi=num(hi, 2))
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


def duplicate_key(p: dict[str, Any]) -> str:
    s = p["similarity"]
    return "0" if s >= 0.9 else "1" if s >= 0.75 else "2"


@bp.get("/duplicates")
def duplicates():
    pub = public()
    with engine().connect() as conn:
        eds = gp.editions(conn, pub)
        located = gp.located_counts(conn, pub)
    parsed = parse(duplicate_params(eds))
    if not parsed.ok:
        return render("duplicates", parsed, located=located)
    values = parsed.values
    st, payload = duplicate_job(values, inline_wait())
    if payload is None:
        return render("duplicates", parsed, located=located, job=job_context(st))
    query = parsed.query()
    ly = registry.get(PROPOSALS)
    status_field = ly.field("status") if ly else None
    lng = lang()
    names = _district_names()
    rows = []
    for p in payload["pairs"]:
        rows.append(
            [
                {"text": str(p["id"]), "header": True},
                {
                    "text": short(p["a_title"], 120),
                    "href": permalink(ly, p["a_id"]) if ly else None,
                    "sub": _proposal_meta(p["a_edition"], p["a_status"], status_field, lng),
                },  # fmt: skip
                {
                    "text": short(p["b_title"], 120),
                    "href": permalink(ly, p["b_id"]) if ly else None,
                    "sub": _proposal_meta(p["b_edition"], p["b_status"], status_field, lng),
                },  # fmt: skip
                {"text": num(p["similarity"], 2), "num": True},
                {"text": metres(p["distance_m"]), "num": True},
                {"text": ", ".join(names.get(n, str(n)) for n in p["districts"]) or "—"},
            ]
        )
    classes = duplicate_classes(payload["pairs"], float(values["threshold"]))
    spec = map_spec("duplicates", "choropleth", query, classes, gettext("Pary podobnych projektów"))
    return render(
        "duplicates",
        parsed,
        located=located,
        result=payload,
        summary=payload["summary"],
        rows=rows,
        classes=classes,
        fmap=city_map([spec]),
        files=downloads(
            "duplicates",
            query,
            gettext("Wykres słupkowy: liczba par podobnych projektów w każdej dzielnicy."),
        ),
    )


def _district_names() -> dict[int, str]:
    with engine().connect() as conn:
        return {d["number"]: d["name"] for d in gd.list_districts(conn)}


def _proposal_meta(edition: Any, status: Any, status_field: Any, lng: str) -> str:
    parts = []
    if edition:
        parts.append(gettext("edycja %(e)s", e=edition))
    if status and status_field is not None:
        parts.append(choice_title(status_field, status, lng))
    return ", ".join(parts)


# --- revitalisation ---------------------------------------------------------------------------------


def revitalisation_params() -> list[Param]:
    return [
        Param(
            "distance",
            gettext("Odległość „blisko” (m)"),
            "float",
            250.0,
            lo=0,
            hi=2000,
            tuning=True,
            help=gettext("Od 0 do 2000 metrów od granicy obszaru."),
        )
    ]


def revitalisation_job(values: dict[str, Any], wait_s: float):
    pub = public()
    params = {"distance": values["distance"]}

    def compute(conn):
        return gp.revitalisation_payload(conn, pub, distance_m=float(values["distance"]))

    return run_job(
        "revitalisation",
        params,
        compute,
        ("budget_proposals", "consultation_comments", "revitalisation_areas"),
        wait_s,
    )


def revitalisation_classes(payload: dict[str, Any] | None) -> list[dict[str, Any]]:
    hits = (payload or {}).get("hits", [])
    best: dict[tuple[str, int], bool] = {}  # a feature counts once: inside any area wins
    for h in hits:
        key = (h["kind"], h["feature_id"])
        best[key] = best.get(key, False) or h["inside"]

    def n(kind: str, inside: bool) -> int:
        return sum(1 for (k, _), v in best.items() if k == kind and v == inside)

    return [
        {
            "key": "area",
            "color": "#9e9ac8",
            "stroke": "#54278f",
            "weight": 2,
            "fill": 0.25,
            "title": gettext("obszar rewitalizacji"),
            "count": len((payload or {}).get("areas", [])),
        },
        {
            "key": "proposal_in",
            "color": "#d95f02",
            "stroke": "#7f2704",
            "weight": 2,
            "fill": 0.9,
            "title": gettext("projekt w obszarze"),
            "count": n("proposal", True),
        },
        {
            "key": "proposal_near",
            "color": "#fdd0a2",
            "stroke": "#d95f02",
            "weight": 2,
            "dash": "3 2",
            "fill": 0.9,
            "title": gettext("projekt blisko obszaru"),
            "count": n("proposal", False),
        },
        {
            "key": "comment_in",
            "color": "#1b9e77",
            "stroke": "#00441b",
            "weight": 2,
            "fill": 0.9,
            "title": gettext("uwaga w obszarze"),
            "count": n("comment", True),
        },
        {
            "key": "comment_near",
            "color": "#c7e9c0",
            "stroke": "#1b9e77",
            "weight": 2,
            "dash": "3 2",
            "fill": 0.9,
            "title": gettext("uwaga blisko obszaru"),
            "count": n("comment", False),
        },
    ]


@bp.get("/revitalisation")
def revitalisation():
    pub = public()
    with engine().connect() as conn:
        located = gp.located_counts(conn, pub)
    parsed = parse(revitalisation_params())
    if not parsed.ok:
        return render("revitalisation", parsed, located=located)
    values = parsed.values
    st, payload = revitalisation_job(values, inline_wait())
    if payload is None:
        return render("revitalisation", parsed, located=located, job=job_context(st))
    query = parsed.query()
    area_rows = [
        [
            {"text": a["name"], "header": True},
            {"text": a["code"] or "—"},
            {"text": num(a["proposals_inside"]), "num": True},
            {"text": money(a["money_inside"]), "num": True},
            {"text": num(a["proposals_near"]), "num": True},
            {"text": money(a["money_near"]), "num": True},
            {"text": num(a["comments_inside"]), "num": True},
            {"text": num(a["comments_near"]), "num": True},
        ]
        for a in payload["areas"]
    ]
    props = registry.get(PROPOSALS)
    comments = registry.get(COMMENTS)
    limit = 300
    hit_rows = []
    for h in payload["hits"][:limit]:
        ly = props if h["kind"] == "proposal" else comments
        hit_rows.append(
            [
                {
                    "text": short(h["title"] or f"#{h['feature_id']}", 120),
                    "header": True,
                    "href": permalink(ly, h["feature_id"]) if ly else None,
                },  # fmt: skip
                {"text": gettext("projekt") if h["kind"] == "proposal" else gettext("uwaga")},
                {"text": h["area"] or "—"},
                {"text": gettext("w obszarze") if h["inside"] else gettext("blisko")},
                {"text": metres(h["distance_m"]), "num": True},
                {"text": money(h["cost"]) if h["kind"] == "proposal" else "—", "num": True},
            ]
        )
    classes = revitalisation_classes(payload)
    fmap = None
    if payload["areas"]:
        spec = map_spec(
            "revitalisation",
            "choropleth",
            query,
            classes,
            gettext("Obszary rewitalizacji z projektami i uwagami"),
        )
        fmap = city_map([spec])
    s = payload["summary"]
    return render(
        "revitalisation",
        parsed,
        located=located,
        result=payload,
        summary=s,
        classes=classes,
        area_rows=area_rows,
        hit_rows=hit_rows,
        more_hits=max(0, len(payload["hits"]) - limit),
        map_sampled=len(payload["hits"]) > MAP_HITS,
        map_hits=MAP_HITS,
        fmap=fmap,
        stats={
            "areas": num(s["areas"]),
            "distance": metres(s["distance_m"]),
            "p_in": num(s.get("proposals_inside")),
            "p_near": num(s.get("proposals_near")),
            "m_in": money(s.get("money_inside")),
            "m_near": money(s.get("money_near")),
            "c_in": num(s.get("comments_inside")),
            "c_near": num(s.get("comments_near")),
        },
        files=downloads(
            "revitalisation",
            query,
            gettext(
                "Wykres słupkowy: kwota wnioskowana w projektach w każdym obszarze i blisko niego."
            ),
        ),
    )


# --- map data (GeoJSON built from SQL geometry) ------------------------------------------------------


def _job_pending(st: gp.JobStatus):
    body = {"job": st.as_dict(), "status_url": url_for("planners.job_status", key=st.key)}
    if st.state == "failed":
        return jsonify({"error": {"code": "analysis_failed", "message": gettext(
            "Analiza się nie powiodła. Spróbuj ponownie za chwilę.")}, **body}), 503  # fmt: skip
    return jsonify(body), 202


def _parsed_or_error(params: list[Param]) -> Parsed:
    parsed = parse(params)
    if not parsed.ok:
        raise parsed.first_error()
    return parsed


def _geojson(body: str) -> Response:
    resp = Response(body, mimetype="application/geo+json")
    resp.headers["Cache-Control"] = "private, max-age=60"
    return resp


@bp.get("/api/<view>.geojson")
def api_map(view: str):
    pub = public()
    if view == "demand":
        with engine().connect() as conn:
            eds = gp.editions(conn, pub)
        parsed = _parsed_or_error(demand_params(eds))
        return _geojson(demand_geojson(parsed.values))
    if view == "history":
        with engine().connect() as conn:
            eds = gp.ballot_editions(conn)
        parsed = _parsed_or_error(history_params(eds))
        edition = parsed.values["edition"]
        if edition is None:
            return _geojson(gp.feature_collection([]))
        with engine().connect() as conn:
            turnout = gp.turnout_view(conn, edition)
            classes, keys = turnout_classes(turnout)
            props = {
                r["number"]: {
                    "cls": keys[r["number"]],
                    "label": gettext(
                        "%(name)s: %(n)s głosujących, %(r)s na 1000 mieszkańców",
                        name=f"{r['number']}. {r['name']}",
                        n=num(r["ballots"]),
                        r=num(r["per_1000"], 1),
                    ),
                    "ballots": r["ballots"],
                    "per_1000": r["per_1000"],
                }
                for r in turnout["rows"]
            }
            return _geojson(gp.district_choropleth(conn, props))
    if view == "hotspots":
        with engine().connect() as conn:
            eds = gp.editions(conn, pub)
        parsed = _parsed_or_error(hotspot_params(eds))
        st, payload = hotspot_job(parsed.values, inline_wait())
        if payload is None:
            return _job_pending(st)
        titles = {
            c["key"]: c["title"]
            for c in hotspot_classes(payload["summary"], float(parsed.values["alpha"]))
        }
        return _geojson(
            gp.feature_collection(
                (
                    c["id"],
                    c["geojson"],
                    {
                        "cls": c["key"],
                        "label": hotspot_label(c, titles),
                        "count": c["count"],
                        "z": c["z"],
                        "p": c["p"],
                        "confidence": c["confidence"],
                    },
                )
                for c in payload["cells"]
            )
        )
    if view == "coverage":
        parsed = _parsed_or_error(coverage_params(default_target()))
        st, payload = coverage_job(parsed.values, inline_wait())
        if payload is None:
            return _job_pending(st)
        return _geojson(
            gp.feature_collection(
                (
                    c["id"],
                    c["geojson"],
                    {
                        "cls": coverage_key(c),
                        "label": coverage_label(c),
                        "population": c["population"],
                        "distance_m": c["distance_m"],
                        "underserved": c["underserved"],
                    },
                )
                for c in payload["cells"]
            )
        )
    if view == "duplicates":
        with engine().connect() as conn:
            eds = gp.editions(conn, pub)
        parsed = _parsed_or_error(duplicate_params(eds))
        st, payload = duplicate_job(parsed.values, inline_wait())
        if payload is None:
            return _job_pending(st)
        return _geojson(
            gp.feature_collection(
                (
                    p["id"],
                    p["geojson"],
                    {
                        "cls": duplicate_key(p),
                        "label": f"„{short(p['a_title'], 80)}” ↔ „{short(p['b_title'], 80)}” · "
                        + gettext("podobieństwo %(s)s", s=num(p["similarity"], 2))
                        + " · "
                        + metres(p["distance_m"]),
                        "similarity": p["similarity"],
                        "distance_m": p["distance_m"],
                        "a_id": p["a_id"],
                        "b_id": p["b_id"],
                    },
                )
                for p in payload["pairs"]
            )
        )
    if view == "revitalisation":
        parsed = _parsed_or_error(revitalisation_params())
        st, payload = revitalisation_job(parsed.values, inline_wait())
        if payload is None:
            return _job_pending(st)
        feats: list[tuple[Any, str | None, dict[str, Any]]] = [
            (f"area-{a['id']}", a["geojson"], {"cls": "area", "label": a["name"]})
            for a in payload["areas"]
        ]
        hits = payload["hits"]
        step = max(1, math.ceil(len(hits) / MAP_HITS))  # a sample of every area, not the first
        for n, h in enumerate(hits[::step]):
            kind = "proposal" if h["kind"] == "proposal" else "comment"
            where = gettext("w obszarze") if h["inside"] else gettext("blisko")
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
        return _geojson(gp.feature_collection(feats))
    raise ApiError(404, "not_found", gettext("Nie ma takiej analizy."), "view")


def coverage_label(c: dict[str, Any]) -> str:
    parts = [
        gettext("odległość: %(d)s", d=metres(c["distance_m"])),
        gettext("mieszkańcy: %(n)s", n=num(c["population"])),
    ]
    if c.get("nearest_name"):
        parts.append(gettext("najbliżej: %(name)s", name=short(c["nearest_name"], 60)))
    if c["underserved"]:
        parts.append(gettext("niedostatecznie obsłużone"))
    return " · ".join(parts)


@bp.get("/api/turnout.json")
def api_turnout():
    """Ballots of the city-wide vote by the voter's district (the numbers of the history page)."""
    with engine().connect() as conn:
        eds = gp.ballot_editions(conn)
        parsed = _parsed_or_error(history_params(eds))
        edition = parsed.values["edition"]
        if edition is None:
            return jsonify({"edition": None, "editions": eds, "districts": []})
        t = gp.turnout_view(conn, edition)
    return jsonify(
        {
            "edition": edition,
            "editions": eds,
            "total": t["total"],
            "unknown": t["unknown"],
            "districts": [
                {
                    "number": r["number"],
                    "name": r["name"],
                    "population": r["population"],
                    "ballots": r["ballots"],
                    "per_1000": None if r["per_1000"] is None else round(r["per_1000"], 3),
                }
                for r in t["rows"]
            ],
        }
    )


@bp.get("/api/jobs/<key>")
def job_status(key: str):
    if not key.isalnum() or len(key) > 64:
        raise ApiError(400, "invalid_parameter", gettext("Nieprawidłowy identyfikator."), "key")
    st = store().status(key)
    if st.state == "missing":
        raise ApiError(404, "not_found", gettext("Nie ma takiego obliczenia."), "key")
    body = st.as_dict()
    if st.state == "failed":
        body["message"] = gettext("Analiza się nie powiodła. Spróbuj ponownie za chwilę.")
    return jsonify(body)


# --- downloads: PNG chart, CSV, GeoPackage -----------------------------------------------------------


def _meta(view: str, title: str, licence: str, attribution: str, filters: dict[str, Any]):
    return gx.ExportMeta(
        layer=f"planners-{view}",
        title=title,
        source="Civic Map Kraków — analizy dla planistów (/planners)",
        licence=licence,
        attribution=attribution,
        crs=4326,
        url=request.url,
        filters={k: v for k, v in filters.items() if v is not None},
    )


def _file(path: Path, fmt: str, basename: str) -> Response:
    f = gx.get_format(fmt)
    data = path.read_bytes()
    resp = Response(data, mimetype=f.media_type.split(";")[0])
    if f.key == "csv":
        resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="{basename}{f.suffix}"'
    return resp


def _png(data: bytes, basename: str) -> Response:
    resp = Response(data, mimetype="image/png")
    resp.headers["Content-Disposition"] = f'inline; filename="{basename}.png"'
    resp.headers["Cache-Control"] = "private, max-age=60"
    return resp


def _write(rows, columns, fmt, meta, basename) -> Response:
    out_dir = Path(tempfile.mkdtemp(prefix="civicmap-planners-"))
    try:
        path = gp.write_rows(rows, columns, fmt, meta, out_dir, basename)
        return _file(path, fmt, basename)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def _basename(view: str, parsed: Parsed) -> str:
    parts = [f"{k}-{v}" for k, v in sorted(parsed.query().items())]
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in "_".join(parts))
    return f"planisci-{view}" + (f"-{safe}" if safe else "")


def _wait_payload(job: Callable[[dict[str, Any], float], Any], values: dict[str, Any]):
    st, payload = job(values, float(current_app.config.get("PLANNERS_EXPORT_WAIT", 120)))
    if payload is None:
        raise ApiError(
            503,
            "analysis_pending",
            gettext("Analiza jeszcze się liczy. Spróbuj ponownie za chwilę."),
        )
    return payload


C = gx.Column


@bp.get("/<view>/export.<fmt>")
@rate_limit("planners_file", limit=60, per=60, methods=("GET",))
def export(view: str, fmt: str):
    if fmt not in FORMATS:
        raise ApiError(
            400,
            "invalid_parameter",
            gettext("Nieznany format „%(f)s”: csv, gpkg albo png.", f=short(fmt, 20)),
            "format",
        )
    handler = EXPORTS.get(view)
    if handler is None:
        raise ApiError(404, "not_found", gettext("Nie ma takiej analizy."), "view")
    return handler(fmt)


def export_demand(fmt: str) -> Response:
    with engine().connect() as conn:
        eds = gp.editions(conn, public())
    parsed = _parsed_or_error(demand_params(eds))
    values = parsed.values
    data = demand_data(values)
    rows = data["view"]["rows"]
    metric = values["metric"]
    base = _basename("demand", parsed)
    ed_text = str(values["edition"]) if values["edition"] else gettext("wszystkie edycje")
    if fmt == "png":
        title = gettext(DEMAND_METRIC_TITLES[metric]) + f" — {ed_text}"
        colors = [
            next(c["color"] for c in data["classes"] if c["key"] == data["keys"][r["number"]])
            for r in rows
        ]
        value_scale = 100.0 if metric == "asked_to_pool" else 1.0
        png = charts.bar_chart(
            [f"{r['number']}. {r['name']}" for r in rows],
            [
                charts.Series(
                    title,
                    [None if r[metric] is None else r[metric] * value_scale for r in rows],
                )
            ],
            title=title,
            axis_label=gettext("procent puli dzielnicy") if metric == "asked_to_pool" else title,
            description=gettext("Wykres słupkowy: %(metric)s w każdej dzielnicy.", metric=title),
            decimals=METRIC_DECIMALS.get(metric, 0),
            colors=colors,
            note=gettext(
                "Ludność: %(label)s. Źródła: Pabulib, Civic Map Kraków.",
                label=population_label(data["pop_date"]),
            ),  # fmt: skip
        )
        return _png(png, base)
    with engine().connect() as conn:
        outlines = gp.district_outlines(conn)
    out = [
        {
            **r,
            "edition": values["edition"],
            "cls": _class_title(data["classes"], data["keys"][r["number"]]),
            "geojson": outlines.get(r["number"]),
        }
        for r in rows
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
    meta = _meta(
        "demand",
        f"Zapotrzebowanie w dzielnicach — {ed_text}",
        "CC BY 4.0",
        "Gmina Miejska Kraków (granice, ludność); Pabulib (dawne edycje)",
        {"edition": values["edition"], "metric": metric},
    )
    return _write(out, columns, fmt, meta, base)


def export_history(fmt: str) -> Response:
    pub = public()
    with engine().connect() as conn:
        eds = gp.ballot_editions(conn)
        parsed = _parsed_or_error(history_params(eds))
        hist = gp.history_view(conn, pub)
        base = _basename("history", parsed)
        if fmt == "png":
            panels = []
            for d in hist["districts"]:
                props_ = [
                    (hist["cells"].get(e, {}).get(d["number"]) or {}).get("proposals", 0)
                    for e in hist["editions"]
                ]
                wins = [
                    (hist["cells"].get(e, {}).get(d["number"]) or {}).get("winners", 0)
                    if hist["decided"].get(e)
                    else None
                    for e in hist["editions"]
                ]
                panels.append(
                    (
                        f"{d['number']}. {d['name']}",
                        hist["editions"],
                        [
                            charts.Series(gettext("projekty"), props_),
                            charts.Series(gettext("wybrane do realizacji"), wins),
                        ],
                    )
                )
            title = gettext("Projekty i zwycięzcy w dzielnicach, kolejne edycje")
            png = charts.small_multiples(
                panels,
                title=title,
                axis_label=gettext("liczba projektów"),
                description=title,
                note=gettext(
                    "Źródło: Pabulib. Brak punktu zwycięzców: plik edycji nie podaje wyników."
                ),
            )
            return _png(png, base)
        outlines = gp.district_outlines(conn)
        turnouts = {e: gp.voter_district_counts(conn, e) for e in eds}
    out = []
    pops = {d["number"]: d["population"] for d in hist["districts"]}
    names = {d["number"]: d["name"] for d in hist["districts"]}
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
                    else None,  # fmt: skip
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
    meta = _meta(
        "history",
        "Historia edycji budżetu obywatelskiego Krakowa w dzielnicach",
        "CC BY 4.0",
        "Pabulib (dawne edycje); Gmina Miejska Kraków (granice, ludność)",
        {},
    )
    return _write(out, columns, fmt, meta, base)


def export_turnout(fmt: str) -> Response:
    if fmt != "png":
        return export_history(fmt)
    with engine().connect() as conn:
        eds = gp.ballot_editions(conn)
        parsed = _parsed_or_error(history_params(eds))
        edition = parsed.values["edition"]
        t = gp.turnout_view(conn, edition) if edition is not None else None
    rows = t["rows"] if t else []
    title = gettext("Głosujący na 1000 mieszkańców według dzielnicy, edycja %(e)s", e=edition)
    png = charts.bar_chart(
        [f"{r['number']}. {r['name']}" for r in rows],
        [charts.Series(title, [r["per_1000"] for r in rows])],
        title=title,
        axis_label=gettext("głosujący na 1000 mieszkańców"),
        description=title,
        decimals=1,
        note=gettext("Głosy w puli ogólnomiejskiej według dzielnicy podanej przez głosującego."),
    )
    return _png(png, _basename("turnout", parsed))


def export_hotspots(fmt: str) -> Response:
    with engine().connect() as conn:
        eds = gp.editions(conn, public())
    parsed = _parsed_or_error(hotspot_params(eds))
    values = parsed.values
    payload = _wait_payload(hotspot_job, values)
    classes = hotspot_classes(payload["summary"], float(values["alpha"]))
    titles = {c["key"]: c["title"] for c in classes}
    base = _basename("hotspots", parsed)
    if fmt == "png":
        title = gettext("Komórki siatki według klasy Gi*")
        png = charts.bar_chart(
            [c["title"] for c in classes],
            [charts.Series(title, [c["count"] for c in classes])],
            title=title,
            axis_label=gettext("liczba komórek"),
            description=title,
            colors=[c["color"] for c in classes],
            note=gettext(
                "Siatka %(size)s m, punktów: %(n)s.",
                size=num(payload["summary"]["size"]),
                n=num(payload["summary"]["n_points"]),
            ),
        )
        return _png(png, base)
    out = [{**c, "class_title": titles.get(c["key"], c["key"])} for c in payload["cells"]]
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
    meta = _meta(
        "hotspots",
        "Gorące i zimne punkty (Getis-Ord Gi*) projektów i uwag",
        "CC BY 4.0",
        "Civic Map Kraków",
        {k: values[k] for k in ("layers", "edition", "size", "alpha", "correction", "inference")},
    )
    return _write(out, columns, fmt, meta, base)


def export_coverage(fmt: str) -> Response:
    parsed = _parsed_or_error(coverage_params(default_target()))
    values = parsed.values
    payload = _wait_payload(coverage_job, values)
    base = _basename("coverage", parsed)
    target_title = dict(coverage_targets()).get(values["target"], values["target"])
    if fmt == "png":
        ds = payload["districts"]
        title = gettext("Średnia odległość do celu: %(t)s", t=target_title)
        png = charts.bar_chart(
            [f"{d['number']}. {d['name']}" for d in ds],
            [charts.Series(title, [d["mean_distance_m"] for d in ds])],
            title=title,
            axis_label=gettext("metry (średnia ważona liczbą mieszkańców)"),
            description=title,
            colors=[
                DISTANCE_COLORS[gp.classify(d["mean_distance_m"], gp.DISTANCE_BREAKS) or 0]
                if d["mean_distance_m"] is not None
                else NO_DATA
                for d in ds
            ],
            note=gettext(
                "Próg niedostatecznej obsługi: %(t)s.", t=metres(payload["summary"]["threshold_m"])
            ),
        )
        return _png(png, base)
    columns = [
        C("id", "int", "komórka"),
        C("population", "float", "mieszkańcy (szacunek)"),
        C("distance_m", "float", "odległość do najbliższego celu (m)"),
        C("nearest_id", "int", "najbliższy cel (id)"),
        C("nearest_name", "text", "najbliższy cel"),
        C("underserved", "bool", "niedostatecznie obsłużona"),
    ]
    meta = _meta(
        "coverage",
        f"Dostęp: {target_title}",
        "ODbL 1.0" if values["target"].startswith("venues") else "CC BY 4.0",
        "© OpenStreetMap contributors (miejsca); Gmina Miejska Kraków (ludność)",
        {k: values[k] for k in ("target", "size", "threshold")},
    )
    return _write(payload["cells"], columns, fmt, meta, base)


def export_duplicates(fmt: str) -> Response:
    with engine().connect() as conn:
        eds = gp.editions(conn, public())
    parsed = _parsed_or_error(duplicate_params(eds))
    values = parsed.values
    payload = _wait_payload(duplicate_job, values)
    base = _basename("duplicates", parsed)
    names = _district_names()
    if fmt == "png":
        counts = {n: 0 for n in names}
        for p in payload["pairs"]:
            for n in p["districts"]:
                counts[n] = counts.get(n, 0) + 1
        title = gettext("Pary podobnych projektów w dzielnicach")
        png = charts.bar_chart(
            [f"{n}. {names.get(n, n)}" for n in sorted(counts)],
            [charts.Series(title, [counts[n] for n in sorted(counts)])],
            title=title,
            axis_label=gettext("liczba par"),
            description=title,
        )
        return _png(png, base)
    out = [{**p, "district_names": ", ".join(names.get(n, str(n)) for n in p["districts"])}
           for p in payload["pairs"]]  # fmt: skip
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
    meta = _meta(
        "duplicates",
        "Podobne projekty budżetu obywatelskiego (kandydaci do połączenia)",
        "CC BY 4.0",
        "Civic Map Kraków",
        {k: values[k] for k in ("edition", "same_edition", "distance", "threshold", "limit")},
    )
    return _write(out, columns, fmt, meta, base)


def export_revitalisation(fmt: str) -> Response:
    parsed = _parsed_or_error(revitalisation_params())
    values = parsed.values
    payload = _wait_payload(revitalisation_job, values)
    base = _basename("revitalisation", parsed)
    if fmt == "png":
        areas = payload["areas"]
        title = gettext("Kwota wnioskowana w obszarach rewitalizacji i blisko nich")
        png = charts.bar_chart(
            [a["name"] for a in areas],
            [
                charts.Series(gettext("w obszarze"), [a["money_inside"] / 1e6 for a in areas]),
                charts.Series(gettext("blisko"), [a["money_near"] / 1e6 for a in areas]),
            ],
            title=title,
            axis_label=gettext("mln zł"),
            description=title,
            decimals=2,
            note="" if areas else gettext("Nie zaimportowano jeszcze obszarów rewitalizacji."),
        )
        return _png(png, base)
    out = [
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
    out += [
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
    meta = _meta(
        "revitalisation",
        "Projekty i uwagi w obszarach rewitalizacji i blisko nich",
        "CC BY 4.0",
        "Civic Map Kraków; obszary: import MSIP",
        {"distance": values["distance"]},
    )
    return _write(out, columns, fmt, meta, base)


EXPORTS: dict[str, Callable[[str], Response]] = {
    "demand": export_demand,
    "history": export_history,
    "turnout": export_turnout,
    "hotspots": export_hotspots,
    "coverage": export_coverage,
    "duplicates": export_duplicates,
    "revitalisation": export_revitalisation,
}


def init_app(app) -> None:
    if app.config.get("TESTING") and not app.config.get("PLANNERS_JOB_DIR"):
        # test databases come and go: keep their cached results out of var/
        app.config["PLANNERS_JOB_DIR"] = tempfile.mkdtemp(prefix="civicmap-planner-jobs-")
    app.register_blueprint(bp)
