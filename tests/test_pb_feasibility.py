"""★ The spatial feasibility pre-check against a generated, labelled-synthetic parcel layer:
the shares PostGIS reports (EPSG:2180) agree within 1 % with shapely's, computed independently
from the stored coordinates reprojected by pyproj."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely import wkt as shp_wkt
from shapely.geometry import box
from sqlalchemy import text

from civic.pb import feasibility
from layers.constraints import constraint_layers

TO_2180 = Transformer.from_crs(4326, 2180, always_xy=True)
TO_4326 = Transformer.from_crs(2180, 4326, always_xy=True)
RYNEK = (19.9373, 50.0617)


def transform(fn, geom):
    return shapely.transform(geom, lambda c: np.column_stack(fn(c[:, 0], c[:, 1])))


@pytest.fixture(scope="module")
def parcels(engine):
    with engine.begin() as conn:
        n = feasibility.generate_synthetic_parcels(conn, *RYNEK, size_m=100, n=4, prefix="T")
        rows = conn.execute(
            text(
                "SELECT parcel_id, city_owned, synthetic, ST_AsText(geom) AS w "
                "FROM city_land_parcels WHERE external_id LIKE 'synthetic:T:%'"
            )
        ).all()
    assert n == 16 and len(rows) == 16 and all(r.synthetic for r in rows)
    return [
        (r.parcel_id, r.city_owned, transform(TO_2180.transform, shp_wkt.loads(r.w))) for r in rows
    ]


def _insert(conn, geom_2180) -> int:
    g4326 = transform(TO_4326.transform, geom_2180)
    return conn.execute(
        text("""INSERT INTO budget_proposals (edition, title, scope, status, geom, category)
                VALUES (2024, 'feasibility test', 'district', 'submitted',
                        ST_GeomFromText(:w, 4326), 'urban greenery') RETURNING id"""),
        {"w": g4326.wkt},
    ).scalar_one()


def _shapely_shares(conn, pid, parcels):
    stored = conn.execute(
        text("SELECT ST_AsText(geom) FROM budget_proposals WHERE id = :id"), {"id": pid}
    ).scalar_one()
    g = transform(TO_2180.transform, shp_wkt.loads(stored))
    total = g.area
    ok = sum(g.intersection(p).area for _, owned, p in parcels if owned) / total * 100
    per = {pid_: g.intersection(p).area / total * 100 for pid_, _, p in parcels}
    return ok, per


def test_the_city_land_layer_is_a_constraint_layer():
    names = [c.layer.name for c in constraint_layers()]
    assert "city-land" in names


def test_project_half_on_city_land(engine, parcels):
    city = next(p for p in parcels if p[1])
    # a neighbour (sharing the east edge) that the city does not own
    minx, miny, maxx, maxy = city[2].bounds
    neighbour = next(
        p
        for p in parcels
        if not p[1] and abs(p[2].bounds[0] - maxx) < 0.5 and abs(p[2].bounds[1] - miny) < 0.5
    )
    project = box(maxx - 37, miny + 20, maxx + 37, miny + 70)  # 74 m × 50 m, half on each
    with engine.begin() as conn:
        pid = _insert(conn, project)
        result = feasibility.check(conn, pid)
        ok, per = _shapely_shares(conn, pid, parcels)
    land = next(c for c in result.checks if c.layer == "city-land")
    assert result.located and result.measure == "area_m2"
    assert abs(result.total - project.area) / project.area < 0.01
    assert abs(land.ok_share - ok) < 1.0 and abs(land.ok_share - 50) < 1.0
    other = {o.label: o.share for o in land.overlaps if not o.ok}
    assert set(other) == {neighbour[0]}
    assert abs(other[neighbour[0]] - per[neighbour[0]]) < 1.0
    assert land.outside_share < 0.5
    keys = [k for k, _ in land.sentences]
    assert keys[0] == "on_ok" and "on_other" in keys
    assert land.sentences[1][1]["label"] == neighbour[0]


def test_project_partly_outside_every_parcel(engine, parcels):
    xs = [p[2].bounds for p in parcels]
    minx = min(b[0] for b in xs)
    miny = min(b[1] for b in xs)
    project = box(minx - 60, miny + 10, minx + 40, miny + 60)  # 60 % west of the grid
    with engine.begin() as conn:
        pid = _insert(conn, project)
        land = next(c for c in feasibility.check(conn, pid).checks if c.layer == "city-land")
        ok, _ = _shapely_shares(conn, pid, parcels)
    assert abs(land.outside_share - 60) < 1.0
    assert abs(land.ok_share - ok) < 1.0


def test_point_and_unlocated(engine, parcels):
    private = next(p for p in parcels if not p[1])
    with engine.begin() as conn:
        pid = _insert(conn, private[2].centroid)
        land = next(c for c in feasibility.check(conn, pid).checks if c.layer == "city-land")
        assert land.ok_share == 0 and [o.label for o in land.overlaps] == [private[0]]
        nogeo = conn.execute(
            text("""INSERT INTO budget_proposals (edition, title, scope, status)
                    VALUES (2024, 'city-wide idea', 'citywide', 'submitted') RETURNING id""")
        ).scalar_one()
        assert feasibility.check(conn, nogeo).located is False


def test_designation_rule_reports_each_feature(engine, parcels):
    """A "designation" constraint (e.g. a zoning plan) lists every feature the project lies in."""
    from layers import registry
    from layers.constraints import Constraint, ConstraintLayer

    zoning_like = ConstraintLayer(
        registry.get("city-land"),
        Constraint(
            rule="designation",
            titles={"pl": "Plan", "en": "Plan", "uk": "План"},
            label_sql="f.parcel_id || ' (' || f.owner || ')'",
        ),
    )
    city = next(p for p in parcels if p[1])
    minx, miny, maxx, maxy = city[2].bounds
    project = box(maxx - 30, miny + 20, maxx + 10, miny + 70)  # 75 % on the city parcel
    with engine.begin() as conn:
        pid = _insert(conn, project)
        res = feasibility.check(conn, pid, layers=[zoning_like]).checks[0]
        _, per = _shapely_shares(conn, pid, parcels)
    shares = {o.label.split(" (")[0]: o.share for o in res.overlaps}
    assert abs(shares[city[0]] - 75) < 1.0 and abs(shares[city[0]] - per[city[0]]) < 1.0
    assert [k for k, _ in res.sentences] == ["inside", "inside"]
