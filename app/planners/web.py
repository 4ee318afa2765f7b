"""The planners' web glue: the request's language and links for the analyses' text, who may
tune, the job store from the app's config, and the pieces every page is made of (form,
navigation, map, downloads)."""

from __future__ import annotations

import tempfile
from typing import Any

from flask import current_app, render_template, request, url_for
from flask_babel import get_locale, gettext

from app import engine
from app.auth import current_user
from app.errors import ApiError
from app.views import page_map
from civic.planning import jobs, registry
from civic.planning.base import Analysis, Param, Parsed, generic_page, parse
from civic.planning.text import Text
from geo import districts as gd
from geo.config import VAR_DIR
from layers import registry as layers


def lang() -> str:
    loc = get_locale()
    code = str(loc.language) if loc else "pl"
    return code if code in ("pl", "en", "uk") else "pl"


def _link(layer: str, feature_id: int) -> str | None:
    if layers.get(layer) is None:
        return None
    return url_for("layer_pages.feature_page", layer=layer, feature_id=feature_id)


def speech() -> Text:
    return Text(gettext=gettext, lang=lang(), link=_link)


def is_planner() -> bool:
    user = current_user()
    return bool(user and user.has_role("planner"))


def analysis_or_404(name: str) -> Analysis:
    a = registry.get(name)
    if a is None:
        raise ApiError(404, "not_found", gettext("Nie ma takiej analizy."), "view")
    return a


def parsed(a: Analysis, t: Text) -> Parsed:
    with engine().connect() as conn:
        params = a.params(conn, t)
    return parse(params, request.args, is_planner(), t)


def parsed_or_error(a: Analysis, t: Text) -> Parsed:
    p = parsed(a, t)
    if not p.ok:
        e = p.first_error()
        raise ApiError(e.status, e.code, e.message, e.field)
    return p


# --- results: computed now, or cached / in the background ---------------------------------------


def store() -> jobs.JobStore:
    directory = current_app.config.get("PLANNERS_JOB_DIR") or (VAR_DIR / "planner-jobs")
    return jobs.JobStore(
        directory,
        keep_s=float(current_app.config.get("PLANNERS_KEEP_S", 3600)),
        workers=int(current_app.config.get("PLANNERS_JOB_THREADS", 2)),
    )


def inline_wait() -> float:
    return float(current_app.config.get("PLANNERS_INLINE_WAIT", 1.5))


def export_wait() -> float:
    return float(current_app.config.get("PLANNERS_EXPORT_WAIT", 120))


def result(a: Analysis, values: dict[str, Any], wait_s: float):
    """(job status or None, payload or None): background analyses go through the job store."""
    if not a.background and a.tables:  # quick, and kept until its tables change
        return None, jobs.memo(
            engine(), a.name, a.job_params(values), lambda conn: a.compute(conn, values), a.tables
        )
    if not a.background:
        with engine().connect() as conn:
            return None, a.compute(conn, values)
    return jobs.run(
        engine(),
        store(),
        a.name,
        a.job_params(values),
        lambda conn: a.compute(conn, values),
        a.tables,
        wait_s,
        float(current_app.config.get("PLANNERS_STATEMENT_TIMEOUT_S", 600)),
    )


def job_context(st: jobs.JobStatus) -> dict[str, Any]:
    d = st.as_dict()
    return {
        "key": st.key,
        "state": st.state,
        "percent": int(round(d["progress"] * 100)),
        "elapsed": d["elapsed_s"],
        "url": url_for("planners.job_status", key=st.key),
        "failed": st.state == "failed",
    }


# --- the pieces of a page -------------------------------------------------------------------------


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
    lng = lang()
    return [
        {"view": a.name, "title": a.title(lng), "url": url_for("planners.page", analysis=a.name)}
        for a in registry.all()
        if a.listed
    ]


def _plain(v: float | None) -> str:
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() else str(v)


