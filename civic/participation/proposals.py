"""Budget proposals by residents: the form's rules, drafts, submission, supports, photos and
the listings' SQL.

* A form is checked field by field by the layer contract (layers/validate.py): the same
  coercion and limits as an import, with the form's own limits declared on the Field
  (``form_max_length``). :func:`parse_proposal` reports every problem at once.
* A proposal (a draft too) goes into the edition open for submissions
  (civic/participation/limits.py ``open_submission``), under its rules: the title limit is the
  edition's ``title_max`` (or the title Field's stricter ``form_max_length``), the cost within
  the edition's pool (``civic.pb.submission.check_cost``), and the author's declarations of
  living in Kraków (and in the district, for a district project).
* :func:`save` upserts on external_id ``web:<form_key>``: a double submit leaves one row.
  :func:`submit` is the ONE place a draft becomes a submitted proposal: the author's check,
  then ``civic.pb.submission.submit`` (the phase, the support list's deadline, history, audit),
  then the moderation hold and the councils' announcement.
* One support per person: a primary key + ON CONFLICT.
* Photos: re-encoded by Pillow without EXIF/GPS (civic/participation/photos.py).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from civic import N_
from civic.accounts import Invalid
from civic.audit import record_audit
from civic.moderation import announce, hold_for_moderation, needs_moderation
from civic.participation import form as pf
from civic.participation.errors import Collector, Msg, field_error
from civic.participation.limits import from_pb
from civic.participation.photos import (  # noqa: F401  (the web calls them through here)
    PHOTO_MAX,
    PHOTO_NAME,
    drop_photo,
    photo_owner,
    store_photo,
)
from civic.pb.editions import Edition
from civic.pb.errors import PbError
from civic.pb.submission import check_cost
from civic.pb.submission import submit as pb_submit
from civic.pb.workflow import take_mails
from geo import districts as gd
from geo.validate import GeometryError, check_size, districts_for, parse_geometry
from layers import registry
from layers._titles import t
from layers.base import Field, Layer

TABLE = "budget_proposals"
# Kraków's BO form: "Tytuł projektu (max. 60 znaków)"; the column takes 500 (past editions).
# The edition's ``title_max`` (60 by default); a ``form_max_length`` declared on the layer's
# title Field narrows it; this is the value when neither is known (see form_field).
TITLE_FORM_MAX = 60
DECLARATIONS = ("declared_residency", "declared_district_residency")
# The proposal's address is a column, not a layer field: the same validator, its own Field.
ADDRESS = Field("address", "text", t("Adres", "Address", "Адреса"), max_length=300)
MAP_LIMIT = 2000
LOCATIONS = ("map", "address", "district", "city")
SCOPES = ("district", "citywide")
FORM_KEY = re.compile(r"^[0-9a-f]{32}$")
_SUPPORTS = "(SELECT count(*) FROM proposal_supports s WHERE s.proposal_id = t.id)"
_DISTRICT_NAMES = """ARRAY(SELECT d.full_name FROM districts d WHERE d.number = ANY(t.districts)
                         ORDER BY d.number) AS district_names"""
SORTS = {
    "newest": "t.id DESC",
    "oldest": "t.id ASC",
    "supports": f"{_SUPPORTS} DESC, t.id DESC",
    "cost_desc": "t.cost DESC NULLS LAST, t.id DESC",
    "cost_asc": "t.cost ASC NULLS LAST, t.id DESC",
    "title": "t.title, t.id",
}


class Actor(Protocol):
    id: int
    confirmed: bool


def layer() -> Layer:
    found = registry.get("budget-proposals")
    assert found is not None
    return found


def form_field(name: str, edition: Edition | None = None) -> Field:
    """The layer's Field as the propose form uses it (its form limit included): the title
    takes the edition's ``title_max``, or the Field's own ``form_max_length`` when stricter."""
    f = layer().field(name)
    if name == "title":
        limit = edition.title_max if edition is not None else TITLE_FORM_MAX
        if f.form_max_length is not None:
            limit = min(limit, f.form_max_length) if edition is not None else f.form_max_length
        f = replace(f, form_max_length=limit)
    return f


def title_max(edition: Edition | None = None) -> int:
    limit = form_field("title", edition).form_max_length
    assert limit is not None
    return limit


def is_public(status: str, hidden_at: Any) -> bool:
    wf = layer().workflow
    return hidden_at is None and wf is not None and status in wf.public_states


# --------------------------------------------------------------------------- the form


@dataclass
class Location:
    mode: str
    geom: BaseGeometry | None = None
    districts: list[dict[str, Any]] = field(default_factory=list)
    address: str | None = None

    @property
    def district_numbers(self) -> list[int]:
        return [d["number"] for d in self.districts]


@dataclass
class ProposalInput:
    form_key: str
    action: str  # "draft" or "submit"
    title: str
    description: str
    category: str | None
    cost: Decimal | None
    scope: str
    location: Location
    remove_photo: bool
    declared_residency: bool = False  # every declaration the scope needs was given

    @property
    def location_kind(self) -> str:
        return location_kind(self.location, self.scope)


def location_kind(loc: Location, scope: str) -> str:
    """The budget's kind of location: point, line, area, district or citywide."""
    if loc.geom is None:
        return "citywide" if loc.mode == "city" or scope == "citywide" else "district"
    return {"Point": "point", "LineString": "line"}.get(loc.geom.geom_type, "area")


