"""Benchmark: online voting through the real HTTP endpoints (issue 10).

A private PostGIS cluster and a gunicorn server in child processes; 10 000 generated voters
with sessions already open (accounts confirmed, district declared) cast their ballots with
POST /budget/<year>/vote/cast, 50 at a time. Then every voter tries 5 more times in parallel
(0 extra ballots expected) and the tally (civic.pb.results on the ballot table) must equal the
generated ballots exactly. Last, a fault run: more voters vote while PostgreSQL is stopped for
5 s; only 503s are allowed while it is down, the service must answer 2xx again within 10 s of
the restart, and every acknowledged (2xx) ballot must be in the register and the tally.

    .venv/bin/python bench/vote.py [--voters 10000] [--concurrency 50] [--write-results]

``--write-results`` replaces the section between the bench/vote.py markers in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

YEAR = 2032
CITY = [f"BO.OM.{n}/32" for n in range(1, 11)]


def local_ids(d: int) -> list[str]:
    return [f"BO.D{d}.{n}/32" for n in range(1, 6)]


def setup(url: str, voters: int, seed: int) -> None:
    """Districts, an edition in its voting phase with a ballot list, and nothing else."""
    from sqlalchemy import text

    from civic.pb.phases import PHASES
    from geo import db
    from geo.cities import KRAKOW
    from importers.districts import load_districts

    db.migrate(url)
    engine = db.engine(url)
    from datetime import date, timedelta

    today = date.today()
    k = PHASES.index("voting")
    dates = {}
    for i, p in enumerate(PHASES):
        if i < k:
            d0 = today - timedelta(days=40 - 4 * i)
            dates[p] = (d0, d0 + timedelta(days=2))
        elif i == k:
            dates[p] = (today - timedelta(days=1), today + timedelta(days=3))
        else:
            d0 = today + timedelta(days=10 + 4 * (i - k))
            dates[p] = (d0, d0 + timedelta(days=2))
    from civic.pb.editions import create_edition

    with engine.begin() as conn:
        load_districts(conn, KRAKOW)
        conn.execute(
            text(
                "INSERT INTO civic_venues (name, type, geom) VALUES ('Biblioteka', 'library', ST_SetSRID(ST_MakePoint(19.94, 50.06), 4326))"
            )
        )
        create_edition(conn, YEAR, None, dates=dates)
        rows = [(x, "citywide", 0) for x in CITY]
        rows += [(x, "district", d) for d in range(1, 19) for x in local_ids(d)]
        for x, scope, d in rows:
            conn.execute(
                text(
                    """INSERT INTO budget_proposals (edition, title, cost, scope, status,
                           external_id, districts, pool_district, ballot_number)
                       VALUES (:y, :t, 50000, :s, 'accepted_for_vote', :x, :ds, :d, :b)"""
                ),
                {
                    "y": YEAR,
                    "t": f"Projekt {x}",
                    "s": scope,
                    "x": x,
                    "ds": [d] if d else [],
                    "d": d,
                    "b": int(x.split(".")[2].split("/")[0]),
                },
            )


def make_voters(url: str, first: int, n: int, seed: int, app) -> list[dict]:
    """Accounts with an open session and a declared district; the signed session cookie and
    CSRF token each client sends; the ballot each will cast."""
    from sqlalchemy import text

    from app.auth import _sha
    from app.security import mask_token, new_csrf_secret
    from geo import db

    rnd = random.Random(seed + first)
    serializer = app.session_interface.get_signing_serializer(app)
    out = []
    for i in range(first, first + n):
        d = rnd.randint(1, 18)
        raw, csrf = secrets.token_urlsafe(32), new_csrf_secret()
        out.append(
            {
                "i": i,
                "district": d,
                "raw": raw,
                "cookie": serializer.dumps({"sid": raw, "_csrf": csrf, "_permanent": True}),
                "csrf": mask_token(csrf),
                "body": {
                    "full_name": f"Wyborca Testowy{i}",
                    "birth_date": "1980-01-01",
                    "address": f"Testowa {i}",
                    "citywide": rnd.sample(CITY, 3),
                    "local": rnd.sample(local_ids(d), 3),
                },
            }
        )
    engine = db.engine(url)
    with engine.begin() as conn:
        ids = (
            conn.execute(
                text(
                    """INSERT INTO users (email, name, password_hash, confirmed_at)
                   SELECT 'bench' || g || '@example.org', 'Bench ' || g, 'x', now()
                   FROM unnest(CAST(:n AS int[])) g RETURNING id"""
                ),
                {"n": [v["i"] for v in out]},
            )
            .scalars()
            .all()
        )
        raw_conn = conn.connection.driver_connection
        with raw_conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO user_sessions (id_hash, user_id, expires_at) "
                "VALUES (%s, %s, now() + interval '1 day')",
                [(_sha(v["raw"]), uid) for v, uid in zip(out, ids, strict=True)],
            )
            cur.executemany(
                "INSERT INTO pb_declarations (edition, user_id, district) VALUES (%s, %s, %s)",
                [(YEAR, uid, v["district"]) for v, uid in zip(out, ids, strict=True)],
            )
    return out


_local = threading.local()


def post(base: str, v: dict) -> tuple[int, float, float]:
    """One cast; (status, seconds, when it ended). Connection errors count as status 0."""
    import requests

    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = requests.Session()
    t0 = time.perf_counter()
    try:
        r = s.post(
            f"{base}/budget/{YEAR}/vote/cast",
            json=v["body"],
            timeout=30,
            headers={
                "Cookie": f"session={v['cookie']}",
                "X-CSRFToken": v["csrf"],
                "Accept": "application/json",
            },
        )
        status = r.status_code
    except requests.RequestException:
        status = 0
    t1 = time.perf_counter()
    return status, t1 - t0, t1


def run(base: str, voters: list[dict], concurrency: int, repeat: int = 1):
    jobs = [v for v in voters for _ in range(repeat)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        res = list(pool.map(lambda v: (v, *post(base, v)), jobs))
    return res, time.perf_counter() - t0


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def tally_ok(url: str, generated: list[dict]) -> tuple[bool, int]:
    from civic.pb import results as R
    from geo import db

    want: Counter = Counter()
    for v in generated:
        for part in ("citywide", "local"):
            for pos, x in enumerate(v["body"][part]):
                want[x] += 3 - pos
    with db.engine(url).connect() as conn:
        got = Counter()
        for pool in R.results(conn, YEAR):
            for pr in pool.projects:
                if pr.score:
                    got[pr.external_id] += pr.score
        ballots = conn.execute(
            __import__("sqlalchemy").text(
                "SELECT (SELECT count(*) FROM ballots WHERE edition = :y) + "
                "(SELECT count(*) FROM pb_urn WHERE edition = :y)"
            ),
            {"y": YEAR},
        ).scalar_one()
    return got == want, int(ballots)


def register_has(url: str, voters: list[dict]) -> int:
    """How many of these voters' identity keys are in the register."""
    from sqlalchemy import text

    from civic.pb.register import identity_key, parse_identity
    from geo import db

    keys = [
        identity_key(
            parse_identity(v["body"]["full_name"], v["body"]["birth_date"], v["body"]["address"])
        )
        for v in voters
    ]
    with db.engine(url).connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM pb_voter_register WHERE edition = :y AND identity_key = ANY(:k)"
            ),
            {"y": YEAR, "k": keys},
        ).scalar_one()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--voters", type=int, default=10_000)
    ap.add_argument("--fault-voters", type=int, default=3_000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args()

    os.environ.setdefault("CIVICMAP_SECRET_KEY", secrets.token_hex(32))
    os.environ.setdefault("CIVICMAP_VOTER_SECRET", secrets.token_hex(32))
    from geo.cluster import Cluster

    base_dir = Path(tempfile.mkdtemp(prefix="civicmap-bench-vote-", dir="/var/tmp"))
    os.chmod(base_dir, 0o755)
    cluster = Cluster(base_dir)
    cluster.start()
    url = cluster.create_database("bench")
    lines: list[str] = []
    say = lambda s: (print(s, flush=True), lines.append(s))  # noqa: E731
    server = None
    try:
        setup(url, args.voters, args.seed)
        from app import create_app

        app = create_app({"DATABASE_URL": url, "BASEMAP": "none"})
        voters = make_voters(url, 0, args.voters, args.seed, app)
        fault_voters = make_voters(url, args.voters, args.fault_voters, args.seed, app)
        port = __import__("geo.cluster", fromlist=["free_port"]).free_port()
        env = {**os.environ, "DATABASE_URL": url, "BASEMAP": "none", "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-b",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--no-control-socket",
                "--timeout",
                "60",
                "--log-level",
                "warning",
                "app:create_app()",
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            if server.poll() is not None:
                raise SystemExit("the server did not start")
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        import platform

        import psycopg

        with psycopg.connect(cluster.url("bench").replace("postgresql+psycopg", "postgresql")) as c:
            pg = c.execute("SHOW server_version").fetchone()[0]
        say(
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores; "
            f"Python {platform.python_version()}; PostgreSQL {pg}; gunicorn {args.workers} "
            f"workers x {args.threads} threads; {args.concurrency} concurrent clients (same machine)"
        )

        res, secs = run(base, voters, args.concurrency)
        ok = [r for r in res if 200 <= r[1] < 300]
        lat = [r[2] for r in ok] or [float("nan")]
        say(
            f"1. {len(voters)} voters cast once: {len(ok)} x 2xx, statuses {dict(Counter(r[1] for r in res))}; "
            f"{len(ok) / secs:.1f} ballots/s over {secs:.1f} s; latency p50 {p(lat, 0.5) * 1000:.0f} ms, "
            f"p99 {p(lat, 0.99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms"
        )
        res2, secs2 = run(base, voters, args.concurrency, repeat=5)
        extra = sum(1 for r in res2 if 200 <= r[1] < 300)
        say(
            f"2. each voter 5 more times in parallel ({len(res2)} requests, {secs2:.1f} s): "
            f"{extra} extra ballots accepted; statuses {dict(Counter(r[1] for r in res2))}"
        )
        equal, rows = tally_ok(url, [r[0] for r in ok])
        say(
            f"3. tally equals the generated ballots: {equal} ({rows} ballot rows = 2 per voter; "
            f"register {register_has(url, voters)} of {len(voters)})"
        )

        # 4. PostgreSQL stopped for 5 s mid-run
        events: dict[str, float] = {}

        def fault():
            time.sleep(1.5)
            events["stop"] = time.perf_counter()
            cluster.stop()
            events["stopped"] = time.perf_counter()
            time.sleep(5)
            cluster.start(port=port_pg)
            events["started"] = time.perf_counter()

        port_pg = cluster.port
        th = threading.Thread(target=fault)
        th.start()
        res3, secs3 = run(base, fault_voters, args.concurrency)
        th.join()
        acked = [r for r in res3 if 200 <= r[1] < 300]
        during = [r for r in res3 if events["stop"] <= r[3] <= events["started"]]
        bad_during = Counter(r[1] for r in during if not 200 <= r[1] < 300)
        after_ok = sorted(r[3] for r in acked if r[3] > events["started"])
        back = (after_ok[0] - events["started"]) if after_ok else float("inf")
        not_ok = Counter(r[1] for r in res3 if not 200 <= r[1] < 300)
        # the voters refused while it was down retry once it is back (as a person would)
        retried, _ = run(base, [r[0] for r in res3 if not 200 <= r[1] < 300], args.concurrency)
        acked_all = acked + [r for r in retried if 200 <= r[1] < 300]
        in_register = register_has(url, [r[0] for r in acked_all])
        equal2, rows2 = tally_ok(url, [r[0] for r in ok] + [r[0] for r in acked_all])
        say(
            f"4. PostgreSQL stopped for 5 s ({events['started'] - events['stop']:.1f} s down incl. "
            f"shutdown and start) during {len(fault_voters)} more casts: non-2xx statuses "
            f"{dict(not_ok)} (while down: {dict(bad_during)}); first 2xx {back:.2f} s after the "
            f"restart; {len(acked)} acknowledged during the run, {len(acked_all) - len(acked)} "
            f"more on retry ({dict(Counter(r[1] for r in retried))}); acknowledged ballots in "
            f"the register: {in_register} of {len(acked_all)}; tally equals every acknowledged "
            f"ballot: {equal2} ({rows2} rows)"
        )
        verdict = (
            len(ok) / secs >= 50
            and p(lat, 0.99) < 0.5
            and extra == 0
            and equal
            and set(not_ok) <= {503}
            and back <= 10
            and in_register == len(acked_all)
            and equal2
        )
        say(
            f"Targets (>= 50 ballots/s, p99 < 500 ms, 0 extra, tally equal, only 503 while down, "
            f"back within 10 s, 0 acknowledged lost): {'met' if verdict else 'NOT met'}"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        cluster.destroy()
    if args.write_results:
        path = ROOT / "bench" / "RESULTS.md"
        text_ = path.read_text()
        start, end = "<!-- bench/vote.py:start -->", "<!-- bench/vote.py:end -->"
        block = (
            f"{start}\n## Online voting (bench/vote.py, issue 10)\n\n"
            + "\n".join(f"- {s}" for s in lines)
            + f"\n{end}"
        )
        if start in text_:
            text_ = text_[: text_.index(start)] + block + text_[text_.index(end) + len(end) :]
        else:
            text_ = text_.rstrip("\n") + "\n\n" + block + "\n"
        path.write_text(text_)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
