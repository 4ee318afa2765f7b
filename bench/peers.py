"""Benchmark (not a test): the app against tipg and pygeoapi, same table, same database, one run.

    .venv/bin/python bench/peers.py                      # 200 000 proposals, print the table
    .venv/bin/python bench/peers.py --points 1000000 --write
    .venv/bin/python bench/peers.py --url postgresql://…/db   # an already filled database

tipg and pygeoapi (the newest PyPI serves) go into a virtualenv of their own, var/bench-venv
(never a project dependency; ``--no-install`` uses it as it is). A throwaway PostGIS cluster
gets the migrated schema, the districts and N synthetic proposals (bench/bbox.py ``fill``).
The app (gunicorn), tipg (uvicorn) and pygeoapi (gunicorn) then serve that one table with the
same number of workers, and after a warm-up the requests go out interleaved and shuffled:

* items in 2 km viewports (centred on random existing points) at limit 1 000 and 5 000: the
  app's API (``/api/layers/budget-proposals/features``) and OGC items, tipg, pygeoapi, and
  the bare SQL that returns the same rows (one ``string_agg(ST_AsGeoJSON(t.*))`` row over
  libpq); every server's feature count is checked against the app's;
* z14 tiles of the viewports' centres: tipg, the app (``/tiles/budget-proposals/…``; skipped
  when the route is not there) and the bare ``ST_AsMVT``;
* throughput: 4 concurrent clients for a few seconds per server (items, limit 1 000);
* EXPLAIN assertions on the app's own statement (layers.query, exactly as the API runs it)
  for every viewport at limit 1, 1 000 and 5 000: no Gather, the GiST index used, no
  backwards primary-key walk.

One table of medians, p95s and ratios, with the PostgreSQL/PostGIS versions and the load
average, goes into bench/RESULTS.md between ``<!-- bench/peers.py: start -->`` and ``end``
(``--write``; a run at another size adds its own table under the same markers).
The machine may be shared: the ratios within one run are what count.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from geo import db  # noqa: E402
from geo.cluster import Cluster, free_port  # noqa: E402
from layers import query as lq  # noqa: E402
from layers.budget_proposals import LAYER  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- bench/peers.py: start -->", "<!-- bench/peers.py: end -->"
VENV = ROOT / "var" / "bench-venv"
PEER_PACKAGES = ["tipg", "pygeoapi", "uvicorn", "gunicorn", "psycopg2-binary", "geoalchemy2"]
LIMITS = (1000, 5000)
TILE_Z = 14
WORKERS = 2
CLIENTS = 4
HEADERS = {"Accept-Encoding": "identity"}  # the read path, not the compressor


# --- the bench virtualenv -----------------------------------------------------------------------


def ensure_venv(install: bool) -> dict[str, str]:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        install = True
    if install:
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "--upgrade", *PEER_PACKAGES], check=True
        )
    out = subprocess.run(
        [
            str(py),
            "-c",
            "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
            "('tipg', 'pygeoapi', 'uvicorn', 'gunicorn')}))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


# --- the servers --------------------------------------------------------------------------------


class Server:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, probe: str):
        self.name, self.port, self.probe = name, port, probe
        self.base = f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"peers-{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            cwd=str(ROOT),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self, timeout: float = 120) -> None:
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.log.name}")
            try:
                if requests.get(self.base + self.probe, timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not answer {self.probe} in {timeout} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)


def app_server(url: str, probe: str = "/api/layers") -> Server:
    """The app on gunicorn (WORKERS x 4 threads) over ``url``; not yet waited for."""
    p = free_port()
    return Server(
        "app",
        [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--threads", "4"]
        + ["--bind", f"127.0.0.1:{p}", "--no-control-socket", "app:create_app()"],
        {"DATABASE_URL": url, "BASEMAP": "none"},
        p,
        probe,
    )


def start_servers(url: str, workdir: Path, servers: dict[str, Server]) -> None:
    """Start the three servers into ``servers`` (the caller stops whatever started)."""
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    m = re.match(r"postgresql://([^@/]+)@([^:/]+):(\d+)/(\w+)", libpq)
    if not m:
        raise SystemExit(f"cannot read user/host/port/db from {libpq}")
    user, host, port, dbname = m.groups()
    servers["app"] = app_server(url)
    p = free_port()
    servers["tipg"] = Server(
        "tipg",
        [str(VENV / "bin" / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1"]
        + [
            "--port",
            str(p),
            "--workers",
            str(WORKERS),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        {
            "DATABASE_URL": libpq,
            "TIPG_DB_SCHEMAS": '["public"]',
            "TIPG_DB_TABLES": '["public.budget_proposals"]',
            "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        },
        p,
        "/collections",
    )
    cfg = workdir / "pygeoapi.yml"
    p = free_port()
    cfg.write_text(
        PYGEOAPI_CONFIG.format(port=p, user=user, host=host, dbport=port, dbname=dbname),
        encoding="utf-8",
    )
    oas = workdir / "pygeoapi-openapi.yml"
    env = {"PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(oas)}
    subprocess.run(
        [
            str(VENV / "bin" / "pygeoapi"),
            "openapi",
            "generate",
            str(cfg),
            "--output-file",
            str(oas),
        ],
        check=True,
        env={**os.environ, **env},
        capture_output=True,
    )
    servers["pygeoapi"] = Server(
        "pygeoapi",
        [str(VENV / "bin" / "gunicorn"), "--workers", str(WORKERS), "--threads", "4"]
        + ["--bind", f"127.0.0.1:{p}", "--no-control-socket", "pygeoapi.flask_app:APP"],
        env,
        p,
        "/collections?f=json",
    )
    for s in servers.values():
        s.wait()


PYGEOAPI_CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 10, max_items: 10000}}
  map: {{url: 'https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', attribution: OSM}}
logging:
  level: ERROR
metadata:
  identification:
    title: bench
    description: bench
    keywords: [bench]
    keywords_type: theme
    terms_of_service: https://example.org
    url: https://example.org
  license: {{name: CC-BY 4.0, url: https://creativecommons.org/licenses/by/4.0/}}
  provider: {{name: bench, url: https://example.org}}
  contact: {{name: bench, position: bench, address: x, city: x, stateorprovince: x,
            postalcode: x, country: x, phone: x, fax: x, email: x@example.org,
            url: https://example.org, hours: x, instructions: x, role: pointOfContact}}
resources:
  budget_proposals:
    type: collection
    title: budget_proposals
    description: budget proposals
    keywords: [bench]
    extents:
      spatial: {{bbox: [19.7, 49.9, 20.3, 50.2], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: {host}, port: {dbport}, dbname: {dbname}, user: {user}, password: '',
               search_path: [public]}}
        id_field: id
        table: budget_proposals
        geom_field: geom
"""


