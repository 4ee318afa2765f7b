"""`civicmap results <edition> --rule greedy|mes [--json]` on the shipped 2022 edition."""

from __future__ import annotations

import json

from click.testing import CliRunner


def _run(db_url, monkeypatch, *args):
    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    return CliRunner().invoke(main, ["results", *args], catch_exceptions=False)


def test_results_json_per_pool(db_url, monkeypatch, engine):
    r = _run(db_url, monkeypatch, "2022", "--rule", "greedy", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["edition"] == 2022 and doc["rule"] == "greedy"
    pools = doc["pools"]
    assert [p["name"] for p in pools][:2] == ["Kraków", "Stare Miasto"]
    assert len(pools) == 19
    city = pools[0]
    assert city["budget"] > 1_000_000
    assert len(city["funded"]) == 13  # as published: 13 city-wide projects selected in 2022
    for p in pools:
        assert abs(p["budget"] - p["spent"] - p["left"]) < 0.01 and p["left"] >= 0
        assert all({"external_id", "points", "cost"} <= set(f) for f in p["funded"])


def test_results_text_and_an_unknown_edition(db_url, monkeypatch):
    r = _run(db_url, monkeypatch, "2022")
    assert r.exit_code == 0
    assert "Czyżyny — budget" in r.output and "left:" in r.output
    r = _run(db_url, monkeypatch, "1999")
    assert r.exit_code != 0 and "no pools for edition 1999" in r.output
