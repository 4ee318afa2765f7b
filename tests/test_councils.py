"""District councils (issue 5): the queue of district VIII, opinions (403 for another
district's council), priorities, the report (numbers = direct SQL), CSV/GeoPackage round
trips, notifications."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import text

DEBNIKI = 8  # Dzielnica VIII Dębniki
OTHER = 1  # Dzielnica I Stare Miasto

# a point inside district n (ST_GeneratePoints is deterministic with a seed)
POINT = (
    "(SELECT ST_GeometryN(ST_GeneratePoints(geom, 1, {seed}), 1) FROM districts WHERE number = {n})"
)


def _proposal(conn, title, n, *, seed, minutes, status="submitted", scope="district",
              edition=2025, cost=100_000, category="sport", votes=None, author=None,
              hidden=False, geom=None, districts=None):  # fmt: skip
    geom_sql = "NULL" if districts is not None else (geom or POINT.format(seed=seed, n=n))
    return conn.execute(
        text(
            f"""INSERT INTO budget_proposals (edition, title, description, category, cost, scope,
                    status, votes, author_id, hidden_at, geom, districts, created_at)
                VALUES (:ed, :title, 'Opis projektu', :cat, :cost, :scope, :status, :votes,
                        :author, CASE WHEN :hidden THEN now() END, {geom_sql},
                        CAST(:districts AS smallint[]),
                        now() - make_interval(mins => :minutes))
                RETURNING id"""
        ),
        {
            "ed": edition,
            "title": title,
            "cat": category,
            "cost": cost,
            "scope": scope,
            "status": status,
            "votes": votes,
            "author": author,
            "hidden": hidden,
            "districts": districts or [],
            "minutes": minutes,
        },
    ).scalar_one()


@pytest.fixture(scope="module")
def data(engine):
    """Proposals of a new edition (2025), consultations and comments in districts VIII and I,
    next to the real past editions (2018–2024, pools included) the template database holds."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        author = conn.execute(
            text(
                "INSERT INTO users (email, name, password_hash, roles, confirmed_at) VALUES "
                "('autorka-rady@example.org', 'Anna Autorka', 'x', '{resident}', now()) RETURNING id"
            )
        ).scalar_one()
        ids["author"] = author
        p = ids
        p["park"] = _proposal(conn, "Park kieszonkowy na Ruczaju", DEBNIKI, seed=1, minutes=50,
                              cost=250_000, votes=320, author=author, category="urban greenery")  # fmt: skip
        p["boisko"] = _proposal(conn, "Boisko przy szkole", DEBNIKI, seed=2, minutes=40,
                                cost=400_000, status="accepted_for_vote", author=author)  # fmt: skip
        p["lawki"] = _proposal(conn, "Ławki nad Wisłą", DEBNIKI, seed=3, minutes=30,
                               cost=50_000, status="rejected", category="public space")  # fmt: skip
        p["whole"] = _proposal(conn, "Festyn dzielnicowy", DEBNIKI, seed=0, minutes=20,
                               cost=30_000, category="culture", districts=[DEBNIKI])  # fmt: skip
        p["draft"] = _proposal(conn, "Szkic prywatny", DEBNIKI, seed=4, minutes=5, status="draft")
        p["hidden"] = _proposal(conn, "Ukryty przez moderatora", DEBNIKI, seed=5, minutes=6,
                                hidden=True)  # fmt: skip
        p["old"] = _proposal(conn, "Projekt z 2024", DEBNIKI, seed=6, minutes=900,
                             edition=2024, status="selected", cost=90_000)  # fmt: skip
        line = f"ST_MakeLine({POINT.format(seed=7, n=DEBNIKI)}, {POINT.format(seed=7, n=OTHER)})"
        p["citywide"] = _proposal(conn, "Trasa rowerowa przez dwie dzielnice", DEBNIKI, seed=7,
                                  minutes=10, scope="citywide", cost=2_000_000, geom=line,
                                  category="bicycle infrastructure")  # fmt: skip
        p["elsewhere"] = _proposal(conn, "Fontanna na Rynku", OTHER, seed=8, minutes=1,
                                   cost=700_000)  # fmt: skip
        for n, key in ((DEBNIKI, "k8"), (OTHER, "k1")):
            p[key] = conn.execute(
                text(
                    "INSERT INTO consultations (title, opens_on, closes_on, stage, geom) "
                    "SELECT :t, current_date - 5, current_date + 30, 'open', geom "
                    "FROM districts WHERE number = :n RETURNING id"
                ),
                {"t": f"Konsultacja dzielnicy {n}", "n": n},
            ).scalar_one()
        for i, (key, n, status) in enumerate(
            [
                ("c1", DEBNIKI, "published"),
                ("c2", DEBNIKI, "published"),
                ("c3", DEBNIKI, "published"),
                ("cpending", DEBNIKI, "pending"),
                ("c_other", OTHER, "published"),
            ]
        ):
            p[key] = conn.execute(
                text(
                    f"""INSERT INTO consultation_comments (consultation_id, body, status, author_id,
                            geom, created_at)
                        VALUES (:k, :b, :s, :a, {POINT.format(seed=20 + i, n=n)},
                                now() - make_interval(mins => :m))
                        RETURNING id"""
                ),
                {
                    "k": p["k8"] if n == DEBNIKI else p["k1"],
                    "b": f"Uwaga {key}: więcej drzew",
                    "s": status,
                    "a": author,
                    "m": 15 + i,
                },
            ).scalar_one()
    return ids


