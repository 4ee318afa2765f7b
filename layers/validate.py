"""The one write validator: a feature's values checked against its Layer's fields.

Everything that writes features goes through here: the importers (importers/writer.py, a row
at a time) and the residents' web forms (civic/participation, with ``form=True``). Both get
the same coercion, the same limits and the same field named in a :class:`Problem`; only the
wording differs - an import report prints ``Problem.message`` (English), the web turns
``Problem.code`` and ``Problem.params`` into a sentence in the reader's language.

``form=True`` is stricter in what a person may type, never looser than storage:

* the Field's ``form_max_length`` (a web form's own limit, e.g. the 60-character BO title)
  replaces ``max_length``;
* control characters are refused, CRLF becomes LF;
* an amount (``money``) has at most two decimal places and twelve digits before them (an
  import rounds to grosze instead).

Geometry: :func:`prepare_geometry` fits an imported geometry to the layer (its allowed types,
whether it may have none); the generic checks (readable, finite, reprojected, valid) are in
geo/validate.py.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from sqlalchemy import Connection

from geo.validate import UnusableGeometry, make_valid, reproject, to_shape
from layers.base import Field, Layer

__all__ = [
    "GeometryProblem",
    "Invalid",
    "MissingCRS",
    "Problem",
    "UnknownFields",
    "check_value",
    "form_max_length",
    "plain",
    "prepare_geometry",
    "validate",
]


@dataclass(frozen=True)
class Problem:
    """One field's problem: ``code`` for machines, ``message`` (English) for reports,
    ``params`` for a translated sentence (``max``, ``got``, ``minimum``, ``maximum``...)."""

    field: str
    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class Invalid(ValueError):
    """A value that does not fit its field (``problem`` says why)."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


class UnknownFields(ValueError):
    """Names the layer does not have (a mapping error: it affects every row, not one)."""

    def __init__(self, layer: Layer, names: list[str]):
        self.names = names
        super().__init__(f"layer {layer.name} has no field(s) {', '.join(sorted(names))}")


class GeometryProblem(UnusableGeometry):
    """A geometry the layer refuses (the row is rejected)."""


class MissingCRS(ValueError):
    """A geometry without a coordinate reference system (the whole source lacks one)."""


# --------------------------------------------------------------------------- values

