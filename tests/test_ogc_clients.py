"""Real OGC API – Features clients we did not write — GDAL's OAPIF driver (through pyogrio)
and OWSLib — read every collection from the app served by gunicorn in a subprocess (GDAL
deadlocks against an in-process server, PITFALLS.md), in WGS 84 and in EPSG:2178, with the
same feature counts as the database.
"""

from __future__ import annotations

import pyogrio
import pytest
import shapely
import test_ogc_testlayer as tl
from owslib.ogcapi.features import Features
from pyproj import CRS
from sqlalchemy import text
from test_ogc_testlayer import SERVER_PRELOAD  # noqa: F401  (the server registers the layer)

from layers.collections import collections
from layers.query import FeatureQuery, where_clause

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def layer(engine):
    with tl.installed(engine) as ids:  # this process too: collections() and the counts below
        yield ids


@pytest.fixture(scope="module")
def server(layer, subprocess_server):
    return subprocess_server


@pytest.fixture(scope="module")
def db_counts(engine, layer) -> dict[str, int]:
    """Public features per collection, counted in the database."""
    out = {}
    with engine.connect() as conn:
        for c in collections():
            params: dict = {}
            where = where_clause(c.layer, FeatureQuery(), params)
            out[c.name] = conn.execute(
                text(f"SELECT count(*) FROM {c.source_sql} WHERE {where}"), params
            ).scalar_one()
    assert out["districts"] == 18 and out[tl.NAME] == tl.PUBLIC_COUNT
    return out


@pytest.fixture(scope="module")
def db_geoms(engine, layer) -> dict[int, dict[int, shapely.Geometry]]:
    """The test layer's public geometries by id, in 4326 and 2178 (easting first)."""
    out: dict[int, dict[int, shapely.Geometry]] = {4326: {}, 2178: {}}
    with engine.connect() as conn:
        for srid in out:
            rows = conn.execute(
                text(
                    f"SELECT id, ST_AsBinary(ST_Transform(geom, {srid})) FROM {tl.TABLE} "
                    "WHERE status = 'published' AND geom IS NOT NULL"
                )
            ).all()
            out[srid] = {i: shapely.from_wkb(bytes(w)) for i, w in rows}
    return out


def oapif(server: str) -> str:
    return f"OAPIF:{server}/ogc"


def test_gdal_lists_every_collection(server, db_counts):
    names = [name for name, _ in pyogrio.list_layers(oapif(server))]
    assert names == [c.name for c in collections()]
    assert set(names) == set(db_counts)


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:2178"])
def test_gdal_reads_every_feature_of_every_collection(server, db_counts, db_geoms, crs):
    for name, count in db_counts.items():
        df = pyogrio.read_dataframe(
            oapif(server), layer=name, CRS=crs, PAGE_SIZE="100", fid_as_index=True
        )
        assert len(df) == count, (name, crs)
        assert CRS(df.crs).equals(CRS(crs), ignore_axis_order=True), (name, df.crs)
        assert df.index.is_unique
    # the test layer: every geometry where the database has it, attributes intact
    df = pyogrio.read_dataframe(
        oapif(server), layer=tl.NAME, CRS=crs, PAGE_SIZE="100", fid_as_index=True
    )
    srid = int(crs.split(":")[1])
    tol = 1e-7 if srid == 4326 else 0.001
    for fid, geom in db_geoms[srid].items():
        got = df.loc[fid].geometry
        assert got.geom_type == geom.geom_type and shapely.hausdorff_distance(got, geom) < tol, fid
    assert "author_email" not in df.columns
    wawel = df[df.title == "Wawel — Zamek Królewski"]
    assert len(wawel) == 1 and wawel.iloc[0].description.startswith("Zażółć gęślą jaźń")
    if srid == 2178:  # GDAL hands geometries out easting first, whatever the CRS
        x, y = wawel.iloc[0].geometry.x, wawel.iloc[0].geometry.y
        assert abs(x - tl.WAWEL_2178[0]) < 0.1 and abs(y - tl.WAWEL_2178[1]) < 0.1


def test_gdal_districts_in_2178_match_msip(server):
    df = pyogrio.read_dataframe(oapif(server), layer="districts", CRS="EPSG:2178")
    assert sorted(df.NR_DZIELNI) == sorted(
        [
            "I",
            "II",
            "III",
            "IV",
            "V",
            "VI",
            "VII",
            "VIII",
            "IX",
            "X",
            "XI",
            "XII",
            "XIII",
            "XIV",
            "XV",
            "XVI",
            "XVII",
            "XVIII",
        ]
    )
    assert df.total_bounds[0] > 7_400_000 and df.total_bounds[1] > 5_500_000  # easting, northing


def test_gdal_incremental_sync_with_datetime_is_logged(server, engine):
    df = pyogrio.read_dataframe(
        oapif(server), layer=tl.NAME, CRS="EPSG:2178", DATETIME="2024-01-01T00:00:00Z/.."
    )
    assert len(df) == 5
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT features, crs, client, params->>'datetime' FROM sync_log "
                "WHERE op = 'ogc-items' AND layer = :l ORDER BY id"
            ),
            {"l": tl.NAME},
        ).all()
    assert rows and sum(r[0] for r in rows if r[1] == "EPSG:2178") >= 5
    assert any("GDAL" in r[2] for r in rows), rows
    assert all(r[3] == "2024-01-01T00:00:00Z/.." for r in rows)


# --- OWSLib ---------------------------------------------------------------------------------


def owslib_items(w: Features, cid: str, **params) -> list[dict]:
    """Every feature, following the server's next links (OWSLib does not page by itself)."""
    feats, offset = [], 0
    while True:
        doc = w.collection_items(cid, limit=100, offset=offset, **params)
        feats += doc["features"]
        if not any(link["rel"] == "next" for link in doc["links"]):
            return feats
        offset += 100


def test_owslib_reads_the_same(server, db_counts):
    w = Features(server + "/ogc/")
    conf = w.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    assert w.api()["openapi"].startswith("3.0")
    assert w.feature_collections() == [c.name for c in collections()]
    for cid, count in db_counts.items():
        assert len(owslib_items(w, cid)) == count, cid
        assert len(owslib_items(w, cid, crs=EPSG + "2178")) == count, cid
        assert w.collection(cid)["id"] == cid


def test_owslib_wawel_axis_order(server, layer):
    w = Features(server + "/ogc/")
    f = w.collection_item(tl.NAME, str(layer["wawel"]))
    assert f["geometry"]["coordinates"] == pytest.approx(list(tl.WAWEL), abs=1e-7)
    doc = w.collection_items(tl.NAME, category="kultura", votes=42, crs=EPSG + "2178")
    n, e = doc["features"][0]["geometry"]["coordinates"]
    assert abs(n - tl.WAWEL_2178[1]) < 0.1 and abs(e - tl.WAWEL_2178[0]) < 0.1
    assert w.response_headers["Content-Crs"] == f"<{EPSG}2178>"
    doc = w.collection_items(tl.NAME, category="kultura", votes=42, crs=EPSG + "4326")
    lat, lon = doc["features"][0]["geometry"]["coordinates"]
    assert (lon, lat) == pytest.approx(tl.WAWEL, abs=1e-7)


def test_owslib_sees_ogc_exceptions(server):
    w = Features(server + "/ogc/")
    with pytest.raises(RuntimeError, match="InvalidParameterValue.*limit"):
        w.collection_items(tl.NAME, limit=-1)
