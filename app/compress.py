"""gzip for JSON, GeoJSON and vector-tile responses when the client accepts it (issue 11).

An ``after_request`` hook: skips small bodies, streamed/direct-passthrough responses, bodies that
already carry a ``Content-Encoding`` and 304/204s; always adds ``Vary: Accept-Encoding`` to the
compressible types so caches keep the two variants apart.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

MIN_SIZE = 1024
COMPRESSIBLE = (
    "application/json",
    "application/geo+json",
    "application/vnd.mapbox-vector-tile",
    "application/vnd.oai.openapi+json",
    "application/schema+json",
)


def _compressible(mimetype: str | None) -> bool:
    return bool(mimetype) and (mimetype in COMPRESSIBLE or mimetype.endswith("+json"))


def _accepts_gzip() -> bool:
    return "gzip" in request.accept_encodings and request.accept_encodings["gzip"] > 0


def compress_response(resp: Response) -> Response:
    if not _compressible(resp.mimetype):
        return resp
    resp.vary.add("Accept-Encoding")
    if (
        resp.status_code < 200
        or resp.status_code in (204, 206, 304)
        or resp.direct_passthrough
        or resp.is_streamed
        or "Content-Encoding" in resp.headers
        or not _accepts_gzip()
    ):
        return resp
    data = resp.get_data()
    if len(data) < MIN_SIZE:
        return resp
    resp.set_data(gzip.compress(data, compresslevel=5))
    resp.headers["Content-Encoding"] = "gzip"
    if resp.headers.get("ETag") and not resp.headers["ETag"].startswith("W/"):
        # the bytes changed: a strong validator for the identity body must not be reused
        resp.headers["ETag"] = resp.headers["ETag"][:-1] + '-gz"'
    return resp


def init_app(app: Flask) -> None:
    app.after_request(compress_response)
