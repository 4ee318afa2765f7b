"""The budget process's domain (civic.pb) on real PostGIS: editions, phases, submission,
support lists, formal and merit review, protests, the ballot list, withdrawals and merges.

The clock is controllable: every civic.pb function takes ``now``; the edition's schedule is
Kraków 2025's moved to the year 2031 (submissions 7 Feb – 9 Mar 2031 ...).
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import text

from civic.pb import (
    ballot_list,
    editions,
    merges,
    phases,
    protests,
    review,
    submission,
    support,
    workflow,
)
from civic.pb.clock import add_working_days
from civic.pb.errors import PbError
from tests.pb_support import POINT_IN_STARE_MIASTO, add_user, at, d

Y = 2031


@pytest.fixture(scope="module")
def setup(engine):
    with engine.begin() as conn:
        admin = add_user(conn, ("admin",))
        editions.create_edition(conn, Y, admin)
        verifier = add_user(conn, ("official",))
        review.add_verifier(conn, verifier, "zzm", admin)
        other_verifier = add_user(conn, ("official",))
        review.add_verifier(conn, other_verifier, "edukacja", admin)
        council = add_user(conn, ("resident", "council"), council_district=1)
    return {"admin": admin, "verifier": verifier, "other": other_verifier, "council": council}


def _fields(**kw):
    base = {
        "title": "Zielony skwer przy Rynku",
        "description": "Nasadzenia drzew i ławki.",
        "category": "urban greenery",
        "cost": "300000",
        "scope": "district",
        "district": 1,
        "location_kind": "point",
        "declared_residency": True,
        "declared_district_residency": True,
    }
    return base | kw


def _new(conn, author, now=None, **kw) -> int:
    now = now or at(Y, 2, 10)
    e = submission.open_edition_for_submission(conn, now)
    clean = submission.check_submission(conn, e, _fields(**kw))
    pid = submission.create_proposal(conn, e, author, clean, POINT_IN_STARE_MIASTO)
    submission.submit(conn, pid, author, now)
    return pid


def _sign(conn, pid, n, district=1, now=None):
    for _ in range(n):
        u = add_user(conn, district=district)
        support.sign(conn, pid, u, True, district, now or at(Y, 2, 12))


def _count(conn, table):
    return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_new_edition_has_krakow_2025_defaults(engine, setup):
    with engine.connect() as conn:
        e = editions.get_edition(conn, Y)
        assert (e.support_count, e.support_days, e.correction_days, e.protest_days) == (
            15,
            10,
            5,
            10,
        )
        assert e.title_max == 60
        city = e.pool("citywide", 0)
        assert city.budget == Decimal("10200000")
        assert (city.min_cost, city.max_cost) == (Decimal("25000"), Decimal("2000000"))
        districts = [p for p in e.pools if p.scope == "district"]
        assert len(districts) == 18
        assert abs(sum(p.budget for p in districts) - Decimal("40800000")) < 1
        assert all(p.min_cost == Decimal("2500") for p in districts)
        sched = {w.phase: w for w in phases.schedule(conn, Y)}
        assert (sched["submission"].starts_on, sched["submission"].ends_on) == (
            d(Y, 2, 7),
            d(Y, 3, 9),
        )
        assert sched["protests"].ends_on == d(Y, 6, 19)
        assert sched["voting"].starts_on == d(Y, 9, 19)
        audit = conn.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'pb.edition_create' AND target_id = :y"
            ),
            {"y": Y},
        ).scalar_one()
        assert audit == 1


def test_duplicate_edition_refused(engine, setup):
    with engine.begin() as conn, pytest.raises(PbError) as exc:
        editions.create_edition(conn, Y, setup["admin"])
    assert exc.value.status == 409 and exc.value.field == "year"


def test_phase_enforced_with_message(engine, setup):
    with engine.begin() as conn:
        with pytest.raises(PbError) as exc:
            submission.open_edition_for_submission(conn, at(Y, 4, 1))
        assert exc.value.code == "phase_closed" and exc.value.status == 409
        with pytest.raises(PbError) as exc:
            phases.require_phase(conn, Y, "protests", at(Y, 2, 10))
        assert exc.value.params["asked"] == "protests"
        assert exc.value.params["starts"] == f"{Y}-06-09"
        assert exc.value.params["current"] == "submission"
        assert phases.current_phase(conn, Y, at(Y, 6, 12)) == "protests"
        logged = conn.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'pb.phase_open' AND target_id = :y"
            ),
            {"y": Y},
        ).scalar_one()
        assert logged >= 2  # submission and protests seen open, once each


def test_past_editions_closed_refuse_everything(engine, setup):
    with engine.begin() as conn, pytest.raises(PbError) as exc:
        phases.require_phase(conn, 2024, "submission", at(2024, 2, 10))
    assert exc.value.code == "edition_closed"


@pytest.mark.parametrize(
    "kw,field,code",
    [
        ({"title": "x" * 61}, "title", "too_long"),
        ({"cost": "2000"}, "cost", "cost_out_of_limits"),  # under 2 500 PLN
        ({"scope": "citywide", "cost": "2000001"}, "cost", "cost_out_of_limits"),
        ({"scope": "citywide", "cost": "24999"}, "cost", "cost_out_of_limits"),
        ({"cost": "NaN"}, "cost", "not_a_number"),
        ({"category": "nonsense"}, "category", "bad_choice"),
        ({"declared_residency": False}, "declared_residency", "declaration_required"),
        (
            {"declared_district_residency": False},
            "declared_district_residency",
            "declaration_required",
        ),
        ({"district": ""}, "district", "required"),
    ],
)
def test_submission_rules_name_the_field(engine, setup, kw, field, code):
    with engine.begin() as conn:
        before = _count(conn, "budget_proposals")
        e = submission.open_edition_for_submission(conn, at(Y, 2, 10))
        with pytest.raises(PbError) as exc:
            submission.check_submission(conn, e, _fields(**kw))
        assert (exc.value.field, exc.value.code) == (field, code)
        assert 400 <= exc.value.status < 500
        assert _count(conn, "budget_proposals") == before


def test_district_max_is_the_pool_share(engine, setup):
    with engine.begin() as conn:
        e = editions.get_edition(conn, Y)
        pool = e.pool("district", 1)
        e2 = submission.open_edition_for_submission(conn, at(Y, 2, 10))
        submission.check_submission(conn, e2, _fields(cost=str(pool.max_cost)))
        with pytest.raises(PbError):
            submission.check_submission(conn, e2, _fields(cost=str(pool.max_cost + 1)))


def test_submit_sets_support_deadline_and_history(engine, setup):
    with engine.begin() as conn:
        author = add_user(conn, district=1)
        pid = _new(conn, author)
        p = workflow.get_proposal(conn, pid)
        assert p.status == "submitted" and p.support_deadline == d(Y, 2, 20)
        assert p.pool_district == 1
        h = workflow.history(conn, pid)
        assert [x["to_state"] for x in h] == ["submitted"]


def test_support_one_per_person_concurrently(engine, setup):
    with engine.begin() as conn:
        author = add_user(conn, district=1)
        pid = _new(conn, author)
        signer = add_user(conn, district=1)
    errors, ok = [], []

    def go():
        try:
            with engine.begin() as c:
                ok.append(support.sign(c, pid, signer, True, 1, at(Y, 2, 12)))
        except PbError as exc:
            errors.append(exc.code)

    threads = [threading.Thread(target=go) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 1 and errors == ["already_signed"] * 11
    with engine.begin() as conn:
        assert support.support_count(conn, pid)["online"] == 1
        with pytest.raises(PbError) as exc:
            support.sign(conn, pid, add_user(conn, district=2), True, 2, at(Y, 2, 12))
        assert exc.value.code == "wrong_district"
        with pytest.raises(PbError) as exc:
            support.sign(conn, pid, add_user(conn, district=1), True, 1, at(Y, 2, 21))
        assert exc.value.code == "support_closed"


def test_incomplete_support_list_leaves_the_review(engine, setup):
    with engine.begin() as conn:
        author = add_user(conn, district=1)
        pid = _new(conn, author)
        _sign(conn, pid, 10)
        support.record_paper_list(
            conn, pid, 4, setup["admin"], b"%PDF-1.4", "lista.pdf", "application/pdf"
        )
        assert support.support_count(conn, pid) == {"online": 10, "paper": 4, "total": 14}
        full = _new(conn, author, title="Drugi projekt")
        _sign(conn, full, 5)
        support.record_paper_list(conn, full, 10, setup["admin"])
        closed = support.close_support_lists(conn, Y, at(Y, 2, 21))
        assert pid in closed and full not in closed
        assert workflow.get_proposal(conn, pid).status == "no_support_list"
        assert workflow.get_proposal(conn, full).status == "submitted"


def test_formal_gap_corrected_then_merit_negative_then_protest_upheld(engine, setup):
    with engine.begin() as conn:
        author = add_user(conn, district=1)
        pid = _new(conn, author)
        _sign(conn, pid, 15)
        with pytest.raises(PbError) as exc:  # formal review is not open in February
            review.formal_decide(conn, pid, setup["admin"], "gap", "brak mapy", at(Y, 2, 12))
        assert exc.value.code == "phase_closed"
        # Friday 14 March 2031 + 5 working days = Friday 21 March
        assert (
            review.formal_decide(conn, pid, setup["admin"], "gap", "brak zdjęć", at(Y, 3, 14))
            == "correction"
        )
        p = workflow.get_proposal(conn, pid)
        assert p.correction_deadline == d(Y, 3, 21) == add_working_days(d(Y, 3, 14), 5)
        with pytest.raises(PbError) as exc:
            review.correct(conn, pid, add_user(conn), {"description": "x"}, at(Y, 3, 15))
        assert exc.value.code == "not_author"
        review.correct(conn, pid, author, {"description": "Z dodanymi zdjęciami."}, at(Y, 3, 17))
        assert workflow.get_proposal(conn, pid).status == "submitted"
        review.formal_decide(conn, pid, setup["admin"], "complete", None, at(Y, 3, 18))
        p = workflow.get_proposal(conn, pid)
        assert p.status == "under_review" and p.unit == "zzm"  # by category
        checklist = {k: True for k in review.CHECKLIST} | {"city_land": False}
        with pytest.raises(PbError) as exc:  # a verifier of another unit
            review.merit_decide(
                conn, pid, setup["other"], checklist, "300000", "negative", "x", at(Y, 5, 1)
            )
        assert (exc.value.code, exc.value.status) == ("not_your_unit", 403)
        with pytest.raises(PbError) as exc:  # positive with a failed item
            review.merit_decide(
                conn, pid, setup["verifier"], checklist, "300000", "positive", None, at(Y, 5, 1)
            )
        assert exc.value.field == "checklist.city_land"
        review.merit_decide(
            conn,
            pid,
            setup["verifier"],
            checklist,
            "320000",
            "negative",
            "Działka należy do Skarbu Państwa.",
            at(Y, 5, 1),
        )
        p = workflow.get_proposal(conn, pid)
        assert p.status == "rejected" and p.cost == Decimal("320000")
        assert "Skarbu Państwa" in p.rejection_reason
        assert "terenie, którym miasto dysponuje" in p.rejection_reason
        # a second decision is refused (status and UNIQUE (proposal_id, stage))
        with pytest.raises(PbError):
            review.merit_decide(
                conn, pid, setup["verifier"], checklist, "1", "negative", "y", at(Y, 5, 2)
            )
        # protests: not before the window, not by another person
        with pytest.raises(PbError) as exc:
            protests.file_protest(
                conn, pid, author, "Działka jest miejska, mamy wypis.", at(Y, 5, 2)
            )
        assert exc.value.code == "phase_closed"
        with pytest.raises(PbError) as exc:
            protests.file_protest(conn, pid, add_user(conn), "Nie zgadzam się z tym.", at(Y, 6, 10))
        assert exc.value.code == "not_author"
        before = conn.execute(
            text("SELECT count(*) FROM notifications WHERE user_id = :u"), {"u": setup["council"]}
        ).scalar_one()
        prid = protests.file_protest(
            conn, pid, author, "Działka jest miejska, mamy wypis.", at(Y, 6, 10)
        )
        after = conn.execute(
            text(
                "SELECT count(*) FROM notifications WHERE user_id = :u AND message_key = "
                "'pb_protest_council'"
            ),
            {"u": setup["council"]},
        ).scalar_one()
        assert after == before + 1  # the district council of district 1 heard of it
        with pytest.raises(PbError) as exc:
            protests.file_protest(conn, pid, author, "Jeszcze raz, proszę.", at(Y, 6, 11))
        assert exc.value.code in ("already_protested", "not_rejected")
        protests.decide_protest(
            conn,
            prid,
            setup["admin"],
            "upheld",
            f"{Y}-06-15",
            ["unit", "bo_council", "district_council"],
            "Uwzględniono.",
            at(Y, 6, 15),
        )
        p = workflow.get_proposal(conn, pid)
        assert p.status == "accepted_for_vote" and p.rejection_reason is None
        states = [h["to_state"] for h in workflow.history(conn, pid)]
        assert states == [
            "submitted",
            "correction",
            "submitted",
            "under_review",
            "rejected",
            "protested",
            "accepted_for_vote",
        ]
        actions = (
            conn.execute(
                text(
                    "SELECT action FROM audit_log WHERE target_table = 'budget_proposals' "
                    "AND target_id = :p ORDER BY id"
                ),
                {"p": pid},
            )
            .scalars()
            .all()
        )
        assert actions.count("pb.status.rejected") == 1
        assert "pb.status.accepted_for_vote" in actions
        mails = workflow.take_mails(conn)
        assert any(m["key"] == "pb_gap" for m in mails)
        assert any(m["key"] == "pb_protest_decided" for m in mails)


def test_protest_on_a_project_not_rejected(engine, setup):
    with engine.begin() as conn:
        author = add_user(conn, district=1)
        pid = _new(conn, author)
        with pytest.raises(PbError) as exc:
            protests.file_protest(conn, pid, author, "Protestuję przeciwko.", at(Y, 6, 10))
        assert exc.value.code == "not_rejected"


def test_uncorrected_gap_rejects(engine, setup):
    with engine.begin() as conn:
        author = add_user(conn, district=1)
        pid = _new(conn, author)
        _sign(conn, pid, 15)
        review.formal_decide(conn, pid, setup["admin"], "gap", "brak opisu kosztów", at(Y, 3, 14))
        with pytest.raises(PbError) as exc:
            review.correct(conn, pid, author, {"description": "późno"}, at(Y, 3, 24))
        assert exc.value.code == "correction_closed"
        assert review.expire_corrections(conn, Y, at(Y, 3, 24)) == [pid]
        p = workflow.get_proposal(conn, pid)
        assert p.status == "rejected" and "brak opisu kosztów" in p.rejection_reason


def test_workflow_refuses_undeclared_moves(engine, setup):
    with engine.begin() as conn:
        author = add_user(conn, district=1)
        pid = _new(conn, author)
        with pytest.raises(PbError) as exc:
            workflow.transition(conn, pid, "selected", setup["admin"])
        assert exc.value.code == "transition_not_allowed"
        assert workflow.get_proposal(conn, pid).status == "submitted"


def _on_list(conn, setup, author, title, district=2, cost="100000"):
    pid = _new(conn, author, title=title, district=district, cost=cost)
    _sign(conn, pid, 15, district=district)
    review.formal_decide(conn, pid, setup["admin"], "complete", None, at(Y, 3, 18))
    review.merit_decide(
        conn,
        pid,
        setup["verifier"],
        {k: True for k in review.CHECKLIST},
        cost,
        "positive",
        None,
        at(Y, 5, 1),
    )
    return pid


def test_ballot_list_merges_and_withdrawals(engine, setup):
    with engine.begin() as conn:
        # settle the other tests' leftovers of this edition (decided by the review rules)
        a1, a2, a3 = (add_user(conn, district=2) for _ in range(3))
        p1 = _on_list(conn, setup, a1, "Bbb park kieszonkowy")
        p2 = _on_list(conn, setup, a2, "Aaa łąka kwietna")
        p3 = _on_list(conn, setup, a3, "Ccc drzewa przy szkole")
        for pid in conn.execute(
            text(
                "SELECT id FROM budget_proposals WHERE edition = :y AND status IN "
                "('submitted', 'correction', 'under_review', 'protested')"
            ),
            {"y": Y},
        ).scalars():
            workflow.transition(conn, pid, "withdrawn", None, reason="test cleanup")
        with pytest.raises(PbError) as exc:
            ballot_list.publish_ballot_list(conn, Y, setup["admin"], at(Y, 5, 1))
        assert exc.value.code == "phase_closed"
        ballot_list.publish_ballot_list(conn, Y, setup["admin"], at(Y, 6, 25))
        pools = {(pl["scope"], pl["district"]): pl for pl in ballot_list.ballot_list(conn, Y)}
        d2 = pools[("district", 2)]["projects"]
        assert [(x["ballot_number"], x["id"]) for x in d2] == [(1, p2), (2, p1), (3, p3)]
        # merge: refused when one author has not confirmed
        mid = merges.propose_merge(conn, Y, [p1, p2], a1, "Park i łąka", None, at(Y, 7, 20))
        with pytest.raises(PbError) as exc:
            merges.complete_merge(conn, mid, setup["admin"], at(Y, 7, 20))
        assert exc.value.code == "merge_not_confirmed" and str(p2) in exc.value.params["ids"]
        with pytest.raises(PbError) as exc:  # p1 is in an open merge already
            merges.propose_merge(conn, Y, [p1, p3], a3, "Inne", None, at(Y, 7, 20))
        with pytest.raises(PbError) as exc:  # a non-author cannot confirm
            merges.confirm_merge(conn, mid, a3, at(Y, 7, 21))
        assert exc.value.code == "not_author"
        new_id = merges.confirm_merge(conn, mid, a2, at(Y, 7, 21))
        assert new_id is not None
        merged = workflow.get_proposal(conn, new_id)
        assert merged.status == "accepted_for_vote" and sorted(merged.merged_from) == [p1, p2]
        assert merged.cost == Decimal("200000") and merged.pool_district == 2
        assert workflow.get_proposal(conn, p1).merged_into == new_id
        assert workflow.get_proposal(conn, p2).status == "merged"
        # withdrawals: refused after the deadline, allowed before
        with pytest.raises(PbError) as exc:
            merges.withdraw(conn, p3, a3, "za późno", at(Y, 9, 1))
        assert exc.value.code == "phase_closed"
        with pytest.raises(PbError) as exc:
            merges.withdraw(conn, p3, a1, "nie mój", at(Y, 8, 1))
        assert exc.value.code == "not_author"
        ballot_list.publish_ballot_list(conn, Y, setup["admin"], at(Y, 8, 2))
        d2 = {(pl["scope"], pl["district"]): pl for pl in ballot_list.ballot_list(conn, Y)}[
            ("district", 2)
        ]["projects"]
        assert [(x["ballot_number"], x["id"]) for x in d2] == [(1, p3), (2, new_id)]
        merges.withdraw(conn, p3, a3, "rezygnuję", at(Y, 8, 3))
        assert workflow.get_proposal(conn, p3).status == "withdrawn"
        assert workflow.get_proposal(conn, p3).ballot_number is None


def test_advance_opens_next_phase_and_is_audited(engine, setup):
    with engine.begin() as conn:
        editions.create_edition(conn, 2040, setup["admin"])
        now = at(2040, 2, 10)
        assert phases.current_phase(conn, 2040, now) == "submission"
        assert phases.advance(conn, 2040, setup["admin"], now) == "formal_review"
        assert phases.current_phase(conn, 2040, now) == "formal_review"
        with pytest.raises(PbError):
            phases.require_phase(conn, 2040, "submission", now)
        sched = phases.schedule(conn, 2040)
        for a, b in zip(sched, sched[1:], strict=False):
            assert a.starts_on <= a.ends_on
            assert a.ends_on < b.starts_on or a.phase == "merit_review"
        n = conn.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'pb.phase_advance' AND "
                "target_id = 2040"
            )
        ).scalar_one()
        assert n == 1


def test_concurrent_decisions_never_double(engine, setup):
    """Two verifiers' clicks at the same moment: one decision, one refusal (row lock +
    UNIQUE (proposal_id, stage)); the history has one line."""
    with engine.begin() as conn:
        author = add_user(conn, district=1)
        pid = _new(conn, author, title="Równoległe decyzje")
        _sign(conn, pid, 15)
        review.formal_decide(conn, pid, setup["admin"], "complete", None, at(Y, 3, 18))
    ok, refused = [], []
    barrier = threading.Barrier(6)

    def go(decision):
        barrier.wait()
        try:
            with engine.begin() as c:
                ok.append(
                    review.merit_decide(
                        c,
                        pid,
                        setup["verifier"],
                        {k: True for k in review.CHECKLIST},
                        "300000",
                        decision,
                        "powód",
                        at(Y, 5, 1),
                    )
                )
        except PbError as exc:
            refused.append(exc.status)

    threads = [threading.Thread(target=go, args=(d,)) for d in ["positive", "negative"] * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 1 and len(refused) == 5 and all(s == 409 for s in refused)
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM pb_reviews WHERE proposal_id = :p AND stage = 'merit'"),
            {"p": pid},
        ).scalar_one()
        merit_lines = [h for h in workflow.history(conn, pid) if h["from_state"] == "under_review"]
    assert n == 1 and len(merit_lines) == 1


def test_protest_after_its_deadline(engine, setup):
    with engine.begin() as conn:
        author = add_user(conn, district=1)
        pid = _new(conn, author, title="Spóźniony protest")
        _sign(conn, pid, 15)
        review.formal_decide(conn, pid, setup["admin"], "reject", "niekompletny", at(Y, 3, 18))
        with pytest.raises(PbError) as exc:
            protests.file_protest(conn, pid, author, "Protestuję, choć po terminie.", at(Y, 6, 20))
        assert exc.value.code == "phase_closed" and exc.value.params["ends"] == f"{Y}-06-19"
        assert workflow.get_proposal(conn, pid).status == "rejected"
