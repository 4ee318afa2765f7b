"""A layer of our own for the OGC API, export and import tests.

It has every field type of the Layer contract, a private field that must never leave the
database (``author_email``), a workflow whose drafts the public must not see, features of
every geometry type (one crossing two districts, one without geometry) and 250 generated
points so that paging is exercised. Other test modules import it; the subprocess server
registers it through ``SERVER_PRELOAD``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from geo.schema import feature_table_sql
from layers import registry
from layers.base import Field, Layer, OgcMeta, Style, Workflow

TESTS = Path(__file__).resolve().parent
NAME = "ogc-test"
TABLE = "ogc_test_features"
WAWEL = (19.9355, 50.0540)  # lon, lat
WAWEL_2178 = (7423772.0, 5546969.2)  # easting, northing (PITFALLS.md)
SECRET = "jan.kowalski@example.com"
GENERATED = 250


def _t(pl: str, en: str | None = None, uk: str | None = None) -> dict[str, str]:
    return {"pl": pl, "en": en or pl, "uk": uk or pl}


LAYER = Layer(
    name=NAME,
    table=TABLE,
    titles=_t("Warstwa testowa OGC", "OGC test layer", "Тестовий шар OGC"),
    descriptions=_t("Obiekty testowe: zażółć gęślą jaźń", "Test features", "Тестові об'єкти"),
    geometry_types=("Point", "LineString", "Polygon", "MultiPolygon"),
    fields=(
        Field("title", "text", _t("Tytuł"), required=True, msip_name="TYTUL"),
        Field("description", "text", _t("Opis"), msip_name="OPIS"),
        Field(
            "category",
            "enum",
            _t("Kategoria"),
            choices=("zieleń", "transport", "kultura"),
            msip_name="KATEGORIA",
            filter=True,
        ),
        Field("cost", "money", _t("Koszt"), msip_name="KOSZT"),
        Field("votes", "int", _t("Głosy"), filter=True),
        Field("ratio", "float", _t("Udział")),
        Field("accepted", "bool", _t("Przyjęty"), filter=True),
        Field("opens_on", "date", _t("Otwarcie")),
        Field("decided_at", "datetime", _t("Decyzja")),
        Field(
            "status",
            "enum",
            _t("Status"),
            choices=("draft", "published"),
            msip_name="STATUS",
            filter=True,
        ),
        Field("tags", "text[]", _t("Tagi")),
        Field("district_list", "int[]", _t("Lista dzielnic")),
        # two long names that collide when cut to 10 characters (the Shapefile mapping)
        Field("description_long_name", "text", _t("Opis długi")),
        Field("description_longer", "text", _t("Opis dłuższy")),
        Field("author_email", "text", _t("E-mail autora"), public=False),
    ),
    style=Style(color="#aa3300"),
    popup_fields=("title",),
    list_fields=("title", "category"),
    workflow=Workflow(states=("draft", "published"), initial="draft", public_states=("published",)),
    status_field="status",
    category_field="category",
    ogc=OgcMeta(keywords=("test",), license="CC BY 4.0", attribution="Civic Map tests"),
)

COLUMNS = """
    title text NOT NULL, description text, category text, cost numeric(12, 2), votes integer,
    ratio double precision, accepted boolean, opens_on date, decided_at timestamptz,
    status text NOT NULL DEFAULT 'draft', tags text[], district_list integer[],
    description_long_name text, description_longer text, author_email text
