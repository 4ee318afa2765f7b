"""Inicjatywa Lokalna on real PostGIS: applications, the pledge ledger (one line per person and
kind — a database constraint), assessment 45/45/10 with a pass mark of 60, the yearly pool,
statuses (audited, notified), the layer, and bad input that changes no row."""

from __future__ import annotations

import json
import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from civic.initiatives import applications as apps
from civic.initiatives import assessment, ledger
from civic.ngos.common import Invalid
from layers import query as lq
from layers import registry

YEAR = date.today().year
PODGORZE = {"type": "Point", "coordinates": [19.9590, 50.0450]}
PARK = {
    "type": "Polygon",
    "coordinates": [
        [[19.950, 50.040], [19.953, 50.040], [19.953, 50.042], [19.950, 50.042], [19.950, 50.040]]
    ],
}


def users(engine, *names: str) -> list[int]:
    out = []
    with engine.begin() as conn:
        for n in names:
            out.append(
                conn.execute(
                    text(
                        "INSERT INTO users (email, name, password_hash, confirmed_at) "
                        "VALUES (:e, :n, 'x', now()) RETURNING id"
                    ),
                    {"e": f"{n.lower()}-init@example.org", "n": n},
                ).scalar_one()
            )
    return out


TABLES = (
    "local_initiatives",
    "initiative_pledges",
    "initiative_assessments",
    "initiative_applicants",
    "initiative_supports",
    "initiative_pools",
)


