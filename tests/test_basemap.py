"""Issue 15.1: the basemap through our own host, against a local upstream (never the internet).

The upstream is a tiny HTTP server in this test that serves PNGs and records every request;
the cache is a temporary directory.
"""

from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from geo import basemap as gb


def png(color=(200, 220, 240)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), color).save(buf, "PNG")
    return buf.getvalue()


class Upstream:
    """A local tile server: /{z}/{x}/{y}.png, with ETag and a configurable max-age."""

    def __init__(self, max_age: int | None = 86400):
        self.requests: list[dict] = []
        self.max_age = max_age
        self.body = png()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append({"path": self.path, **dict(self.headers)})
                etag = '"v1"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Cache-Control", "max-age=600")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("ETag", etag)
                if outer.max_age is not None:
                    self.send_header("Cache-Control", f"max-age={outer.max_age}")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/{{z}}/{{x}}/{{y}}.png"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def upstream():
    up = Upstream()
    yield up
    up.close()


KRAKOW_TILE = (13, 4549, 2776)  # the Old Town at zoom 13


def cache(tmp_path, url, **kw) -> gb.TileCache:
    bounds = (19.3, 49.7, 20.6, 50.4)
    return gb.TileCache(tmp_path / "tiles", gb.Upstream(url=url, bounds=bounds), **kw)


def test_fetches_once_caches_and_sends_a_user_agent(tmp_path, upstream):
    c = cache(tmp_path, upstream.url, user_agent="CivicMapTest/1 (+tests)")
    first = c.get(*KRAKOW_TILE)
    assert first.source == "upstream" and first.content_type == "image/png"
    assert first.body == upstream.body
    again = c.get(*KRAKOW_TILE)
    assert again.source == "cache"
    assert len(upstream.requests) == 1
    assert upstream.requests[0]["path"] == "/13/4549/2776.png"
    assert upstream.requests[0]["User-Agent"] == "CivicMapTest/1 (+tests)"


def test_revalidates_with_the_etag_after_max_age(tmp_path, upstream):
    c = cache(tmp_path, upstream.url)
    c.get(*KRAKOW_TILE)
    # The tile expires: the next request revalidates with If-None-Match and gets a 304.
    meta_path = c._paths(*KRAKOW_TILE)[1]
    meta = gb._read_meta(meta_path)
    gb._write_json(meta_path, {**meta, "expires": time.time() - 1})
    t = c.get(*KRAKOW_TILE)
    assert t.source == "revalidated"
    assert upstream.requests[-1]["If-None-Match"] == '"v1"'
    assert c.get(*KRAKOW_TILE).source == "cache"
    assert len(upstream.requests) == 2


def test_max_age_is_respected_with_a_floor():
    assert gb._max_age({"Cache-Control": "public, max-age=604800"}) == 604800
    assert gb._max_age({"Cache-Control": "max-age=5"}) == gb.MIN_MAX_AGE
    assert gb._max_age({}) == gb.DEFAULT_MAX_AGE


def test_offline_upstream_is_unavailable_not_an_error_and_stale_tiles_still_serve(
    tmp_path, upstream
):
    c = cache(tmp_path, upstream.url)
    c.get(*KRAKOW_TILE)
    upstream.close()
    with pytest.raises(gb.Unavailable):
        c.get(13, 4550, 2776)  # never cached
    meta_path = c._paths(*KRAKOW_TILE)[1]
    gb._write_json(meta_path, {**gb._read_meta(meta_path), "expires": time.time() - 1})
    assert c.get(*KRAKOW_TILE).source == "stale"


def test_size_limit_evicts_least_recently_used(tmp_path, upstream):
    size = len(upstream.body)
    c = cache(tmp_path, upstream.url, max_bytes=int(size * 3.5))
    tiles = [(13, 4549 + i, 2776) for i in range(6)]
    for i, t in enumerate(tiles):
        c.get(*t)
        p = c._paths(*t)[0]
        if p.exists():
            import os

            os.utime(p, (1000 + i, 1000 + i))  # a deterministic LRU order
    assert c.disk_usage() <= size * 3.5
    assert c._paths(*tiles[-1])[0].exists()  # the newest is kept
    assert not c._paths(*tiles[0])[0].exists()  # the oldest went


