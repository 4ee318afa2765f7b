"""Benchmark (not a test): z14 vector tiles of /tiles/budget-proposals against the bare ST_AsMVT.

    .venv/bin/python bench/tiles.py                    # 200 000 proposals, print the table
    .venv/bin/python bench/tiles.py --points 1000000 --write

A throwaway PostGIS cluster gets the migrated schema, the districts and N synthetic proposals
(bench/bbox.py ``fill``); the app runs under gunicorn (2 workers). For K random z14 tiles
around existing points, interleaved and shuffled after a warm-up:

* ``app, cold``: the first request of each tile (a cache miss: built and stored);
* ``app, warm``: the same tile again (served from tile_cache);
* ``app, 304``: revalidation with the ETag;
* ``bare SQL (app's)``: the app's own tile statement (layers.tiles.tile_sql) over libpq;
* ``bare SQL (5 attrs)``: bench/peers.py's TILE_FLOOR (5 attributes, as issue 11 measured).

tipg on the same table is in bench/peers.py (which now finds the app's tiles too).
``--write`` puts the table into bench/RESULTS.md between ``<!-- bench/tiles.py: start -->``
and ``end``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from sqlalchemy import text  # noqa: E402

from geo import db  # noqa: E402
from geo.cluster import Cluster  # noqa: E402
from layers import query as lq  # noqa: E402
from layers import tiles as lt  # noqa: E402
from layers.budget_proposals import LAYER  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- bench/tiles.py: start -->", "<!-- bench/tiles.py: end -->"
Z = 14
HEADERS = {"Accept-Encoding": "identity"}


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main() -> int:
    import bbox  # bench/bbox.py
    import peers  # bench/peers.py: the Server class, tile_of, TILE_FLOOR

    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--tiles", type=int, default=48)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--url", help="an already filled database (its tile cache is emptied)")
    args = ap.parse_args()
    os.environ.setdefault("CIVICMAP_FAST_UNSAFE", "1")
    cluster = None
    if not args.url:
        workdir = Path(tempfile.mkdtemp(prefix="civicmap-tiles-", dir="/var/tmp"))
        os.chmod(workdir, 0o755)
        cluster = Cluster(workdir / "pg")
        cluster.start()
    server = None
    try:
        url, fill_s = (args.url, 0.0) if args.url else bbox.seeded(cluster, args.points, args.seed)
        with db.engine(url).begin() as conn:
            conn.execute(text("TRUNCATE tile_cache"))
            args.points = conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one()
        with db.engine(url).connect() as conn:
            centres = peers.viewports(conn, args.tiles, args.seed)
            ver = conn.execute(
                text("SELECT current_setting('server_version'), postgis_lib_version()")
            ).one()
        tiles = sorted({peers.tile_of((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, Z) for b in centres})
        server = peers.app_server(url, "/tiles")
        server.wait()
        import psycopg

        libpq = url.replace("postgresql+psycopg://", "postgresql://")
        pg = psycopg.connect(libpq, autocommit=True)
        pg.execute("SET max_parallel_workers_per_gather = 0")
        s = requests.Session()
        t = {k: [] for k in ("cold", "warm", "304", "bare app", "bare 5")}
        sizes, bare_sizes = [], []
        # warm-up on other tiles (a row shift), not on the measured ones
        measured = set(tiles)
        for x, y in tiles[:8]:
            k = next(k for k in range(1, 99) if (x, y + k) not in measured)
            s.get(f"{server.base}/tiles/budget-proposals/{Z}/{x}/{y + k}.mvt", headers=HEADERS)
        order = list(tiles)
        random.Random(args.seed).shuffle(order)
        for x, y in order:
            u = f"{server.base}/tiles/budget-proposals/{Z}/{x}/{y}.mvt"
            t0 = time.perf_counter()
            r = s.get(u, headers=HEADERS)
            t["cold"].append((time.perf_counter() - t0) * 1000)
            assert r.headers.get("X-Tile-Cache") == "miss", r.headers
            sizes.append(len(r.content))
            steps = ["warm", "304", "bare app", "bare 5"]
            random.shuffle(steps)
            for step in steps:
                t0 = time.perf_counter()
                if step == "warm":
                    w = s.get(u, headers=HEADERS)
                    assert w.headers["X-Tile-Cache"] == "hit" and w.content == r.content
                elif step == "304":
                    w = s.get(u, headers={**HEADERS, "If-None-Match": r.headers["ETag"]})
                    assert w.status_code == 304
                elif step == "bare app":
                    params: dict = {}
                    sql = lt.tile_sql(LAYER, lq.FeatureQuery(), Z, x, y, params)
                    data = pg.execute(re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql), params)
                    data = data.fetchone()[0]
                    bare_sizes.append(len(bytes(data)))
                else:
                    pg.execute(
                        peers.TILE_FLOOR,
                        {"z": Z, "x": x, "y": y, "s": list(LAYER.workflow.public_states)},
                    ).fetchone()
                t[step].append((time.perf_counter() - t0) * 1000)
        pg.close()
        rows = []
        labels = {
            "cold": "app, cold (cache miss: built + stored)",
            "warm": "app, warm (tile_cache hit)",
            "304": "app, 304 (If-None-Match)",
            "bare app": "bare SQL: the app's tile statement (17 attributes)",
            "bare 5": "bare SQL: issue 11's ST_AsMVT (5 attributes)",
        }
        for k, label in labels.items():
            v = t[k]
            rows.append(
                f"| {label} | {statistics.median(v):.1f} | {percentile(v, 0.95):.1f} | "
                f"{statistics.median(v) / statistics.median(t['bare app']):.2f}× |"
            )
        load = os.getloadavg()
        section = "\n".join(
            [
                START,
                "## Vector tiles (bench/tiles.py, issue 11)",
                "",
                f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {args.points:,} "
                f"synthetic proposals ({f'loaded in {fill_s:.0f} s' if fill_s else 'an existing database'}); PostgreSQL {ver[0]}, PostGIS "
                f"{ver[1]}; the app on gunicorn, 2 workers x 4 threads; 2 CPUs shared with "
                f"other sessions (load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}). "
                f"{len(tiles)} random z{Z} tiles around existing points, median "
                f"{statistics.median(sizes) / 1024:.0f} KiB (the bare statement's "
                f"{statistics.median(bare_sizes) / 1024:.0f} KiB); client wall time in ms; the bare "
                "SQL over libpq, one row.",
                "",
                "| request | median | p95 | ÷ bare SQL (app's statement) |",
                "|---|---|---|---|",
                *rows,
                "",
                "tipg on the same table: bench/peers.py (its z14 tile row now includes the app).",
                END,
            ]
        )
        print(section)
        if args.write:
            doc = RESULTS.read_text(encoding="utf-8")
            if START in doc and END in doc:
                doc = doc[: doc.index(START)] + section + doc[doc.index(END) + len(END) :]
            else:
                doc = doc.rstrip("\n") + "\n\n" + section + "\n"
            RESULTS.write_text(doc, encoding="utf-8")
        return 0
    finally:
        if server is not None:
            server.stop()
        if cluster is not None:
            cluster.destroy()


if __name__ == "__main__":
    raise SystemExit(main())
