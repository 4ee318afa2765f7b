"""Maps and legends of the analyses: class breaks, colours, GeoJSON built from SQL geometry."""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

SIMPLIFY = 0.00005  # degrees (~5 m): district outlines for maps and exports

# Sequential classes (ColorBrewer YlOrRd / Blues), light = low.
SEQUENTIAL = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
DISTANCE_COLORS = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
NO_DATA = "#d9d9d9"


# --- class breaks -----------------------------------------------------------------------------


def _nice(value: float) -> float:
    """Two significant digits (class limits people can read)."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.2g}")


def quantile_breaks(values: Iterable[float | None], classes: int = 5) -> list[float]:
    """Up to ``classes - 1`` rounded quantile limits of the finite values (none: one class)."""
    vals = sorted(float(v) for v in values if v is not None and math.isfinite(float(v)))
    if len(vals) < 2 or vals[0] == vals[-1]:
        return []
    out: set[float] = set()
    for k in range(1, classes):
        q = vals[round(k / classes * (len(vals) - 1))]
        b = _nice(q)
        if vals[0] < b <= vals[-1]:
            out.add(b)
    return sorted(out)


def classify(value: float | None, breaks: Sequence[float]) -> int | None:
    """Class index: 0 below the first limit, i for breaks[i-1] <= value < breaks[i]."""
    if value is None or not math.isfinite(float(value)):
        return None
    return bisect.bisect_right(list(breaks), float(value))


# --- GeoJSON ----------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def feature_collection(features: Iterable[tuple[Any, str | None, Mapping[str, Any]]]) -> str:
    """A FeatureCollection from (id, geometry as GeoJSON text made by PostGIS, properties)."""
    parts = []
    for fid, geometry, props in features:
        clean = {k: _clean(v) for k, v in props.items()}
        fid_json = json.dumps(fid)
        props_json = json.dumps(clean, ensure_ascii=False, allow_nan=False)
        parts.append(
            f'{{"type":"Feature","id":{fid_json},"geometry":{geometry or "null"},'
            f'"properties":{props_json}}}'
        )
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def district_choropleth(conn: Connection, properties: Mapping[int, Mapping[str, Any]]) -> str:
    """The districts as a FeatureCollection, built in SQL, each with ``properties[number]``
    (plus ``number`` and ``name``), outlines simplified to ~5 m."""
    props = {str(n): {k: _clean(v) for k, v in p.items()} for n, p in properties.items()}
    return conn.execute(
        text(
            """SELECT json_build_object('type', 'FeatureCollection', 'features',
                   coalesce(json_agg(json_build_object(
                       'type', 'Feature', 'id', d.number,
                       'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(d.geom, :tol), 6)::json,
                       'properties', coalesce(CAST(:props AS jsonb) -> CAST(d.number AS text),
                                              '{}'::jsonb)
                                     || jsonb_build_object('number', d.number, 'name', d.name)
                   ) ORDER BY d.number), '[]'))::text
               FROM districts d"""
        ),
        {"tol": SIMPLIFY, "props": json.dumps(props, ensure_ascii=False)},
    ).scalar_one()


def district_outlines(conn: Connection) -> dict[int, str]:
    """number -> simplified outline as GeoJSON text (for exports)."""
    rows = conn.execute(
        text(
            "SELECT number, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 6) "
            "FROM districts ORDER BY number"
        ),
        {"tol": SIMPLIFY},
    )
    return {int(n): g for n, g in rows}


def sequential_classes(
    t: Any, breaks: Sequence[float], fmt: Callable[[float | None], str], counts: dict[Any, int]
) -> list[dict[str, Any]]:
    """Legend entries for class breaks (lower limit inclusive) plus "no data"."""
    k = len(breaks) + 1
    colors = [SEQUENTIAL[round(i * (len(SEQUENTIAL) - 1) / max(1, k - 1))] for i in range(k)]
    if k == 1:
        colors = [SEQUENTIAL[2]]
    out = []
    for i in range(k):
        if k == 1:
            title = t.gettext("wszystkie wartości")
        elif i == 0:
            title = t.gettext("poniżej %(v)s", v=fmt(breaks[0]))
        elif i == k - 1:
            title = t.gettext("%(v)s i więcej", v=fmt(breaks[-1]))
        else:
            title = t.gettext(
                "od %(lo)s do poniżej %(hi)s", lo=fmt(breaks[i - 1]), hi=fmt(breaks[i])
            )
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
                "title": t.gettext("brak danych"),
                "count": counts["none"],
            }
        )
    return out


def class_title(classes: list[dict[str, Any]], key: str) -> str:
    return next((c["title"] for c in classes if c["key"] == key), "")
