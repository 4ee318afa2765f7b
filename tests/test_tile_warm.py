"""The city-scale tiles warmed in one pass (layers.tile_warm, issue 11): the same bytes as
tiles built one by one, stored under the layer's version, rebuilt after a write; the first
miss of a whole-city view warms the rest of it; the background warmer and the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from test_tiles import RYNEK, SEED, decode, get_tile, tile_of

from layers import query as lq
from layers import tile_warm as tw
from layers import tiles as lt
from layers.budget_proposals import LAYER


@pytest.fixture(scope="module")
def proposals(engine) -> int:
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.29)"))
        for stmt in SEED.split(";"):
            if stmt.strip():
                conn.execute(text(stmt))
        # and some further out, so that the city spans several tiles at z 12
        conn.execute(
            text(
                """INSERT INTO budget_proposals (geom, edition, title, scope, status)
                   SELECT d.geom, 2025, 'Dalej ' || row_number() OVER (), 'district',
                          'submitted'
                   FROM ST_Dump(ST_GeneratePoints((SELECT ST_Union(geom) FROM districts),
                                                  300, 7)) d"""
            )
        )
        return conn.execute(
            text("SELECT count(*) FROM budget_proposals WHERE geom IS NOT NULL")
        ).scalar_one()


def cached(engine, z: int, x: int, y: int) -> bytes | None:
    key = lt.cache_key(LAYER, lq.FeatureQuery())
    with engine.connect() as conn:
        return conn.execute(
            text(
                """SELECT c.tile FROM tile_cache c JOIN layer_versions v
                   ON v.tbl = c.tbl AND v.version = c.version
                   WHERE c.tbl = 'budget_proposals' AND c.key = :k
                     AND c.z = :z AND c.x = :x AND c.y = :y"""
            ),
            {"k": key, "z": z, "x": x, "y": y},
        ).scalar_one_or_none()


def bump(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE budget_proposals SET title = title || '.' WHERE title = 'Skwer'"))


def test_warmed_tiles_are_the_tiles_built_one_by_one(engine, proposals):
    bump(engine)
    with engine.begin() as conn:
        w = tw.warm(conn, LAYER)
    assert w.version is not None and w.tiles >= 13  # z 0..12, more than one tile at z 12
    with engine.connect() as conn:
        public = conn.execute(
            text(
                "SELECT count(*) FROM budget_proposals WHERE geom IS NOT NULL "
                "AND hidden_at IS NULL AND status <> 'draft'"
            )
        ).scalar_one()
    assert proposals > public and w.points == public - 2  # the line, the polygon: no points
    key = lt.cache_key(LAYER, lq.FeatureQuery())
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT z, x, y, tile FROM tile_cache WHERE tbl = 'budget_proposals' "
                "AND key = :k AND version = :v AND z >= 0"
            ),
            {"k": key, "v": w.version},
        ).all()
        assert len(rows) == w.tiles
        for z, x, y, data in rows:
            assert bytes(data) == lt.render(conn, LAYER, lq.FeatureQuery(), z, x, y), (z, x, y)
    # every z has the whole city: the cluster counts add up to the public points
    for z in range(tw.WARM_MAX + 1):
        total = sum(
            sum(f["count"] for f in decode(bytes(d), zz, x, y).get("budget-proposals-clusters", []))
            for zz, x, y, d in rows
            if zz == z
        )
        assert total == w.points, z


def test_a_version_is_warmed_once_and_again_after_a_write(engine, proposals):
    bump(engine)
    with engine.begin() as conn:
        first = tw.warm(conn, LAYER)
    with engine.begin() as conn:
        again = tw.warm(conn, LAYER)
    assert first.tiles > 0 and again.tiles == 0 and again.version == first.version
    bump(engine)
    with engine.begin() as conn:
        after = tw.warm(conn, LAYER)
    assert after.version > first.version and after.tiles == first.tiles


def test_the_first_miss_of_a_city_view_warms_the_rest(client, engine, proposals):
    bump(engine)
    z = 11
    x, y = tile_of(*RYNEK, z)
    neighbour = (x + 1, y)
    assert cached(engine, z, *neighbour) is None
    r = get_tile(client, "budget-proposals", z, x, y)
    assert r.status_code == 200 and r.headers["X-Tile-Cache"] == "miss"
    assert cached(engine, z, *neighbour) is not None  # never asked, already built
    r2 = get_tile(client, "budget-proposals", z, *neighbour)
    assert r2.headers["X-Tile-Cache"] == "hit"
    # a filtered view is its own tiles, built when asked
    f = get_tile(client, "budget-proposals", z, *neighbour, "status=submitted")
    assert f.headers["X-Tile-Cache"] == "miss"
    # z 13 is above the warmed zooms: built when asked
    x13, y13 = tile_of(*RYNEK, 13)
    assert get_tile(client, "budget-proposals", 13, x13, y13).headers["X-Tile-Cache"] == "miss"


def test_the_background_warmer_follows_writes(app, engine, proposals):
    warmer = tw.Warmer(app.extensions["engine"], [LAYER], every=3600)
    first = warmer.step()  # the current version, unless a request warmed it already
    assert warmer.step() == []  # nothing changed since
    bump(engine)
    done = warmer.step()
    assert [w.layer for w in done] == ["budget-proposals"] and done[0].tiles > 0
    assert done[0].version == warmer.seen["budget_proposals"]
    assert all(w.version for w in first)
    x, y = tile_of(*RYNEK, 12)
    assert cached(engine, 12, x, y) is not None


def test_cli_warms_and_names_an_unknown_layer(engine, proposals, db_url, monkeypatch):
    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    bump(engine)
    res = CliRunner().invoke(main, ["tiles", "warm", "budget-proposals"])
    assert res.exit_code == 0, res.output
    assert "budget-proposals:" in res.output and " tiles, " in res.output
    bad = CliRunner().invoke(main, ["tiles", "warm", "no-such-layer"])
    assert bad.exit_code == 2 and "no-such-layer" in bad.output and "LAYER" in bad.output
