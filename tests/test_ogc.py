"""OGC API – Features at /ogc, in process: Part 1 Core/GeoJSON/HTML/OpenAPI and Part 2 CRS.

Real GIS clients (GDAL, OWSLib) against a server in a subprocess are in test_ogc_clients.py.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import test_ogc_testlayer as tl
from pyproj import CRS, Transformer
from sqlalchemy import text

from geo.crs import NORTHING_FIRST
from layers import registry
from layers.collections import collections
from layers.query import DEFAULT_LIMIT, MAX_LIMIT

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
ITEMS = f"/ogc/collections/{tl.NAME}/items"


@pytest.fixture(scope="module", autouse=True)
def layer(engine):
    with tl.installed(engine) as ids:
        yield ids


def get_json(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.get_data(as_text=True)[:500])
    return r, json.loads(r.get_data(as_text=True))


def all_items(client, url):
    """Follow next links to the end; return features and the number of requests."""
    feats, n = [], 0
    while url:
        r, doc = get_json(client, url)
        n += 1
        feats += doc["features"]
        nxt = [link["href"] for link in doc["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://localhost", "") if nxt else None
    return feats, n


def wawel(client, crs: str | None = None) -> list[float]:
    url = f"{ITEMS}?category=kultura&votes=42" + (f"&crs={crs}" if crs else "")
    r, doc = get_json(client, url)
    assert [f["properties"]["title"] for f in doc["features"]] == ["Wawel — Zamek Królewski"]
    return doc["features"][0]["geometry"]["coordinates"]


# --- landing page, conformance, collections --------------------------------------------------


def test_landing_page_links(client):
    r, doc = get_json(client, "/ogc")
    rels = {(link["rel"], link["type"]) for link in doc["links"]}
    assert ("service-desc", "application/vnd.oai.openapi+json;version=3.0") in rels
    assert ("service-doc", "text/html") in rels
    assert ("conformance", "application/json") in rels
    assert ("data", "application/json") in rels
    assert ("self", "application/json") in rels and ("alternate", "text/html") in rels
    assert r.mimetype == "application/json"


def test_html_by_accept_header_and_by_f(client):
    r = client.get("/ogc", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert b'<html lang="pl">' in r.data
    r = client.get("/ogc/collections", headers={"Accept": "application/json"})
    assert r.mimetype == "application/json"
    assert client.get("/ogc/collections?f=html").mimetype == "text/html"
    r, doc = get_json(client, "/ogc?f=xml", 400)
    assert doc["parameter"] == "f"


def test_conformance_classes(client):
    _, doc = get_json(client, "/ogc/conformance")
    base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    for c in ("core", "oas30", "html", "geojson"):
        assert base + c in doc["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in doc["conformsTo"]


def test_every_public_layer_and_the_districts_are_collections(client):
    _, doc = get_json(client, "/ogc/collections")
    ids = [c["id"] for c in doc["collections"]]
    expected = ["districts"] + [lay.name for lay in registry.all_layers() if lay.is_public]
    assert ids == expected
    assert tl.NAME in ids
    for c in doc["collections"]:
        assert c["itemType"] == "feature"
        assert set(c["crs"]) == {CRS84} | {EPSG + s for s in ("4326", "2180", "2178", "3857")}
        assert c["storageCrs"] == CRS84
        w, s, e, n = c["extent"]["spatial"]["bbox"][0]
        assert 19.7 < w < e < 20.3 and 49.9 < s < n < 50.2  # Kraków
        assert {link["rel"] for link in c["links"]} >= {"self", "alternate", "items"}
        _, one = get_json(client, f"/ogc/collections/{c['id']}")
        assert one["id"] == c["id"]
    assert set(doc["crs"]) >= {CRS84, EPSG + "2178"}


def test_temporal_extent_is_updated_at(client):
    _, doc = get_json(client, f"/ogc/collections/{tl.NAME}")
    lo, hi = doc["extent"]["temporal"]["interval"][0]
    assert lo == "2023-01-01T01:00:00Z" and hi == "2025-02-01T00:00:00Z"  # the draft is hidden


def test_unknown_collection_and_feature_are_404(client):
    _, doc = get_json(client, "/ogc/collections/nope", 404)
    assert doc["code"] == "NotFound"
    get_json(client, "/ogc/collections/nope/items", 404)
    get_json(client, f"{ITEMS}/999999", 404)
    get_json(client, f"{ITEMS}/abc", 404)


# --- items: paging, limit, the public view ---------------------------------------------------


def test_default_limit_and_next_links_reach_every_public_feature(client, engine):
    r, doc = get_json(client, ITEMS)
    assert r.mimetype == "application/geo+json"
    assert doc["numberReturned"] == len(doc["features"]) == DEFAULT_LIMIT
    assert "numberMatched" not in doc  # no whole-table count per request
    feats, requests = all_items(client, ITEMS + "?limit=100")
    assert requests == 3  # 255 features: 100 + 100 + 55
    ids = [f["id"] for f in feats]
    assert len(ids) == len(set(ids)) == tl.PUBLIC_COUNT
    with engine.connect() as conn:
        public = conn.execute(
            text(f"SELECT array_agg(id ORDER BY id) FROM {tl.TABLE} WHERE status = 'published'")
        ).scalar_one()
    assert sorted(ids) == public


def test_limit_up_to_the_maximum_and_above_it_refused_as_documented(client):
    _, doc = get_json(client, f"{ITEMS}?limit={MAX_LIMIT}")
    assert doc["numberReturned"] == tl.PUBLIC_COUNT  # all fit under the maximum
    assert not [link for link in doc["links"] if link["rel"] == "next"]
    # issue 14 #9: the OpenAPI document says maximum 5000; 5001 used to be served (capped)
    for limit in (MAX_LIMIT + 1, MAX_LIMIT * 10, 10**30):
        _, err = get_json(client, f"{ITEMS}?limit={limit}", 400)
        assert err["parameter"] == "limit"


def test_next_and_prev_links_keep_the_query(client):
    _, doc = get_json(client, f"{ITEMS}?limit=10&offset=20&crs={EPSG}2178&category=zieleń")
    links = {link["rel"]: link["href"] for link in doc["links"]}
    q = parse_qs(urlsplit(links["next"]).query)
    assert q["offset"] == ["30"] and q["limit"] == ["10"] and q["crs"] == [EPSG + "2178"]
    assert q["category"] == ["zieleń"]
    assert parse_qs(urlsplit(links["prev"]).query)["offset"] == ["10"]


def test_private_fields_and_drafts_never_appear(client, layer):
    urls = [
        ITEMS + "?limit=5000",
        ITEMS + "?limit=5000&f=html",
        f"{ITEMS}/{layer['wawel']}",
        f"{ITEMS}/{layer['wawel']}?f=html",
        f"/ogc/collections/{tl.NAME}",
        "/ogc/collections",
        "/ogc/api",
    ]
    for url in urls:
        body = client.get(url).get_data(as_text=True)
        assert tl.SECRET not in body and "author_email" not in body, url
        assert "Szkic — nie publikować" not in body, url
    get_json(client, f"{ITEMS}/{layer['draft']}", 404)
    _, feat = get_json(client, f"{ITEMS}/{layer['wawel']}")
    assert set(feat["properties"]) == {f.name for f in tl.LAYER.public_fields} | {
        "districts",
        "updated_at",
    }


def test_single_feature(client, layer):
    r, feat = get_json(client, f"{ITEMS}/{layer['bulwary']}")
    assert r.mimetype == "application/geo+json"
    assert feat["type"] == "Feature" and feat["id"] == layer["bulwary"]
    assert feat["geometry"]["type"] == "LineString"
    assert set(feat["properties"]["districts"]) >= {1, 13}
    assert {link["rel"] for link in feat["links"]} >= {"self", "alternate", "collection"}
    _, nogeom = get_json(client, f"{ITEMS}/{layer['debniki']}")
    assert nogeom["geometry"] is None and nogeom["properties"]["districts"] == [8]


# --- Part 2: CRS and axis order --------------------------------------------------------------


def test_wawel_in_epsg2178_is_northing_first(client):
    n, e = wawel(client, EPSG + "2178")
    assert abs(n - tl.WAWEL_2178[1]) < 0.1 and abs(e - tl.WAWEL_2178[0]) < 0.1
    expect = Transformer.from_crs(4326, 2178, always_xy=True).transform(*tl.WAWEL)
    assert abs(e - expect[0]) < 0.01 and abs(n - expect[1]) < 0.01


@pytest.mark.parametrize(
    "crs,code", [(None, 0), (CRS84, 0), (EPSG + "4326", 4326), (EPSG + "2180", 2180),
                 (EPSG + "2178", 2178), (EPSG + "3857", 3857), ("EPSG:2178", 2178)]
)  # fmt: skip
def test_axis_order_and_content_crs_for_every_crs(client, crs, code):
    url = f"{ITEMS}?category=kultura&votes=42" + (f"&crs={crs}" if crs else "")
    r = client.get(url)
    assert r.status_code == 200
    want_uri = CRS84 if code == 0 else f"{EPSG}{code}"
    assert r.headers["Content-Crs"] == f"<{want_uri}>"
    a, b = json.loads(r.data)["features"][0]["geometry"]["coordinates"]
    srid = 4326 if code == 0 else code
    x, y = Transformer.from_crs(4326, srid, always_xy=True).transform(*tl.WAWEL)
    first_is_northing = code != 0 and code in NORTHING_FIRST
    # the axis order we publish is the one the EPSG registry (through PROJ) defines
    if code:
        assert first_is_northing == (CRS.from_epsg(code).axis_info[0].direction == "north")
    got = (b, a) if first_is_northing else (a, b)
    tol = 1e-7 if srid == 4326 else 0.01
    assert abs(got[0] - x) < tol and abs(got[1] - y) < tol, (crs, a, b)


def test_single_feature_honours_crs(client, layer):
    r, feat = get_json(client, f"{ITEMS}/{layer['wawel']}?crs={EPSG}2180")
    assert r.headers["Content-Crs"] == f"<{EPSG}2180>"
    x, y = Transformer.from_crs(4326, 2180, always_xy=True).transform(*tl.WAWEL)
    n, e = feat["geometry"]["coordinates"]
    assert abs(n - y) < 0.01 and abs(e - x) < 0.01


@pytest.mark.parametrize(
    "bbox_crs", [None, CRS84, EPSG + "4326", EPSG + "2178", EPSG + "2180", EPSG + "3857"]
)
def test_bbox_in_every_crs_and_axis_order(client, bbox_crs):
    lon, lat = tl.WAWEL
    w, s, e, n = lon - 0.0005, lat - 0.0003, lon + 0.0005, lat + 0.0003
    if bbox_crs in (None, CRS84):
        box = (w, s, e, n)
    else:
        srid = int(bbox_crs.rsplit("/", 1)[1])
        t = Transformer.from_crs(4326, srid, always_xy=True)
        (x1, y1), (x2, y2) = t.transform(w, s), t.transform(e, n)
        box = (y1, x1, y2, x2) if srid in NORTHING_FIRST else (x1, y1, x2, y2)
    url = f"{ITEMS}?bbox={','.join(map(str, box))}" + (f"&bbox-crs={bbox_crs}" if bbox_crs else "")
    _, doc = get_json(client, url)
    titles = [f["properties"]["title"] for f in doc["features"]]
    assert "Wawel — Zamek Królewski" in titles, (bbox_crs, titles)
    assert "Skwer przy Placu Centralnym — łąka" not in titles


def test_bbox_with_the_wrong_axis_order_finds_nothing(client):
    lon, lat = tl.WAWEL
    # lon/lat order given for EPSG:4326, which is lat/lon: a point in Somalia, not Kraków
    _, doc = get_json(
        client,
        f"{ITEMS}?bbox={lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}&bbox-crs={EPSG}4326",
    )
    assert doc["features"] == []


# --- datetime, property filters --------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2024-01-01T00:00:00Z/..", {"wawel", "bulwary", "nowa-huta", "duchackie", "debniki"}),
        ("2024-01-01T00:00:00Z/", {"wawel", "bulwary", "nowa-huta", "duchackie", "debniki"}),
        ("2024-06-01T00:00:00Z", {"nowa-huta"}),
        ("2024-03-01", {"bulwary"}),
        ("2024-03-01/2024-12-31", {"bulwary", "nowa-huta"}),
        ("2024-05-01T00:00:00+02:00/2024-06-01T02:00:00+02:00", {"nowa-huta"}),
        ("../2023-01-01T05:00:00Z", {f"gen-{n}" for n in range(1, 6)}),
    ],
)
def test_datetime_filters_on_updated_at(client, layer, value, expected):
    by_id = {v: k for k, v in layer.items()}
    feats, _ = all_items(client, f"{ITEMS}?datetime={value.replace('+', '%2B')}")
    assert {by_id[f["id"]] for f in feats} == expected


def test_datetime_pull_is_in_the_sync_log_and_others_are_not(client, engine):
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM sync_log")).scalar_one()
    get_json(client, ITEMS + "?limit=3")
    get_json(client, ITEMS + "?datetime=2024-01-01T00:00:00Z/..&crs=" + EPSG + "2178")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT layer, op, format, crs, features, params FROM sync_log ORDER BY id")
        ).all()
    assert len(rows) == before + 1
    layer, op, fmt, crs, features, params = rows[-1]
    assert (layer, op, fmt, crs, features) == (tl.NAME, "ogc-items", "geojson", "EPSG:2178", 5)
    assert params["datetime"] == "2024-01-01T00:00:00Z/.."


@pytest.mark.parametrize(
    "query,count",
    [("category=kultura", 1 + 83), ("votes=42", 2), ("accepted=true", 1), ("accepted=false", 1),
     ("status=published", tl.PUBLIC_COUNT), ("status=draft", 0), ("district=18", None),
     ("category=zieleń&district=13", None)],
)  # fmt: skip
def test_property_filters(client, engine, query, count):
    feats, _ = all_items(client, f"{ITEMS}?{query}&limit=5000")
    if count is None:  # compare with the database
        params = dict(p.split("=") for p in query.split("&"))
        where = ["status = 'published'", f"{params['district']} = ANY(districts)"]
        if "category" in params:
            where.append(f"category = '{params['category']}'")
        with engine.connect() as conn:
            count = conn.execute(
                text(f"SELECT count(*) FROM {tl.TABLE} WHERE {' AND '.join(where)}")
            ).scalar_one()
        assert count > 0
    assert len(feats) == count, query


def test_category_counts_match_the_generated_data(engine):
    with engine.connect() as conn:
        n = conn.execute(
            text(
                f"SELECT count(*) FROM {tl.TABLE} WHERE category = 'kultura' AND status = 'published'"
            )
        ).scalar_one()
    assert n == 1 + 83  # Wawel + every third generated point


# --- bad requests: 400 with an OGC exception naming the parameter ------------------------------


@pytest.mark.parametrize(
    "query,param",
    [
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=20,50,19,51", "bbox"),
        ("bbox=19,50,20,51&bbox-crs=EPSG:9999", "bbox-crs"),
        ("bbox-crs=", "bbox-crs"),
        ("crs=", "crs"),
        ("limit=5001", "limit"),
        ("district=0", "district"),
        ("votes=99999999999", "votes"),
        # issue 14 #5: outside the CRS's area of use (PostGIS: "Point outside of projection
        # domain", a 500)
        ("bbox=0,0,1e300,1e300&bbox-crs=EPSG:2180", "bbox"),
        ("bbox=0,0,1e300,1e300&bbox-crs=EPSG:2178", "bbox"),
        (f"bbox=-1e300,-1e300,1e300,1e300&bbox-crs={EPSG}3857", "bbox"),
        ("bbox=5000000,7000000,5000100,7000100&bbox-crs=EPSG:2180", "bbox"),
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("offset=-5", "offset"),
        ("crs=EPSG:9999", "crs"),
        ("crs=http://www.opengis.net/def/crs/EPSG/0/9999", "crs"),
        ("datetime=yesterday", "datetime"),
        ("datetime=2024-13-45", "datetime"),
        ("datetime=../..", "datetime"),
        ("datetime=2025-01-01/2024-01-01", "datetime"),
        ("votes=many", "votes"),
        ("accepted=perhaps", "accepted"),
        ("category=sport", "category"),
        ("district=x", "district"),
        ("colour=red", "colour"),
    ],
)
def test_bad_requests_are_400_with_ogc_exception(client, query, param):
    r = client.get(f"{ITEMS}?{query}")
    assert r.status_code == 400, (query, r.data[:300])
    assert r.mimetype == "application/json"
    doc = json.loads(r.data)
    assert doc["code"] == "InvalidParameterValue"
    assert doc["parameter"] == param and param in doc["description"]
    assert doc["status"] == 400


def test_bad_crs_on_single_feature_is_400(client, layer):
    _, doc = get_json(client, f"{ITEMS}/{layer['wawel']}?crs=EPSG:9999", 400)
    assert doc["parameter"] == "crs"


# --- districts with MSIP's field names ----------------------------------------------------------


def test_districts_collection_has_msip_fields(client):
    feats, _ = all_items(client, "/ogc/collections/districts/items")
    assert len(feats) == 18
    first = feats[0]["properties"]
    assert first == {
        "ID_DZIELNI": 1,
        "NR_DZIELNI": "I",
        "NAZWA": "Stare Miasto",
        "NAZWA_PELN": "Dzielnica I Stare Miasto",
    }
    assert feats[-1]["properties"]["NR_DZIELNI"] == "XVIII"
    _, doc = get_json(client, "/ogc/collections/districts/items?NAZWA=Dębniki")
    assert [f["id"] for f in doc["features"]] == [8]
    _, doc = get_json(client, "/ogc/collections/districts/items?NR_DZIELNI=XIII")
    assert [f["properties"]["NAZWA"] for f in doc["features"]] == ["Podgórze"]
    # Wawel lies in district I
    lon, lat = tl.WAWEL
    _, doc = get_json(client, f"/ogc/collections/districts/items?bbox={lon},{lat},{lon},{lat}")
    assert [f["id"] for f in doc["features"]] == [1]


def test_district_area_in_2178_matches_msip(client):
    """District I in EPSG:2178 (northing first) has MSIP's Shape__Area within 0.1 %."""
    from pathlib import Path

    from shapely.geometry import shape

    _, feat = get_json(client, f"/ogc/collections/districts/items/1?crs={EPSG}2178")
    g = feat["geometry"]
    swapped = {
        "type": g["type"],
        "coordinates": [
            [[[p[1], p[0]] for p in ring] for ring in poly] for poly in g["coordinates"]
        ],
    }
    area = shape(swapped).area
    src = json.loads(
        (Path(__file__).resolve().parents[1] / "data/krakow/districts-msip.esri.json").read_text()
    )
    want = next(
        f["attributes"]["Shape__Area"]
        for f in src["features"]
        if f["attributes"]["ID_DZIELNI"] == 1
    )
    assert abs(area - want) / want < 0.001


