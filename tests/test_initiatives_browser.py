"""Issue 13 in real Chromium: residents apply for a local initiative, three people pledge
work, goods and money, staff score it 72/100 and accept it, the pool's remainder drops by the
city's share, pledges are marked delivered and the ledger totals equal the sum of the rows."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from conftest import login_page, run_axe

pytestmark = pytest.mark.browser

YEAR = date.today().year


def as_user(page, base: str, client) -> None:
    # leave the page first: a late answer to the old page's requests must not put the previous
    # person's session cookie back
    page.goto("about:blank")
    page.context.clear_cookies()
    login_page(page, base, client)


def pool_left(page, base: str) -> Decimal:
    page.goto(f"{base}/initiatives")
    return Decimal(page.get_attribute(f"tr[data-pool='{YEAR}'] td[data-left]", "data-left"))


def pledge(page, kind: str, fields: dict[str, str], pseudonym: str | None = None) -> None:
    form = page.locator(f"form[data-pledge-form={kind}]")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    if pseudonym:
        form.locator("[name=display]").select_option("pseudonym")
        form.locator("[name=pseudonym]").fill(pseudonym)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator(".flash").count() == 1, page.text_content("main")[:500]


def test_apply_pledge_assess_accept_deliver(page, live_server, make_user, outbox):
    anna = make_user(name="Anna Wnioskodawczyni")
    bartek, celina = make_user(name="Bartek Sąsiad"), make_user(name="Celina Sąsiadka")
    staff = make_user("official", name="Urzędniczka")
    outbox()

    # staff set this year's pool
    as_user(page, live_server, staff)
    page.goto(f"{live_server}/initiatives/pools")
    page.fill("#year", str(YEAR))
    page.fill("#amount", "195 000")
    page.fill("#hour_value", "30")
    page.click("button.primary")
    page.wait_for_selector(f"tr[data-pool='{YEAR}']")
    before = pool_left(page, live_server)
    assert before == Decimal("195000.00")

    # 1. residents apply
    as_user(page, live_server, anna)
    page.goto(f"{live_server}/initiatives/apply")
    page.wait_for_selector("#map_main[data-draw-ready='1']")
    assert run_axe(page) == []
    page.fill("#applicant_name", "Sąsiedzi z Zabłocia")
    page.fill("#title", "Zielony skwer na Zabłociu")
    page.fill("#description", "Sadzimy krzewy i stawiamy ławki razem z sąsiadami.")
    combo = page.locator("#address-search")
    combo.fill("zablocie")
    page.wait_for_selector("#address-search-listbox:not([hidden]) [role=option]")
    combo.press("ArrowDown")
    combo.press("Enter")
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    page.fill("#city_task", "Miasto dostarcza 40 sadzonek krzewów i dwie ławki.")
    page.fill("#city_cost", "-100")
    page.fill("#schedule", "kwiecień–maj")
    page.click("button.primary")
    page.wait_for_selector(".error-summary")
    assert page.get_attribute("#city_cost", "aria-invalid") == "true"
    assert run_axe(page) == []
    page.fill("#city_cost", "18 500")
    page.click("button.primary")
    page.wait_for_url(re.compile(r"/initiatives/\d+$"))
    url = page.url
    assert "Podgórze" in page.text_content("#content")  # district from the geometry

    # 2. three people pledge work, goods and money
    pledge(page, "work", {"hours": "12", "work_kind": "sadzenie"})
    as_user(page, live_server, bartek)
    page.goto(url)
    pledge(
        page, "goods", {"item": "ziemia ogrodowa (worki)", "quantity": "20", "unit_value": "15,50"}
    )
    as_user(page, live_server, celina)
    page.goto(url)
    pledge(page, "money", {"amount": "500"}, pseudonym="Sąsiadka z trzeciego")
    pledge(
        page, "money", {"amount": "600"}, pseudonym="Sąsiadka z trzeciego"
    )  # edited, not doubled
    rows = page.locator("table.ledger tbody tr")
    assert rows.count() == 3
    assert "Sąsiadka z trzeciego" in page.text_content("table.ledger")
    assert "Celina" not in page.text_content("table.ledger")
    assert run_axe(page) == []

    # 3. staff score it 72/100 and accept it
    as_user(page, live_server, staff)
    page.goto(url)
    for name, points in (("usefulness", "40"), ("contribution", "25"), ("extra", "7")):
        page.fill(f"#{name}", points)
        page.fill(f"#{name}_reason", f"Uzasadnienie: {name}")
    page.click("form.assess button[type=submit]")
    page.wait_for_selector("[data-score='72']")
    page.select_option("#new-status", "accepted")
    page.click("form.status-form button[type=submit]")
    page.wait_for_selector("[data-status='accepted']")
    subjects = [m["Subject"] for m in outbox()]
    assert any("przyjęta do realizacji" in s for s in subjects)  # mailed to the applicants
    city_cost = Decimal(page.get_attribute("[data-city-cost]", "data-city-cost"))
    assert pool_left(page, live_server) == before - city_cost == Decimal("176500.00")

    # 4. pledges marked delivered; the totals equal the sum of the rows
    page.goto(url)
    for _ in range(12):  # one click per pledge; a fresh page must show none left
        page.wait_for_load_state("load")
        if not page.locator("table.ledger button").count():
            page.reload()
            if not page.locator("table.ledger button").count():
                break
            continue
        with page.expect_navigation():
            page.locator("table.ledger button").first.click()
    rows = page.locator("table.ledger tbody tr")
    pledged = [Decimal(rows.nth(i).get_attribute("data-pledged")) for i in range(rows.count())]
    delivered = [Decimal(rows.nth(i).get_attribute("data-delivered")) for i in range(rows.count())]
    total_pledged = Decimal(page.get_attribute("[data-total-pledged]", "data-total-pledged"))
    total_delivered = Decimal(page.get_attribute("[data-total-delivered]", "data-total-delivered"))
    assert total_pledged == sum(pledged) == Decimal(12 * 30 + 20 * 15.5 + 600)
    assert total_delivered == sum(delivered) == total_pledged
    assert run_axe(page) == []

    # 5. the map of initiatives by status and year
    page.goto(f"{live_server}/initiatives?status=accepted&year={YEAR}")
    page.wait_for_selector("#map_main[data-loaded-local-initiatives='1']", state="attached")
    assert run_axe(page) == []
    assert page.watch.foreign() == []
    assert page.watch.errors == []
