"""Issue 3, web side: the layer API, the maps' layer specs, the lists and the permalinks.

A layer registered here (a Layer, a table from geo.schema.feature_table_sql and
registry.register) gets /api/layers, its features API, a map layer on / and the district
pages, a list page and permalinks with no other code: these tests prove it. The browser
tests (test_browser_layers.py) import this module for the same layer.
"""

from __future__ import annotations

import dataclasses
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, text

from geo.schema import feature_table_sql
from layers import query as lq
from layers import registry
from layers.base import Field, Layer, Style, Workflow

NAME = "web-test"
TABLE = "web_test_places"
XSS = "<img src=x onerror=alert(1)>"
RYNEK = (19.9373, 50.0617)  # district 1
PLAC_CENTRALNY = (20.0375, 50.0717)  # district 18
GENERATED = 140  # near Rynek: more than the API's default limit, and a cluster on the map
SECRET = "tajny.adres@example.com"


def _t(pl: str, en: str, uk: str) -> dict[str, str]:
    return {"pl": pl, "en": en, "uk": uk}


CATEGORIES = {
    "green": _t("zieleń", "greenery", "зелень"),
    "transport": _t("transport", "transport", "транспорт"),
    "culture": _t("kultura", "culture", "культура"),
}

LAYER = Layer(
    name=NAME,
    table=TABLE,
    titles=_t("Miejsca testowe", "Test places", "Тестові місця"),
    descriptions=_t("Warstwa z testu", "A layer from a test", "Шар із тесту"),
    geometry_types=("Point", "LineString", "Polygon"),
    fields=(
        Field("title", "text", _t("Tytuł", "Title", "Назва"), required=True, max_length=300),
        Field(
            "category",
            "enum",
            _t("Kategoria", "Category", "Категорія"),
            choices=tuple(CATEGORIES),
            choice_titles=CATEGORIES,
            filter=True,
        ),
        Field(
            "status",
            "enum",
            _t("Status", "Status", "Статус"),
            choices=("draft", "published", "archived"),
            choice_titles={
                "draft": _t("szkic", "draft", "чернетка"),
                "published": _t("opublikowany", "published", "опубліковано"),
                "archived": _t("archiwalny", "archived", "архівний"),
            },
            filter=True,
        ),
        Field(
            "edition",
            "int",
            _t("Edycja", "Edition", "Випуск"),
            filter=True,
            minimum=2013,
            maximum=2100,
        ),
        Field("cost", "money", _t("Koszt", "Cost", "Вартість")),
        Field("open", "bool", _t("Otwarte", "Open", "Відкрито"), filter=True),
        Field("tags", "text[]", _t("Tagi", "Tags", "Теги")),
        Field("contact_email", "text", _t("E-mail", "E-mail", "E-mail"), public=False),
    ),
    style=Style(color="#7b3294", category_colors={"green": "#1b7837", "transport": "#2166ac"}),
    popup_fields=("title", "category", "cost", "status"),
    list_fields=("title", "category", "edition"),
    workflow=Workflow(
        states=("draft", "published", "archived"),
        initial="draft",
        public_states=("published", "archived"),
    ),
    status_field="status",
    category_field="category",
    edition_field="edition",
    public_where="NOT t.hidden",
)

COLUMNS = """
    title text NOT NULL, category text, status text NOT NULL DEFAULT 'draft', edition smallint,
    cost numeric(12, 2), open boolean, tags text[], contact_email text,
    hidden boolean NOT NULL DEFAULT false
"""

