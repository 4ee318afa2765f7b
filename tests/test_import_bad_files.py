"""Every bad file ends with a clear message and leaves the database exactly as it was.

"Exactly" is checked with table checksums (every layer table, budget_pools, ballots) taken
before and after each attempt. The bad files: wrong encoding, broken zip, unknown CRS,
geometries outside Kraków, empty files, and 100 MB of garbage.
"""

from __future__ import annotations

import json
import os
import random
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point

from geo.cities import KRAKOW
from importers.ngo_csv import import_ngo_csv
from importers.pabulib import import_pb
from importers.report import ImportFileError
from importers.vector import import_vector

DATA = Path(__file__).resolve().parent.parent / "data" / "pabulib" / "krakow"
GARBAGE_MB = 100


def point_fc(points, **props) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"external_id": f"bad:{i}", "name": f"Miejsce {i}", **props},
                "geometry": {"type": "Point", "coordinates": list(p)},
            }
            for i, p in enumerate(points)
        ],
    }


def shapefile(folder: Path, encoding: str = "cp1250") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    gdf = gpd.GeoDataFrame(
        {"NAZWA": ["Łódź Żółć", "Kraków"], "RODZAJ": ["other", "other"], "EXT_ID": ["s:1", "s:2"]},
        geometry=[Point(7_423_772.0, 5_546_969.2), Point(7_424_500.0, 5_547_500.0)],
        crs="EPSG:2178",
    )
    path = folder / "miejsca.shp"
    gdf.to_file(path, encoding=encoding)
    return path


@pytest.fixture()
def unchanged(table_checksums):
    """Yields; afterwards asserts the database is exactly as before."""
    before = table_checksums()
    yield
    assert table_checksums() == before, "a refused import changed the database"


def refused(engine, run, match: str) -> ImportFileError:
    with pytest.raises(ImportFileError, match=match) as info, engine.begin() as conn:
        run(conn)
    message = str(info.value)
    assert len(message) > 20 and "Traceback" not in message
    return info.value


def vector(path, layer="civic-venues", **kw):
    return lambda conn: import_vector(conn, path, layer, **kw)


# --------------------------------------------------------------------------- wrong encoding


def test_wrong_encoding_geojson(engine, unchanged, tmp_path):
    path = tmp_path / "miejsca.geojson"
    doc = point_fc([(19.9373, 50.0617)], type="other", name="Łódź")
    path.write_bytes(json.dumps(doc, ensure_ascii=False).encode("cp1250"))
    refused(engine, vector(path), r"not valid UTF-8 \(byte 0x.. at offset \d+\).*--encoding")


def test_wrong_encoding_pabulib(engine, unchanged, tmp_path):
    path = tmp_path / "poland_krakow_2024_podgorze.pb"
    text_ = (DATA / path.name).read_text(encoding="utf-8")
    path.write_bytes(text_.encode("cp1250", errors="replace"))
    refused(engine, lambda c: import_pb(c, path, KRAKOW), r"line \d+: not valid UTF-8")


def test_wrong_encoding_csv(engine, unchanged, tmp_path):
    path = tmp_path / "ngo.csv"
    path.write_bytes("name;lon;lat\nFundacja Łódź;19.93;50.06\n".encode("cp1250"))
    refused(
        engine,
        lambda c: import_ngo_csv(c, path, KRAKOW),
        r"not valid UTF-8 text.*--encoding cp1250",
    )


def test_wrong_cpg_shapefile(engine, unchanged, tmp_path):
    path = shapefile(tmp_path / "shp", encoding="cp1250")
    path.with_suffix(".cpg").write_text("UTF-8")  # the .cpg lies
    refused(engine, vector(path), r"text attributes are not valid utf-8.*--encoding")


def test_missing_cpg_is_not_guessed(engine, unchanged, tmp_path):
    path = shapefile(tmp_path / "shp")
    path.with_suffix(".cpg").unlink()
    refused(engine, vector(path), r"no miejsca\.cpg .*encoding of its text is unknown")


# --------------------------------------------------------------------------- broken zip


