"""The contract of a planner analysis, and its parameters parsed and checked generically.

An analysis is one module in civic/planning/ that declares an :class:`Analysis` named
``ANALYSIS``, plus one line in civic/planning/registry.py. The web's generic routes
(app/planners/) then give it a page (``/planners/<name>``), its map features and data
(``/planners/api/<name>.geojson``, ``/planners/api/<name>``) and its files
(``/planners/<name>/export.<csv|gpkg|png>``) with no other code.

Who may change what: selectors that choose *what* to look at (edition, metric, layer,
target) are open to all; parameters marked ``tuning`` change *how* it is computed (grid
size, significance, distances, thresholds, limits) and are for planners and admins —
anyone else sending a non-default value gets a 403 naming the field. That keeps anonymous
requests on the shared, cached standard results and the expensive variants behind an account.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from civic import N_
from civic.planning.text import Text, short
from geo import export as gx

Column = gx.Column
FORMATS = ("csv", "gpkg", "png")
LANGS = ("pl", "en", "uk")
RESERVED = ("api",)  # path segments of /planners/ that are not analyses


@dataclass
class Param:
    """One GET parameter of an analysis: its parsing, its form control, who may change it."""

    name: str
    label: str  # translated
    kind: str  # "choice" | "edition" | "int" | "float"
    default: Any
    choices: list[tuple[str, str]] = field(default_factory=list)  # (value, title)
    lo: float | None = None
    hi: float | None = None
    tuning: bool = False  # planners and admins only
    help: str = ""

    def parse(self, raw: str, t: Text) -> Any:
        """The value of ``raw``; ValueError with a message naming the field."""
        raw = raw.strip()
        if self.kind == "edition":
            if raw == "":
                return None
            if not raw.isdigit() or int(raw) not in {int(v) for v, _ in self.choices if v}:
                raise ValueError(
                    t.gettext(
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
                    t.gettext(
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
                t.gettext(
                    "Pole „%(label)s” (%(name)s) musi być liczbą od %(lo)s do %(hi)s.",
                    label=self.label,
                    name=self.name,
                    lo=t.num(self.lo, 0 if float(self.lo or 0).is_integer() else 2),
                    hi=t.num(self.hi, 0 if float(self.hi or 0).is_integer() else 2),
                )
            )
        return value

    def raw_default(self) -> str:
        if self.default is None:
            return ""
        if isinstance(self.default, float) and self.default.is_integer():
            return str(int(self.default))
        return str(self.default)


@dataclass(frozen=True)
class ParamError:
    status: int  # 400: bad value; 403: tuning by someone who is not a planner
    code: str
    message: str
    field: str


@dataclass
class Parsed:
    values: dict[str, Any]
    errors: dict[str, str]  # field -> message (400)
    forbidden: dict[str, str]  # field -> message (403)
    params: list[Param]
    raw: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.forbidden

    @property
    def status(self) -> int:
        return 400 if self.errors else 403 if self.forbidden else 200

    def query(self, **extra: Any) -> dict[str, str]:
        """The request's parameters that differ from the defaults (for links)."""
        out = {}
        for p in self.params:
            raw = self.raw.get(p.name)
            if raw is not None and raw != p.raw_default():
                out[p.name] = raw
        out.update({k: str(v) for k, v in extra.items() if v not in (None, "")})
        return out

    def first_error(self) -> ParamError:
        if self.errors:
            name, message = next(iter(self.errors.items()))
            return ParamError(400, "invalid_parameter", message, name)
        name, message = next(iter(self.forbidden.items()))
        return ParamError(403, "planner_only", message, name)

    def basename(self, name: str) -> str:
        """A file name that says which parameters made the file."""
        parts = [f"{k}-{v}" for k, v in sorted(self.query().items())]
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in "_".join(parts))
        return f"planisci-{name}" + (f"-{safe}" if safe else "")


def parse(params: list[Param], args: Mapping[str, str], planner: bool, t: Text) -> Parsed:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    forbidden: dict[str, str] = {}
    raw_args: dict[str, str] = {}
    for p in params:
        raw = args.get(p.name)
        if raw is None:
            values[p.name] = p.default
            continue
        raw_args[p.name] = raw
        try:
            values[p.name] = p.parse(raw, t)
        except ValueError as exc:
            errors[p.name] = str(exc)
            values[p.name] = p.default
            continue
        if p.tuning and not planner and values[p.name] != p.default:
            forbidden[p.name] = t.gettext(
                "Pole „%(label)s” (%(name)s) mogą zmieniać tylko planiści. Widok publiczny "
                "pokazuje wynik dla parametrów standardowych.",
                label=p.label,
                name=p.name,
            )
            values[p.name] = p.default
    return Parsed(values, errors, forbidden, params, raw_args)


def edition_choices(eds: Sequence[int], any_label: str | None) -> list[tuple[str, str]]:
    out = [("", any_label)] if any_label else []
    return out + [(str(e), str(e)) for e in eds]


def size_param(t: Text, default: float = 500.0) -> Param:
    return Param(
        "size",
        t.gettext("Rozmiar sześciokąta (m)"),
        "float",
        default,
        lo=150,
        hi=5000,
        tuning=True,
        help=t.gettext("Długość boku sześciokąta w metrach (150–5000)."),
    )


