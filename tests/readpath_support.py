"""The public read path's answers, captured: a before/after check that they stay byte-for-byte.

Issue 12 moves the feature read path into one place (layers.query) and the web into packages;
the API, OGC API and export answers must not change for the same data. ``capture(client)``
asks a fixed sample of ~70 URLs (API, OGC, exports, the public pages) and returns each
answer as text: status, the headers a client reads, and the body. Only what changes by itself
from one request to the next is masked: the time of the answer (OGC ``timeStamp``, an
export's ``exported_at``), the CSP nonce and folium's random element ids.

Run it by hand against a database to save a capture, then diff two captures::

    .venv/bin/python -m tests.readpath_support postgresql+psycopg://…/db /tmp/readpath-before

tests/test_readpath_golden.py runs the same sample on the shipped data in the test suite and
compares it with golden files (tests/data/readpath/), with data timestamps masked as well.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from sqlalchemy import Connection, text

# A few features of the layers the shipped data leaves empty (NGOs, revitalisation areas,
# consultations and their comments), so that every layer's read path answers with rows.
SEED_SQL = [
    """INSERT INTO ngo_locations (external_id, geom, name, krs, address, fields,
                                 districts_served, website)
       VALUES ('ngo-1', ST_SetSRID(ST_MakePoint(19.9373, 50.0617), 4326),
               'Fundacja Rynek <b>', '0000123456', 'Rynek Główny 1', '{culture,education}',
               '{1,2}', 'https://example.org'),
              ('ngo-2', ST_SetSRID(ST_MakePoint(20.0375, 50.0717), 4326),
               'Stowarzyszenie Nowa Huta', NULL, 'plac Centralny 1', '{seniors}', '{18}', NULL),
              ('ngo-3', ST_SetSRID(ST_MakePoint(19.9355, 50.0540), 4326),
               'Klub „Wawel”', '0000654321', NULL, '{}', '{}', NULL)""",
    """INSERT INTO revitalisation_areas (external_id, geom, name, code, programme, period)
       VALUES ('rev-1', ST_GeomFromText('POLYGON((19.93 50.05, 19.95 50.05, 19.95 50.065,
                                                  19.93 50.065, 19.93 50.05))', 4326),
               'Stare Miasto i Kazimierz', 'A.1', 'GPR Krakowa', '2017–2030')""",
    """INSERT INTO consultations (external_id, geom, title, description, opens_on, closes_on,
                                 stage)
       VALUES ('cons-1', ST_GeomFromText('POLYGON((19.92 50.04, 19.96 50.04, 19.96 50.07,
                                                   19.92 50.07, 19.92 50.04))', 4326),
               'Zieleń na Plantach', 'Jak zmienić Planty?', '2020-01-01', '2099-12-31', 'open')""",
    """INSERT INTO consultation_comments (external_id, geom, consultation_id, body, status,
                                         supports)
       SELECT x.ext, ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326), c.id, x.body, x.status, x.s
       FROM consultations c,
            (VALUES ('cc-1', 19.9373, 50.0617, 'Więcej ławek', 'published', 3),
                    ('cc-2', 19.9400, 50.0600, 'Niepubliczny', 'pending', 0),
                    ('cc-3', 19.9350, 50.0550, 'Drzewa <script>', 'published', 1))
            AS x(ext, lon, lat, body, status, s)
       WHERE c.external_id = 'cons-1'""",
]


def seed(conn: Connection) -> None:
    for sql in SEED_SQL:
        conn.execute(text(sql))


def urls(conn: Connection) -> list[str]:
    """The sample: each URL once, in a fixed order."""
    first_bp = conn.execute(text("SELECT min(id) FROM budget_proposals")).scalar_one()
    bp_2023 = conn.execute(
        text("SELECT max(id) FROM budget_proposals WHERE edition = 2022 AND cost IS NOT NULL")
    ).scalar_one()
    venue = conn.execute(text("SELECT min(id) FROM civic_venues")).scalar_one()
    ngo = conn.execute(text("SELECT min(id) FROM ngo_locations")).scalar_one()
    rev = conn.execute(text("SELECT min(id) FROM revitalisation_areas")).scalar_one()
    comment = conn.execute(text("SELECT min(id) FROM consultation_comments")).scalar_one()
    bp = "/api/layers/budget-proposals"
    ogc = "/ogc/collections"
    bbox_2178 = "5546000,7422000,5548500,7425000"  # northing first (EPSG:2178 axis order)
    out = [
        # --- the layers API
        "/api/layers",
        bp,
        "/api/layers/ngos",
        f"{bp}/features",
        f"{bp}/features?limit=5&offset=10",
        f"{bp}/features?bbox=19.90,50.04,19.98,50.08&limit=20",
        f"{bp}/features?district=3&edition=2023&limit=7",
        f"{bp}/features?status=selected&category=culture&limit=4",
        f"{bp}/features?q=park&limit=5&offset=5",
        f"{bp}/features?scope=citywide&limit=3",
        f"{bp}/features/{first_bp}",
        f"{bp}/features/{bp_2023}",
        "/api/layers/civic-venues/features?limit=3",
        "/api/layers/civic-venues/features?bbox=19.93,50.05,19.95,50.07&limit=5&offset=2",
        f"/api/layers/civic-venues/features/{venue}",
        "/api/layers/ngos/features",
        "/api/layers/ngos/features?fields=culture",
        f"/api/layers/ngos/features/{ngo}",
        "/api/layers/revitalisation-areas/features",
        "/api/layers/consultations/features",
        "/api/layers/consultation-comments/features",
        f"/api/layers/consultation-comments/features/{comment}",
        # bad input
        f"{bp}/features?limit=0",
        f"{bp}/features?foo=1",
        f"{bp}/features?bbox=1,2,3",
        f"{bp}/features?status=draft",
        "/api/layers/nope/features",
        f"{bp}/features/99999999999",
        # --- districts
        "/api/districts?simplify=0.001",
        "/api/districts/5",
        "/api/districts/locate?lon=19.9373&lat=50.0617",
        "/api/districts/99",
        "/api/districts/locate?lon=21&lat=52",
        "/api/districts/locate?lon=abc&lat=50",
        # --- OGC API – Features
        "/ogc",
        "/ogc/?f=html",
        "/ogc/conformance",
        "/ogc/conformance?f=html",
        "/ogc/collections",
        f"{ogc}/budget-proposals",
        f"{ogc}/districts",
        f"{ogc}/ngos?f=html",
        f"{ogc}/budget-proposals/queryables",
        f"{ogc}/districts/queryables",
        "/ogc/api",
        f"{ogc}/budget-proposals/items?limit=5",
        f"{ogc}/budget-proposals/items?limit=3&offset=6",
        f"{ogc}/budget-proposals/items?bbox=19.93,50.05,19.95,50.07&limit=10",
        f"{ogc}/budget-proposals/items?crs=EPSG:2178&bbox-crs=EPSG:2178&bbox={bbox_2178}&limit=4",
        f"{ogc}/budget-proposals/items?crs=http://www.opengis.net/def/crs/EPSG/0/4326&limit=2",
        f"{ogc}/budget-proposals/items?crs=EPSG:3857&limit=2",
        f"{ogc}/budget-proposals/items?edition=2019&district=2&limit=3",
        f"{ogc}/budget-proposals/items?datetime=2000-01-01T00:00:00Z/..&limit=2",
        f"{ogc}/budget-proposals/items?limit=2&f=html",
        f"{ogc}/districts/items?limit=2",
        f"{ogc}/districts/items?NAZWA=Krowodrza",
        f"{ogc}/districts/items/3?crs=EPSG:2180",
        f"{ogc}/civic-venues/items?limit=3&crs=EPSG:2178",
        f"{ogc}/ngos/items",
        f"{ogc}/revitalisation-areas/items?crs=EPSG:2178",
        f"{ogc}/consultation-comments/items",
        f"{ogc}/budget-proposals/items/{bp_2023}",
        f"{ogc}/budget-proposals/items/{bp_2023}?crs=EPSG:2178",
        f"{ogc}/budget-proposals/items/{bp_2023}?f=html",
        f"{ogc}/ngos/items/{ngo}",
        f"{ogc}/revitalisation-areas/items/{rev}?crs=EPSG:2180",
        # bad input
        f"{ogc}/budget-proposals/items?limit=abc",
        f"{ogc}/budget-proposals/items?bbox=1,2",
        f"{ogc}/budget-proposals/items?crs=EPSG:9999",
        f"{ogc}/budget-proposals/items?unknown=1",
        f"{ogc}/budget-proposals/items/999999999",
        f"{ogc}/nope/items",
        # --- exports
        "/exports/",
        "/exports/budget-proposals.csv?district=1",
        "/exports/ngos.geojson",
        "/exports/civic-venues.csv?crs=EPSG:2178",
        "/exports/districts.geojson",
        "/exports/revitalisation-areas.kml",
        "/exports/nope.csv",
        "/exports/ngos.csv?district=99",
        # --- pages for people
        "/",
        "/?layer=civic-venues&page=2",
        "/?status=selected&q=park",
        "/districts/1",
        "/districts/1?bo_edition=2019",
        "/districts/99",
        "/layers",
        "/layers/budget-proposals?district=2&page=2",
        "/layers/ngos",
        "/layers/consultation-comments",
        f"/layers/budget-proposals/{bp_2023}",
        f"/layers/ngos/{ngo}",
        "/layers/nope",
    ]
    return out


def golden_urls(ids: dict[str, int]) -> list[str]:
    """A sample over the test layer of tests/test_ogc_testlayer.py (fixed data and times,
    every field type, a private field, drafts) and the districts: for golden files that no
    change to a real layer's fields can invalidate. ``ids``: external_id -> id."""
    api = "/api/layers/ogc-test"
    ogc = "/ogc/collections/ogc-test"
    wawel, bulwary, debniki = ids["wawel"], ids["bulwary"], ids["debniki"]
    bbox_2178 = "5546000,7422000,5548500,7425000"
    return [
        api,
        f"{api}/features",
        f"{api}/features?limit=5&offset=3",
        f"{api}/features?bbox=19.93,50.05,19.95,50.07&limit=20",
        f"{api}/features?district=1&category=kultura",
        f"{api}/features?status=published&accepted=true&votes=42",
        f"{api}/features?q=zamek",
        f"{api}/features/{wawel}",
        f"{api}/features/{bulwary}",
        f"{api}/features/{debniki}",
        f"{api}/features?status=draft",
        f"{api}/features?votes=abc",
        f"{ogc}",
        f"{ogc}/queryables",
        f"{ogc}/items?limit=4",
        f"{ogc}/items?limit=3&offset=250",
        f"{ogc}/items?bbox=19.93,50.05,19.95,50.07",
        f"{ogc}/items?crs=EPSG:2178&bbox-crs=EPSG:2178&bbox={bbox_2178}&limit=6",
        f"{ogc}/items?crs=http://www.opengis.net/def/crs/EPSG/0/4326&limit=3",
        f"{ogc}/items?crs=EPSG:2180&limit=3",
        f"{ogc}/items?crs=EPSG:3857&limit=3",
        f"{ogc}/items?datetime=2024-01-01/2024-12-31",
        f"{ogc}/items?datetime=2025-01-01T00:00:00Z&limit=3",
        f"{ogc}/items?category=zieleń&district=1&limit=5",
        f"{ogc}/items?accepted=false",
        f"{ogc}/items/{wawel}",
        f"{ogc}/items/{wawel}?crs=EPSG:2178",
        f"{ogc}/items/{bulwary}?crs=EPSG:2180",
        f"{ogc}/items/{debniki}",
        f"{ogc}/items?bbox=1,2",
        f"{ogc}/items/999999999",
        "/exports/ogc-test.csv?district=13",
        "/exports/ogc-test.csv?crs=EPSG:2178&district=1",
        "/exports/ogc-test.geojson?district=1",
        "/exports/ogc-test.kml?district=18",
        "/api/districts/5?simplify=0.001",
        "/api/districts/locate?lon=19.9373&lat=50.0617",
        "/ogc/collections/districts/queryables",
        "/ogc/collections/districts/items/3?crs=EPSG:2180",
    ]