def _listed(html: str) -> list[tuple[str, int]]:
    return [(k, int(i)) for k, i in re.findall(r'<li data-kind="(\w+)" data-id="(\d+)">', html)]


def test_member_sees_only_district_viii_queue_newest_first(make_user, engine, data):
    member = make_user(role="council", council_district=DEBNIKI)
    r = member.get("/councils/8")
    assert r.status_code == 200
    html = r.text
    listed = _listed(html)
    assert len(listed) == 25  # a page (the real past editions are there too)
    with engine.connect() as conn:
        rows = {
            (k, i): (d, t)
            for k, i, d, t in conn.execute(
                text(
                    "SELECT 'proposals', id, districts, created_at FROM budget_proposals "
                    "WHERE id = ANY(:p) UNION ALL "
                    "SELECT 'comments', id, districts, created_at FROM consultation_comments "
                    "WHERE id = ANY(:c)"
                ),
                {
                    "p": [i for k, i in listed if k == "proposals"],
                    "c": [i for k, i in listed if k == "comments"],
                },
            )
        }
    assert all(DEBNIKI in rows[item][0] for item in listed)  # only district VIII
    times = [rows[item][1] for item in listed]
    assert times == sorted(times, reverse=True)  # newest first

    # this edition: exactly the public proposals located in VIII (city-wide one included)
    listed = _listed(member.get("/councils/8?edition=2025").text)
    assert {i for _, i in listed} == {
        data[k] for k in ("park", "boisko", "lawki", "whole", "citywide")
    }
    assert [i for _, i in listed][:2] == [data["citywide"], data["whole"]]  # newest first
    listed = _listed(member.get("/councils/8?layer=consultation-comments").text)
    assert {i for _, i in listed} == {data["c1"], data["c2"], data["c3"]}
    # members see who wrote what, and may record an opinion
    html = member.get("/councils/8?edition=2025").text
    assert "Anna Autorka" in html
    assert f"/councils/8/proposals/{data['park']}/opinion" in html
    # the map shows the registry's layers filtered to the district
    assert '"district": "8"' in html and '"kind": "features"' in html


def test_public_queue_is_read_only_without_private_fields(client, data):
    r = client.get("/councils/8?edition=2025")
    assert r.status_code == 200
    assert "Park kieszonkowy na Ruczaju" in r.text
    assert "Anna Autorka" not in r.text and "autorka-rady@example.org" not in r.text
    assert "/opinion" not in r.text
    assert "Widok publiczny" in r.text