# external_id -> (WKT, properties); every row gets contact_email = SECRET.
FEATURES = {
    "rynek": (
        f"POINT({RYNEK[0]} {RYNEK[1]})",
        dict(
            title="Ławka na Rynku",
            category="green",
            status="published",
            edition=2023,
            cost=1500,
            open=True,
            tags=["ławka"],
        ),
    ),
    "huta": (
        f"POINT({PLAC_CENTRALNY[0]} {PLAC_CENTRALNY[1]})",
        dict(
            title="Przystanek w Nowej Hucie",
            category="transport",
            status="published",
            edition=2024,
            cost=99000,
            open=False,
        ),
    ),
    "bridge": (
        "LINESTRING(19.9355 50.0540, 19.9250 50.0450)",  # Wawel -> Dębniki, over the Vistula
        dict(title="Kładka Wawel – Dębniki", category="culture", status="published", edition=2024),
    ),
    "park": (
        "POLYGON((20.0360 50.0745, 20.0385 50.0745, 20.0385 50.0760, 20.0360 50.0760,"
        " 20.0360 50.0745))",
        dict(title="Łąka kwietna", category="green", status="archived", edition=2022),
    ),
    "xss": (
        f"POINT({RYNEK[0] + 0.0004} {RYNEK[1] + 0.0003})",
        dict(title=XSS, category="culture", status="published", edition=2024),
    ),
    "draft": (
        f"POINT({RYNEK[0] + 0.0010} {RYNEK[1]})",
        dict(title="Szkic niepubliczny", category="green", status="draft", edition=2024),
    ),
    "hidden": (
        f"POINT({RYNEK[0] - 0.0010} {RYNEK[1]})",
        dict(
            title="Ukryty przez moderatora",
            category="green",
            status="published",
            edition=2024,
            hidden=True,
        ),
    ),
}
NOT_PUBLIC = ("draft", "hidden")
PUBLIC_COUNT = len(FEATURES) - len(NOT_PUBLIC) + GENERATED


def install(engine) -> dict[str, int]:
    """Create the table, load the features; returns external_id -> id."""
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {TABLE} CASCADE"))
        conn.execute(text(feature_table_sql(TABLE, COLUMNS, LAYER.geometry_types)))
        insert = text(
            f"""INSERT INTO {TABLE} (external_id, geom, contact_email, title, category, status,
                    edition, cost, open, tags, hidden)
                SELECT :ext, ST_GeomFromText(:wkt, 4326), :email, p.title, p.category,
                    p.status, p.edition, p.cost, p.open, p.tags, coalesce(p.hidden, false)
                FROM jsonb_to_record(CAST(:props AS jsonb)) AS p(title text, category text,
                    status text, edition int, cost numeric, open bool, tags text[], hidden bool)"""
        )
        for ext, (wkt, props) in FEATURES.items():
            conn.execute(
                insert, {"ext": ext, "wkt": wkt, "email": SECRET, "props": json.dumps(props)}
            )
        # A grid of points within ~300 m of the Rynek: a cluster at city zoom.
        conn.execute(
            text(
                f"""INSERT INTO {TABLE} (external_id, geom, title, category, status, edition,
                        contact_email)
                    SELECT 'gen-' || i,
                           ST_SetSRID(ST_MakePoint(19.9340 + (i % 14) * 0.0004,
                                                   50.0600 + (i / 14) * 0.0003), 4326),
                           'Punkt ' || i, 'green', 'published', 2020, :email
                    FROM generate_series(0, :n - 1) AS i"""
            ),
            {"n": GENERATED, "email": SECRET},
        )
        rows = conn.execute(text(f"SELECT external_id, id FROM {TABLE}"))
        return {r[0]: r[1] for r in rows}


def uninstall(engine) -> None:
    registry.unregister(NAME)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {TABLE} CASCADE"))


@pytest.fixture(scope="module")
def ids(engine):
    found = install(engine)
    registry.register(LAYER)
    yield found
    uninstall(engine)


@pytest.fixture(scope="module")
def proposals(engine):
    """Budget proposals of our own (the real ones come from the importers)."""
    rows = [
        # ext, WKT, districts, edition, title, status, cost, votes, selected, hidden
        (
            "T.D1.1",
            f"POINT({RYNEK[0]} {RYNEK[1]})",
            [],
            2019,
            XSS,
            "selected",
            250000,
            812,
            True,
            False,
        ),
        (
            "T.D1.2",
            None,
            [1],
            2019,
            "Cała dzielnica: drzewa",
            "not_selected",
            90000,
            40,
            False,
            False,
        ),
        ("T.D1.3", None, [1], 2021, "Ławki nad Wisłą", "selected", 120000, 300, True, False),
        ("T.D1.draft", None, [1], 2019, "Szkic projektu", "draft", 1, 0, None, False),
        ("T.D1.hidden", None, [1], 2019, "Ukryty projekt", "not_selected", 1, 0, False, True),
        (
            "T.D1.now",
            None,
            [1],
            2100,
            "Projekt przyszłej edycji",
            "submitted",
            5000,
            None,
            None,
            False,
        ),
    ]
    with engine.begin() as conn:
        for ext, wkt, dists, ed, title, status, cost, votes, sel, hidden in rows:
            conn.execute(
                text(
                    """INSERT INTO budget_proposals (external_id, geom, districts, edition, title,
                           scope, status, cost, votes, selected, hidden_at)
                       VALUES (:ext, ST_GeomFromText(:wkt, 4326), :d, :ed, :title, 'district',
                           :status, :cost, :votes, :sel,
                           CASE WHEN :hidden THEN now() END)"""
                ),
                dict(
                    ext=ext,
                    wkt=wkt,
                    d=dists,
                    ed=ed,
                    title=title,
                    status=status,
                    cost=cost,
                    votes=votes,
                    sel=sel,
                    hidden=hidden,
                ),
            )
        got = conn.execute(
            text("SELECT external_id, id FROM budget_proposals WHERE external_id LIKE 'T.%'")
        )
        return {r[0]: r[1] for r in got}


