"""Accounts: register -> confirm (from the outbox) -> login -> logout, bad input, sessions,
export and deletion."""

from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import text

from app.security import mask_token, new_csrf_secret

_ip = itertools.count(1)
PASSWORD = "zielone jabłko na Kazimierzu"


@pytest.fixture()
def anon(app):
    """An anonymous client with a CSRF token (as a browser that loaded a page has) and its
    own IP address."""
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = f"192.0.2.{next(_ip) % 250 + 1}"
    secret = new_csrf_secret()
    with c.session_transaction() as s:
        s["_csrf"] = secret
    c.csrf = mask_token(secret)
    return c


def form(client, **fields):
    return {"csrf_token": client.csrf, **fields}


def fresh_token(client, path="/login") -> str:
    """The token a page carries now (logging in rotates it, as it should)."""
    html = client.get(path).text
    client.csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    return client.csrf


def link_from(message) -> str:
    body = message.get_body(("plain",)).get_content()
    return re.search(r"https?://\S+", body).group(0)


def test_register_confirm_login_logout(anon, outbox, engine):
    r = anon.post(
        "/register",
        data=form(anon, email="Ala.Nowak@Example.org", name="Ala", password=PASSWORD, district="1"),
    )
    assert r.status_code == 302, r.text
    # registered, not logged in (a taken address gets the same answer: issue 14.10)
    assert r.headers["Location"].endswith("/login")
    fresh_token(anon)
    r = anon.post("/login", data=form(anon, email="ala.nowak@example.org", password=PASSWORD))
    assert r.status_code == 302, r.text
    page = anon.get("/account")
    assert page.status_code == 200
    assert "Ala.Nowak@Example.org" in page.text
    assert "niepotwierdzony" in page.text
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT password_hash, confirmed_at FROM users WHERE email = :e"),
            {"e": "Ala.Nowak@Example.org"},
        ).one()
    assert row.password_hash.startswith("$argon2id$")
    assert row.confirmed_at is None

    mails = outbox()
    assert len(mails) == 1 and mails[0]["To"] == "Ala.Nowak@Example.org"
    link = link_from(mails[0])
    assert "/confirm/" in link
    path = link.split("://", 1)[1].split("/", 1)[1]
    r = anon.get("/" + path)
    assert r.status_code == 200 and "potwierdzony" in r.text
    # a link works once
    assert anon.get("/" + path).status_code == 404
    assert "niepotwierdzony" not in anon.get("/account").text

    r = anon.post("/logout", data=form(anon))
    assert r.status_code == 400  # the token from before login is void: login rotates it
    fresh_token(anon, "/account")
    r = anon.post("/logout", data=form(anon))
    assert r.status_code == 302
    assert anon.get("/account").status_code == 302  # back to the login page

    # log in with the address in another letter case
    fresh_token(anon)
    r = anon.post("/login", data=form(anon, email="ala.nowak@example.ORG", password=PASSWORD))
    assert r.status_code == 302 and r.headers["Location"].endswith("/account")
    assert anon.get("/account").status_code == 200


def test_session_cookie_and_server_side_session(anon, make_user, engine):
    c = make_user()
    assert c.get("/account").status_code == 200
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM user_sessions WHERE user_id = :u"), {"u": c.user.id})
    # the cookie is still there, but the server forgot the session
    assert c.get("/account").status_code == 302


def test_session_expires(make_user, engine):
    c = make_user()
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE user_id = :u"
            ),
            {"u": c.user.id},
        )
    r = c.get("/account")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_login_sets_expiring_httponly_lax_cookie(anon, make_user, app):
    u = make_user(login=False)
    r = anon.post("/login", data=form(anon, email=u.user.email, password=u.password))
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    # under tests the cookie is not Secure (plain http); the production default is
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_production_cookie_is_secure(db_url):
    from app import create_app

    prod = create_app({"DATABASE_URL": db_url, "BASEMAP": "none"})
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_HTTPONLY"] is True
    assert prod.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_wrong_password_is_401_naming_the_field(anon, make_user):
    u = make_user(login=False)
    r = anon.post("/login", data=form(anon, email=u.user.email, password="not the password!"))
    assert r.status_code == 401
    assert 'id="f-password-error"' in r.text
    r = anon.post(
        "/login",
        json={"email": "nobody@example.org", "password": "whatever 123"},
        headers={"X-CSRFToken": anon.csrf, "Accept": "application/json"},
    )
    assert r.status_code == 401 and r.json["error"]["field"] == "password"