def _truthy(v: Any) -> bool:
    return str(v or "").lower() in ("1", "on", "true", "yes", "tak")


def parse_location(conn: Connection, form: dict[str, Any], scope: str) -> Location:
    mode = form.get("location")
    if mode not in LOCATIONS:
        raise field_error(
            "location",
            "required",
            Msg(N_("Pole „Lokalizacja”: wybierz, jak wskazać miejsce projektu.")),
        )
    if mode == "city":
        if scope != "citywide":
            raise field_error(
                "location",
                "scope_mismatch",
                Msg(
                    N_(
                        "Pole „Lokalizacja”: „całe miasto” pasuje tylko do projektu ogólnomiejskiego."
                    )
                ),
            )
        return Location(mode)
    if mode == "district":
        if scope != "district":
            raise field_error(
                "location",
                "scope_mismatch",
                Msg(
                    N_(
                        "Pole „Lokalizacja”: „cała dzielnica” pasuje tylko do projektu dzielnicowego."
                    )
                ),
            )
        try:
            number = int(form.get("district") or "")
        except ValueError:
            number = 0
        d = gd.get_district(conn, number) if 0 < number < 100 else None
        if d is None:
            raise field_error(
                "district", "required", Msg(N_("Pole „Dzielnica”: wybierz dzielnicę z listy."))
            )
        return Location(mode, districts=[{k: d[k] for k in ("number", "name", "full_name")}])
    raw = form.get("geometry") or ""
    if not raw.strip():
        if mode == "address":
            msg = Msg(N_("Pole „Adres”: wpisz adres i wybierz podpowiedź z listy."))
        else:
            msg = Msg(N_("Pole „Lokalizacja”: narysuj punkt, linię albo obszar na mapie."))
        raise field_error("address" if mode == "address" else "geometry", "required", msg)
    types = ("Point",) if mode == "address" else ("Point", "LineString", "Polygon")
    try:
        geom = parse_geometry(raw, allowed_types=types)
        check_size(conn, geom)
        found = districts_for(conn, geom)
    except GeometryError as exc:
        raise pf.geometry_error(exc) from None
    address = None
    if mode == "address":
        address = pf.value(ADDRESS, form.get("address"), Msg(N_("Adres")), required=False)
    if scope == "district" and len(found) > 1:
        names = ", ".join(d["full_name"] for d in found)
        raise field_error(
            "geometry",
            "several_districts",
            Msg(
                N_(
                    "Pole „Lokalizacja”: miejsce leży w kilku dzielnicach (%(names)s). Projekt "
                    "dzielnicowy musi leżeć w jednej — zmniejsz obszar albo wybierz projekt ogólnomiejski."
                ),
                names=names,
            ),
        )
    return Location(mode, geom=geom, districts=found, address=address)


_CATEGORY_LIST = Msg(N_("Pole „Kategoria”: wybierz kategorię z listy."))
_COST_FORMAT = Msg(N_("Pole „Szacowany koszt”: podaj kwotę w złotych, np. 125000 albo 125 000,50."))


_DECLARE_CITY = Msg(N_("Potwierdź, że mieszkasz w Krakowie."))
_DECLARE_DISTRICT = Msg(N_("Potwierdź, że mieszkasz w dzielnicy projektu."))


