"""GIS exports: every format round-trips through pyogrio (count, attributes with Polish
characters, geometry within 1 cm), carries its metadata, and only public data leave."""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
import zipfile
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
import test_ogc_testlayer as tl
from click.testing import CliRunner
from pyproj import CRS
from sqlalchemy import text

from geo import export as gx
from layers.collections import collections, export_frame, get_collection

FORMATS = ["gpkg", "shp", "geojson", "csv", "kml"]
KML_SYSTEM = [
    "id",
    "description",
    "timestamp",
    "begin",
    "end",
    "altitudeMode",
    "tessellate",
    "extrude",
    "visibility",
    "drawOrder",
    "icon",
]


@pytest.fixture(scope="module", autouse=True)
def layer(engine):
    with tl.installed(engine) as ids:
        yield ids


def download(client, tmp_path: Path, name: str, fmt: str, **params) -> Path:
    r = client.get(f"/exports/{name}.{fmt}", query_string=params)
    assert r.status_code == 200, (name, fmt, r.data[:300])
    filename = r.headers["Content-Disposition"].split('filename="')[1].rstrip('"')
    path = tmp_path / filename
    path.write_bytes(r.data)
    return path


def read_back(path: Path, fmt: str, coll) -> gpd.GeoDataFrame:
    """The file as a GeoDataFrame with the export's column names."""
    if fmt == "shp":
        z = zipfile.ZipFile(path)
        mapping = {
            row["dbf_name"]: row["export_name"]
            for row in csv.DictReader(io.StringIO(z.read("fields.csv").decode("utf-8")))
        }
        parts = []
        for member in z.namelist():
            if member.endswith(".shp") or member.endswith("_nogeom.dbf"):
                df = pyogrio.read_dataframe(f"/vsizip/{path}/{member}")
                if not isinstance(df, gpd.GeoDataFrame):
                    df = gpd.GeoDataFrame(df, geometry=[None] * len(df))
                parts.append(df.rename(columns=mapping))
        crs = parts[0].crs
        df = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
        return df
    df = pyogrio.read_dataframe(path)
    if fmt == "csv":
        df = df.drop(columns=["WKT", *gx.CSV_META_COLUMNS])
    if fmt == "kml":
        df = df.drop(columns=KML_SYSTEM).rename(
            columns={"Name": coll.title_column(), **{v: k for k, v in gx.KML_RENAMES.items()}}
        )
        df["geometry"] = shapely.force_2d(df.geometry.values)
    return df


def norm(value, typ: str):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str) and value == "":
        return None
    if typ == "int":
        return int(float(value))
    if typ == "float":
        return round(float(value), 6)
    if typ == "bool":
        return str(value).lower() in ("1", "1.0", "true")
    if typ == "date":
        return str(value)[:10]
    if typ == "datetime":
        t = pd.Timestamp(value)
        t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        return t.strftime("%Y-%m-%dT%H:%M:%S")
    return str(value)


def assert_round_trip(engine, coll, path: Path, fmt: str, srid: int, district=None) -> int:
    with engine.connect() as conn:
        want, cols = export_frame(conn, coll, srid, district)
    got = read_back(path, fmt, coll)
    assert len(got) == len(want), (coll.name, fmt)
    key = cols[0].name  # "id" (ID_DZIELNI for the districts)
    names = [c.name for c in cols]
    if len(want) == 0 and fmt in ("geojson", "kml"):
        return 0  # no features, no schema in these formats: nothing to compare
    assert set(names) <= set(got.columns), (fmt, sorted(set(names) - set(got.columns)))
    want = want.set_index(want[key].astype(int)).sort_index()
    got = got.set_index(got[key].map(lambda v: int(float(v)))).sort_index()
    assert list(want.index) == list(got.index)
    for c in cols:
        w = [norm(v, c.type) for v in want[c.name]]
        g = [norm(v, c.type) for v in got[c.name]]
        assert w == g, (
            coll.name,
            fmt,
            c.name,
            [(a, b) for a, b in zip(w, g, strict=True) if a != b][:3],
        )
    if got.crs is not None:
        assert CRS(got.crs).equals(CRS.from_epsg(srid), ignore_axis_order=True), got.crs
    # geometry: the same within 1 cm, measured in metres (EPSG:2180) whatever the file's CRS
    wg = gpd.GeoSeries(want.geometry.values, crs=srid).to_crs(2180).values
    gg = gpd.GeoSeries(got.geometry.values, crs=srid).to_crs(2180).values
    w_missing = shapely.is_missing(wg) | shapely.is_empty(wg)
    g_missing = shapely.is_missing(gg) | shapely.is_empty(gg)
    assert (w_missing == g_missing).all(), (coll.name, fmt)
    d = shapely.hausdorff_distance(wg[~w_missing], gg[~g_missing])
    worst = float(d.max()) if len(d) else 0.0
    assert worst <= 0.01, (coll.name, fmt, worst)
    return len(got)


