"""Issue 14.1, the battery's "Host-header test on every mail that carries a link": each form
that sends a mail with a link refuses a foreign Host with 400 before any mail is written, and
with CIVICMAP_BASE_URL set every link in those mails starts with it, whatever Host was sent."""

from __future__ import annotations

import re

import pytest

BASE = "https://mapa.krakow.example"
EVIL = {"Host": "evil.example"}
LINK = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture(scope="module")
def app(db_url):
    from app import create_app

    return create_app(
        {"DATABASE_URL": db_url, "TESTING": True, "BASEMAP": "none", "BASE_URL": BASE}
    )


def _links(mails) -> list[str]:
    return [u for m in mails for u in LINK.findall(m.get_body(("plain",)).get_content())]


# (path, form fields) of every form whose answer is a mail with a link (grep external_url)
MAIL_FORMS = [
    (
        "/register",
        {"email": "nowa@example.org", "name": "Nowa", "password": "zielone jabłko na Kazimierzu"},
    ),
    ("/password/forgot", {"email": "ktos@example.org"}),
    ("/confirm/resend", {}),
    ("/ngos/claim", {"krs": "0000012345", "email": "ngo@example.org"}),
    ("/initiatives/1/status", {"status": "accepted"}),
]


@pytest.mark.parametrize(("path", "fields"), MAIL_FORMS, ids=[p for p, _ in MAIL_FORMS])
def test_a_foreign_host_is_refused_before_any_mail(make_user, outbox, path, fields):
    c = make_user("admin", confirmed=False)
    outbox()  # empty it
    r = c.post(path, data={"csrf_token": c.csrf, **fields}, headers=EVIL)
    assert r.status_code == 400 and b"untrusted Host" in r.data
    assert outbox() == []


def test_links_in_mail_come_from_the_base_url(make_user, outbox, engine):
    owner = make_user(login=False, email="wlasciciel@example.org")
    c = make_user(confirmed=False)
    outbox()
    headers = {"Host": "localhost"}  # trusted (loopback), but not the published address
    anon = make_user(login=False)
    for path, fields in (
        (
            "/register",
            {
                "email": "nowy@example.org",
                "name": "Nowy",
                "password": "zielone jabłko na Kazimierzu",
            },
        ),
        (
            "/register",
            {"email": owner.user.email, "name": "X", "password": "zielone jabłko na Kazimierzu"},
        ),
        ("/password/forgot", {"email": owner.user.email}),
    ):
        r = anon.post(path, data={"csrf_token": anon.csrf, **fields}, headers=headers)
        assert r.status_code < 400, path
    r = c.post("/confirm/resend", data={"csrf_token": c.csrf}, headers=headers)
    assert r.status_code < 400
    mails = outbox()
    assert {m["To"] for m in mails} >= {"nowy@example.org", owner.user.email, c.user.email}
    links = _links(mails)
    assert len(links) >= 4
    assert all(u.startswith(BASE + "/") for u in links), [u for u in links if BASE not in u]
