"""Benchmark (not a test): the planners' demand per district at 200 000 proposals (issue 11).

    .venv/bin/python bench/demand.py            # print the results
    .venv/bin/python bench/demand.py --write    # and replace its section of bench/RESULTS.md
    .venv/bin/python bench/demand.py --url postgresql+psycopg://...   # an already filled DB

A throwaway PostGIS cluster gets exactly bench/bbox.py's ``seeded()`` data (the migrated
schema, Kraków's districts, N synthetic proposals over 12 editions). Then, interleaved in a
shuffled order each round, every per-district aggregate is timed through the app's path and
against its bare SQL on the same connection:

- ``demand_view`` (civic.planning.demand: proposals, comments and both kinds of supports per
  district, the edition's pools) for the newest edition and for all editions;
- the HTTP API ``/planners/api/demand?edition=<newest>`` and ``?edition=`` served by the Flask
  test client (the parameters' editions list, the view, JSON), for the same two cases;
- the proposals' aggregate alone (``demand_by_district``), against the bare statement that
  returns its per-district numbers;
- the bare SQL of the whole view: one statement returning every district's proposals, money,
  comments and supports (:data:`BARE_VIEW`).

Wall times (median, p95) and, for the statements run on a connection of this process, the
CPU time of its PostgreSQL backend (mean, from /proc: on this shared 2-core machine the wall time
depends on what else runs, the CPU time much less). The plans are checked: no Seq Scan on
budget_proposals for the editions list, no CTE carrying a geometry in the aggregate, the
app's numbers equal the bare SQL's.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event, text  # noqa: E402

from civic.planning import common  # noqa: E402
from civic.planning.demand import demand_view  # noqa: E402
from geo import db  # noqa: E402
from geo.analysis.demand import demand_by_district  # noqa: E402
from geo.cluster import Cluster  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- bench/demand.py: start -->", "<!-- bench/demand.py: end -->"
TARGET_MS = 50.0
TARGET_RATIO = 1.5

_PROPOSALS = """SELECT u.number, count(*) AS n, sum(t.cost) AS money
    FROM budget_proposals t CROSS JOIN LATERAL unnest(t.districts) AS u(number)
    WHERE t.hidden_at IS NULL AND t.status = ANY(:ps) {edition} GROUP BY u.number"""
# The bare SQL of the proposals' aggregate: count and money asked per district.
BARE_PROPOSALS = _PROPOSALS
# The bare SQL of the whole view: one statement, every district's numbers.
BARE_VIEW = f"""
SELECT d.number, coalesce(p.n, 0), coalesce(p.money, 0), coalesce(c.n, 0),
       coalesce(sp.n, 0) + coalesce(sc.n, 0)
FROM districts d
LEFT JOIN ({_PROPOSALS}) p ON p.number = d.number
LEFT JOIN (SELECT u.number, count(*) AS n FROM consultation_comments t
           CROSS JOIN LATERAL unnest(t.districts) AS u(number)
           WHERE t.hidden_at IS NULL AND t.status = ANY(:cs) GROUP BY u.number) c
       ON c.number = d.number
LEFT JOIN (SELECT u.number, count(*) AS n FROM proposal_supports s
           JOIN budget_proposals t ON t.id = s.proposal_id
           CROSS JOIN LATERAL unnest(t.districts) AS u(number)
           WHERE t.hidden_at IS NULL AND t.status = ANY(:ps) {{edition}} GROUP BY u.number) sp
       ON sp.number = d.number
LEFT JOIN (SELECT u.number, count(*) AS n FROM comment_supports s
           JOIN consultation_comments t ON t.id = s.comment_id
           CROSS JOIN LATERAL unnest(t.districts) AS u(number)
           WHERE t.hidden_at IS NULL AND t.status = ANY(:cs) GROUP BY u.number) sc
       ON sc.number = d.number
ORDER BY d.number"""


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def backend_cpu(pid: int) -> float | None:
    """CPU seconds used so far by a PostgreSQL backend on this machine (None if not local)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Capture:
    """The statements a connection runs while ``on`` (to EXPLAIN exactly those)."""

    def __init__(self, engine) -> None:
        self.on = False
        self.seen: list[tuple[str, object]] = []
        event.listen(engine, "before_cursor_execute", self._grab)

    def _grab(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.on:
            self.seen.append((statement, parameters))

    def run(self, fn: Callable[[], object]) -> list[tuple[str, object]]:
        self.seen, self.on = [], True
        try:
            fn()
        finally:
            self.on = False
        return self.seen


def explain(conn, statement: str, params) -> list[str]:
    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, VERBOSE) " + statement, params)
    return [r[0] for r in rows]


def geometry_ctes(plan: list[str]) -> list[str]:
    """The CTE scans of a VERBOSE plan whose output carries a geometry column."""
    out = []
    for i, line in enumerate(plan):
        if "CTE Scan" in line:
            nxt = plan[i + 1] if i + 1 < len(plan) else ""
            if "Output:" in nxt and "geom" in nxt:
                out.append(line.strip())
    return out