# --- what is asked -------------------------------------------------------------------------------


def km_lon(lat: float) -> float:
    return 1 / (111.32 * math.cos(math.radians(lat)))


def viewports(conn, k: int, seed: int) -> list[tuple[float, float, float, float]]:
    rows = conn.execute(
        text(
            "SELECT ST_X(geom), ST_Y(geom) FROM budget_proposals WHERE geom IS NOT NULL "
            "ORDER BY md5(id::text || :s) LIMIT :k"
        ),
        {"k": k, "s": str(seed)},
    ).all()
    # rounded as the URLs write them, so the bare SQL asks for exactly the servers' box
    return [
        tuple(round(v, 6) for v in (x - km_lon(y), y - 1 / 111.32, x + km_lon(y), y + 1 / 111.32))
        for x, y in rows
    ]


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def item_urls(servers: dict[str, Server], box, limit: int) -> dict[str, str]:
    b = ",".join(f"{v:.6f}" for v in box)
    return {
        "app API": f"{servers['app'].base}/api/layers/budget-proposals/features?bbox={b}&limit={limit}",
        "app OGC": f"{servers['app'].base}/ogc/collections/budget-proposals/items?bbox={b}&limit={limit}",
        "tipg": f"{servers['tipg'].base}/collections/public.budget_proposals/items?bbox={b}&limit={limit}",
        "pygeoapi": f"{servers['pygeoapi'].base}/collections/budget_proposals/items?bbox={b}&limit={limit}&f=json",
    }


def tile_urls(servers: dict[str, Server], x: int, y: int, app_tiles: bool) -> dict[str, str]:
    out = {
        "tipg": f"{servers['tipg'].base}/collections/public.budget_proposals/tiles/WebMercatorQuad/{TILE_Z}/{x}/{y}"
    }
    if app_tiles:
        out["app API"] = f"{servers['app'].base}/tiles/budget-proposals/{TILE_Z}/{x}/{y}.mvt"
    return out