def golden_consumer_urls(conn: Connection) -> list[str]:
    """The two consumers that read features through layers.query last (issue 12): the
    residents' proposals map (``/api/proposals``, the permalink's collection) and the
    planners' map collections, on the shipped proposals (+ :data:`SEED_SQL`)."""
    first = conn.execute(text("SELECT min(id) FROM budget_proposals")).scalar_one()
    whole = conn.execute(
        text("SELECT min(id) FROM budget_proposals WHERE geom IS NULL AND districts <> '{}'")
    ).scalar_one()
    out = [
        "/api/proposals?limit=5",
        "/api/proposals?district=3&limit=6",
        "/api/proposals?sort=supports&limit=4",
        "/api/proposals?sort=cost_desc&edition=2022&limit=5",
        "/api/proposals?sort=title&status=selected&limit=3",
        "/api/proposals?sort=oldest&category=culture&limit=3",
        "/api/proposals?q=park&limit=4",
        "/api/proposals?district=18&q=qxz",
        "/api/proposals?limit=2001",
        "/api/proposals?district=abc",
        f"/api/proposals/{first}",
        "/planners/api/demand.geojson?edition=2022",
        "/planners/api/demand?edition=2022",
        "/planners/api/demand.geojson?edition=",
        "/planners/api/history.geojson?edition=2022",
        "/planners/api/revitalisation.geojson",
        "/planners/api/revitalisation",
    ]
    if whole is not None:
        out.insert(10, "/api/proposals?district=1&limit=2000&sort=oldest")
        out.append(f"/api/proposals/{whole}")
    return out


