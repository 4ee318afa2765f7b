"""The council report's files: CSV and GeoPackage (through geo.export) and PDF (printed by
headless Chromium from a self-contained page)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import Connection, text

from civic.councils.common import PROPOSALS, TABLES, Tables, layer
from civic.councils.report import Report
from geo import export as gx
from geo.export_csv import csv_safe

log = logging.getLogger(__name__)

# --- exports of the report -------------------------------------------------------------------

# column name -> code to label, in the reader's language (given by the caller)
Labels = Mapping[str, Callable[[Any], str]]

REPORT_EXPORT_COLUMNS: tuple[gx.Column, ...] = (
    gx.Column("lp", "int", "Lp. (numer na mapie)", "LP"),
    gx.Column("id", "int", "Identyfikator projektu", "ID"),
    gx.Column("tytul", "text", "Tytuł", "TYTUL"),
    gx.Column("edycja", "int", "Edycja", "EDYCJA"),
    gx.Column("zasieg", "text", "Zasięg (district / citywide)", "ZASIEG"),
    gx.Column("status", "text", "Status", "STATUS"),
    gx.Column("kategoria", "text", "Kategoria", "KATEGORIA"),
    gx.Column("koszt", "float", "Szacowany koszt (zł)", "KOSZT"),
    gx.Column("glosy", "int", "Głosy", "GLOSY"),
    gx.Column("priorytet", "int", "Priorytet rady (1 = najważniejszy)", "PRIORYTET"),
    gx.Column("opinia", "text", "Opinia rady (positive / negative / remarks)", "OPINIA_RD"),
    gx.Column("uzasadnienie", "text", "Uzasadnienie opinii", "UZASADN"),
    gx.Column("data_uchwaly", "date", "Data uchwały / posiedzenia", "DATA_UCHW"),
    gx.Column("nr_uchwaly", "text", "Numer uchwały", "NR_UCHW"),
    gx.Column("dzielnice", "text", "Dzielnice (numery)", "DZIELNICE"),
)


def report_frame(
    conn: Connection, rep: Report, srid: int = 4326, tables: Tables = TABLES
) -> gpd.GeoDataFrame:
    """The report's proposals (own, then city-wide) with opinions, geometry in ``srid``."""
    rows = rep.proposals + rep.citywide
    ids = [r["id"] for r in rows]
    geoms: dict[int, bytes | None] = {}
    if ids:
        g = "p.geom" if srid == 4326 else f"ST_Transform(p.geom, {int(srid)})"
        for pid, wkb in conn.execute(
            text(f"SELECT p.id, ST_AsBinary({g}) FROM {tables.proposals} p WHERE p.id = ANY(:ids)"),
            {"ids": ids},
        ):
            geoms[pid] = bytes(wkb) if wkb is not None else None
    data = {
        "lp": [r["no"] for r in rows],
        "id": ids,
        "tytul": [r["title"] for r in rows],
        "edycja": [r["edition"] for r in rows],
        "zasieg": [r["scope"] for r in rows],
        "status": [r["status"] for r in rows],
        "kategoria": [r["category"] for r in rows],
        "koszt": [r["cost"] for r in rows],
        "glosy": [r["votes"] for r in rows],
        "priorytet": [r["rank"] for r in rows],
        "opinia": [r["opinion"] for r in rows],
        "uzasadnienie": [r["justification"] for r in rows],
        "data_uchwaly": [r["resolution_date"] for r in rows],
        "nr_uchwaly": [r["resolution_ref"] for r in rows],
        "dzielnice": [",".join(str(n) for n in r["districts"]) for r in rows],
    }
    geometry = shapely.from_wkb([geoms.get(i) for i in ids]) if ids else []
    return gpd.GeoDataFrame(data, geometry=list(geometry), crs=srid)


def summary_rows(rep: Report) -> list[tuple[str, str]]:
    """The report's numbers as (name, value) pairs (a table in the GeoPackage)."""
    pool = rep.pool
    out = [
        ("dzielnica", str(rep.district["number"])),
        ("nazwa", rep.district["full_name"]),
        ("edycja", "" if rep.edition is None else str(rep.edition)),
        ("projekty_dzielnicowe", str(rep.count)),
        ("projekty_ogolnomiejskie", str(len(rep.citywide))),
        ("kwota_wnioskowana", f"{rep.money_asked:.2f}"),
        ("kwota_bez_odrzuconych", f"{rep.money_in_play:.2f}"),
        ("pula_edycja", "" if not pool else str(pool["edition"])),
        ("pula", "" if not pool else f"{float(pool['budget']):.2f}"),
        ("uwagi_w_dzielnicy", str(rep.comments_in_district)),
    ]
    out += [(f"status_{k}", str(v)) for k, v in sorted(rep.status_counts.items())]
    out += [(f"opinia_{k}", str(v)) for k, v in rep.opinion_counts.items()]
    return out


