"""Esri JSON (ArcGIS REST ``query?f=json`` responses) into shapely geometries.

Esri polygons are lists of rings: outer rings run clockwise, holes counter-clockwise, and a
hole belongs to the outer ring that contains it. Polylines are ``paths``; points are
``x``/``y``; multipoints ``points``. Coordinates stay in the response's CRS
(``spatialReference.latestWkid`` or ``wkid``), easting first as Esri writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import (
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
)
from shapely.geometry.base import BaseGeometry


class EsriJsonError(ValueError):
    """The input is not a usable Esri JSON feature set."""


@dataclass
class EsriFeatureSet:
    srid: int | None
    geometry_type: str | None
    fields: list[dict[str, Any]]
    features: list[tuple[dict[str, Any], BaseGeometry | None]]
    exceeded_transfer_limit: bool = False


def _signed_area(ring: list[list[float]]) -> float:
    s = 0.0
    for (x1, y1, *_), (x2, y2, *_) in zip(ring, ring[1:] + ring[:1], strict=True):
        s += x1 * y2 - x2 * y1
    return s / 2.0


def _dedupe(ring: list[list[float]]) -> list[tuple[float, float]]:
    """Drop repeated consecutive vertices (MSIP rings repeat their closing vertex)."""
    out: list[tuple[float, float]] = []
    for pt in ring:
        xy = (float(pt[0]), float(pt[1]))
        if not out or out[-1] != xy:
            out.append(xy)
    if len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def rings_to_geometry(rings: list[list[list[float]]]) -> BaseGeometry:
    outers: list[list[tuple[float, float]]] = []
    holes: list[list[tuple[float, float]]] = []
    for ring in rings:
        pts = _dedupe(ring)
        if len(pts) < 3:
            continue
        # Esri: clockwise (negative signed area in a y-up system) = outer ring.
        (outers if _signed_area([list(p) for p in pts]) < 0 else holes).append(pts)
    if not outers and holes:  # counter-clockwise only: writer ignored the convention
        outers, holes = holes, []
    polys: list[tuple[Polygon, list]] = [(Polygon(o), []) for o in outers]
    for h in holes:
        probe = Point(h[0])
        owner = next((p for p in polys if p[0].covers(probe)), None)
        if owner is None:
            polys.append((Polygon(h), []))
        else:
            owner[1].append(h)
    parts = [Polygon(p.exterior.coords, hs) for p, hs in polys]
    if not parts:
        raise EsriJsonError("polygon has no ring with three distinct vertices")
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def geometry_from_esri(g: dict[str, Any] | None) -> BaseGeometry | None:
    if not g:
        return None
    if "rings" in g:
        return rings_to_geometry(g["rings"])
    if "paths" in g:
        lines = [LineString([(p[0], p[1]) for p in path]) for path in g["paths"] if len(path) >= 2]
        if not lines:
            raise EsriJsonError("polyline has no path with two vertices")
        return lines[0] if len(lines) == 1 else MultiLineString(lines)
    if "points" in g:
        return MultiPoint([(p[0], p[1]) for p in g["points"]])
    if "x" in g and "y" in g:
        if g["x"] is None or g["y"] is None or g["x"] == "NaN":
            return None
        return Point(float(g["x"]), float(g["y"]))
    raise EsriJsonError(f"unknown Esri geometry with keys {sorted(g)}")


def parse_feature_set(doc: dict[str, Any]) -> EsriFeatureSet:
    if not isinstance(doc, dict):
        raise EsriJsonError("Esri JSON must be an object")
    if "error" in doc:
        err = doc["error"] or {}
        raise EsriJsonError(f"ArcGIS server error {err.get('code')}: {err.get('message')}")
    if "features" not in doc or not isinstance(doc["features"], list):
        raise EsriJsonError("no 'features' array: not an ArcGIS REST query response")
    sr = doc.get("spatialReference") or {}
    srid = sr.get("latestWkid") or sr.get("wkid")
    features = []
    for i, f in enumerate(doc["features"]):
        try:
            geom = geometry_from_esri(f.get("geometry"))
        except (EsriJsonError, ValueError, TypeError, IndexError) as exc:
            raise EsriJsonError(f"feature {i}: {exc}") from exc
        features.append((dict(f.get("attributes") or {}), geom))
    return EsriFeatureSet(
        srid=int(srid) if srid else None,
        geometry_type=doc.get("geometryType"),
        fields=list(doc.get("fields") or []),
        features=features,
        exceeded_transfer_limit=bool(doc.get("exceededTransferLimit")),
    )


def read_esri_json(path: str | Path) -> EsriFeatureSet:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise EsriJsonError(f"{path}: not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise EsriJsonError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    return parse_feature_set(doc)