def floor_sql() -> str:
    cols = ["id", "geom", "external_id", "districts", "updated_at"]
    cols += [f.name for f in LAYER.public_fields]
    return f"""SELECT coalesce(string_agg(ST_AsGeoJSON(t.*, 'geom', 6), ','), ''), count(*)
        FROM (SELECT {", ".join(cols)} FROM budget_proposals
              WHERE hidden_at IS NULL AND status = ANY(%(s)s)
                AND ST_Intersects(geom, ST_MakeEnvelope(%(w)s, %(so)s, %(e)s, %(n)s, 4326))
              ORDER BY id DESC LIMIT %(l)s) t"""


TILE_FLOOR = """
    SELECT ST_AsMVT(q, 'default', 4096, 'geom') FROM (
        SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                            4096, 64, true) AS geom, t.id, t.title, t.category, t.status, t.cost
        FROM budget_proposals t
        WHERE t.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326)
          AND t.hidden_at IS NULL AND t.status = ANY(%(s)s)) q"""


def count_of(body: bytes) -> int:
    doc = json.loads(body)
    return len(doc.get("features") or [])


# --- measuring ----------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def run(args) -> str:
    versions = ensure_venv(not args.no_install)
    workdir = Path(tempfile.mkdtemp(prefix="civicmap-peers-", dir="/var/tmp"))
    os.chmod(workdir, 0o755)
    cluster = None
    fill_s = 0.0
    if args.url:
        url = args.url
    else:
        import bbox  # bench/bbox.py: the synthetic proposals

        os.environ.setdefault("CIVICMAP_FAST_UNSAFE", "1")  # a throwaway cluster: fsync off
        cluster = Cluster(workdir / "pg")
        cluster.start()
        url, fill_s = bbox.seeded(cluster, args.points, args.seed)
    servers: dict[str, Server] = {}
    try:
        start_servers(url, workdir, servers)
        return measure(args, url, servers, versions, fill_s)
    finally:
        for s in servers.values():
            s.stop()
        db.engine(url).dispose()
        if cluster is not None:
            cluster.destroy()


