"""What residents type, checked by the layer contract (layers/validate.py, ``form=True``) and
explained in their words: a Problem's code becomes a sentence naming the form's label.

Also the two other sources of field errors a form meets: geometry (geo/validate.py's codes)
and the database's last word (our triggers' SQLSTATEs and CHECK constraints).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from civic import N_
from civic.accounts import Invalid
from civic.participation.errors import Msg, field_error
from geo.validate import MAX_VERTICES, GeometryError
from layers import validate as lv
from layers.base import Field

FORM_KEY_PATTERN = r"^[0-9a-f]{32}$"


def problem_message(problem: lv.Problem, label: Msg, special: dict[str, Msg] | None = None) -> Msg:
    """The sentence for one of the validator's problems (``special``: per-code wording)."""
    if special and problem.code in special:
        return special[problem.code]
    if special and "*" in special and problem.code != "required":
        return special["*"]
    if problem.code == "required":
        return Msg(N_("Pole „%(label)s” jest wymagane."), label=label)
    if problem.code == "too_long":
        return Msg(
            N_("Pole „%(label)s” może mieć najwyżej %(n)d znaków (jest %(got)d)."),
            label=label,
            n=problem.params["max"],
            got=problem.params["got"],
        )
    if problem.code == "control_characters":
        return Msg(N_("Pole „%(label)s” zawiera znaki sterujące."), label=label)
    return Msg(N_("Pole „%(field)s” ma niedozwoloną wartość."), field=label)


def value(
    f: Field,
    raw: Any,
    label: Msg,
    *,
    required: bool | None = None,
    special: dict[str, Msg] | None = None,
    name: str | None = None,
) -> Any:
    """One form field's clean value by its layer Field; Invalid naming the field if not."""
    try:
        return lv.check_value(f, raw, form=True, required=required)
    except lv.Invalid as exc:
        p = exc.problem
        raise field_error(name or f.name, p.code, problem_message(p, label, special)) from None


# --------------------------------------------------------------------------- geometry

GEOMETRY_REASONS: dict[str, Msg] = {
    "required": Msg(N_("wskaż miejsce na mapie.")),
    "not_finite": Msg(
        N_("współrzędne muszą być liczbami skończonymi (bez NaN i nieskończoności).")
    ),
    "invalid_coordinate": Msg(N_("współrzędne muszą być liczbami.")),
    "invalid_position": Msg(N_("każdy punkt musi mieć dwie współrzędne [długość, szerokość].")),
    "out_of_range": Msg(N_("współrzędne są poza zakresem długości i szerokości geograficznej.")),
    "invalid_json": Msg(N_("to nie jest poprawny GeoJSON.")),
    "invalid_geojson": Msg(N_("to nie jest poprawny GeoJSON.")),
    "invalid_coordinates": Msg(N_("to nie jest poprawny GeoJSON.")),
    "too_large": Msg(N_("kształt jest za duży — uprość go.")),
    "too_many_vertices": Msg(
        N_("kształt ma więcej niż %(n)d wierzchołków — uprość go."), n=MAX_VERTICES
    ),
    "invalid_type": Msg(N_("dozwolone są punkt, linia i wielokąt.")),
    "type_not_allowed": Msg(N_("ten rodzaj kształtu nie jest tu dozwolony.")),
    "unclosed_ring": Msg(N_("obwód wielokąta nie jest zamknięty.")),
    "self_intersection": Msg(N_("kształt przecina sam siebie — popraw go.")),
    "degenerate": Msg(N_("kształt jest zdegenerowany (zerowa długość lub powierzchnia).")),
    "invalid_polygon": Msg(N_("wielokąt jest niepoprawny.")),
    "outside_city": Msg(N_("to miejsce leży poza granicami miasta.")),
}


def geometry_reason(exc: GeometryError) -> Msg | str:
    """Why a drawn geometry was refused (geo/validate.py speaks Polish only, untranslated)."""
    return GEOMETRY_REASONS.get(exc.code, exc.message)


def replayed(conn: Connection, table: str, external_id: str, actor_id: int) -> int:
    """The row a form already wrote (the same form key sent again, e.g. a double click): its
    id, or 409 when that key belongs to somebody else's form. ``table`` comes from code."""
    prev = conn.execute(
        text(f"SELECT id, author_id FROM {table} WHERE external_id = :e"), {"e": external_id}
    ).one()
    if prev.author_id != actor_id:
        raise field_error(
            "form_key",
            "conflict",
            Msg(N_("Ten formularz należy do kogoś innego — odśwież stronę.")),
            409,
        )
    return int(prev.id)


def geometry_error(exc: GeometryError, label: str = "location") -> Invalid:
    template = (
        N_("Pole „Miejsce”: %(why)s") if label == "place" else N_("Pole „Lokalizacja”: %(why)s")
    )
    return field_error("geometry", exc.code, Msg(template, why=geometry_reason(exc)))


# --------------------------------------------------------------------------- the database

_CHECKED_COLUMNS = (
    ("geom", "geometry"),
    ("title", "title"),
    ("body", "body"),
    ("cost", "cost"),
    ("description", "description"),
    ("located", "location"),
    ("address", "address"),
    ("photo", "photo"),
)


def db_error(exc: DBAPIError) -> Invalid | None:
    """Our triggers' SQLSTATEs and CHECK constraints -> an error on the right form field."""
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None) or ""
    if state == "CV001":
        return field_error(
            "geometry",
            "outside_city",
            Msg(N_("Pole „Lokalizacja”: to miejsce leży poza granicami miasta.")),
        )
    if state == "CV002":
        return field_error(
            "geometry",
            "outside_area",
            Msg(N_("Pole „Miejsce”: uwaga leży poza obszarem konsultacji.")),
        )
    if state == "CV003":
        return field_error(
            "consultation",
            "closed",
            Msg(
                N_(
                    "Konsultacje nie przyjmują teraz uwag (są zamknięte lub jeszcze się nie zaczęły)."
                )
            ),
            status=409,
        )
    if state == "CV004":
        return field_error(
            "consultation", "not_found", Msg(N_("Nie ma takich konsultacji.")), status=404
        )
    if state == "23514":  # check_violation
        for key, name in _CHECKED_COLUMNS:
            if key in constraint:
                return field_error(
                    name,
                    "invalid",
                    Msg(N_("Pole „%(field)s” ma niedozwoloną wartość."), field=name),
                )
    if state == "23503" and "reply_to" in constraint:
        return field_error(
            "reply_to", "not_found", Msg(N_("Nie ma komentarza, na który odpowiadasz."))
        )
    return None


F = TypeVar("F", bound=Callable[..., Any])


def database_refusals(fn: F) -> F:
    """Turn the database's refusals of a write (db_error) into field errors (Invalid)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DBAPIError as exc:
            mapped = db_error(exc)
            if mapped is None:
                raise
            raise mapped from None

    return wrapper  # type: ignore[return-value]
