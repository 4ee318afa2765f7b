"""The API, OGC API and export answers stay byte-for-byte the same for the same data (issue 12).

The read path became one (layers.query) with the OGC items, the API and the exports all
going through it; these answers were written by the two read paths before that, on fixed
data: the test layer of tests/test_ogc_testlayer.py (every field type, a private field,
drafts, fixed update times) and the shipped districts. tests/readpath_support.py asks the
sample; only what the clock or a fresh database changes is masked (an export's time, the
districts' load time). The same module captures ~90 answers on the real layers by hand
(see its docstring) for a before/after comparison.

A deliberate change of an answer: regenerate with
``READPATH_WRITE_GOLDEN=1 .venv/bin/python -m pytest tests/test_readpath_golden.py`` and say
why in the commit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import test_ogc_testlayer as tl
from sqlalchemy import text

from tests.readpath_support import capture, golden_consumer_urls, golden_urls, seed

GOLDEN = Path(__file__).resolve().parent / "data" / "readpath"


@pytest.fixture(scope="module")
def answers(app, engine):
    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM ngo_locations")).scalar_one() == 0:
            seed(conn)
        more = golden_consumer_urls(conn)
    with tl.installed(engine) as ids:
        yield capture(app, sample=golden_urls(ids) + more)


def test_the_sample_covers_api_ogc_and_exports(answers):
    firsts = [b.split("\n", 1)[0] for b in answers.values()]
    for prefix in (
        "200 /api/layers",
        "200 /api/districts",
        "200 /ogc/collections",
        "200 /exports/",
    ):
        assert any(u.startswith(prefix) for u in firsts), prefix
    assert any(u.startswith("400 ") for u in firsts) and any(u.startswith("404 ") for u in firsts)
    assert not any(tl.SECRET in b for b in answers.values())


def test_answers_are_byte_for_byte_the_golden_ones(answers):
    if os.environ.get("READPATH_WRITE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for old in GOLDEN.glob("*.txt"):
            old.unlink()
        for name, body in answers.items():
            (GOLDEN / name).write_text(body, encoding="utf-8")
    golden = {p.name: p.read_text(encoding="utf-8") for p in sorted(GOLDEN.glob("*.txt"))}
    assert sorted(golden) == sorted(answers), "the sample of URLs changed"
    changed = [name for name in golden if golden[name] != answers[name]]
    assert not changed, f"{len(changed)} answers differ from tests/data/readpath/: {changed}"