def measure(args, url: str, servers, versions, fill_s: float) -> str:
    import psycopg

    engine = db.engine(url)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one()
        boxes = viewports(conn, args.viewports, args.seed)
    dbv = db.versions(url)
    states = list(LAYER.workflow.public_states)
    raw = psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"),
        options="-c jit=off -c max_parallel_workers_per_gather=0",
        autocommit=True,
    )
    sessions = {k: requests.Session() for k in ("app API", "app OGC", "tipg", "pygeoapi")}
    for s in sessions.values():
        s.headers.update(HEADERS)
    x0, y0 = tile_of((boxes[0][0] + boxes[0][2]) / 2, (boxes[0][1] + boxes[0][3]) / 2, TILE_Z)
    probe = sessions["app API"].get(
        f"{servers['app'].base}/tiles/budget-proposals/{TILE_Z}/{x0}/{y0}.mvt"
    )
    app_tiles = probe.status_code in (200, 204)

    def get(key: str, u: str) -> tuple[float, bytes]:
        t0 = time.perf_counter()
        r = sessions[key].get(u, timeout=120)
        ms = (time.perf_counter() - t0) * 1000
        if r.status_code not in (200, 204):
            raise RuntimeError(f"{key} {u}: HTTP {r.status_code} {r.text[:200]}")
        return ms, r.content

    def floor(box, limit: int) -> tuple[float, int]:
        t0 = time.perf_counter()
        row = raw.execute(
            floor_sql(), dict(s=states, w=box[0], so=box[1], e=box[2], n=box[3], l=limit)
        ).fetchone()
        return (time.perf_counter() - t0) * 1000, int(row[1])

    def tile_floor(x: int, y: int) -> float:
        t0 = time.perf_counter()
        raw.execute(TILE_FLOOR, dict(z=TILE_Z, x=x, y=y, s=states)).fetchone()
        return (time.perf_counter() - t0) * 1000

    load_before = os.getloadavg()
    # warm-up: every server, caches and pools, not measured
    for box in boxes[:8]:
        for key, u in item_urls(servers, box, 1000).items():
            get(key, u)
        floor(box, 1000)
        cx, cy = tile_of((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, TILE_Z)
        for key, u in tile_urls(servers, cx, cy, app_tiles).items():
            get(key, u)
        tile_floor(cx, cy)

    tasks: list[tuple] = []
    for i in range(len(boxes)):
        for limit in LIMITS:
            for key in ("app API", "app OGC", "tipg", "pygeoapi", "bare SQL"):
                tasks.append(("items", limit, key, i))
        for key in ("app API", "tipg", "bare SQL") if app_tiles else ("tipg", "bare SQL"):
            tasks.append(("tile", 0, key, i))
    random.Random(args.seed).shuffle(tasks)
    times: dict[tuple, list[float]] = {}
    counts: dict[tuple, int] = {}
    for kind, limit, key, i in tasks:
        box = boxes[i]
        if kind == "items":
            if key == "bare SQL":
                ms, c = floor(box, limit)
            else:
                ms, body = get(key, item_urls(servers, box, limit)[key])
                c = count_of(body)
            counts[(limit, key, i)] = c
        else:
            cx, cy = tile_of((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, TILE_Z)
            ms = (
                tile_floor(cx, cy)
                if key == "bare SQL"
                else get(key, tile_urls(servers, cx, cy, app_tiles)[key])[0]
            )
        times.setdefault((kind, limit, key), []).append(ms)
    mismatches = [
        (limit, key, i, c, counts[(limit, "app API", i)])
        for (limit, key, i), c in counts.items()
        if c != counts[(limit, "app API", i)]
    ]

    throughput = {
        key: clients(servers, key, boxes, args.seconds) for key in random.sample(list(sessions), 4)
    }
    plans = explain_checks(engine, boxes)
    load_after = os.getloadavg()
    engine.dispose()
    raw.close()
    returned = {
        lim: statistics.median(
            [c for (lm, k, _), c in counts.items() if lm == lim and k == "app API"]
        )
        for lim in LIMITS
    }
    return report(
        n, fill_s, dbv, versions, load_before, load_after, times, returned, mismatches,
        throughput, plans, app_tiles, args,
    )  # fmt: skip


def clients(servers, key: str, boxes, seconds: float) -> float:
    """Requests per second with CLIENTS concurrent clients (items, limit 1 000)."""
    stop = time.perf_counter() + seconds
    done = [0] * CLIENTS

    def worker(k: int) -> None:
        s = requests.Session()
        s.headers.update(HEADERS)
        rnd = random.Random(k)
        while time.perf_counter() < stop:
            r = s.get(item_urls(servers, rnd.choice(boxes), 1000)[key], timeout=120)
            r.raise_for_status()
            done[k] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - t0)


def explain_checks(engine, boxes) -> dict[str, int]:
    """The app's statement for every viewport at limit 1, 1 000, 5 000, EXPLAINed exactly as
    layers.query runs it (its session settings, its parameters)."""
    captured: dict[str, object] = {}

    def grab(conn, cursor, statement, parameters, context, executemany):
        captured["sql"], captured["params"] = statement, parameters

    event.listen(engine, "before_cursor_execute", grab)
    out = {"plans": 0, "gather": 0, "no_gist": 0, "backward": 0, "bitmapand": 0}
    example = ""
    try:
        with engine.connect() as conn:
            for limit in (1, 1000, 5000):
                for box in boxes:
                    lq.features(conn, LAYER, lq.FeatureQuery(bbox=box, limit=limit))
                    sql, params = captured["sql"], captured["params"]
                    with conn.connection.driver_connection.cursor() as cur:
                        cur.execute("EXPLAIN " + sql, params)
                        plan = "\n".join(r[0] for r in cur.fetchall())
                    out["plans"] += 1
                    out["gather"] += "Gather" in plan
                    out["no_gist"] += "budget_proposals_geom_gist" not in plan
                    out["backward"] += "Index Scan Backward" in plan
                    out["bitmapand"] += "BitmapAnd" in plan
                    example = example or plan
            conn.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    out["example"] = example  # type: ignore[assignment]
    return out


# --- the table ----------------------------------------------------------------------------------


def report(n, fill_s, dbv, versions, load_before, load_after, times, returned, mismatches,
           throughput, plans, app_tiles, args) -> str:  # fmt: skip
    def cell(vals: list[float] | None) -> str:
        if not vals:
            return "—"
        return f"{statistics.median(vals):.1f} / {percentile(vals, 0.95):.1f}"

    def med(key) -> float | None:
        v = times.get(key)
        return statistics.median(v) if v else None

    def ratio(a, b) -> str:
        return f"{a / b:.2f}×" if a and b else "—"

    cols = ("app API", "app OGC", "tipg", "pygeoapi", "bare SQL")
    lines = [
        f"### {n:,} proposals ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"PostgreSQL {dbv['postgresql']}, PostGIS {dbv['postgis']}; tipg {versions['tipg']} "
        f"(uvicorn {versions['uvicorn']}), pygeoapi {versions['pygeoapi']} (gunicorn "
        f"{versions['gunicorn']}), the app on gunicorn; {WORKERS} workers each, "
        f"{os.cpu_count()} CPUs. Load average (1/5/15 min) "
        f"{' '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' '.join(f'{x:.2f}' for x in load_after)} after: the machine was shared with other "
        "work, so the ratios (one interleaved, shuffled run) are what count."
        + (f" Synthetic proposals loaded in {fill_s:.0f} s." if fill_s else ""),
        "",
        f"{len(times.get(('items', LIMITS[0], 'app API'), []))} random 2 km viewports; "
        "median / p95 in ms (client wall time; the bare SQL over libpq, one row). "
        "Ratios of medians: how many times slower than the app's API.",
        "",
        "| request | " + " | ".join(cols) + " | tipg ÷ app | pygeoapi ÷ app | app ÷ bare SQL |",
        "|---" * (len(cols) + 4) + "|",
    ]
    for limit in LIMITS:
        k = lambda c, limit=limit: ("items", limit, c)  # noqa: E731
        lines.append(
            f"| items, limit {limit:,} (median {returned[limit]:.0f} features) | "
            + " | ".join(cell(times.get(k(c))) for c in cols)
            + f" | {ratio(med(k('tipg')), med(k('app API')))}"
            + f" | {ratio(med(k('pygeoapi')), med(k('app API')))}"
            + f" | {ratio(med(k('app API')), med(k('bare SQL')))}"
            + f" (OGC {ratio(med(k('app OGC')), med(k('bare SQL')))}) |"
        )
    k = lambda c: ("tile", 0, c)  # noqa: E731
    lines.append(
        f"| z{TILE_Z} tile | "
        + " | ".join(cell(times.get(k(c))) for c in cols)
        + f" | {ratio(med(k('tipg')), med(k('app API')))} | — "
        + f"| {ratio(med(k('app API')), med(k('bare SQL')))} |"
    )
    lines.append(
        f"| throughput, {CLIENTS} clients, items 1 000 (req/s) | "
        + " | ".join(f"{throughput[c]:.1f}" if c in throughput else "—" for c in cols)
        + f" | {ratio(throughput.get('app API'), throughput.get('tipg'))} "
        + f"| {ratio(throughput.get('app API'), throughput.get('pygeoapi'))} | — |"
    )
    lines += [
        "",
        "Feature counts: "
        + (
            "the same for every server in every viewport."
            if not mismatches
            else f"{len(mismatches)} differ from the app's, e.g. {mismatches[:3]}."
        )
        + (
            ""
            if app_tiles
            else " The app's tiles (/tiles/budget-proposals/…) answered 404: not measured."
        )
        + " pygeoapi's MVT provider is not measured (1.2–10 s a tile in issue 11).",
        f"EXPLAIN of the app's statement, {plans['plans']} plans (every viewport at limit 1, "
        f"1 000, 5 000): Gather in {plans['gather']}, GiST index missing in "
        f"{plans['no_gist']}, backwards primary-key walk in {plans['backward']}, BitmapAnd "
        f"in {plans['bitmapand']}.",
    ]
    return "\n".join(lines)


def write(section: str) -> None:
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    head = (
        "## The app against tipg and pygeoapi (bench/peers.py)\n\n"
        "Same table, same database, same number of workers; items of 2 km viewports, z14 "
        "tiles, throughput and the bare SQL floor in one interleaved, shuffled run per size.\n"
    )
    if START in old and END in old:
        body = old.split(START, 1)[1].split(END, 1)[0]
        size = section.split("\n", 1)[0]
        kept = [
            part
            for part in re.split(r"(?m)^(?=### )", body)
            if part.startswith("### ")
            and part.split(" proposals", 1)[0] != size.split(" proposals", 1)[0]
        ]
        blocks = sorted(
            [*kept, section + "\n"], key=lambda b: int(re.sub(r"\D", "", b.split(" proposals")[0]))
        )
        new_body = "\n" + head + "\n" + "\n".join(b.rstrip("\n") + "\n" for b in blocks)
        new = old.split(START, 1)[0] + START + new_body + END + old.split(END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + START + "\n" + head + "\n" + section + "\n" + END + "\n"
    RESULTS.write_text(new, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--viewports", type=int, default=48)
    ap.add_argument("--seconds", type=float, default=8.0, help="throughput run per server")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--url", help="an already filled database (skip the throwaway cluster)")
    ap.add_argument("--no-install", action="store_true", help="use var/bench-venv as it is")
    ap.add_argument("--write", action="store_true", help="update this section of RESULTS.md")
    args = ap.parse_args()
    section = run(args)
    print(section)
    if args.write:
        write(section)
        print(f"\nwritten to {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
