"""The battery's database-away test (issue 14.2): writes from 4 threads over real HTTP while
PostgreSQL is stopped for 5 s and started again. While it is down every answer is a 503 with
Retry-After (never a 500); writes succeed again within 10 s of the restart; every write that
was acknowledged (202) is in the database afterwards.

The cluster is the test's own (fsync on, as in production), so the session's cluster and the
other modules' databases are untouched. The write is a registration (JSON, CSRF token of the
writer's own session): it needs no reference data and commits one row per acknowledgement.
"""

from __future__ import annotations

import collections
import os
import re
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from geo import db
from geo.cluster import Cluster

pytest_plugins = ["faults_plugin"]
pytestmark = pytest.mark.slow

PASSWORD = "zielone jabłko na Kazimierzu"
WRITERS = 4
DOWN_S = 5.0


@pytest.fixture(scope="module")
def own_cluster():
    base = Path(tempfile.mkdtemp(prefix="civicmap-dbaway-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    fast = os.environ.pop("CIVICMAP_FAST_UNSAFE", None)  # durable commits for this one
    c = Cluster(base)
    try:
        c.start()
        yield c
    finally:
        c.destroy()
        if fast is not None:
            os.environ["CIVICMAP_FAST_UNSAFE"] = fast


def _session(base: str) -> tuple[requests.Session, str]:
    s = requests.Session()
    html = s.get(base + "/register", timeout=30).text
    return s, re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_writes_under_a_database_stop(own_cluster):
    import faults_plugin
    from werkzeug.serving import make_server

    from app import create_app

    url = own_cluster.create_database("civicmap_away")
    db.migrate(url)
    app = create_app(
        {
            "DATABASE_URL": url,
            "TESTING": True,
            "BASEMAP": "none",
            "RATELIMIT_ENABLED": False,
            "MAIL_DEFERRED": False,
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    sessions = [_session(base) for _ in range(WRITERS)]

    log: list[tuple[float, int, str, str]] = []  # (time, status, email, Retry-After)
    lock = threading.Lock()
    stop = threading.Event()

    def writer(k: int) -> None:
        s, csrf = sessions[k]
        i = 0
        while not stop.is_set():
            i += 1
            email = f"w{k}-{i}@example.org"
            try:
                r = s.post(
                    base + "/register",
                    json={"email": email, "name": f"W {k}", "password": PASSWORD},
                    headers={"X-CSRFToken": csrf, "Accept": "application/json"},
                    timeout=30,
                )
                status, retry = r.status_code, r.headers.get("Retry-After", "")
            except requests.RequestException:
                status, retry = -1, ""
            with lock:
                log.append((time.monotonic(), status, email, retry))
            time.sleep(0.02)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
    for t in threads:
        t.start()
    try:
        time.sleep(2.0)
        port = own_cluster.port
        own_cluster.stop()
        t_down = time.monotonic()
        time.sleep(DOWN_S)
        t_up_begin = time.monotonic()
        own_cluster.start(port=port)
        t_up = time.monotonic()
        deadline = t_up + 12.0
        while time.monotonic() < deadline:  # until writes succeed again (and a little more)
            with lock:
                back = [e for e in log if e[0] > t_up and e[1] == 202]
            if len(back) >= 2 * WRITERS:
                break
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        server.shutdown()

    statuses = collections.Counter(e[1] for e in log)
    down = [e for e in log if t_down + 0.5 < e[0] < t_up_begin]
    first_back = min((e[0] for e in log if e[0] > t_up and e[1] == 202), default=None)
    acked = {e[2] for e in log if e[1] == 202}
    engine = db.engine(url)
    with engine.connect() as conn:
        stored = {
            r[0] for r in conn.execute(text("SELECT lower(email) FROM users WHERE email LIKE 'w%'"))
        }
    engine.dispose()
    recovery = None if first_back is None else round(first_back - t_up, 2)
    faults_plugin.record(
        "database away (4 writers, PostgreSQL stopped 5 s)",
        requests=len(log),
        statuses=dict(sorted(statuses.items())),
        answered_while_down=len(down),
        recovery_s=recovery,
        acknowledged=len(acked),
        acknowledged_missing=len(acked - stored),
    )
    assert down and {e[1] for e in down} == {503}, collections.Counter(e[1] for e in down)
    assert all(e[3] for e in down), "every 503 carries Retry-After"
    assert 500 not in statuses and -1 not in statuses, statuses
    assert set(statuses) <= {202, 503}, statuses
    assert recovery is not None and recovery < 10.0, recovery
    assert acked and acked <= stored, sorted(acked - stored)[:5]
