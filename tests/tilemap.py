"""What a map drawn from vector tiles shows, read in the browser (static/js/civictiles.js).

The map's container says, per layer, how many features the tiles covering the view hold
(``data-loaded-<layer>``) and which tiles those are (``data-tiles-<layer>`` = z/x0/y0/x1/y1);
these helpers turn that into the box the API is asked for, to compare the two.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode


def tile_requests(page, layer: str) -> list[str]:
    return [u for u in page.watch.requests if f"/tiles/{layer}/" in u]


def _lon(x: int, z: int) -> float:
    return x / 2**z * 360.0 - 180.0


def _lat(y: int, z: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 2**z))))


def view_bbox(page, layer: str, map_id: str = "map_main") -> tuple[float, float, float, float]:
    """The lon/lat box of the tiles the map counts for ``layer``."""
    z, x0, y0, x1, y1 = (
        int(v) for v in page.locator(f"#{map_id}").get_attribute(f"data-tiles-{layer}").split("/")
    )
    return (_lon(x0, z), _lat(y1 + 1, z), _lon(x1 + 1, z), _lat(y0, z))


def shown(page, layer: str, map_id: str = "map_main") -> int:
    return int(page.locator(f"#{map_id}").get_attribute(f"data-loaded-{layer}"))


def api_count(page, base: str, layer: str, bbox, **params) -> int:
    """Features the API returns for the box and filters (every page)."""
    # Shrunk by a hair: a point exactly on the east/north edge belongs to the next tile.
    w, s, e, n = bbox
    eps = 1e-9
    q = {**params, "bbox": f"{w},{s},{e - eps},{n - eps}", "limit": 5000}
    url = f"{base}/api/layers/{layer}/features?{urlencode(q)}"
    total = 0
    while url:
        body = page.request.get(url).json()
        total += len(body["features"])
        nxt = body.get("next")
        url = (nxt if nxt.startswith("http") else base + nxt) if nxt else None
    return total


def cluster_total(page, css: str = ".leaflet-marker-pane .civic-cluster") -> int:
    """The counts written in the cluster badges on the map (not the legend's sample)."""
    counts = page.locator(f"{css} .civic-cluster-count").all_inner_texts()
    return sum(int(c) for c in counts)
