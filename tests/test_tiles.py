"""Issue 11: vector tiles of every layer (/tiles/<layer>/{z}/{x}/{y}.mvt), decoded by GDAL.

Real PostGIS with the shipped data; the tiles are decoded by GDAL's MVT driver (pyogrio) and
compared with what /api/layers/<layer>/features returns for the same box and filters.
"""

from __future__ import annotations

import gzip
import math
import tempfile
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import text

from layers import registry
from layers import tiles as lt

WAWEL = (19.9355, 50.0540)
RYNEK = (19.9373, 50.0617)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def lonlat(z: int, x: int, y: int) -> tuple[float, float]:
    """The north-west corner of a tile."""
    n = 2**z
    return x / n * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))


def bbox_of(z: int, x0: int, y0: int, x1: int, y1: int) -> str:
    """lon/lat box of the tiles x0..x1, y0..y1 (inclusive)."""
    w, n = lonlat(z, x0, y0)
    e, s = lonlat(z, x1 + 1, y1 + 1)
    return f"{w!r},{s!r},{e!r},{n!r}"


def decode(data: bytes, z: int, x: int, y: int) -> dict[str, list[dict]]:
    """Every MVT layer of a tile as a list of attribute dicts (GDAL's MVT driver)."""
    if not data:
        return {}
    d = Path(tempfile.mkdtemp(prefix="tile-")) / str(z) / str(x)
    d.mkdir(parents=True)
    path = d / f"{y}.pbf"
    path.write_bytes(data)
    out = {}
    for name, _ in pyogrio.list_layers(str(path)):
        df = pyogrio.read_dataframe(str(path), layer=name)
        out[name] = df.to_dict("records")
    return out


def get_tile(client, layer: str, z: int, x: int, y: int, query: str = "", **kw):
    url = f"/tiles/{layer}/{z}/{x}/{y}.mvt" + (f"?{query}" if query else "")
    return client.get(url, **kw)


def api_features(client, layer: str, bbox: str, query: str = "") -> dict:
    r = client.get(
        f"/api/layers/{layer}/features?bbox={bbox}&limit=5000" + (f"&{query}" if query else "")
    )
    assert r.status_code == 200, r.get_json()
    doc = r.get_json()
    assert "next" not in doc, "the box holds more than one page: pick a smaller one"
    return doc


SEED = """
INSERT INTO budget_proposals (geom, edition, title, scope, status, category)
SELECT ST_SetSRID(ST_MakePoint(19.90 + 0.08 * random(), 50.03 + 0.06 * random()), 4326),
       2022 + (i % 4), 'Projekt ' || i || CASE WHEN i % 7 = 0 THEN ' zieleń' ELSE '' END,
       'district', (ARRAY['submitted', 'under_review', 'selected', 'rejected', 'draft'])[1 + i % 5],
       (ARRAY['culture', 'sport', 'urban greenery'])[1 + i % 3]
FROM generate_series(1, 900) i;
INSERT INTO budget_proposals (geom, edition, title, scope, status)
VALUES (ST_GeomFromText('LINESTRING(19.930 50.060, 19.945 50.064)', 4326), 2025,
        'Ścieżka rowerowa', 'district', 'submitted'),
       (ST_GeomFromText('POLYGON((19.935 50.055, 19.940 50.055, 19.940 50.058, 19.935 50.058,
                                  19.935 50.055))', 4326), 2025, 'Skwer', 'district', 'selected');
UPDATE budget_proposals SET hidden_at = now() WHERE title LIKE 'Projekt 1_';
"""


@pytest.fixture(scope="module")
def proposals(engine) -> int:
    """The shipped proposals have no geometry (pabulib): ~900 synthetic ones in the centre."""
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.11)"))
        for stmt in SEED.split(";"):
            if stmt.strip():
                conn.execute(text(stmt))
        return conn.execute(
            text("SELECT count(*) FROM budget_proposals WHERE geom IS NOT NULL")
        ).scalar_one()


