"""Exports that are safe to open (issue 14 #4): every CSV the platform writes, read back by
real parsers — Python's csv module and GDAL (pyogrio) — has no cell a spreadsheet would run
as a formula; KML, read back by GDAL and by an XML parser, keeps the text as it was typed
(it is no spreadsheet, and its XML is escaped)."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest
import test_ogc_testlayer as tl
from sqlalchemy import text

from geo import export as gx
from geo.export_csv import csv_safe, csv_safe_frame, dict_rows_csv

FORMULA_TITLE = '=HYPERLINK("http://evil.example","x")'
# description, description_long_name, description_longer: one formula start each
DANGEROUS = {
    "description": "+1+cmd|' /C calc'!A0",
    "description_long_name": "-2+3",
    "description_longer": "@SUM(1+1)*cmd|' /C calc'!A0",
}
TAB, CR = "\tx=1", "\r=1+1"
STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module", autouse=True)
def layer(engine):
    with tl.installed(engine) as ids:
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"UPDATE {tl.TABLE} SET title = :t, description = :d, "
                    "description_long_name = :ln, description_longer = :lr WHERE external_id = 'wawel'"
                ),
                {
                    "t": FORMULA_TITLE,
                    "d": DANGEROUS["description"],
                    "ln": DANGEROUS["description_long_name"],
                    "lr": DANGEROUS["description_longer"],
                },
            )
            conn.execute(
                text(
                    f"UPDATE {tl.TABLE} SET title = :t, description = :d "
                    "WHERE external_id = 'bulwary'"
                ),
                {"t": TAB, "d": CR},
            )
        yield ids


def _cells(rows: list[dict[str, str]]) -> list[str]:
    return [v for row in rows for v in row.values() if isinstance(v, str)]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _no_formula(cells: list[str]) -> None:
    """No text cell starts a formula; a number (-3) is a number to a spreadsheet too."""
    bad = [c for c in cells if c.startswith(STARTS) and not _number(c)]
    assert not bad, bad[:5]


def _download(client, tmp_path: Path, url: str, name: str) -> Path:
    r = client.get(url)
    assert r.status_code == 200, (url, r.data[:300])
    path = tmp_path / name
    path.write_bytes(r.data)
    return path


def test_helper_neutralises_every_formula_start():
    for start in STARTS:
        assert csv_safe(start + "1") == "'" + start + "1"
    assert csv_safe("'=x") == "'=x"  # already safe: not doubled
    assert csv_safe("Wawel") == "Wawel" and csv_safe(-5) == -5 and csv_safe(None) is None
    body = dict_rows_csv([{"a": "=1+1", "b": 3}], ["a", "b"])
    assert body.startswith("\ufeff")
    assert list(csv.DictReader(io.StringIO(body.lstrip("\ufeff")))) == [{"a": "'=1+1", "b": "3"}]
    import pandas as pd

    frame = csv_safe_frame(pd.DataFrame({"t": ["@x", "ok", None], "n": [-1, 2, 3]}))
    assert frame["t"].tolist()[:2] == ["'@x", "ok"] and pd.isna(frame["t"].iloc[2])
    assert frame["n"].tolist() == [-1, 2, 3]


def test_layer_csv_export_is_safe_for_csv_module_and_gdal(client, tmp_path):
    """The issue's case: /exports/<layer>.csv wrote =HYPERLINK(…) raw (it failed before)."""
    path = _download(client, tmp_path, f"/exports/{tl.NAME}.csv", "layer.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    _no_formula(_cells(rows))
    # MSIP's column names: TYTUL (title), OPIS (description)
    wawel = next(r for r in rows if r["EXT_ID"] == "wawel")
    assert wawel["TYTUL"] == "'" + FORMULA_TITLE
    assert wawel["OPIS"] == "'" + DANGEROUS["description"]
    assert wawel["description_long_name"] == "'" + DANGEROUS["description_long_name"]
    assert any(r["TYTUL"] == "'" + TAB for r in rows)
    assert any(r["OPIS"] == "'" + CR for r in rows)
    # numbers stay numbers (no quote before a negative number column)
    assert wawel["votes"] == "42"
    # GDAL reads the same file: geometry from WKT, the same neutral text
    df = pyogrio.read_dataframe(path)
    assert len(df) == len(rows) == tl.PUBLIC_COUNT
    _no_formula([v for v in df.drop(columns="geometry").astype(str).to_numpy().ravel()])
    assert "'" + FORMULA_TITLE in set(df["TYTUL"])


def test_kml_export_keeps_the_text_and_parses(client, tmp_path):
    path = _download(client, tmp_path, f"/exports/{tl.NAME}.kml", "layer.kml")
    root = ET.fromstring(path.read_bytes())  # well-formed XML, whatever the titles hold
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    names = [n.text for n in root.iterfind(".//k:Placemark/k:name", ns)]
    assert FORMULA_TITLE in names  # KML is no spreadsheet: kept as typed, escaped by GDAL
    df = pyogrio.read_dataframe(path)
    assert len(df) == tl.PUBLIC_COUNT
    assert FORMULA_TITLE in set(df["Name"])


def test_planner_csv_neutralises_every_text_column(tmp_path):
    """civic/planning/files.py: every text column, through geo/export.py's CSV writer."""
    from civic.planning.files import file_bytes

    columns = [gx.Column("name", "text", "Nazwa"), gx.Column("n", "int", "Liczba")]
    rows = [
        {"name": FORMULA_TITLE, "n": -3, "geojson": '{"type":"Point","coordinates":[19.9,50.0]}'}
    ]
    meta = gx.ExportMeta(layer="t", title="t", source="-source", licence="@lic", crs=4326)
    data = file_bytes(rows, columns, "csv", meta, "planner")
    parsed = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    _no_formula(_cells(parsed))
    assert parsed[0]["name"] == "'" + FORMULA_TITLE and parsed[0]["n"] == "-3"


def test_pb_results_csv_is_safe(client, engine):
    """/budget/<year>/results.csv was written with csv.DictWriter, raw (failed before)."""
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT id, title FROM budget_proposals WHERE edition = 2020 ORDER BY id LIMIT 1")
        ).one()
        conn.execute(
            text("UPDATE budget_proposals SET title = :t WHERE id = :id"),
            {"t": FORMULA_TITLE, "id": row.id},
        )
    try:
        r = client.get("/budget/2020/results.csv")
        assert r.status_code == 200
        body = r.get_data(as_text=True)
        rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
        assert rows, body[:200]
        _no_formula(_cells(rows))
        assert any("'" + FORMULA_TITLE in row.values() for row in rows)
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE budget_proposals SET title = :t WHERE id = :id"),
                {"t": row.title, "id": row.id},
            )
