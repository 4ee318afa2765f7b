"""Rate-limit counters in the database, framework-free (gunicorn runs several workers: an
in-process counter would let each worker's share through).

A sliding window approximated by two fixed windows: the previous window's count weighted by
how much of it still overlaps. The counter is an upsert, so parallel requests in several
workers are each counted exactly once (20 parallel requests against a limit of 5 let 5 in).
"""

from __future__ import annotations

import math
import random
import time

from sqlalchemy import Engine, text

KEY_MAX = 200


def hit(engine: Engine, bucket: str, key: str, limit: int, per: int) -> int | None:
    """Count one request of ``key`` in ``bucket``; None if allowed, else the seconds to wait.
    Runs in its own short transaction, so a refused request is counted too."""
    now = time.time()
    window = int(now // per)
    elapsed = (now % per) / per
    with engine.begin() as conn:
        row = conn.execute(
            text(
                """
WITH up AS (
    INSERT INTO rate_limits AS r (bucket, key, window_start, count, expires_at)
    VALUES (:b, :k, :w, 1, now() + make_interval(secs => :keep))
    ON CONFLICT (bucket, key, window_start) DO UPDATE SET count = r.count + 1
    RETURNING count)
SELECT (SELECT count FROM up),
       coalesce((SELECT count FROM rate_limits
                 WHERE bucket = :b AND key = :k AND window_start = :w - 1), 0)
"""
            ),
            {"b": bucket, "k": key[:KEY_MAX], "w": window, "keep": 2 * per},
        ).one()
        if random.random() < 0.01:  # housekeeping now and then, not on every request
            conn.execute(text("DELETE FROM rate_limits WHERE expires_at < now()"))
    current, previous = row
    estimate = previous * (1 - elapsed) + current
    if estimate <= limit:
        return None
    # wait until the estimate falls back to the limit (at most the rest of this window + one)
    return max(1, math.ceil((1 - elapsed) * per))
