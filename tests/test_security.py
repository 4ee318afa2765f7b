"""CSRF, rate limits (in the database, shared by workers), body size, content types, strict
JSON, escaping and security headers."""

from __future__ import annotations

import itertools
import re
import threading

import pytest
from flask import jsonify

from app.forms import json_body
from app.security import mask_token, new_csrf_secret, rate_limit

_ip = itertools.count(1)


@pytest.fixture(scope="module")
def sec_app(db_url):
    """An app with a few extra routes that use the security helpers as other modules do."""
    from app import create_app

    a = create_app({"DATABASE_URL": db_url, "TESTING": True, "BASEMAP": "none"})

    @a.post("/t/limited")
    @rate_limit("test_limited", limit=5, per=60)
    def limited():
        return jsonify(ok=True)

    @a.post("/api/t/json")
    def json_endpoint():
        return jsonify(json_body())

    @a.post("/api/t/getjson")
    def flask_get_json():
        from flask import request

        return jsonify(request.get_json())

    return a


def client_for(app, token: bool = True):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = f"198.51.100.{next(_ip) % 250 + 1}"
    secret = new_csrf_secret()
    with c.session_transaction() as s:
        s["_csrf"] = secret
    c.csrf = mask_token(secret)
    if token:
        c.environ_base["HTTP_X_CSRFTOKEN"] = c.csrf
    return c


# --- CSRF -----------------------------------------------------------------------------------


