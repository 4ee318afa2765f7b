"""Strict validation of geometry that residents draw (GeoJSON from the browser).

Framework-free. ``parse_geometry`` accepts a GeoJSON geometry (or a Feature wrapping one),
as text or already decoded, and either returns a shapely geometry or raises
``GeometryError`` with a machine-readable ``code`` and a message for the form field.

What the stack would otherwise accept silently (see PITFALLS.md) is refused here:
NaN/Infinity/1e999 and strings or booleans as coordinates, unclosed rings (shapely would
close them), self-intersecting polygons, degenerate shapes (a zero-area polygon, a
zero-length line), too many vertices, and coordinates outside lon/lat ranges.
"Inside the city" needs the database: ``districts_for`` asks it, and the table trigger
(SQLSTATE CV001) has the last word on every write.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from sqlalchemy import Connection, text

MAX_VERTICES = 5000
MAX_TEXT = 1_000_000  # characters of GeoJSON text; 5000 vertices need ~200 kB
# Below this a drawn shape is a slip of the mouse, not a place (EPSG:2180 metres).
MIN_LENGTH_M = 0.5
MIN_AREA_M2 = 1.0
DEFAULT_TYPES = ("Point", "LineString", "Polygon")
FIELD = "geometry"


class GeometryError(ValueError):
    """Bad geometry: ``code`` for machines, ``message`` (Polish) for people."""

    def __init__(self, code: str, message: str, field: str = FIELD):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


class _Counter:
    """Counts vertices while parsing, so a huge geometry is refused before shapely sees it."""

    def __init__(self, limit: int):
        self.limit, self.n = limit, 0

    def add(self, k: int) -> None:
        self.n += k
        if self.n > self.limit:
            raise GeometryError(
                "too_many_vertices",
                f"Geometria ma więcej niż {self.limit} wierzchołków — uprość kształt.",
            )


def _reject_constant(name: str) -> float:
    raise GeometryError("not_finite", f"Współrzędne muszą być liczbami skończonymi (jest {name}).")


def loads(raw: str | bytes) -> Any:
    """json.loads that refuses NaN/Infinity and survives absurd nesting with a GeometryError."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise GeometryError(
                "invalid_json", "Geometria nie jest poprawnym tekstem UTF-8."
            ) from None
    if len(raw) > MAX_TEXT:
        raise GeometryError("too_large", "Geometria jest za duża — uprość kształt.")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise GeometryError("invalid_json", "Geometria jest zbyt głęboko zagnieżdżona.") from None
    except ValueError as exc:
        if isinstance(exc, GeometryError):
            raise
        raise GeometryError(
            "invalid_json", f"Geometria nie jest poprawnym GeoJSON-em ({exc.args[0]})."
        ) from None


def _position(value: Any, counter: _Counter) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        # A height (Z) or measure (M) would be dropped by the 2D storage: refused, not lost.
        raise GeometryError(
            "invalid_position",
            "Każdy punkt musi mieć dokładnie dwie współrzędne [długość, szerokość] "
            "(bez wysokości Z i miary M).",
        )
    for c in value:
        if isinstance(c, bool) or not isinstance(c, int | float):
            raise GeometryError("invalid_coordinate", f"Współrzędna {c!r} nie jest liczbą.")
        if not math.isfinite(c):
            raise GeometryError(
                "not_finite",
                "Współrzędne muszą być liczbami skończonymi (bez NaN i nieskończoności).",
            )
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise GeometryError(
            "out_of_range",
            "Współrzędne poza zakresem długości/szerokości geograficznej (EPSG:4326).",
        )
    counter.add(1)
    return lon, lat


def _positions(value: Any, counter: _Counter, what: str) -> list[tuple[float, float]]:
    if not isinstance(value, list):
        raise GeometryError("invalid_coordinates", f"{what}: oczekiwano listy punktów.")
    pts = [_position(p, counter) for p in value]
    # Consecutive duplicates (a double click when finishing a shape) are not an error.
    return [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]


def _line(value: Any, counter: _Counter) -> LineString:
    pts = _positions(value, counter, "Linia")
    if len(pts) < 2:
        raise GeometryError("degenerate", "Linia musi mieć co najmniej dwa różne punkty.")
    line = LineString(pts)
    if not line.is_simple:
        raise GeometryError("self_intersection", "Linia przecina samą siebie.")
    return line


