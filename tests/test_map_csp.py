"""Issue 14.8/14.12: the map's nonce is put where the script tag is generated, and data in the
map's JSON is never rewritten (a value "<script>…" stays a string, the nonce is not in it)."""

from __future__ import annotations

import json
import re

from app.assets import configure_folium
from app.maps import build_map

PAYLOAD = '<script>alert("x")</script><!--<script>'


def test_data_with_script_tags_is_not_rewritten_and_gets_no_nonce():
    configure_folium()
    spec = {"kind": "features", "layer": "t", "params": {"x": PAYLOAD}}
    m = build_map(center=(50.06, 19.93), zoom=11, layers=[spec], nonce="N0NCE")
    # One opening tag, ours, with the nonce; the payload cannot open or close a tag.
    assert m.script.count("<script") == 1
    assert m.script.startswith('<script nonce="N0NCE">') and m.script.endswith("</script>")
    assert m.script.count("N0NCE") == 1
    body = m.script[len('<script nonce="N0NCE">') : -len("</script>")]
    assert "<" not in body
    # The value arrives intact when the browser parses the JSON.
    found = re.search(r"civicmap\.addLayer\(map_main, (\{.*\"layer\": \"t\".*\})\);", body)
    assert json.loads(found.group(1))["params"]["x"] == PAYLOAD


def test_header_has_only_links_no_inline_style_or_script():
    configure_folium()
    m = build_map(center=(50.06, 19.93), zoom=11, layers=[], nonce="N")
    assert "<style" not in m.header and "<meta" not in m.header
    for tag in re.findall(r"<script[^>]*>", m.header):
        assert "src=" in tag


def test_every_inline_script_on_a_map_page_has_the_responses_nonce(client):
    r = client.get("/?q=%3Cscript%3E")
    html = r.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", r.headers["Content-Security-Policy"]).group(1)
    tags = re.findall(r"<script\b[^>]*>", html)
    assert tags
    for tag in tags:
        assert "src=" in tag or f'nonce="{nonce}"' in tag, tag


def test_csp_has_no_unsafe_inline_for_style_elements(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    parts = {p.split()[0]: p.split()[1:] for p in csp.split(";") if p.strip()}
    assert "'unsafe-inline'" not in parts["style-src"]
    assert "'unsafe-inline'" not in parts["script-src"]
