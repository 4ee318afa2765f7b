"""Every front-end asset folium emits comes from static/vendor/, and those files exist."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import folium
import pytest
from branca.colormap import LinearColormap
from folium import plugins

from app import assets

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "static" / "vendor"
CHROMIUM = Path("/usr/bin/chromium")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


def on_disk(url: str) -> Path:
    assert url.startswith("/static/vendor/"), url
    return VENDOR / url.removeprefix("/static/vendor/")


@pytest.fixture(scope="module", autouse=True)
def configured():
    assets.configure_folium("/static")
    assets.configure_folium("/static")  # idempotent


def build_map() -> folium.Map:
    # With tiles=None folium drops max_zoom (it only goes to the TileLayer); MarkerCluster
    # then throws "Map has no maxZoom specified". maxZoom= lands in the L.map options.
    m = folium.Map(location=(50.054, 19.9355), zoom_start=13, tiles=None, maxZoom=19)
    cluster = plugins.MarkerCluster().add_to(m)
    folium.Marker((50.054, 19.9355)).add_to(cluster)
    folium.Marker((50.061, 19.937)).add_to(cluster)
    plugins.GeoMan().add_to(m)
    LinearColormap(["#ffffcc", "#800026"], vmin=0, vmax=10, caption="Głosy").add_to(m)
    return m


def test_rendered_map_loads_only_vendored_files():
    html = build_map().get_root().render()
    urls = links(html)
    assert urls, "no <script src>/<link href> found"
    for url in urls:
        assert not re.match(r"(https?:)?//", url), url
        assert on_disk(url).is_file(), url
    assert "/static/vendor/d3-3.5.17/d3.min.js" in urls
    assert "/static/vendor/leaflet.markercluster-1.5.3/leaflet.markercluster.js" in urls
    assert "/static/vendor/leaflet-geoman-free-2.20.2/leaflet-geoman.min.js" in urls
    assert not re.search(r"https?://(cdn|unpkg|code\.jquery|d3js|netdna)", html)


def test_replace_branca_d3_after_unconfigured_render(monkeypatch):
    # Without the ColorMap.render wrapper branca leaves its CDN link; the helper fixes it.
    monkeypatch.setattr(LinearColormap, "render", lambda self, **kw: _raw_render(self, **kw))
    m = build_map()
    root = m.get_root()
    root.render()
    assert "cdnjs" in root.header._children["d3"].url
    assets.replace_branca_d3(m)
    assert links(root.header.render()).count("/static/vendor/d3-3.5.17/d3.min.js") == 1


def _raw_render(colormap, **kwargs):
    return assets.ColorMap.render.__wrapped__(colormap, **kwargs)


def test_configure_is_idempotent_and_undoes_add_js_link():
    before = list(folium.Map.default_js)
    folium.Map(tiles=None).add_js_link("leaflet", "https://cdn.example/leaflet.js")
    assets.configure_folium("/static")
    assert folium.Map.default_js == before
    assets.configure_folium("/static")
    assert folium.Map.default_js == before


def test_static_prefix_is_honoured():
    try:
        assets.configure_folium("/assets/")
        assert all(u.startswith("/assets/vendor/") for u in assets.all_folium_urls())
    finally:
        assets.configure_folium("/static")


def test_all_folium_urls_and_vendor_table_exist():
    urls = assets.all_folium_urls()
    assert len(urls) == len(set(urls))
    for url in urls:
        assert on_disk(url).is_file(), url
    for key, rel in assets.VENDOR.items():
        assert (ROOT / "static" / rel).is_file(), key


def test_every_vendored_package_keeps_its_licence():
    for package in (p for p in VENDOR.iterdir() if p.is_dir()):
        assert any(
            f.name.upper().startswith("LICEN") or "LICENCE" in f.name.upper()
            for f in package.iterdir()
        ), package


def test_css_url_references_resolve():
    for css in VENDOR.rglob("*.css"):
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text()):
            if ref.startswith(("data:", "#", "%23")):
                continue
            assert not re.match(r"(https?:)?//", ref), (css, ref)
            assert (css.parent / ref).is_file(), (css, ref)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium")
def test_vendored_page_runs_offline_in_chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    m = build_map()
    plugins.Fullscreen().add_to(m)
    plugins.Realtime(
        folium.JsCode("function(ok) { ok({type: 'FeatureCollection', features: []}); }"),
        interval=60000,
    ).add_to(m)
    folium.Marker((50.07, 19.90)).add_to(m)  # default icon: images/ resolved via leaflet.css
    html = m.get_root().render()
    origin = "http://civicmap.test"
    foreign: list[str] = []
    errors: list[str] = []

    def serve(route):
        url = route.request.url
        if url == origin + "/":
            return route.fulfill(body=html, content_type="text/html; charset=utf-8")
        path = url.removeprefix(origin).split("?")[0]
        if url.startswith(origin + "/static/vendor/") and on_disk(path).is_file():
            return route.fulfill(path=str(on_disk(path)))
        foreign.append(url)
        return route.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route("**/*", serve)
            page.goto(origin + "/")
            page.add_script_tag(url=origin + assets.vendor_url("axe_js"))
            page.wait_for_selector(".marker-cluster")
            page.wait_for_load_state("networkidle")
            got = page.evaluate(
                """() => ({
                    leaflet: L.version, jquery: jQuery.fn.jquery, d3: d3.version,
                    geoman: typeof L.PM, cluster: typeof L.markerClusterGroup,
                    fullscreen: typeof L.control.fullscreen, realtime: typeof L.realtime,
                    axe: typeof axe.run,
                    toolbar: !!document.querySelector('.leaflet-pm-toolbar'),
                    legend: [...document.querySelectorAll('svg text')].some(
                        (t) => t.textContent === 'Głosy'),
                    icon: [...document.querySelectorAll('img.leaflet-marker-icon')].map(
                        (i) => i.complete && i.naturalWidth > 0),
                })"""
            )
        finally:
            browser.close()
    assert foreign == [] and errors == []
    assert got == {
        "leaflet": "1.9.4",
        "jquery": "3.7.1",
        "d3": "3.5.17",
        "geoman": "object",
        "cluster": "function",
        "fullscreen": "function",
        "realtime": "function",
        "icon": [True],
        "axe": "function",
        "toolbar": True,
        "legend": True,
    }