def test_filters_and_counts_equal_sql(client, engine, data):
    r = client.get("/councils/8?layer=budget-proposals&edition=2025")
    assert r.status_code == 200
    listed = re.findall(r'<li data-kind="(\w+)" data-id="(\d+)">', r.text)
    assert listed and all(k == "proposals" for k, _ in listed)
    assert str(data["old"]) not in [i for _, i in listed]
    with engine.connect() as conn:
        expected = dict(
            conn.execute(
                text(
                    "SELECT status, count(*) FROM budget_proposals WHERE :d = ANY(districts) "
                    "AND edition = 2025 AND hidden_at IS NULL AND status <> 'draft' GROUP BY status"
                ),
                {"d": DEBNIKI},
            ).all()
        )
    table = re.search(r'<table class="counts" data-kind="proposals">(.*?)</table>', r.text, re.S)
    shown = {
        s: int(n)
        for s, n in re.findall(
            r'<tr data-status="(\w+)">.*?<td class="num">(\d+)</td>', table.group(1), re.S
        )
    }
    assert {s: n for s, n in shown.items() if n} == expected
    r = client.get("/councils/8?status=rejected")
    listed = re.findall(r'<li data-kind="(\w+)" data-id="(\d+)">', r.text)
    assert listed == [("proposals", str(data["lawki"]))]
    r = client.get("/councils/8?layer=consultation-comments")
    assert {k for k, _ in re.findall(r'<li data-kind="(\w+)" data-id="(\d+)">', r.text)} == {
        "comments"
    }


@pytest.mark.parametrize(
    "query, word",
    [
        ("edition=abc", "edition"),
        ("edition=1999", "edition"),
        ("status=nope", "status"),
        ("layer=ngos", "layer"),
        ("category=<b>x</b>", "category"),
        ("page=0", "page"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(client, data, query, word):
    r = client.get(f"/councils/8?{query}")
    assert r.status_code == 400
    assert word in r.text
    assert "<b>x</b>" not in r.text


def test_unknown_district_is_404(client):
    assert client.get("/councils/99").status_code == 404
    assert client.get("/councils/99/report").status_code == 404


def _legend_below_the_features(html: str) -> None:
    """The map's legend is a strip under the drawing: no numbered feature lies under it."""
    import xml.etree.ElementTree as ET

    svg = ET.fromstring(re.search(r"<svg.*?</svg>", html, re.S).group(0))
    ns = {"s": "http://www.w3.org/2000/svg"}
    _x, vy, _w, vh = (float(v) for v in svg.get("viewBox").split())
    edge = float(svg.find("s:line", ns).get("y1"))  # the drawing's bottom edge
    assert vy < edge < vy + vh
    numbers = [float(t.get("y")) for t in svg.iterfind("s:g/s:text", ns)]
    legend = [float(c.get("cy")) for c in svg.findall("s:circle", ns)]
    assert numbers and legend
    assert max(numbers) <= edge < min(legend)


def _opinion_form(**over):
    form = {
        "opinion": "positive",
        "justification": "Rada popiera: park jest potrzebny mieszkańcom Ruczaju.",
        "resolution_date": "2025-03-12",
        "resolution_ref": "Uchwała nr XII/123/25",
    }
    form.update(over)
    return form


def test_member_records_opinion_it_is_public_and_audited(make_user, client, engine, data):
    member = make_user(role="council", council_district=DEBNIKI)
    pid = data["park"]
    form_page = member.get(f"/councils/8/proposals/{pid}/opinion")
    assert form_page.status_code == 200 and "Park kieszonkowy" in form_page.text
    # a well-formed max on the date input (it was max="&quot;2026-12-01&quot;")
    assert re.search(r'id="f-resolution_date"[^>]* max="\d{4}-\d{2}-\d{2}"', form_page.text)
    assert "&quot;" not in form_page.text.split('id="f-resolution_date"')[1].split(">")[0]
    r = member.post(f"/councils/8/proposals/{pid}/opinion", data=_opinion_form())
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/proposals/{pid}")

    # public on the proposal's permalink page (anonymous visitor) …
    page = client.get(f"/layers/budget-proposals/{pid}", follow_redirects=True)
    assert page.status_code == 200 and page.request.path == f"/proposals/{pid}"
    assert "Opinie rad dzielnic" in page.text
    assert "Uchwała nr XII/123/25" in page.text
    assert "park jest potrzebny mieszkańcom Ruczaju" in page.text
    assert "pozytywna" in page.text
    # … and in the map popup data (the layer's public properties)
    feat = client.get(f"/api/layers/budget-proposals/features/{pid}").get_json()
    assert feat["properties"]["council_opinion"] == "positive"
    assert (
        "council_opinion" in client.get("/api/layers/budget-proposals").get_json()["popup_fields"]
    )

    # a second opinion of the same council replaces the first (JSON this time), audited
    r = member.post(
        f"/councils/8/proposals/{pid}/opinion",
        json=_opinion_form(opinion="remarks", justification="Popieramy, ale bez wycinki drzew."),
    )
    assert r.status_code == 200 and r.json["opinion"]["replaced"] is True
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT opinion::text, justification FROM council_opinions WHERE proposal_id = :p"
            ),
            {"p": pid},
        ).all()
        assert rows == [("remarks", "Popieramy, ale bez wycinki drzew.")]
        actions = conn.execute(
            text(
                "SELECT action, actor_id, reason FROM audit_log "
                "WHERE target_table = 'council_opinions' ORDER BY id"
            )
        ).all()
        assert [a for a, _, _ in actions][-2:] == [
            "council.opinion.create",
            "council.opinion.replace",
        ]
        assert actions[-1][1] == member.user.id
        assert "park jest potrzebny" in actions[-1][2]  # the replaced text is kept in the log
        assert (
            conn.execute(
                text("SELECT council_opinion FROM budget_proposals WHERE id = :p"), {"p": pid}
            ).scalar()
            == "remarks"
        )
    assert (
        client.get(f"/api/layers/budget-proposals/features/{pid}").get_json()["properties"][
            "council_opinion"
        ]
        == "remarks"
    )


def test_member_of_another_district_gets_403(make_user, engine, data):
    pid = data["boisko"]
    other = make_user(role="council", council_district=OTHER)
    assert other.get(f"/councils/8/proposals/{pid}/opinion").status_code == 403
    r = other.post(f"/councils/8/proposals/{pid}/opinion", data=_opinion_form())
    assert r.status_code == 403
    r = other.post(f"/councils/8/proposals/{pid}/opinion", json=_opinion_form())
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    resident = make_user(district=DEBNIKI)
    assert (
        resident.post(f"/councils/8/proposals/{pid}/opinion", data=_opinion_form()).status_code
        == 403
    )
    assert (
        other.post("/councils/8/priorities?edition=2025", data={f"rank-{pid}": "1"}).status_code
        == 403
    )
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM council_opinions WHERE proposal_id = :p"), {"p": pid}
            ).scalar()
            == 0
        )
        assert conn.execute(text("SELECT count(*) FROM council_priorities")).scalar() == 0


