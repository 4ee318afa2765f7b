"""Issue 4: strict validation of drawn geometry (geo/validate.py) and its API."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import Point, Polygon

from geo.validate import MAX_VERTICES, GeometryError, districts_for, parse_geometry

# A square of ~300 m on Plac Centralny, Nowa Huta (district XVIII).
NOWA_HUTA = [
    [20.036, 50.071],
    [20.040, 50.071],
    [20.040, 50.073],
    [20.036, 50.073],
    [20.036, 50.071],
]
RYNEK = [19.9373, 50.0617]


def code_of(value, **kw) -> str:
    with pytest.raises(GeometryError) as info:
        parse_geometry(value, **kw)
    assert info.value.field == "geometry" and info.value.message
    return info.value.code


def test_good_geometries():
    assert parse_geometry({"type": "Point", "coordinates": RYNEK}).equals(Point(RYNEK))
    poly = parse_geometry(json.dumps({"type": "Polygon", "coordinates": [NOWA_HUTA]}))
    assert isinstance(poly, Polygon) and poly.is_valid
    line = parse_geometry({"type": "LineString", "coordinates": [RYNEK, [19.94, 50.06]]})
    assert line.length > 0
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Point", "coordinates": RYNEK},
    }
    assert parse_geometry(feature).equals(Point(RYNEK))
    # a double click at the end of a line repeats the last vertex: not an error
    doubled = parse_geometry(
        {"type": "LineString", "coordinates": [RYNEK, [19.94, 50.06], [19.94, 50.06]]}
    )
    assert len(doubled.coords) == 2


@pytest.mark.parametrize(
    "value, code",
    [
        ("", "required"),
        ("   ", "required"),
        ("{", "invalid_json"),
        ("[1, 2]", "invalid_geojson"),
        ('{"type": "Point", "coordinates": [NaN, 50]}', "not_finite"),
        ('{"type": "Point", "coordinates": [Infinity, 50]}', "not_finite"),
        ('{"type": "Point", "coordinates": [19.9, -Infinity]}', "not_finite"),
        ('{"type": "Point", "coordinates": [1e999, 50]}', "not_finite"),
        ({"type": "Point", "coordinates": ["19.9", "50.0"]}, "invalid_coordinate"),
        ({"type": "Point", "coordinates": [True, 50]}, "invalid_coordinate"),
        ({"type": "Point", "coordinates": [None, 50]}, "invalid_coordinate"),
        ({"type": "Point", "coordinates": [19.9]}, "invalid_position"),
        ({"type": "Point", "coordinates": [19.9, 50, 1, 2]}, "invalid_position"),
        ({"type": "Point", "coordinates": [200, 50]}, "out_of_range"),
        ({"type": "Point", "coordinates": [19.9, 95]}, "out_of_range"),
        ({"type": "Point"}, "invalid_geojson"),
        ({"type": "Circle", "coordinates": RYNEK}, "invalid_type"),
        ({"type": "GeometryCollection", "geometries": []}, "invalid_type"),
        ({"type": "MultiPolygon", "coordinates": [[NOWA_HUTA]]}, "type_not_allowed"),
        ({"type": "LineString", "coordinates": [RYNEK]}, "degenerate"),
        ({"type": "LineString", "coordinates": [RYNEK, RYNEK, RYNEK]}, "degenerate"),
        ({"type": "LineString", "coordinates": "19.9,50"}, "invalid_coordinates"),
        # unclosed ring: shapely would close it silently
        ({"type": "Polygon", "coordinates": [NOWA_HUTA[:-1]]}, "unclosed_ring"),
        ({"type": "Polygon", "coordinates": [NOWA_HUTA[:3]]}, "degenerate"),
        # zero area: all vertices on one line
        (
            {
                "type": "Polygon",
                "coordinates": [[[20.0, 50.0], [20.1, 50.0], [20.2, 50.0], [20.0, 50.0]]],
            },
            "degenerate",
        ),
        # a bowtie
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[20.03, 50.07], [20.04, 50.08], [20.04, 50.07], [20.03, 50.08], [20.03, 50.07]]
                ],
            },
            "self_intersection",
        ),
        # a figure-eight line
        (
            {
                "type": "LineString",
                "coordinates": [[20.03, 50.07], [20.04, 50.08], [20.04, 50.07], [20.03, 50.08]],
            },
            "self_intersection",
        ),
        ({"type": "Polygon", "coordinates": []}, "invalid_coordinates"),
        ({"type": "Feature", "geometry": None}, "invalid_geojson"),
    ],
)
def test_bad_geometries(value, code):
    assert code_of(value) == code


def test_too_many_vertices():
    ring = [[20.0 + 0.0001 * i, 50.05 + 0.00001 * (i % 2)] for i in range(MAX_VERTICES + 5)]
    assert code_of({"type": "LineString", "coordinates": ring}) == "too_many_vertices"
    ok = ring[:100]
    assert parse_geometry({"type": "LineString", "coordinates": ok}, max_vertices=100)
    assert (
        code_of({"type": "LineString", "coordinates": ring[:101]}, max_vertices=100)
        == "too_many_vertices"
    )


def test_absurd_nesting_is_an_error_not_a_crash():
    deep = '{"type": "Point", "coordinates": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert code_of(deep) in ("invalid_json", "too_large", "invalid_position")


def test_huge_text_is_refused_before_parsing():
    assert code_of(" " + "1" * 2_000_000) == "too_large"


def test_districts_for(engine):
    with engine.connect() as conn:
        found = districts_for(conn, parse_geometry({"type": "Polygon", "coordinates": [NOWA_HUTA]}))
        assert [d["number"] for d in found] == [18]
        assert found[0]["full_name"] == "Dzielnica XVIII Nowa Huta"
        rynek = districts_for(conn, Point(RYNEK))
        assert [d["number"] for d in rynek] == [1]
        # a line from the Old Town to Grzegórzki crosses two districts
        cross = districts_for(
            conn, parse_geometry({"type": "LineString", "coordinates": [RYNEK, [19.96, 50.06]]})
        )
        assert [d["number"] for d in cross] == [1, 2]
        with pytest.raises(GeometryError) as info:
            districts_for(conn, Point(21.01, 52.23))  # Warsaw
        assert info.value.code == "outside_city"


# --------------------------------------------------------------------------- the API


@pytest.fixture()
def user(make_user):
    return make_user()


def post_geometry(client, body, content_type="application/json"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/api/geometry/districts", data=data, content_type=content_type)


def test_api_districts_of_a_drawn_polygon(user):
    r = post_geometry(user, {"geometry": {"type": "Polygon", "coordinates": [NOWA_HUTA]}})
    assert r.status_code == 200, r.data
    assert [d["full_name"] for d in r.get_json()["districts"]] == ["Dzielnica XVIII Nowa Huta"]


@pytest.mark.parametrize(
    "body, status, field",
    [
        ('{"geometry": {"type": "Point", "coordinates": [NaN, 50]}}', 400, None),
        ({"geometry": {"type": "Point", "coordinates": [21.01, 52.23]}}, 400, "geometry"),
        ({"geometry": {"type": "Polygon", "coordinates": [NOWA_HUTA[:-1]]}}, 400, "geometry"),
        ({"nothing": 1}, 400, "geometry"),
        ("not json", 400, None),
    ],
)
def test_api_bad_geometry(user, body, status, field):
    r = post_geometry(user, body)
    assert r.status_code == status, r.data
    err = r.get_json()["error"]
    assert err["message"]
    if field:
        assert err["field"] == field


def test_api_wrong_content_type(user):
    r = post_geometry(user, "type=Point", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    assert r.get_json()["error"]["field"] == "Content-Type"


def test_api_needs_csrf(app):
    anon = app.test_client()
    r = anon.post(
        "/api/geometry/districts", json={"geometry": {"type": "Point", "coordinates": RYNEK}}
    )
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf"


# --------------------------------------------------------------------------- imported geometry


def test_to_shape_reads_every_form_and_refuses_garbage():
    from geo.validate import UnusableGeometry, to_shape

    p = Point(19.9373, 50.0617)
    for value in (p, {"type": "Point", "coordinates": RYNEK}, p.wkb, p.wkt):
        assert to_shape(value).equals(p)
    assert to_shape(None) is None and to_shape("POINT EMPTY") is None
    for bad in ("POINT(1", 42, {"type": "Point"}):
        with pytest.raises(UnusableGeometry):
            to_shape(bad)


def test_reproject_keeps_axis_order_and_refuses_nonsense():
    from geo.validate import UnusableGeometry, reproject

    wawel = reproject(Point(7423772.0, 5546969.2), 2178)  # easting first, as GDAL writes it
    assert wawel.x == pytest.approx(19.9355, abs=1e-5) and wawel.y == pytest.approx(
        50.0540, abs=1e-5
    )
    with pytest.raises(UnusableGeometry, match="NaN"):
        reproject(Point(float("nan"), 50), 4326)
    with pytest.raises(UnusableGeometry, match="wrong CRS"):
        reproject(Point(7423772.0, 5546969.2), 4326)  # projected metres said to be lon/lat