def fc(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.data[:500])
    return json.loads(r.data)


def error_field(client, url) -> str:
    r = client.get(url)
    assert r.status_code == 400, (url, r.status_code, r.data[:300])
    err = r.get_json()["error"]
    assert err["message"] and err["code"]
    return err["field"]


def ext_ids(collection) -> set[str]:
    return {f["properties"]["external_id"] for f in collection["features"]}


def all_pages(client, url) -> list[dict]:
    out, seen = [], 0
    while url:
        page = fc(client, url)
        out += page["features"]
        url = page.get("next")
        seen += 1
        assert seen < 100
    return out


# --- the Layer contract -----------------------------------------------------------------


@pytest.mark.parametrize("name", [ly.name for ly in registry.all_layers()] + [NAME])
def test_every_registered_layer_is_complete(ids, name):
    """Titles in pl/en/uk, a properties schema and a style (Layer.problems() lists what lacks)."""
    layer = registry.get(name)
    assert layer is not None
    assert layer.problems() == []
    schema = layer.properties_schema()
    assert set(schema["properties"]) >= {f.name for f in layer.public_fields}
    assert not any(f.name in schema["properties"] for f in layer.fields if not f.public)
    assert layer.style.to_dict()["color"]


def test_problems_name_what_a_layer_lacks():
    # The test above would fail for each of these layers.
    no_uk = dataclasses.replace(LAYER, titles={"pl": "Miejsca", "en": "Places"})
    assert any("no uk title" in p for p in no_uk.problems())
    no_fields = dataclasses.replace(LAYER, fields=(), popup_fields=(), list_fields=())
    assert any("no fields" in p for p in no_fields.problems())
    no_style = dataclasses.replace(LAYER, style=Style(color=""))
    assert any("no style" in p for p in no_style.problems())
    bad_field = dataclasses.replace(
        LAYER, fields=(Field("title", "text", {"pl": "Tytuł"}), *LAYER.fields[1:])
    )
    assert any("title: no en title" in p for p in bad_field.problems())


# --- a registered layer gets everything -----------------------------------------------------


def test_a_registered_layer_gets_api_map_list_and_permalink(client, ids):
    listed = fc(client, "/api/layers")["layers"]
    assert NAME in [m["name"] for m in listed]
    feats = fc(client, f"/api/layers/{NAME}/features?limit=5000")
    assert len(feats["features"]) == PUBLIC_COUNT
    one = fc(client, f"/api/layers/{NAME}/features/{ids['rynek']}")
    assert one["properties"]["title"] == "Ławka na Rynku"
    home = client.get("/").get_data(as_text=True)
    assert f'"layer": "{NAME}"' in home and f"/api/layers/{NAME}/features" in home
    district = client.get("/districts/18").get_data(as_text=True)
    assert f'"layer": "{NAME}"' in district
    listing = client.get(f"/layers/{NAME}?district=18")
    assert listing.status_code == 200
    assert f'href="/layers/{NAME}/{ids["huta"]}"' in listing.get_data(as_text=True)
    page = client.get(f"/layers/{NAME}/{ids['huta']}")
    assert page.status_code == 200 and "Przystanek w Nowej Hucie" in page.get_data(as_text=True)
    assert NAME in client.get("/layers").get_data(as_text=True)