def view_numbers(view: dict) -> list[tuple]:
    return [
        (r["number"], r["proposals"], round(r["money"], 2), r["comments"], r["supports"])
        for r in view["rows"]
    ]


def measure(args, url: str, fill_s: float) -> str:
    from app import create_app

    engine = db.engine(url)
    # seeded() vacuums right after its fill; on a cluster committing asynchronously the pages
    # only become all-visible (what an index-only scan needs) once that commit is flushed, so
    # vacuum again, as autovacuum would by now on a real server.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE budget_proposals"))
    cap = Capture(engine)
    pub = common.public()
    ps, cs = list(pub.proposal_states), list(pub.comment_states)
    app = create_app({"DATABASE_URL": url, "TESTING": True, "BASEMAP": "none"})
    client = app.test_client()
    conn = engine.connect()
    pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    n = conn.execute(text("SELECT count(*) FROM budget_proposals")).scalar_one()
    eds = common.editions(conn, pub)
    newest = eds[0]
    conn.commit()

    # --- plans and numbers ------------------------------------------------------------------
    checks: list[tuple[str, bool, str]] = []
    ed_stmts = cap.run(lambda: common.editions(conn, pub))
    ed_plan = explain(conn, *ed_stmts[-1])
    seq = [ln.strip() for ln in ed_plan if "Seq Scan on public.budget_proposals" in ln]
    ed_ms = next((ln.split()[-2] for ln in ed_plan if ln.startswith("Execution Time")), "?")
    checks.append(
        (
            "editions list: no Seq Scan on budget_proposals",
            not seq,
            f"{len(eds)} editions, {ed_ms} ms, "
            + (
                "index: "
                + ", ".join(
                    sorted(
                        {
                            w
                            for ln in ed_plan
                            for w in ln.split()
                            if w.startswith("budget_proposals_")
                        }
                    )
                )
            )  # fmt: skip
            if not seq
            else seq[0],
        )
    )
    plans: dict[str, list[str]] = {}
    for label, ed in (("newest", newest), ("all", None)):
        stmts = cap.run(lambda ed=ed: demand_view(conn, pub, ed))
        agg = [s for s in stmts if "WITH g AS" in s[0]]
        plan = explain(conn, *agg[0])
        plans[label] = plan
        bad = [c for s in agg for c in geometry_ctes(explain(conn, *s))]
        checks.append(
            (
                f"demand_view ({label}): no CTE carrying a geometry, no MATERIALIZED",
                not bad and not any("MATERIALIZED" in s[0] for s in agg),
                f"{len(stmts)} statements, {len(agg)} aggregates" + (f"; {bad[0]}" if bad else ""),
            )
        )
        e_sql = "AND t.edition = :e" if ed is not None else ""
        bare = conn.execute(
            text(BARE_VIEW.format(edition=e_sql)), {"ps": ps, "cs": cs, "e": ed}
        ).all()
        want = [(int(r[0]), int(r[1]), round(float(r[2]), 2), int(r[3]), int(r[4])) for r in bare]
        got = view_numbers(demand_view(conn, pub, ed))
        api = client.get(f"/planners/api/demand?edition={ed if ed is not None else ''}").json
        checks.append(
            (
                f"numbers ({label}): demand_view = API = bare SQL",
                got == want and view_numbers(api["result"]["view"]) == want,
                f"{sum(r[1] for r in want)} proposal-district rows",
            )
        )
    conn.commit()

    # --- timings ----------------------------------------------------------------------------
    def sql(statement: str, ed: int | None) -> Callable[[], object]:
        e_sql = "AND t.edition = :e" if ed is not None else ""
        q = text(statement.format(edition=e_sql))
        return lambda: conn.execute(q, {"ps": ps, "cs": cs, "e": ed}).all()

    def http(ed: int | None) -> Callable[[], object]:
        u = f"/planners/api/demand?edition={ed if ed is not None else ''}"

        def go():
            r = client.get(u)
            if r.status_code != 200:
                raise RuntimeError(f"{u}: HTTP {r.status_code}")
            return r.data

        return go

    cases: dict[tuple[str, str], tuple[Callable[[], object], bool]] = {}
    for label, ed in (("newest", newest), ("all", None)):
        src = common.proposals_source(pub, ed)
        cases[("API /planners/api/demand", label)] = (http(ed), False)
        cases[("demand_view", label)] = (lambda ed=ed: demand_view(conn, pub, ed), True)
        cases[("bare SQL of the view", label)] = (sql(BARE_VIEW, ed), True)
        cases[("proposals aggregate (demand_by_district)", label)] = (
            lambda src=src: demand_by_district(conn, src, None),
            True,
        )
        cases[("bare SQL of the proposals aggregate", label)] = (sql(BARE_PROPOSALS, ed), True)
    walls: dict[tuple[str, str], list[float]] = {k: [] for k in cases}
    cpus: dict[tuple[str, str], list[float]] = {k: [] for k in cases}
    rng = random.Random(args.seed)
    keys = list(cases)
    for k in keys:  # warm-up: plan caches, the app's pool, the buffers
        cases[k][0]()
    conn.commit()
    load_before = os.getloadavg()
    for _ in range(args.runs):
        rng.shuffle(keys)
        for k in keys:
            fn, local = cases[k]
            c0 = backend_cpu(pid) if local else None
            t0 = time.perf_counter()
            fn()
            walls[k].append((time.perf_counter() - t0) * 1000)
            c1 = backend_cpu(pid) if local else None
            if c0 is not None and c1 is not None:
                cpus[k].append((c1 - c0) * 1000)
            conn.commit()
    load_after = os.getloadavg()
    conn.close()
    engine.dispose()
    app.extensions["engine"].dispose()

    # --- report -----------------------------------------------------------------------------
    v = db.versions(url)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def med(k):
        return statistics.median(walls[k])

    def cell(k) -> str:
        cpu = f"{statistics.fmean(cpus[k]):.0f}" if cpus[k] else "—"
        return f"{med(k):.1f} / {percentile(walls[k], 0.95):.1f} / {cpu}"

    bare_of = {
        "API /planners/api/demand": "bare SQL of the view",
        "demand_view": "bare SQL of the view",
        "proposals aggregate (demand_by_district)": "bare SQL of the proposals aggregate",
    }
    lines = [
        START,
        "## Demand per district (bench/demand.py, issue 11)",
        "",
        f"Measured {now} by `.venv/bin/python bench/demand.py --runs {args.runs}` on "
        f"{n} proposals (bench/bbox.py's `seeded()`, {len(eds)} editions; newest = {newest}), "
        f"PostgreSQL {v['postgresql']}, PostGIS {v['postgis']}, {os.cpu_count()} CPUs shared: "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
        + (f"; fill {fill_s:.0f} s" if fill_s else "")
        + ". Each cell: median / p95 wall ms / mean CPU ms of the PostgreSQL backend (10 ms "
        "ticks, averaged; a parallel plan's workers are not in it; — for HTTP, whose backend "
        "is the app's pool). Ratio = median wall against the bare "
        f"SQL returning the same numbers (target ≤ {TARGET_RATIO:g}×, and < {TARGET_MS:g} ms).",
        "",
        "| path | newest edition | ratio | all editions | ratio |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in (
        "API /planners/api/demand",
        "demand_view",
        "bare SQL of the view",
        "proposals aggregate (demand_by_district)",
        "bare SQL of the proposals aggregate",
    ):
        row = [name]
        for label in ("newest", "all"):
            k = (name, label)
            row.append(cell(k))
            row.append(f"{med(k) / med((bare_of[name], label)):.2f}×" if name in bare_of else "")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Plan checks:", ""]
    for what, ok, detail in checks:
        lines.append(f"- {'ok' if ok else '**FAILED**'}: {what} ({detail})")
    for label in ("newest", "all"):
        scan = [ln.strip() for ln in plans[label] if "Scan" in ln and "budget_proposals" in ln]
        agg = [ln.strip().split("  (")[0] for ln in plans[label] if "Aggregate" in ln]
        lines.append(
            f"- proposals aggregate ({label}): {'; '.join(s.split('  (')[0] for s in scan)}"
            f" → {agg[0].lstrip('-> ') if agg else '?'}"
        )
    lines += [
        "",
        "Bare SQL: `SELECT u.number, count(*), sum(t.cost) FROM budget_proposals t CROSS JOIN "
        "LATERAL unnest(t.districts) u(number) WHERE <public> [AND edition = :e] GROUP BY 1` for "
        "the proposals; for the view the same joined with the comments' and both supports' "
        "counts in one statement (bench/demand.py `BARE_VIEW`).",
        END,
    ]
    if not all(ok for _, ok, _ in checks):
        print("plan or number checks FAILED", file=sys.stderr)
    return "\n".join(lines) + "\n"


def write(section: str) -> None:
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if START in old and END in old:
        before, rest = old.split(START, 1)
        new = before + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(new, encoding="utf-8")


def run(args) -> str:
    if args.url:
        return measure(args, args.url, 0.0)
    import bbox  # bench/bbox.py: the synthetic proposals

    os.environ.setdefault("CIVICMAP_FAST_UNSAFE", "1")  # a throwaway cluster: fsync off
    workdir = Path(tempfile.mkdtemp(prefix="civicmap-demand-", dir="/var/tmp"))
    os.chmod(workdir, 0o755)
    cluster = Cluster(workdir / "pg")
    cluster.start()
    try:
        url, fill_s = bbox.seeded(cluster, args.points, args.seed)
        return measure(args, url, fill_s)
    finally:
        cluster.destroy()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=30, help="timed rounds (each case once a round)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--url", help="an already filled database (skip the throwaway cluster)")
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