def write_report(
    conn: Connection,
    rep: Report,
    fmt: str,
    meta: gx.ExportMeta,
    out_dir: Path,
    basename: str,
    tables: Tables = TABLES,
    labels: Labels | None = None,
) -> Path:
    """The report as CSV (UTF-8 with BOM, WKT) or GeoPackage, via geo.export.

    A CSV is read by people in a spreadsheet: coded columns named in ``labels`` get their
    label in the reader's language (a GeoPackage keeps the codes, for MSIP). A GeoPackage
    also holds the numbers (``podsumowanie``) and the comments per consultation
    (``konsultacje``) as attribute tables.
    """
    frame = report_frame(conn, rep, meta.crs, tables)
    if gx.get_format(fmt).key == "csv":
        for name, label in (labels or {}).items():
            frame[name] = frame[name].map(lambda v, label=label: None if v is None else label(v))
        for col in REPORT_EXPORT_COLUMNS:
            if col.type == "text":
                frame[col.name] = frame[col.name].map(csv_safe)
    geometry_types = (
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
    )
    path = gx.write_export(
        frame, REPORT_EXPORT_COLUMNS, fmt, meta, out_dir, basename, geometry_types
    )
    if gx.get_format(fmt).key == "gpkg":
        summary = pd.DataFrame(summary_rows(rep), columns=["nazwa", "wartosc"])
        pyogrio.write_dataframe(summary, path, layer="podsumowanie", driver="GPKG", append=True)
        cons = pd.DataFrame(
            {
                "id": pd.array([c["id"] for c in rep.consultations], dtype="Int64"),
                "tytul": [c["title"] for c in rep.consultations],
                "etap": [c["stage"] for c in rep.consultations],
                "uwagi_w_dzielnicy": pd.array(
                    [c["in_district"] for c in rep.consultations], dtype="Int64"
                ),
                "uwagi_razem": pd.array([c["total"] for c in rep.consultations], dtype="Int64"),
            }
        )
        pyogrio.write_dataframe(cons, path, layer="konsultacje", driver="GPKG", append=True)
    return path


def basename(rep: Report) -> str:
    ed = f"-{rep.edition}" if rep.edition else ""
    return f"raport-rada-dzielnicy-{rep.district['number']}{ed}"


@dataclass(frozen=True)
class ReportFile:
    data: bytes
    media_type: str  # without parameters
    filename: str


def report_file(
    conn: Connection,
    d: dict,
    rep: Report,
    fmt: str,
    url: str | None = None,
    labels: Labels | None = None,
) -> ReportFile:
    """The report of district ``d`` as a ``csv`` or ``gpkg`` download (``url``: where it was
    asked for, kept in the file's metadata)."""
    number = d["number"]
    proposals = layer(PROPOSALS)
    meta = gx.ExportMeta(
        layer=f"council-report-{number}",
        title=f"Raport dla Rady Dzielnicy {d['roman']} {d['name']}"
        + (f" — Budżet Obywatelski {rep.edition}" if rep.edition else ""),
        source="Civic Map Kraków: projekty budżetu obywatelskiego i opinie rad dzielnic",
        licence=proposals.ogc.license,
        attribution=proposals.ogc.attribution,
        crs=4326,
        url=url,
        filters={"district": number, "edition": rep.edition},
    )
    out_dir = Path(tempfile.mkdtemp(prefix="civicmap-council-"))
    try:
        path = write_report(conn, rep, fmt, meta, out_dir, basename(rep), labels=labels)
        data = path.read_bytes()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    f = gx.get_format(fmt)
    return ReportFile(data, f.media_type.split(";")[0], basename(rep) + f.suffix)


# --- PDF ---------------------------------------------------------------------------------------


def find_chromium(path: str | None) -> str | None:
    """``path`` if it is an executable Chromium, else None (no PDF offered)."""
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def html_to_pdf(html: str, chromium: str, timeout: int = 90) -> bytes:
    """Print a self-contained HTML page (no scripts, no outside URLs) with headless Chromium."""
    with tempfile.TemporaryDirectory(prefix="civicmap-pdf-") as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(html, encoding="utf-8")
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={tmp}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            src.as_uri(),
        ]
        proc = subprocess.run(
            cmd, capture_output=True, timeout=timeout, check=False, env={**os.environ, "HOME": tmp}
        )
        if not out.exists() or out.stat().st_size == 0:
            log.error("chromium made no PDF (%s): %s", proc.returncode, proc.stderr[-2000:])
            raise RuntimeError("chromium produced no PDF")
        return out.read_bytes()
