"""Benchmark (not a test): 2 km x 2 km viewport queries over 200 000 budget proposals.

    .venv/bin/python bench/bbox.py                 # print the results
    .venv/bin/python bench/bbox.py --write         # and update its section of bench/RESULTS.md

A throwaway PostGIS cluster (geo.cluster.Cluster, as tests/conftest.py makes) gets the
migrated schema and Kraków's 18 districts; N points (default 200 000) are generated inside
the city with ST_GeneratePoints - half spread evenly over the city, half concentrated around
the centre (where real proposals cluster), so central viewports are the dense worst case.
Then random 2 km x 2 km viewports, each centred on a random existing point (so none is
empty), go through layers.query.features - the exact SQL the API runs - at the API's
default limit (100), the map's (1000) and the API's maximum (5000), on sessions as the app
opens them (geo.db.engine: JIT off) and, interleaved, with parallel workers off too. Each
viewport runs 3 times and the best counts, for three timings: the server's own logged
duration of the app's statement (``log_min_duration_statement = 0`` on the throwaway
cluster), ``EXPLAIN (ANALYZE, TIMING OFF)`` of the same statement (the GeoJSON of every
returned feature is built inside it), and the client wall time of ``features()``. One plan is shown in full (``EXPLAIN (ANALYZE, BUFFERS)``) to show the GiST
index at work, and the queries are timed with index scans disabled for comparison.
``--url`` measures an already filled database instead (no server-log column then).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402

from geo import db  # noqa: E402
from geo.cities import KRAKOW  # noqa: E402
from geo.cluster import Cluster  # noqa: E402
from importers.districts import load_districts  # noqa: E402
from layers.budget_proposals import LAYER  # noqa: E402
from layers.query import MAX_LIMIT, FeatureQuery, features  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- bench/bbox.py:start -->", "<!-- bench/bbox.py:end -->"
KM_LAT = 1 / 111.32  # degrees of latitude per km
RYNEK = (19.9373, 50.0617)
MAP_LIMIT = 1000  # what static/js/civicmap.js asks for per viewport
LIMITS = (100, MAP_LIMIT, MAX_LIMIT)  # the API default, the map, the API maximum
# Session settings compared (on top of geo.db.engine's, which switches JIT off):
SERIAL = ("SET max_parallel_workers_per_gather = 0",)
CONFIGS = {"app sessions (geo.db.engine)": (), "+ no parallel workers": SERIAL}
REPEAT = 3  # runs per viewport; the best one counts (a shared machine adds noise, not speed)


def km_lon(lat: float) -> float:
    import math

    return 1 / (111.32 * math.cos(math.radians(lat)))


def fill(conn, n: int, seed: int) -> float:
    """n points inside the city: half uniform, half around the centre. Returns seconds."""
    t0 = time.perf_counter()
    states = ["accepted_for_vote", "selected", "not_selected", "in_execution", "completed"]
    cats = list(LAYER.field("category").choices)
    conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
    conn.execute(
        text(
            """
            CREATE TEMP TABLE pts AS
            SELECT (ST_Dump(ST_GeneratePoints(c.geom, :half, :seed))).geom AS geom FROM city c
            UNION ALL
            SELECT p.geom FROM (
                SELECT ST_SetSRID(ST_MakePoint(
                    :lon + (random() + random() + random() - 1.5) * 0.05,
                    :lat + (random() + random() + random() - 1.5) * 0.03), 4326) AS geom
                FROM generate_series(1, :central * 2)) p, city c
            WHERE ST_Intersects(c.geom, p.geom)"""
        ),
        {"half": n // 2, "central": n - n // 2, "seed": seed, "lon": RYNEK[0], "lat": RYNEK[1]},
    )
    # The write trigger checks "inside the city" and computes districts row by row (~1 ms a
    # row against the 8 800-vertex outline): for a bulk load it is switched off and the same
    # rule (districts intersecting the point, else the nearest) runs in one statement.
    conn.execute(text("ALTER TABLE budget_proposals DISABLE TRIGGER budget_proposals_write"))
    conn.execute(
        text(
            """
            INSERT INTO budget_proposals (external_id, geom, districts, edition, title,
                                          category, cost, scope, status, votes)
            SELECT 'bench:' || i, geom,
                   coalesce(
                       nullif(ARRAY(SELECT d.number FROM districts d
                                    WHERE ST_Intersects(d.geom, s.geom) ORDER BY d.number),
                              '{}'),
                       ARRAY(SELECT d.number FROM districts d ORDER BY d.geom <-> s.geom
                             LIMIT 1)),
                   2013 + (i % 12), 'Projekt testowy ' || i,
                   (CAST(:cats AS text[]))[1 + i % cardinality(CAST(:cats AS text[]))],
                   (i % 1000) * 1000, 'district',
                   (CAST(:states AS text[]))[1 + i % cardinality(CAST(:states AS text[]))],
                   i % 5000
            FROM (SELECT geom, row_number() OVER () AS i FROM pts LIMIT :n) s"""
        ),
        {"n": n, "cats": cats, "states": states},
    )
    conn.execute(text("ALTER TABLE budget_proposals ENABLE TRIGGER budget_proposals_write"))
    conn.execute(text("ANALYZE budget_proposals"))
    return time.perf_counter() - t0


def seeded(cluster: Cluster, points: int, seed: int) -> tuple[str, float]:
    """A database in ``cluster`` with the migrated schema, the districts and ``points``
    synthetic proposals, vacuumed and analysed. Returns its URL and the fill's seconds."""
    url = cluster.create_database("bench")
    db.migrate(url)
    with db.engine(url).begin() as conn:
        load_districts(conn, KRAKOW)
    with db.engine(url).begin() as conn:
        fill_s = fill(conn, points, seed)
    with db.engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE budget_proposals"))
    db.engine(url).dispose()
    return url, fill_s