def test_api_layers_describes_each_layer(client, ids):
    meta = {m["name"]: m for m in fc(client, "/api/layers")["layers"]}
    assert set(meta) >= {ly.name for ly in registry.all_layers() if ly.is_public}
    m = meta[NAME]
    assert m["titles"] == LAYER.titles
    assert m["geometry_types"] == list(LAYER.geometry_types)
    assert m["schema"] == LAYER.properties_schema()
    assert m["style"]["color"] == "#7b3294"
    assert m["style"]["legend"]["by"] == "category"
    assert {e["value"]: e["color"] for e in m["style"]["legend"]["entries"]}["green"] == "#1b7837"
    filters = {f["param"]: f for f in m["filters"]}
    assert set(filters) == {"category", "status", "edition", "open"}
    assert [c["value"] for c in filters["status"]["choices"]] == ["published", "archived"]
    assert filters["category"]["choices"][0]["titles"]["uk"] == "зелень"
    proposals_meta = meta["budget-proposals"]
    assert proposals_meta["style"]["legend"]["by"] == "status"
    assert "draft" not in [e["value"] for e in proposals_meta["style"]["legend"]["entries"]]
    assert fc(client, f"/api/layers/{NAME}")["name"] == NAME


def test_map_data_is_never_embedded_in_the_page(client, ids):
    html = client.get("/").get_data(as_text=True)
    script = html[html.index("var map_main") :]
    assert "19.9373" not in script and "Ławka na Rynku" not in script
    assert '"kind": "features"' in script
    for layer in registry.all_layers():
        assert f'"layer": "{layer.name}"' in script


# --- the features API -------------------------------------------------------------------------


def test_features_are_geojson_with_only_public_properties(client, ids):
    r = client.get(f"/api/layers/{NAME}/features?limit=5000")
    assert r.mimetype == "application/geo+json"
    body = r.get_data(as_text=True)
    assert SECRET not in body and "contact_email" not in body and '"hidden"' not in body
    data = json.loads(body)
    props = data["features"][0]["properties"]
    assert set(props) == {"external_id", "districts", "updated_at"} | {
        f.name for f in LAYER.public_fields
    }
    assert data["numberReturned"] == PUBLIC_COUNT
    single = client.get(f"/api/layers/{NAME}/features/{ids['rynek']}").get_data(as_text=True)
    assert SECRET not in single


def test_bbox(client, ids):
    huta = "20.030,50.068,20.045,50.080"
    assert ext_ids(fc(client, f"/api/layers/{NAME}/features?bbox={huta}")) == {"huta", "park"}
    rynek = "19.930,50.058,19.945,50.066"
    got = ext_ids(fc(client, f"/api/layers/{NAME}/features?bbox={rynek}&limit=5000"))
    assert {"rynek", "xss"} <= got and "huta" not in got and "bridge" not in got
    # a line is found where it crosses the box, not only at its ends
    mid = "19.929,50.049,19.931,50.050"
    assert ext_ids(fc(client, f"/api/layers/{NAME}/features?bbox={mid}")) == {"bridge"}


@pytest.mark.parametrize(
    "query",
    ["bbox=1,2,3", "bbox=a,b,c,d", "bbox=20,50,19,51", "bbox=NaN,50,20,51", "bbox=19,50,200,51"],
)
def test_bad_bbox_is_400(client, ids, query):
    assert error_field(client, f"/api/layers/{NAME}/features?{query}") == "bbox"


