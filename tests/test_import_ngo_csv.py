"""importers.ngo_csv: the documented columns, KRS validation, both x/y conventions."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.cities import KRAKOW
from importers.ngo_csv import import_ngo_csv, normalise_krs, point_2178
from importers.report import ImportFileError

CSV = """\
name;krs;address;x;y;fields;website;districts_served
"Fundacja Zabłocie";0000123456;ul. Zabłocie 20;7426488,7;5546608,6;"culture;children_youth";https://example.org;XIII
Stowarzyszenie Geodetów;KRS 0000-654-321;Rynek Główny 1;5546969.2;7423772.0;kultura, sztuka, dziedzictwo;;"1;Podgórze"
Krótki KRS;12345;Rynek 2;7423772.0;5546969.2;culture;;
Za długi KRS;00001234567;Rynek 3;7423772.0;5546969.2;;;
Litery w KRS;00001234AB;Rynek 4;7423772.0;5546969.2;;;
Nieznane pole;;Rynek 5;7423772.0;5546969.2;rockets;;
Bez współrzędnych;;Rynek 6;;;;;
Warszawa;;Marszałkowska 1;7500000;5790000;;;
Zła dzielnica;;Rynek 7;7423772.0;5546969.2;;;Mokotów
"""

LONLAT = """\
nazwa,adres,lon,lat,obszary,www
Klub Seniora Nowa Huta,os. Centrum A 1,"20,0376","50,0721",seniors,
"""


def ngos(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {
            r.name: dict(r._mapping)
            for r in conn.execute(
                text(
                    "SELECT name, krs, address, fields, districts_served, districts, website, "
                    "demo, external_id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM ngo_locations"
                )
            )
        }


def test_krs_rules():
    assert normalise_krs("0000123456") == "0000123456"
    assert normalise_krs(" KRS: 0000-123-456 ") == "0000123456"
    assert normalise_krs("") is None
    for bad in ("12345", "00001234567", "00001234AB", "0000 1234 5"):
        with pytest.raises(ValueError, match="exactly 10 digits"):
            normalise_krs(bad)


def test_x_y_in_either_order():
    assert point_2178(7_423_772.0, 5_546_969.2) == (7_423_772.0, 5_546_969.2)
    assert point_2178(5_546_969.2, 7_423_772.0) == (7_423_772.0, 5_546_969.2)
    with pytest.raises(ValueError, match="not EPSG:2178"):
        point_2178(19.93, 50.06)


def test_import_reports_each_bad_row(engine, tmp_path):
    path = tmp_path / "ngo.csv"
    path.write_text(CSV, encoding="utf-8-sig")  # with a BOM, as Excel writes it
    with engine.begin() as conn:
        report = import_ngo_csv(conn, path, KRAKOW)
    assert (report.read, report.imported) == (9, 2)
    reasons = {r.ref: (r.field, r.reason) for r in report.rejected}
    assert reasons["line 4"] == ("krs", "KRS must be exactly 10 digits, got '12345'")
    assert reasons["line 5"][0] == "krs" and reasons["line 6"][0] == "krs"
    assert reasons["line 7"][0] == "fields" and "rockets" in reasons["line 7"][1]
    assert reasons["line 8"] == ("geom", "no coordinates (lon/lat or x/y)")
    assert reasons["line 9"] == ("geom", "geometry lies outside the city")
    assert reasons["line 10"][0] == "districts_served"
    got = ngos(engine)
    z = got["Fundacja Zabłocie"]
    assert (z["krs"], z["fields"], z["districts_served"], z["districts"]) == (
        "0000123456",
        ["culture", "children_youth"],
        [13],
        [13],  # Zabłocie lies in Podgórze
    )
    assert z["demo"] is False and z["external_id"] == "ngo:0000123456:" + z["external_id"][-8:]
    g = got["Stowarzyszenie Geodetów"]  # x/y written geodetically (x = northing)
    assert (g["lon"], g["lat"]) == (
        pytest.approx(19.9355, abs=1e-5),
        pytest.approx(50.0540, abs=1e-5),
    )
    assert g["fields"] == ["culture"] and g["districts_served"] == [1, 13]
    with engine.begin() as conn:
        again = import_ngo_csv(conn, path, KRAKOW)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 2)


def test_lon_lat_with_decimal_commas_and_polish_headers(engine, tmp_path):
    path = tmp_path / "ngo-lonlat.csv"
    path.write_text(LONLAT, encoding="utf-8")
    with engine.begin() as conn:
        report = import_ngo_csv(conn, path, KRAKOW)
    assert report.imported == 1
    row = ngos(engine)["Klub Seniora Nowa Huta"]
    assert row["districts"] == [18] and row["fields"] == ["seniors"]


def test_cp1250_export_with_encoding(engine, tmp_path):
    path = tmp_path / "ngo-1250.csv"
    path.write_bytes("name;lon;lat\nFundacja Żółć;19.94;50.06\n".encode("cp1250"))
    with pytest.raises(ImportFileError, match="--encoding cp1250"), engine.begin() as conn:
        import_ngo_csv(conn, path, KRAKOW)
    with engine.begin() as conn:
        report = import_ngo_csv(conn, path, KRAKOW, encoding="cp1250")
    assert report.imported == 1 and "Fundacja Żółć" in ngos(engine)


def test_structural_problems_refuse_the_file(engine, table_checksums, tmp_path):
    before = table_checksums()
    cases = {
        "no-name.csv": ("krs;lon;lat\n0000123456;19.9;50.0\n", r"no 'name' column"),
        "no-coords.csv": ("name;address\nA;B\n", r"no coordinate columns"),
        "shifted.csv": ("name;lon;lat\nA;19.9;50.0;extra;more\n", r"4 fields|5 fields"),
        "quote.csv": ('name;lon;lat\n"A;19.9;50.0\n', r"not valid CSV|fields"),
    }
    for name, (content, match) in cases.items():
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ImportFileError, match=match), engine.begin() as conn:
            import_ngo_csv(conn, path, KRAKOW)
    assert table_checksums() == before