HEADERS = ("Content-Type", "Content-Crs", "Content-Disposition", "Cache-Control")
_STAMP = re.compile(r'("timeStamp":\s*"|"exported_at":\s*"|exported at: )[0-9T:Z-]+')
_CSV_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ(?=,EPSG:\d+\r?$)", re.M)
_CSRF = re.compile(r'(name="csrf-token" content=")[^"]+|(name="csrf_token" value=")[^"]+')
_NONCE = re.compile(r"nonce-[A-Za-z0-9_-]+|nonce=\"[A-Za-z0-9_-]+\"")
_FOLIUM_ID = re.compile(r"_[0-9a-f]{32}\b")
_DATA_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d(:?\d\d)?)?")


def answer(client, url: str, mask_data_times: bool = False) -> str:
    resp = client.get(url, headers={"Accept": "*/*"})
    head = [f"{resp.status_code} {url}"]
    for h in HEADERS:
        if h in resp.headers:
            head.append(f"{h}: {resp.headers[h]}")
    body = resp.get_data()
    if resp.mimetype in ("application/zip", "application/geopackage+sqlite3"):
        body_text = f"<{len(body)} bytes>"
    else:
        body_text = body.decode("utf-8")
    body_text = _STAMP.sub(r"\1<now>", body_text)
    if url.startswith("/exports/") and ".csv" in url:
        body_text = _CSV_STAMP.sub("<now>", body_text)
    body_text = _NONCE.sub("nonce-<n>", body_text)
    body_text = _CSRF.sub(lambda m: (m.group(1) or m.group(2)) + "<csrf>", body_text)
    body_text = _FOLIUM_ID.sub("_<id>", body_text)
    if mask_data_times:
        body_text = _DATA_TIME.sub("<time>", body_text)
    return "\n".join(head) + "\n\n" + body_text


