"""Streets across districts: a street of the gazetteer answers with every district its
addresses lie in and the extent they span; a house number the gazetteer lacks still finds
its street; every street of the shipped data has both."""

from __future__ import annotations

import json

import pytest
from pyproj import Transformer
from sqlalchemy import text

from geo.cities import KRAKOW
from geo.gazetteer import check_query, search
from importers.prg import load_prg

TO_2180 = Transformer.from_crs(4326, 2180, always_xy=True)


@pytest.fixture()
def conn(engine):
    with engine.connect() as c:
        tx = c.begin()
        yield c
        tx.rollback()


def _inside(conn, district: int, seed: int) -> tuple[float, float]:
    return conn.execute(
        text(
            "SELECT ST_X(g), ST_Y(g) FROM (SELECT (ST_Dump(ST_GeneratePoints("
            "ST_Buffer(geom::geography, -150)::geometry, 1, :s))).geom g "
            "FROM districts WHERE number = :d) x"
        ),
        {"d": district, "s": seed},
    ).one()


def test_shipped_streets_know_their_districts_and_extent(engine):
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, districts, extent IS NOT NULL FROM gazetteer WHERE kind = 'street'")
        ).all()
        untagged = conn.execute(
            text("SELECT count(*) FROM gazetteer WHERE district IS NOT NULL AND districts = '{}'")
        ).scalar()
    assert rows and all(d and has_extent for _name, d, has_extent in rows)
    assert untagged == 0


def test_a_street_across_two_districts(conn, tmp_path):
    # Karmelicka: one address in Stare Miasto (I), one in Krowodrza (V)
    a = _inside(conn, 1, 1)
    b = _inside(conn, 5, 2)
    lines = ["lokalny_id;miejscowosc;ulica;numer_porzadkowy;kod_pocztowy;status;x;y"]
    for i, (number, (lon, lat)) in enumerate([("1", a), ("60", b)]):
        e, n = TO_2180.transform(lon, lat)
        lines.append(f"k{i};Kraków;Karmelicka;{number};31-000;istniejacy;{n:.2f};{e:.2f}")
    path = tmp_path / "karmelicka.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_prg(conn, KRAKOW, path)

    fc = json.loads(search(conn, check_query("Karmelicka")))
    street = next(f for f in fc["features"] if f["properties"]["kind"] == "street")
    assert [d["number"] for d in street["properties"]["districts"]] == [1, 5]
    assert {d["name"] for d in street["properties"]["districts"]} == {"Stare Miasto", "Krowodrza"}
    w, s, e, n = street["bbox"]
    for lon, lat in (a, b):
        assert w < lon < e and s < lat < n

    # a house number the register does not have still finds the street
    fc = json.loads(search(conn, check_query("Karmelicka 999")))
    kinds = [(f["properties"]["kind"], f["properties"]["name"]) for f in fc["features"]]
    assert ("street", "Karmelicka") in kinds
    # an address is one point in one district
    addr = json.loads(search(conn, check_query("Karmelicka 60")))["features"][0]
    assert addr["properties"]["kind"] == "address" and addr["bbox"] is None
    assert [d["number"] for d in addr["properties"]["districts"]] == [5]