BAD = [
    ({"email": ""}, "email", "required"),
    ({"email": "a" * 250 + "@example.org"}, "email", "too_long"),
    ({"email": "not-an-address"}, "email", "invalid_email"),
    ({"email": "two@@example.org"}, "email", "invalid_email"),
    ({"name": ""}, "name", "required"),
    ({"name": "   "}, "name", "required"),
    ({"name": "x" * 81}, "name", "too_long"),
    ({"password": ""}, "password", "required"),
    ({"password": "short1!"}, "password", "weak_password"),
    ({"password": "aaaaaaaaaaaa"}, "password", "weak_password"),
    ({"password": "1234567890"}, "password", "weak_password"),
    ({"password": "x" * 300}, "password", "too_long"),
    ({"district": "99"}, "district", "invalid"),
    ({"district": "abc"}, "district", "invalid"),
]


@pytest.mark.parametrize(
    "change,field,code", BAD, ids=[f"{b[1]}-{b[2]}-{i}" for i, b in enumerate(BAD)]
)
def test_register_bad_input_names_the_field(anon, engine, change, field, code):
    data = {"email": f"ok{next(_ip)}@example.org", "name": "Ok", "password": PASSWORD, **change}
    r = anon.post(
        "/register", json=data, headers={"X-CSRFToken": anon.csrf, "Accept": "application/json"}
    )
    assert r.status_code == 400, r.text
    err = r.json["error"]
    assert err["field"] == field and err["code"] == code
    assert err["message"]
    # and the HTML form shows the message at the field
    r = anon.post("/register", data=form(anon, **data))
    assert r.status_code == 400
    assert f'id="f-{field}-error"' in r.text
    assert 'aria-invalid="true"' in r.text
    with engine.connect() as conn:
        assert not conn.execute(
            text("SELECT 1 FROM users WHERE lower(email) = lower(:e)"), {"e": data["email"]}
        ).first()


def test_register_reports_every_bad_field_at_once(anon):
    r = anon.post(
        "/register",
        json={"email": "", "name": "", "password": ""},
        headers={"X-CSRFToken": anon.csrf, "Accept": "application/json"},
    )
    assert r.status_code == 400
    assert set(r.json["error"]["fields"]) == {"email", "name", "password"}


def test_duplicate_email_answers_like_a_new_registration(anon, make_user, engine, outbox):
    """Issue 14.10: a taken address (in any letter case) gets the answer a new one gets; the
    owner is told by mail, nobody else learns the account exists."""
    with engine.begin() as conn:  # the module's other registrations share this client's IP
        conn.execute(text("DELETE FROM rate_limits WHERE bucket = 'register'"))
    u = make_user(login=False, email="Duplicate@Example.org")
    taken = anon.post(
        "/register",
        data=form(anon, email="duplicate@EXAMPLE.org", name="Other", password=PASSWORD),
    )
    fresh = anon.post(
        "/register",
        data=form(anon, email="brand-new@example.org", name="Other", password=PASSWORD),
    )
    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"]
    assert taken.text == fresh.text
    for email in ("duplicate@EXAMPLE.org", "brand-new@example.org"):
        r = anon.post(
            "/register",
            json={"email": email, "name": "Other", "password": PASSWORD},
            headers={"X-CSRFToken": anon.csrf, "Accept": "application/json"},
        )
        assert r.status_code == 202 and r.json == {"status": "confirmation_sent", "email": email}
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM users WHERE lower(email) = 'duplicate@example.org'")
        ).scalar()
    assert n == 1 and u.user.email == "Duplicate@Example.org"
    mails = outbox()
    to_owner = [m for m in mails if m["To"] == "Duplicate@Example.org"]
    assert len(to_owner) == 2 and "próbował założyć konto" in to_owner[0].get_content()
    assert "/confirm/" not in to_owner[0].get_content()
    to_new = [m.get_content() for m in mails if m["To"] == "brand-new@example.org"]
    assert ["/confirm/" in b for b in to_new] == [True, False]  # one account, then "taken"


def test_password_reset(anon, make_user, outbox, engine):
    u = make_user()  # also logged in elsewhere: that session must end
    other = make_user(login=False)
    r = anon.post("/password/forgot", data=form(anon, email=u.user.email.upper()))
    assert r.status_code == 200 and "Jeśli konto" in r.text
    # an unknown address gets the same answer and no mail
    r2 = anon.post("/password/forgot", data=form(anon, email="nobody@example.org"))
    assert r2.status_code == 200
    mails = outbox()
    assert [m["To"] for m in mails] == [u.user.email]
    path = "/" + link_from(mails[0]).split("://", 1)[1].split("/", 1)[1]
    assert anon.get(path).status_code == 200
    r = anon.post(path, data=form(anon, password="short"))
    assert r.status_code == 400 and 'id="f-password-error"' in r.text
    r = anon.post(path, data=form(anon, password="a brand new passphrase"))
    assert r.status_code == 302
    assert anon.get(path).status_code == 404  # used
    assert u.get("/account").status_code == 302  # the other session was signed out
    fresh_token(anon)
    r = anon.post("/login", data=form(anon, email=u.user.email, password="a brand new passphrase"))
    assert r.status_code == 302
    fresh_token(anon, "/account")
    r = anon.post(
        "/login", data=form(anon, email=other.user.email, password="a brand new passphrase")
    )
    assert r.status_code == 401