def _ring(value: Any, counter: _Counter) -> list[tuple[float, float]]:
    if not isinstance(value, list) or len(value) < 4:
        raise GeometryError("degenerate", "Wielokąt musi mieć co najmniej trzy różne wierzchołki.")
    if value[0] != value[-1]:
        raise GeometryError(
            "unclosed_ring", "Pierścień wielokąta nie jest zamknięty (pierwszy punkt ≠ ostatni)."
        )
    pts = _positions(value, counter, "Wielokąt")
    if len(pts) < 4 or len(set(pts)) < 3:
        raise GeometryError("degenerate", "Wielokąt musi mieć co najmniej trzy różne wierzchołki.")
    return pts


def _polygon(value: Any, counter: _Counter) -> Polygon:
    if not isinstance(value, list) or not value:
        raise GeometryError("invalid_coordinates", "Wielokąt: oczekiwano listy pierścieni.")
    rings = [_ring(r, counter) for r in value]
    poly = Polygon(rings[0], rings[1:])
    # All vertices on one line (or one point): no area at all. A bowtie also sums to zero
    # area, but its vertices span a plane — that one is a self-intersection.
    if MultiPoint(rings[0]).convex_hull.area == 0:
        raise GeometryError("degenerate", "Wielokąt ma zerową powierzchnię.")
    if not poly.is_valid:
        reason = explain_validity(poly)
        if "Self-intersection" in reason or "Ring Self-intersection" in reason:
            raise GeometryError(
                "self_intersection", "Wielokąt przecina sam siebie — popraw kształt."
            )
        raise GeometryError("invalid_polygon", f"Wielokąt jest niepoprawny ({reason}).")
    return poly


def _build(gtype: str, coords: Any, counter: _Counter) -> BaseGeometry:
    if gtype == "Point":
        return Point(_position(coords, counter))
    if gtype == "LineString":
        return _line(coords, counter)
    if gtype == "Polygon":
        return _polygon(coords, counter)
    if not isinstance(coords, list) or not coords:
        raise GeometryError("invalid_coordinates", f"{gtype}: oczekiwano niepustej listy.")
    if gtype == "MultiPoint":
        return MultiPoint([_position(c, counter) for c in coords])
    if gtype == "MultiLineString":
        return MultiLineString([_line(c, counter) for c in coords])
    if gtype == "MultiPolygon":
        multi = MultiPolygon([_polygon(c, counter) for c in coords])
        if not multi.is_valid:
            raise GeometryError("self_intersection", "Części wielokąta nachodzą na siebie.")
        return multi
    raise GeometryError("invalid_type", f"Nieznany typ geometrii {gtype!r}.")


def parse_geometry(
    value: Any,
    *,
    allowed_types: tuple[str, ...] = DEFAULT_TYPES,
    max_vertices: int = MAX_VERTICES,
) -> BaseGeometry:
    """Validate a GeoJSON geometry (dict, Feature, or JSON text) and return it as shapely."""
    if isinstance(value, str | bytes):
        if not value.strip():
            raise GeometryError("required", "Wskaż miejsce na mapie.")
        value = loads(value)
    if not isinstance(value, dict):
        raise GeometryError("invalid_geojson", "Geometria musi być obiektem GeoJSON.")
    if value.get("type") == "Feature":
        value = value.get("geometry")
        if not isinstance(value, dict):
            raise GeometryError("invalid_geojson", "Obiekt Feature nie ma geometrii.")
    gtype = value.get("type")
    if not isinstance(gtype, str) or gtype not in (
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
    ):
        raise GeometryError("invalid_type", f"Nieobsługiwany typ geometrii {str(gtype)[:40]!r}.")
    if gtype not in allowed_types:
        names = ", ".join(allowed_types)
        raise GeometryError(
            "type_not_allowed", f"Typ {gtype} nie jest tu dozwolony (dozwolone: {names})."
        )
    if "coordinates" not in value:
        raise GeometryError("invalid_geojson", "Geometria nie ma współrzędnych.")
    return _build(gtype, value["coordinates"], _Counter(max_vertices))


def check_size(conn: Connection, geom: BaseGeometry) -> None:
    """Refuse slivers measured in metres (on the ellipsoid): a zero-length line, a needle polygon."""
    if geom.geom_type in ("Point", "MultiPoint"):
        return
    # geography, not ST_Transform: metres without PROJ (whose first use in a new database
    # session costs about a second)
    row = conn.execute(
        text(
            "SELECT ST_Length(g), ST_Area(g) FROM "
            "(SELECT ST_GeomFromText(:wkt, 4326)::geography AS g) s"
        ),
        {"wkt": geom.wkt},
    ).one()
    length, area = row
    if geom.geom_type.endswith("LineString") and length < MIN_LENGTH_M:
        raise GeometryError("degenerate", "Linia jest krótsza niż pół metra.")
    if geom.geom_type.endswith("Polygon") and area < MIN_AREA_M2:
        raise GeometryError("degenerate", "Wielokąt ma powierzchnię mniejszą niż 1 m².")


