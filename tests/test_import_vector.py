"""importers.vector: every format round-trips; PL-2000 axis order; encodings, CRS, mapping."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping
from shapely.geometry.polygon import orient
from sqlalchemy import text

from geo.crs import transform_xy
from importers.mapping import FieldMapping
from importers.report import ImportFileError
from importers.vector import import_vector

NAMES = ["Kazimierz i Stradom — Łódź Żółć", "Zabłocie (z dziurą)", "Nowa Huta: dwie części"]


def areas(prefix: str) -> gpd.GeoDataFrame:
    """Three revitalisation-area-like polygons in EPSG:4326, with Polish text."""
    holed = Polygon(
        box(19.948, 50.040, 19.985, 50.053).exterior.coords,
        [box(19.960, 50.045, 19.965, 50.048).exterior.coords],
    )
    multi = MultiPolygon([box(20.025, 50.068, 20.035, 50.074), box(20.037, 50.070, 20.045, 50.080)])
    return gpd.GeoDataFrame(
        {
            "external_id": [f"{prefix}:{i}" for i in range(3)],
            "name": NAMES,
            "code": ["A.1", "B.2", "C.3"],
            "period": ["2022–2030", None, "2023"],
        },
        geometry=[box(19.937, 50.046, 19.952, 50.056), holed, multi],
        crs="EPSG:4326",
    )


def to_msip(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Shapefile column names: the layer's msip_name (10 characters at most)."""
    return gdf.rename(
        columns={"external_id": "EXT_ID", "name": "NAZWA", "code": "KOD", "period": "OKRES"}
    )


def to_esri_json(gdf: gpd.GeoDataFrame, wkid: int) -> dict:
    g = gdf.to_crs(wkid)
    features = []
    for _, row in g.iterrows():
        polys = (
            list(row.geometry.geoms) if row.geometry.geom_type == "MultiPolygon" else [row.geometry]
        )
        rings = []
        for p in polys:
            p = orient(p, sign=-1.0)  # Esri: outer rings clockwise, holes counter-clockwise
            rings.append([list(c) for c in p.exterior.coords])
            rings += [[list(c) for c in r.coords] for r in p.interiors]
        attrs = {k: row[k] for k in g.columns if k != "geometry"}
        features.append({"attributes": attrs, "geometry": {"rings": rings}})
    return {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": wkid, "latestWkid": wkid},
        "fields": [
            {"name": k, "type": "esriFieldTypeString"} for k in g.columns if k != "geometry"
        ],
        "features": features,
    }


def write(fmt: str, folder: Path) -> Path:
    gdf = areas(f"rt-{fmt}")
    if fmt == "geojson":
        path = folder / "areas.geojson"
        gdf.to_file(path, driver="GeoJSON")
    elif fmt == "geojson-2178":
        path = folder / "areas-2178.geojson"
        gdf.to_crs(2178).to_file(path, driver="GeoJSON")  # GDAL adds a crs member
    elif fmt == "gpkg":
        path = folder / "areas.gpkg"
        gdf.to_crs(2180).to_file(path, driver="GPKG", layer="obszary")
    elif fmt in ("shp", "zip"):
        shp_dir = folder / "shp"
        shp_dir.mkdir()
        path = shp_dir / "obszary.shp"
        to_msip(gdf.to_crs(2178)).to_file(path, driver="ESRI Shapefile", encoding="cp1250")
        assert (shp_dir / "obszary.cpg").read_text().strip().upper() in ("CP1250", "1250")
        if fmt == "zip":
            zpath = folder / "obszary.zip"
            with zipfile.ZipFile(zpath, "w") as z:
                for f in shp_dir.iterdir():
                    z.write(f, f"eksport/{f.name}")
            path = zpath
    elif fmt == "esrijson":
        path = folder / "areas.json"
        path.write_text(json.dumps(to_esri_json(gdf, 2178), ensure_ascii=False), encoding="utf-8")
    else:  # pragma: no cover
        raise ValueError(fmt)
    return path


@pytest.mark.parametrize("fmt", ["geojson", "geojson-2178", "gpkg", "shp", "zip", "esrijson"])
def test_round_trip(fmt, engine, tmp_path):
    path = write(fmt, tmp_path)
    mapping = FieldMapping(constants={"programme": "Test", "demo": True})
    with engine.begin() as conn:
        report = import_vector(conn, path, "revitalisation-areas", mapping=mapping)
    assert (report.read, report.imported, report.rejected) == (3, 3, [])
    original = areas(f"rt-{fmt}")
    with engine.connect() as conn:
        got = conn.execute(
            text(
                "SELECT external_id, name, code, period, ST_AsBinary(geom) AS wkb, districts "
                "FROM revitalisation_areas WHERE external_id LIKE :p ORDER BY external_id"
            ),
            {"p": f"rt-{fmt}:%"},
        ).all()
    assert [r.name for r in got] == NAMES  # Polish letters survive every format
    assert [r.code for r in got] == ["A.1", "B.2", "C.3"]
    assert got[0].period == "2022–2030"
    for row, geom in zip(got, original.geometry, strict=True):
        back = shapely.from_wkb(bytes(row.wkb))
        assert back.geom_type in ("Polygon", "MultiPolygon")
        assert shapely.hausdorff_distance(back, geom) < 1e-7, row.external_id  # ~1 cm
        assert len(shapely.get_parts(back)) == len(shapely.get_parts(geom))
    # The rough Kazimierz box reaches over the Vistula: it lists every district it touches.
    assert got[0].districts == [1, 2, 8, 13]
    with engine.begin() as conn:
        again = import_vector(conn, path, "revitalisation-areas", mapping=mapping)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 3)