def test_csrf_missing_is_400_with_code(sec_app):
    c = client_for(sec_app, token=False)
    r = c.post("/login", data={"email": "a@example.org", "password": "whatever 123"})
    assert r.status_code == 400
    assert "CSRF" in r.text
    r = c.post(
        "/login",
        json={"email": "a@example.org", "password": "x"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 400
    assert r.json["error"]["code"] == "csrf" and r.json["error"]["field"] == "csrf_token"


def test_csrf_wrong_or_foreign_token_is_400(sec_app):
    c = client_for(sec_app, token=False)
    other = client_for(sec_app, token=False)
    for bad in ("garbage", "", other.csrf, c.csrf[:-4] + "AAAA", "é" * 10):
        r = c.post("/api/t/json", json={}, headers={"X-CSRFToken": bad})
        assert r.status_code == 400, bad
        assert r.json["error"]["code"] == "csrf"


def test_csrf_token_is_masked_each_time_but_valid(sec_app):
    c = client_for(sec_app, token=False)
    html1, html2 = c.get("/login").text, c.get("/login").text
    t1 = re.search(r'name="csrf-token" content="([^"]+)"', html1).group(1)
    t2 = re.search(r'name="csrf-token" content="([^"]+)"', html2).group(1)
    assert t1 != t2
    for t in (t1, t2):
        r = c.post("/api/t/json", json={"a": 1}, headers={"X-CSRFToken": t})
        assert r.status_code == 200 and r.json == {"a": 1}


def test_csrf_foreign_origin_refused(sec_app):
    c = client_for(sec_app)
    r = c.post("/api/t/json", json={}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 400 and r.json["error"]["field"] == "Origin"
    r = c.post("/api/t/json", json={}, headers={"Origin": "http://localhost"})
    assert r.status_code == 200


def test_every_form_on_every_page_carries_the_token(app, make_user):
    c = make_user("moderator")
    anon = app.test_client()
    pages = [(anon, p) for p in ("/", "/login", "/register", "/password/forgot")]
    pages += [(c, p) for p in ("/", "/account", "/account/delete", "/moderation")]
    for client, path in pages:
        html = client.get(path).text
        assert '<meta name="csrf-token"' in html
        for f in re.findall(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S | re.I):
            assert 'name="csrf_token"' in f, (path, f[:200])


# --- rate limits ------------------------------------------------------------------------------


def test_login_rate_limit_429(sec_app):
    c = client_for(sec_app)
    codes = [
        c.post("/login", data={"email": "x@example.org", "password": "wrong pass!"}).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    r = c.post(
        "/login",
        data={"email": "x@example.org", "password": "wrong pass!"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 429
    assert r.json["error"]["code"] == "rate_limited"
    assert "Spróbuj ponownie za" in r.json["error"]["message"]
    assert int(r.headers["Retry-After"]) >= 1
    # a person at another address is not affected
    assert client_for(sec_app).get("/login").status_code == 200
    r = client_for(sec_app).post("/login", data={"email": "y@example.org", "password": "no no no!"})
    assert r.status_code == 401


def test_rate_limit_html_page_is_clear(sec_app):
    c = client_for(sec_app)
    for _ in range(5):
        c.post("/t/limited")
    r = c.post("/t/limited")
    assert r.status_code == 429 and "text/html" in r.content_type
    assert "Za dużo prób" in r.text


def test_rate_limit_counts_parallel_requests_exactly(sec_app):
    """20 requests at once from one client: exactly 5 get through (the counter is an upsert)."""
    ip = f"203.0.113.{next(_ip) % 250 + 1}"
    secret = new_csrf_secret()
    results: list[int] = []

    def one():
        c = sec_app.test_client()
        c.environ_base["REMOTE_ADDR"] = ip
        with c.session_transaction() as s:
            s["_csrf"] = secret
        r = c.post("/t/limited", headers={"X-CSRFToken": mask_token(secret)})
        results.append(r.status_code)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] * 5 + [429] * 15


def test_rate_limit_is_per_user_too(sec_app, engine):
    """Two signed-in people behind one address (a library, a NAT) have separate budgets."""
    from sqlalchemy import text

    from app.auth import _sha, create_user

    clients = []
    for i in range(2):
        with sec_app.app_context(), engine.begin() as conn:
            u = create_user(conn, f"nat{i}-{next(_ip)}@example.org", "NAT", "nat user password")
            conn.execute(
                text(
                    "INSERT INTO user_sessions (id_hash, user_id, expires_at) "
                    "VALUES (:h, :u, now() + interval '1 hour')"
                ),
                {"h": _sha(f"nat-session-{u.id}"), "u": u.id},
            )
        c = client_for(sec_app)
        c.environ_base["REMOTE_ADDR"] = "192.0.2.200"
        with c.session_transaction() as s:
            s["sid"] = f"nat-session-{u.id}"
        clients.append(c)
    assert [clients[0].post("/t/limited").status_code for _ in range(6)][-1] == 429
    assert clients[1].post("/t/limited").status_code == 200


# --- body size, content type, JSON --------------------------------------------------------------


def test_10_mb_body_is_413_not_500(sec_app):
    c = client_for(sec_app)
    big = b"x" * (10 * 1024 * 1024)
    r = c.post("/api/t/json", data=big, content_type="application/json")
    assert r.status_code == 413
    assert r.json["error"]["code"] == "too_large" and r.json["error"]["field"] == "body"
    assert "2 MB" in r.json["error"]["message"]
    r = c.post("/register", data={"email": "a@example.org", "name": "x" * (10 * 1024 * 1024)})
    assert r.status_code == 413 and "text/html" in r.content_type
    # a body without Content-Length (chunked) is cut off too
    r = c.post(
        "/register",
        input_stream=__import__("io").BytesIO(b"name=" + big),
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert r.status_code == 413


def test_wrong_content_type_is_415_naming_it(sec_app):
    c = client_for(sec_app)
    r = c.post("/api/t/json", data="a=1", content_type="text/plain")
    assert r.status_code == 415
    err = r.json["error"]
    assert err["field"] == "Content-Type" and "text/plain" in err["message"]
    r = c.post("/api/t/getjson", data="<a/>", content_type="application/xml")
    assert r.status_code == 415 and "application/xml" in r.json["error"]["message"]
    # the account forms take forms or JSON, nothing else
    r = c.post("/register", data="<x/>", content_type="application/xml")
    assert r.status_code == 415 and "application/xml" in r.text


@pytest.mark.parametrize(
    "body",
    ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', "[" * 100000 + "]" * 100000, "{", "[]"],
    ids=["nan", "inf", "-inf", "deep", "broken", "not-object"],
)
def test_strict_json(sec_app, body):
    c = client_for(sec_app)
    r = c.post("/api/t/json", data=body, content_type="application/json")
    assert r.status_code == 400
    assert r.json["error"]["code"] == "bad_json" and r.json["error"]["field"] == "body"
    r = c.post("/api/t/getjson", data=body, content_type="application/json")
    assert r.status_code in (200, 400)  # Flask's own get_json: no 500 either
    if body == "[]":
        assert r.status_code == 200
    else:
        assert r.status_code == 400


# --- headers and escaping ------------------------------------------------------------------------


def test_csp_nonce_on_every_inline_script(client):
    r = client.get("/")
    csp = r.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    scripts = re.findall(r"<script\b([^>]*)>", r.text)
    assert scripts
    for attrs in scripts:
        assert "src=" in attrs or f'nonce="{nonce}"' in attrs, attrs


def test_user_name_is_escaped(make_user):
    c = make_user(name="<script>alert(1)</script>")
    html = c.get("/account").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_pages_for_people_are_not_cached(make_user):
    r = make_user().get("/account")
    assert "no-store" in r.headers["Cache-Control"]