def test_truncated_zip(engine, unchanged, tmp_path):
    path = shapefile(tmp_path / "shp")
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as z:
        for f in path.parent.iterdir():
            z.write(f, f.name)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    refused(engine, vector(broken), r"broken zip archive")


def test_zip_with_a_corrupt_member(engine, unchanged, tmp_path):
    path = shapefile(tmp_path / "shp")
    good = tmp_path / "crc.zip"
    with zipfile.ZipFile(good, "w", compression=zipfile.ZIP_STORED) as z:
        for f in path.parent.iterdir():
            z.write(f, f.name)
    data = bytearray(good.read_bytes())
    dbf = data.find("Łódź".encode("cp1250"))
    assert dbf > 0
    data[dbf] ^= 0xFF  # flip a byte inside the .dbf: the CRC no longer matches
    good.write_bytes(bytes(data))
    refused(engine, vector(good), r"broken zip archive \(CRC error in miejsca\.dbf\)")


def test_zip_without_a_shapefile(engine, unchanged, tmp_path):
    path = tmp_path / "docs.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "nothing here")
    refused(engine, vector(path), r"the zip holds no shapefile")


# --------------------------------------------------------------------------- unknown CRS


def test_unknown_crs_in_prj(engine, unchanged, tmp_path):
    path = shapefile(tmp_path / "shp")
    path.with_suffix(".prj").write_text(
        'LOCAL_CS["Plan budowy",LOCAL_DATUM["Ziemia płaska",0],UNIT["metre",1],'
        'AXIS["X",EAST],AXIS["Y",NORTH]]'
    )
    refused(engine, vector(path), r"cannot be identified as an EPSG code.*--crs")


def test_missing_prj(engine, unchanged, tmp_path):
    path = shapefile(tmp_path / "shp")
    path.with_suffix(".prj").unlink()
    refused(engine, vector(path), r"no miejsca\.prj .*coordinate reference system is unknown")


def test_unknown_crs_option(engine, unchanged, tmp_path):
    path = shapefile(tmp_path / "shp")
    refused(engine, vector(path, crs="EPSG:999999"), r"--crs: unknown coordinate reference system")


def test_esri_json_without_spatial_reference(engine, unchanged, tmp_path):
    path = tmp_path / "msip.json"
    path.write_text(
        json.dumps(
            {
                "geometryType": "esriGeometryPoint",
                "fields": [{"name": "NAZWA", "type": "esriFieldTypeString"}],
                "features": [{"attributes": {"NAZWA": "x"}, "geometry": {"x": 7.4e6, "y": 5.5e6}}],
            }
        )
    )
    refused(engine, vector(path), r"no spatialReference.*--crs")


def test_geojson_with_projected_coordinates_and_no_crs(engine, unchanged, tmp_path):
    path = tmp_path / "bez-crs.geojson"
    path.write_text(json.dumps(point_fc([(7_423_772.0, 5_546_969.2)], type="other")))
    refused(engine, vector(path), r"declares no CRS, but its coordinates are not longitude")


# --------------------------------------------------------------------------- outside Kraków


def test_geometries_outside_krakow(engine, unchanged, tmp_path):
    path = tmp_path / "warszawa.geojson"
    path.write_text(
        json.dumps(point_fc([(21.0122, 52.2297), (21.03, 52.25), (20.0, 50.5)], type="other"))
    )
    with engine.begin() as conn:
        report = import_vector(conn, path, "civic-venues")
    assert (report.read, report.accepted, len(report.rejected)) == (3, 0, 3)
    assert {r.reason for r in report.rejected} == {"geometry lies outside the city"}
    assert not report.ok


def test_outside_krakow_through_the_cli(engine, db_url, unchanged, tmp_path, monkeypatch):
    from app.cli import main

    path = tmp_path / "warszawa.geojson"
    path.write_text(json.dumps(point_fc([(21.0122, 52.2297)], type="other")))
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["import", "vector", str(path), "--layer", "civic-venues"])
    assert result.exit_code == 1
    assert "geometry lies outside the city" in result.output
    assert "no row of the file could be imported" in result.output