def test_axis_order_wawel(engine, tmp_path):
    e, n = transform_xy(19.9355, 50.0540, 4326, 2178)
    assert (e, n) == (pytest.approx(7_423_772.0, abs=0.5), pytest.approx(5_546_969.2, abs=0.5))
    lon, lat = transform_xy(7_423_772.0, 5_546_969.2, 2178, 4326)
    assert (lon, lat) == (pytest.approx(19.9355, abs=1e-5), pytest.approx(50.0540, abs=1e-5))
    gdf = gpd.GeoDataFrame(
        {"NAZWA": ["Wawel"], "RODZAJ": ["other"], "EXT_ID": ["axis:wawel"]},
        geometry=[Point(7_423_772.0, 5_546_969.2)],
        crs="EPSG:2178",
    )
    path = tmp_path / "wawel.shp"
    gdf.to_file(path, encoding="utf-8")
    with engine.begin() as conn:
        report = import_vector(conn, path, "civic-venues")
    assert report.imported == 1 and "reprojected from EPSG:2178" in report.summary()
    with engine.connect() as conn:
        x, y, districts = conn.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom), districts FROM civic_venues "
                "WHERE external_id = 'axis:wawel'"
            )
        ).one()
    assert (x, y) == (pytest.approx(19.9355, abs=1e-5), pytest.approx(50.0540, abs=1e-5))
    assert districts == [1]


def test_missing_cpg_and_prj_need_encoding_and_crs(engine, tmp_path):
    path = write("shp", tmp_path)
    path.with_suffix(".cpg").unlink()
    with (
        pytest.raises(ImportFileError, match=r"no obszary\.cpg .* --encoding"),
        engine.begin() as conn,
    ):
        import_vector(conn, path, "revitalisation-areas")
    path.with_suffix(".prj").unlink()
    with pytest.raises(ImportFileError, match=r"no obszary\.prj .* --crs"), engine.begin() as conn:
        import_vector(conn, path, "revitalisation-areas", encoding="cp1250")
    with engine.begin() as conn:
        report = import_vector(
            conn,
            path,
            "revitalisation-areas",
            encoding="cp1250",
            crs="EPSG:2178",
            mapping=FieldMapping(external_id="EXT_ID"),
            dry_run=True,
        )
    assert report.accepted == 3 and report.rejected == []


def test_mapping_file_source_layer_and_content_ids(engine, tmp_path):
    gdf = areas("unused").drop(columns=["external_id"]).rename(columns={"name": "NAZWA_OBSZ"})
    path = tmp_path / "two.gpkg"
    gdf.to_file(path, layer="a", driver="GPKG")
    gdf.to_file(path, layer="b", driver="GPKG")
    mfile = tmp_path / "map.yml"
    mfile.write_text("fields:\n  name: NAZWA_OBSZ\ndefaults:\n  demo: true\n", encoding="utf-8")
    mapping = FieldMapping.from_file(mfile)
    with pytest.raises(ImportFileError, match="2 layers .* --source-layer"), engine.begin() as conn:
        import_vector(conn, path, "revitalisation-areas", mapping=mapping)
    with engine.begin() as conn:
        first = import_vector(conn, path, "revitalisation-areas", mapping=mapping, source_layer="b")
    with engine.begin() as conn:
        again = import_vector(conn, path, "revitalisation-areas", mapping=mapping, source_layer="b")
    assert (first.imported, again.unchanged) == (3, 3)  # content-hash ids are stable
    with engine.connect() as conn:
        ids = (
            conn.execute(
                text(
                    "SELECT external_id FROM revitalisation_areas WHERE external_id LIKE 'vector:two:%'"
                )
            )
            .scalars()
            .all()
        )
    assert len(ids) == 3


def test_invalid_geometry_needs_repair(engine, tmp_path):
    bowtie = Polygon([(19.93, 50.06), (19.94, 50.07), (19.94, 50.06), (19.93, 50.07)])
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"external_id": "bow:1", "name": "Kokarda"},
                "geometry": mapping(bowtie),
            },
        ],
    }
    path = tmp_path / "bow.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with engine.begin() as conn:
        report = import_vector(conn, path, "revitalisation-areas")
    assert report.imported == 0 and "Self-intersection" in report.rejected[0].reason
    assert not report.ok
    with engine.begin() as conn:
        report = import_vector(conn, path, "revitalisation-areas", repair=True)
    assert (report.imported, report.repaired) == (1, 1)


def test_encoding_option_reads_a_cp1250_geojson(engine, tmp_path):
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"external_id": "enc:1", "name": "Łódź Żółć", "type": "other"},
                "geometry": {"type": "Point", "coordinates": [19.9373, 50.0617]},
            },
        ],
    }
    path = tmp_path / "cp1250.geojson"
    path.write_bytes(json.dumps(doc, ensure_ascii=False).encode("cp1250"))
    with pytest.raises(ImportFileError, match="not valid UTF-8"), engine.begin() as conn:
        import_vector(conn, path, "civic-venues")
    with engine.begin() as conn:
        report = import_vector(conn, path, "civic-venues", encoding="cp1250")
    assert report.imported == 1
    with engine.connect() as conn:
        name = conn.execute(
            text("SELECT name FROM civic_venues WHERE external_id = 'enc:1'")
        ).scalar_one()
    assert name == "Łódź Żółć"