def viewports(conn, k: int, seed: int) -> list[tuple[float, float, float, float]]:
    rows = conn.execute(
        text(
            "SELECT ST_X(geom), ST_Y(geom) FROM budget_proposals "
            "ORDER BY md5(id::text || :s) LIMIT :k"
        ),
        {"k": k, "s": str(seed)},
    ).all()
    out = []
    for lon, lat in rows:
        dx, dy = km_lon(lat), KM_LAT  # +-1 km: a 2 km x 2 km square
        out.append((lon - dx, lat - dy, lon + dx, lat + dy))
    return out


class Capture:
    """The last SQL statement and parameters a connection ran (to EXPLAIN exactly that)."""

    def __init__(self, engine):
        self.statement = ""
        self.params = None
        event.listen(engine, "before_cursor_execute", self._grab)

    def _grab(self, conn, cursor, statement, parameters, context, executemany):
        self.statement, self.params = statement, parameters


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class ServerLog:
    """Server-side durations of the app's own statements from the cluster's log
    (``log_min_duration_statement = 0``): parse + bind + execute of each features query
    exactly as the API runs it (psycopg prepares a statement after five runs, and PostgreSQL
    may then use a generic plan - EXPLAIN alone would not show that)."""

    RX = re.compile(
        r"\[(\d+)\] LOG:  duration: ([0-9.]+) ms\s+(parse|bind|execute) [^:]*:"
        r"\s*(SELECT '\{\"type\":\"Feature\")?"
    )

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def features_ms(self, pid: int, expected: int) -> list[float]:
        for _ in range(50):  # the server writes its log asynchronously
            out = self._read(pid)
            if len(out) >= expected:
                return out
            time.sleep(0.02)
        return out

    def _read(self, pid: int) -> list[float]:
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read().decode("utf-8", errors="replace")
        out: list[float] = []
        acc = 0.0
        for m in self.RX.finditer(chunk):
            if int(m.group(1)) != pid or not m.group(4):
                continue
            acc += float(m.group(2))
            if m.group(3) == "execute":
                out.append(acc)
                acc = 0.0
        return out


@dataclass
class Timings:
    returned: list[int] = field(default_factory=list)
    client: list[float] = field(default_factory=list)  # wall time of features(), ms
    app: list[float] = field(default_factory=list)  # server log: the app's statement, ms
    explain: list[float] = field(default_factory=list)  # EXPLAIN ANALYZE execution, ms


def measure_box(conn, cap: Capture, box, limit: int, t: Timings, log: ServerLog | None) -> None:
    """REPEAT runs of one viewport; the best of each timing is kept."""
    if log:
        log.mark()
    walls = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        page = features(conn, LAYER, FeatureQuery(bbox=box, limit=limit))
        walls.append((time.perf_counter() - t0) * 1000)
    statement, params = cap.statement, cap.params  # before any other query is captured
    t.returned.append(len(page.features))
    t.client.append(min(walls))
    if log:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        logged = log.features_ms(pid, REPEAT)
        if logged:
            t.app.append(min(logged))
    raw = conn.connection.driver_connection
    best = float("inf")
    with raw.cursor() as cur:
        for _ in range(REPEAT):
            cur.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + statement, params)
            best = min(best, cur.fetchone()[0][0]["Execution Time"])
    t.explain.append(best)


