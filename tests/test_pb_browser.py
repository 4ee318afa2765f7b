"""One edition walked in Chromium, from its creation to the published ballot list, with every
out-of-phase action refused on the way (issue 9's "done when").

The clock: the edition is created for 2045 (its default schedule is in the future: no phase
is open today), then the admin opens each next phase with the "advance" button of the
edition's settings — the real, audited feature staff use; the server enforces each phase.
Pages are checked with axe (0 A/AA violations) and driven by labels and the keyboard.

Set PB_SCREENSHOTS=<dir> to save the screenshots used by docs/budget.md.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from civic.pb import feasibility, review
from tests.conftest import login_page, run_axe

pytestmark = pytest.mark.browser

Y = 2045
SHOTS = os.environ.get("PB_SCREENSHOTS")


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"budget-{name}.png"), full_page=True)


def as_user(browser, base, client):
    ctx = browser.new_context(locale="pl-PL", viewport={"width": 1200, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.js_errors = errors
    login_page(pg, base, client)
    return pg


def axe_ok(pg) -> None:
    pg.wait_for_load_state("networkidle")
    pg.wait_for_timeout(400)  # a map popup opened on load has faded in (contrast)
    violations = run_axe(pg)
    assert violations == [], violations


def refused(pg, code: str) -> None:
    box = pg.locator("#refusal")
    # the refusal is the page the form's POST navigates to: wait for it to be drawn
    # (is_visible() alone does not wait, and raced the navigation on a loaded machine)
    box.wait_for(state="visible", timeout=15000)
    assert box.is_visible(), pg.content()[:2000]
    assert box.get_attribute("data-code") == code, box.inner_text()


def advance(admin_pg, base) -> str:
    admin_pg.goto(f"{base}/budget/{Y}/admin")
    admin_pg.locator("#advance").focus()
    admin_pg.keyboard.press("Enter")
    admin_pg.wait_for_url(f"**/budget/{Y}")
    return admin_pg.locator("#phase-now").inner_text()


def wait_map(pg) -> None:
    """The edition's map (the budget layer) or a proposal's own page (its proposals map)."""
    pg.wait_for_selector(
        "#map_main[data-loaded-budget-proposals], #map_main[data-loaded-proposals]",
        state="attached",
        timeout=20000,
    )


def test_whole_edition(browser, live_server, make_user, app, outbox):
    base = live_server
    eng = app.extensions["engine"]
    admin = make_user("admin")
    author = make_user(district=1)
    author2 = make_user(district=1)
    verifier = make_user("official")
    signers = [make_user(district=1) for _ in range(15)]
    with eng.begin() as conn:
        review.add_verifier(conn, verifier.user.id, "zzm", None)
        feasibility.generate_synthetic_parcels(conn, 19.9373, 50.0617, 60, 4, prefix="B")
    a = as_user(browser, base, admin)
    au = as_user(browser, base, author)

    # --- the admin creates the edition (Kraków 2025's configuration by default) -----------
    a.goto(f"{base}/budget/admin/new")
    axe_ok(a)
    a.get_by_label("Rok edycji (rok głosowania)").fill(str(Y))
    a.get_by_label("Nazwa").fill("Budżet Obywatelski Krakowa 2045")
    a.get_by_role("button", name="Utwórz edycję").click()
    a.wait_for_url(f"**/budget/{Y}/admin")
    axe_ok(a)
    assert a.get_by_label("Wymagana liczba podpisów poparcia").input_value() == "15"

    # out of phase: no submissions before the submission phase opens
    au.goto(f"{base}/budget/{Y}/submit")
    axe_ok(au)

    def fill_project(pg, title: str) -> None:
        pg.get_by_label("Tytuł (najwyżej 60 znaków)").fill(title)
        pg.get_by_label("Opis", exact=True).fill("Nasadzenia drzew i ławki przy Rynku.")
        pg.get_by_label("Kategoria").select_option("urban greenery")
        pg.get_by_label("Szacowany koszt (zł)").fill("300000")
        pg.get_by_label("Dzielnica (numer 1–18, dla projektu dzielnicowego)").fill("1")
        pg.get_by_label("Długość geograficzna (np. 19.9373)").fill("19.9369")
        pg.get_by_label("Szerokość geograficzna (np. 50.0617)").fill("50.0614")
        pg.get_by_label("Oświadczam, że mieszkam w Krakowie.").check()
        pg.get_by_label(re.compile("mieszkam w dzielnicy projektu")).check()
        pg.get_by_role("button", name="Zgłoś projekt").click()

    fill_project(au, "Zielony skwer przy Rynku")
    assert au.locator("#errors").get_attribute("data-code") == "phase_closed"

    assert "składanie projektów" in advance(a, base)
    a.goto(f"{base}/budget/{Y}")
    wait_map(a)
    axe_ok(a)
    shot(a, "edition")

    # --- submission: a 61-character title is refused naming the field, then it goes in --
    au.goto(f"{base}/budget/{Y}/submit")
    fill_project(au, "x" * 61)
    assert au.locator("#errors").get_attribute("data-field") == "title"
    axe_ok(au)
    shot(au, "submit-error")
    fill_project(au, "Zielony skwer przy Rynku")
    au.wait_for_url(re.compile(r".*/proposals/\d+$"))
    pid = int(au.url.rsplit("/", 1)[1])
    assert au.locator("#status").get_attribute("data-status") == "submitted"
    axe_ok(au)
    # the second project of the same pool (for the merge), by another author, as JSON
    r = author2.post(
        f"/budget/{Y}/submit",
        json={
            "title": "Łąka kwietna przy Plantach",
            "description": "Łąka.",
            "category": "urban greenery",
            "cost": "100000",
            "scope": "district",
            "district": "1",
            "lon": "19.9375",
            "lat": "50.0620",
            "declared_residency": "1",
            "declared_district_residency": "1",
        },
    )
    assert r.status_code == 201
    pid2 = r.get_json()["id"]

    # --- 15 online signatures: 14 over HTTP, the 15th in the browser with the keyboard ----
    for s in signers[:14]:
        for p_ in (pid, pid2):
            r = s.post(
                f"/budget/projects/{p_}/support", json={"declared_residency": True, "district": 1}
            )
            assert r.status_code == 200, r.get_json()
    r = signers[0].post(
        f"/budget/projects/{pid}/support", json={"declared_residency": True, "district": 1}
    )
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_signed"
    assert (
        signers[14]
        .post(f"/budget/projects/{pid2}/support", json={"declared_residency": True, "district": 1})
        .status_code
        == 200
    )
    sp = as_user(browser, base, signers[14])
    sp.goto(f"{base}/budget/projects/{pid}")
    axe_ok(sp)
    sp.get_by_label(re.compile("Oświadczam, że mieszkam w Krakowie")).focus()
    sp.keyboard.press("Space")
    sp.get_by_role("button", name="Popieram projekt").focus()
    sp.keyboard.press("Enter")
    sp.wait_for_selector("#signed")
    assert "15 z 15" in sp.locator("#support-count").inner_text()
    shot(sp, "support")
    sp.context.close()

    # out of phase: the formal review is not open during submissions
    a.goto(f"{base}/budget/projects/{pid}")
    a.get_by_label("kompletny — do weryfikacji merytorycznej").check()
    a.get_by_role("button", name="Zapisz decyzję formalną").click()
    refused(a, "phase_closed")
    axe_ok(a)
    shot(a, "refused")

    # --- formal review: a gap, corrected by the author, then complete -------------------
    assert "weryfikacja formalna" in advance(a, base)
    a.goto(f"{base}/budget/projects/{pid}")
    a.get_by_label("braki — wezwij autora do uzupełnienia").check()
    a.get_by_label("Uwagi / braki / powód").fill("Brak opisu nasadzeń (gatunki drzew).")
    a.get_by_role("button", name="Zapisz decyzję formalną").click()
    a.wait_for_url(f"**/proposals/{pid}")
    assert a.locator("#status").get_attribute("data-status") == "correction"
    au.goto(f"{base}/budget/projects/{pid}")
    assert "Brak opisu nasadzeń" in au.locator("#gap").inner_text()
    axe_ok(au)
    au.get_by_label("Opis (poprawiony)").fill("Lipy drobnolistne (6 szt.), ławki, kosze.")
    au.get_by_role("button", name="Wyślij poprawki").click()
    au.wait_for_url(f"**/proposals/{pid}")
    assert au.locator("#status").get_attribute("data-status") == "submitted"
    for p_ in (pid, pid2):
        a.goto(f"{base}/budget/projects/{p_}")
        a.get_by_label("kompletny — do weryfikacji merytorycznej").check()
        a.get_by_role("button", name="Zapisz decyzję formalną").click()
        a.wait_for_url(f"**/proposals/{p_}")
        assert a.locator("#status").get_attribute("data-status") == "under_review"

    # --- merit review: negative with reasons (the verifier of ZZM), with the pre-check ----
    assert "weryfikacja merytoryczna" in advance(a, base)
    v = as_user(browser, base, verifier)
    v.goto(f"{base}/budget/projects/{pid}")
    assert v.locator("#feasibility li").count() >= 1
    wait_map(v)
    axe_ok(v)
    for k in ("own_task", "public_access", "plans_compliant", "cost_within_limits"):
        v.locator(f"#f-cl-{k}-yes").check()
    v.locator("#f-cl-city_land-no").check()
    v.get_by_label("Koszt końcowy (zł)").fill("320000")
    v.get_by_label("negatywna").check()
    v.get_by_label("Uzasadnienie (publiczne)").fill("Działka należy do Skarbu Państwa.")
    shot(v, "merit")
    v.get_by_role("button", name="Zapisz ocenę").click()
    v.wait_for_url(f"**/proposals/{pid}")
    assert v.locator("#status").get_attribute("data-status") == "rejected"
    r = verifier.post(
        f"/budget/projects/{pid2}/merit",
        json={
            **{f"checklist.{k}": "yes" for k in review.CHECKLIST},
            "final_cost": "100000",
            "decision": "positive",
        },
    )
    assert r.status_code == 200, r.get_json()
    v.context.close()
    # the reasons are public
    anon = browser.new_context(locale="pl-PL").new_page()
    anon.goto(f"{base}/budget/projects/{pid}")
    reasons = anon.locator("#reasons").inner_text()
    assert "Skarbu Państwa" in reasons and "którym miasto dysponuje" in reasons
    axe_ok(anon)
    feat = anon.request.get(f"{base}/api/layers/budget-proposals/features/{pid}").json()
    assert "Skarbu Państwa" in feat["properties"]["rejection_reason"]
    assert feat["properties"]["review_reasons"] == ["city_land"]
    # out of phase: a protest before the protest phase
    au.goto(f"{base}/budget/projects/{pid}")
    au.get_by_label("Uzasadnienie protestu").fill(
        "Działka jest miejska: załączamy wypis z rejestru."
    )
    au.get_by_role("button", name="Złóż protest").click()
    refused(au, "phase_closed")
    assert "protesty" in au.locator("#refusal").inner_text()

    # --- protest: filed by the author, upheld at the hearing -------------------------------
    assert "protesty" in advance(a, base)
    au.goto(f"{base}/budget/projects/{pid}")
    au.get_by_label("Uzasadnienie protestu").fill(
        "Działka jest miejska: załączamy wypis z rejestru."
    )
    au.get_by_role("button", name="Złóż protest").click()
    au.wait_for_url(f"**/proposals/{pid}")
    assert au.locator("#status").get_attribute("data-status") == "protested"
    a.goto(f"{base}/budget/projects/{pid}")
    axe_ok(a)
    a.get_by_label("Data rozpatrzenia").fill(f"{Y}-01-01")
    for label in ("jednostka miejska", "Rada Budżetu Obywatelskiego", "rada dzielnicy"):
        a.get_by_label(label, exact=True).check()
    a.get_by_label("Protokół").fill("ZZM potwierdza: działka gminna. Protest uwzględniony.")
    a.get_by_label("uwzględniony", exact=True).check()
    shot(a, "protest")
    a.get_by_role("button", name="Zapisz rozstrzygnięcie").click()
    a.wait_for_url(f"**/proposals/{pid}")
    assert a.locator("#status").get_attribute("data-status") == "accepted_for_vote"

    # --- the ballot list, numbered per pool ------------------------------------------------
    assert "lista do głosowania" in advance(a, base)
    a.goto(f"{base}/budget/{Y}/review")
    axe_ok(a)
    a.locator("#publish-ballot").click()
    a.wait_for_url(f"**/budget/{Y}/ballot")
    numbers = {
        int(li.get_attribute("data-id")): li.get_attribute("data-number")
        for li in a.locator("#pool-1 + ol li").all()
    }
    assert numbers == {pid2: "1", pid: "2"}  # alphabetical: "Łąka" < "Zielony"
    axe_ok(a)

    # --- withdrawals and merges: the two authors merge their projects ---------------------
    assert "wycofania" in advance(a, base)
    au.goto(f"{base}/budget/projects/{pid}")
    au.get_by_label("Łąka kwietna przy Plantach").check()
    au.get_by_label("Tytuł połączonego projektu").fill("Skwer i łąka przy Rynku")
    au.get_by_role("button", name="Zaproponuj połączenie").click()
    au.wait_for_url(f"**/proposals/{pid}")
    assert "czeka na potwierdzenie" in au.locator("#merges").inner_text()
    # publishing, the merge is not yet done: the staff cannot complete it for the authors
    with eng.connect() as conn:
        mid = conn.execute(
            text("SELECT merge_id FROM pb_merge_sources WHERE proposal_id = :p"), {"p": pid}
        ).scalar_one()
    a2 = as_user(browser, base, author2)
    a2.goto(f"{base}/budget/projects/{pid2}")
    axe_ok(a2)
    a2.get_by_role("button", name="Potwierdzam połączenie").click()
    a2.wait_for_url(f"**/proposals/{pid2}")
    assert a2.locator("#status").get_attribute("data-status") == "merged"
    merged_id = int(a2.locator("dd a").first.get_attribute("href").rsplit("/", 1)[1])
    a2.context.close()
    a.goto(f"{base}/budget/{Y}/review")
    a.locator("#publish-ballot").click()
    a.wait_for_url(f"**/budget/{Y}/ballot")
    items = a.locator("#pool-1 + ol li").all()
    assert [
        (int(li.get_attribute("data-id")), li.get_attribute("data-number")) for li in items
    ] == [(merged_id, "1")]
    assert "#" + str(pid) in items[0].inner_text() and "#" + str(pid2) in items[0].inner_text()
    assert "Lista opublikowana" in a.locator("#ballot-state").inner_text()
    shot(a, "ballot")

    # --- out of phase after the deadline: withdrawals and merges are refused in voting ----
    assert "głosowanie" in advance(a, base)
    r = author.post(f"/budget/projects/{merged_id}/withdraw", json={"reason": "za późno"})
    assert r.status_code in (403, 409)
    r = author.post(f"/budget/merges/{mid}/confirm", json={})
    assert r.status_code == 409
    r = author.post(f"/budget/{Y}/submit", json={"title": "Po terminie"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "phase_closed"

    # --- the project's public history; the summary table; audit; mails -------------------
    anon.goto(f"{base}/budget/projects/{pid}")
    states = [
        td.get_attribute("data-state") for td in anon.locator("#history td[data-state]").all()
    ]
    assert states == [
        "submitted",
        "correction",
        "submitted",
        "under_review",
        "rejected",
        "protested",
        "accepted_for_vote",
        "merged",
    ]
    anon.goto(f"{base}/budget/{Y}?district=1")
    wait_map(anon)
    row = anon.locator("#summary tr[data-district='1']")
    assert row.locator("td[data-col='submitted']").inner_text() == "2"
    assert row.locator("td[data-col='withdrawn_or_merged']").inner_text() == "2"
    assert row.locator("td[data-col='positive']").inner_text() == "1"
    axe_ok(anon)
    shot(anon, "summary")
    with eng.connect() as conn:
        actions = set(
            conn.execute(
                text(
                    "SELECT action FROM audit_log WHERE (target_table = 'pb_editions' AND target_id = :y)"
                    " OR (target_table = 'budget_proposals' AND target_id = :p)"
                ),
                {"y": Y, "p": pid},
            ).scalars()
        )
    assert {
        "pb.edition_create",
        "pb.phase_advance",
        "pb.phase_open",
        "pb.status.correction",
        "pb.status.rejected",
        "pb.status.protested",
        "pb.ballot_list_publish",
    } <= actions
    to_author = [m for m in outbox() if author.user.email in str(m.get("To", ""))]
    assert len(to_author) >= 7  # every decision about the project was mailed to its author
    assert a.js_errors == [] and au.js_errors == []
