"""Staff forms for features of a few layers, driven by the layer contract: the form's fields
are the layer's own (layers/<layer>.py), each checked by the layer validator and explained in
Polish naming the field (civic.participation.form), the geometry drawn on the map checked by
geo/validate.py against the layer's geometry types.

The row is then written by the importers' write path (the web calls
``importers.writer.import_rows`` with one row, ``external_id`` = ``web:<form_key>``: the same
form twice leaves one feature), and :func:`record_created` writes the audit log.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.accounts import Invalid
from civic.audit import record_audit
from civic.participation import form as pf
from civic.participation.errors import Collector, Msg, field_error
from geo.validate import GeometryError, check_size, parse_geometry
from layers import registry
from layers.base import Field, Layer

# the layers officials create features of in the browser, and the fields the form leaves out
STAFF_LAYERS = ("consultations", "ngos", "revitalisation-areas")
SKIPPED = frozenset({"demo", "organisation_id", "districts_served"})
FORM_TYPES = frozenset({"text", "enum", "date", "int", "float", "money", "text[]"})
LONG_TEXT = 1000  # a text field longer than this is a textarea
FORM_KEY = re.compile(r"^[0-9a-f]{32}$")
STAFF_ROLES = ("official", "admin")


@dataclass(frozen=True)
class FeatureInput:
    external_id: str
    properties: dict[str, Any]
    geometry: dict[str, Any]


def staff_layer(name: str) -> Layer:
    """One of :data:`STAFF_LAYERS` (404 naming ``layer`` otherwise)."""
    ly = registry.get(name) if name in STAFF_LAYERS else None
    if ly is None:
        raise field_error("layer", "not_found", Msg(N_("Nie ma takiej warstwy.")), status=404)
    return ly


def form_fields(layer: Layer) -> list[Field]:
    """The fields the form shows, in the layer's order."""
    return [f for f in layer.fields if f.name not in SKIPPED and f.type in FORM_TYPES]


def widget(f: Field) -> str:
    """How a form shows a field: select, checkboxes, date, number, textarea or text."""
    if f.type == "enum":
        return "select"
    if f.type == "text[]":
        return "checkboxes" if f.choices else "text"
    if f.type == "date":
        return "date"
    if f.type in ("int", "float", "money"):
        return "number"
    if f.type == "text" and (f.max_length or 0) > LONG_TEXT:
        return "textarea"
    return "text"


def draw_types(layer: Layer) -> list[str]:
    """The drawing tools the map offers for the layer (a polygon for a multipolygon)."""
    out = []
    for t in layer.geometry_types:
        base = t.removeprefix("Multi")
        if base not in out:
            out.append(base)
    return out


def _label(f: Field) -> Msg:
    return Msg(f.title("pl"))


def parse(conn: Connection, layer: Layer, form: dict[str, Any]) -> FeatureInput:
    """Check the form of ``layer`` (``form``: field -> str, or a list for checkboxes); every
    problem at once, each naming its field."""
    form_key = str(form.get("form_key") or "")
    if not FORM_KEY.match(form_key):
        raise field_error("form_key", "invalid", Msg(N_("Formularz wygasł — odśwież stronę.")))
    errors = Collector()
    props: dict[str, Any] = {}
    for f in form_fields(layer):
        raw = form.get(f.name)
        if f.type == "text[]" and isinstance(raw, str):
            raw = [x.strip() for x in raw.split(",") if x.strip()] if not f.choices else [raw]
        if f.type == "text[]" and f.choices and raw:
            bad = [x for x in raw if x not in f.choices]
            if bad:
                errors.add(
                    f.name,
                    "invalid",
                    Msg(N_("Pole „%(field)s” ma niedozwoloną wartość."), field=_label(f)),
                )
                continue
        special = (
            {"*": Msg(N_("Pole „%(label)s”: podaj datę w postaci RRRR-MM-DD."), label=_label(f))}
            if f.type == "date"
            else None
        )
        props[f.name] = errors.attempt(
            lambda f=f, raw=raw, special=special: pf.value(f, raw, _label(f), special=special)
        )
    if (
        props.get("opens_on")
        and props.get("closes_on")
        and "opens_on" not in errors
        and "closes_on" not in errors
        and props["closes_on"] < props["opens_on"]
    ):
        errors.add(
            "closes_on",
            "before_opening",
            Msg(N_("Pole „Zamknięcie”: data zamknięcia nie może być przed datą otwarcia.")),
        )
    geometry = None
    try:
        geom = parse_geometry(form.get("geometry") or "", allowed_types=tuple(layer.geometry_types))
        check_size(conn, geom)
        geometry = json.loads(json.dumps(geom.__geo_interface__))
    except GeometryError as exc:
        errors.merge(pf.geometry_error(exc))
    errors.raise_if_any()
    assert geometry is not None
    return FeatureInput(f"web:{form_key}", props, geometry)


def refusal(field: str | None, reason: str, code: str | None) -> Invalid:
    """The write path refused the row (a database check): the field it names."""
    return field_error(
        field or "form",
        code or "refused",
        Msg(N_("Nie zapisano: %(reason)s"), reason=reason),
        status=400,
    )


def record_created(conn: Connection, actor_id: int, layer: Layer, external_id: str) -> int:
    """The new feature's id; the creation is in the audit log."""
    fid = conn.execute(
        text(f"SELECT id FROM {layer.table} WHERE external_id = :e"), {"e": external_id}
    ).scalar_one()
    record_audit(conn, actor_id, "staff.create", layer.table, fid)
    return fid
