"""The planners' "residents farther than X m from any organisation in field F", per district
(civic/planning/ngo_reach.py): real grid, real population, only public NGO places count."""

from __future__ import annotations

import re
import time

from sqlalchemy import text

from civic.ngos import claims
from civic.ngos import places as ngo_places
from civic.planning import registry
from civic.planning.base import parse
from civic.planning.text import Text

T = Text()


def values(**kw):
    a = registry.get("ngo-reach")
    with_defaults = {p.name: p.default for p in a.params(None, T)}  # type: ignore[arg-type]
    return {**with_defaults, "size": 1000.0, **kw}


def by_district(payload) -> dict[int, dict]:
    return {d["number"]: d for d in payload["districts"]}


def test_registered_and_parameters_are_checked():
    a = registry.get("ngo-reach")
    assert a is not None and a.problems() == []
    ps = a.params(None, T)  # type: ignore[arg-type]
    bad = parse(ps, {"field": "rockets", "distance": "1000"}, planner=False, t=T)
    assert not bad.ok and "field" in bad.errors
    bad = parse(ps, {"field": "seniors", "distance": "999"}, planner=False, t=T)
    assert "distance" in bad.errors
    ok = parse(ps, {"field": "seniors", "distance": "500", "target_group": "seniors"}, False, T)
    assert ok.ok and ok.values["distance"] == "500"


def test_residents_farther_than_x_per_district(engine):
    a = registry.get("ngo-reach")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ngo_locations (external_id, geom, name, fields, target_groups) "
                "VALUES ('reach:1', ST_SetSRID(ST_MakePoint(19.9373, 50.0617), 4326), "
                "'Klub Seniora Rynek', '{seniors}', '{seniors}')"
            )
        )
        uid = conn.execute(
            text(
                "INSERT INTO users (email, name, password_hash) VALUES ('r@example.org', 'R', 'x') "
                "RETURNING id"
            )
        ).scalar_one()
        claim = claims.start_claim(
            conn,
            uid,
            {
                "krs": "0000314159",
                "contact_email": "r@example.org",
                "name": "Seniorzy Huty",
                "fields": ["seniors"],
                "target_groups": ["seniors"],
            },
        )
        ngo_places.add_place(
            conn,
            claim["organisation_id"],
            uid,
            frozenset({"admin"}),
            {"kind": "seat", "geometry": {"type": "Point", "coordinates": [20.0376, 50.0721]}},
        )
    with engine.connect() as conn:
        p = a.compute(conn, values(field="seniors", distance="1000"))
        # a profile still waiting for moderation is no organisation yet
        assert p["summary"]["targets"] == 1
        d = by_district(p)
        assert d[1]["underserved_share"] < 0.6  # Stare Miasto: around the Rynek
        assert d[18]["underserved_share"] > 0.95  # Nowa Huta: far from it
        page = a.page(conn, values(field="seniors", distance="1000"), p, T)
        assert "seniorzy" in page["target_title"]
        assert (
            page["district_rows"] and page["stats"]["threshold"].replace("\xa0", " ") == "1 000 m"
        )
        assert a.table(conn, values(field="seniors"), p, T).rows
        assert '"type":"FeatureCollection"' in a.features(
            conn, values(field="seniors"), p, T
        ).replace(" ", "")
        none = a.compute(conn, values(field="seniors", target_group="children"))
        assert none["summary"]["targets"] == 0
        assert none["summary"]["underserved_share"] == 1
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ngo_organisations SET status = 'public' WHERE id = :o"),
            {"o": claim["organisation_id"]},
        )
    with engine.connect() as conn:
        p2 = a.compute(conn, values(field="seniors", distance="1000"))
    assert p2["summary"]["targets"] == 2
    assert by_district(p2)[18]["underserved_share"] < d[18]["underserved_share"]
    assert p2["summary"]["underserved_population"] < p["summary"]["underserved_population"]


def test_the_page_over_http(client):
    deadline = time.monotonic() + 120
    url = "/planners/ngo-reach?field=seniors&distance=1000"
    while True:
        r = client.get(url)
        body = r.get_data(as_text=True)
        m = re.search(r'data-job-url="([^"]+)"', body)
        if r.status_code == 202 or m:
            status_url = r.json["status_url"] if r.status_code == 202 else m.group(1)
            while client.get(status_url).json.get("state") in ("queued", "running"):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            continue
        break
    assert r.status_code == 200 and 'id="coverage-districts"' in body
    assert client.get("/planners/ngo-reach?distance=7").status_code == 400