def test_limit_offset_and_next_links(client, ids, app):
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    eng = app.extensions["engine"]
    event.listen(eng, "before_cursor_execute", record)
    try:
        first = fc(client, f"/api/layers/{NAME}/features")
    finally:
        event.remove(eng, "before_cursor_execute", record)
    assert len(first["features"]) == lq.DEFAULT_LIMIT == 100
    assert first["limit"] == 100 and first["offset"] == 0
    # no whole-table count per request: LIMIT n+1 tells whether there is a next page
    assert statements and not any(re.search(r"count\s*\(", s, re.I) for s in statements)
    nxt = first["next"]
    assert {"rel": "next", "type": "application/geo+json", "href": nxt} in first["links"]
    assert parse_qs(urlsplit(nxt).query)["offset"] == ["100"]
    everything = all_pages(client, f"/api/layers/{NAME}/features?limit=30&category=green")
    assert len(everything) == len({f["id"] for f in everything})  # no duplicates across pages
    assert len(everything) == GENERATED + 2  # the generated points, rynek, park
    last = fc(client, f"/api/layers/{NAME}/features?limit=5000")
    assert "next" not in last and [ln["rel"] for ln in last["links"]] == ["self"]
    page2 = fc(client, f"/api/layers/{NAME}/features?limit=10&offset=10")
    assert len(page2["features"]) == 10 and any(ln["rel"] == "prev" for ln in page2["links"])


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=5001", "limit"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("offset=1.5", "offset"),
        ("district=abc", "district"),
        ("district=0", "district"),
        ("category=purple", "category"),
        ("status=draft", "status"),  # not a public state: not a valid filter value either
        ("status=nope", "status"),
        ("edition=abc", "edition"),
        ("edition=1900", "edition"),
        ("open=maybe", "open"),
        ("colour=red", "colour"),  # unknown filter
        ("title=Ławka", "title"),  # a field, but not a filter
        ("contact_email=x", "contact_email"),  # a private field is no filter
        ("q=" + "x" * 201, "q"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, ids, query, field):
    assert error_field(client, f"/api/layers/{NAME}/features?{query}") == field


def test_a_filter_the_layer_lacks_is_400(client, ids):
    assert error_field(client, "/api/layers/civic-venues/features?category=x") == "category"
    assert error_field(client, "/api/layers/civic-venues/features?edition=2024") == "edition"


def test_district_and_filters(client, ids):
    assert ext_ids(fc(client, f"/api/layers/{NAME}/features?district=18")) == {"huta", "park"}
    assert ext_ids(fc(client, f"/api/layers/{NAME}/features?district=8")) == {"bridge"}
    on1 = ext_ids(fc(client, f"/api/layers/{NAME}/features?district=1&limit=5000"))
    assert {"rynek", "xss", "bridge"} <= on1 and "huta" not in on1
    assert ext_ids(fc(client, f"/api/layers/{NAME}/features?status=archived")) == {"park"}
    assert ext_ids(fc(client, f"/api/layers/{NAME}/features?edition=2024")) == {
        "huta",
        "bridge",
        "xss",
    }
    assert ext_ids(fc(client, f"/api/layers/{NAME}/features?open=false")) == {"huta"}
    both = f"/api/layers/{NAME}/features?category=green&district=18"
    assert ext_ids(fc(client, both)) == {"park"}
    # q: case- and diacritics-insensitive, in the title
    assert ext_ids(fc(client, f"/api/layers/{NAME}/features?q=LAWKA")) == {"rynek"}
    # empty values mean "no filter" (an HTML form sends them)
    assert len(fc(client, f"/api/layers/{NAME}/features?category=&status=")["features"]) == 100


def test_non_public_features_never_appear(client, ids, engine, proposals):
    everything = client.get(f"/api/layers/{NAME}/features?limit=5000").get_data(as_text=True)
    for ext in NOT_PUBLIC:
        title = FEATURES[ext][1]["title"]
        assert title not in everything
        assert client.get(f"/api/layers/{NAME}/features/{ids[ext]}").status_code == 404
        assert client.get(f"/layers/{NAME}/{ids[ext]}").status_code == 404
        for url in (f"/layers/{NAME}", f"/layers/{NAME}?district=1", "/districts/1", "/"):
            assert title not in client.get(url).get_data(as_text=True), url
    with engine.connect() as conn:
        assert lq.count_by_district(conn, LAYER, 1) == GENERATED + 3  # rynek, xss, bridge
    # the same for budget proposals: drafts and hidden ones
    text_all = client.get("/api/layers/budget-proposals/features?limit=5000").get_data(as_text=True)
    assert "Szkic projektu" not in text_all and "Ukryty projekt" not in text_all
    assert "author_id" not in text_all and "hidden_at" not in text_all
    for ext in ("T.D1.draft", "T.D1.hidden"):
        assert (
            client.get(f"/api/layers/budget-proposals/features/{proposals[ext]}").status_code == 404
        )
        page = client.get(f"/layers/budget-proposals/{proposals[ext]}", follow_redirects=True)
        assert page.status_code == 404
    district = client.get("/districts/1").get_data(as_text=True)
    assert "Szkic projektu" not in district and "Ukryty projekt" not in district


