"""layers.query.features for every reader (issues 11 and 12): one aggregate row per page, the
readers' own properties and geometry fallback, the small-bbox plan, serial sessions."""

from __future__ import annotations

import json

import pytest
import test_ogc_testlayer as tl
from sqlalchemy import event, text

from layers import query as lq


@pytest.fixture(scope="module")
def layer_ids(engine):
    with tl.installed(engine) as ids:
        yield ids


def _statements(engine):
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, s, p, ctx, m: seen.append(s))
    return seen


def test_a_page_is_one_row_and_its_features_split_byte_for_byte(engine, layer_ids):
    with engine.connect() as conn:
        page = lq.features(conn, tl.LAYER, lq.FeatureQuery(limit=3))
        more = lq.features(conn, tl.LAYER, lq.FeatureQuery(limit=100_000 // 100))
    assert page.number == 3 and page.has_more
    assert ",".join(page.features) == page.text
    ids = [json.loads(f)["id"] for f in page.features]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3
    assert not more.has_more and more.number == len(more.features)
    doc = json.loads(page.collection(numberReturned=page.number))
    assert [f["id"] for f in doc["features"]] == ids


def test_an_empty_page(engine, layer_ids):
    with engine.connect() as conn:
        page = lq.features(conn, tl.LAYER, lq.FeatureQuery(ids=[-1]))
    assert (page.text, page.number, page.has_more, page.features) == ("", 0, False, [])
    assert json.loads(page.collection())["features"] == []


def test_explicit_properties_fallback_geometry_and_build_object(engine, layer_ids):
    q = lq.FeatureQuery(
        limit=2,
        build_object=True,
        public=False,
        geometry_fallback="SELECT ST_PointOnSurface(d.geom) FROM districts d WHERE d.number = 1",
        where=("t.title IS NOT NULL",),
        sort="t.id ASC",
        properties=(("title", None), ("districts", None), ("link", ":link || t.id")),
        params={"link": "/x/"},
    )
    with engine.connect() as conn:
        conn.execute(
            text(f"UPDATE {tl.TABLE} SET geom = NULL WHERE id = (SELECT min(id) FROM {tl.TABLE})")
        )
        page = lq.features(conn, tl.LAYER, q)
        conn.rollback()
    assert page.sep == ", " and '"type" : "Feature"' in page.text
    first = json.loads(page.features[0])
    assert list(first["properties"]) == ["title", "districts", "link"]
    assert first["properties"]["link"] == f"/x/{first['id']}"
    assert first["geometry"]["type"] == "Point"  # the fallback: the row has no geometry now
    with pytest.raises(KeyError):
        lq.properties_sql(tl.LAYER, lq.FeatureQuery(properties=(("author_email", None),)))
    with pytest.raises(ValueError):
        lq.properties_sql(tl.LAYER, lq.FeatureQuery(properties=(("x'y", "1"),)))


def test_a_small_bbox_is_read_through_its_index_and_sessions_are_serial(engine, layer_ids):
    box = (19.93, 50.05, 19.95, 50.07)
    assert lq.small_bbox(lq.FeatureQuery(bbox=box))
    assert not lq.small_bbox(lq.FeatureQuery(bbox=(19.7, 49.9, 20.3, 50.2)))
    assert lq.small_bbox(lq.FeatureQuery(bbox=(5546000, 7422000, 5548500, 7425000), bbox_srid=2178))
    seen = _statements(engine)
    with engine.connect() as conn:
        small = lq.features(conn, tl.LAYER, lq.FeatureQuery(bbox=box, limit=1))
        wide = lq.features(conn, tl.LAYER, lq.FeatureQuery(bbox=(19.0, 49.0, 21.0, 51.0), limit=1))
        setting = conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar_one()
    assert setting == "0"
    assert sum("SET LOCAL max_parallel_workers_per_gather" in s for s in seen) == 1  # once a tx
    assert "OFFSET 0" in next(s for s in seen if "string_agg" in s)
    assert small.number == 1 and wide.number == 1
    with engine.connect() as conn:
        fenced = lq.features(conn, tl.LAYER, lq.FeatureQuery(bbox=box, limit=5000))
        expected = (
            conn.execute(
                text(
                    f"""SELECT id FROM {tl.TABLE} t WHERE status = ANY(:s)
                    AND ST_Intersects(geom, ST_MakeEnvelope(19.93, 50.05, 19.95, 50.07, 4326))
                    ORDER BY id DESC"""
                ),
                {"s": list(tl.LAYER.workflow.public_states)},
            )
            .scalars()
            .all()
        )
    assert expected and [json.loads(f)["id"] for f in fenced.features] == expected


def test_the_public_states_filter_keeps_its_meaning(engine, layer_ids):
    with engine.connect() as conn:
        pub = lq.features(conn, tl.LAYER, lq.FeatureQuery(limit=5000))
        states = {json.loads(f)["properties"].get("status") for f in pub.features}
    assert states and states <= set(tl.LAYER.workflow.public_states)