def slug(i: int, url: str) -> str:
    return f"{i:03d}-" + re.sub(r"[^A-Za-z0-9]+", "_", url).strip("_")[:80] + ".txt"


def capture(app, mask_data_times: bool = False, sample: list[str] | None = None) -> dict[str, str]:
    client = app.test_client()
    if sample is None:
        with app.extensions["engine"].connect() as conn:
            sample = urls(conn)
    return {
        slug(i, u): answer(client, u, mask_data_times or "/districts" in u)
        for i, u in enumerate(sample)
    }


def main(argv: list[str]) -> None:
    """``python -m tests.readpath_support DATABASE_URL OUT_DIR``: seed once, clone, capture."""
    import shutil

    from app import create_app
    from geo import db

    src, out = argv[0], Path(argv[1])
    base, _, name = src.rpartition("/")
    with db.engine(src).begin() as conn:  # once: the clones then share its timestamps
        if conn.execute(text("SELECT count(*) FROM ngo_locations")).scalar_one() == 0:
            seed(conn)
    db.engine(src).dispose()
    clone = f"{name}_capture"
    admin = db.engine(f"{base}/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{clone}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{clone}" TEMPLATE "{name}"'))
    url = f"{base}/{clone}"
    try:
        app = create_app({"DATABASE_URL": url, "TESTING": True, "BASEMAP": "none"})
        answers = capture(app)
        app.extensions["engine"].dispose()
    finally:
        db.engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{clone}" WITH (FORCE)'))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for name_, body in answers.items():
        (out / name_).write_text(body, encoding="utf-8")
    print(f"{len(answers)} answers in {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
