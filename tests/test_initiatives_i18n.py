"""The NGO and local-initiative pages in English and Ukrainian show no Polish interface text
(the same check as tests/test_i18n.py, on these pages with data in them), and their error
messages are translated."""

from __future__ import annotations

import json
from datetime import date

import pytest
from test_i18n import catalog, polish_left

from civic.initiatives import applications as apps
from civic.ngos import claims
from civic.ngos import places as ngo_places

POINT = {"type": "Point", "coordinates": [19.9450, 50.0480]}


@pytest.fixture(scope="module")
def data(app):
    from sqlalchemy import text

    engine = app.extensions["engine"]
    with engine.begin() as conn:
        uid = conn.execute(
            text(
                "INSERT INTO users (email, name, password_hash, confirmed_at) "
                "VALUES ('i18n-ngo@example.org', 'I18n', 'x', now()) RETURNING id"
            )
        ).scalar_one()
        claim = claims.start_claim(
            conn,
            uid,
            {"krs": "0000777111", "contact_email": "a@example.org", "name": "Fundacja I18n"},
        )
        org = claim["organisation_id"]
        ngo_places.add_place(
            conn, org, uid, frozenset({"admin"}), {"kind": "seat", "geometry": POINT}
        )
        iid = apps.apply(
            conn,
            uid,
            {
                "title": "Inicjatywa I18n",
                "description": "Opis.",
                "city_task": "Zadanie.",
                "schedule": "maj",
                "city_cost": "10",
                "applicant_name": "Grupa",
                "geometry": json.dumps(POINT),
                "own_work_hours": "2",
                "own_work_work_kind": "sprzątanie",
            },
        )
    return {"org": org, "initiative": iid, "year": date.today().year}


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_pages_have_no_polish_interface_text(app, make_user, data, lang):
    cat = catalog(lang)
    staff = make_user("moderator", "official", name="Staff")
    paths = [
        "/ngos",
        "/ngos?field=ecology",
        "/ngos/claim",
        f"/ngos/{data['org']}",
        f"/ngos/{data['org']}/edit",
        f"/ngos/{data['org']}/places/new",
        "/ngos/moderation",
        "/initiatives",
        "/initiatives/apply",
        "/initiatives/pools",
        f"/initiatives/{data['initiative']}",
    ]
    for path in paths:
        sep = "&" if "?" in path else "?"
        pl = staff.get(f"{path}{sep}lang=pl")
        assert pl.status_code == 200, path
        r = staff.get(f"{path}{sep}lang={lang}")
        assert f'<html lang="{lang}"' in r.text, path
        left = polish_left(r.text, cat)
        assert not left, f"{path} ({lang}) still shows Polish: {left[:5]}"


def test_error_messages_are_translated(make_user, data):
    user = make_user()
    r = user.post(
        "/ngos/claim?lang=en",
        json={"krs": "12", "contact_email": "x@example.org", "name": "X"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 400 and r.json["error"]["message"] == (
        "A KRS number must have exactly 10 digits."
    )
    r = user.post(
        f"/initiatives/{data['initiative']}/pledge?lang=uk",
        json={"kind": "money", "amount": "-5"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 400 and r.json["error"]["field"] == "amount"
    assert r.json["error"]["message"] == "«Сума (зл)» має бути більшим за 0."