def test_anonymous_is_sent_to_login(client, data):
    r = client.get(f"/councils/8/proposals/{data['park']}/opinion")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_admin_may_record_for_any_district(make_user, engine, data):
    admin = make_user(role="admin")
    r = admin.post(
        f"/councils/8/proposals/{data['whole']}/opinion", json=_opinion_form(opinion="negative")
    )
    assert r.status_code == 201 and r.json["opinion"]["replaced"] is False


@pytest.mark.parametrize(
    "over, field, code",
    [
        ({"opinion": "maybe"}, "opinion", "invalid"),
        ({"opinion": ""}, "opinion", "required"),
        ({"justification": "   "}, "justification", "required"),
        ({"justification": "x" * 5001}, "justification", "too_long"),
        ({"resolution_date": "12.03.2025"}, "resolution_date", "invalid_date"),
        ({"resolution_date": "2999-01-01"}, "resolution_date", "out_of_range"),
        ({"resolution_date": ""}, "resolution_date", "required"),
        ({"resolution_ref": "U" * 121}, "resolution_ref", "too_long"),
    ],
)
def test_bad_opinion_is_400_naming_the_field(make_user, engine, data, over, field, code):
    member = make_user(role="council", council_district=DEBNIKI)
    pid = data["lawki"]
    r = member.post(f"/councils/8/proposals/{pid}/opinion", json=_opinion_form(**over))
    assert r.status_code == 400
    assert r.json["error"]["field"] == field and r.json["error"]["code"] == code
    r = member.post(f"/councils/8/proposals/{pid}/opinion", data=_opinion_form(**over))
    assert r.status_code == 400 and f'id="f-{field}' in r.text
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM council_opinions WHERE proposal_id = :p"), {"p": pid}
            ).scalar()
            == 0
        )


