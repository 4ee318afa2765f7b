"""The basemap through our own host: a small, polite caching proxy for raster tiles.

Framework-free (app/basemap/ is the Flask side). Pages load ``/basemap/{z}/{x}/{y}.png`` from
us; we fetch a tile from the configured upstream only when a page asks for it (never a bulk
prefetch), keep it on disk under var/ for as long as the upstream's ``Cache-Control: max-age``
(or ``Expires``) allows, revalidate it with ``If-None-Match``/``If-Modified-Since`` after
that, and evict the least recently used tiles when the cache grows past its size limit.
OpenStreetMap's tile usage policy (https://operations.osmfoundation.org/policies/tiles/) asks
for exactly that: a descriptive User-Agent, caching per the HTTP headers, no bulk downloads,
at most two parallel downloads.

Upstream templates: ``{z}``, ``{x}``, ``{y}`` (XYZ/WMTS REST in Web Mercator, e.g. OSM's
``https://tile.openstreetmap.org/{z}/{x}/{y}.png``), or ``{bbox}`` for a WMS GetMap in
EPSG:3857 (``…&BBOX={bbox}&WIDTH=256&HEIGHT=256&SRS=EPSG:3857…``), so MSIP Kraków's
orthophoto works in either of its published forms.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import math
import os
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
OSM_COPYRIGHT = "https://www.openstreetmap.org/copyright"
DEFAULT_USER_AGENT = "CivicMapKrakow/1.0 (civic participation map; self-hosted tile cache)"
DEFAULT_MAX_AGE = 7 * 24 * 3600  # no caching headers upstream: keep a week (OSM's advice)
MIN_MAX_AGE = 3600  # never ask the upstream for the same tile more than once an hour
OFFLINE_RETRY = 30.0  # after a network failure, answer "unavailable" for this long
_MAX_TILE_BYTES = 2 * 1024 * 1024
_ACCEPTED_TYPES = ("image/png", "image/jpeg", "image/webp")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.I)
_HALF = 20037508.342789244  # half the Web Mercator extent, metres


class BasemapError(ValueError):
    """A tile address we do not serve (the route answers 400 or 404 naming the parameter)."""

    def __init__(self, message: str, param: str, status: int = 400):
        super().__init__(message)
        self.param = param
        self.status = status


class Unavailable(RuntimeError):
    """No upstream configured, or it cannot be reached and the tile is not cached."""


@dataclass(frozen=True)
class Upstream:
    url: str
    attribution: str = OSM_ATTRIBUTION
    attribution_url: str = OSM_COPYRIGHT
    min_zoom: int = 9
    max_zoom: int = 19
    # lon/lat box the proxy serves (the city and a margin): keeps it from being an open proxy
    bounds: tuple[float, float, float, float] | None = None


def resolve(setting: str | None) -> str | None:
    """The upstream template for a BASEMAP / BASEMAP_UPSTREAM setting (None: no basemap)."""
    value = (setting or "").strip()
    if value.lower() in ("", "none", "off"):
        return None
    if value.lower() == "osm":
        return OSM_URL
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"basemap upstream must be 'osm', 'none' or an http(s) URL: {value!r}")
    if "{bbox}" not in value and not all(p in value for p in ("{z}", "{x}", "{y}")):
        raise ValueError("basemap upstream needs {z}, {x} and {y} (or {bbox} for WMS)")
    return value


def tile_range(z: int, bounds: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the tiles at zoom z that cover a lon/lat box."""
    w, s, e, n = bounds
    x0, y1 = lonlat_to_tile(w, s, z)
    x1, y0 = lonlat_to_tile(e, n, z)
    return x0, y0, x1, y1


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    lat = max(-85.0511, min(85.0511, lat))
    x = int((lon + 180.0) / 360.0 * n)
    r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_bbox_3857(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    size = 2 * _HALF / 2**z
    return (-_HALF + x * size, _HALF - (y + 1) * size, -_HALF + (x + 1) * size, _HALF - y * size)


@dataclass
class Tile:
    body: bytes
    content_type: str
    etag: str
    max_age: int  # seconds the browser may keep it
    source: str  # "cache" | "upstream" | "revalidated" | "stale"


class TileCache:
    """Tiles on disk at ``root/z/x/y`` (+ ``y.json`` with etag, expiry, type)."""

    def __init__(
        self,
        root: Path,
        upstream: Upstream | None,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        max_bytes: int = 200 * 1024 * 1024,
        timeout: float = 5.0,
        parallel: int = 2,
    ):
        self.root = Path(root)
        self.upstream = upstream
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._fetching = threading.BoundedSemaphore(parallel)
        self._lock = threading.Lock()
        self._size: int | None = None  # bytes on disk (estimate, rescanned on eviction)
        self._offline_until = 0.0
        self.upstream_requests = 0  # for tests and the status line

    # --- addresses ------------------------------------------------------------------------

    def check(self, z: int, x: int, y: int) -> None:
        up = self.upstream
        lo, hi = (up.min_zoom, up.max_zoom) if up else (0, 19)
        if not lo <= z <= hi:
            raise BasemapError(f"z must be between {lo} and {hi}", "z", 404)
        n = 2**z
        if not 0 <= x < n:
            raise BasemapError(f"x must be between 0 and {n - 1} at zoom {z}", "x")
        if not 0 <= y < n:
            raise BasemapError(f"y must be between 0 and {n - 1} at zoom {z}", "y")
        if up and up.bounds:
            x0, y0, x1, y1 = tile_range(z, up.bounds)
            if not (x0 <= x <= x1 and y0 <= y <= y1):
                raise BasemapError("tile outside the area this map serves", "x", 404)

    def _paths(self, z: int, x: int, y: int) -> tuple[Path, Path]:
        d = self.root / str(z) / str(x)
        return d / f"{y}.tile", d / f"{y}.json"

    def url(self, z: int, x: int, y: int) -> str:
        assert self.upstream
        tpl = self.upstream.url
        if "{bbox}" in tpl:
            tpl = tpl.replace("{bbox}", ",".join(f"{v:.3f}" for v in tile_bbox_3857(z, x, y)))
        return tpl.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))

    # --- the one entry point --------------------------------------------------------------

    def get(self, z: int, x: int, y: int) -> Tile:
        self.check(z, x, y)
        if self.upstream is None:
            raise Unavailable("no basemap upstream is configured")
        body_path, meta_path = self._paths(z, x, y)
        meta = _read_meta(meta_path)
        now = time.time()
        if meta and body_path.exists():
            if now < meta["expires"]:
                _touch(body_path)
                return self._tile(body_path, meta, "cache")
            return self._revalidate(z, x, y, body_path, meta_path, meta)
        return self._fetch(z, x, y, body_path, meta_path)

    def _tile(self, body_path: Path, meta: dict, source: str) -> Tile:
        remaining = int(meta["expires"] - time.time())
        return Tile(
            body=body_path.read_bytes(),
            content_type=meta["type"],
            etag=meta["etag"],
            max_age=max(60, min(remaining, 86400)),
            source=source,
        )

    def _request(self, z: int, x: int, y: int, meta: dict | None):
        if time.monotonic() < self._offline_until:
            raise Unavailable("the basemap upstream was unreachable a moment ago")
        headers = {"User-Agent": self.user_agent, "Accept": "image/png,image/*;q=0.8"}
        if meta and meta.get("upstream_etag"):
            headers["If-None-Match"] = meta["upstream_etag"]
        if meta and meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
        req = urllib.request.Request(self.url(z, x, y), headers=headers)
        with self._fetching:
            self.upstream_requests += 1
            try:
                resp = urllib.request.urlopen(req, timeout=self.timeout)  # noqa: S310 (http/https only, checked in resolve)
            except urllib.error.HTTPError as exc:
                if exc.code == 304:
                    return 304, exc.headers, b""
                raise Unavailable(f"upstream answered {exc.code}") from None
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                self._offline_until = time.monotonic() + OFFLINE_RETRY
                raise Unavailable(f"upstream unreachable: {exc}") from None
            with resp:
                body = resp.read(_MAX_TILE_BYTES + 1)
                return resp.status, resp.headers, body

    def _fetch(self, z, x, y, body_path: Path, meta_path: Path) -> Tile:
        status, headers, body = self._request(z, x, y, None)
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if status != 200 or ctype not in _ACCEPTED_TYPES or len(body) > _MAX_TILE_BYTES:
            raise Unavailable(f"upstream gave {status} {ctype or 'no content type'}")
        meta = self._meta(headers, body, ctype)
        self._store(body_path, meta_path, body, meta)
        return self._tile(body_path, meta, "upstream")

    def _revalidate(self, z, x, y, body_path: Path, meta_path: Path, meta: dict) -> Tile:
        try:
            status, headers, body = self._request(z, x, y, meta)
        except Unavailable:
            # Stale is better than nothing when the upstream is away (stale-if-error).
            meta = {**meta, "expires": time.time() + 300}
            return self._tile(body_path, meta, "stale")
        if status == 304:
            meta = {**meta, "expires": time.time() + _max_age(headers)}
            _write_json(meta_path, meta)
            _touch(body_path)
            return self._tile(body_path, meta, "revalidated")
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if status != 200 or ctype not in _ACCEPTED_TYPES:
            return self._tile(body_path, {**meta, "expires": time.time() + 300}, "stale")
        new = self._meta(headers, body, ctype)
        self._store(body_path, meta_path, body, new)
        return self._tile(body_path, new, "upstream")

    def _meta(self, headers, body: bytes, ctype: str) -> dict:
        return {
            "type": ctype,
            "etag": '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            "upstream_etag": headers.get("ETag"),
            "last_modified": headers.get("Last-Modified"),
            "expires": time.time() + _max_age(headers),
        }

    # --- disk and eviction ----------------------------------------------------------------

    def _store(self, body_path: Path, meta_path: Path, body: bytes, meta: dict) -> None:
        body_path.parent.mkdir(parents=True, exist_ok=True)
        old = body_path.stat().st_size if body_path.exists() else 0
        tmp = body_path.with_name(f".{body_path.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_bytes(body)
        os.replace(tmp, body_path)
        _write_json(meta_path, meta)
        with self._lock:
            if self._size is None:
                self._size = self.disk_usage()
            else:
                self._size += len(body) - old
            over = self._size > self.max_bytes
        if over:
            self.evict()

    def disk_usage(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*.tile") if p.is_file())

    def evict(self) -> int:
        """Remove least recently used tiles until the cache is at 90 % of its limit."""
        with self._lock:
            tiles = []
            for p in self.root.rglob("*.tile"):
                try:
                    st = p.stat()
                except FileNotFoundError:
                    continue
                tiles.append((st.st_mtime, st.st_size, p))
            total = sum(t[1] for t in tiles)
            target = int(self.max_bytes * 0.9)
            removed = 0
            for _mtime, size, p in sorted(tiles):
                if total <= target:
                    break
                for q in (p, p.with_suffix(".json")):
                    try:
                        q.unlink()
                    except FileNotFoundError:
                        pass
                total -= size
                removed += 1
            self._size = total
            return removed


def _max_age(headers) -> int:
    cc = headers.get("Cache-Control") or ""
    if "no-store" in cc.lower() or "no-cache" in cc.lower():
        return MIN_MAX_AGE
    m = _MAX_AGE.search(cc)
    if m:
        return max(MIN_MAX_AGE, int(m.group(1)))
    exp = headers.get("Expires")
    if exp:
        try:
            when = email.utils.parsedate_to_datetime(exp).timestamp()
            return max(MIN_MAX_AGE, int(when - time.time()))
        except (TypeError, ValueError):
            pass
    return DEFAULT_MAX_AGE


def _read_meta(path: Path) -> dict | None:
    try:
        meta = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return meta if isinstance(meta, dict) and {"type", "etag", "expires"} <= meta.keys() else None


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _touch(path: Path) -> None:
    try:
        os.utime(path)  # the mtime is the LRU clock
    except FileNotFoundError:
        pass
