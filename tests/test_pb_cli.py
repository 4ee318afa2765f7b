"""`civicmap editions …`: editions from the command line, the same civic.pb calls as the web."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import text

from app.cli import main
from tests.pb_support import add_user


def test_editions_commands(db_url, engine, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CIVICMAP_MAIL_OUTBOX", str(tmp_path))
    run = CliRunner().invoke
    r = run(main, ["editions", "list"])
    assert r.exit_code == 0, r.output
    assert "2024\tclosed" in r.output and "2018\tclosed" in r.output
    r = run(main, ["editions", "create", "2039", "--support-count", "20"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["support_count"] == 20
    r = run(main, ["editions", "create", "2039"])
    assert r.exit_code != 0 and "edition_exists" in r.output
    r = run(main, ["editions", "set-phase", "2039", "voting", "2039-09-01", "2039-08-01"])
    assert r.exit_code != 0 and "dates_order" in r.output
    r = run(main, ["editions", "show", "2039", "--json"])
    shown = json.loads(r.output)
    assert {w["phase"] for w in shown["schedule"]} >= {"submission", "protests", "voting"}
    r = run(main, ["editions", "synthetic-parcels", "-n", "2"])
    assert r.exit_code == 0 and "4 synthetic parcels" in r.output
    with engine.begin() as conn:  # a project whose support list was incomplete yesterday
        author = add_user(conn, district=1)
        pid = conn.execute(
            text(
                """INSERT INTO budget_proposals (edition, title, scope, status, districts,
                       author_id, support_deadline)
                   VALUES (2039, 'Bez poparcia', 'district', 'submitted', '{1}', :a,
                           current_date - 1) RETURNING id"""
            ),
            {"a": author},
        ).scalar_one()
    r = run(main, ["editions", "tick"])
    assert r.exit_code == 0, r.output
    assert "2039: 1 without a support list" in r.output
    with engine.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM budget_proposals WHERE id = :p"), {"p": pid}
        ).scalar_one()
    assert status == "no_support_list"
    mails = list(tmp_path.glob("*.eml"))
    assert len(mails) == 1 and "Bez poparcia" in mails[0].read_text()
    with engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE target_table = 'pb_editions' AND target_id = 2039"
            )
        ).scalar_one()
    assert n >= 10  # creation + the nine phases set
