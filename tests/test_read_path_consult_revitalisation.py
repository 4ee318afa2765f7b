"""Issue 12, one read path: the consultations' maps (areas, comments) and the revitalisation
analysis read their features through layers.query.features, so the layer's public rules and
public fields decide what they show, in one place.

Data: tests/readpath_support.py's seed (a consultation around the Planty with two published
comments and a pending one, a revitalisation area over the Old Town) and, inside that area,
rows the public may not see: a draft and a hidden proposal, a hidden comment, a pending
comment of a signed-in resident.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import text

from civic.participation import consultations as pc
from civic.planning import revitalisation as rv
from civic.planning.common import Public, public
from layers import query as lq
from layers import registry
from tests.readpath_support import seed

EXTRA = [
    """INSERT INTO consultations (external_id, geom, title, description, opens_on, closes_on,
                                 stage)
       VALUES ('cons-later', ST_GeomFromText('POLYGON((19.99 50.06, 20.01 50.06, 20.01 50.08,
                                                      19.99 50.08, 19.99 50.06))', 4326),
               'Plan na później', 'x', '2099-01-01', '2099-12-31', 'planned')""",
    """INSERT INTO consultation_comments (external_id, geom, consultation_id, body, status,
                                         supports, author_id, hidden_at)
       SELECT x.ext, ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326), c.id, x.body, x.status, 0,
              CAST(:author AS bigint), x.h
       FROM consultations c,
            (VALUES ('own-pending', 19.9380, 50.0610, 'Moja czekająca', 'pending',
                     NULL::timestamptz),
                    ('hidden', 19.9390, 50.0590, 'Ukryta uwaga', 'hidden', now()))
            AS x(ext, lon, lat, body, status, h)
       WHERE c.external_id = 'cons-1'""",
    """INSERT INTO budget_proposals (edition, title, scope, status, cost, geom, hidden_at,
                                    hidden_reason)
       VALUES (2026, 'Publiczny w obszarze', 'district', 'submitted', 1000,
               ST_SetSRID(ST_MakePoint(19.94, 50.06), 4326), NULL, NULL),
              (2026, 'Szkic w obszarze', 'district', 'draft', 2000,
               ST_SetSRID(ST_MakePoint(19.941, 50.06), 4326), NULL, NULL),
              (2026, 'Ukryty w obszarze', 'district', 'submitted', 3000,
               ST_SetSRID(ST_MakePoint(19.942, 50.06), 4326), now(), 'spam')""",
]
NOT_PUBLIC = ("Szkic w obszarze", "Ukryty w obszarze", "Ukryta uwaga", "Moja czekająca")


@pytest.fixture(scope="module")
def data(engine):
    with engine.begin() as conn:
        seed(conn)
        author = conn.execute(
            text(
                "INSERT INTO users (email, name, password_hash, confirmed_at) "
                "VALUES ('autorka-uwagi@example.org', 'Autorka', 'x', now()) RETURNING id"
            )
        ).scalar_one()
        for sql in EXTRA:
            conn.execute(text(sql), {"author": author})
        k = conn.execute(text("SELECT id FROM consultations WHERE external_id = 'cons-1'"))
        return {"consultation": k.scalar_one(), "author": author}


@pytest.fixture()
def reads(monkeypatch):
    """The layers every call of layers.query.features read (the real function runs)."""
    seen: list[str] = []
    real = lq.features

    def spy(conn, layer, q):
        seen.append(layer.name)
        return real(conn, layer, q)

    monkeypatch.setattr(lq, "features", spy)
    return seen


def titles(body: str) -> list[str]:
    return [f["properties"]["title"] for f in json.loads(body)["features"]]


def test_the_consultation_maps_read_through_layers_query(client, data, reads):
    k = data["consultation"]
    assert client.get("/api/consultations").status_code == 200
    assert client.get(f"/api/consultations/{k}/comments").status_code == 200
    assert reads == ["consultations", "consultation-comments"]


def test_the_revitalisation_analysis_reads_through_layers_query(engine, data, reads):
    with engine.connect() as conn:
        rv.revitalisation_payload(conn, public(), distance_m=250)
    assert reads == ["revitalisation-areas", "budget-proposals", "consultation-comments"]


def test_the_areas_keep_what_the_map_reads(client, data):
    body = client.get("/api/consultations").get_data(as_text=True)
    assert body.startswith('{"type" : "FeatureCollection", "features" : [{"type" : "Feature"')
    feats = json.loads(body)["features"]
    assert [f["properties"]["title"] for f in feats] == ["Zieleń na Plantach", "Plan na później"]
    first, later = (f["properties"] for f in feats)
    assert set(first) == {"title", "opens_on", "closes_on", "open", "url"}
    assert (first["open"], later["open"]) == (True, False)
    assert first["url"] == f"/consultations/{feats[0]['id']}"
    assert (later["opens_on"], later["closes_on"]) == ("2099-01-01", "2099-12-31")
    only = client.get(f"/api/consultations?ids={data['consultation']}").get_json()
    assert [f["id"] for f in only["features"]] == [data["consultation"]]


def test_a_comment_the_public_may_not_see_stays_off_the_map(client, engine, data):
    k = data["consultation"]
    anonymous = titles(client.get(f"/api/consultations/{k}/comments").get_data(as_text=True))
    assert anonymous == ["Więcej ławek", "Drzewa <script>"]
    with engine.connect() as conn:
        other = titles(pc.comments_geojson(conn, k, data["author"] + 1000, "/c/"))
        own = json.loads(pc.comments_geojson(conn, k, data["author"], "/c/"))["features"]
    assert other == anonymous
    assert [(f["properties"]["title"], f["properties"]["status"]) for f in own] == [
        ("Więcej ławek", "published"),
        ("Drzewa <script>", "published"),
        ("Moja czekająca", "pending"),
    ]
    for f in own:
        assert set(f["properties"]) == {"title", "status", "supports", "districts", "url"}
        assert f["properties"]["url"] == f"/c/{f['id']}"


def test_revitalisation_hits_are_only_public_features(client, data):
    body = client.get("/planners/api/revitalisation").get_json()["result"]
    hits = [(h["kind"], h["title"]) for h in body["hits"]]
    assert ("proposal", "Publiczny w obszarze") in hits
    assert ("comment", "Więcej ławek") in hits
    assert not {t for _, t in hits} & set(NOT_PUBLIC)
    assert all(h["geojson"] and h["title"] for h in body["hits"])
    geo = client.get("/planners/api/revitalisation.geojson").get_data(as_text=True)
    assert not any(t in geo for t in NOT_PUBLIC)
    assert "author_id" not in geo and "author_id" not in json.dumps(body)


def test_the_read_path_not_the_overlap_source_decides_what_is_shown(engine, data):
    """An overlap source that lets drafts and pending comments in (a wrong Public) changes the
    counts, never the features shown: the read path applies the layers' public rules."""
    lax = Public(
        proposal_states=registry.get("budget-proposals").workflow.states,
        comment_states=registry.get("consultation-comments").workflow.states,
    )
    with engine.connect() as conn:
        payload = rv.revitalisation_payload(conn, lax, distance_m=250)
    shown = {h["title"] for h in payload["hits"]}
    assert "Publiczny w obszarze" in shown and "Więcej ławek" in shown
    assert not shown & {"Szkic w obszarze", "Moja czekająca", "Niepubliczny"}