# --- every format, every collection ------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_collection_round_trips(client, engine, tmp_path, fmt):
    for coll in collections():
        path = download(client, tmp_path, coll.name, fmt)
        n = assert_round_trip(engine, coll, path, fmt, 4326)
        if coll.name == tl.NAME:
            assert n == tl.PUBLIC_COUNT
        if coll.name == "districts":
            assert n == 18


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "csv"])
@pytest.mark.parametrize(
    "crs", ["EPSG:2178", "EPSG:2180", "http://www.opengis.net/def/crs/EPSG/0/3857"]
)
def test_projected_exports_round_trip(client, engine, tmp_path, fmt, crs):
    srid = gx.parse_crs(crs)
    for name in (tl.NAME, "districts"):
        path = download(client, tmp_path, name, fmt, crs=crs)
        assert path.name.endswith(f"-epsg{srid}{gx.FORMATS[fmt].suffix}")
        assert_round_trip(engine, get_collection(name), path, fmt, srid)


def test_what_is_exported_is_what_the_database_holds(engine):
    """The export's own rows, checked against the database independently of the writers."""
    with engine.connect() as conn:
        gdf, cols = export_frame(conn, get_collection(tl.NAME), 4326)
    by_title = gdf.set_index("TYTUL")
    w = by_title.loc["Wawel — Zamek Królewski"]
    assert w.OPIS == "Zażółć gęślą jaźń; „cudzysłów” & <b>znaczniki</b>"
    assert (w.KATEGORIA, w.KOSZT, w.votes, w.accepted) == ("kultura", 12345.67, 42, True)
    assert (w.tags, w.district_list, w.NR_DZIELNI, w.DZIELNICA) == (
        "zabytek,żółw",
        "1",
        "I",
        "Stare Miasto",
    )
    assert str(w.opens_on) == "2024-05-01" and w.geometry.equals_exact(
        shapely.Point(tl.WAWEL), 1e-9
    )
    b = by_title.loc["Ścieżka rowerowa: Rynek – Podgórze"]
    assert b.NR_DZIELNI == "I,XIII" and b.DZIELNICA == "Stare Miasto; Podgórze"
    d = by_title.loc["Cała dzielnica Dębniki: ławki"]
    assert d.geometry is None and d.NR_DZIELNI == "VIII" and d.DZIELNICA == "Dębniki"
    assert "Szkic — nie publikować" not in set(gdf.TYTUL)
    assert "author_email" not in gdf.columns and len(gdf) == tl.PUBLIC_COUNT
    names = [c.name for c in cols]
    assert names[:4] == ["id", "EXT_ID", "TYTUL", "OPIS"] and names[-3:] == [
        "NR_DZIELNI",
        "DZIELNICA",
        "DATA_AKTUA",
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_private_data_in_any_file(client, tmp_path, fmt):
    path = download(client, tmp_path, tl.NAME, fmt)
    blobs = (
        [zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist()]
        if fmt == "shp"
        else [path.read_bytes()]
    )
    for blob in blobs:
        assert tl.SECRET.encode() not in blob and b"author_email" not in blob
        assert "Szkic — nie publikować".encode() not in blob


# --- Wawel in the GeoPackage in EPSG:2178 --------------------------------------------------------


def test_wawel_in_geopackage_2178_is_easting_first(client, tmp_path):
    path = download(client, tmp_path, tl.NAME, "gpkg", crs="EPSG:2178")
    df = pyogrio.read_dataframe(path)
    assert CRS(df.crs).to_epsg() == 2178
    p = df[df.TYTUL == "Wawel — Zamek Królewski"].geometry.iloc[0]
    assert abs(p.x - 7_423_772.0) < 0.1 and abs(p.y - 5_546_969.2) < 0.1, (p.x, p.y)


# --- what each format carries ----------------------------------------------------------------------


def test_geopackage_metadata(client, tmp_path):
    path = download(client, tmp_path, "districts", "gpkg", crs="EPSG:2178")
    md = pyogrio.read_info(path)["dataset_metadata"]
    assert md["crs"] == "EPSG:2178" and md["source"].startswith("Gmina Miejska Kraków, MSIP")
    assert "MSIP" in md["licence"] and md["exported_at"].endswith("Z")
    datetime.strptime(md["exported_at"], "%Y-%m-%dT%H:%M:%SZ")
    with sqlite3.connect(path) as db:
        ident, desc = db.execute("SELECT identifier, description FROM gpkg_contents").fetchone()
    assert ident == "Dzielnice" and "Licencja / licence" in desc and "EPSG:2178" in desc


def test_shapefile_zip(client, tmp_path):
    path = download(client, tmp_path, tl.NAME, "shp", crs="EPSG:2178")
    z = zipfile.ZipFile(path)
    names = set(z.namelist())
    base = "ogc-test-epsg2178"
    for fam in ("point", "line", "polygon"):
        for ext in ("shp", "shx", "dbf", "prj", "cpg", "shp.xml"):
            assert f"{base}_{fam}.{ext}" in names
        assert z.read(f"{base}_{fam}.cpg") == b"UTF-8"
        assert CRS.from_wkt(z.read(f"{base}_{fam}.prj").decode()).to_epsg(min_confidence=70) == 2178
        assert b"CC BY 4.0" in z.read(f"{base}_{fam}.shp.xml")
    assert f"{base}_nogeom.dbf" in names  # "whole district": a DBF without shapes
    readme = z.read("README.txt").decode("utf-8")
    assert "Licencja / licence: CC BY 4.0" in readme and "EPSG:2178" in readme
    # the documented field mapping: <= 10 characters, MSIP names kept, clashes numbered
    rows = list(csv.DictReader(io.StringIO(z.read("fields.csv").decode("utf-8"))))
    mapping = {r["export_name"]: r["dbf_name"] for r in rows}
    assert all(len(v) <= 10 for v in mapping.values()) and len(set(mapping.values())) == len(
        mapping
    )
    assert mapping["TYTUL"] == "TYTUL" and mapping["NR_DZIELNI"] == "NR_DZIELNI"
    assert mapping["description_long_name"] == "DESCRIPTIO"
    assert mapping["description_longer"] == "DESCRIPT_1"
    assert mapping["DATA_AKTUA"] == "DATA_AKTUA" and mapping["id"] == "ID"
    assert "  DESCRIPT_1 <- description_longer: Opis dłuższy" in readme
    df = pyogrio.read_dataframe(f"/vsizip/{path}/{base}_point.shp")
    assert "Wawel — Zamek Królewski" in set(df.TYTUL)  # UTF-8 through .cpg


def test_shapefile_names():
    cols = [
        gx.Column(n, "text")
        for n in ("description", "description_long", "descriptionX", "Łódź_ulica", "id")
    ]
    cols.append(gx.Column("kod", "text", msip_name="KOD_TERYT"))
    assert gx.shapefile_names(cols) == {
        "description": "DESCRIPTIO",
        "description_long": "DESCRIPT_1",
        "descriptionX": "DESCRIPT_2",
        "Łódź_ulica": "LODZ_ULICA",
        "id": "ID",
        "kod": "KOD_TERYT",
    }


def test_geojson_is_rfc7946(client, tmp_path):
    path = download(client, tmp_path, tl.NAME, "geojson")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in doc and doc["type"] == "FeatureCollection"
    assert doc["metadata"]["licence"] == "CC BY 4.0" and doc["metadata"]["crs"] == "EPSG:4326"
    assert doc["metadata"]["source"].startswith("Civic Map")
    wawel = next(f for f in doc["features"] if f["properties"]["TYTUL"].startswith("Wawel"))
    assert wawel["geometry"]["coordinates"] == pytest.approx(list(tl.WAWEL), abs=1e-7)  # lon, lat
    r = client.get(f"/exports/{tl.NAME}.geojson?crs=EPSG:2178")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "crs"


def test_csv_has_bom_wkt_and_metadata(client, tmp_path):
    path = download(client, tmp_path, tl.NAME, "csv", crs="EPSG:2178")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0])[0] == "WKT"
    wawel = next(r for r in rows if r["TYTUL"].startswith("Wawel"))
    x, y = map(float, wawel["WKT"].removeprefix("POINT (").rstrip(")").split())
    assert abs(x - 7_423_772.0) < 0.1 and abs(y - 5_546_969.2) < 0.1
    assert (wawel["meta_crs"], wawel["meta_licence"]) == ("EPSG:2178", "CC BY 4.0")
    assert wawel["meta_exported"].endswith("Z") and wawel["meta_source"].startswith("Civic Map")