def _cost_error(exc: PbError, scope: str) -> Invalid:
    """The pool's refusal of a cost, in the form's words (the field ``cost``)."""
    if exc.code != "cost_out_of_limits":
        return from_pb(exc)
    where = (
        Msg(N_("projektu ogólnomiejskiego"))
        if scope == "citywide"
        else Msg(N_("projektu w tej dzielnicy"))
    )
    msg = Msg(
        N_("Pole „Szacowany koszt”: koszt %(where)s musi wynosić od %(low)s do %(high)s."),
        where=where,
        low=Decimal(str(exc.params["min"])),
        high=Decimal(str(exc.params["max"])),
    )
    return field_error("cost", exc.code, msg)


def parse_proposal(conn: Connection, form: dict[str, Any], edition: Edition) -> ProposalInput:
    """Check every field under the edition's rules and report all problems at once (Invalid
    with several fields)."""
    form_key = str(form.get("form_key") or "")
    if not FORM_KEY.match(form_key):
        raise field_error(
            "form_key",
            "invalid",
            Msg(N_("Formularz wygasł lub jest niepełny — otwórz go ponownie.")),
        )
    action = form.get("action") if form.get("action") in ("draft", "submit") else "submit"
    final = action == "submit"  # a draft may be incomplete, but not wrong
    errors = Collector()
    scope = errors.attempt(
        lambda: pf.value(
            form_field("scope"),
            form.get("scope"),
            Msg(N_("Rodzaj projektu")),
            special={
                "required": Msg(
                    N_("Pole „Rodzaj projektu”: wybierz dzielnicowy albo ogólnomiejski.")
                ),
                "*": Msg(N_("Pole „Rodzaj projektu”: wybierz dzielnicowy albo ogólnomiejski.")),
            },
        )
    )
    title = errors.attempt(
        lambda: pf.value(form_field("title", edition), form.get("title"), Msg(N_("Tytuł"))), ""
    )
    description = errors.attempt(
        lambda: pf.value(
            form_field("description"), form.get("description"), Msg(N_("Opis")), required=final
        ),
        "",
    )
    category = errors.attempt(
        lambda: pf.value(
            form_field("category"),
            form.get("category"),
            Msg(N_("Kategoria")),
            required=final,
            special={
                "required": Msg(N_("Pole „Kategoria” jest wymagane.")),
                "*": _CATEGORY_LIST,
            },
        )
    )
    cost = errors.attempt(
        lambda: pf.value(
            form_field("cost"),
            form.get("cost"),
            Msg(N_("Szacowany koszt")),
            required=final,
            special={
                "required": Msg(N_("Pole „Szacowany koszt” jest wymagane.")),
                "*": _COST_FORMAT,
            },
        )
    )
    location = errors.attempt(lambda: parse_location(conn, form, scope or "district"))
    if final and cost is not None and location is not None and scope is not None:
        numbers = location.district_numbers
        if scope == "citywide" or len(numbers) == 1:
            try:
                check_cost(edition, scope, numbers[0] if numbers else 0, cost, "cost")
            except PbError as exc:
                errors.merge(_cost_error(exc, scope))
    declared_city = _truthy(form.get("declared_residency"))
    declared_district = _truthy(form.get("declared_district_residency"))
    if final and not declared_city:
        errors.add("declared_residency", "declaration_required", _DECLARE_CITY)
    if final and scope == "district" and not declared_district:
        errors.add("declared_district_residency", "declaration_required", _DECLARE_DISTRICT)
    errors.raise_if_any()
    assert location is not None and scope is not None
    return ProposalInput(
        form_key=form_key,
        action=action,
        title=title,
        description=description or "",
        category=category,
        cost=cost,
        scope=scope,
        location=location,
        remove_photo=form.get("remove_photo") in ("1", "on", "true"),
        declared_residency=declared_city and (scope == "citywide" or declared_district),
    )


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Saved:
    id: int
    status: str
    duplicate: bool  # the same form was already submitted: nothing changed
    replaced_photo: str | None  # a photo file no row uses any more (the caller deletes it)
    pending: bool = False  # waits for a moderator
    mails: tuple[dict[str, Any], ...] = ()  # for the web to send once the transaction commits


