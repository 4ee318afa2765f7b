"""geo.analysis.duplicates: nearby proposals with similar titles (pg_trgm)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.analysis.duplicates import duplicates
from geo.analysis.source import Source
from geo.crs import transform_xy
from geo.schema import feature_table_sql

RYNEK = (19.9373, 50.0617)


def offset(dx_m: float, dy_m: float) -> tuple[float, float]:
    """The point dx metres east and dy metres north of Rynek (EPSG:2180 arithmetic)."""
    x, y = transform_xy(*RYNEK, 4326, 2180)
    return transform_xy(x + dx_m, y + dy_m, 2180, 4326)


ROWS = [
    # id, title, edition, metres east, metres north
    (1, "Remont chodnika na ulicy Długiej", 2024, 0, 0),
    (2, "Remont chodnika ul. Długa", 2024, 50, 0),  # near 1, similar
    (3, "Remont chodnika na ulicy Długiej", 2024, 2000, 0),  # same title as 1, too far
    (4, "Nowy plac zabaw dla dzieci", 2024, 0, 30),  # near 1, different
    (5, "Łąka kwietna przy Wiśle", 2024, -400, -400),
    (6, "LAKA KWIETNA PRZY WISLE", 2024, -400, -360),  # 5 without diacritics, 40 m away
    (7, "Remont chodnika na ulicy Długiej", 2023, 10, 10),  # 1 again, previous edition
]


@pytest.fixture(scope="module")
def proposals(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql(
            feature_table_sql("t_dups", "ref int, title text, edition int", ("Point",), True)
        )
        for ref, title, edition, dx, dy in ROWS:
            lon, lat = offset(dx, dy)
            conn.execute(
                text(
                    "INSERT INTO t_dups (ref, title, edition, geom) "
                    "VALUES (:r, :t, :e, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                ),
                {"r": ref, "t": title, "e": edition, "x": lon, "y": lat},
            )
        ids = dict(conn.execute(text("SELECT id, ref FROM t_dups")).all())
    return ids


def refs(pairs, ids) -> list[tuple[int, int]]:
    return [tuple(sorted((ids[p.a_id], ids[p.b_id]))) for p in pairs]


def test_near_and_similar_pairs_most_similar_first(engine, proposals):
    with engine.connect() as conn:
        pairs = duplicates(conn, Source("t_dups"), distance_m=200, threshold=0.4)
    got = refs(pairs, proposals)
    assert set(got) == {(1, 2), (5, 6), (1, 7), (2, 7)}
    assert len(got) == len(set(got))  # each pair once
    assert all(p.a_id < p.b_id for p in pairs)  # no self-pairs, ordered
    sims = [p.similarity for p in pairs]
    assert sims == sorted(sims, reverse=True)
    first = pairs[0]
    assert first.similarity == pytest.approx(1.0)  # 5/6 (diacritics, case) and 1/7 (identical)
    by = dict(zip(got, pairs, strict=True))
    assert by[(5, 6)].similarity == pytest.approx(1.0)
    assert by[(5, 6)].distance_m == pytest.approx(40, abs=0.5)
    assert by[(1, 2)].distance_m == pytest.approx(50, abs=0.5)
    assert 0.4 <= by[(1, 2)].similarity < 1
    assert {by[(1, 2)].a_title, by[(1, 2)].b_title} == {ROWS[0][1], ROWS[1][1]}


def test_same_edition_threshold_and_distance(engine, proposals):
    with engine.connect() as conn:
        same = duplicates(conn, Source("t_dups"), 200, 0.4, same=("edition",))
        strict = duplicates(conn, Source("t_dups"), 200, 0.99)
        wide = duplicates(conn, Source("t_dups"), 2500, 0.99, same=("edition",))
        only_2024 = duplicates(conn, Source("t_dups", filters={"edition": 2024}), 200, 0.4)
        limited = duplicates(conn, Source("t_dups"), 200, 0.4, limit=1)
    assert set(refs(same, proposals)) == {(1, 2), (5, 6)}
    assert set(refs(strict, proposals)) == {(5, 6), (1, 7)}
    assert set(refs(wide, proposals)) == {(5, 6), (1, 3)}  # 2 km apart, identical titles
    assert set(refs(only_2024, proposals)) == {(1, 2), (5, 6)}
    assert len(limited) == 1


def test_parameters_are_checked(engine, proposals):
    with engine.connect() as conn:
        for kwargs in ({"distance_m": 0}, {"threshold": 0}, {"threshold": 1.5}, {"limit": 0}):
            with pytest.raises(ValueError):
                duplicates(conn, Source("t_dups"), **kwargs)
        with pytest.raises(ValueError):
            duplicates(conn, Source("t_dups"), same=("edition; DROP TABLE t_dups",))
