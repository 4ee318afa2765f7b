"""NGO organisation profiles on real PostGIS: claim with KRS + a confirming e-mail, moderation,
members, places (seat + branches), the layer's visibility, find an organisation, the audit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from civic.ngos import claims, find, profiles
from civic.ngos import places as ngo_places
from civic.ngos.common import Invalid, normalise_krs
from layers import query as lq
from layers import registry

RYNEK = {"type": "Point", "coordinates": [19.9373, 50.0617]}
NOWA_HUTA = {"type": "Point", "coordinates": [20.0376, 50.0721]}
BERLIN = {"type": "Point", "coordinates": [13.40, 52.52]}


def users(engine, *names: str, roles: str = "{resident}") -> list[int]:
    out = []
    with engine.begin() as conn:
        for n in names:
            out.append(
                conn.execute(
                    text(
                        "INSERT INTO users (email, name, password_hash, roles, confirmed_at) "
                        "VALUES (:e, :n, 'x', CAST(:r AS text[]), now()) RETURNING id"
                    ),
                    {"e": f"{n}-{id(engine)}@example.org", "n": n, "r": roles},
                ).scalar_one()
            )
    return out


def counts(engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("ngo_organisations", "ngo_claims", "ngo_members", "ngo_locations")
        )


def public_ngos(engine, **filters) -> list[dict]:
    layer = registry.get("ngos")
    with engine.connect() as conn:
        page = lq.features(conn, layer, lq.FeatureQuery(filters=filters, limit=500))
    return [json.loads(f) for f in page.features]


def test_krs_is_format_only():
    assert normalise_krs("KRS 0000-123-456") == "0000123456"
    for bad in ("12345", "00001234567", "00001234AB", "0000000000", "", None):
        with pytest.raises(Invalid) as exc:
            normalise_krs(bad)
        assert exc.value.field == "krs"


@pytest.fixture(scope="module")
def people(engine):
    owner, colleague, moderator, outsider = users(engine, "Owner", "Colleague", "Mod", "Out")
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET roles = '{moderator}' WHERE id = :u"), {"u": moderator})
    return {"owner": owner, "colleague": colleague, "moderator": moderator, "outsider": outsider}


def test_claim_confirm_moderate_publish(engine, people):
    form = {
        "krs": "0000 765 432",
        "contact_email": "biuro@fundacja.example.org",
        "name": "Fundacja Testowa",
        "fields": ["culture", "seniors"],
        "target_groups": "seniors;families",
        "districts_served": "1, 13",
        "legal_form": "foundation",
        "website": "fundacja.example.org",
        "opening_hours": "pn–pt 10–16",
        "offer": "Warsztaty dla seniorów",
    }
    with engine.begin() as conn:
        claim = claims.start_claim(conn, people["owner"], form)
    assert claim["contact_email"] == "biuro@fundacja.example.org" and claim["token"]
    org_id = claim["organisation_id"]
    with engine.begin() as conn:
        seat = ngo_places.add_place(
            conn,
            org_id,
            people["moderator"],
            frozenset({"moderator"}),
            {"kind": "seat", "geometry": json.dumps(RYNEK), "address": "Rynek Główny 1"},
        )
        org = profiles.organisation(conn, org_id)
    assert org["status"] == "draft" and org["krs"] == "0000765432"
    assert org["website"] == "https://fundacja.example.org"
    # not public: neither the profile nor its place
    assert all(f["id"] != seat for f in public_ngos(engine))
    # a moderator cannot approve before the e-mail confirmed the claim: 409 naming the field
    with engine.begin() as conn, pytest.raises(Invalid) as exc:
        claims.decide_claim(conn, claim["claim_id"], people["moderator"], approve=True, reason=None)
    assert exc.value.field == "contact_email" and exc.value.status == 409
    with engine.begin() as conn:
        done = claims.confirm_claim(conn, claim["token"])
    assert done["organisation_id"] == org_id
    with engine.begin() as conn, pytest.raises(Invalid):
        claims.confirm_claim(conn, claim["token"])  # used once
    with engine.connect() as conn:
        assert profiles.organisation(conn, org_id)["status"] == "pending"
        assert [c["id"] for c in claims.pending_claims(conn)] == [claim["claim_id"]]
    with engine.begin() as conn:
        claims.decide_claim(conn, claim["claim_id"], people["moderator"], approve=True, reason="ok")
    with engine.connect() as conn:
        assert profiles.organisation(conn, org_id)["status"] == "public"
        assert profiles.is_member(conn, org_id, people["owner"])
        roles = conn.execute(
            text("SELECT roles FROM users WHERE id = :u"), {"u": people["owner"]}
        ).scalar_one()
        assert "ngo" in roles
        notes = (
            conn.execute(
                text("SELECT message_key FROM notifications WHERE user_id = :u"),
                {"u": people["owner"]},
            )
            .scalars()
            .all()
        )
        assert "ngo_claim_approved" in notes
    # public now, filtered by its field and target group through the layer's API
    ids = [f["id"] for f in public_ngos(engine, fields="culture")]
    assert seat in ids
    assert seat in [f["id"] for f in public_ngos(engine, target_groups="families")]
    assert seat not in [f["id"] for f in public_ngos(engine, fields="sport")]
    feature = next(f for f in public_ngos(engine) if f["id"] == seat)
    assert feature["properties"]["kind"] == "seat"
    assert feature["properties"]["organisation_id"] == org_id
    assert feature["properties"]["districts"] == [1]


def _org(engine, name: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT id FROM ngo_organisations WHERE name = :n"), {"n": name}
        ).scalar_one()


def test_members_keep_it_current_and_every_change_is_audited(engine, people):
    org_id = _org(engine, "Fundacja Testowa")
    owner = frozenset({"resident", "ngo"})
    with engine.begin() as conn:
        branch = ngo_places.add_place(
            conn,
            org_id,
            people["owner"],
            owner,
            {
                "kind": "branch",
                "geometry": NOWA_HUTA,
                "address": "os. Centrum A 1",
                "place_name": "Klub",
            },
        )
        changed = profiles.update_profile(
            conn, org_id, people["owner"], owner, {"fields": ["culture", "education"]}
        )
    assert changed == ["fields"]
    feature = next(f for f in public_ngos(engine) if f["id"] == branch)
    assert feature["properties"]["fields"] == ["culture", "education"]  # copied onto places
    assert feature["properties"]["districts"] == [18]
    # a second seat is refused by the database (409 naming kind), nothing written
    before = counts(engine)
    with engine.begin() as conn, pytest.raises(Invalid) as exc:
        ngo_places.add_place(
            conn, org_id, people["owner"], owner, {"kind": "seat", "geometry": RYNEK}
        )
    assert exc.value.field == "kind" and exc.value.status == 409
    with engine.begin() as conn, pytest.raises(Invalid) as exc:
        ngo_places.add_place(
            conn, org_id, people["owner"], owner, {"kind": "branch", "geometry": BERLIN}
        )
    assert exc.value.field == "geometry"
    # an outsider may not edit
    with engine.begin() as conn, pytest.raises(Invalid) as exc:
        profiles.update_profile(
            conn, org_id, people["outsider"], frozenset({"resident"}), {"name": "X"}
        )
    assert exc.value.status == 403
    with engine.begin() as conn, pytest.raises(Invalid) as exc:
        profiles.update_profile(conn, org_id, people["owner"], owner, {"fields": ["rockets"]})
    assert exc.value.field == "fields"
    assert counts(engine) == before
    with engine.begin() as conn:
        profiles.add_member(
            conn, org_id, people["owner"], owner, f"colleague-{id(engine)}@example.org"
        )
        profiles.update_profile(
            conn,
            org_id,
            people["colleague"],
            frozenset({"resident"}),
            {"opening_hours": "sob 9–12"},
        )
    with engine.connect() as conn:
        actions = (
            conn.execute(
                text(
                    "SELECT action FROM audit_log WHERE target_table = 'ngo_organisations' "
                    "AND target_id = :o ORDER BY id"
                ),
                {"o": org_id},
            )
            .scalars()
            .all()
        )
    for expected in (
        "ngo_claim_started",
        "ngo_claim_confirmed",
        "ngo_claim_approved",
        "ngo_place_added",
        "ngo_profile_updated",
        "ngo_member_added",
    ):
        assert expected in actions
    assert actions.count("ngo_profile_updated") == 2


def test_bad_claims_change_no_row(engine, people):
    before = counts(engine)
    for form, field in (
        ({"krs": "12345", "contact_email": "a@example.org", "name": "A"}, "krs"),
        ({"krs": "00001234567", "contact_email": "a@example.org", "name": "A"}, "krs"),
        ({"krs": "0000111222", "name": "A"}, "contact_email"),
        ({"krs": "0000111222", "contact_email": "not-an-address", "name": "A"}, "contact_email"),
        ({"krs": "0000111222", "contact_email": "a@example.org"}, "name"),
        (
            {"krs": "0000111222", "contact_email": "a@example.org", "name": "A", "fields": "x"},
            "fields",
        ),
    ):
        with engine.begin() as conn, pytest.raises(Invalid) as exc:
            claims.start_claim(conn, people["outsider"], form)
        assert exc.value.field == field and 400 <= exc.value.status < 500
    assert counts(engine) == before


def test_claiming_an_imported_entry_adopts_it(engine, people):
    with engine.begin() as conn:
        loc = conn.execute(
            text(
                "INSERT INTO ngo_locations (external_id, geom, name, krs, fields) VALUES "
                "('csv:1', ST_SetSRID(ST_MakePoint(19.95, 50.05), 4326), 'Stowarzyszenie CSV', "
                "'0000999888', '{sport}') RETURNING id"
            )
        ).scalar_one()
    # public before anyone claims it (an import)
    assert loc in [f["id"] for f in public_ngos(engine)]
    with engine.begin() as conn:
        claim = claims.start_claim(
            conn, people["outsider"], {"krs": "0000999888", "contact_email": "csv@example.org"}
        )
        claims.confirm_claim(conn, claim["token"])
    # still public while the claim waits (it was public already)
    assert loc in [f["id"] for f in public_ngos(engine)]
    with engine.begin() as conn:
        claims.decide_claim(conn, claim["claim_id"], people["moderator"], approve=True, reason=None)
        org = profiles.organisation(conn, claim["organisation_id"])
        places = ngo_places.places(conn, claim["organisation_id"])
    assert org["name"] == "Stowarzyszenie CSV"
    assert [(p["id"], p["kind"]) for p in places] == [(loc, "seat")]


def test_rejected_claim_needs_a_reason(engine, people):
    with engine.begin() as conn:
        claim = claims.start_claim(
            conn,
            people["colleague"],
            {"krs": "0000555444", "contact_email": "x@example.org", "name": "Wątpliwa"},
        )
    with engine.begin() as conn, pytest.raises(Invalid) as exc:
        claims.decide_claim(conn, claim["claim_id"], people["moderator"], approve=False, reason="")
    assert exc.value.field == "reason"
    with engine.begin() as conn:
        claims.decide_claim(
            conn, claim["claim_id"], people["moderator"], approve=False, reason="nie ta organizacja"
        )
        assert profiles.organisation(conn, claim["organisation_id"])["status"] == "rejected"


def test_find_an_organisation(engine, people):
    with engine.connect() as conn:
        s = find.parse_search({"field": "culture"})
        names = [i["name"] for i in find.search(conn, s)["items"]]
        assert "Fundacja Testowa" in names and "Stowarzyszenie CSV" not in names
        by_district = [i["name"] for i in find.organisations_in_district(conn, 18)]
        assert "Fundacja Testowa" in by_district  # its branch is in Nowa Huta
        assert "Fundacja Testowa" in [
            i["name"]
            for i in find.organisations_in_district(conn, 13)  # districts served
        ]
        assert "Fundacja Testowa" not in [
            i["name"] for i in find.organisations_in_district(conn, 7)
        ]
        hits = find.search(conn, find.parse_search({"q": "seniorow"}))[
            "items"
        ]  # offer, no diacritics
        assert [h["name"] for h in hits] == ["Fundacja Testowa"]
        assert find.search(conn, find.parse_search({"target_group": "seniors"}))["items"]
        assert "Wątpliwa" not in [i["name"] for i in find.search(conn, find.Search())["items"]]
        for args, field in (
            ({"field": "rockets"}, "field"),
            ({"district": "99"}, "district"),
            ({"target_group": "x"}, "target_group"),
            ({"page": "0"}, "page"),
        ):
            with pytest.raises(Invalid) as exc:
                find.parse_search(args)
            assert exc.value.field == field


def test_a_reimport_does_not_overwrite_a_claimed_entry(engine, tmp_path, people):
    from geo.cities import KRAKOW
    from importers.ngo_csv import import_ngo_csv

    csv = tmp_path / "ngo.csv"
    csv.write_text(
        "name;krs;lon;lat;fields;external_id\n"
        "Stowarzyszenie CSV (stara nazwa);0000999888;19.95;50.05;culture;csv:1\n"
        "Nowe Koło;;19.94;50.06;sport;csv:2\n",
        encoding="utf-8",
    )
    with engine.connect() as conn:
        report = import_ngo_csv(conn, csv, KRAKOW)
    assert report.imported == 1
    assert [r.field for r in report.rejected] == ["external_id"]
    with engine.connect() as conn:
        names = conn.execute(
            text("SELECT external_id, name FROM ngo_locations WHERE external_id LIKE 'csv:%'")
        ).all()
    assert dict(names) == {"csv:1": "Stowarzyszenie CSV", "csv:2": "Nowe Koło"}
