"""The places of an organisation: its seat and branches, each a point placed by address search
or on the map. They are rows of the ``ngos`` layer table (``ngo_locations``) carrying a copy of
the profile (civic.ngos.profiles.sync_places). At most one seat (a unique index)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from civic import N_
from civic.audit import record_audit
from civic.ngos.common import Invalid, clean_text
from civic.ngos.profiles import TABLE, require_editor
from geo.validate import GeometryError, parse_geometry
from layers.ngos import PLACE_KINDS


def _point(raw: Any) -> str:
    try:
        geom = parse_geometry(raw, allowed_types=("Point",))
    except GeometryError as exc:
        raise Invalid("geometry", exc.code, exc.message) from None
    return geom.wkt


def add_place(
    conn: Connection, org_id: int, actor_id: int, roles: frozenset[str], form: dict[str, Any]
) -> int:
    """A seat or a branch: a point chosen by address search or on the map."""
    require_editor(conn, org_id, actor_id, roles)
    kind = form.get("kind") or "branch"
    if kind not in PLACE_KINDS:
        raise Invalid("kind", "unknown_choice", N_("Nieznany rodzaj miejsca."))
    address = clean_text(form.get("address"), "address", max_len=300, multiline=False)
    place_name = clean_text(form.get("place_name"), "place_name", max_len=200, multiline=False)
    wkt = _point(form.get("geometry"))
    try:
        with conn.begin_nested():
            place_id = conn.execute(
                text(
                    """INSERT INTO ngo_locations (external_id, geom, name, krs, address, fields,
                              target_groups, districts_served, website, service_area,
                              organisation_id, kind, place_name)
                       SELECT :ext, ST_GeomFromText(:wkt, 4326), o.name, o.krs, :address,
                              o.fields, o.target_groups, o.districts_served, o.website,
                              o.service_area, o.id, :kind, :place_name
                       FROM ngo_organisations o WHERE o.id = :o RETURNING id"""
                ),
                {
                    "ext": f"ngo-profile:{org_id}:{uuid.uuid4().hex}",
                    "wkt": wkt,
                    "address": address,
                    "kind": kind,
                    "place_name": place_name,
                    "o": org_id,
                },
            ).scalar_one()
    except DBAPIError as exc:
        raise _place_error(exc) from None
    record_audit(conn, actor_id, "ngo_place_added", TABLE, org_id, f"{kind} {place_id}")
    return place_id


def _place_error(exc: DBAPIError) -> Invalid:
    code = getattr(exc.orig, "sqlstate", None)
    if code == "CV001":
        return Invalid("geometry", "outside_city", N_("To miejsce leży poza granicami miasta."))
    if code == "23505":
        return Invalid(
            "kind", "seat_exists", N_("Organizacja ma już siedzibę: dodaj oddział."), 409
        )
    raise exc


def update_place(
    conn: Connection,
    org_id: int,
    place_id: int,
    actor_id: int,
    roles: frozenset[str],
    form: dict[str, Any],
) -> None:
    require_editor(conn, org_id, actor_id, roles)
    sets, params = [], {"id": place_id, "o": org_id}
    if "geometry" in form and form.get("geometry"):
        sets.append("geom = ST_GeomFromText(:wkt, 4326)")
        params["wkt"] = _point(form["geometry"])
    for name, limit in (("address", 300), ("place_name", 200)):
        if name in form:
            sets.append(f"{name} = :{name}")
            params[name] = clean_text(form.get(name), name, max_len=limit, multiline=False)
    if "kind" in form:
        if form["kind"] not in PLACE_KINDS:
            raise Invalid("kind", "unknown_choice", N_("Nieznany rodzaj miejsca."))
        sets.append("kind = :kind")
        params["kind"] = form["kind"]
    if not sets:
        return
    try:
        with conn.begin_nested():
            done = conn.execute(
                text(
                    f"UPDATE ngo_locations SET {', '.join(sets)} "
                    "WHERE id = :id AND organisation_id = :o RETURNING id"
                ),
                params,
            ).first()
    except DBAPIError as exc:
        raise _place_error(exc) from None
    if done is None:
        raise Invalid("place", "not_found", N_("Nie ma takiego miejsca."), 404)
    record_audit(conn, actor_id, "ngo_place_updated", TABLE, org_id, f"place {place_id}")


def remove_place(
    conn: Connection, org_id: int, place_id: int, actor_id: int, roles: frozenset[str]
) -> None:
    require_editor(conn, org_id, actor_id, roles)
    done = conn.execute(
        text("DELETE FROM ngo_locations WHERE id = :id AND organisation_id = :o RETURNING id"),
        {"id": place_id, "o": org_id},
    ).first()
    if done is None:
        raise Invalid("place", "not_found", N_("Nie ma takiego miejsca."), 404)
    record_audit(conn, actor_id, "ngo_place_removed", TABLE, org_id, f"place {place_id}")


def places(conn: Connection, org_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            """SELECT l.id, l.kind, l.place_name, l.address, l.districts,
                      ST_X(l.geom) AS lon, ST_Y(l.geom) AS lat,
                      (SELECT string_agg(d.full_name, ', ' ORDER BY d.number) FROM districts d
                       WHERE d.number = ANY(l.districts)) AS district_names
               FROM ngo_locations l WHERE l.organisation_id = :o
               ORDER BY l.kind = 'seat' DESC, l.id"""
        ),
        {"o": org_id},
    )
    return [dict(r._mapping) for r in rows]
