"""Coordinate reference systems used by the platform.

Storage is EPSG:4326 (lon/lat, GeoJSON and the web). Lengths and areas are measured in
EPSG:2180 (PUWG 1992). MSIP, the city's ArcGIS system, works in EPSG:2178 (PL-2000 zone 7).
Both Polish systems are northing-first in their EPSG definitions: always transform with
``always_xy=True`` and let the OGC layer decide the axis order on output.
"""

from __future__ import annotations

from functools import lru_cache

from pyproj import Transformer

STORAGE = 4326
METRIC = 2180  # PUWG 1992, for areas and distances
MSIP = 2178  # PL-2000 strefa 7, MSIP's native CRS
WEB_MERCATOR = 3857
SUPPORTED = (4326, 2180, 2178, 3857)
# CRSs whose authority axis order is northing/latitude first.
NORTHING_FIRST = frozenset({4326, 2180, 2178})


@lru_cache(maxsize=32)
def transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{src}", f"EPSG:{dst}", always_xy=True)


def transform_xy(x: float, y: float, src: int, dst: int) -> tuple[float, float]:
    """Transform one coordinate, easting/longitude first on both sides."""
    return transformer(src, dst).transform(x, y)