@pytest.mark.parametrize(
    ("z", "x", "y", "param"),
    [(25, 0, 0, "z"), (3, 0, 0, "z"), (13, 9000, 2776, "x"), (13, 4549, 2**13, "y")],
)
def test_tiles_outside_the_range_are_refused(tmp_path, upstream, z, x, y, param):
    c = cache(tmp_path, upstream.url)
    with pytest.raises(gb.BasemapError) as err:
        c.get(z, x, y)
    assert err.value.param == param
    assert upstream.requests == []  # nothing was fetched: no bulk prefetch through us


def test_resolve_settings():
    assert gb.resolve("osm") == gb.OSM_URL
    assert gb.resolve("none") is None and gb.resolve("") is None
    wms = "https://example.invalid/wms?SERVICE=WMS&BBOX={bbox}&WIDTH=256&HEIGHT=256"
    assert gb.resolve(wms) == wms
    with pytest.raises(ValueError):
        gb.resolve("https://example.invalid/no-placeholders.png")


def test_wms_template_gets_the_tile_bbox_in_web_mercator(tmp_path):
    c = gb.TileCache(tmp_path, gb.Upstream(url="http://h/wms?BBOX={bbox}"))
    url = c.url(1, 0, 0)
    assert url == "http://h/wms?BBOX=-20037508.343,0.000,0.000,20037508.343"


# --- the route ---------------------------------------------------------------------------


@pytest.fixture()
def proxied(db_url, tmp_path, upstream):
    from app import create_app

    app = create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "BASEMAP": "none",
            "BASEMAP_UPSTREAM": upstream.url,
            "BASEMAP_CACHE_DIR": str(tmp_path / "cache"),
            "BASEMAP_ATTRIBUTION": gb.OSM_ATTRIBUTION,
        }
    )
    return app


def test_route_serves_caches_and_answers_304(proxied, upstream):
    client = proxied.test_client()
    r = client.get("/basemap/13/4549/2776.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.data == upstream.body
    assert "max-age=" in r.headers["Cache-Control"]
    etag = r.headers["ETag"]
    r2 = client.get("/basemap/13/4549/2776.png", headers={"If-None-Match": etag})
    assert r2.status_code == 304
    assert len(upstream.requests) == 1


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/basemap/abc/1/1.png", 400, "z"),
        ("/basemap/13/-1/2776.png", 400, "x"),
        ("/basemap/13/4549/99999.png", 400, "y"),
        ("/basemap/22/0/0.png", 404, "z"),
        ("/basemap/13/0/0.png", 404, "x"),  # outside the city's area
    ],
)
def test_route_bad_tiles_are_4xx_naming_the_parameter(proxied, path, status, field):
    r = proxied.test_client().get(path)
    assert r.status_code == status
    assert r.get_json()["error"]["field"] == field


def test_route_offline_is_503_with_retry_after(db_url, tmp_path):
    from app import create_app

    app = create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "BASEMAP_UPSTREAM": "http://127.0.0.1:9/{z}/{x}/{y}.png",  # discard port: refused
            "BASEMAP_CACHE_DIR": str(tmp_path / "cache"),
        }
    )
    r = app.test_client().get("/basemap/13/4549/2776.png")
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "30"


def test_page_uses_our_host_and_the_csp_stays_self(proxied):
    r = proxied.test_client().get("/")
    html = r.get_data(as_text=True)
    assert '"url": "/basemap/{z}/{x}/{y}.png"' in html
    assert "© OpenStreetMap contributors" in html
    csp = r.headers["Content-Security-Policy"]
    img = next(p for p in csp.split(";") if p.strip().startswith("img-src"))
    assert img.split() == ["img-src", "'self'", "data:", "blob:"]
