"""civic.planning's background jobs, class breaks and charts, without a database."""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time

import pytest
from PIL import Image

from civic.planning import charts, hotspots, jobs, maps

WORKERS = 3  # a pool of its own: the app's analyses (2 threads) may still run from other tests


def _wait_done(store: jobs.JobStore, key: str) -> jobs.JobStatus:
    st = store.wait(key, 30)
    assert st.state in ("done", "failed"), st
    return st


def test_a_job_runs_in_the_background_and_its_result_is_kept(tmp_path):
    store = jobs.JobStore(tmp_path, workers=WORKERS)
    gate = threading.Event()

    def slow():
        gate.wait(10)
        return {"answer": 42, "text": "Łąka"}

    st = store.submit("k1", "demo", slow)
    assert st.state in ("queued", "running")
    # another worker process sees the same state through the files
    other = jobs.JobStore(tmp_path, workers=WORKERS)
    assert other.status("k1").state in ("queued", "running")
    assert other.result("k1") is None
    assert store.submit("k1", "demo", slow).state in ("queued", "running")  # not started twice
    gate.set()
    st = _wait_done(store, "k1")
    assert st.state == "done" and st.progress() == 1.0
    assert other.result("k1") == {"answer": 42, "text": "Łąka"}
    assert json.loads((tmp_path / "durations.json").read_text())["demo"] >= 0
    # the next run of the same analysis reports progress against that duration
    gate2 = threading.Event()
    store.submit("k2", "demo", lambda: gate2.wait(10) and {})
    st2 = store.status("k2")
    assert st2.expected_s is not None and 0 <= st2.progress() <= 0.95
    gate2.set()
    _wait_done(store, "k2")


def test_run_waits_briefly_then_hands_over_to_the_background(tmp_path):
    store = jobs.JobStore(tmp_path, workers=WORKERS)
    st, result = store.run("fast", "demo", lambda: {"ok": True}, wait_s=5)
    assert st.ready and result == {"ok": True}
    gate = threading.Event()
    st, result = store.run("slow", "demo", lambda: gate.wait(10) and {"ok": 1}, wait_s=0.05)
    assert result is None and st.state in ("queued", "running")
    gate.set()
    assert _wait_done(store, "slow").ready


def test_a_failed_job_says_so_and_is_retried_later(tmp_path):
    store = jobs.JobStore(tmp_path, workers=WORKERS, retry_failed_s=2)
    calls = []

    def boom():
        calls.append(1)
        raise RuntimeError("no")

    store.submit("bad", "demo", boom)
    st = _wait_done(store, "bad")
    assert st.state == "failed" and st.error == "RuntimeError"
    assert store.submit("bad", "demo", boom).state == "failed"  # not hammered at once
    assert len(calls) == 1
    time.sleep(2.1)
    store.submit("bad", "demo", boom)
    _wait_done(store, "bad")
    assert len(calls) == 2
    assert not (tmp_path / "bad.lock").exists()


def test_a_claim_of_a_dead_process_is_void(tmp_path):
    proc = subprocess.Popen(["true"])
    proc.wait()
    (tmp_path / "orphan.lock").write_text(str(proc.pid))
    (tmp_path / "orphan.status").write_text(json.dumps({"state": "running", "analysis": "demo"}))
    store = jobs.JobStore(tmp_path, workers=WORKERS)
    assert store.status("orphan").state == "missing"
    store.submit("orphan", "demo", lambda: {"again": True})
    assert _wait_done(store, "orphan").ready
    assert store.result("orphan") == {"again": True}


def test_old_results_expire(tmp_path):
    store = jobs.JobStore(tmp_path, workers=WORKERS, keep_s=0.2)
    store.submit("old", "demo", lambda: {"v": 1})
    assert _wait_done(store, "old").ready
    time.sleep(0.3)
    fresh = jobs.JobStore(tmp_path, workers=WORKERS, keep_s=0.2)
    assert fresh.status("old").state == "missing"


def test_keys_and_bad_keys(tmp_path):
    a = jobs.job_key("hotspots", {"size": 500}, "s1")
    assert a == jobs.job_key("hotspots", {"size": 500}, "s1")
    assert a != jobs.job_key("hotspots", {"size": 501}, "s1")
    assert a != jobs.job_key("hotspots", {"size": 500}, "s2")
    with pytest.raises(ValueError):
        jobs.JobStore(tmp_path, workers=WORKERS).status("../etc/passwd")


def test_breaks_and_classes():
    assert maps.quantile_breaks([]) == []
    assert maps.quantile_breaks([3, 3, 3]) == []
    b = maps.quantile_breaks([0.1, 0.5, 0.9, 1.3, 2.2, 3.1, 4.4, 5.0, 7.5, 9.9])
    assert b == sorted(b) and 1 <= len(b) <= 4
    assert all(0.1 < x <= 9.9 for x in b)
    assert maps.classify(None, b) is None
    assert maps.classify(float("nan"), b) is None
    assert maps.classify(0.0, [1, 2]) == 0
    assert maps.classify(1.0, [1, 2]) == 1  # lower limit inclusive
    assert maps.classify(5.0, [1, 2]) == 2
    assert hotspots.confidence_levels(0.1) == [0.01, 0.05, 0.1]
    assert hotspots.confidence_levels(0.05) == [0.01, 0.05]
    assert hotspots.confidence_levels(0.02) == [0.01, 0.02]
    assert [hotspots.confidence_label(x) for x in (0.01, 0.05, 0.1, 0.025)] == [
        "99",
        "95",
        "90",
        "97.5",
    ]


def test_feature_collection_is_valid_json_without_nan():
    fc = maps.feature_collection(
        [
            (1, '{"type":"Point","coordinates":[19.9,50.0]}', {"v": float("nan"), "t": "„Łąka”"}),
            (2, None, {"v": 1}),
        ]  # fmt: skip
    )
    data = json.loads(fc)
    assert data["features"][0]["properties"] == {"v": None, "t": "„Łąka”"}
    assert data["features"][1]["geometry"] is None


@pytest.mark.parametrize("n", [0, 1, 18])
def test_charts_are_pngs(n):
    png = charts.bar_chart(
        [f"Dzielnica {i} — Łagiewniki-Borek Fałęcki" for i in range(n)],
        [charts.Series("a", list(range(n))), charts.Series("b", [None] * n)],
        title="Zażółć gęślą jaźń — Українська",
        axis_label="liczba",
        description="opis",
    )
    img = Image.open(io.BytesIO(png))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and img.format == "PNG"
    assert img.info.get("Title") == "Zażółć gęślą jaźń — Українська"
    grid = charts.small_multiples(
        [(f"P{i}", [2018, 2019, 2024], [charts.Series("x", [1, None, 3])]) for i in range(n)],
        title="t",
        axis_label="y",
    )
    assert Image.open(io.BytesIO(grid)).format == "PNG"