def test_opinion_only_on_public_proposals_of_the_district(make_user, data):
    member = make_user(role="council", council_district=DEBNIKI)
    for key in ("elsewhere", "draft", "hidden"):
        r = member.post(f"/councils/8/proposals/{data[key]}/opinion", data=_opinion_form())
        assert r.status_code == 404, key


def test_one_opinion_per_council_under_parallel_saves(app, engine, data):
    """The UNIQUE constraint + ON CONFLICT: 16 parallel saves leave one row."""
    import threading

    from civic import councils as gc

    pid = data["citywide"]
    errors = []

    def save(i):
        try:
            with engine.begin() as conn:
                gc.record_opinion(
                    conn, proposal_id=pid, district=DEBNIKI, opinion="remarks",
                    justification=f"wersja {i}", resolution_date=__import__("datetime").date(2025, 3, 1),
                    resolution_ref=None, author_id=None,
                )  # fmt: skip
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with engine.begin() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM council_opinions WHERE proposal_id = :p"), {"p": pid}
            ).scalar()
            == 1
        )
        conn.execute(text("DELETE FROM council_opinions WHERE proposal_id = :p"), {"p": pid})
        assert (
            conn.execute(
                text("SELECT council_opinion FROM budget_proposals WHERE id = :p"), {"p": pid}
            ).scalar()
            is None
        )


def test_priorities(make_user, client, engine, data):
    member = make_user(role="council", council_district=DEBNIKI)
    page = member.get("/councils/8/priorities?edition=2025")
    assert page.status_code == 200
    # district proposals of 2025 only (no city-wide one, nothing from 2024)
    assert f'name="rank-{data["park"]}"' in page.text
    assert f'name="rank-{data["citywide"]}"' not in page.text
    assert f'name="rank-{data["old"]}"' not in page.text
    url = "/councils/8/priorities?edition=2025"
    r = member.post(url, data={f"rank-{data['park']}": "2", f"rank-{data['boisko']}": "2"})
    assert r.status_code == 400 and "jest już użyty" in r.text
    r = member.post(url, json={f"rank-{data['park']}": "0"})
    assert r.status_code == 400 and r.json["error"]["field"] == f"rank-{data['park']}"
    r = member.post(url, json={f"rank-{data['elsewhere']}": "1"})
    assert r.status_code == 400 and r.json["error"]["code"] == "unknown"
    r = member.post(
        url,
        data={
            f"rank-{data['park']}": "2",
            f"rank-{data['boisko']}": "1",
            f"rank-{data['whole']}": "",
        },
    )
    assert r.status_code == 302
    # reorder: the whole ranking is replaced (no clash with the old ranks)
    r = member.post(url, json={f"rank-{data['park']}": "1", f"rank-{data['boisko']}": "2"})
    assert r.status_code == 200
    with engine.connect() as conn:
        ranks = dict(
            conn.execute(
                text(
                    "SELECT proposal_id, rank FROM council_priorities "
                    "WHERE district = 8 AND edition = 2025"
                )
            ).all()
        )
    assert ranks == {data["park"]: 1, data["boisko"]: 2}
    public = client.get("/councils/8/priorities?edition=2025")
    assert public.status_code == 200 and 'name="rank-' not in public.text


