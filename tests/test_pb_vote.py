"""Voting (civic/pb/voting.py): the Kraków ballot, one ballot per person across channels by
the database, ballot secrecy, paper and invalid ballots, and the tally of what was cast."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from civic.pb import ballots as B
from civic.pb import results as R
from civic.pb import voting as V
from civic.pb.errors import PbError
from civic.pb.register import Identity, identity_key, normalise_address, normalise_name
from tests.pb_vote_support import (
    CITY_IDS,
    DISTRICT,
    LOCAL_IDS,
    OTHER_IDS,
    VOTE_YEAR,
    counts,
    open_voting_edition,
)

ANNA = {"full_name": "Anna Kowalska", "birth_date": "1990-05-17", "address": "ul. Długa 5 m. 3"}


@pytest.fixture(scope="module")
def edition(engine):
    return open_voting_edition(engine)


def _user(engine, n: int, confirmed: bool = True) -> int:
    with engine.begin() as conn:
        return conn.execute(
            text(
                "INSERT INTO users (email, name, password_hash, confirmed_at) "
                "VALUES (:e, :n, 'x', CASE WHEN :c THEN now() END) RETURNING id"
            ),
            {"e": f"voter{n}@example.org", "n": f"Voter {n}", "c": confirmed},
        ).scalar_one()


def _declare(engine, uid: int, district: int = DISTRICT):
    with engine.begin() as conn:
        return V.declare_district(conn, VOTE_YEAR, uid, district)


def _form(identity=ANNA, city=CITY_IDS[:3], local=LOCAL_IDS[:3]):
    return {**identity, "citywide": list(city), "local": list(local)}


def test_identity_normalisation_collides_across_spellings():
    a = Identity("Anna Kowalska", __import__("datetime").date(1990, 5, 17), "ul. Długa 5 m. 3")
    b = Identity("KOWALSKA  anna", a.birth_date, "Dluga 5/3, 31-147 Kraków")
    assert normalise_name(b.full_name) == "anna kowalska"
    assert normalise_address(b.address) == normalise_address(a.address) == "dluga 5 3"
    assert identity_key(a, b"k") == identity_key(b, b"k") != identity_key(a, b"other")


def test_online_vote_then_every_second_attempt_refused(engine, edition):
    uid = _user(engine, 1)
    assert _declare(engine, uid)["district"] == DISTRICT
    with pytest.raises(PbError) as e:  # the district is declared once per edition
        _declare(engine, uid, 1)
    assert e.value.code == "district_declared" and e.value.status == 409
    before = counts(engine)
    cast = V.cast_online(engine, VOTE_YEAR, uid, _form())
    assert cast.valid and cast.channel == "internet"
    after = counts(engine)
    assert after["register"] == before["register"] + 1
    assert after["urn"] + after["ballots"] == before["urn"] + before["ballots"] + 2
    # the same account again, even with another identity: refused by the account's flag
    with pytest.raises(PbError) as e:
        V.cast_online(engine, VOTE_YEAR, uid, _form({**ANNA, "full_name": "Ewa Nowak"}))
    assert e.value.code == "already_voted" and e.value.status == 409
    # the same person on paper at a library, spelled differently: refused by the register
    with engine.connect() as conn:
        library = next(p for p in V.voting_points(conn) if p["type"] == "library")
        assert V.has_voted(conn, VOTE_YEAR, {**ANNA, "full_name": "KOWALSKA Anna"})
    paper = {
        "full_name": "kowalska anna",
        "birth_date": "1990-05-17",
        "address": "Długa 5/3, 30-001 Kraków",
        "voting_point": library["id"],
        "district": DISTRICT,
        "citywide": "1,2,3",
        "local": "1,2,3",
    }
    with pytest.raises(PbError) as e:
        V.cast_paper(engine, VOTE_YEAR, uid, paper)
    assert e.value.code == "already_voted"
    assert counts(engine) == after
    with engine.connect() as conn:
        refused = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE action = 'pb.vote_refused'")
        ).scalar_one()
    assert refused >= 2


@pytest.mark.parametrize(
    "change, code, field",
    [
        ({"citywide": CITY_IDS[:2]}, "too_few", "citywide"),
        ({"local": LOCAL_IDS[:4]}, "too_many", "district"),
        ({"citywide": [CITY_IDS[0], CITY_IDS[0], CITY_IDS[1]]}, "repeated", "citywide"),
        ({"local": [LOCAL_IDS[0], LOCAL_IDS[1], OTHER_IDS[0]]}, "unknown_project", "district"),
        ({"full_name": "Anna"}, "full_name", "full_name"),
        ({"birth_date": "17.05.1990"}, "birth_date", "birth_date"),
        ({"address": " , "}, "address", "address"),
    ],
)
def test_bad_ballot_names_the_field_and_changes_nothing(engine, edition, change, code, field):
    uid = _user(engine, 100 + len(code) * 7 + len(field) + len(str(change)))
    _declare(engine, uid)
    before = counts(engine)
    with pytest.raises(PbError) as e:
        V.cast_online(
            engine, VOTE_YEAR, uid, {**_form({**ANNA, "full_name": f"Jan Bad{uid}"}), **change}
        )
    assert (e.value.code, e.value.field) == (code, field) and 400 <= e.value.status < 500
    assert counts(engine) == before


def test_unconfirmed_and_undeclared_accounts_refused(engine, edition):
    uid = _user(engine, 2, confirmed=False)
    with pytest.raises(PbError) as e:
        V.cast_online(engine, VOTE_YEAR, uid, _form({**ANNA, "full_name": "Ola Nowa"}))
    assert e.value.code == "unconfirmed" and e.value.status == 403
    uid = _user(engine, 3)
    with pytest.raises(PbError) as e:
        V.cast_online(engine, VOTE_YEAR, uid, _form({**ANNA, "full_name": "Ola Nowa"}))
    assert e.value.code == "no_district"


def test_parallel_attempts_give_one_ballot(engine, edition):
    uid = _user(engine, 4)
    _declare(engine, uid)
    before = counts(engine)
    person = {**ANNA, "full_name": "Piotr Równoległy"}

    def attempt(_):
        try:
            V.cast_online(engine, VOTE_YEAR, uid, _form(person))
            return "ok"
        except PbError as exc:
            return exc.code

    with ThreadPoolExecutor(16) as pool:
        out = list(pool.map(attempt, range(16)))
    assert out.count("ok") == 1 and set(out) == {"ok", "already_voted"}
    after = counts(engine)
    assert after["register"] == before["register"] + 1
    assert after["urn"] + after["ballots"] == before["urn"] + before["ballots"] + 2


def test_invalid_paper_ballot_counted_apart(engine, edition):
    with engine.connect() as conn:
        point = V.voting_points(conn)[0]
    before = counts(engine)
    form = {
        "full_name": "Zofia Papierowa",
        "birth_date": "1950-01-02",
        "address": "Rynek 1",
        "voting_point": point["id"],
        "district": DISTRICT,
        "invalid_reason": "too_many",
    }
    cast = V.cast_paper(engine, VOTE_YEAR, None, form)
    assert not cast.valid
    after = counts(engine)
    assert after["invalid"] == before["invalid"] + 1 and after["register"] == before["register"] + 1
    assert after["urn"] + after["ballots"] == before["urn"] + before["ballots"]
    with engine.connect() as conn:
        row = next(t for t in B.turnout(conn, VOTE_YEAR) if t["number"] == DISTRICT)
    assert row["invalid"] >= 1
    with pytest.raises(PbError) as e:  # the same person cannot come back with a valid card
        V.cast_paper(
            engine,
            VOTE_YEAR,
            None,
            {**form, "invalid_reason": "", "citywide": "1,2,3", "local": "3,4,5"},
        )
    assert e.value.code == "already_voted"


def test_secrecy_and_tally_of_cast_ballots(engine, edition):
    """Ballots carry no voter and no time; shuffled in batches; the tally counts them."""
    with engine.connect() as conn:
        cols = {
            t: set(
                conn.execute(
                    text(
                        "SELECT array_agg(column_name::text) FROM information_schema.columns "
                        "WHERE table_name = :t"
                    ),
                    {"t": t},
                ).scalar_one()
            )
            for t in ("ballots", "pb_urn", "pb_voter_register")
        }
    for t, c in cols.items():
        assert not {x for x in c if "user" in x or x.endswith("_at") or "time" in x}, t
    assert cols["pb_voter_register"] == {"edition", "identity_key", "channel"}
    with engine.connect() as conn:
        point = V.voting_points(conn)[0]["id"]
    cast_order = []
    for i in range(B.URN_BATCH + 5):  # paper ballots, each a different first choice pattern
        city = [CITY_IDS[i % 5], CITY_IDS[(i + 1) % 5], CITY_IDS[(i + 2) % 5]]
        V.cast_paper(
            engine,
            VOTE_YEAR,
            None,
            {
                "full_name": f"Wyborca Numer{i}",
                "birth_date": "1980-01-01",
                "address": f"Lipowa {i}",
                "voting_point": point,
                "district": DISTRICT,
                "citywide": city,
                "local": LOCAL_IDS[:3],
            },
        )
        cast_order.append(city)
    V.close_urn(engine, VOTE_YEAR)
    c = counts(engine)
    assert c["urn"] == 0 and c["ballots"] == 2 * (c["register"] - c["invalid"])
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT id, choices FROM ballots WHERE edition = :y AND scope = 'citywide' "
                "AND voting_method = 'paper' ORDER BY ctid"
            ),
            {"y": VOTE_YEAR},
        ).all()
        ids = [r.id for r in stored]
        assert ids != sorted(ids) and ids != sorted(ids, reverse=True)
        assert [list(r.choices) for r in stored] != cast_order  # physical order != cast order
        # the tally equals what was cast (all ballots of the edition, counted directly)
        pools = R.results(conn, VOTE_YEAR)
        expected = {}
        for (choices,) in conn.execute(
            text("SELECT choices FROM ballots WHERE edition = :y AND scope = 'citywide'"),
            {"y": VOTE_YEAR},
        ):
            for pos, x in enumerate(choices):
                expected[x] = expected.get(x, 0) + (3 - pos)
    city = pools[0]
    assert city.ballots == c["register"] - c["invalid"]
    assert {p.external_id: p.score for p in city.projects if p.score} == expected


def test_outside_the_voting_window_refused(engine):
    from datetime import UTC, datetime

    uid = _user(engine, 5)
    with pytest.raises(PbError) as e:
        with engine.begin() as conn:
            V.declare_district(conn, VOTE_YEAR, uid, DISTRICT, now=datetime(2020, 1, 1, tzinfo=UTC))
    assert e.value.code == "phase_closed" and e.value.status == 409