def test_kml(client, tmp_path):
    path = download(client, tmp_path, "districts", "kml")
    body = path.read_text(encoding="utf-8")
    assert "<name>Łagiewniki-Borek Fałęcki</name>" in body  # placemark names are the titles
    assert "Licencja / licence" in body and "msip.krakow.pl" in body
    r = client.get("/exports/districts.kml?crs=EPSG:2180")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "crs"


# --- filters, errors, sync log, CLI ---------------------------------------------------------------


@pytest.mark.parametrize("district", [1, 13])
def test_district_filter(client, engine, tmp_path, district):
    path = download(client, tmp_path, tl.NAME, "gpkg", district=district, crs="EPSG:2178")
    assert f"-dzielnica-{district}-" in path.name
    n = assert_round_trip(engine, get_collection(tl.NAME), path, "gpkg", 2178, district)
    with engine.connect() as conn:
        want = conn.execute(
            text(
                f"SELECT count(*) FROM {tl.TABLE} WHERE status = 'published' AND :d = ANY(districts)"
            ),
            {"d": district},
        ).scalar_one()
    assert n == want > 0
    roman = {1: "I", 13: "XIII"}[district]
    assert all(roman in v.split(",") for v in pyogrio.read_dataframe(path).NR_DZIELNI)


@pytest.mark.parametrize(
    "url,status,field",
    [
        ("/exports/nope.gpkg", 404, "layer"),
        (f"/exports/{tl.NAME}.xls", 400, "format"),
        (f"/exports/{tl.NAME}", 404, "format"),
        (f"/exports/{tl.NAME}.gpkg?crs=EPSG:9999", 400, "crs"),
        (f"/exports/{tl.NAME}.gpkg?district=99", 400, "district"),
        (f"/exports/{tl.NAME}.gpkg?district=abc", 400, "district"),
    ],
)
def test_bad_export_requests(client, url, status, field):
    r = client.get(url)
    assert r.status_code == status, r.data[:300]
    assert r.get_json()["error"]["field"] == field


