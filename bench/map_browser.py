"""Benchmark (not a test): the whole city's map of N proposals in headless Chromium (issue 11).

    .venv/bin/python bench/map_browser.py                       # 1 000 000 proposals
    .venv/bin/python bench/map_browser.py --points 200000 --write

A throwaway PostGIS cluster gets the migrated schema, the districts and N synthetic proposals
(bench/bbox.py ``fill``); the app runs under gunicorn (2 workers x 4 threads) and Debian's
chromium (playwright) opens the city map (/, the proposals layer only) at z 11, at phone and desktop
size, twice each: cold (the tile cache empty) and warm (cached tiles). For each load:

* first render: from the navigation to the map saying what its tiles hold
  (``data-loaded-budget-proposals``, static/js/civictiles.js);
* every feature accounted for: the map's count for its tiles equals a bare SQL count of the
  public proposals in those tiles' box, and the clusters' badges add up to it;
* DOM nodes for features (markers, SVG paths, tile canvases): at most 2 000.

``--write`` puts the table into bench/RESULTS.md between ``<!-- bench/map_browser.py: start -->``
and ``end``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import text  # noqa: E402

from geo import db  # noqa: E402
from geo.cluster import Cluster  # noqa: E402
from layers import query as lq  # noqa: E402
from layers.budget_proposals import LAYER  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- bench/map_browser.py: start -->", "<!-- bench/map_browser.py: end -->"
CHROMIUM = "/usr/bin/chromium"
NODES = (
    "() => document.querySelectorAll('#map_main .leaflet-marker-pane > *, "
    "#map_main path.leaflet-interactive, #map_main canvas.civic-tile').length"
)
CLUSTERED = (
    "() => [...document.querySelectorAll('#map_main .leaflet-marker-pane .civic-cluster-count')]"
    ".reduce((n, e) => n + Number(e.textContent), 0) + "
    "document.querySelectorAll('#map_main .leaflet-marker-pane .civic-point').length"
)


def tile_box(tiles: str) -> tuple[float, float, float, float]:
    z, x0, y0, x1, y1 = (int(v) for v in tiles.split("/"))

    def lon(x: int) -> float:
        return x / 2**z * 360.0 - 180.0

    def lat(y: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 2**z))))

    return (lon(x0), lat(y1 + 1), lon(x1 + 1), lat(y0))


def sql_count(conn, box) -> int:
    """Public proposals in the box, by the read path's own WHERE (layers.query)."""
    w, s, e, n = box
    q = lq.FeatureQuery(bbox=(w, s, e - 1e-9, n - 1e-9))
    params: dict = {}
    where = lq.where_clause(LAYER, q, params)
    return conn.execute(
        text(f"SELECT count(*) FROM {lq.source_sql(LAYER, q)} WHERE {where}"), params
    ).scalar_one()


def main() -> int:
    import bbox  # bench/bbox.py
    import peers  # bench/peers.py: the Server class
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--url", help="an already filled database (skip the throwaway cluster)")
    args = ap.parse_args()
    os.environ.setdefault("CIVICMAP_FAST_UNSAFE", "1")
    cluster = None
    if not args.url:
        workdir = Path(tempfile.mkdtemp(prefix="civicmap-mapbench-", dir="/var/tmp"))
        os.chmod(workdir, 0o755)
        cluster = Cluster(workdir / "pg")
        cluster.start()
    server = None
    try:
        url, fill_s = (args.url, 0.0) if args.url else bbox.seeded(cluster, args.points, args.seed)
        with db.engine(url).connect() as conn:
            args.points = conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one()
        server = peers.app_server(url, "/tiles")
        server.wait()
        rows = []
        with sync_playwright() as pw, db.engine(url).connect() as conn:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for w, h in ((390, 844), (1280, 800)):
                for run in ("cold", "warm"):
                    if run == "cold":
                        conn.execute(text("TRUNCATE tile_cache"))
                        conn.commit()
                    page = browser.new_context(viewport={"width": w, "height": h}).new_page()
                    seen: list[str] = []
                    page.on("console", lambda m, seen=seen: seen.append(f"console: {m.text}"))
                    page.on("response", lambda r, seen=seen: seen.append(f"{r.status} {r.url}"))
                    t0 = time.perf_counter()
                    page.goto(f"{server.base}/#map=11/50.0500/19.9500&layers=budget-proposals")
                    try:
                        page.wait_for_selector(
                            "#map_main[data-loaded-budget-proposals]",
                            state="attached",
                            timeout=120000,
                        )
                    except Exception:
                        print("\n".join(seen[-40:]), file=sys.stderr)
                        raise
                    first = time.perf_counter() - t0
                    page.wait_for_load_state("networkidle")
                    shown = int(page.get_attribute("#map_main", "data-loaded-budget-proposals"))
                    tiles = page.get_attribute("#map_main", "data-tiles-budget-proposals")
                    counted = sql_count(conn, tile_box(tiles))
                    clustered = page.evaluate(CLUSTERED)
                    nodes = page.evaluate(NODES)
                    rows.append((f"{w}×{h}", run, first, shown, counted, clustered, nodes, tiles))
                    print(rows[-1], flush=True)
                    page.context.close()
            browser.close()
        ok = all(r[3] == r[4] == r[5] and r[6] <= 2000 for r in rows)
        load = os.getloadavg()
        lines = [
            f"| {size} | {run} | {first:.2f} | {shown:,} | {counted:,} | {clustered:,} | "
            f"{nodes} | `{tiles}` |"
            for size, run, first, shown, counted, clustered, nodes, tiles in rows
        ]
        section = "\n".join(
            [
                START,
                "## The whole city in the browser (bench/map_browser.py, issue 11)",
                "",
                f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {args.points:,} "
                f"synthetic proposals (loaded in {fill_s:.0f} s); the app on gunicorn, 2 workers "
                "x 4 threads; Debian chromium (headless, playwright) on the same 2 CPUs (load "
                f"average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}). "
                "the city map (/) with the proposals only, at z 11; first render = navigation to "
                "the map's count for its tiles; cold = empty tile cache (the first miss warms "
                "the city's z 0-12 tiles in one pass, layers/tile_warm.py).",
                "",
                "| viewport | tiles | first render (s) | on the map | SQL count, same tiles' box "
                "| sum of the clusters | feature DOM nodes | tiles (z/x0/y0/x1/y1) |",
                "|---|---|---|---|---|---|---|---|",
                *lines,
                "",
                "Every feature accounted for and at most 2 000 feature nodes: "
                + ("**yes**" if ok else "**no**")
                + ".",
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
        return 0 if ok else 1
    finally:
        if server is not None:
            server.stop()
        if cluster is not None:
            cluster.destroy()


if __name__ == "__main__":
    raise SystemExit(main())