def counts(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {
            t: tuple(
                conn.execute(
                    text(
                        f"SELECT count(*), md5(string_agg(x::text, '' ORDER BY x::text)) FROM {t} x"
                    )
                ).one()
            )
            for t in TABLES
        }


@pytest.fixture(scope="module")
def people(engine):
    anna, bartek, celina, darek, staff = users(engine, "Anna", "Bartek", "Celina", "Darek", "Staff")
    return {"anna": anna, "bartek": bartek, "celina": celina, "darek": darek, "staff": staff}


def application(**extra) -> dict:
    form = {
        "title": "Ogród społeczny na Zabłociu",
        "description": "Sadzimy warzywa i kwiaty razem z sąsiadami.",
        "city_task": "Miasto użycza ziemię i dostarcza 10 m³ kompostu.",
        "schedule": "kwiecień: przygotowanie grządek; maj: sadzenie",
        "starts_on": f"{YEAR}-04-01",
        "ends_on": f"{YEAR}-06-30",
        "city_cost": "12 000",
        "applicant_name": "Sąsiedzi z ul. Zabłocie",
        "geometry": json.dumps(PARK),
        "address": "ul. Zabłocie",
        "own_work_hours": "20",
        "own_work_work_kind": "kopanie grządek",
    }
    form.update(extra)
    return form


def test_pools_are_configuration_per_year(engine, people):
    with engine.connect() as conn:
        by_year = {p["year"]: p for p in assessment.pools(conn)}
    assert by_year[2022]["amount"] == Decimal("150000.00")
    assert by_year[2024]["amount"] == Decimal("195000.00")
    with engine.begin() as conn:
        assessment.set_pool(
            conn, people["staff"], {"year": YEAR, "amount": "50 000", "hour_value": "30"}
        )
        with pytest.raises(Invalid) as exc:
            assessment.set_pool(
                conn, people["staff"], {"year": YEAR, "amount": "-1", "hour_value": "30"}
            )
        assert exc.value.field == "amount"
    with engine.connect() as conn:
        assert assessment.pool(conn, YEAR)["left"] == Decimal("50000.00")
        assert ledger.hour_value(conn, YEAR) == Decimal("30.00")


def test_bad_applications_change_no_row(engine, people):
    before = counts(engine)
    for extra, field in (
        ({"title": ""}, "title"),
        ({"geometry": ""}, "geometry"),
        ({"geometry": json.dumps({"type": "Point", "coordinates": [13.4, 52.5]})}, "geometry"),
        ({"city_cost": "-5"}, "city_cost"),
        ({"city_cost": "dużo"}, "city_cost"),
        ({"city_cost": "1e15"}, "city_cost"),
        ({"own_money_amount": "1e15"}, "own_money_amount"),
        ({"ends_on": f"{YEAR}-01-01"}, "ends_on"),
        ({"own_work_hours": "-3"}, "own_work_hours"),
        ({"own_work_hours": "abc"}, "own_work_hours"),
        ({"own_money_amount": "0"}, "own_money_amount"),
        ({"co_applicants": "nobody@example.org"}, "co_applicants"),
        ({"applicant_kind": "ngo", "organisation_id": "1"}, "organisation_id"),
        ({"schedule": ""}, "schedule"),
    ):
        with engine.begin() as conn, pytest.raises(Invalid) as exc:
            apps.apply(conn, people["anna"], application(**extra))
        assert exc.value.field == field, (extra, exc.value.field)
        assert 400 <= exc.value.status < 500
    assert counts(engine) == before


@pytest.fixture(scope="module")
def garden(engine, people):
    with engine.begin() as conn:
        return apps.apply(
            conn,
            people["anna"],
            application(co_applicants="bartek-init@example.org", form_key="a" * 32),
        )


def test_apply_with_own_contribution(engine, people, garden):
    with engine.begin() as conn:
        again = apps.apply(conn, people["anna"], application(form_key="a" * 32))
        item = apps.get(conn, garden)
        book = ledger.ledger(conn, garden)
    assert again == garden  # a double submit leaves one application
    assert item["status"] == "submitted" and item["districts"] == [13]
    assert [a["name"] for a in item["applicants"]] == ["Anna", "Bartek"]
    assert [(r["kind"], r["hours"], r["who"]) for r in book["rows"]] == [
        ("work", Decimal("20.0"), "Anna")
    ]
    assert book["pledged_value"] == Decimal("600.00")  # 20 h × 30 zł


def test_the_pledge_ledger(engine, people, garden):
    with engine.begin() as conn:
        ledger.pledge(
            conn, garden, people["bartek"], {"kind": "work", "hours": "8", "work_kind": "malowanie"}
        )
        ledger.pledge(
            conn,
            garden,
            people["celina"],
            {
                "kind": "goods",
                "item": "sadzonki",
                "quantity": "40",
                "unit_value": "7,50",
                "display": "pseudonym",
                "pseudonym": "Ogrodniczka",
            },
        )
        ledger.pledge(conn, garden, people["darek"], {"kind": "money", "amount": "250"})
        # the same person and kind again: the line is edited, not duplicated
        ledger.pledge(conn, garden, people["darek"], {"kind": "money", "amount": "300"})
    with engine.connect() as conn:
        book = ledger.ledger(conn, garden)
    rows = book["rows"]
    assert len(rows) == 4
    assert [r["who"] for r in rows] == ["Anna", "Bartek", "Ogrodniczka", "Darek"]
    assert next(r for r in rows if r["kind"] == "money")["amount"] == Decimal("300.00")
    assert book["pledged_value"] == sum(r["pledged_value"] for r in rows)
    assert book["pledged_value"] == Decimal("600") + Decimal("240") + Decimal("300") + Decimal(
        "300"
    )
    assert book["by_kind"]["work"]["hours"] == Decimal("28.0")
    # the database itself refuses a second line of the same kind
    with engine.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(
            text(
                "INSERT INTO initiative_pledges (initiative_id, user_id, kind, amount) "
                "VALUES (:i, :u, 'money', 5)"
            ),
            {"i": garden, "u": people["darek"]},
        )


def test_parallel_pledges_make_one_line(engine, people, garden):
    barrier = threading.Barrier(8)
    errors = []

    def go(n):
        barrier.wait()
        try:
            with engine.begin() as conn:
                ledger.pledge(
                    conn, garden, people["celina"], {"kind": "money", "amount": str(10 + n)}
                )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM initiative_pledges WHERE initiative_id = :i AND user_id = :u AND kind = 'money'"
            ),
            {"i": garden, "u": people["celina"]},
        ).scalar_one()
    assert n == 1
    with engine.begin() as conn:
        ledger.withdraw(conn, garden, people["celina"], "money")