# --------------------------------------------------------------------------- empty files


@pytest.mark.parametrize("name", ["puste.geojson", "puste.gpkg", "puste.zip", "puste.shp"])
def test_zero_byte_vector_files(engine, unchanged, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    refused(engine, vector(path), r"empty file \(0 bytes\)")


def test_empty_feature_collection(engine, unchanged, tmp_path):
    path = tmp_path / "pusta.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    refused(engine, vector(path), r"no features")


def test_empty_pb_and_csv(engine, unchanged, tmp_path):
    pb = tmp_path / "empty.pb"
    pb.write_bytes(b"")
    refused(engine, lambda c: import_pb(c, pb, KRAKOW), r"empty file")
    meta_only = tmp_path / "meta.pb"
    meta_only.write_text("META\nkey;value\nunit;Kraków\n", encoding="utf-8")
    refused(engine, lambda c: import_pb(c, meta_only, KRAKOW), r"no PROJECTS section")
    csv_ = tmp_path / "empty.csv"
    csv_.write_bytes(b"")
    refused(engine, lambda c: import_ngo_csv(c, csv_, KRAKOW), r"empty file")
    header = tmp_path / "header.csv"
    header.write_text("name;krs;lon;lat\n", encoding="utf-8")
    refused(engine, lambda c: import_ngo_csv(c, header, KRAKOW), r"a header but no rows")


# --------------------------------------------------------------------------- 100 MB of garbage


@pytest.fixture(scope="module")
def garbage(tmp_path_factory) -> Path:
    """100 MB of random bytes, written 1 MB at a time (never held in memory whole)."""
    path = tmp_path_factory.mktemp("garbage") / "garbage.bin"
    rng = random.Random(20241113)
    with path.open("wb") as fh:
        for _ in range(GARBAGE_MB):
            fh.write(rng.randbytes(1 << 20))
    assert path.stat().st_size == GARBAGE_MB << 20
    yield path
    path.unlink()


def as_(garbage: Path, name: str) -> Path:
    """The garbage under another name (a symlink: no second copy on disk or in memory)."""
    link = garbage.parent / name
    if not link.exists():
        os.symlink(garbage, link)
    return link


@pytest.mark.parametrize(
    "name, match",
    [
        ("garbage.geojson", r"not a GeoJSON or Esri JSON file"),
        ("garbage.json", r"not a GeoJSON or Esri JSON file"),
        ("garbage.gpkg", r"not a GeoPackage"),
        ("garbage.zip", r"broken zip archive"),
        ("garbage.dat", r"unknown file type \.dat"),
    ],
)
def test_100_mb_of_garbage_as_a_vector_file(engine, unchanged, garbage, name, match):
    refused(engine, vector(as_(garbage, name)), match)


def test_100_mb_of_garbage_as_a_shapefile(engine, unchanged, garbage):
    shp = as_(garbage, "garbage.shp")
    (garbage.parent / "garbage.cpg").write_text("UTF-8")  # so it gets as far as GDAL
    refused(engine, vector(shp, crs="EPSG:2178"), r"not a readable vector file")


def test_100_mb_of_garbage_as_pb_and_csv(engine, unchanged, garbage):
    refused(
        engine, lambda c: import_pb(c, as_(garbage, "garbage.pb"), KRAKOW), r"not valid UTF-8|NUL"
    )
    refused(
        engine,
        lambda c: import_ngo_csv(c, as_(garbage, "garbage.csv"), KRAKOW),
        r"not valid UTF-8|NUL bytes",
    )


def test_garbage_through_the_cli(engine, db_url, unchanged, garbage, monkeypatch):
    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    for argv in (
        ["import", "vector", str(as_(garbage, "garbage.geojson")), "--layer", "ngos"],
        ["import", "pabulib", str(as_(garbage, "garbage.pb"))],
        ["import", "ngo-csv", str(as_(garbage, "garbage.csv"))],
    ):
        result = runner.invoke(main, argv)
        assert result.exit_code == 1, result.output
        assert "import refused:" in result.output and "Nothing was changed." in result.output
