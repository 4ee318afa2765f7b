"""The analyses' files: a GeoPackage or a CSV (geometry as WKT) through geo.export."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from geo import export as gx
from geo.export_csv import csv_safe


def write_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[gx.Column],
    fmt: str,
    meta: gx.ExportMeta,
    out_dir: Path,
    basename: str,
    geometry_key: str = "geojson",
) -> Path:
    """Rows (dicts with a GeoJSON geometry under ``geometry_key``) as a GeoPackage or CSV."""
    import geopandas as gpd
    import shapely

    fmt_obj = gx.get_format(fmt)
    data: dict[str, list[Any]] = {}
    for col in columns:
        values = [r.get(col.name) for r in rows]
        if fmt_obj.key == "csv" and col.type == "text":
            values = [csv_safe(v) for v in values]
        data[col.name] = values
    geoms = shapely.from_geojson([r.get(geometry_key) for r in rows]) if rows else []
    frame = gpd.GeoDataFrame(data, geometry=list(geoms), crs=4326)
    return gx.write_export(frame, columns, fmt_obj, meta, out_dir, basename)


def file_bytes(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[gx.Column],
    fmt: str,
    meta: gx.ExportMeta,
    basename: str,
) -> bytes:
    """The file's content, written in a temporary directory that is removed afterwards."""
    out_dir = Path(tempfile.mkdtemp(prefix="civicmap-planners-"))
    try:
        return write_rows(rows, columns, fmt, meta, out_dir, basename).read_bytes()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