@pytest.mark.parametrize(
    ("layer", "field_name"),
    [("consultations", "opens_on"), ("revitalisation-areas", "code")],
)
def test_a_field_the_layer_makes_private_is_never_shown(engine, data, layer, field_name):
    """Publicity lives on the layer's Field: made private, these readers refuse to show it."""
    original = registry.get(layer)
    private = dataclasses.replace(
        original,
        fields=tuple(
            dataclasses.replace(f, public=False) if f.name == field_name else f
            for f in original.fields
        ),
    )
    registry.register(private)
    try:
        with engine.connect() as conn, pytest.raises(KeyError, match=field_name):
            if layer == "consultations":
                pc.areas_geojson(conn, "/consultations/")
            else:
                rv.revitalisation_payload(conn, public(), distance_m=250)
    finally:
        registry.register(original)


def test_also_visible_widens_only_the_public_rule(engine, data):
    layer = registry.get("consultation-comments")
    k = data["consultation"]
    base = {"filters": {"consultation_id": k}, "properties": (("title", "t.body"),)}

    def read(**kw) -> list[str]:
        with engine.connect() as conn:
            page = lq.features(conn, layer, lq.FeatureQuery(sort="t.id", **base, **kw))
        return [json.loads(f)["properties"]["title"] for f in page.features]

    published = read()
    assert "Niepubliczny" not in published and "Ukryta uwaga" not in published
    widened = read(also_visible="t.status = 'pending'")
    assert set(widened) - set(published) == {"Niepubliczny", "Moja czekająca"}
    # without the public rules there is nothing to widen: every row of the consultation
    assert len(read(public=False, also_visible="FALSE")) == len(published) + 3


