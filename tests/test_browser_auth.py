"""Accounts and moderation in real Chromium: the whole register/confirm/login/logout flow,
a hostile name that never runs, axe on the account pages, and folium pages under the CSP."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.conftest import login_page, run_axe

pytestmark = pytest.mark.browser

XSS_NAME = "<script>alert(1)</script>"
XSS_IMG = '<img src=x onerror="alert(2)">'


def watch_console(page) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    return messages


def csp_violations(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m or "Refused to" in m]


def test_register_confirm_logout_login(page, live_server, outbox):
    console = watch_console(page)
    page.goto(f"{live_server}/register")
    page.get_by_label("E-mail").fill("Browser.User@example.org")
    page.get_by_label("Imię lub pseudonim").fill("Basia z Podgórza")
    page.get_by_label("Hasło").fill("trzy zielone tramwaje")
    page.get_by_label("Dzielnica zamieszkania").select_option("13")
    page.get_by_role("button", name="Załóż konto").click()
    # no session yet: a taken address must get the same answer (issue 14.10)
    page.wait_for_url(f"{live_server}/login")
    assert page.get_by_text("Wysłaliśmy wiadomość na Browser.User@example.org").is_visible()

    mails = outbox()
    assert len(mails) == 1
    link = re.search(r"https?://\S+", mails[0].get_body(("plain",)).get_content()).group(0)
    assert link.startswith(live_server + "/confirm/")
    page.goto(link)
    assert page.get_by_text("adres e-mail jest potwierdzony").is_visible()

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("browser.user@example.org")
    page.get_by_label("Hasło").fill("trzy zielone tramwaje")
    page.get_by_role("button", name="Zaloguj się").click()
    page.wait_for_url(f"{live_server}/account")
    assert page.get_by_text("potwierdzony", exact=True).is_visible()
    page.get_by_role("button", name="Wyloguj").click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_role("link", name="Zaloguj").is_visible()

    # log in again with the keyboard alone
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").focus()
    page.keyboard.type("browser.user@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("trzy zielone tramwaje")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/account")
    assert page.get_by_label("Imię lub pseudonim").input_value() == "Basia z Podgórza"
    assert not page.watch.dialogs and not page.watch.errors
    assert not csp_violations(console), console
    assert not page.watch.foreign()


def test_wrong_password_message_is_at_the_field(page, live_server):
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("nobody@example.org")
    page.get_by_label("Hasło").fill("not the password")
    page.get_by_role("button", name="Zaloguj się").click()
    field = page.get_by_label("Hasło")
    assert field.get_attribute("aria-invalid") == "true"
    assert "Nieprawidłowy e-mail lub hasło" in page.locator("#f-password-error").inner_text()


@pytest.fixture()
def flagged(make_user, engine):
    """A comment by a user with a hostile name, flagged (with a hostile reason) by another."""
    author = make_user(name=XSS_NAME)
    with engine.begin() as conn:
        cons = conn.execute(
            text(
                "INSERT INTO consultations (title, opens_on, closes_on, stage, geom) VALUES "
                "(:t, current_date - 1, current_date + 10, 'open', ST_Multi(ST_GeomFromText("
                "'POLYGON((19.93 50.058, 19.945 50.058, 19.945 50.066, 19.93 50.066, 19.93 50.058))',"
                " 4326))) RETURNING id"
            ),
            {"t": XSS_IMG},
        ).scalar()
        cid = conn.execute(
            text(
                "INSERT INTO consultation_comments (consultation_id, body, author_id, status) "
                "VALUES (:c, :b, :a, 'published') RETURNING id"
            ),
            {"c": cons, "b": XSS_IMG + " " + XSS_NAME, "a": author.user.id},
        ).scalar()
    flagger = make_user()
    r = flagger.post(
        "/flag",
        json={"target_table": "consultation_comments", "target_id": cid, "reason": XSS_IMG},
    )
    assert r.status_code == 201
    return author, cid


def test_hostile_name_never_runs_and_moderator_hides(page, live_server, make_user, flagged):
    author, cid = flagged
    mod = make_user("moderator", name=XSS_IMG)
    login_page(page, live_server, mod)
    console = watch_console(page)
    page.goto(f"{live_server}/moderation")
    item = page.locator("article.queue-item").filter(has_text=XSS_NAME)
    assert item.count() == 1
    item.get_by_label("Powód").fill("Narusza regulamin")
    item.get_by_role("button", name="Ukryj").click()
    page.wait_for_url(f"{live_server}/moderation")
    assert page.get_by_text("Kolejka jest pusta").is_visible()
    page.goto(f"{live_server}/moderation/audit")
    assert page.get_by_role("cell", name=XSS_IMG).first.is_visible()

    # the author sees the notification, with the hostile text shown as text
    login_page(page, live_server, author)
    page.goto(f"{live_server}/account")
    assert page.get_by_text("Moderator ukrył Twój wpis").is_visible()
    assert page.get_by_text(XSS_NAME).first.is_visible()
    page.goto(f"{live_server}/")
    assert page.watch.dialogs == []
    assert not page.watch.errors
    assert not csp_violations(console), console


@pytest.mark.parametrize(
    "path,role",
    [
        ("/register", None),
        ("/login", None),
        ("/password/forgot", None),
        ("/account", "resident"),
        ("/account/delete", "resident"),
        ("/moderation", "moderator"),
        ("/moderation/audit", "moderator"),
    ],
)
def test_axe_account_pages(page, live_server, make_user, flagged, path, role):
    if role:
        login_page(page, live_server, make_user(role) if role != "resident" else flagged[0])
    page.goto(f"{live_server}{path}")
    violations = run_axe(page)
    assert violations == [], violations


def test_axe_form_with_errors(page, live_server):
    page.goto(f"{live_server}/register")
    page.get_by_role("button", name="Załóż konto").click()
    assert page.locator(".errors-summary").is_visible()
    assert run_axe(page) == []


@pytest.mark.parametrize("path", ["/", "/districts/12", "/layers/budget-proposals", "/account"])
def test_folium_pages_run_under_the_csp(page, live_server, make_user, path):
    login_page(page, live_server, make_user())
    console = watch_console(page)
    resp = page.goto(f"{live_server}{path}")
    assert "nonce-" in resp.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    if path != "/account":
        assert page.locator(".leaflet-container").count() == 1
        assert page.locator(".leaflet-container .leaflet-interactive").count() > 0
    assert not csp_violations(console), console
    assert not page.watch.errors