def test_open_redirect_refused(anon, make_user):
    u = make_user(login=False)
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        fresh_token(anon)
        r = anon.post("/login", data=form(anon, email=u.user.email, password=u.password, next=evil))
        assert r.status_code == 302
        assert "evil" not in r.headers["Location"]


def test_export_contains_their_data_only(make_user, engine):
    a = make_user(name="Anna Eksport")
    b = make_user(name="Bartek Obcy")
    with engine.begin() as conn:
        for c, title in ((a, "Ławki na Plantach"), (b, "Cudzy projekt")):
            conn.execute(
                text(
                    "INSERT INTO budget_proposals (edition, title, scope, districts, author_id, geom) "
                    "VALUES (2025, :t, 'district', '{1}', :u, ST_SetSRID(ST_MakePoint(19.9373, 50.0617), 4326))"
                ),
                {"t": title, "u": c.user.id},
            )
        conn.execute(
            text("INSERT INTO notifications (user_id, message_key) VALUES (:a, 'x'), (:b, 'y')"),
            {"a": a.user.id, "b": b.user.id},
        )
    r = a.get("/account/export")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert "attachment" in r.headers["Content-Disposition"]
    data = r.json
    assert data["account"]["email"] == a.user.email
    assert data["account"]["name"] == "Anna Eksport"
    proposals = data["data"]["budget_proposals.author_id"]
    assert [p["title"] for p in proposals] == ["Ławki na Plantach"]
    assert proposals[0]["geom"]["type"] == "Point"
    assert [n["message_key"] for n in data["data"]["notifications.user_id"]] == ["x"]
    body = r.text
    assert b.user.email not in body and "Cudzy projekt" not in body and "Bartek" not in body
    assert "argon2" not in body and "id_hash" not in body and "password" not in body


def test_delete_anonymises(make_user, engine):
    a = make_user(name="Do Usunięcia")
    with engine.begin() as conn:
        pid = conn.execute(
            text(
                "INSERT INTO budget_proposals (edition, title, scope, districts, author_id) "
                "VALUES (2025, 'Zostaje po autorze', 'district', '{2}', :u) RETURNING id"
            ),
            {"u": a.user.id},
        ).scalar()
    r = a.post("/account/delete", data={"password": "wrong password!!"})
    assert r.status_code == 400 and 'id="f-password-error"' in r.text
    r = a.post("/account/delete", data={"password": a.password})
    assert r.status_code == 302
    assert a.get("/account").status_code == 302
    with engine.connect() as conn:
        u = conn.execute(text("SELECT * FROM users WHERE id = :id"), {"id": a.user.id}).one()
        p = conn.execute(
            text("SELECT title, author_id FROM budget_proposals WHERE id = :id"), {"id": pid}
        ).one()
        sessions = conn.execute(
            text("SELECT count(*) FROM user_sessions WHERE user_id = :id"), {"id": a.user.id}
        ).scalar()
    assert u.email is None and u.name is None and u.password_hash is None
    assert u.deleted_at is not None
    assert p.title == "Zostaje po autorze" and p.author_id is None
    assert sessions == 0
    # the address is free again
    with engine.connect() as conn:
        assert not conn.execute(
            text("SELECT 1 FROM users WHERE lower(email) = lower(:e)"), {"e": a.user.email}
        ).first()


def test_login_required_and_roles(app, make_user):
    anon = app.test_client()
    r = anon.get("/account")
    assert r.status_code == 302 and "/login?next=/account" in r.headers["Location"]
    r = anon.get("/account", headers={"Accept": "application/json"})
    assert r.status_code == 401 and r.json["error"]["code"] == "login_required"
    resident = make_user()
    assert resident.get("/moderation").status_code == 403
    assert make_user("moderator").get("/moderation").status_code == 200
    assert make_user("admin").get("/moderation").status_code == 200


def test_current_user_interface(app, make_user):
    from app.auth import User, current_user

    c = make_user("council", council_district=5, district=5)
    with app.test_request_context():
        assert current_user() is None
    r = c.get("/account")
    assert r.status_code == 200
    u = c.user
    assert isinstance(u, User)
    assert u.roles == frozenset({"council"}) and u.council_district == 5 and u.confirmed
