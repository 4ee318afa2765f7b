"""Issue 13 in real Chromium: an NGO claims its profile, adds a branch by address search and
appears on the map filtered by its field after moderation; axe on the NGO pages."""

from __future__ import annotations

import re

import pytest
from conftest import login_page, run_axe

pytestmark = pytest.mark.browser


def loaded(page, url: str, layer: str = "ngos") -> int:
    page.goto(url)
    page.wait_for_selector("#map_main[data-loaded-districts='18']")
    page.wait_for_selector(f"#map_main[data-loaded-{layer}]", state="attached", timeout=15000)
    return int(page.get_attribute("#map_main", f"data-loaded-{layer}"))


def test_claim_branch_by_address_moderation_map(page, browser, live_server, make_user, outbox):
    outbox()
    ngo = make_user(name="Prezeska Fundacji")
    login_page(page, live_server, ngo)
    # before anything: no NGO in the field "ecology" on the map
    assert loaded(page, f"{live_server}/ngos?field=ecology") == 0

    # 1. claim: KRS + the organisation's e-mail
    page.goto(f"{live_server}/ngos/claim")
    assert run_axe(page) == []
    page.fill("#krs", "12345")
    page.fill("#contact_email", "zarzad@zielony.example.org")
    page.fill("#name", "Fundacja Zielone Zabłocie")
    page.click("button.primary")
    page.wait_for_selector(".error-summary")
    assert "10 cyfr" in page.text_content(".error-summary")
    assert page.get_attribute("#krs", "aria-invalid") == "true"
    page.fill("#krs", "KRS 0000 424 242")
    page.check("input[name=fields][value=ecology]")
    page.check("input[name=target_groups][value=families]")
    page.click("button.primary")
    page.wait_for_selector("#profile-link")
    mail = outbox()
    assert [m["To"] for m in mail] == ["zarzad@zielony.example.org"]
    link = re.search(r"http://\S+/ngos/claim/confirm/\S+", mail[0].get_content()).group(0)

    # 2. while it waits the claimant prepares it: a branch by address search
    page.click("#profile-link")
    page.wait_for_url(re.compile(r"/ngos/\d+$"))
    org_id = int(page.url.rsplit("/", 1)[1])
    page.goto(f"{live_server}/ngos/{org_id}/places/new")
    page.wait_for_selector("#map_main[data-draw-ready='1']")
    assert run_axe(page) == []
    page.select_option("#kind", "branch")
    page.fill("#place_name", "Ogród na Zabłociu")
    combo = page.locator("#address-search")
    combo.fill("zablocie")
    page.wait_for_selector("#address-search-listbox:not([hidden]) [role=option]")
    combo.press("ArrowDown")
    combo.press("Enter")
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    page.click("button.primary")
    page.wait_for_url(re.compile(rf"/ngos/{org_id}$"))
    assert "Ogród na Zabłociu" in page.text_content("#content")
    assert "Podgórze" in page.text_content("#content")  # the district, from the point

    # 3. the e-mail's link confirms the claim; still not on the public map
    page.goto(link)
    assert "czeka teraz na moderatora" in page.text_content("#content")
    assert loaded(page, f"{live_server}/ngos?field=ecology") == 0

    # 4. a moderator approves it (in their own browser)
    mod_context = browser.new_context(locale="pl-PL")
    mod = mod_context.new_page()
    login_page(mod, live_server, make_user("moderator"))
    mod.goto(f"{live_server}/ngos/moderation")
    assert run_axe(mod) == []
    row = mod.locator("tr", has_text="Fundacja Zielone Zabłocie")
    row.locator("button[value=approve]").click()
    mod.wait_for_selector(".flash")
    mod_context.close()

    # 5. public: on the map filtered by its field, not under another field
    seen = len(page.watch.requests)
    assert loaded(page, f"{live_server}/ngos?field=ecology") == 1
    requested = [u for u in page.watch.requests[seen:] if "/tiles/ngos/" in u]
    assert requested and all("fields=ecology" in u for u in requested)
    assert "Fundacja Zielone Zabłocie" in page.text_content(".side")
    assert run_axe(page) == []
    assert loaded(page, f"{live_server}/ngos?field=sport") == 0
    assert loaded(page, f"{live_server}/ngos?target_group=families&district=13") == 1
    # the profile page with its places' map
    assert loaded(page, f"{live_server}/ngos/{org_id}") == 1
    assert run_axe(page) == []
    assert page.watch.foreign() == []
    assert page.watch.errors == []
