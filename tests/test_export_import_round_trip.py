"""Our own exports import back: every export format of every importable layer, read by
``civicmap import vector`` (the same importer a deployer uses), gives 0 rejected and 0 new
rows — every row is found again by its external id and nothing is duplicated."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from importers.vector import import_vector
from layers import registry

FORMATS = ["gpkg", "shp", "geojson", "csv"]


def _layers_with_rows(engine) -> list[str]:
    out = []
    with engine.connect() as conn:
        for lay in registry.all_layers():
            if not lay.write_roles:  # read-only views (pb-results, pb-execution): not importable
                continue
            n = conn.execute(text(f"SELECT count(*) FROM {lay.table}")).scalar()
            if n:
                out.append(lay.name)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_export_imports_back(client, engine, tmp_path: Path, fmt):
    names = _layers_with_rows(engine)
    assert "budget-proposals" in names
    for name in names:
        r = client.get(f"/exports/{name}.{fmt}")
        assert r.status_code == 200, (name, fmt, r.data[:300])
        filename = r.headers["Content-Disposition"].split('filename="')[1].rstrip('"')
        path = tmp_path / filename
        path.write_bytes(r.data)
        with engine.begin() as conn:
            before = conn.execute(text(f"SELECT count(*) FROM {registry.get(name).table}")).scalar()
            rep = import_vector(conn, path, name, dry_run=True, progress=False)
        assert rep.read > 0, (name, fmt)
        assert not rep.rejected, (name, fmt, rep.read, [str(x) for x in rep.rejected[:5]])
        assert rep.imported == 0, (name, fmt, rep.imported, rep.read)
        assert rep.accepted == rep.read, (name, fmt)
        assert rep.updated == 0, (name, fmt, rep.updated)  # nothing lost on the way
        with engine.connect() as conn:  # a dry run leaves no trace
            after = conn.execute(text(f"SELECT count(*) FROM {registry.get(name).table}")).scalar()
        assert after == before


def test_a_resident_proposal_comes_back_to_its_row(client, engine, tmp_path: Path):
    """A row made in the app has no external id: the export gives it ours, and a real
    (not dry-run) import of the file finds the row again instead of adding a copy."""
    with engine.begin() as conn:
        pid = conn.execute(
            text(
                "INSERT INTO budget_proposals (title, edition, scope, status, districts, cost) "
                "VALUES ('Ławka przy Długiej', 2025, 'district', 'submitted', '{1}', 5000) "
                "RETURNING id"
            )
        ).scalar()
    r = client.get("/exports/budget-proposals.gpkg")
    path = tmp_path / "own.gpkg"
    path.write_bytes(r.data)
    with engine.begin() as conn:
        rep = import_vector(conn, path, "budget-proposals", progress=False)
        assert rep.imported == 0 and not rep.rejected
        ext = conn.execute(
            text("SELECT external_id FROM budget_proposals WHERE id = :i"), {"i": pid}
        ).scalar()
        n = conn.execute(
            text("SELECT count(*) FROM budget_proposals WHERE title = 'Ławka przy Długiej'")
        ).scalar()
    assert ext == f"civicmap:budget-proposals:{pid}" and n == 1
