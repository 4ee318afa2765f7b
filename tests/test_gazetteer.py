"""Issue 4: the offline gazetteer — pg_trgm + unaccent search, its API, and the PRG importer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from geo.gazetteer import check_query, search, search_key, split_address
from importers.prg import PrgFormatError, load_prg, parse_srs, read_prg

PRG = Path(__file__).resolve().parent / "data" / "prg"


def geocode(client, q: str, **params):
    r = client.get("/api/geocode", query_string={"q": q, **params})
    assert r.status_code == 200, r.data
    assert r.mimetype == "application/geo+json"
    return json.loads(r.data)["features"]


def test_zablocie_without_diacritics_finds_zablocie_first(client):
    feats = geocode(client, "zablocie")
    assert feats[0]["properties"]["name"] == "Zabłocie"
    assert feats[0]["properties"]["kind"] in ("quarter", "neighbourhood")
    assert feats[0]["properties"]["district_name"] == "Podgórze"
    lon, lat = feats[0]["geometry"]["coordinates"]
    assert 19.96 < lon < 19.99 and 50.04 < lat < 50.06


def test_rajska_12_is_an_address_first(client):
    feats = geocode(client, "rajska 12")
    top = feats[0]["properties"]
    assert (top["name"], top["kind"], top["house_number"]) == ("Rajska 12", "address", "12")
    assert top["district_name"] == "Stare Miasto"
    assert feats[0]["geometry"]["coordinates"] == pytest.approx([19.929493, 50.064218], abs=1e-5)


@pytest.mark.parametrize(
    "q, expected",
    [
        ("ZABŁOCIE", "Zabłocie"),
        ("ul. Rajska 12", "Rajska 12"),
        ("nowa huta", "Nowa Huta"),
        ("lagiewniki", "Łagiewniki"),
        ("rajsk", "Rajsk"),  # a prefix while typing
    ],
)
def test_variants(client, q, expected):
    names = [f["properties"]["name"] for f in geocode(client, q)]
    assert any(n.startswith(expected) for n in names[:3]), names


def test_district_names_and_kinds_filter(client):
    feats = geocode(client, "nowa huta", kind="district")
    assert [f["properties"]["kind"] for f in feats] == ["district"]
    assert feats[0]["properties"]["district"] == 18


def test_limit_and_order(client):
    feats = geocode(client, "biblioteka", limit=3)
    assert len(feats) == 3
    scores = [f["properties"]["score"] for f in feats]
    assert scores == sorted(scores, reverse=True)


def test_only_places_inside_the_city(engine):
    with engine.connect() as conn:
        outside = conn.execute(
            text(
                "SELECT count(*) FROM gazetteer g WHERE NOT EXISTS "
                "(SELECT 1 FROM city c WHERE ST_Covers(c.geom, g.geom))"
            )
        ).scalar_one()
        kinds = dict(conn.execute(text("SELECT kind, count(*) FROM gazetteer GROUP BY kind")).all())
        missing_district = conn.execute(
            text("SELECT count(*) FROM gazetteer WHERE district IS NULL")
        ).scalar_one()
    assert outside == 0
    assert kinds["district"] == 18 and kinds["quarter"] > 50 and kinds["address"] > 200
    assert missing_district == 0


@pytest.mark.parametrize(
    "params, field",
    [
        ({"q": ""}, "q"),
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"q": "!!!"}, "q"),
        ({"q": "rajska", "limit": "0"}, "limit"),
        ({"q": "rajska", "limit": "99"}, "limit"),
        ({"q": "rajska", "limit": "abc"}, "limit"),
        ({"q": "rajska", "kind": "planet"}, "kind"),
    ],
)
def test_bad_queries_are_400_naming_the_field(client, params, field):
    r = client.get("/api/geocode", query_string=params)
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == field


def test_query_with_sql_and_like_characters_is_harmless(client):
    for q in ("%_%", "'; DROP TABLE gazetteer; --", "\\", "rajska%"):
        r = client.get("/api/geocode", query_string={"q": q})
        assert r.status_code in (200, 400)
    assert geocode(client, "rajska 12")[0]["properties"]["name"] == "Rajska 12"


def test_search_key_matches_sql(engine):
    samples = [
        "Zabłocie",
        "Łagiewniki-Borek Fałęcki",
        "ul. Rajska 12/14",
        "ŻÓŁĆ",
        "Osiedle Górali 5",
    ]
    with engine.connect() as conn:
        sql = [
            conn.execute(text("SELECT civic_search_key(:s)"), {"s": s}).scalar_one()
            for s in samples
        ]
    assert sql == [search_key(s) for s in samples]


def test_split_address():
    assert split_address("Rajska 12") == ("Rajska", "12")
    assert split_address("Szlak 73a") == ("Szlak", "73a")
    assert split_address("Osiedle Dywizjonu 303 1") == ("Osiedle Dywizjonu 303", "1")
    assert split_address("Szewska") == ("Szewska", None)


def test_index_is_used(engine):
    with engine.connect() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                text("EXPLAIN SELECT id FROM gazetteer WHERE search % 'zablocie'")
            )
        )
    assert "gazetteer_search_trgm" in plan


# --------------------------------------------------------------------------- PRG


def test_srs_names_and_axis_order():
    assert parse_srs("urn:ogc:def:crs:EPSG::2180") == (2180, True)
    assert parse_srs("http://www.opengis.net/def/crs/EPSG/0/2180") == (2180, True)
    assert parse_srs("EPSG:2180") == (2180, False)
    with pytest.raises(PrgFormatError):
        parse_srs("EPSG:3857")
    with pytest.raises(PrgFormatError):
        parse_srs(None)


@pytest.mark.parametrize(
    "name", ["krakow_model2012.gml", "krakow_model2021.gml", "krakow_addresses.csv"]
)
def test_prg_files_read_to_the_same_points(name):
    from geo.crs import transform_xy

    addresses = {a.name: a for a in read_prg(PRG / name)}
    rajska = addresses["Rajska 12"]
    e, n = (rajska.second, rajska.first) if rajska.northing_first else (rajska.first, rajska.second)
    lon, lat = transform_xy(e, n, rajska.srid, 4326)
    # the civic-places point the sample was made from (Rynek is ~1 km east: not a swap)
    assert lon == pytest.approx(19.9294927, abs=1e-6) and lat == pytest.approx(50.0642185, abs=1e-6)
    assert rajska.street == "Rajska" and rajska.number == "12"


@pytest.fixture()
def conn(engine):
    """A transaction rolled back after the test: PRG imports leave the module DB as it was."""
    with engine.connect() as c:
        tx = c.begin()
        yield c
        tx.rollback()


@pytest.mark.parametrize(
    "name", ["krakow_model2012.gml", "krakow_model2021.gml", "krakow_addresses.csv"]
)
def test_prg_import_keeps_the_city_and_takes_over_addresses(conn, name):
    from geo.cities import KRAKOW

    report = load_prg(conn, KRAKOW, PRG / name)
    expected = 6 if "2021" in name else 10
    assert report.loaded == expected
    assert report.outside_city == (0 if "2021" in name else 1)  # Wieliczka is left out
    prg = dict(
        conn.execute(text("SELECT name, postcode FROM gazetteer WHERE source = 'prg'")).all()
    )
    assert "Rynek Górny 1" not in prg
    assert prg["Rajska 12"] == "31-124"
    fc = json.loads(search(conn, check_query("rajska 12")))
    top = fc["features"][0]["properties"]
    assert top["name"] == "Rajska 12" and top["postcode"] == "31-124"
    assert top["district_name"] == "Stare Miasto"
    # one row per address: PRG took over the civic-places row
    n = conn.execute(
        text("SELECT count(*) FROM gazetteer WHERE kind = 'address' AND search = 'rajska 12'")
    ).scalar_one()
    assert n == 1


def test_prg_import_twice_replaces(conn):
    from geo.cities import KRAKOW

    load_prg(conn, KRAKOW, PRG / "krakow_addresses.csv")
    first = conn.execute(text("SELECT count(*) FROM gazetteer")).scalar_one()
    load_prg(conn, KRAKOW, PRG / "krakow_model2012.gml")
    assert conn.execute(text("SELECT count(*) FROM gazetteer")).scalar_one() == first


def test_prg_swapped_axes_are_refused(conn):
    from geo.cities import KRAKOW

    with pytest.raises(PrgFormatError, match="axis"):
        load_prg(conn, KRAKOW, PRG / "krakow_addresses_swapped.csv")
    report = load_prg(conn, KRAKOW, PRG / "krakow_addresses_swapped.csv", axis_order="en")
    assert report.loaded == 10


@pytest.mark.parametrize(
    "content, message",
    [
        ("ulica;numer\nRajska;12\n", "coordinate"),
        ("ulica;x;y\nRajska;1;2\n", "house-number"),
        ("ulica;numer;x;y\nRajska;12;NaN;566504\n", "finite"),
        ("ulica;numer;x;y\nRajska;12;abc;566504\n", "not a number"),
        ("ulica;numer;x;y\nRajska;12;244520\n", "fields"),
        ("", "empty"),
    ],
)
def test_prg_bad_csv(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PrgFormatError, match=message):
        read_prg(path)


def test_prg_bad_gml(tmp_path):
    bad = tmp_path / "bad.gml"
    bad.write_text("<gml:FeatureCollection xmlns:gml='http://www.opengis.net/gml/3.2'><oops>")
    with pytest.raises(PrgFormatError, match="XML"):
        read_prg(bad)
    empty = tmp_path / "empty.gml"
    empty.write_text("<FeatureCollection/>")
    with pytest.raises(PrgFormatError, match="no PRG_PunktAdresowy"):
        read_prg(empty)
    nosrs = tmp_path / "nosrs.gml"
    nosrs.write_text(
        (PRG / "krakow_model2012.gml")
        .read_text()
        .replace(' srsName="urn:ogc:def:crs:EPSG::2180"', "")
    )
    with pytest.raises(PrgFormatError, match="srsName"):
        read_prg(nosrs)


def test_prg_cp1250_csv_is_refused_not_garbled(tmp_path):
    path = tmp_path / "cp1250.csv"
    path.write_bytes("ulica;numer;x;y\nPowroźnicza;2;243161.6;566529.32\n".encode("cp1250"))
    with pytest.raises(PrgFormatError, match="UTF-8"):
        read_prg(path)


def test_prg_zip(tmp_path, conn):
    import zipfile

    from geo.cities import KRAKOW

    z = tmp_path / "PRG_1261.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(PRG / "krakow_model2012.gml", "PRG_PunktyAdresowe_1261.xml")
    assert load_prg(conn, KRAKOW, z).loaded == 10


def test_cli_import_prg(db_url, monkeypatch):
    from click.testing import CliRunner

    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(
        main, ["import", "prg", str(PRG / "krakow_addresses.csv"), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "10 loaded" in result.output and "1 outside the city" in result.output
    bad = CliRunner().invoke(main, ["import", "prg", str(PRG / "krakow_addresses_swapped.csv")])
    assert bad.exit_code != 0 and "axis" in bad.output
