"""One write path: the propose form and the importers check a feature's values with the same
validator (layers/validate.py), and a form's own limit is declared on the layer's Field."""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest
from propose_support import DECLARED, open_edition
from sqlalchemy import text

from importers.writer import Row, import_rows
from layers import registry
from layers import validate as lv

PROPOSALS = registry.get("budget-proposals")
JSON = {"Accept": "application/json"}
NOWA_HUTA = [
    [20.036, 50.071],
    [20.040, 50.071],
    [20.040, 50.073],
    [20.036, 50.073],
    [20.036, 50.071],
]
PLAC_CENTRALNY = {"type": "Point", "coordinates": [20.0375, 50.0717]}

pytestmark = pytest.mark.usefixtures("open_edition")
assert open_edition  # a module-scoped fixture: an edition open for submissions


def form(**overrides) -> dict:
    data = {
        "form_key": uuid.uuid4().hex,
        "action": "submit",
        "scope": "district",
        "location": "map",
        "geometry": json.dumps({"type": "Polygon", "coordinates": [NOWA_HUTA]}),
        "title": "Ławki na Placu Centralnym",
        "description": "Nowe ławki i zieleń wokół placu.",
        "category": "public space",
        "cost": "120 000",
        **DECLARED,
    }
    data.update(overrides)
    return data


def good_properties(**overrides) -> dict:
    props = {
        "edition": 2024,
        "title": "Ławki na Placu Centralnym",
        "description": "Nowe ławki i zieleń wokół placu.",
        "category": "public space",
        "cost": "120000",
        "scope": "district",
        "status": "submitted",
    }
    props.update(overrides)
    return props


def web_errors(client, **overrides) -> dict[str, str]:
    r = client.post("/propose", data=form(**overrides), headers=JSON)
    assert r.status_code == 400, r.data[:500]
    return {f: v["code"] for f, v in r.get_json()["error"]["fields"].items()}


def import_rejections(engine, field: str, value) -> dict[str, tuple[str, str | None]]:
    ext = f"onewrite:{uuid.uuid4().hex[:8]}"
    row = Row(ext, good_properties(**{field: value}), PLAC_CENTRALNY, ref=ext)
    with engine.begin() as conn:
        report = import_rows(conn, PROPOSALS, [row], dry_run=True)
    assert report.imported == 0
    return {r.field: (r.reason, r.code) for r in report.rejected}


# The same bad value, refused by the web form and by an import, naming the same field; the
# validator's own code is the one the web answers with.
BAD_VALUES = [
    ("title", "x" * 501, "too_long"),
    ("description", "x" * 10_001, "too_long"),
    ("category", "rockets", "not_a_choice"),
    ("scope", "galaxy", "not_a_choice"),
    ("cost", "dużo", None),
    ("cost", "NaN", None),
    ("cost", "-5", None),
]


@pytest.mark.parametrize("field, value, code", BAD_VALUES)
def test_form_and_importer_refuse_the_same_values(make_user, engine, field, value, code):
    resident = make_user()
    web = web_errors(resident, **{field: value})
    imported = import_rejections(engine, field, value)
    assert field in web and field in imported, (web, imported)
    problems = lv.validate(PROPOSALS, {field: value}, check_required=False, form=True)[1]
    assert [p.field for p in problems] == [field]
    if code is not None:  # the form's stricter spelling of an amount aside, the same code
        assert web[field] == imported[field][1] == code == problems[0].code


def test_a_good_value_passes_both(make_user, engine):
    resident = make_user()
    r = resident.post("/propose", data=form(title="Jedna droga zapisu"), headers=JSON)
    assert r.status_code == 201, r.data[:500]
    with engine.begin() as conn:
        report = import_rows(
            conn, PROPOSALS, [Row("onewrite:good", good_properties(), PLAC_CENTRALNY)], dry_run=True
        )
    assert (report.imported, report.rejected) == (1, [])


# --------------------------------------------------------------------------- the form's limit


def test_form_limit_is_the_fields():
    f = PROPOSALS.field("title")
    assert f.max_length == 500
    narrowed = dataclasses.replace(f, form_max_length=10)
    assert lv.check_value(narrowed, "x" * 11) == "x" * 11  # storage: 500
    with pytest.raises(lv.Invalid) as exc:
        lv.check_value(narrowed, "x" * 11, form=True)
    assert exc.value.problem.code == "too_long" and exc.value.problem.params["max"] == 10
    assert lv.form_max_length(dataclasses.replace(f, form_max_length=None)) == 500


@pytest.fixture()
def title_limit_40():
    """The budget layer with a title Field whose form limit is 40 (restored afterwards)."""
    original = registry.get("budget-proposals")
    fields = tuple(
        dataclasses.replace(f, form_max_length=40) if f.name == "title" else f
        for f in original.fields
    )
    registry.register(dataclasses.replace(original, fields=fields))
    yield 40
    registry.register(original)


def test_propose_form_reads_its_limit_from_the_field(make_user, title_limit_40):
    resident = make_user()
    html = resident.get("/propose").get_data(as_text=True)
    assert 'maxlength="40"' in html and 'maxlength="60"' not in html
    r = resident.post("/propose", data=form(title="x" * 41), headers=JSON)
    assert r.status_code == 400
    err = r.get_json()["error"]["fields"]["title"]
    assert err["code"] == "too_long" and "40" in err["message"]
    r = resident.post("/propose", data=form(title="y" * 40), headers=JSON)
    assert r.status_code == 201, r.data[:500]


def test_default_form_limit_is_sixty_and_storage_keeps_five_hundred(make_user, engine):
    resident = make_user()
    assert 'maxlength="60"' in resident.get("/propose").get_data(as_text=True)
    assert web_errors(resident, title="x" * 61)["title"] == "too_long"
    long_title = "Długi tytuł z archiwum " + "x" * 100  # past editions' titles are longer
    with engine.begin() as conn:
        report = import_rows(
            conn,
            PROPOSALS,
            [Row("onewrite:long", good_properties(title=long_title), PLAC_CENTRALNY)],
        )
        stored = conn.execute(
            text("SELECT title FROM budget_proposals WHERE external_id = 'onewrite:long'")
        ).scalar_one()
    assert report.imported == 1 and stored == long_title


def test_comment_form_uses_the_comment_layers_body_field(make_user, engine):
    body = registry.get("consultation-comments").field("body")
    with engine.begin() as conn:
        cid = conn.execute(
            text(
                "INSERT INTO consultations (title, description, opens_on, closes_on, stage, geom) "
                "VALUES ('Jedna droga', 'Opis.', current_date - 1, current_date + 30, 'open', "
                "ST_GeomFromText('POLYGON((20.030 50.068, 20.045 50.068, 20.045 50.078, "
                "20.030 50.078, 20.030 50.068))', 4326)) RETURNING id"
            )
        ).scalar_one()
    resident = make_user()
    r = resident.post(
        f"/consultations/{cid}/comments",
        data={"form_key": uuid.uuid4().hex, "place": "whole", "body": "x" * (body.max_length + 1)},
        headers=JSON,
    )
    assert r.status_code == 400
    assert r.get_json()["error"]["fields"]["body"]["code"] == "too_long"
    problems = lv.validate(
        registry.get("consultation-comments"),
        {"body": "x" * (body.max_length + 1)},
        check_required=False,
    )[1]
    assert [(p.field, p.code) for p in problems] == [("body", "too_long")]