@pytest.mark.parametrize("fid", ["99999999999999999999", "9223372036854775808", "abc", "-1"])
def test_impossible_ids_are_404(client, ids, fid):
    r = client.get(f"/api/layers/{NAME}/features/{fid}")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/layers/{NAME}/{fid}").status_code == 404


def test_unknown_and_non_public_layers_are_404(client, ids):
    assert client.get("/api/layers/nope/features").status_code == 404
    assert client.get("/layers/nope").status_code == 404
    private = dataclasses.replace(LAYER, name="web-test-private", read_roles=frozenset({"admin"}))
    registry.register(private)
    try:
        assert client.get("/api/layers/web-test-private/features").status_code == 404
        assert (
            client.get(f"/api/layers/web-test-private/features/{ids['rynek']}").status_code == 404
        )
        assert client.get("/layers/web-test-private").status_code == 404
        names = [m["name"] for m in fc(client, "/api/layers")["layers"]]
        assert "web-test-private" not in names
        assert "web-test-private" not in client.get("/").get_data(as_text=True)
    finally:
        registry.unregister("web-test-private")


# --- lists and permalinks -------------------------------------------------------------------------


def test_layer_list_is_paginated_and_filterable_without_js(client, ids):
    html = client.get(f"/layers/{NAME}").get_data(as_text=True)
    assert '<form class="filters" method="get"' in html
    for name in ("district", "category", "status", "edition", "open", "q"):
        assert f'name="{name}"' in html
    assert html.count(f'href="/layers/{NAME}/') == 20  # one page
    assert 'rel="next"' in html and "page=2" in html
    page2 = client.get(f"/layers/{NAME}?page=2").get_data(as_text=True)
    assert 'rel="prev"' in page2
    huta = client.get(f"/layers/{NAME}?district=18").get_data(as_text=True)
    assert "Przystanek w Nowej Hucie" in huta and "Ławka na Rynku" not in huta
    assert "Dzielnica XVIII Nowa Huta" in huta
    green18 = client.get(f"/layers/{NAME}?district=18&category=green").get_data(as_text=True)
    assert "Łąka kwietna" in green18 and "Przystanek" not in green18
    # the list's own API link carries the same filters (JS refreshes the list from it)
    assert f'data-api="/api/layers/{NAME}/features?district=18&amp;category=green"' in green18
    # parameters the page does not know are ignored, and never reach the map's API calls
    odd = client.get(f"/layers/{NAME}?district=18&utm_source=x").get_data(as_text=True)
    assert '"params": {"district": "18"}' in odd
    for bad in ("page=0", "page=x", "district=99", "category=purple", "edition=abc"):
        assert client.get(f"/layers/{NAME}?{bad}").status_code == 400, bad


def test_lists_escape_every_string(client, ids, proposals):
    for url in (f"/layers/{NAME}?edition=2024", "/layers/budget-proposals", "/districts/1"):
        html = client.get(url, follow_redirects=True).get_data(as_text=True)
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, url
        assert XSS not in html, url
    page = client.get(f"/layers/{NAME}/{ids['xss']}").get_data(as_text=True)
    assert "<h1>&lt;img src=x onerror=alert(1)&gt;</h1>" in page and XSS not in page


@pytest.mark.parametrize(
    "lang, category_title, field_title, yes",
    [
        ("pl", "zieleń", "Kategoria", "tak"),
        ("en", "greenery", "Category", None),
        ("uk", "зелень", "Категорія", None),
    ],
)
def test_permalink_shows_every_public_property(client, ids, lang, category_title, field_title, yes):
    html = client.get(f"/layers/{NAME}/{ids['rynek']}?lang={lang}").get_data(as_text=True)
    assert "<h1>Ławka na Rynku</h1>" in html
    for f in LAYER.public_fields:
        assert f"<dt>{f.title(lang)}</dt>" in html
    assert f"<dt>{field_title}</dt>" in html
    assert f'<dd class="prop-category">{category_title}</dd>' in html
    cost = {"pl": "1\xa0500 zł", "en": "1,500 zł", "uk": "1\xa0500 zł"}[lang]
    assert f'<dd class="prop-cost">{cost}</dd>' in html
    assert "ławka" in html  # tags
    if yes:
        assert f'<dd class="prop-open">{yes}</dd>' in html
    assert SECRET not in html and "E-mail" not in html
    assert 'href="/districts/1"' in html
    # the map of one feature loads it from the API
    assert f'"featureUrl": "/api/layers/{NAME}/features/{ids["rynek"]}"' in html


