"""Issue 11 point 3: gzip for JSON/GeoJSON responses when the client accepts it."""

from __future__ import annotations

import gzip
import json


def test_geojson_is_gzipped_when_accepted(client):
    plain = client.get("/api/layers/budget-proposals/features?limit=200")
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers.get("Vary", "")
    r = client.get(
        "/api/layers/budget-proposals/features?limit=200",
        headers={"Accept-Encoding": "gzip, deflate"},
    )
    assert r.status_code == 200
    assert len(plain.data) >= 1024
    assert r.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(r.data)) == json.loads(plain.data)
    assert len(r.data) < len(plain.data)
    assert "Accept-Encoding" in r.headers.get("Vary", "")


def test_small_body_not_gzipped(client):
    r = client.get(
        "/api/districts/locate?lon=19.9373&lat=50.0617", headers={"Accept-Encoding": "gzip"}
    )
    assert r.status_code == 200
    assert "Content-Encoding" not in r.headers
    assert r.get_json()["number"] == 1


def test_html_not_gzipped(client):
    r = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in r.headers