_TRUE = {"1", "true", "t", "yes", "y", "tak", "prawda"}
_FALSE = {"0", "false", "f", "no", "n", "nie", "falsz", "fałsz"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")


def plain(value: Any) -> Any:
    """numpy / pandas scalars -> Python; NaN / NaT / "" -> None."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


class _Bad(ValueError):
    def __init__(self, code: str, message: str, **params: Any):
        super().__init__(message)
        self.code, self.message, self.params = code, message, params


def _to_number(value: Any) -> float:
    if isinstance(value, bool):
        raise _Bad("not_a_number", f"expected a number, got {value!r}")
    if isinstance(value, int | float | Decimal):
        number = float(value)
    elif isinstance(value, str):
        s = value.replace("\u00a0", "").replace(" ", "")
        if re.fullmatch(r"[+-]?\d+,\d+", s):  # Polish decimal comma
            s = s.replace(",", ".")
        try:
            number = float(s)
        except ValueError:
            raise _Bad("not_a_number", f"expected a number, got {value!r}") from None
    else:
        raise _Bad("not_a_number", f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise _Bad("not_finite", f"expected a finite number, got {value!r}")
    return number


def _to_int(value: Any) -> int:
    number = _to_number(value)
    if not number.is_integer():
        raise _Bad("not_whole", f"expected a whole number, got {value!r}")
    return int(number)


def _amount_text(value: str) -> str:
    """A typed amount: "125 000,50 zł" -> "125000.50" (the form's strict spelling)."""
    s = value.replace("\u00a0", "").replace(" ", "").replace("zł", "").replace(",", ".").strip()
    if not _AMOUNT.match(s):
        raise _Bad("not_an_amount", f"expected an amount in złoty, got {value!r}")
    return s


def _to_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [v for v in (plain(v) for v in value) if v is not None]
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("[") and s.endswith("]"):
            try:
                parsed = json.loads(s)
                if isinstance(parsed, list):
                    return _to_list(parsed)
            except json.JSONDecodeError:
                pass
        if s.startswith("{") and s.endswith("}"):  # a PostgreSQL array literal
            s = s[1:-1]
        sep = ";" if ";" in s else ","
        return [p.strip().strip('"') for p in s.split(sep) if p.strip()]
    return [value]


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        s = value.strip()
        for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d"):
            try:
                return datetime.strptime(s[:19] if "T" in fmt else s, fmt).date()
            except ValueError:
                continue
    raise _Bad("not_a_date", f"expected a date (YYYY-MM-DD), got {value!r}")


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
    raise _Bad("not_a_datetime", f"expected a date and time (ISO 8601), got {value!r}")


def _choice(f: Field, value: str) -> str:
    if value in f.choices:
        return value
    folded = {c.casefold(): c for c in f.choices}
    if value.casefold() in folded:
        return folded[value.casefold()]
    shown = ", ".join(f.choices[:12]) + (", ..." if len(f.choices) > 12 else "")
    raise _Bad("not_a_choice", f"{value!r} is not one of: {shown}", value=value)


def form_max_length(f: Field) -> int | None:
    """The limit a web form shows and enforces: the Field's form limit, else its storage one."""
    return f.form_max_length or f.max_length


def _coerce(f: Field, value: Any, form: bool) -> Any:
    t = f.type
    if t in ("text", "enum"):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        s = value if isinstance(value, str) else str(value)
        s = s.strip()
        if form:
            s = s.replace("\r\n", "\n")
            if _CONTROL.search(s):
                raise _Bad("control_characters", "contains control characters")
        limit = form_max_length(f) if form else f.max_length
        if limit and len(s) > limit:
            raise _Bad(
                "too_long", f"longer than {limit} characters ({len(s)})", max=limit, got=len(s)
            )
        if f.choices or t == "enum":
            s = _choice(f, s)
        return s
    if t == "int":
        v: Any = _to_int(value)
    elif t in ("float", "money"):
        if form and t == "money" and isinstance(value, str):
            value = _amount_text(value)
        v = _to_number(value)
    elif t == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        s = str(value).strip().casefold()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise _Bad("not_yes_no", f"expected yes/no (true/false, 1/0), got {value!r}")
    elif t == "date":
        return _to_date(value)
    elif t == "datetime":
        return _to_datetime(value)
    elif t == "int[]":
        return [_to_int(v) for v in _to_list(value)]
    elif t == "text[]":
        items = [str(v).strip() for v in _to_list(value)]
        if f.choices:
            items = [_choice(f, v) for v in items]
        return list(dict.fromkeys(items))  # keep order, drop repeats
    else:  # pragma: no cover - a new FieldType needs a branch here
        raise _Bad("unsupported", f"unsupported field type {t}")
    if f.minimum is not None and v < f.minimum:
        raise _Bad(
            "below_minimum", f"must be at least {f.minimum:g}, got {v:g}", minimum=f.minimum, got=v
        )
    if f.maximum is not None and v > f.maximum:
        raise _Bad(
            "above_maximum", f"must be at most {f.maximum:g}, got {v:g}", maximum=f.maximum, got=v
        )
    if t == "money":
        try:
            return Decimal(repr(v)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise _Bad("not_an_amount", f"not an amount: {value!r}") from None
    return v


def check_value(f: Field, raw: Any, *, form: bool = False, required: bool | None = None) -> Any:
    """One field's clean value (None / [] when empty); raises :class:`Invalid`.

    ``required`` overrides the Field's own (a form may require more on submit than storage
    does, e.g. a proposal's description; a draft may require less)."""
    value = plain(raw)
    if value is not None and form and isinstance(value, str):
        value = value.replace("\r\n", "\n")
    need = f.required if required is None else required
    if value is None:
        if need:
            raise Invalid(Problem(f.name, "required", "required"))
        return [] if f.type.endswith("[]") else None
    try:
        clean = _coerce(f, value, form)
    except _Bad as exc:
        raise Invalid(Problem(f.name, exc.code, exc.message, exc.params)) from None
    if need and clean in ("", []):
        raise Invalid(Problem(f.name, "required", "required"))
    return clean


def validate(
    layer: Layer,
    properties: Mapping[str, Any],
    *,
    check_required: bool = True,
    form: bool = False,
    required: Mapping[str, bool] | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """Clean ``properties`` by the layer's fields -> (values, problems), every problem at once.

    Raises :class:`UnknownFields` for names the layer lacks. ``check_required`` also reports
    the layer's required fields that are missing from ``properties``; ``required`` overrides
    a field's required flag by name.
    """
    names = {f.name: f for f in layer.fields}
    unknown = [k for k in properties if k not in names]
    if unknown:
        raise UnknownFields(layer, unknown)
    overrides = dict(required or {})
    clean: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, raw in properties.items():
        f = names[name]
        try:
            # a present value is checked for "required" below, with the missing ones
            clean[name] = check_value(f, raw, form=form, required=False)
        except Invalid as exc:
            problems.append(exc.problem)
    if check_required or overrides:
        bad = {p.field for p in problems}
        for f in layer.fields:
            need = overrides.get(f.name, f.required if check_required else False)
            if need and f.name not in bad and clean.get(f.name) in (None, "", []):
                problems.append(Problem(f.name, "required", "required"))
    return clean, problems


# --------------------------------------------------------------------------- geometry

_SINGLE_OF = {"MultiPoint": "Point", "MultiLineString": "LineString", "MultiPolygon": "Polygon"}
_MULTI_OF = {v: k for k, v in _SINGLE_OF.items()}
_DIMENSION = {"Point": 1, "LineString": 2, "Polygon": 3}


def fit_type(g: BaseGeometry, allowed: tuple[str, ...]) -> BaseGeometry:
    """A geometry of one of the layer's types: a one-part Multi* unwrapped, a single wrapped."""
    kind = g.geom_type
    if kind in allowed:
        return g
    if kind in _SINGLE_OF and _SINGLE_OF[kind] in allowed and len(g.geoms) == 1:  # type: ignore[attr-defined]
        return g.geoms[0]  # type: ignore[attr-defined]
    if kind in _MULTI_OF and _MULTI_OF[kind] in allowed:
        return getattr(shapely.geometry, _MULTI_OF[kind])([g])
    raise GeometryProblem(
        f"geometry type {kind} is not allowed here (allowed: {', '.join(allowed)})"
    )


def prepare_geometry(
    conn: Connection, layer: Layer, geometry: Any, srid: int | None, repair: bool
) -> tuple[bytes | None, bool]:
    """Validated EPSG:4326 WKB for the layer, and whether it was repaired.

    Raises :class:`GeometryProblem` / geo's ``UnusableGeometry`` (the row is rejected) and
    :class:`MissingCRS` (no CRS at all).
    """
    g = to_shape(geometry)
    if g is None:
        if layer.geometry_required:
            raise GeometryProblem("geometry is required for this layer")
        return None, False
    if srid is None:
        raise MissingCRS("the source has no coordinate reference system; give --crs")
    g = reproject(g, srid)
    if g.geom_type == "GeometryCollection":
        raise GeometryProblem("geometry collections are not supported")
    g = fit_type(g, layer.geometry_types)
    repaired = False
    if not g.is_valid:
        reason = explain_validity(g)
        if not repair:
            raise GeometryProblem(
                f"invalid geometry ({reason}); use --repair to fix it with ST_MakeValid"
            )
        fixed = make_valid(conn, g, _DIMENSION[_SINGLE_OF.get(g.geom_type, g.geom_type)])
        if fixed is None:
            raise GeometryProblem(
                f"invalid geometry ({reason}) and ST_MakeValid left nothing of it"
            )
        g = fit_type(fixed, layer.geometry_types)
        repaired = True
    return shapely.to_wkb(g), repaired