def test_report_numbers_equal_direct_sql(client, engine, app, data):
    from civic import councils as gc
    from civic.councils import visibility

    with app.app_context(), engine.connect() as conn:
        rep = gc.report(conn, DEBNIKI, visibility(), 2025)
        q = lambda sql: conn.execute(text(sql), {"d": DEBNIKI}).scalar()  # noqa: E731
        base = (
            "FROM budget_proposals WHERE :d = ANY(districts) AND edition = 2025 "
            "AND hidden_at IS NULL AND status <> 'draft'"
        )
        assert rep.count == q(f"SELECT count(*) {base} AND scope = 'district'")
        assert len(rep.citywide) == q(f"SELECT count(*) {base} AND scope = 'citywide'")
        assert rep.money_asked == float(q(f"SELECT sum(cost) {base} AND scope = 'district'"))
        assert rep.money_in_play == float(
            q(f"SELECT sum(cost) {base} AND scope = 'district' AND status <> 'rejected'")
        )
        # no pool for 2025 yet: the latest edition that has one (the real 2024 edition)
        pool = conn.execute(
            text(
                "SELECT edition, budget::float8 FROM budget_pools WHERE scope = 'district' "
                "AND district = :d ORDER BY edition DESC LIMIT 1"
            ),
            {"d": DEBNIKI},
        ).one()
        assert pool.edition < 2025
        assert rep.pool == {"edition": pool.edition, "budget": pool.budget}
        assert rep.comments_in_district == q(
            "SELECT count(*) FROM consultation_comments WHERE :d = ANY(districts) "
            "AND status = 'published' AND hidden_at IS NULL"
        )
        k8 = next(c for c in rep.consultations if c["id"] == data["k8"])
        assert k8["in_district"] == 3 and k8["total"] == 3
        assert all(c["id"] != data["k1"] for c in rep.consultations)  # I does not touch VIII
        assert sum(rep.status_counts.values()) == rep.count
        assert sum(rep.opinion_counts.values()) == rep.count
        assert rep.pool_ratio == pytest.approx(rep.money_asked / pool.budget)
    r = client.get("/councils/8/report?edition=2025")
    assert r.status_code == 200
    html = r.text
    assert re.search(r'data-key="count">(\d+)<', html).group(1) == str(rep.count)
    assert 'data-key="pool"' in html and f"edycja {pool.edition}" in html
    assert "<svg" in html and 'role="img"' in html
    _legend_below_the_features(html)
    assert "@media print" in client.get("/static/css/print.css").text
    for key in ("park", "boisko", "lawki", "whole", "citywide"):
        assert f'data-id="{data[key]}"' in html
    assert f'data-id="{data["old"]}"' not in html  # another edition
    # an edition with a pool of its own
    with app.app_context(), engine.connect() as conn:
        rep24 = gc.report(conn, DEBNIKI, visibility(), 2024)
        assert rep24.pool["edition"] == 2024
        assert (
            rep24.count
            == conn.execute(
                text(
                    "SELECT count(*) FROM budget_proposals WHERE :d = ANY(districts) AND edition = 2024 "
                    "AND scope = 'district' AND status <> 'draft' AND hidden_at IS NULL"
                ),
                {"d": DEBNIKI},
            ).scalar()
        )
        assert rep24.count > 1  # the real 2024 edition and the test one


def _download(client, url) -> Path:
    r = client.get(url)
    assert r.status_code == 200, r.text[:500]
    suffix = url.split("?")[0].rsplit(".", 1)[1]
    path = Path(tempfile.mkdtemp(prefix="council-test-")) / f"report.{suffix}"
    path.write_bytes(r.data)
    return path