def districts_for(conn: Connection, geom: BaseGeometry) -> list[dict[str, Any]]:
    """The districts a geometry lies in (same rule as the civic_feature_write trigger).

    Raises GeometryError('outside_city') when the geometry is not inside the city.
    """
    row = conn.execute(
        text(
            """
            WITH g AS (SELECT ST_GeomFromText(:wkt, 4326) AS g)
            SELECT EXISTS (SELECT 1 FROM city c, g WHERE ST_CoveredBy(g.g, c.geom)),
                   coalesce((SELECT json_agg(json_build_object('number', d.number, 'name', d.name,
                                                               'full_name', d.full_name)
                                             ORDER BY d.number)
                             FROM districts d, g
                             WHERE ST_Intersects(d.geom, g.g)
                               AND (ST_Dimension(g.g) = 0 OR NOT ST_Touches(d.geom, g.g))),
                            (SELECT json_agg(json_build_object('number', d.number, 'name', d.name,
                                                               'full_name', d.full_name))
                             FROM (SELECT * FROM districts d, g ORDER BY d.geom <-> g.g LIMIT 1) d))
            FROM g
            """
        ),
        {"wkt": geom.wkt},
    ).one()
    inside, found = row
    if not inside:
        raise GeometryError("outside_city", "To miejsce leży poza granicami miasta.")
    return list(found or [])


# --------------------------------------------------------------------------- imported geometry
# What an importer hands over (shapely, a GeoJSON mapping, WKB, WKT) in any CRS. Generic checks
# only; fitting a geometry to a layer's allowed types is layers/validate.py's job.


class UnusableGeometry(ValueError):
    """An imported geometry that cannot be stored; the message (English) goes to the report."""


def to_shape(geometry: Any) -> BaseGeometry | None:
    """shapely / GeoJSON mapping / WKB / WKT -> shapely (None or empty -> None)."""
    import shapely
    from shapely.geometry import shape

    if geometry is None:
        return None
    try:
        if isinstance(geometry, BaseGeometry):
            g = geometry
        elif isinstance(geometry, Mapping):
            g = shape(geometry)
        elif isinstance(geometry, bytes | bytearray | memoryview):
            g = shapely.from_wkb(bytes(geometry))
        elif isinstance(geometry, str):
            g = shapely.from_wkt(geometry)
        else:
            raise UnusableGeometry(f"unsupported geometry value {type(geometry).__name__}")
    except (shapely.errors.GEOSException, ValueError, TypeError, KeyError, IndexError) as exc:
        if isinstance(exc, UnusableGeometry):
            raise
        raise UnusableGeometry(f"unreadable geometry: {exc}") from exc
    if g is None or g.is_empty:
        return None
    return g


def reproject(g: BaseGeometry, srid: int) -> BaseGeometry:
    """From ``srid`` (easting/longitude first) to EPSG:4326 lon/lat, checking the result."""
    import numpy as np
    import shapely

    from geo.crs import STORAGE, transformer

    if g.has_z:
        g = shapely.force_2d(g)
    if not np.isfinite(shapely.get_coordinates(g)).all():
        raise UnusableGeometry("geometry has NaN or infinite coordinates")
    if srid != STORAGE:
        tr = transformer(srid, STORAGE)

        def fn(xy: np.ndarray) -> np.ndarray:
            x, y = tr.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        g = shapely.transform(g, fn)
    coords = shapely.get_coordinates(g)
    if (
        not np.isfinite(coords).all()
        or (np.abs(coords[:, 0]) > 180).any()
        or (np.abs(coords[:, 1]) > 90).any()
    ):
        raise UnusableGeometry(
            f"coordinates are not longitude/latitude after reprojection from EPSG:{srid} "
            "(wrong CRS?)"
        )
    return g


def make_valid(conn: Connection, g: BaseGeometry, dimension: int) -> BaseGeometry | None:
    """PostGIS ST_MakeValid, keeping only the parts of ``dimension`` (1 point, 2 line, 3 polygon)."""
    import shapely

    wkb = conn.execute(
        text("SELECT ST_AsBinary(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB(:wkb)), :dim))"),
        {"wkb": shapely.to_wkb(g), "dim": dimension},
    ).scalar_one()
    return to_shape(bytes(wkb)) if wkb is not None else None