def form_controls(p: Parsed) -> list[dict[str, Any]]:
    """The analysis' GET form: selectors for everyone, tuning fields for planners."""
    planner = is_planner()
    out = []
    for param in p.params:
        if param.tuning and not planner:
            continue
        out.append(_control(param, p))
    return out


def _control(param: Param, p: Parsed) -> dict[str, Any]:
    control: dict[str, Any] = {
        "name": param.name,
        "label": param.label,
        "value": p.raw.get(param.name, param.raw_default()),
        "error": p.errors.get(param.name) or p.forbidden.get(param.name),
        "help": param.help,
        "tuning": param.tuning,
    }
    if param.kind in ("choice", "edition"):
        control["type"] = "select"
        control["options"] = list(param.choices)
    else:
        control["type"] = "number"
        control["min"] = _plain(param.lo)
        control["max"] = _plain(param.hi)
        control["step"] = "1" if param.kind == "int" else "any"
    return control


def map_i18n() -> dict[str, str]:
    return {
        "loading": gettext("Wczytywanie mapy…"),
        "loaded": gettext("Na mapie: %(n)s obiektów.", n="{n}"),
        "empty": gettext("Brak obiektów do pokazania na mapie."),
        "error": gettext("Nie udało się wczytać mapy."),
        "running": gettext("Trwa obliczanie: %(p)s%% (%(s)s s)", p="{p}", s="{s}"),
    }


def city_map(name: str, query: dict[str, str], spec: dict[str, Any]):
    """The page's map: the analysis' features load from its API in the browser."""
    layer: dict[str, Any] = {
        "kind": spec["kind"],
        "name": name,
        "title": spec["title"],
        "url": url_for("planners.api_map", analysis=name, **query, lang=lang()),
        "classes": [
            {k: c[k] for k in ("key", "color", "stroke", "weight", "dash", "fill") if k in c}
            for c in spec["classes"]
        ],
        "i18n": map_i18n(),
    }
    if spec.get("outlines") or spec["kind"] == "grid":
        layer["outlines"] = url_for("api.districts", simplify=0.0002)
    with engine().connect() as conn:
        bounds = gd.city_bounds(conn)
    return page_map([layer], bounds)


def downloads(name: str, query: dict[str, str], png_alt: str) -> dict[str, Any]:
    return {
        "png": url_for("planners.export", analysis=name, fmt="png", **query),
        "csv": url_for("planners.export", analysis=name, fmt="csv", **query),
        "gpkg": url_for("planners.export", analysis=name, fmt="gpkg", **query),
        "png_alt": png_alt,
    }


def page_context(a: Analysis, p: Parsed, payload: dict[str, Any], t: Text) -> dict[str, Any]:
    """The template's context of a computed result: the analysis' own, plus map and files."""
    with engine().connect() as conn:
        if a.page is not None:
            ctx = a.page(conn, p.values, payload, t)
        else:
            ctx = generic_page(a, conn, p.values, payload, t)
    query = p.query()
    spec = ctx.pop("map", None)
    ctx["fmap"] = city_map(a.name, query, spec) if spec else None
    ctx["files"] = downloads(a.name, query, ctx.pop("png_alt", a.title(t.lang)))
    return ctx


def render(a: Analysis, p: Parsed, t: Text, **ctx: Any):
    for k in ("result", "job", "fmap", "files"):
        ctx.setdefault(k, None)
    return (
        render_template(
            a.template,
            view=a.name,
            analysis=a,
            title=a.title(t.lang),
            summary_text=t.gettext(a.summary),
            nav=nav(),
            form=form_controls(p),
            errors={**p.forbidden, **p.errors},
            action=url_for("planners.page", analysis=a.name),
            query=p.query(),
            **audience(),
            **ctx,
        ),
        p.status,
    )


def keep_test_jobs_apart(app) -> None:
    if app.config.get("TESTING") and not app.config.get("PLANNERS_JOB_DIR"):
        # test databases come and go: keep their cached results out of var/
        app.config["PLANNERS_JOB_DIR"] = tempfile.mkdtemp(prefix="civicmap-planner-jobs-")