@pf.database_refusals
def save(
    conn: Connection, actor: Actor, data: ProposalInput, edition: int, photo: str | None
) -> Saved:
    """Upsert the form's draft on external_id 'web:<form_key>' in ``edition`` (the year of the
    edition open for submissions), then :func:`submit` it when the form says so. A second
    submit of the same form is a no-op (``duplicate``)."""
    loc = data.location
    eid = f"web:{data.form_key}"
    previous = conn.execute(
        text(
            "SELECT id, author_id, status, photo FROM budget_proposals "
            "WHERE external_id = :e FOR UPDATE"
        ),
        {"e": eid},
    ).first()
    if previous is not None and previous.author_id != actor.id:
        raise field_error(
            "form_key",
            "conflict",
            Msg(N_("Ten formularz należy do kogoś innego — otwórz nowy.")),
            status=409,
        )
    if previous is not None and previous.status != "draft":
        return Saved(previous.id, previous.status, True, None)
    keep_photo = previous.photo if previous is not None and not data.remove_photo else None
    params = {
        "eid": eid,
        "edition": edition,
        "title": data.title,
        "description": data.description or None,
        "category": data.category,
        "cost": data.cost,
        "scope": data.scope,
        "wkt": loc.geom.wkt if loc.geom is not None else None,
        "districts": loc.district_numbers if loc.geom is None else [],
        "author": actor.id,
        "photo": photo or keep_photo,
        "address": loc.address,
        "kind": data.location_kind,
        "declared": data.declared_residency,
    }
    row = conn.execute(
        text(
            """
            INSERT INTO budget_proposals AS p
                (external_id, edition, title, description, category, cost, scope, status, geom,
                 districts, author_id, source, photo, address, location_kind, declared_residency)
            VALUES (:eid, :edition, :title, :description, :category, :cost, :scope, 'draft',
                    ST_GeomFromText(CAST(:wkt AS text), 4326), CAST(:districts AS smallint[]),
                    :author, 'web', :photo, :address, :kind, :declared)
            ON CONFLICT (external_id) DO UPDATE SET
                edition = EXCLUDED.edition,
                title = EXCLUDED.title, description = EXCLUDED.description,
                category = EXCLUDED.category, cost = EXCLUDED.cost, scope = EXCLUDED.scope,
                geom = EXCLUDED.geom, districts = EXCLUDED.districts,
                photo = EXCLUDED.photo, address = EXCLUDED.address,
                location_kind = EXCLUDED.location_kind,
                declared_residency = EXCLUDED.declared_residency
            WHERE p.author_id = EXCLUDED.author_id AND p.status = 'draft'
            RETURNING id
            """
        ),
        params,
    ).first()
    if row is None:  # a parallel submit of the same form won the race
        again = conn.execute(
            text("SELECT id, status FROM budget_proposals WHERE external_id = :e"), {"e": eid}
        ).one()
        return Saved(again.id, again.status, True, None)
    replaced = (
        previous.photo if previous is not None and previous.photo != params["photo"] else None
    )
    if data.action != "submit":
        record_audit(conn, actor.id, "proposal.draft", TABLE, row.id)
        # the councils hear of nothing yet (a draft is not public)
        announce(conn, actor.id, TABLE, row.id, data.title, pending=False)
        return Saved(row.id, "draft", False, replaced)
    status, pending, mails = submit(conn, row.id, actor)
    return Saved(row.id, status, False, replaced, pending, mails)


def submit(
    conn: Connection, proposal_id: int, actor: Actor
) -> tuple[str, bool, tuple[dict[str, Any], ...]]:
    """The author submits a draft: the ONE way a proposal enters the budget's review.

    Only the author's own draft; then ``civic.pb.submission.submit`` inside the edition's
    submission window (draft -> submitted, the support list's deadline, the status history and
    the audit log); holds it for a moderator when the author's account is unconfirmed; the
    councils hear of it once it is public. Returns (status, pending, the mails to send after
    the commit)."""
    row = conn.execute(
        text(
            "SELECT id, title, declared_residency FROM budget_proposals "
            "WHERE id = :id AND author_id = :u AND status = 'draft' FOR UPDATE"
        ),
        {"id": proposal_id, "u": actor.id},
    ).first()
    if row is None:
        raise field_error(
            "proposal_id",
            "not_a_draft",
            Msg(N_("Ten projekt został już złożony i nie można go edytować.")),
            status=409,
        )
    if not row.declared_residency:  # the form checks both declarations before saving
        raise field_error("declared_residency", "declaration_required", _DECLARE_CITY)
    take_mails(conn)  # nothing left over on this connection from an earlier request
    try:
        pb_submit(conn, proposal_id, actor.id)
    except PbError as exc:
        raise from_pb(exc) from None
    mails = tuple(take_mails(conn))
    pending = needs_moderation(actor)  # type: ignore[arg-type]
    if pending:
        hold_for_moderation(conn, TABLE, proposal_id)
    announce(conn, actor.id, TABLE, proposal_id, row.title, pending=pending)
    return "submitted", pending, mails


