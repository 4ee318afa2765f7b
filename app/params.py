"""Query-parameter parsing that fails with a 400 naming the parameter."""

from __future__ import annotations

import math

from flask import request

from app.errors import ApiError


def float_arg(
    name: str,
    *,
    required: bool = True,
    default: float | None = None,
    lo: float | None = None,
    hi: float | None = None,
) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise ApiError(400, "missing_parameter", f"parameter '{name}' is required", name)
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(
            400, "invalid_parameter", f"parameter '{name}' must be a number, got {raw!r}", name
        ) from None
    if not math.isfinite(value):
        raise ApiError(
            400, "invalid_parameter", f"parameter '{name}' must be a finite number", name
        )
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ApiError(
            400, "invalid_parameter", f"parameter '{name}' must be between {lo} and {hi}", name
        )
    return value


def int_arg(
    name: str, *, default: int | None = None, lo: int | None = None, hi: int | None = None
) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400,
            "invalid_parameter",
            f"parameter '{name}' must be a whole number, got {raw!r}",
            name,
        ) from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ApiError(
            400, "invalid_parameter", f"parameter '{name}' must be between {lo} and {hi}", name
        )
    return value


def bbox_arg(name: str = "bbox") -> tuple[float, float, float, float] | None:
    """bbox=west,south,east,north in degrees (lon/lat)."""
    raw = request.args.get(name)
    if not raw:
        return None
    parts = raw.split(",")
    if len(parts) != 4:
        raise ApiError(
            400,
            "invalid_parameter",
            f"parameter '{name}' needs 4 numbers: west,south,east,north",
            name,
        )
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError:
        raise ApiError(
            400, "invalid_parameter", f"parameter '{name}' must be numbers", name
        ) from None
    if not all(math.isfinite(v) for v in (w, s, e, n)) or w > e or s > n:
        raise ApiError(
            400,
            "invalid_parameter",
            f"parameter '{name}' must be finite with west<=east, south<=north",
            name,
        )
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise ApiError(
            400, "invalid_parameter", f"parameter '{name}' lies outside lon/lat ranges", name
        )
    return w, s, e, n