# --- OpenAPI ------------------------------------------------------------------------------------


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_openapi_document(client):
    r, doc = get_json(client, "/ogc/api")
    assert r.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert doc["openapi"].startswith("3.0.")
    for c in collections():
        assert f"/collections/{c.name}/items" in doc["paths"]
        assert f"/collections/{c.name}/items/{{featureId}}" in doc["paths"]
    limit = doc["components"]["parameters"]["limit"]["schema"]
    assert limit["maximum"] == MAX_LIMIT and limit["default"] == DEFAULT_LIMIT
    for ref in _refs(doc):  # every internal reference resolves
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    ops = [op["operationId"] for p in doc["paths"].values() for op in p.values()]
    assert len(ops) == len(set(ops))
    items_params = doc["paths"][f"/collections/{tl.NAME}/items"]["get"]["parameters"]
    names = {p.get("name") or p["$ref"].rsplit("/", 1)[1] for p in items_params}
    assert names >= {"bbox", "bbox-crs", "crs", "limit", "datetime", "category", "votes"}
    assert "author_email" not in json.dumps(doc)


def test_openapi_tells_the_truth(client, layer):
    """Issue 14 #9: what the document allows is served, what it forbids is refused."""
    _, doc = get_json(client, "/ogc/api")
    item = doc["paths"][f"/collections/{tl.NAME}/items/{{featureId}}"]["get"]
    feature = item["responses"]["200"]["content"]["application/geo+json"]["schema"]
    props = feature["properties"]["properties"]["properties"]
    assert props["description"]["nullable"] is True  # the database may hold NULL there
    assert props["category"]["nullable"] is True and None in props["category"]["enum"]
    assert "nullable" not in props["title"]  # required
    # the features really do carry nulls where the document says they may
    _, fc = get_json(client, f"{ITEMS}?limit=5000")
    assert any(f["properties"].get("description") is None for f in fc["features"])
    for op in (item, doc["paths"][f"/collections/{tl.NAME}/items"]["get"]):
        assert "414" in op["responses"]
    params = doc["components"]["parameters"]
    assert params["datetime"]["allowEmptyValue"] is True
    assert params["limit"]["schema"]["maximum"] == MAX_LIMIT
    # datetime= (allowed: empty) is served; a lone bbox-crs changes nothing
    get_json(client, f"{ITEMS}?datetime=")
    get_json(client, f"{ITEMS}?bbox-crs={EPSG}2180")


