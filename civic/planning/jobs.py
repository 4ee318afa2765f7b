"""Cached analysis results and the background threads that compute the slow ones.

A result's key is the analysis, its parameters and a stamp of the data it reads
(:func:`data_stamp`): a change of the data gives a new key. :class:`JobStore` keeps the
results as JSON files shared by the server's worker processes; :func:`run` is what a page
calls: the cached result, or the computation started and awaited for a moment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from geo.schema import ident

log = logging.getLogger(__name__)

# --- cache keys -------------------------------------------------------------------------------

STAMP_TABLES = (
    "budget_proposals",
    "consultation_comments",
    "proposal_supports",
    "comment_supports",
    "civic_venues",
    "ngo_locations",
    "revitalisation_areas",
)


def data_stamp(conn: Connection, tables: Sequence[str]) -> str:
    """Changes whenever a row of these tables (or a district's population) changes: their
    versions in ``layer_versions`` (bumped by every write statement, migrations 0015 and
    0021; with the time of the bump, so that a new database does not meet an old stamp). A
    table without a version row of its own is counted, as before (a small table: e.g.
    ngo_organisations, whose writes bump ngo_locations')."""
    parts: list[Any] = [
        conn.execute(
            text("SELECT current_database() || ':' || coalesce(inet_server_port()::text, '')")
        ).scalar_one()
    ]
    wanted = [*tables, "districts"]
    versions = {
        r.tbl: [r.version, r.changed_at]
        for r in conn.execute(
            text("SELECT tbl, version, changed_at FROM layer_versions WHERE tbl = ANY(:t)"),
            {"t": wanted},
        )
    }
    for t in wanted:
        if t in versions:
            parts.append(versions[t])
            continue
        count = f"SELECT count(*), max(id), max(updated_at) FROM {ident(t)}"
        parts.append(list(conn.execute(text(count)).one()))
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:20]


MEMO_SIZE = 64
_memo: dict[str, str] = {}
_memo_lock = threading.Lock()


def memo(
    engine: Engine,
    analysis: str,
    params: Mapping[str, Any],
    compute: Callable[[Connection], dict[str, Any]],
    tables: Sequence[str],
) -> dict[str, Any]:
    """A quick analysis' result, kept in this process under the data's stamp: computed once
    per change of ``tables`` (a write anywhere in them gives a new stamp), then one indexed
    read of the versions per request. A fresh copy each time (the callers may change it)."""
    with engine.connect() as conn:
        key = job_key(analysis, params, data_stamp(conn, tables))
        kept = _memo.get(key)
        if kept is None:
            result = compute(conn)
            try:
                kept = json.dumps(result)
            except TypeError:  # not JSON-ready: not kept
                return result
            with _memo_lock:
                while len(_memo) >= MEMO_SIZE:
                    _memo.pop(next(iter(_memo)))
                _memo[key] = kept
    return json.loads(kept)


def statement_timeout(conn: Connection, seconds: float) -> None:
    """Cancel any statement of the current transaction that runs longer than ``seconds``."""
    conn.execute(
        text("SELECT set_config('statement_timeout', :t, true)"),
        {"t": str(max(1, int(seconds * 1000)))},
    )


def job_key(analysis: str, params: Mapping[str, Any], stamp: str) -> str:
    raw = json.dumps([analysis, dict(params), stamp], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


# --- background jobs --------------------------------------------------------------------------


@dataclass(frozen=True)
class JobStatus:
    key: str
    state: str  # "missing" | "queued" | "running" | "done" | "failed"
    analysis: str = ""
    submitted: float | None = None
    started: float | None = None
    finished: float | None = None
    expected_s: float | None = None
    error: str | None = None

    @property
    def ready(self) -> bool:
        return self.state == "done"

    def elapsed(self, now: float | None = None) -> float:
        if self.submitted is None:
            return 0.0
        end = self.finished if self.finished is not None else (now or time.time())
        return max(0.0, end - self.submitted)

    def progress(self, now: float | None = None) -> float:
        """0..1: done is 1; a running job's share of the last run's duration (at most 0.95)."""
        if self.state == "done":
            return 1.0
        if self.state not in ("queued", "running") or not self.expected_s:
            return 0.0
        return min(0.95, self.elapsed(now) / self.expected_s)

    def as_dict(self) -> dict[str, Any]:
        now = time.time()
        return {
            "key": self.key,
            "state": self.state,
            "analysis": self.analysis,
            "elapsed_s": round(self.elapsed(now), 2),
            "expected_s": None if self.expected_s is None else round(self.expected_s, 2),
            "progress": round(self.progress(now), 3),
            "error": self.error,
        }


class JobStore:
    """Runs analyses in background threads and keeps their results as JSON files.

    Files live in ``directory`` (shared by every worker process of the server on this
    machine): ``<key>.json`` is the result, ``<key>.status`` the state, ``<key>.lock`` the
    claim of the process computing it (its pid; a dead pid's claim is void). A result stays
    valid for ``keep_s`` seconds; the key holds a stamp of the data, so a change of the data
    gives a new key. At most ``workers`` analyses at a time per process: the machine is small.
    Progress is the elapsed share of the previous run of the same analysis.
    """

    _lock = threading.Lock()
    _executors: dict[tuple[int, int], ThreadPoolExecutor] = {}  # (pid, workers) -> pool
    _memo: dict[str, dict[str, Any]] = {}

    def __init__(
        self,
        directory: str | Path,
        *,
        workers: int = 1,
        keep_s: float = 3600.0,
        retry_failed_s: float = 10.0,
    ):
        self.dir = Path(directory)
        self.workers = workers
        self.keep_s = keep_s
        self.retry_failed_s = retry_failed_s

    # files
    def _path(self, key: str, suffix: str) -> Path:
        if not key.isalnum():
            raise ValueError("bad job key")
        return self.dir / f"{key}{suffix}"

    def _write(self, path: Path, data: str) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(data, encoding="utf-8")
        os.replace(tmp, path)

    def _read_json(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _durations(self) -> dict[str, float]:
        return self._read_json(self.dir / "durations.json") or {}

    # state
    def status(self, key: str) -> JobStatus:
        result = self._path(key, ".json")
        lock = self._path(key, ".lock")
        # The claim first, the status file after it: a job that ends between the two reads has
        # already written its final status (it removes its claim last), never a stale "running".
        alive = lock.exists() and self._claim_alive(lock)
        st = self._read_json(self._path(key, ".status")) or {}
        base = {
            "analysis": st.get("analysis", ""),
            "submitted": st.get("submitted"),
            "started": st.get("started"),
            "finished": st.get("finished"),
            "expected_s": st.get("expected_s"),
            "error": st.get("error"),
        }
        with contextlib.suppress(OSError):
            if time.time() - result.stat().st_mtime <= self.keep_s:
                return JobStatus(key, "done", **base)
        if alive and st.get("state") not in ("done", "failed"):
            return JobStatus(key, st.get("state", "queued"), **base)
        if not alive:
            with contextlib.suppress(OSError):
                lock.unlink()
        if st.get("state") == "failed":
            return JobStatus(key, "failed", **base)
        return JobStatus(key, "missing", **base)

    def _claim_alive(self, lock: Path) -> bool:
        try:
            pid = int(lock.read_text().strip() or 0)
        except (OSError, ValueError):
            return True  # being written right now
        if pid <= 0:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def result(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        if self.status(key).state != "done":
            return None
        data = self._read_json(self._path(key, ".json"))
        if data is not None:
            with self._lock:
                if len(self._memo) >= 8:
                    self._memo.pop(next(iter(self._memo)))
                self._memo[key] = data
        return data

    def _pool(self) -> ThreadPoolExecutor:
        """One pool per process (a forked worker makes its own) and size."""
        key = (os.getpid(), self.workers)
        with self._lock:
            pool = self._executors.get(key)
            if pool is None:
                pool = self._executors[key] = ThreadPoolExecutor(
                    max_workers=self.workers, thread_name_prefix="planner-job"
                )
            return pool

    def submit(self, key: str, analysis: str, fn: Callable[[], dict[str, Any]]) -> JobStatus:
        """Start computing ``key`` unless it is done, under way, or failed moments ago."""
        st = self.status(key)
        if st.state in ("done", "queued", "running"):
            return st
        if st.state == "failed" and st.finished and time.time() - st.finished < self.retry_failed_s:
            return st
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = self._path(key, ".lock")
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return self.status(key)  # another worker claimed it first
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        self._cleanup()
        expected = self._durations().get(analysis)
        now = time.time()
        status = {"state": "queued", "analysis": analysis, "submitted": now, "expected_s": expected}
        self._write(self._path(key, ".status"), json.dumps(status))
        self._pool().submit(self._run, key, analysis, fn, status)
        return self.status(key)

    def _run(self, key: str, analysis: str, fn: Callable[[], dict[str, Any]], status: dict) -> None:
        status = {**status, "state": "running", "started": time.time()}
        self._write(self._path(key, ".status"), json.dumps(status))
        try:
            payload = fn()
            finished = time.time()
            # the duration before the result: whoever sees the result sees the duration too
            durations = self._durations()
            durations[analysis] = finished - status["started"]
            self._write(self.dir / "durations.json", json.dumps(durations))
            self._write(self._path(key, ".json"), json.dumps(payload, ensure_ascii=False))
            status.update(state="done", finished=finished)
        except Exception as exc:  # the page shows it; the log keeps the traceback
            log.exception("planner job %s (%s) failed", key, analysis)
            status.update(state="failed", finished=time.time(), error=type(exc).__name__)
        finally:
            self._write(self._path(key, ".status"), json.dumps(status))
            with contextlib.suppress(OSError):
                self._path(key, ".lock").unlink()

    def wait(self, key: str, timeout: float) -> JobStatus:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            st = self.status(key)
            if st.state in ("done", "failed", "missing") or time.monotonic() >= deadline:
                return st
            time.sleep(0.05)

    def run(
        self, key: str, analysis: str, fn: Callable[[], dict[str, Any]], wait_s: float
    ) -> tuple[JobStatus, dict[str, Any] | None]:
        """Submit (if needed) and wait up to ``wait_s``: (status, result or None)."""
        st = self.submit(key, analysis, fn)
        if st.state in ("queued", "running"):
            st = self.wait(key, wait_s)
        return st, (self.result(key) if st.ready else None)

    def _cleanup(self) -> None:
        """Drop files older than a day (results of data that has changed since)."""
        cutoff = time.time() - max(self.keep_s, 86400.0)
        try:
            entries = list(os.scandir(self.dir))
        except OSError:
            return
        for e in entries:
            if e.name.endswith((".json", ".status", ".tmp")) and e.name != "durations.json":
                with contextlib.suppress(OSError):
                    if e.stat().st_mtime < cutoff:
                        os.unlink(e.path)


def run(
    engine: Engine,
    store: JobStore,
    analysis: str,
    params: Mapping[str, Any],
    compute: Callable[[Connection], dict[str, Any]],
    tables: Sequence[str],
    wait_s: float,
    timeout_s: float = 600.0,
) -> tuple[JobStatus, dict[str, Any] | None]:
    """A cached result of ``compute``, computed now or in the background: (status, result)."""
    with engine.connect() as conn:
        key = job_key(analysis, params, data_stamp(conn, tables))

    def fn() -> dict[str, Any]:
        with engine.begin() as conn:
            # a runaway analysis must not hold the (single) analysis thread for ever
            statement_timeout(conn, timeout_s)
            return compute(conn)

    return store.run(key, analysis, fn, wait_s)