def draft_form(conn: Connection, actor: Actor, draft_id: int) -> dict[str, Any]:
    """The author's draft as the form's values (404 for anyone else, 409 once submitted)."""
    row = conn.execute(
        text(
            """SELECT id, external_id, title, description, category, cost, scope, address, photo,
                      districts, ST_AsGeoJSON(geom, 7) AS geometry, status, author_id,
                      declared_residency
               FROM budget_proposals WHERE id = :id"""
        ),
        {"id": draft_id},
    ).first()
    if row is None or row.author_id != actor.id:
        raise field_error("draft", "not_found", Msg(N_("Nie ma takiego projektu.")), status=404)
    if row.status != "draft":
        raise field_error(
            "draft",
            "not_a_draft",
            Msg(N_("Ten projekt został już złożony i nie można go edytować.")),
            status=409,
        )
    key = (row.external_id or "").removeprefix("web:")
    if not FORM_KEY.match(key):
        key = uuid.uuid4().hex
    if row.geometry:
        mode = "address" if row.address else "map"
    else:
        mode = "city" if row.scope == "citywide" else "district"
    return {
        "form_key": key,
        "title": row.title,
        "description": row.description or "",
        "category": row.category or "",
        "cost": format(row.cost.normalize(), "f") if row.cost is not None else "",
        "scope": row.scope,
        "location": mode,
        "district": str(row.districts[0]) if mode == "district" and row.districts else "",
        "geometry": row.geometry or "",
        "address": row.address or "",
        "photo": row.photo,
        **({k: "1" for k in DECLARATIONS} if row.declared_residency else {}),
    }


# --------------------------------------------------------------------------- supports


def support_proposal(conn: Connection, user_id: int, proposal_id: int) -> tuple[bool, int]:
    """One support per person (primary key + ON CONFLICT). Returns (new, total)."""
    inserted = conn.execute(
        text(
            """INSERT INTO proposal_supports (proposal_id, user_id) VALUES (:p, :u)
               ON CONFLICT DO NOTHING RETURNING proposal_id"""
        ),
        {"p": proposal_id, "u": user_id},
    ).first()
    return inserted is not None, _support_count(conn, proposal_id)


def _support_count(conn: Connection, proposal_id: int) -> int:
    return conn.execute(
        text("SELECT count(*) FROM proposal_supports WHERE proposal_id = :p"), {"p": proposal_id}
    ).scalar_one()


def set_support(
    conn: Connection, actor: Actor, proposal_id: int, withdraw: bool = False
) -> tuple[bool, bool, int]:
    """Support a public proposal (or withdraw the support). Returns (supported, new, total)."""
    p = conn.execute(
        text("SELECT id, author_id, status, hidden_at FROM budget_proposals WHERE id = :id"),
        {"id": proposal_id},
    ).first()
    if p is None or not is_public(p.status, p.hidden_at):
        raise field_error(
            "proposal_id", "not_found", Msg(N_("Nie ma takiego projektu.")), status=404
        )
    if p.author_id == actor.id:
        raise field_error(
            "proposal_id", "own_content", Msg(N_("Nie możesz poprzeć własnego projektu."))
        )
    if withdraw:
        conn.execute(
            text("DELETE FROM proposal_supports WHERE proposal_id = :p AND user_id = :u"),
            {"p": proposal_id, "u": actor.id},
        )
        return False, False, _support_count(conn, proposal_id)
    new, total = support_proposal(conn, actor.id, proposal_id)
    return True, new, total


def has_supported(conn: Connection, proposal_id: int, user_id: int) -> bool:
    return bool(
        conn.execute(
            text("SELECT 1 FROM proposal_supports WHERE proposal_id = :p AND user_id = :u"),
            {"p": proposal_id, "u": user_id},
        ).scalar()
    )