def run_all(engine, cap: Capture, boxes, log: ServerLog | None) -> dict:
    """Every viewport at every limit, the configurations interleaved viewport by viewport
    (one connection each), so a change in the machine's load hits them alike."""
    results = {(label, limit): Timings() for label in CONFIGS for limit in LIMITS}
    conns = {label: engine.connect() for label in CONFIGS}
    try:
        for label, config in CONFIGS.items():
            for setting in config:
                conns[label].execute(text(setting))
        for box in boxes:
            for limit in LIMITS:
                for label in CONFIGS:
                    measure_box(conns[label], cap, box, limit, results[label, limit], log)
    finally:
        for conn in conns.values():
            conn.rollback()
            conn.close()
    return results


def full_plan(engine, cap: Capture, box, limit: int, settings=()) -> str:
    with engine.connect() as conn:
        for setting in settings:
            conn.execute(text(setting))
        features(conn, LAYER, FeatureQuery(bbox=box, limit=limit))
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + cap.statement, cap.params)
            plan = "\n".join(r[0] for r in cur.fetchall())
        conn.rollback()
    return plan


def without_index(engine, cap: Capture, boxes, limit: int) -> list[float]:
    with engine.connect() as conn:
        conn.execute(text("SET enable_indexscan = off"))
        conn.execute(text("SET enable_bitmapscan = off"))
        out = []
        for box in boxes:
            features(conn, LAYER, FeatureQuery(bbox=box, limit=limit))
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                cur.execute(
                    "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + cap.statement, cap.params
                )
                out.append(cur.fetchone()[0][0]["Execution Time"])
        conn.rollback()
    return out


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU(s) {cpu}, Python {platform.python_version()}, {platform.system()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--write", action="store_true", help="update this section of RESULTS.md")
    ap.add_argument("--url", help="an already filled database (skip the throwaway cluster)")
    args = ap.parse_args()
    if args.url:
        return measure(args, args.url, None, 0.0, 0.0)

    base = Path(tempfile.mkdtemp(prefix="civicmap-bench-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    os.environ.setdefault("CIVICMAP_FAST_UNSAFE", "1")  # a throwaway cluster: fsync off
    cluster = Cluster(base)
    try:
        t0 = time.perf_counter()
        cluster.start()
        url = cluster.create_database("bench")
        db.migrate(url)
        engine = db.engine(url)
        with engine.begin() as conn:
            load_districts(conn, KRAKOW)
        setup_s = time.perf_counter() - t0
        with engine.begin() as conn:
            fill_s = fill(conn, args.points, args.seed)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ALTER SYSTEM SET log_min_duration_statement = 0"))
            conn.execute(text("SELECT pg_reload_conf()"))
        engine.dispose()
        return measure(args, url, cluster, setup_s, fill_s)
    finally:
        cluster.destroy()


def measure(args, url: str, cluster, setup_s: float, fill_s: float) -> int:
    engine = db.engine(url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one()
        size = conn.execute(
            text("SELECT pg_size_pretty(pg_total_relation_size('budget_proposals'))")
        ).scalar_one()
        settings = dict(
            conn.execute(
                text(
                    "SELECT name, setting FROM pg_settings WHERE name IN ('jit', "
                    "'max_parallel_workers_per_gather', 'shared_buffers', 'work_mem')"
                )
            ).all()
        )
    versions = db.versions(url)
    cap = Capture(engine)
    log = ServerLog(cluster.datadir / "server.log") if cluster else None
    with engine.connect() as conn:
        boxes = viewports(conn, args.queries, args.seed)
    load_before = os.getloadavg()[0]
    with engine.connect() as conn:  # warm-up (caches, prepared statements), not measured
        for box in boxes[:20]:
            features(conn, LAYER, FeatureQuery(bbox=box, limit=MAX_LIMIT))
    results = run_all(engine, cap, boxes, log)
    plan = full_plan(engine, cap, boxes[0], MAP_LIMIT)
    serial_plan = full_plan(engine, cap, boxes[0], MAP_LIMIT, settings=SERIAL)
    seq = without_index(engine, cap, boxes[:20], MAP_LIMIT)
    engine.dispose()

    uses_gist = "budget_proposals_geom_gist" in plan
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    first, second = list(CONFIGS)
    app_map = results[first, MAP_LIMIT]
    headline = statistics.median(app_map.app or app_map.explain)

    def mp(values: list[float]) -> str:
        if not values:
            return "n/a"
        return f"{statistics.median(values):.1f} / {percentile(values, 0.95):.1f} ms"

    lines = [
        START,
        "## bbox viewport queries (bench/bbox.py)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine()}; "
        f"PostgreSQL {versions['postgresql']}, PostGIS {versions['postgis']}; the app's "
        "sessions: "
        + ", ".join(f"`{k}={v}`" for k, v in sorted(settings.items()))
        + f". Load average (1 min) {load}: the machine is shared with other work.",
        "",
        f"{n:,} points in `budget_proposals` ({size} with indexes), half spread over Kraków and "
        "half around the centre"
        + (
            f"; generated and bulk-inserted (districts computed by the trigger's rule in one "
            f"statement) in {fill_s:.1f} s (cluster + migrations + districts {setup_s:.1f} s)."
            if cluster
            else "."
        ),
        f"{args.queries} random 2 km x 2 km viewports centred on existing points, through "
        "`layers.query.features` (the API's SQL: public filter, `ORDER BY id DESC`, GeoJSON "
        f"built in PostgreSQL), each run {REPEAT} times, the best run counting. **DB, app "
        "path** = the server's own logged duration (parse + bind + execute, "
        "`log_min_duration_statement = 0`) of the statement exactly as the app ran it; **DB, "
        "EXPLAIN** = `EXPLAIN (ANALYZE, TIMING OFF)` execution time of the same statement; "
        "**client** = wall time of `features()` in Python (adds transfer and decoding). The "
        "two session configurations ran interleaved, viewport by viewport.",
        "",
        "| sessions | limit | features (median / max) | DB, app path median / p95 "
        "| DB, EXPLAIN median / p95 | client median / p95 |",
        "|---|---|---|---|---|---|",
    ]
    for (label, limit), t in results.items():
        lines.append(
            f"| {label} | {limit} | {statistics.median(t.returned):.0f} / {max(t.returned)} | "
            f"{mp(t.app)} | {mp(t.explain)} | {mp(t.client)} |"
        )
    workers = re.search(r"Workers Launched: (\d+)", plan)
    lines += [
        "",
        f"The map asks for `limit={MAP_LIMIT}` per viewport: DB-side median "
        f"{headline:.1f} ms with the app's sessions as configured - the < 30 ms target is "
        f"{'met' if headline < 30 else 'NOT met'}. At `limit={MAX_LIMIT}` (the API maximum) "
        f"{statistics.median(results[first, MAX_LIMIT].app or results[first, MAX_LIMIT].explain):.1f}"
        " ms."
        + (
            f" The planner starts {workers.group(1)} parallel worker(s) for the denser "
            "viewports (see the first plan); on 2 cores shared with the web server that "
            "rarely pays - compare the second configuration."
            if workers
            else ""
        )
        + f" Same 20 viewports with index scans disabled (`enable_indexscan/bitmapscan = "
        f"off`): median {statistics.median(seq):.1f} ms.",
        "",
        f"The plan {'uses' if uses_gist else 'does NOT use'} the GiST index "
        "`budget_proposals_geom_gist` (`EXPLAIN (ANALYZE, BUFFERS)` of the first viewport at "
        f"limit {MAP_LIMIT}; the box literal and the list of public states shortened):",
        "",
        "```",
        _shorten(plan),
        "```",
        "",
        f"The same with `max_parallel_workers_per_gather = 0`{' (no difference)' if plan == serial_plan else ''}:",
        "",
        "```",
        _shorten(serial_plan),
        "```",
        END,
    ]
    section = "\n".join(lines)
    print(section)
    if args.write:
        old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
        if START in old and END in old:
            new = re.sub(
                re.escape(START) + r".*?" + re.escape(END), lambda _: section, old, flags=re.S
            )
        else:
            new = old.rstrip("\n") + "\n\n" + section + "\n"
        RESULTS.write_text(new, encoding="utf-8")
        print(f"\nwritten to {RESULTS}", file=sys.stderr)
    return 0


def _shorten(plan: str) -> str:
    """Hex EWKB literals and the long public-states list make the plan unreadable."""
    plan = re.sub(r"'0103[0-9A-F]+'::geometry", "'<2 km box>'::geometry", plan)
    return re.sub(r"'\{submitted,[^}]*\}'::text\[\]", "'{<public states>}'::text[]", plan)


if __name__ == "__main__":
    raise SystemExit(main())
