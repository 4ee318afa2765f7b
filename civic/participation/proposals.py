"""Budget proposals by residents: the form's rules, drafts, submission, supports, photos and
the listings' SQL.

* A form is checked field by field by the layer contract (layers/validate.py): the same
  coercion and limits as an import, with the form's own limits declared on the Field
  (``form_max_length``). :func:`parse_proposal` reports every problem at once.
* :func:`save` upserts on external_id ``web:<form_key>``: a double submit leaves one row.
  :func:`submit` is the ONE place a draft becomes a submitted proposal (the budget's phase
  rules, civic/pb, hook in there).
* One support per person: a primary key + ON CONFLICT.
* Photos: re-encoded by Pillow without EXIF/GPS (:func:`store_photo`).
"""

from __future__ import annotations

import io
import re
import uuid
import warnings
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from civic import N_
from civic.accounts import Invalid
from civic.audit import record_audit
from civic.moderation import announce, hold_for_moderation, needs_moderation
from civic.participation import form as pf
from civic.participation.errors import Collector, Msg, field_error
from civic.participation.limits import cost_limits
from geo import districts as gd
from geo.validate import GeometryError, check_size, districts_for, parse_geometry
from layers import registry
from layers._titles import t
from layers.base import Field, Layer

TABLE = "budget_proposals"
# Kraków's BO form: "Tytuł projektu (max. 60 znaków)"; the column takes 500 (past editions).
# Declared on the layer's title Field as ``form_max_length``; this is the value until
# layers/budget_proposals.py declares it there (see form_field).
TITLE_FORM_MAX = 60
# The proposal's address is a column, not a layer field: the same validator, its own Field.
ADDRESS = Field("address", "text", t("Adres", "Address", "Адреса"), max_length=300)
PHOTO_MAX = 5 * 1024 * 1024
PHOTO_PIXELS_MAX = 40_000_000  # refuse decompression bombs before decoding them
PHOTO_SIDE = 2560  # longest side kept
MAP_LIMIT = 2000
LOCATIONS = ("map", "address", "district", "city")
SCOPES = ("district", "citywide")
FORM_KEY = re.compile(r"^[0-9a-f]{32}$")
PHOTO_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png)$")
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


def form_field(name: str) -> Field:
    """The layer's Field as the propose form uses it (its form limit included)."""
    f = layer().field(name)
    if name == "title" and f.form_max_length is None:
        f = replace(f, form_max_length=TITLE_FORM_MAX)
    return f


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


def parse_proposal(
    conn: Connection, form: dict[str, Any], edition: int, rules: dict[str, Any]
) -> ProposalInput:
    """Check every field and report all problems at once (Invalid with several fields)."""
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
        lambda: pf.value(form_field("title"), form.get("title"), Msg(N_("Tytuł"))), ""
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
        limits = cost_limits(rules, edition, scope, numbers[0] if len(numbers) == 1 else None)
        if limits and not limits.low <= cost <= limits.high:
            where = (
                Msg(N_("projektu ogólnomiejskiego"))
                if scope == "citywide"
                else Msg(N_("projektu w tej dzielnicy"))
            )
            errors.add(
                "cost",
                "out_of_limits",
                Msg(
                    N_(
                        "Pole „Szacowany koszt”: koszt %(where)s musi wynosić od %(low)s do %(high)s."
                    ),
                    where=where,
                    low=limits.low,
                    high=limits.high,
                ),
            )
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
    )


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Saved:
    id: int
    status: str
    duplicate: bool  # the same form was already submitted: nothing changed
    replaced_photo: str | None  # a photo file no row uses any more (the caller deletes it)
    pending: bool = False  # waits for a moderator


