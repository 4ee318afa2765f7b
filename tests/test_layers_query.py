"""layers.query, the one read path: what the OGC API, the API and the exports ask of it.

On the test layer of tests/test_ogc_testlayer.py (fixed data): the properties' members, keys,
subset and JSON flavour, another FROM item, CRS and axis order, typed rows for exports, the
temporal extent, and the foreign members of a collection or a feature.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import test_ogc_testlayer as tl

from layers import query as lq
from layers.collections import get_collection


@pytest.fixture(scope="module")
def ids(engine):
    with tl.installed(engine) as found:
        yield found


def one(conn, q: lq.FeatureQuery, fid: int) -> dict:
    text_ = lq.feature(conn, tl.LAYER, fid, q)
    assert text_ is not None
    return json.loads(text_)


def test_default_properties_are_json_with_the_feature_table_members_first(engine, ids):
    with engine.connect() as conn:
        raw = lq.feature(conn, tl.LAYER, ids["wawel"])
    assert raw is not None
    props = json.loads(raw)["properties"]
    assert list(props)[:3] == ["external_id", "districts", "updated_at"]
    assert list(props)[3:] == [f.name for f in tl.LAYER.public_fields]
    assert "author_email" not in props and tl.SECRET not in raw
    assert '"properties":{"external_id":"wawel",' in raw  # row_to_json: compact, in order


def test_members_keys_and_subset(engine, ids):
    q = lq.FeatureQuery(
        members=("districts",),
        keys={"title": "TYTUL", "votes": "GLOSY"},
        fields=("votes", "title"),
    )
    with engine.connect() as conn:
        raw = lq.feature(conn, tl.LAYER, ids["wawel"], q)
    assert raw is not None
    # the members first, then only the chosen fields in the layer's order, under their keys
    assert raw.endswith(
        '"properties":{"districts":[1],"TYTUL":"Wawel — Zamek Królewski","GLOSY":42}}'
    )


def test_bad_property_choices_raise(engine, ids):
    with engine.connect() as conn:
        with pytest.raises(KeyError, match="author_email"):
            lq.feature(conn, tl.LAYER, ids["wawel"], lq.FeatureQuery(fields=("author_email",)))
        with pytest.raises(ValueError, match="member"):
            lq.feature(conn, tl.LAYER, ids["wawel"], lq.FeatureQuery(members=("geom",)))
        with pytest.raises(ValueError, match="key"):
            lq.feature(conn, tl.LAYER, ids["wawel"], lq.FeatureQuery(keys={"title": "a'b"}))


def test_crs_and_axis_order(engine, ids):
    with engine.connect() as conn:
        lonlat = one(conn, lq.FeatureQuery(), ids["wawel"])["geometry"]["coordinates"]
        en = one(conn, lq.FeatureQuery(srid=2178, precision=1), ids["wawel"])
        ne = one(conn, lq.FeatureQuery(srid=2178, precision=1, flip_axes=True), ids["wawel"])
    assert lonlat == [19.9355, 50.054]
    e, n = en["geometry"]["coordinates"]
    assert abs(e - tl.WAWEL_2178[0]) < 1 and abs(n - tl.WAWEL_2178[1]) < 1
    assert ne["geometry"]["coordinates"] == [n, e]


def test_bbox_in_another_crs_finds_the_same_features(engine, ids):
    e, n = tl.WAWEL_2178
    lon, lat = tl.WAWEL
    in_2178 = lq.FeatureQuery(bbox=(e - 50, n - 50, e + 50, n + 50), bbox_srid=2178, limit=50)
    in_4326 = lq.FeatureQuery(
        bbox=(lon - 0.0005, lat - 0.0005, lon + 0.0005, lat + 0.0005), limit=50
    )
    with engine.connect() as conn:
        a = lq.features(conn, tl.LAYER, in_2178).features
        b = lq.features(conn, tl.LAYER, in_4326).features
    assert a == b and any('"external_id":"wawel"' in f for f in a)


def test_another_from_item_and_id_order(engine, ids):
    coll = get_collection("districts")
    assert coll is not None
    with engine.connect() as conn:
        page = lq.features(conn, coll.layer, coll.query(limit=3, with_geometry=False))
    got = [json.loads(f) for f in page.features]
    assert [f["id"] for f in got] == [1, 2, 3] and page.has_more
    assert got[0]["properties"] == {
        "NAZWA": "Stare Miasto",
        "ID_DZIELNI": 1,
        "NR_DZIELNI": "I",
        "NAZWA_PELN": got[0]["properties"]["NAZWA_PELN"],
    }
    # the layer's field order, under MSIP's names
    assert list(got[0]["properties"]) == ["ID_DZIELNI", "NR_DZIELNI", "NAZWA", "NAZWA_PELN"]


def test_rows_are_typed_public_and_in_order(engine, ids):
    q = lq.FeatureQuery(district=1, order=("id",))
    with engine.connect() as conn:
        found = lq.rows(conn, tl.LAYER, q, [("t.id", "id"), ("t.votes", "votes")])
        every = lq.rows(conn, tl.LAYER, lq.FeatureQuery(order=("id",)), [("t.id", "id")])
        paged = lq.rows(
            conn,
            tl.LAYER,
            lq.FeatureQuery(order=("id",), limit=2, offset=1),
            [("t.id", "id")],
            paged=True,
        )
    assert [r["id"] for r in found] == sorted(r["id"] for r in found)
    assert ids["wawel"] in [r["id"] for r in found]
    assert ids["draft"] not in [r["id"] for r in every]
    assert len(every) == tl.PUBLIC_COUNT
    assert [r["id"] for r in paged] == [r["id"] for r in every[1:3]]
    with pytest.raises(ValueError):
        with engine.connect() as conn:
            lq.rows(conn, tl.LAYER, q, [("t.id", 'x" FROM y --')])


def test_updated_range_is_of_public_rows(engine, ids):
    with engine.connect() as conn:
        lo, hi = lq.updated_range(conn, tl.LAYER)
        lo1, hi1 = lq.updated_range(conn, tl.LAYER, lq.FeatureQuery(district=18))
    assert lo == datetime(2023, 1, 1, 1, tzinfo=UTC)
    assert hi == datetime(2025, 2, 1, tzinfo=UTC)  # the draft (2025-03-01) is not public
    assert lo1 <= datetime(2024, 6, 1, tzinfo=UTC) <= hi1


def test_foreign_members(engine, ids):
    with engine.connect() as conn:
        page = lq.features(conn, tl.LAYER, lq.FeatureQuery(limit=2))
        raw = lq.feature(conn, tl.LAYER, ids["wawel"])
    assert raw is not None
    doc = json.loads(page.collection(links=[{"rel": "self"}], numberReturned=2))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 2
    assert doc["links"] == [{"rel": "self"}] and doc["numberReturned"] == 2
    feat = json.loads(lq.with_members(raw, links=[{"href": "/x"}]))
    assert feat["links"] == [{"href": "/x"}] and feat["id"] == ids["wawel"]