def test_report_csv_and_gpkg_round_trip(client, engine, app, data):
    import datetime as dt

    from civic import councils as gc
    from civic.councils import visibility

    formula = '=HYPERLINK("http://evil.example/","kliknij")'
    with engine.begin() as conn:  # a justification a spreadsheet would run as a formula
        gc.record_opinion(
            conn,
            proposal_id=data["boisko"],
            district=DEBNIKI,
            opinion="negative",
            justification=formula,
            resolution_date=dt.date(2025, 3, 1),
            resolution_ref=None,
            author_id=None,
        )
    with app.app_context(), engine.connect() as conn:
        rep = gc.report(conn, DEBNIKI, visibility(), 2025)
    expected_ids = sorted(r["id"] for r in rep.proposals + rep.citywide)

    csv = _download(client, "/councils/8/report.csv?edition=2025")
    raw = csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    assert "Ławki nad Wisłą".encode() in raw
    df = pyogrio.read_dataframe(csv, read_geometry=False)
    assert sorted(int(i) for i in df["id"]) == expected_ids
    assert {"opinia", "uzasadnienie", "nr_uchwaly", "priorytet", "koszt"} <= set(df.columns)
    cell = df.set_index(df["id"].astype(int)).loc[data["boisko"], "uzasadnienie"]
    assert cell == "'" + formula  # neutralised for Excel / LibreOffice
    # people read the CSV: labels in their language, not the stored codes
    row = df.set_index(df["id"].astype(int)).loc[data["boisko"]]
    assert row["opinia"] == "negatywna"
    assert row["zasieg"] in {"dzielnicowy", "ogólnomiejski"}, row["zasieg"]
    codes = {"not_selected", "accepted_for_vote", "submitted", "district", "citywide"}
    assert not codes & set(df["status"]) and not codes & set(df["zasieg"])
    en = pyogrio.read_dataframe(
        _download(client, "/councils/8/report.csv?edition=2025&lang=en"), read_geometry=False
    )
    assert en.set_index(en["id"].astype(int)).loc[data["boisko"], "opinia"] == "negative"

    gpkg = _download(client, "/councils/8/report.gpkg?edition=2025")
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"podsumowanie", "konsultacje"} <= layers
    main = next(name for name in layers if name.startswith("raport-rada-dzielnicy-8"))
    gdf = pyogrio.read_dataframe(gpkg, layer=main)
    assert sorted(gdf["id"].tolist()) == expected_ids
    by_id = gdf.set_index("id")
    assert by_id.loc[data["whole"], "geometry"] is None  # a whole-district proposal
    assert by_id.loc[data["park"], "geometry"].geom_type == "Point"
    assert by_id.loc[data["park"], "koszt"] == 250_000
    assert gdf.crs.to_epsg() == 4326
    summary = dict(pyogrio.read_dataframe(gpkg, layer="podsumowanie").values.tolist())
    assert summary["projekty_dzielnicowe"] == str(rep.count)
    assert by_id.loc[data["boisko"], "uzasadnienie"] == formula  # GeoPackage keeps it as is
    assert summary["pula"] == f"{rep.pool['budget']:.2f}"
    assert summary["pula_edycja"] == str(rep.pool["edition"])
    cons = pyogrio.read_dataframe(gpkg, layer="konsultacje")
    assert cons.set_index("id").loc[data["k8"], "uwagi_w_dzielnicy"] == 3
    # the opinion recorded in an earlier test travels with the report
    with engine.connect() as conn:
        op = conn.execute(
            text(
                "SELECT opinion::text FROM council_opinions WHERE proposal_id = :p AND district = 8"
            ),
            {"p": data["park"]},
        ).scalar()
    if op:
        assert by_id.loc[data["park"], "opinia"] == op


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no Chromium to print PDF")
def test_report_pdf_without_network(client, data):
    page = client.get("/councils/8/report?edition=2025")
    assert "/councils/8/report.pdf" in page.text
    r = client.get("/councils/8/report.pdf?edition=2025")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF")


def test_pdf_link_hidden_without_chromium(app, client, data):
    app.config["COUNCIL_CHROMIUM"] = "/nonexistent/chromium"
    try:
        assert "report.pdf" not in client.get("/councils/8/report").text
        assert client.get("/councils/8/report.pdf").status_code == 404
    finally:
        app.config.pop("COUNCIL_CHROMIUM")