def test_simplify_thins_the_outline_not_the_filter(engine, data):
    layer = registry.get("revitalisation-areas")
    with engine.connect() as conn:  # rolled back: the other tests keep one area
        rid = conn.execute(
            text(
                """INSERT INTO revitalisation_areas (geom, name)
                   VALUES (ST_Buffer(ST_SetSRID(ST_MakePoint(20.03, 50.07), 4326), 0.005, 64),
                           'Okrągły') RETURNING id"""
            )
        ).scalar_one()

        def ring(**kw) -> list:
            page = lq.features(conn, layer, lq.FeatureQuery(ids=[rid], **kw))
            return json.loads(page.text)["geometry"]["coordinates"][0]

        full, thin = ring(), ring(simplify=0.001)
        params: dict = {}
        sql = lq.page_sql(layer, lq.FeatureQuery(simplify=0.001, bbox=(19, 49, 21, 51)), params)
        conn.rollback()
    assert len(full) == 257 and 4 <= len(thin) < 40
    assert "ST_Intersects(t.geom," in sql  # the box is tested against the stored geometry


def test_parts_give_each_features_geometry_text_as_postgis_wrote_it(engine, data):
    layer = registry.get("consultation-comments")
    with engine.connect() as conn:  # rolled back: a comment on the consultation as a whole
        conn.execute(
            text(
                "INSERT INTO consultation_comments (consultation_id, body, status) "
                "VALUES (:k, 'O całości, z \"cudzysłowem\" i ,\"properties\":', 'published')"
            ),
            {"k": data["consultation"]},
        )
        page = lq.features(conn, layer, lq.FeatureQuery(limit=50))
        with pytest.raises(ValueError):
            lq.features(conn, layer, lq.FeatureQuery(build_object=True)).parts()
        conn.rollback()
    parts = page.parts()
    decoded = [json.loads(f) for f in page.features]
    assert [p[0] for p in parts] == [f["id"] for f in decoded]
    assert [p[2] for p in parts] == [f["properties"] for f in decoded]
    for (_, geometry, _), f in zip(parts, decoded, strict=True):
        if f["geometry"] is None:
            assert geometry is None
        else:
            assert geometry == json.dumps(f["geometry"], separators=(",", ":"))
    assert any(g is None for _, g, _ in parts)


def test_a_build_object_page_keeps_its_collection_spacing():
    assert (
        lq.FeaturePage(text="", number=0, has_more=False, sep=", ").collection()
        == '{"type" : "FeatureCollection", "features" : []}'
    )
    assert (
        lq.FeaturePage(text="", number=0, has_more=False).collection(numberReturned=0)
        == '{"type":"FeatureCollection","features":[],"numberReturned":0}'
    )
