"""`civicmap import wfs`: WFS 2.0 / 1.1 GetFeature responses in GML 3.1.1, offline.

The responses are written here from real district polygons (the recorded MSIP layer,
EPSG:2178) the way MSIP's WFS answers: GML 3.1.1, ``srsName="urn:ogc:def:crs:EPSG::2178"``
and ``posList`` **northing first**. A WFS 1.1 variant uses the legacy ``EPSG:2178`` form,
which servers write easting first.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import test_ogc_testlayer as tl
from click.testing import CliRunner
from shapely.geometry import MultiPolygon, Polygon, shape
from sqlalchemy import text

from geo.cities import KRAKOW
from importers.common import FieldMapping
from importers.wfs import WfsError, import_wfs, parse_gml, read_wfs, srs_axis

RECORDED = Path(__file__).resolve().parents[1] / "data" / "krakow" / "districts-msip.esri.json"
URL = "https://msip.example/wfs/zagospodarowanie"
TYPENAME = "ms:dzielnice"
URN = "urn:ogc:def:crs:EPSG::2178"


def districts() -> list[tuple[dict, Polygon]]:
    """The 18 MSIP districts: attributes and polygon, easting first (EPSG:2178)."""
    doc = json.loads(RECORDED.read_text(encoding="utf-8"))
    out = []
    for f in doc["features"]:
        ring = [tuple(p) for p in f["geometry"]["rings"][0]]
        out.append((f["attributes"], Polygon(ring)))
    return out


def pos_list(coords, northing_first: bool) -> str:
    return " ".join(f"{y} {x}" if northing_first else f"{x} {y}" for x, y in coords)


def gml_polygon(poly: Polygon, northing_first: bool) -> str:
    inner = "".join(
        f'<gml:interior><gml:LinearRing><gml:posList srsDimension="2">{pos_list(r.coords, northing_first)}'
        "</gml:posList></gml:LinearRing></gml:interior>"
        for r in poly.interiors
    )
    return (
        f'<gml:Polygon><gml:exterior><gml:LinearRing><gml:posList srsDimension="2">'
        f"{pos_list(poly.exterior.coords, northing_first)}</gml:posList></gml:LinearRing>"
        f"</gml:exterior>{inner}</gml:Polygon>"
    )


def gml_member(attrs: dict, geom, srs: str, northing_first: bool) -> str:
    polys = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    surfaces = "".join(
        f"<gml:surfaceMember>{gml_polygon(p, northing_first)}</gml:surfaceMember>" for p in polys
    )
    return (
        f'<ms:dzielnice gml:id="dzielnice.{attrs["OBJECTID"]}">'
        f'<gml:boundedBy><gml:Envelope srsName="{srs}"><gml:lowerCorner>0 0</gml:lowerCorner>'
        "<gml:upperCorner>0 0</gml:upperCorner></gml:Envelope></gml:boundedBy>"
        f'<ms:msGeometry><gml:MultiSurface srsName="{srs}">{surfaces}</gml:MultiSurface></ms:msGeometry>'
        f"<ms:ID_DZIELNI>{attrs['ID_DZIELNI']}</ms:ID_DZIELNI>"
        f"<ms:NR_DZIELNI>{attrs['NR_DZIELNI']}</ms:NR_DZIELNI>"
        f"<ms:NAZWA>{escape(attrs['NAZWA'])}</ms:NAZWA>"
        f"<ms:NAZWA_PELN>{escape(attrs['NAZWA_PELN'])}</ms:NAZWA_PELN>"
        f"<ms:OPIS>{escape(attrs['OPIS'])}</ms:OPIS>"
        "</ms:dzielnice>"
    )


def wfs20(feats, matched: int, srs: str = URN, northing_first: bool = True) -> bytes:
    members = "".join(
        f"<wfs:member>{gml_member(a, g, srs, northing_first)}</wfs:member>" for a, g in feats
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" '
        'xmlns:gml="http://www.opengis.net/gml" xmlns:ms="http://mapserver.gis.umn.edu/mapserver" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'timeStamp="2026-10-01T10:00:00" numberMatched="{matched}" numberReturned="{len(feats)}">'
        f"{members}</wfs:FeatureCollection>"
    ).encode()


def wfs11(feats, srs: str, northing_first: bool) -> bytes:
    members = "".join(gml_member(a, g, srs, northing_first) for a, g in feats)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs" '
        'xmlns:gml="http://www.opengis.net/gml" xmlns:ms="http://mapserver.gis.umn.edu/mapserver" '
        f'numberOfFeatures="{len(feats)}"><gml:featureMembers>{members}</gml:featureMembers>'
        "</wfs:FeatureCollection>"
    ).encode()


class RecordedWfs:
    """A WFS 2.0 answering GetFeature pages (count/startIndex) written from real districts."""

    def __init__(self, feats, fail_on_page=None):
        self.feats, self.fail_on_page = feats, fail_on_page
        self.calls: list[dict] = []

    def __call__(self, url, params) -> bytes:
        self.calls.append(dict(params))
        assert url == URL
        if self.fail_on_page == len(self.calls):
            return (
                b'<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">'
                b'<ows:Exception exceptionCode="NoApplicableCode"><ows:ExceptionText>msPostGISLayer'
                b"WhichItems(): Query error</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"
            )
        start, count = int(params["startIndex"]), int(params["count"])
        return wfs20(self.feats[start : start + count], len(self.feats))


def with_hole(poly: Polygon) -> Polygon:
    c = poly.representative_point()
    hole = [(c.x - 40, c.y - 40), (c.x + 40, c.y - 40), (c.x + 40, c.y + 40), (c.x - 40, c.y + 40)]
    return Polygon(poly.exterior.coords, [hole])


# --- axis order -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "srs,srid,northing_first",
    [
        ("urn:ogc:def:crs:EPSG::2178", 2178, True),
        ("urn:x-ogc:def:crs:EPSG:2178", 2178, True),
        ("http://www.opengis.net/def/crs/EPSG/0/2180", 2180, True),
        ("urn:ogc:def:crs:EPSG::4326", 4326, True),
        ("urn:ogc:def:crs:EPSG::3857", 3857, False),
        ("EPSG:2178", 2178, False),
        ("http://www.opengis.net/gml/srs/epsg.xml#2178", 2178, False),
    ],
)
def test_axis_order_of_srs_names(srs, srid, northing_first):
    assert srs_axis(srs) == (srid, northing_first)


def test_unknown_srs_is_refused():
    with pytest.raises(WfsError, match="refusing to guess"):
        srs_axis("LOCAL_CS[whatever]")


def test_gml311_northing_first_gives_the_real_polygons():
    src = districts()[:3]
    page = parse_gml(wfs20(src, 3))
    assert [f.properties["NAZWA"] for f in page.features] == [
        "Stare Miasto",
        "Grzegórzki",
        "Prądnik Czerwony",
    ]
    assert page.number_matched == 3 and page.features[0].gml_id == "dzielnice.1"
    for (attrs, poly), f in zip(src, page.features, strict=True):
        assert f.srid == 2178
        assert f.geometry.equals_exact(MultiPolygon([poly]), 1e-6)
        assert abs(f.geometry.area - attrs["Shape__Area"]) / attrs["Shape__Area"] < 1e-6
        x, y = f.geometry.geoms[0].exterior.coords[0]
        assert 7_400_000 < x < 7_450_000 and 5_530_000 < y < 5_560_000  # easting, northing


@pytest.mark.parametrize(
    "srs,northing_first",
    [("EPSG:2178", False), ("http://www.opengis.net/gml/srs/epsg.xml#2178", False), (URN, True)],
)
def test_wfs11_feature_members(srs, northing_first):
    src = districts()[7:9]
    page = parse_gml(wfs11(src, srs, northing_first))
    assert [f.properties["NR_DZIELNI"] for f in page.features] == ["VIII", "IX"]
    for (_, poly), f in zip(src, page.features, strict=True):
        assert f.geometry.equals_exact(MultiPolygon([poly]), 1e-6)


def test_holes_points_lines_and_gml2_coordinates():
    attrs, poly = districts()[0]
    holed = with_hole(poly)
    doc = wfs20([(attrs, holed)], 1)
    f = parse_gml(doc).features[0]
    assert len(f.geometry.geoms[0].interiors) == 1
    assert f.geometry.area == pytest.approx(poly.area - 80 * 80, rel=1e-9)
    other = (
        b'<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml" '
        b'xmlns:ms="m"><wfs:member><ms:t gml:id="t.1"><ms:g><gml:Point srsName="urn:ogc:def:crs:EPSG::4326">'
        b"<gml:pos>50.054 19.9355</gml:pos></gml:Point></ms:g></ms:t></wfs:member>"
        b'<wfs:member><ms:t gml:id="t.2"><ms:g><gml:MultiCurve srsName="EPSG:2178"><gml:curveMember>'
        b"<gml:LineString><gml:coordinates>7423772,5546969 7423800,5547000</gml:coordinates>"
        b'</gml:LineString></gml:curveMember></gml:MultiCurve></ms:g><ms:nic xsi:nil="true" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></ms:t></wfs:member></wfs:FeatureCollection>'
    )
    pt, line = parse_gml(other).features
    assert (pt.srid, pt.geometry.x, pt.geometry.y) == (4326, 19.9355, 50.054)  # lat/lon read right
    assert line.geometry.geom_type == "MultiLineString" and line.geometry.geoms[0].coords[0] == (
        7423772,
        5546969,
    )
    assert line.properties == {"nic": None}


def test_exception_report_is_an_error():
    with pytest.raises(WfsError, match="Query error"):
        read_wfs(URL, TYPENAME, RecordedWfs(districts(), fail_on_page=1))


def test_not_xml_is_an_error():
    with pytest.raises(WfsError, match="not XML"):
        parse_gml(b"<html><body>502 Bad Gateway")


# --- paging and loading -----------------------------------------------------------------------------


def test_wfs20_paging_and_request_parameters():
    svc = RecordedWfs(districts()[:5])
    got = read_wfs(URL, TYPENAME, svc, page_size=2)
    assert len(got.features) == 5 and got.srid == 2178
    assert [(c["startIndex"], c["count"]) for c in svc.calls] == [
        ("0", "2"),
        ("2", "2"),
        ("4", "2"),
    ]
    for c in svc.calls:
        assert c["service"] == "WFS" and c["version"] == "2.0.0" and c["request"] == "GetFeature"
        assert c["typeNames"] == TYPENAME and c["srsName"] == URN


def test_import_into_a_layer_lands_every_polygon_in_its_district(engine):
    src = districts()[:5]
    src[2] = (src[2][0], with_hole(src[2][1]))
    with tl.installed(engine):
        mapping = FieldMapping(fields={"title": "NAZWA"}, constants={"status": "published"})
        result = import_wfs(
            engine,
            URL,
            TYPENAME,
            tl.NAME,
            city=KRAKOW,
            fetch=RecordedWfs(src),
            page_size=2,
            mapping=mapping,
        )
        assert result.report.imported == 5, result.report.summary()
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT external_id, title, description, districts, ST_Area(ST_Transform(geom, 2178)), "
                    f"ST_NumInteriorRings(ST_GeometryN(geom, 1)) FROM {tl.TABLE} "
                    "WHERE external_id LIKE 'wfs:%' ORDER BY id"
                )
            ).all()
        assert [r[0] for r in rows] == [f"wfs:{TYPENAME}:dzielnice.{i}" for i in range(1, 6)]
        for (attrs, poly), r in zip(src, rows, strict=True):
            n = attrs["ID_DZIELNI"]
            assert r.title == attrs["NAZWA"] and r.description == attrs["OPIS"]
            assert n in r.districts, (n, r.districts)  # the axis order was right
            assert abs(r[4] - poly.area) / poly.area < 0.001
        assert rows[2][5] == 1  # the hole survived
        with engine.connect() as conn:
            logged = conn.execute(
                text(
                    "SELECT format, crs, features, params FROM sync_log WHERE op = 'import' ORDER BY id DESC LIMIT 1"
                )
            ).one()
        assert logged[:3] == ("wfs 2.0.0", "EPSG:2178", 5) and logged[3]["pages"] == 3


def test_wrong_axis_order_is_caught_by_the_city_check(engine):
    """Forcing easting-first on northing-first data puts every polygon far from Kraków."""
    with tl.installed(engine):
        mapping = FieldMapping(fields={"title": "NAZWA"}, constants={"status": "published"})
        result = import_wfs(
            engine,
            URL,
            TYPENAME,
            tl.NAME,
            city=KRAKOW,
            fetch=RecordedWfs(districts()[:3]),
            axis_order="xy",
            mapping=mapping,
        )
        assert result.report.imported == 0 and len(result.report.rejected) == 3
        assert all(
            "outside" in r.reason or "CRS" in r.reason or "coordinates" in r.reason
            for r in result.report.rejected
        ), [r.reason for r in result.report.rejected]


def test_error_on_a_later_page_changes_nothing(engine):
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM sync_log")).scalar_one()
    with pytest.raises(WfsError):
        import_wfs(
            engine,
            URL,
            TYPENAME,
            "districts",
            city=KRAKOW,
            fetch=RecordedWfs(districts(), fail_on_page=3),
            page_size=5,
        )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sync_log")).scalar_one() == before
        assert conn.execute(text("SELECT count(*) FROM districts")).scalar_one() == 18


def test_cli_import_wfs_replaces_the_districts(engine, db_url, monkeypatch, tmp_path):
    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    src = districts()
    saved = tmp_path / "getfeature.gml"
    saved.write_bytes(wfs20(src, len(src)))
    try:
        res = CliRunner().invoke(
            main, ["import", "wfs", str(saved), TYPENAME, "--layer", "districts"]
        )
        assert res.exit_code == 0, res.output
        assert "read 18 features" in res.output and "18 districts loaded" in res.output
        with engine.connect() as conn:
            got = dict(
                conn.execute(
                    text("SELECT number, ST_Area(ST_Transform(geom, 2178)) FROM districts")
                ).all()
            )
            source = conn.execute(
                text("SELECT source FROM reference_loads WHERE name = 'districts'")
            ).scalar_one()
        for attrs, _ in src:
            want = attrs["Shape__Area"]
            assert abs(got[attrs["ID_DZIELNI"]] - want) / want < 0.001
        assert source.startswith("WFS") and TYPENAME in source
        res = CliRunner().invoke(
            main,
            ["import", "wfs", str(saved), TYPENAME, "--layer", "districts", "--axis-order", "xy"],
        )
        assert res.exit_code == 1 and "nothing was changed" in res.output
    finally:
        from importers.districts import load_districts

        with engine.begin() as conn:
            load_districts(conn, KRAKOW)


def test_geometries_match_shapely_of_the_esri_source():
    """The GML writer above and the parser agree with importers.esri on every district."""
    from importers.esri import read_esri_json

    fs = read_esri_json(RECORDED)
    page = parse_gml(wfs20(districts(), 18))
    for (_, g), f in zip(fs.features, page.features, strict=True):
        assert shape(f.geometry.__geo_interface__).symmetric_difference(g).area < 1e-3