"""

SERVER_PRELOAD = (
    f"import sys; sys.path.insert(0, {str(TESTS)!r})\n"
    "import test_ogc_testlayer\n"
    "test_ogc_testlayer.register()\n"
)

# (external_id, WKT or None, properties, updated_at)
FEATURES = [
    (
        "wawel",
        f"POINT({WAWEL[0]} {WAWEL[1]})",
        {
            "title": "Wawel — Zamek Królewski",
            "description": "Zażółć gęślą jaźń; „cudzysłów” & <b>znaczniki</b>",
            "category": "kultura",
            "cost": 12345.67,
            "votes": 42,
            "ratio": 0.25,
            "accepted": True,
            "opens_on": "2024-05-01",
            "decided_at": "2024-06-01T12:00:00+00:00",
            "tags": ["zabytek", "żółw"],
            "district_list": [1],
            "description_long_name": "długi opis",
            "description_longer": "jeszcze dłuższy opis",
        },
        "2024-01-15T10:00:00+00:00",
    ),
    (
        "bulwary",
        "LINESTRING(19.9373 50.0617, 19.9420 50.0520, 19.9500 50.0450)",
        {
            "title": "Ścieżka rowerowa: Rynek – Podgórze",
            "category": "transport",
            "cost": 250000,
            "votes": 7,
            "accepted": False,
            "tags": ["rower"],
        },
        "2024-03-01T08:30:00+00:00",
    ),
    (
        "nowa-huta",
        "POLYGON((20.0360 50.0715, 20.0385 50.0715, 20.0385 50.0730, 20.0360 50.0730, 20.0360 50.0715))",
        {"title": "Skwer przy Placu Centralnym — łąka", "category": "zieleń", "votes": 3},
        "2024-06-01T00:00:00+00:00",
    ),
    (
        "duchackie",
        "MULTIPOLYGON(((19.9500 50.0140, 19.9510 50.0140, 19.9510 50.0147, 19.9500 50.0147, 19.9500 50.0140)),"
        "((19.9530 50.0150, 19.9540 50.0150, 19.9540 50.0157, 19.9530 50.0157, 19.9530 50.0150)))",
        {"title": "Dwa ogródki kieszonkowe — Wola Duchacka", "category": "zieleń"},
        "2025-01-01T00:00:00+00:00",
    ),
    (
        "debniki",
        None,
        {"title": "Cała dzielnica Dębniki: ławki", "category": "zieleń"},
        "2025-02-01T00:00:00+00:00",
    ),
]
DRAFT = ("draft", f"POINT({WAWEL[0] + 0.001} {WAWEL[1]})", {"title": "Szkic — nie publikować"})
PUBLIC_COUNT = len(FEATURES) + GENERATED


def register() -> None:
    registry.register(LAYER)


@contextmanager
def installed(engine: Engine) -> Iterator[dict[str, int]]:
    """The table (re)installed and the layer registered in this process for the ``with``
    block; yields external_id -> id."""
    ids = install(engine)
    register()
    try:
        yield ids
    finally:
        registry.unregister(NAME)


def install(engine: Engine) -> dict[str, int]:
    """Create the table and load the features; returns external_id -> id."""
    import json

    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {TABLE} CASCADE"))
        conn.execute(text(feature_table_sql(TABLE, COLUMNS, LAYER.geometry_types)))
        insert = text(
            f"""INSERT INTO {TABLE} (external_id, geom, districts, updated_at, status, author_email,
                    title, description, category, cost, votes, ratio, accepted, opens_on,
                    decided_at, tags, district_list, description_long_name, description_longer)
                SELECT :ext, ST_GeomFromText(:wkt, 4326), :districts, :updated, :status, :email,
                    p.title, p.description, p.category, p.cost, p.votes, p.ratio, p.accepted,
                    p.opens_on, p.decided_at, p.tags, p.district_list, p.description_long_name,
                    p.description_longer
                FROM jsonb_to_record(CAST(:props AS jsonb)) AS p(
                    title text, description text, category text, cost numeric, votes int,
                    ratio float8, accepted bool, opens_on date, decided_at timestamptz,
                    tags text[], district_list int[], description_long_name text,
                    description_longer text)"""
        )
        for ext, wkt, props, updated in FEATURES:
            conn.execute(
                insert,
                {
                    "ext": ext,
                    "wkt": wkt,
                    "districts": [] if wkt else [8],
                    "updated": updated,
                    "status": "published",
                    "email": SECRET,
                    "props": json.dumps(props),
                },
            )
        ext, wkt, props = DRAFT
        conn.execute(
            insert,
            {
                "ext": ext,
                "wkt": wkt,
                "districts": [],
                "updated": "2025-03-01T00:00:00+00:00",
                "status": "draft",
                "email": SECRET,
                "props": json.dumps(props),
            },
        )
        # Generated points spread over the city, one hour apart from 2023-01-01.
        start = datetime(2023, 1, 1, tzinfo=UTC)
        conn.execute(
            text(
                f"""INSERT INTO {TABLE} (external_id, geom, updated_at, status, author_email,
                        title, category, votes)
                    SELECT 'gen-' || n, p.geom, :start + n * interval '1 hour', 'published', :email,
                           'Punkt nr ' || n || ' — źdźbło', (ARRAY['zieleń','transport','kultura'])[1 + n % 3], n
                    FROM (SELECT row_number() OVER () AS n, d.geom
                          FROM ST_Dump(ST_GeneratePoints(
                              (SELECT ST_Buffer(geom, -0.002) FROM city), :count, 42)) d) p"""
            ),
            {"start": start, "email": SECRET, "count": GENERATED},
        )
        rows = conn.execute(text(f"SELECT external_id, id FROM {TABLE}")).all()
    assert start + timedelta(hours=GENERATED) < datetime(2024, 1, 1, tzinfo=UTC)
    return dict(rows)  # type: ignore[arg-type]


def test_layer_satisfies_the_contract():
    assert LAYER.problems() == []


def test_install_computes_districts(engine):
    ids = install(engine)
    assert len(ids) == PUBLIC_COUNT + 1
    with engine.connect() as conn:
        got = dict(conn.execute(text(f"SELECT external_id, districts FROM {TABLE}")).all())
    assert got["wawel"] == [1]  # Wawel lies in Stare Miasto
    assert set(got["bulwary"]) >= {1, 13}  # the path crosses into Podgórze
    assert got["nowa-huta"] == [18]
    assert got["debniki"] == [8]