def test_overview_list_on_the_home_page(client, ids):
    html = client.get("/").get_data(as_text=True)
    assert 'id="features"' in html and f'data-layer="{NAME}"' in html
    assert f'href="/layers/{NAME}?' not in html or "Cała lista" in html
    one = client.get(f"/?layer={NAME}&category=transport").get_data(as_text=True)
    assert "Przystanek w Nowej Hucie" in one and "Ławka na Rynku" not in one
    # a status filter hides the layers that have no status, on the list and on the map
    st = client.get("/?status=archived").get_data(as_text=True)
    assert "Łąka kwietna" in st
    spec = json.loads(
        re.search(
            r'civicmap.addLayer\(map_main, (\{"kind": "features", "layer": "civic-venues".*?)\);(?:\n|</script>)',
            st,
        ).group(1)
    )
    assert spec["visible"] is False
    mine = json.loads(
        re.search(
            r'civicmap.addLayer\(map_main, (\{"kind": "features", "layer": "web-test".*?)\);(?:\n|</script>)',
            st,
        ).group(1)
    )
    assert mine["visible"] is True and mine["params"] == {"status": "archived"}

    # layers derived from another (the budget's results) start switched off on the overview,
    # one click away in the legend; asked for by name they are drawn
    def spec_of(page: str, layer: str) -> dict:
        pattern = rf'civicmap.addLayer\(map_main, (\{{"kind": "features", "layer": "{layer}".*?)\);(?:\n|</script>)'
        return json.loads(re.search(pattern, page).group(1))

    assert spec_of(html, "pb-results")["visible"] is False
    assert spec_of(html, "civic-venues")["visible"] is True
    chosen = client.get("/?layer=pb-results").get_data(as_text=True)
    assert spec_of(chosen, "pb-results")["visible"] is True
    paged = client.get(f"/?layer={NAME}&page=2").get_data(as_text=True)
    assert 'rel="prev"' in paged and 'rel="next"' in paged
    assert client.get("/?layer=nope").status_code == 400


def test_district_page_counts_and_past_budget(client, ids, proposals):
    html = client.get("/districts/1").get_data(as_text=True)
    counts = re.search(rf'<tr data-layer="{NAME}">.*?<td class="num">(\d+)</td>', html, re.S).group(
        1
    )
    assert int(counts) == GENERATED + 3
    for ly in registry.all_layers():
        assert f'<tr data-layer="{ly.name}">' in html
    past = html[html.index('id="past-budget"') :]
    # one edition at a time, the newest past one first (real pabulib editions may be loaded)
    editions = [int(e) for e in re.findall(r"\?bo_edition=(\d+)#past-budget", past)]
    assert {2019, 2021} <= set(editions) and 2100 not in editions
    assert editions == sorted(editions, reverse=True)
    assert f'bo_edition={editions[0]}#past-budget" aria-current="page"' in past
    y2021 = client.get("/districts/1?bo_edition=2021").get_data(as_text=True)
    past = y2021[y2021.index('id="past-budget"') :]
    assert "Ławki nad Wisłą" in past and "120\xa0000 zł" in past and ">300<" in past
    assert "Projekt przyszłej edycji" not in past  # an edition still under way is not "past"
    y2019 = client.get("/districts/1?bo_edition=2019").get_data(as_text=True)
    past = y2019[y2019.index('id="past-budget"') :]
    assert "&lt;img src=x onerror=alert(1)&gt;" in past and "Cała dzielnica: drzewa" in past
    assert past.index("812") < past.index("Cała dzielnica: drzewa")  # by votes
    assert "Ukryty projekt" not in past and "Szkic projektu" not in past
    assert client.get("/districts/1?bo_edition=abc").status_code == 400
    # the district's list and map are that district's
    assert "Przystanek w Nowej Hucie" not in client.get("/districts/1").get_data(as_text=True)
    assert '"params": {"district": "1"}' in html