def test_405_carries_an_allow_header(make_user):
    client = make_user(login=False)  # with a CSRF token: past the CSRF check, to the router
    for url in ("/ogc/collections", ITEMS, "/api/layers"):
        r = client.post(url)
        assert r.status_code == 405, url
        assert "GET" in r.headers.get("Allow", ""), (url, dict(r.headers))
        assert r.mimetype == "application/json"


def test_openapi_validates_when_a_validator_is_installed(client):
    validator = pytest.importorskip("openapi_spec_validator")
    _, doc = get_json(client, "/ogc/api")
    validator.validate(doc)


# --- HTML -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/ogc?f=html", "/ogc/conformance?f=html", "/ogc/collections?f=html", "/ogc/api?f=html",
     f"/ogc/collections/{tl.NAME}?f=html", f"{ITEMS}?f=html", f"{ITEMS}?f=html&limit=2&offset=2",
     "/ogc/collections/districts/items?f=html", "/ogc/collections/districts/items/8?f=html"],
)  # fmt: skip
def test_html_pages(client, url):
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "text/html"
    body = r.get_data(as_text=True)
    assert '<html lang="pl">' in body and "<main" in body and "<h1>" in body


def test_html_escapes_what_people_typed(client, layer):
    body = client.get(f"{ITEMS}/{layer['wawel']}?f=html").get_data(as_text=True)
    assert "&lt;b&gt;znaczniki&lt;/b&gt;" in body and "<b>znaczniki" not in body
    assert "Zażółć gęślą jaźń" in body


@pytest.mark.browser
def test_html_pages_pass_axe(page, live_server):
    from conftest import run_axe

    for url in (f"{ITEMS}?f=html&limit=20", "/ogc/collections?f=html", "/ogc?f=html"):
        page.goto(live_server + url)
        assert page.locator("h1").count() == 1
        violations = run_axe(page)
        assert violations == [], (url, violations)
    assert page.watch.foreign() == [] and page.watch.errors == []