# How a district's registered residents are spread over its grid cells (geo.analysis.grid).
BASELINE_TITLES = {
    "settlement": N_(
        "tam, gdzie mieszkają: według punktów adresowych, szkół i nazwanych osiedli w pobliżu"
    ),
    "area": N_("równomiernie na całej powierzchni dzielnicy (także pola i lasy)"),
}


def baseline_param(t: Text) -> Param:
    return Param(
        "baseline",
        t.gettext("Rozkład mieszkańców w dzielnicy"),
        "choice",
        "settlement",
        choices=[(k, t.gettext(v)) for k, v in BASELINE_TITLES.items()],
        tuning=True,
        help=t.gettext(
            "Liczba mieszkańców jest znana dla dzielnic; w komórkach siatki jest szacowana. "
            "Po imporcie punktów adresowych PRG szacunek odpowiada zabudowie mieszkaniowej."
        ),
    )


@dataclass
class Table:
    """The rows of an analysis' files, their columns and the files' metadata."""

    rows: list[dict[str, Any]]  # a GeoJSON geometry (text) under "geojson"
    columns: list[gx.Column]
    title: str
    licence: str = "CC BY 4.0"
    attribution: str = "Civic Map Kraków"
    filters: dict[str, Any] = field(default_factory=dict)


Values = dict[str, Any]
Payload = dict[str, Any]


@dataclass(frozen=True)
class Analysis:
    """One planner analysis.

    ``params(conn, t)`` declares the parameters (choices may come from the data);
    ``compute(conn, values)`` returns the result as a JSON-ready payload (``background``
    ones run through civic.planning.jobs, cached under a stamp of ``tables``);
    ``features(conn, values, payload, t)`` is the map as GeoJSON FeatureCollection text
    (geometry from PostGIS, each feature's ``properties.cls`` a key of the legend);
    ``table(conn, values, payload, t)`` the rows and columns of the files;
    ``chart(conn, values, payload, t)`` the PNG chart; ``page(conn, values, payload, t)``
    the context of ``template`` (None: the generic page of the table and the map).
    """

    name: str
    titles: Mapping[str, str]  # pl / en / uk
    summary: str  # Polish msgid (civic.N_), translated when shown
    params: Callable[[Connection, Text], list[Param]]
    compute: Callable[[Connection, Values], Payload]
    features: Callable[[Connection, Values, Payload, Text], str]
    table: Callable[[Connection, Values, Payload, Text], Table]
    chart: Callable[[Connection, Values, Payload, Text], bytes] | None = None
    page: Callable[[Connection, Values, Payload, Text], dict[str, Any]] | None = None
    context: Callable[[Connection, Text], dict[str, Any]] | None = None  # before any result
    legend: Callable[[Values, Payload, Text], list[dict[str, Any]]] | None = None
    template: str = "planners/analysis.html"
    formats: tuple[str, ...] = FORMATS
    tables: tuple[str, ...] = ()
    background: bool = False
    charts: Mapping[str, Callable[[Connection, Values, Payload, Text], bytes]] = field(
        default_factory=dict
    )  # further charts, each at /planners/<key>/export.png
    listed: bool = True  # in the planners' navigation

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles["pl"]

    def problems(self) -> list[str]:
        """What this analysis lacks to be served (the registry's completeness test)."""
        out = []
        if not re.fullmatch(r"[a-z][a-z0-9-]*", self.name) or self.name in RESERVED:
            out.append(f"{self.name!r}: not a usable name (a-z, 0-9, '-'; not {RESERVED})")
        out += [f"no {lang} title" for lang in LANGS if not self.titles.get(lang)]
        if not self.summary:
            out.append("no summary")
        out += [f"unknown format {f!r}" for f in self.formats if f not in FORMATS]
        if "png" in self.formats and self.chart is None:
            out.append("png among the formats but no chart")
        if not self.template.endswith(".html"):
            out.append(f"template {self.template!r} is not an HTML template")
        return out

    def job_params(self, values: Values) -> Values:
        """What makes the cache key: the values of the declared parameters."""
        return dict(values)


def generic_page(a: Analysis, conn: Connection, values: Values, payload: Payload, t: Text):
    """The page of an analysis without a template of its own: its map and its table."""
    table = a.table(conn, values, payload, t)
    rows = [
        [
            {"text": "—" if r.get(c.name) is None else str(r.get(c.name)), "header": i == 0}
            | ({"num": True} if c.type in ("int", "float") else {})
            for i, c in enumerate(table.columns)
        ]
        for r in table.rows
    ]
    classes = (
        a.legend(values, payload, t)
        if a.legend
        else [
            {
                "key": "",
                "color": "#3182bd",
                "stroke": "#08519c",
                "weight": 1,
                "fill": 0.6,
                "title": a.title(t.lang),
                "count": len(table.rows),
            }
        ]
    )
    return {
        "result": payload,
        "caption": table.title,
        "columns": [c.title or c.name for c in table.columns],
        "rows": rows,
        "classes": classes,
        "map": {"kind": "choropleth", "title": a.title(t.lang), "classes": classes},
        "png_alt": a.title(t.lang),
    }