def test_every_layer_has_tiles(client, proposals):
    x, y = tile_of(*RYNEK, 11)
    for layer in registry.all_layers():
        if not layer.is_public:
            continue
        r = get_tile(client, layer.name, 11, x, y)
        assert r.status_code in (200, 204), (layer.name, r.status_code, r.data[:200])
        assert r.mimetype == lt.MEDIA_TYPE
        assert r.headers["ETag"].startswith('"')
        assert "no-cache" in r.headers["Cache-Control"]
        if r.status_code == 200:
            names = set(decode(r.data, 11, x, y))
            assert names <= {layer.name, f"{layer.name}-clusters"}, names
    index = client.get("/tiles").get_json()
    assert {ly["name"] for ly in index["layers"]} == {
        ly.name for ly in registry.all_layers() if ly.is_public
    }


def test_feature_tile_matches_the_api(client, proposals):
    assert proposals > 50, "the shipped data has proposals"
    z = 14
    x, y = tile_of(*RYNEK, z)
    r = get_tile(client, "budget-proposals", z, x, y)
    assert r.status_code == 200
    layers = decode(r.data, z, x, y)
    assert set(layers) == {"budget-proposals"}  # z14: features, no clusters
    tile_rows = {row["id"]: row for row in layers["budget-proposals"]}
    api = api_features(client, "budget-proposals", bbox_of(z, x, y, x, y))
    api_rows = {f["id"]: f["properties"] for f in api["features"]}
    assert len(api_rows) > 0
    assert set(tile_rows) == set(api_rows)
    public = {f.name for f in lt.tile_fields(registry.get("budget-proposals"))}
    assert "author_id" not in public and "description" not in public
    for fid, row in tile_rows.items():
        props = api_rows[fid]
        assert "author_id" not in row and "description" not in row
        assert set(row) - {"mvt_id", "geometry", "id", "districts"} <= public
        assert row["title"] == props["title"]
        assert row["status"] == props["status"]
        assert row["edition"] == props["edition"]
        assert row["districts"] == ",".join(str(d) for d in props["districts"])


def test_filters_are_the_apis(client, proposals):
    z = 14
    x, y = tile_of(*RYNEK, z)
    api = api_features(client, "budget-proposals", bbox_of(z, x, y, x, y))
    editions = sorted({f["properties"]["edition"] for f in api["features"]})
    edition = editions[-1]
    r = get_tile(client, "budget-proposals", z, x, y, f"edition={edition}")
    ids = {row["id"] for row in decode(r.data, z, x, y).get("budget-proposals", [])}
    want = api_features(client, "budget-proposals", bbox_of(z, x, y, x, y), f"edition={edition}")
    assert ids == {f["id"] for f in want["features"]}
    assert 0 < len(ids) <= len(api["features"])
    word = "zieleń"
    r = get_tile(client, "budget-proposals", z, x, y, f"q={word}")
    ids = {row["id"] for row in decode(r.data, z, x, y).get("budget-proposals", [])}
    want = api_features(client, "budget-proposals", bbox_of(z, x, y, x, y), f"q={word}")
    assert ids == {f["id"] for f in want["features"]} and ids


@pytest.mark.parametrize(
    "path, status, field",
    [
        ("/tiles/no-such-layer/10/0/0.mvt", 404, "layer"),
        ("/tiles/budget-proposals/23/0/0.mvt", 400, "z"),
        ("/tiles/budget-proposals/a/0/0.mvt", 400, "z"),
        ("/tiles/budget-proposals/10/1024/0.mvt", 400, "x"),
        ("/tiles/budget-proposals/10/0/-1.mvt", 400, "y"),
        ("/tiles/budget-proposals/10/0/1e3.mvt", 400, "y"),
        ("/tiles/budget-proposals/10/0/0.mvt?status=draft", 400, "status"),
        ("/tiles/budget-proposals/10/0/0.mvt?edition=abc", 400, "edition"),
        ("/tiles/budget-proposals/10/0/0.mvt?district=0", 400, "district"),
        ("/tiles/budget-proposals/10/0/0.mvt?colour=red", 400, "colour"),
        ("/tiles/budget-proposals/10/0/0.mvt?bbox=1,2,3,4", 400, "bbox"),
        ("/tiles/budget-proposals/10/0/0.mvt?limit=10", 400, "limit"),
        ("/tiles/ngos/10/0/0.mvt?edition=2020", 400, "edition"),
    ],
)
def test_bad_input_names_the_parameter(client, path, status, field):
    r = client.get(path)
    assert r.status_code == status, r.data[:300]
    assert r.get_json()["error"]["field"] == field


