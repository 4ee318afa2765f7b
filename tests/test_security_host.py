"""Issue 14.1: mail links never take their host from the request; 14.2: database away → 503."""

from __future__ import annotations

import re

from app import create_app
from app.security import mask_token  # noqa: F401  (the module under test loads)


def test_untrusted_host_is_refused_before_any_mail(client):
    r = client.get("/password/forgot", headers={"Host": "evil.example"})
    assert r.status_code == 400
    r = client.post(
        "/password/forgot", data={"email": "x@example.org"}, headers={"Host": "evil.example"}
    )
    assert r.status_code == 400


def test_trusted_hosts_still_served(client):
    assert client.get("/password/forgot", headers={"Host": "localhost:5000"}).status_code == 200
    assert client.get("/password/forgot", headers={"Host": "127.0.0.1:8000"}).status_code == 200


def test_database_away_is_503_with_retry_after(db_url):
    dead = re.sub(r"@127\.0\.0\.1:\d+/", "@127.0.0.1:1/", db_url)
    app = create_app({"TESTING": True, "DATABASE_URL": dead, "RATELIMIT_ENABLED": False})
    c = app.test_client()
    r = c.get("/")
    page = c.get("/", headers={"Accept": "application/json"})
    for resp in (r, page):
        assert resp.status_code == 503, resp.data[:300]
        assert resp.headers["Retry-After"] == "5"
    assert page.get_json()["error"]["code"] == "database_unavailable"
    en = c.get("/?lang=en")
    assert b"database is unavailable" in en.data
