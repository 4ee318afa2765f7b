"""Maps: folium builds them, our pages embed their parts. The only module importing folium.

Map data is never embedded: each layer is a small element that asks our own API (or the
vector tiles) for the current view; static/js/civicmap.js does the fetching and builds popups
with textContent.

CSP: the one inline script a map needs is wrapped here, where it is generated, with the
response's nonce; the header carries only ``<script src>``/``<link href>`` tags (the map's
size comes from static/css/civicmap.css, not from folium's inline ``<style>``). Nothing is
rewritten by a pattern over the rendered page, so data inside the map's JSON (a title
``<script>…``) stays data: every ``<`` in it is written as ``\\u003c``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import CssLink, JavascriptLink, MacroElement
from jinja2 import Template


@dataclass
class EmbeddedMap:
    """The parts of a folium map that our own accessible layout embeds."""

    header: str
    html: str
    script: str
    map_id: str


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no ``<`` can open or close a tag."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


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
        self.spec_json = script_json(spec)


def basemap_layer(basemap: dict[str, Any] | None, i18n: dict[str, str] | None = None) -> dict:
    """The basemap spec civicmap.js draws: our /basemap/ proxy, or a note that there is none."""
    spec: dict[str, Any] = {"kind": "basemap", "i18n": i18n or {}}
    if basemap:
        spec.update(basemap)
    else:
        spec["url"] = None
    return spec


def _header(root) -> str:
    """Only the asset links of folium's header: its inline <style>/<meta> parts are replaced
    by our stylesheet (static/css/civicmap.css .folium-map) and base.html's viewport."""
    out = []
    for child in root.header._children.values():
        if isinstance(child, (JavascriptLink, CssLink)):
            out.append(child.render())
    return "\n".join(out)


def build_map(
    *,
    center: tuple[float, float],
    zoom: int,
    layers: list[dict[str, Any]],
    basemap: dict[str, Any] | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    nonce: str = "",
    map_id: str = "main",
    i18n: dict[str, str] | None = None,
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
    base = basemap_layer(basemap, i18n)
    if bounds:
        # Fitted by civicmap.js without animation, before a permalink's view is applied:
        # folium's fitBounds animates in the next frame and could undo that view.
        w, s, e, n = bounds
        base["fit"] = [[s, w], [n, e]]
    CivicLayer(base).add_to(m)
    for spec in layers:
        CivicLayer(spec).add_to(m)
    root = m.get_root()
    root.render()
    attr = f' nonce="{html.escape(nonce, quote=True)}"' if nonce else ""
    script = f"<script{attr}>{root.script.render()}</script>"
    return EmbeddedMap(
        header=_header(root), html=root.html.render(), script=script, map_id=m.get_name()
    )