def test_exports_index_lists_every_collection(client):
    doc = client.get("/exports/").get_json()
    assert [e["layer"] for e in doc["exports"]] == [c.name for c in collections()]
    assert set(doc["exports"][0]["formats"]) == set(FORMATS)


def test_every_export_is_in_the_sync_log_for_admins(client, app, engine, tmp_path):
    with engine.connect() as conn:
        before = conn.execute(text("SELECT max(id) FROM sync_log")).scalar_one() or 0
    download(client, tmp_path, tl.NAME, "shp", crs="EPSG:2178", district=13)
    download(client, tmp_path, "districts", "csv")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT layer, op, format, crs, features, params, client FROM sync_log WHERE id > :b ORDER BY id"
            ),
            {"b": before},
        ).all()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (tl.NAME, "export", "shp", "EPSG:2178"),
        ("districts", "export", "csv", "EPSG:4326"),
    ]
    assert rows[0].params == {"district": 13} and rows[1].features == 18
    assert "Werkzeug" in rows[0].client  # the test client's user agent
    # admins only
    assert client.get("/admin/sync-log").status_code == 403
    app.config["ADMIN_TOKEN"] = "s3cret-token"
    try:
        assert client.get("/admin/sync-log", headers={"X-Admin-Token": "wrong"}).status_code == 403
        r = client.get(
            "/admin/sync-log?op=export&limit=2", headers={"X-Admin-Token": "s3cret-token"}
        )
        assert r.status_code == 200
        entries = r.get_json()["entries"]
        assert [e["layer"] for e in entries] == ["districts", tl.NAME]
        assert entries[0]["at"].endswith("Z") and entries[0]["features"] == 18
        r = client.get("/admin/sync-log", headers={"Authorization": "Bearer s3cret-token"})
        assert r.status_code == 200
        assert (
            client.get(
                "/admin/sync-log?limit=0", headers={"X-Admin-Token": "s3cret-token"}
            ).status_code
            == 400
        )
    finally:
        app.config.pop("ADMIN_TOKEN")


def test_cli_export(db_url, engine, tmp_path, monkeypatch):
    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    out = tmp_path / "wawel.gpkg"
    res = CliRunner().invoke(
        main, ["export", tl.NAME, "gpkg", "--crs", "EPSG:2178", "--district", "1", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "EPSG:2178" in res.output and out.exists()
    assert_round_trip(engine, get_collection(tl.NAME), out, "gpkg", 2178, district=1)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["export", "districts", "shp"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "districts-epsg4326.zip").exists()
    for args, hint in (
        (["export", "districts", "kml", "--crs", "EPSG:2178"], "--crs"),
        (["export", "districts", "gpkg", "--crs", "EPSG:9999"], "--crs"),
        (["export", "districts", "gpkg", "--district", "40"], "--district"),
        (["export", "nope", "gpkg"], "LAYER"),
    ):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2 and hint in res.output, (args, res.output)
    with engine.connect() as conn:
        clients = (
            conn.execute(
                text("SELECT client FROM sync_log WHERE op = 'export' ORDER BY id DESC LIMIT 2")
            )
            .scalars()
            .all()
        )
    assert clients == ["cli", "cli"]


def test_date_values_survive(engine):
    with engine.connect() as conn:
        gdf, _ = export_frame(conn, get_collection(tl.NAME), 4326)
    v = gdf.set_index("TYTUL").loc["Wawel — Zamek Królewski"]
    assert v.opens_on == date(2024, 5, 1)
    assert pd.Timestamp(v.decided_at) == pd.Timestamp("2024-06-01T12:00:00Z")
