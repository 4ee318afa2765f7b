"""Helpers for the tests that post to /propose: a budget edition whose submission phase is open.

A proposal goes into the edition open for submissions (civic/participation/limits.py); the
template database has only the closed past editions (2018–2024). ``open_edition`` creates, on
the module's database, edition :data:`YEAR` with Kraków 2025's configuration (pools split like
the 2024 pools, each district maximum 40 % of its pool) and a submission phase from yesterday
to 30 days from now. Use it in a module::

    from propose_support import open_edition  # noqa: F401  (a module-scoped fixture)
    pytestmark = pytest.mark.usefixtures("open_edition")
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

YEAR = 2027
# what every submitted form declares (Kraków, and the district for a district project)
DECLARED = {"declared_residency": "1", "declared_district_residency": "1"}


def create_open_edition(engine, year: int = YEAR) -> int:
    from civic.pb.clock import today
    from civic.pb.editions import create_edition

    day = today()
    with engine.begin() as conn:
        if conn.execute(text("SELECT 1 FROM pb_editions WHERE year = :y"), {"y": year}).first():
            return year
        create_edition(
            conn,
            year,
            None,
            dates={"submission": (day - timedelta(days=1), day + timedelta(days=30))},
        )
    return year


def close_submissions(engine, year: int = YEAR, next_in_days: int | None = 60) -> None:
    """Move the edition's submission phase out of today: to ``next_in_days`` from now (or to
    last year with None: nothing scheduled)."""
    from civic.pb.clock import today

    day = today()
    if next_in_days is None:
        starts, ends = day - timedelta(days=400), day - timedelta(days=370)
    else:
        starts, ends = day + timedelta(days=next_in_days), day + timedelta(days=next_in_days + 30)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE pb_edition_phases SET starts_on = :s, ends_on = :f "
                "WHERE edition = :e AND phase = 'submission'"
            ),
            {"e": year, "s": starts, "f": ends},
        )


def reopen_submissions(engine, year: int = YEAR) -> None:
    from civic.pb.clock import today

    day = today()
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE pb_edition_phases SET starts_on = :s, ends_on = :f "
                "WHERE edition = :e AND phase = 'submission'"
            ),
            {"e": year, "s": day - timedelta(days=1), "f": day + timedelta(days=30)},
        )


@pytest.fixture(scope="module")
def open_edition(engine) -> int:
    """Edition :data:`YEAR`, open for submissions from yesterday to +30 days."""
    return create_open_edition(engine)
