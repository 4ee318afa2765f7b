"""Issue 11: OGC API – Tiles over /ogc collections, read by GDAL (OGCAPI and MVT drivers).

The server runs in a subprocess (GDAL reading from an in-process server deadlocks).
"""

from __future__ import annotations

import math

import pyogrio
import pytest
import requests

from layers import tiles as lt

RYNEK = (19.9373, 50.0617)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_tileset_metadata(subprocess_server):
    base = subprocess_server
    lst = requests.get(f"{base}/ogc/collections/civic-venues/tiles", timeout=30).json()
    assert lst["tilesets"][0]["tileMatrixSetURI"] == (
        "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    )
    doc = requests.get(f"{base}/ogc/collections/civic-venues/tiles/WebMercatorQuad", timeout=30)
    doc = doc.json()
    assert doc["dataType"] == "vector"
    item = [ln for ln in doc["links"] if ln["rel"] == "item"][0]
    assert item["type"] == lt.MEDIA_TYPE and item["templated"] is True
    assert item["href"].endswith(
        "/ogc/collections/civic-venues/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"
    )
    assert [ly["id"] for ly in doc["layers"]] == ["civic-venues", "civic-venues-clusters"]
    lim = {m["tileMatrix"]: m for m in doc["tileMatrixSetLimits"]}
    x, y = tile_of(*RYNEK, 14)
    assert lim["14"]["minTileCol"] <= x <= lim["14"]["maxTileCol"]
    assert lim["14"]["minTileRow"] <= y <= lim["14"]["maxTileRow"]
    tms = requests.get(f"{base}/ogc/tileMatrixSets/WebMercatorQuad", timeout=30).json()
    assert len(tms["tileMatrices"]) == lt.MAX_ZOOM + 1
    assert requests.get(f"{base}/ogc/tileMatrixSets/Nope", timeout=30).status_code == 404
    assert requests.get(f"{base}/ogc/collections/nope/tiles", timeout=30).status_code == 404


def test_ogc_tile_is_the_tile_row_before_column(subprocess_server):
    base = subprocess_server
    z = 13
    x, y = tile_of(*RYNEK, z)
    ogc = requests.get(
        f"{base}/ogc/collections/civic-venues/tiles/WebMercatorQuad/{z}/{y}/{x}", timeout=30
    )
    plain = requests.get(f"{base}/tiles/civic-venues/{z}/{x}/{y}.mvt", timeout=30)
    assert ogc.status_code == plain.status_code == 200
    assert ogc.content == plain.content and ogc.headers["ETag"] == plain.headers["ETag"]
    r = requests.get(
        f"{base}/ogc/collections/civic-venues/tiles/WebMercatorQuad/{z}/{2**z}/{x}", timeout=30
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "y"
    r = requests.get(
        f"{base}/ogc/collections/civic-venues/tiles/WebMercatorQuad/{z}/{y}/{x}?colour=red",
        timeout=30,
    )
    assert r.status_code == 400


def test_districts_tiles_carry_msip_names(subprocess_server, tmp_path):
    base = subprocess_server
    z = 11
    x, y = tile_of(*RYNEK, z)
    r = requests.get(
        f"{base}/ogc/collections/districts/tiles/WebMercatorQuad/{z}/{y}/{x}", timeout=30
    )
    assert r.status_code == 200
    d = tmp_path / str(z) / str(x)
    d.mkdir(parents=True)
    (d / f"{y}.pbf").write_bytes(r.content)
    df = pyogrio.read_dataframe(str(d / f"{y}.pbf"), layer="districts")
    assert "NAZWA" in df.columns and "Stare Miasto" in set(df["NAZWA"])


def test_gdal_ogcapi_driver_reads_the_tiles(subprocess_server):
    """GDAL finds the tileset from the collection document, reads the tile matrix set and the
    tiles; at zoom 0 the one tile's clusters hold every public venue exactly once.

    Known gap (GDAL 3.12.4): the driver offers only "Zoom level 0".."2" for this tileset, so a
    z14 read through OGCAPI is not tested here; GDAL's MVT driver reads z14 tiles in
    tests/test_tiles.py."""
    base = subprocess_server
    url = f"OGCAPI:{base}/ogc/collections/civic-venues"
    names = [n for n, _ in pyogrio.list_layers(url)]
    assert "Zoom level 0" in names
    df = pyogrio.read_dataframe(url, layer="Zoom level 0")
    assert "count" in df.columns and len(df) >= 1
    every = requests.get(
        f"{base}/api/layers/civic-venues/features", params={"limit": 5000}, timeout=30
    ).json()
    assert "next" not in every
    assert int(df["count"].sum()) == every["numberReturned"] > 100


@pytest.mark.parametrize("path", ["/ogc/collections/civic-venues/tiles/WebMercatorQuad/99/0/0"])
def test_ogc_bad_zoom(subprocess_server, path):
    r = requests.get(subprocess_server + path, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["field"] == "z"