@pf.database_refusals
def save(
    conn: Connection, actor: Actor, data: ProposalInput, edition: int, photo: str | None
) -> Saved:
    """Upsert the form's draft on external_id 'web:<form_key>', then :func:`submit` it when the
    form says so. A second submit of the same form is a no-op (``duplicate``)."""
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
    }
    row = conn.execute(
        text(
            """
            INSERT INTO budget_proposals AS p
                (external_id, edition, title, description, category, cost, scope, status, geom,
                 districts, author_id, source, photo, address)
            VALUES (:eid, :edition, :title, :description, :category, :cost, :scope, 'draft',
                    ST_GeomFromText(CAST(:wkt AS text), 4326), CAST(:districts AS smallint[]),
                    :author, 'web', :photo, :address)
            ON CONFLICT (external_id) DO UPDATE SET
                title = EXCLUDED.title, description = EXCLUDED.description,
                category = EXCLUDED.category, cost = EXCLUDED.cost, scope = EXCLUDED.scope,
                geom = EXCLUDED.geom, districts = EXCLUDED.districts,
                photo = EXCLUDED.photo, address = EXCLUDED.address
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
    status, pending = submit(conn, row.id, actor)
    return Saved(row.id, status, False, replaced, pending)


def submit(conn: Connection, proposal_id: int, actor: Actor) -> tuple[str, bool]:
    """The author submits a draft: the ONE way a proposal enters the budget's review.

    Holds it for a moderator when the author's account is unconfirmed; records the audit log;
    the councils hear of it once it is public. Returns (status, pending)."""
    row = conn.execute(
        text(
            "UPDATE budget_proposals SET status = 'submitted' "
            "WHERE id = :id AND author_id = :u AND status = 'draft' RETURNING id, title"
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
    record_audit(conn, actor.id, "proposal.submit", TABLE, proposal_id)
    pending = needs_moderation(actor)  # type: ignore[arg-type]
    if pending:
        hold_for_moderation(conn, TABLE, proposal_id)
    announce(conn, actor.id, TABLE, proposal_id, row.title, pending=pending)
    return "submitted", pending


def draft_form(conn: Connection, actor: Actor, draft_id: int) -> dict[str, Any]:
    """The author's draft as the form's values (404 for anyone else, 409 once submitted)."""
    row = conn.execute(
        text(
            """SELECT id, external_id, title, description, category, cost, scope, address, photo,
                      districts, ST_AsGeoJSON(geom, 7) AS geometry, status, author_id
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
    }


# --------------------------------------------------------------------------- photos


def _photo_error(code: str, msgid: str, status: int = 400) -> Invalid:
    return field_error("photo", code, Msg(msgid), status=status)


def store_photo(data: bytes, folder: Path) -> str:
    """Re-encode an uploaded JPEG/PNG without metadata into ``folder``; the stored file name."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > PHOTO_MAX:
        raise _photo_error(
            "too_large", N_("Pole „Zdjęcie”: plik może mieć najwyżej 5 MB."), status=413
        )
    if not data:
        raise _photo_error("empty", N_("Pole „Zdjęcie”: plik jest pusty."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in ("JPEG", "PNG"):
                raise _photo_error(
                    "wrong_type", N_("Pole „Zdjęcie”: dozwolone są tylko pliki JPEG i PNG.")
                )
            if img.width * img.height > PHOTO_PIXELS_MAX:
                raise _photo_error(
                    "too_many_pixels", N_("Pole „Zdjęcie”: obraz ma za dużo pikseli.")
                )
            fmt = img.format
            img.load()
            img = ImageOps.exif_transpose(img)  # keep the picture upright, then drop EXIF
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise _photo_error(
            "unreadable", N_("Pole „Zdjęcie”: plik nie jest poprawnym obrazem JPEG ani PNG.")
        ) from None
    img.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    if fmt == "PNG":
        clean = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
        ext, kwargs = "png", {"optimize": True}
    else:
        clean = img.convert("RGB")
        ext, kwargs = "jpg", {"quality": 85, "optimize": True}
    clean.info = {}  # no EXIF, GPS, XMP, ICC or text chunks travel on
    out = io.BytesIO()
    clean.save(out, "PNG" if ext == "png" else "JPEG", **kwargs)
    name = f"{uuid.uuid4().hex}.{ext}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(out.getvalue())
    return name


def drop_photo(folder: Path, name: str | None) -> None:
    if name and PHOTO_NAME.match(name):
        (folder / name).unlink(missing_ok=True)


def photo_owner(conn: Connection, name: str) -> Any:
    """(author_id, status, hidden_at) of the proposal showing this photo, or None."""
    if not PHOTO_NAME.match(name):
        return None
    return conn.execute(
        text("SELECT id, author_id, status, hidden_at FROM budget_proposals WHERE photo = :p"),
        {"p": name},
    ).first()


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