def test_empty_tile(client):
    r = get_tile(client, "budget-proposals", 10, 0, 0)  # the Pacific
    assert r.status_code == 204 and r.data == b""
    assert r.headers["ETag"]


def test_etag_and_304_plain_and_gzip(client, proposals):
    z = 12
    x, y = tile_of(*RYNEK, z)
    first = get_tile(client, "budget-proposals", z, x, y)
    assert first.status_code == 200 and first.headers["X-Tile-Cache"] in ("miss", "hit")
    again = get_tile(client, "budget-proposals", z, x, y)
    assert again.headers["X-Tile-Cache"] == "hit"
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    etag = first.headers["ETag"]
    r = get_tile(client, "budget-proposals", z, x, y, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.data == b"" and r.headers["ETag"] == etag
    gz = get_tile(client, "budget-proposals", z, x, y, headers={"Accept-Encoding": "gzip"})
    if gz.headers.get("Content-Encoding") == "gzip":
        assert gzip.decompress(gz.data) == first.data
    r = get_tile(
        client,
        "budget-proposals",
        z,
        x,
        y,
        headers={"If-None-Match": gz.headers["ETag"], "Accept-Encoding": "gzip"},
    )
    assert r.status_code == 304 and r.headers["ETag"] == gz.headers["ETag"]
    # another filter is another tile: another ETag
    other = get_tile(client, "budget-proposals", z, x, y, "status=submitted")
    assert other.headers["ETag"] != etag
    r = get_tile(
        client, "budget-proposals", z, x, y, "status=submitted", headers={"If-None-Match": etag}
    )
    assert r.status_code in (200, 204)


def test_a_write_shows_on_the_next_tile(client, engine, proposals):
    z = 15
    lon, lat = 19.9481, 50.0642  # between Rynek and the station
    x, y = tile_of(lon, lat, z)
    before = get_tile(client, "budget-proposals", z, x, y)
    assert get_tile(client, "budget-proposals", z, x, y).headers["X-Tile-Cache"] == "hit"
    with engine.begin() as conn:
        new_id = conn.execute(
            text(
                """INSERT INTO budget_proposals (geom, edition, title, scope, status)
                   VALUES (ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 2026,
                           'Ławka przy kafejce (test kafla)', 'district', 'submitted')
                   RETURNING id"""
            ),
            {"lon": lon, "lat": lat},
        ).scalar_one()
    after = get_tile(
        client, "budget-proposals", z, x, y, headers={"If-None-Match": before.headers["ETag"]}
    )
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.headers["X-Tile-Cache"] == "miss"
    rows = decode(after.data, z, x, y)["budget-proposals"]
    mine = [r for r in rows if r["id"] == new_id]
    assert mine and mine[0]["title"] == "Ławka przy kafejce (test kafla)"
    # a draft is not public: hiding the row again (an UPDATE) is a new version too
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE budget_proposals SET status = 'draft' WHERE id = :i"), {"i": new_id}
        )
    gone = get_tile(client, "budget-proposals", z, x, y)
    ids = {r["id"] for r in decode(gone.data, z, x, y).get("budget-proposals", [])}
    assert new_id not in ids and gone.headers["ETag"] != after.headers["ETag"]