def test_notify_council_members_of_the_district_only(app, engine, make_user, outbox, data):
    from flask import Response

    from civic.councils import notify_council

    m8 = make_user(role="council", council_district=DEBNIKI)
    m8_unconfirmed = make_user(role="council", council_district=DEBNIKI, confirmed=False)
    m1 = make_user(role="council", council_district=OTHER)
    outbox()  # empty it
    app.config["COUNCIL_MAIL"] = True
    try:
        with app.test_request_context("/"):
            with engine.begin() as conn:
                members_viii = conn.execute(
                    text(
                        "SELECT count(*) FROM users WHERE council_district = 8 "
                        "AND 'council' = ANY(roles) AND deleted_at IS NULL"
                    )
                ).scalar()
                n = notify_council(conn, None, "budget_proposals", data["boisko"])
                assert n == members_viii >= 2  # every member of VIII's council, once
                # the same item again: nobody is told twice
                assert notify_council(conn, [DEBNIKI], "budget_proposals", data["boisko"]) == 0
                # drafts and content waiting for a moderator are not news yet
                assert notify_council(conn, None, "budget_proposals", data["draft"]) == 0
                assert notify_council(conn, None, "consultation_comments", data["cpending"]) == 0
                # a city-wide proposal: both councils
                assert notify_council(conn, None, "budget_proposals", data["citywide"]) >= 3
            app.process_response(Response())  # runs the after-request mailer
    finally:
        app.config.pop("COUNCIL_MAIL")
    with engine.connect() as conn:
        got = conn.execute(
            text(
                "SELECT user_id, params->>'id' FROM notifications "
                "WHERE message_key = 'council_new_item' AND user_id = ANY(:u)"
            ),
            {"u": [m8.user.id, m8_unconfirmed.user.id, m1.user.id]},
        ).all()
    assert sorted((u, int(i)) for u, i in got if int(i) == data["boisko"]) == sorted(
        [(m8.user.id, data["boisko"]), (m8_unconfirmed.user.id, data["boisko"])]
    )
    assert (m1.user.id, str(data["citywide"])) in got
    mails = outbox()
    to = sorted(str(m["To"]) for m in mails)
    assert m8.user.email in to and m1.user.email in to
    assert m8_unconfirmed.user.email not in to  # no mail to an unconfirmed address
    body = next(m for m in mails if str(m["To"]) == m8.user.email).get_content()
    assert "Boisko przy szkole" in body or "Trasa rowerowa" in body
    # the notification reads well in the member's account
    page = m8.get("/account")
    assert "Nowy wpis w dzielnicy VIII" in page.text


def test_no_mail_for_a_rolled_back_write(app, engine, make_user, outbox, data):
    from flask import Response

    from civic.councils import notify_council

    make_user(role="council", council_district=OTHER)
    outbox()
    app.config["COUNCIL_MAIL"] = True
    try:
        with app.test_request_context("/"):
            with engine.connect() as conn:
                trans = conn.begin()
                assert notify_council(conn, None, "budget_proposals", data["elsewhere"]) >= 1
                trans.rollback()
            app.process_response(Response())
    finally:
        app.config.pop("COUNCIL_MAIL")
    assert outbox() == []


def test_constraints_guarantee_one_opinion_and_unique_ranks(engine, data):
    from sqlalchemy.exc import IntegrityError

    with engine.connect() as conn:
        trans = conn.begin()
        try:
            conn.execute(
                text(
                    "INSERT INTO council_priorities (district, edition, proposal_id, rank) "
                    "VALUES (8, 2023, :a, 1)"
                ),
                {"a": data["lawki"]},
            )
            for sql in (
                "INSERT INTO council_priorities (district, edition, proposal_id, rank) VALUES (8, 2023, :b, 1)",
                "INSERT INTO council_priorities (district, edition, proposal_id, rank) VALUES (8, 2023, :a, 2)",
                "INSERT INTO council_opinions (proposal_id, district, opinion, justification, resolution_date) "
                "VALUES (:a, 8, 'positive', 'x', '2025-01-01'), (:a, 8, 'negative', 'y', '2025-01-02')",
                "INSERT INTO council_opinions (proposal_id, district, opinion, justification, resolution_date) "
                "VALUES (:a, 8, 'positive', '  ', '2025-01-01')",
            ):
                with pytest.raises(IntegrityError), conn.begin_nested():
                    conn.execute(text(sql), {"a": data["lawki"], "b": data["park"]})
            # a client cannot set the derived summary
            conn.execute(
                text("UPDATE budget_proposals SET council_opinion = 'positive' WHERE id = :a"),
                {"a": data["lawki"]},
            )
            assert (
                conn.execute(
                    text("SELECT council_opinion FROM budget_proposals WHERE id = :a"),
                    {"a": data["lawki"]},
                ).scalar()
                is None
            )
        finally:
            trans.rollback()


def test_queue_uses_the_gin_index(engine, app, data):
    """The district condition is one the GIN index on ``districts`` can answer."""
    from civic import councils as gc
    from civic.councils import visibility

    with app.app_context(), engine.connect() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        vis = visibility()
        params = {"district": DEBNIKI}
        where = gc.common.proposal_conds(vis, gc.QueueFilter(), params)
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                text(
                    f"EXPLAIN SELECT p.status, count(*) FROM budget_proposals p WHERE {where} GROUP BY 1"
                ),
                params,
            )
        )
    assert "budget_proposals_districts_gin" in plan