def test_bad_pledges_change_no_row(engine, people, garden):
    before = counts(engine)
    for form, field in (
        ({"kind": "money", "amount": "-10"}, "amount"),
        ({"kind": "money", "amount": "ten"}, "amount"),
        ({"kind": "money", "amount": "NaN"}, "amount"),
        ({"kind": "work", "hours": "0", "work_kind": "x"}, "hours"),
        ({"kind": "work", "hours": "3"}, "work_kind"),
        ({"kind": "goods", "item": "x", "quantity": "-1", "unit_value": "1"}, "quantity"),
        ({"kind": "rockets"}, "kind"),
        ({"kind": "money", "amount": "5", "display": "pseudonym", "pseudonym": ""}, "pseudonym"),
    ):
        with engine.begin() as conn, pytest.raises(Invalid) as exc:
            ledger.pledge(conn, garden, people["darek"], form)
        assert exc.value.field == field and exc.value.status == 400
    with engine.begin() as conn, pytest.raises(Invalid) as exc:
        ledger.pledge(conn, 10**9, people["darek"], {"kind": "money", "amount": "5"})
    assert exc.value.status == 404
    assert counts(engine) == before


def test_assessment_and_the_pool(engine, people, garden):
    before = counts(engine)
    for form, field in (
        ({"usefulness": "46", "contribution": "20", "extra": "5"}, "usefulness"),
        ({"usefulness": "30", "contribution": "-1", "extra": "5"}, "contribution"),
        ({"usefulness": "30", "contribution": "20", "extra": "11"}, "extra"),
        ({"usefulness": "x", "contribution": "20", "extra": "1"}, "usefulness"),
        (
            {"usefulness": "30", "contribution": "20", "extra": "5", "usefulness_reason": ""},
            "usefulness_reason",
        ),
    ):
        form = {"usefulness_reason": "a", "contribution_reason": "b", "extra_reason": "c", **form}
        with engine.begin() as conn, pytest.raises(Invalid) as exc:
            assessment.assess(conn, garden, people["staff"], form)
        assert exc.value.field == field
    assert counts(engine) == before
    reasons = {"usefulness_reason": "duża", "contribution_reason": "spory", "extra_reason": "ok"}
    with engine.begin() as conn:
        total, moved = apps.score(
            conn,
            garden,
            people["staff"],
            {"usefulness": "40", "contribution": "27", "extra": "5", **reasons},
        )
        left_before = assessment.pool(conn, YEAR)["left"]
        tr = apps.change_status(conn, garden, people["staff"], "accepted")
    assert total == 72 and moved.status == "under_assessment" and len(moved.recipients) == 2
    assert tr.pool_year == YEAR and not tr.waiting
    assert sorted(e for e, _ in tr.recipients) == [
        "anna-init@example.org",
        "bartek-init@example.org",
    ]
    with engine.connect() as conn:
        after = assessment.pool(conn, YEAR)
        item = apps.get(conn, garden)
    assert after["left"] == left_before - Decimal("12000.00")
    assert item["status"] == "accepted" and item["score"] == 72