def cluster_total(
    client, layer: str, z: int, x0: int, y0: int, x1: int, y1: int, query: str = "", by: str = ""
):
    """Sum of the cluster counts and the distinct other features over a block of tiles."""
    total, others, by_sum = 0, set(), 0
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            r = get_tile(client, layer, z, x, y, query)
            assert r.status_code in (200, 204)
            layers = decode(r.data, z, x, y)
            assert set(layers) <= {layer, f"{layer}-clusters"}
            for c in layers.get(f"{layer}-clusters", []):
                assert c["count"] >= 1
                total += c["count"]
                by_sum += sum(v for k, v in c.items() if by and k.startswith(by + ":"))
                if c["count"] == 1:
                    assert c["id"] > 0
            for f in layers.get(layer, []):
                others.add(f["id"])
    return total, others, by_sum


@pytest.mark.parametrize("query", ["", "status=submitted", "district=1", "q=zieleń"])
def test_clusters_add_up_to_the_list(client, proposals, query):
    z = 12
    x, y = tile_of(*RYNEK, z)
    x0, y0, x1, y1 = x - 1, y - 1, x + 1, y + 1
    total, others, by_sum = cluster_total(
        client, "budget-proposals", z, x0, y0, x1, y1, query, by="status"
    )
    api = api_features(client, "budget-proposals", bbox_of(z, x0, y0, x1, y1), query)
    assert total + len(others) == api["numberReturned"]
    assert by_sum == total  # every clustered point has one status
    if not query:
        assert total > 500 and len(others) == 2  # the line and the polygon are features


@pytest.mark.parametrize("z", [11, 13])
def test_clusters_of_the_shipped_venues_add_up(client, z):
    """civic-venues ship with the app (828 points): every one is in exactly one cell."""
    x, y = tile_of(*RYNEK, z)
    x0, y0, x1, y1 = x - 2, y - 2, x + 1, y + 1
    total, others, _ = cluster_total(client, "civic-venues", z, x0, y0, x1, y1)
    api = api_features(client, "civic-venues", bbox_of(z, x0, y0, x1, y1))
    assert total == api["numberReturned"] > 20 and not others


def test_cluster_cells_stay_in_their_tile(client, proposals):
    z = 13
    x, y = tile_of(*RYNEK, z)
    r = get_tile(client, "budget-proposals", z, x, y)
    rows = decode(r.data, z, x, y)["budget-proposals-clusters"]
    xmin, ymin, xmax, ymax = lt.tile_bounds(z, x, y)
    for c in rows:
        px, py = c["geometry"].x, c["geometry"].y
        assert xmin - 1 <= px <= xmax + 1 and ymin - 1 <= py <= ymax + 1
    assert len(rows) <= lt.GRID * lt.GRID


def test_the_tile_statement_uses_the_index(engine, proposals):
    from layers import query as lq

    layer = registry.get("budget-proposals")
    for z in (12, 14):
        x, y = tile_of(*RYNEK, z)
        params: dict = {}
        sql = lt.tile_sql(layer, lq.FeatureQuery(), z, x, y, params)
        with engine.begin() as conn:
            lq.serial(conn)
            plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql), params))
        assert "budget_proposals_geom_gist" in plan, plan
        assert "Gather" not in plan and "Seq Scan on budget_proposals" not in plan, plan


def test_tilejson(client):
    doc = client.get("/tiles/budget-proposals.json?status=selected").get_json()
    assert doc["tiles"][0].endswith("/tiles/budget-proposals/{z}/{x}/{y}.mvt?status=selected")
    ids = [v["id"] for v in doc["vector_layers"]]
    assert ids == ["budget-proposals", "budget-proposals-clusters"]
    assert "author_id" not in doc["vector_layers"][0]["fields"]
    assert "status:selected" in doc["vector_layers"][1]["fields"]
    assert client.get("/tiles/budget-proposals.json?status=draft").status_code == 400
