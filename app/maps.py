"""Maps: folium builds them, our pages embed their parts. The only module importing folium.

Map data is never embedded: each layer is a small element that asks our own API for the
current view (static/js/civicmap.js does the fetching and builds popups with textContent).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import MacroElement
from jinja2 import Template

_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>\s*', re.I)
_INLINE = re.compile(r"<(script|style)(?=[\s>])(?![^>]*\bsrc=)", re.I)


@dataclass
class EmbeddedMap:
    """The parts of a folium map that our own accessible layout embeds."""

    header: str
    html: str
    script: str
    map_id: str


class CivicLayer(MacroElement):
    """Hands a layer description to civicmap.js, which loads and draws it."""

    _template = Template(
        """{% macro script(this, kwargs) %}
civicmap.addLayer({{ this._parent.get_name() }}, {{ this.spec_json }});
{% endmacro %}"""
    )

    def __init__(self, spec: dict[str, Any]):
        super().__init__()
        self._name = "CivicLayer"
        self.spec_json = json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


def basemap_origin(basemap: str) -> str | None:
    """The scheme://host the configured basemap loads tiles from (for the CSP), if any."""
    if basemap == "osm":
        url = folium.TileLayer("OpenStreetMap").tiles
    elif basemap.startswith(("http://", "https://")):
        url = basemap
    else:
        return None
    return "/".join(url.split("/")[:3])


def _basemap(m: folium.Map, basemap: str) -> None:
    if basemap in ("", "none"):
        return
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(m)
    elif basemap.startswith(("http://", "https://")) and "{z}" in basemap:
        folium.TileLayer(basemap, attr="MSIP Kraków", name="MSIP").add_to(m)
    elif basemap.startswith(("http://", "https://")):
        # A WMS endpoint, e.g. MSIP's orthophoto; layers after '#': URL#layer1,layer2
        url, _, layers = basemap.partition("#")
        folium.WmsTileLayer(
            url, layers=layers or "0", fmt="image/png", name="MSIP WMS", attr="MSIP Kraków"
        ).add_to(m)


def build_map(
    *,
    center: tuple[float, float],
    zoom: int,
    layers: list[dict[str, Any]],
    basemap: str = "none",
    bounds: tuple[float, float, float, float] | None = None,
    nonce: str = "",
    map_id: str = "main",
) -> EmbeddedMap:
    m = folium.Map(
        location=list(center),
        zoom_start=zoom,
        tiles=None,
        max_zoom=19,
        min_zoom=9,
        control_scale=True,
        prefer_canvas=False,
    )
    m._id = map_id
    _basemap(m, basemap)
    for spec in layers:
        CivicLayer(spec).add_to(m)
    if bounds:
        w, s, e, n = bounds
        m.fit_bounds([[s, w], [n, e]])
    root = m.get_root()
    root.render()
    header = _VIEWPORT.sub("", root.header.render())
    parts = [header, root.html.render(), root.script.render()]
    if nonce:
        parts = [_INLINE.sub(rf'<\1 nonce="{nonce}"', p) for p in parts]
    script = parts[2]
    if not script.lstrip().lower().startswith("<script"):
        script = (
            f'<script nonce="{nonce}">{script}</script>' if nonce else f"<script>{script}</script>"
        )
    return EmbeddedMap(header=parts[0], html=parts[1], script=script, map_id=m.get_name())