def test_below_the_pass_mark_and_waiting_for_next_year(engine, people):
    reasons = {"usefulness_reason": "a", "contribution_reason": "b", "extra_reason": "c"}
    with engine.begin() as conn:
        weak = apps.apply(conn, people["bartek"], application(title="Słaby", city_cost="100"))
        assessment.assess(
            conn,
            weak,
            people["staff"],
            {"usefulness": "30", "contribution": "20", "extra": "9", **reasons},
        )
    with engine.begin() as conn, pytest.raises(Invalid) as exc:
        apps.change_status(conn, weak, people["staff"], "accepted")
    assert exc.value.field == "score" and exc.value.status == 409
    with engine.begin() as conn, pytest.raises(Invalid) as exc:
        apps.change_status(conn, weak, people["staff"], "rejected", "")
    assert exc.value.field == "reason"
    with engine.begin() as conn:
        apps.change_status(conn, weak, people["staff"], "rejected", "za mały wkład własny")
    # a pledge on a closed (rejected) initiative: 409 naming the initiative
    with engine.begin() as conn, pytest.raises(Invalid) as exc:
        ledger.pledge(conn, weak, people["darek"], {"kind": "money", "amount": "5"})
    assert exc.value.field == "initiative" and exc.value.status == 409
    # 40 000 zł does not fit what is left of this year's 50 000 (12 000 committed): next year
    with engine.begin() as conn:
        big = apps.apply(conn, people["celina"], application(title="Duży", city_cost="40000"))
        assessment.assess(
            conn,
            big,
            people["staff"],
            {"usefulness": "45", "contribution": "40", "extra": "10", **reasons},
        )
        tr = apps.change_status(conn, big, people["staff"], "accepted")
        assert tr.pool_year == YEAR + 1 and tr.waiting
        assert [w["id"] for w in assessment.waiting(conn)] == [big]
        assert assessment.pool(conn, YEAR)["committed"] == Decimal("12000.00")
        assessment.set_pool(
            conn, people["staff"], {"year": YEAR + 1, "amount": "100000", "hour_value": "31"}
        )
        assert assessment.pool(conn, YEAR + 1)["committed"] == Decimal("40000.00")


def test_delivery_statuses_and_audit(engine, people, garden):
    with engine.connect() as conn:
        rows = ledger.ledger(conn, garden)["rows"]
    with engine.begin() as conn:
        apps.change_status(conn, garden, people["staff"], "in_progress")
        for r in rows:
            ledger.mark_delivered(conn, r["id"], people["staff"])
        # Bartek worked 6 of the 8 hours he pledged
        bartek = next(r for r in rows if r["who"] == "Bartek")
        ledger.mark_delivered(conn, bartek["id"], people["staff"], "6")
        with pytest.raises(Invalid) as exc:
            ledger.mark_delivered(conn, bartek["id"], people["staff"], "-1")
        assert exc.value.field == "delivered"
    with engine.begin() as conn, pytest.raises(Invalid) as exc:
        ledger.pledge(
            conn, garden, people["bartek"], {"kind": "work", "hours": "9", "work_kind": "x"}
        )
    assert exc.value.status == 409  # a delivered line is not edited
    with engine.connect() as conn:
        book = ledger.ledger(conn, garden)
        item = apps.get(conn, garden)
    assert book["delivered_value"] == sum(r["delivered_value"] for r in book["rows"])
    assert book["delivered_value"] == book["pledged_value"] - 2 * Decimal("30.00")
    assert item["pledged_value"] == book["pledged_value"]
    assert item["delivered_value"] == book["delivered_value"]
    with engine.begin() as conn:
        tr = apps.change_status(conn, garden, people["staff"], "completed", "rozliczona")
        with pytest.raises(Invalid) as exc:
            apps.change_status(conn, garden, people["staff"], "in_progress")
        assert exc.value.status == 409 and exc.value.field == "status"
    assert tr.status == "completed"
    with engine.connect() as conn:
        actions = [h["action"] for h in apps.history(conn, garden)]
        notes = conn.execute(
            text(
                "SELECT count(*) FROM notifications WHERE user_id = :u AND message_key = 'initiative_status'"
            ),
            {"u": people["anna"]},
        ).scalar_one()
    for status in ("submitted", "under_assessment", "accepted", "in_progress", "completed"):
        assert f"initiative_status:{status}" in actions
    assert "initiative_assessed" in actions and "initiative_pledge_delivered" in actions
    assert notes == 4  # under assessment, accepted, in progress, completed


def test_the_layer_by_status_and_year(engine, garden):
    layer = registry.get("local-initiatives")
    with engine.connect() as conn:
        page = lq.features(
            conn, layer, lq.FeatureQuery(filters={"status": "completed", "year": YEAR})
        )
        feats = [json.loads(f) for f in page.features]
    assert [f["id"] for f in feats] == [garden]
    props = feats[0]["properties"]
    assert props["score"] == 72 and props["districts"] == [13]
    assert "author_id" not in props
    assert Decimal(str(props["pledged_value"])) > 0
