"""Front-end assets: the one place that knows where the vendored JS/CSS lives.

folium 0.20 and branca 0.8 point every Map, plugin and colormap legend at CDNs.
`configure_folium()` re-points them at the files under static/vendor/ (see
static/vendor/README.md for versions, licences and how to refresh them).
"""

from __future__ import annotations

import functools
from html.parser import HTMLParser

import folium
from branca.colormap import ColorMap, LinearColormap
from branca.element import Element, Figure, JavascriptLink
from folium import plugins

# Paths relative to the static folder: f"{static_prefix}/{VENDOR[key]}" is the URL,
# or url_for("static", filename=VENDOR[key]) in a Flask template.
VENDOR: dict[str, str] = {
    "leaflet_js": "vendor/leaflet-1.9.4/leaflet.js",
    "leaflet_css": "vendor/leaflet-1.9.4/leaflet.css",
    "jquery_js": "vendor/jquery-3.7.1/jquery.min.js",
    "markercluster_js": "vendor/leaflet.markercluster-1.5.3/leaflet.markercluster.js",
    "markercluster_css": "vendor/leaflet.markercluster-1.5.3/MarkerCluster.css",
    "markercluster_default_css": "vendor/leaflet.markercluster-1.5.3/MarkerCluster.Default.css",
    "geoman_js": "vendor/leaflet-geoman-free-2.20.2/leaflet-geoman.min.js",
    "geoman_css": "vendor/leaflet-geoman-free-2.20.2/leaflet-geoman.css",
    "fullscreen_js": "vendor/leaflet.fullscreen-3.0.2/Control.FullScreen.js",
    "fullscreen_css": "vendor/leaflet.fullscreen-3.0.2/Control.FullScreen.css",
    "realtime_js": "vendor/leaflet-realtime-2.2.0/leaflet-realtime.min.js",
    "d3_js": "vendor/d3-3.5.17/d3.min.js",
    "axe_js": "vendor/axe-core-4.14.1/axe.min.js",
}

_state: dict[str, str] = {"static_prefix": "/static"}


def vendor_url(key: str, static_prefix: str | None = None) -> str:
    """URL of a vendored file, e.g. vendor_url("leaflet_js") -> "/static/vendor/leaflet-1.9.4/leaflet.js"."""
    prefix = _state["static_prefix"] if static_prefix is None else static_prefix
    return f"{prefix.rstrip('/')}/{VENDOR[key]}"


def _links(*pairs: tuple[str, str]) -> list[tuple[str, str]]:
    # A fresh list every time: folium's add_js_link/add_css_link mutate the class list in place.
    return [(name, vendor_url(key)) for name, key in pairs]


def configure_folium(static_prefix: str = "/static") -> None:
    """Point folium's Map and the plugins we use at the vendored files.

    Idempotent: every call installs fresh lists (undoing any add_js_link made since)
    and wraps branca's colormap render at most once. Leaves out bootstrap, glyphicons,
    font-awesome and awesome-markers, so folium.Icon is not available.
    """
    _state["static_prefix"] = static_prefix
    folium.Map.default_js = _links(("leaflet", "leaflet_js"), ("jquery", "jquery_js"))
    folium.Map.default_css = _links(("leaflet_css", "leaflet_css"))
    for cls in (plugins.MarkerCluster, plugins.FastMarkerCluster):
        cls.default_js = _links(("markerclusterjs", "markercluster_js"))
        cls.default_css = _links(
            ("markerclustercss", "markercluster_css"),
            ("markerclusterdefaultcss", "markercluster_default_css"),
        )
    plugins.GeoMan.default_js = _links(("leaflet_geoman_js", "geoman_js"))
    plugins.GeoMan.default_css = _links(("leaflet_geoman_css", "geoman_css"))
    plugins.Fullscreen.default_js = _links(("Control.Fullscreen.js", "fullscreen_js"))
    plugins.Fullscreen.default_css = _links(("Control.FullScreen.css", "fullscreen_css"))
    plugins.Realtime.default_js = _links(("Leaflet_Realtime_js", "realtime_js"))
    _wrap_colormap_render()


def replace_branca_d3(figure_or_map: Element) -> None:
    """Swap the d3 CDN link branca's colormap legend puts in the header for the vendored d3 3.5.17.

    branca adds the link while the colormap renders, i.e. inside Figure.render(), so calling
    this before rendering is not enough; configure_folium() therefore also wraps
    ColorMap.render to call it. Call it yourself after a render if you did not configure.
    """
    root = figure_or_map.get_root()
    if isinstance(root, Figure) and "d3" in root.header._children:
        root.header._children["d3"] = JavascriptLink(vendor_url("d3_js"))
        root.header._children["d3"]._parent = root.header


def _wrap_colormap_render() -> None:
    render = ColorMap.render
    if getattr(render, "_vendored_d3", False):
        return

    @functools.wraps(render)
    def render_with_vendored_d3(self: ColorMap, **kwargs) -> None:
        render(self, **kwargs)
        replace_branca_d3(self)

    render_with_vendored_d3._vendored_d3 = True  # type: ignore[attr-defined]
    ColorMap.render = render_with_vendored_d3  # type: ignore[method-assign]


class _AssetURLs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {"script": "src", "link": "href"}.get(tag)
        value = dict(attrs).get(attr) if attr else None
        if value:
            self.urls.append(value)


def asset_urls(html: str) -> list[str]:
    """Every <script src> and <link href> in an HTML string, in document order."""
    parser = _AssetURLs()
    parser.feed(html)
    return parser.urls


def all_folium_urls() -> list[str]:
    """JS/CSS URLs folium emits now for a Map with MarkerCluster, GeoMan, Fullscreen,
    Realtime and a colormap legend (for tests and the CSP)."""
    m = folium.Map(location=(50.054, 19.9355), zoom_start=13, tiles=None, maxZoom=19)
    plugins.MarkerCluster().add_to(m)
    plugins.GeoMan().add_to(m)
    plugins.Fullscreen().add_to(m)
    plugins.Realtime(
        folium.JsCode("function(ok, err) { ok({type: 'FeatureCollection', features: []}); }")
    ).add_to(m)
    LinearColormap(["#ffffff", "#000000"], vmin=0, vmax=1).add_to(m)
    return asset_urls(m.get_root().render())
