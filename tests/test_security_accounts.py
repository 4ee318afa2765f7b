"""Account enumeration (issue 14.10): /register of a taken address answers like a new
registration (and mails the owner), /password/forgot takes the same time for an existing and
an unknown address (the mail work runs after the response), and the account endpoints are
limited per client IP as well as per address."""

from __future__ import annotations

import itertools
import statistics
import time

import pytest

from app.security import mask_token, new_csrf_secret

pytest_plugins = ["faults_plugin"]

_ip = itertools.count(1)
PASSWORD = "zielone jabłko na Kazimierzu"


@pytest.fixture()
def anon(app):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = f"198.51.100.{next(_ip) % 250 + 1}"
    secret = new_csrf_secret()
    with c.session_transaction() as s:
        s["_csrf"] = secret
    c.csrf = mask_token(secret)
    return c


@pytest.fixture()
def no_rate_limit(app):
    app.config["RATELIMIT_ENABLED"] = False
    yield
    app.config["RATELIMIT_ENABLED"] = True


def _forgot_ms(client, email: str) -> float:
    t0 = time.perf_counter()
    r = client.post("/password/forgot", data={"csrf_token": client.csrf, "email": email})
    dt = (time.perf_counter() - t0) * 1000
    assert r.status_code == 200
    return dt


def test_forgot_takes_the_same_time_for_existing_and_unknown_addresses(
    anon, make_user, outbox, no_rate_limit
):
    known = make_user(login=False).user.email
    mails = outbox
    for _ in range(5):  # warm up
        _forgot_ms(anon, known), _forgot_ms(anon, "nobody-warm@example.org")
    times: dict[str, list[float]] = {"existing": [], "unknown": []}
    for i in range(60):  # interleaved, so load on the machine hits both alike
        times["existing"].append(_forgot_ms(anon, known))
        times["unknown"].append(_forgot_ms(anon, f"nobody{i}@example.org"))
    med = {k: statistics.median(v) for k, v in times.items()}
    from faults_plugin import record

    record(
        "password/forgot median ms",
        existing=round(med["existing"], 2),
        unknown=round(med["unknown"], 2),
        n=60,
    )
    assert len([m for m in mails() if m["To"] == known]) >= 60  # the mail did go out
    diff = abs(med["existing"] - med["unknown"])
    assert diff < max(1.0, 0.1 * med["unknown"]), med
