"""Helpers for the budget-process tests (tests/test_pb_*.py): users, an edition on a clock."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, date, datetime

from sqlalchemy import text

_n = itertools.count(1)


def add_user(conn, roles=("resident",), district=None, council_district=None) -> int:
    n = next(_n)
    return conn.execute(
        text(
            """INSERT INTO users (email, name, password_hash, roles, district, council_district,
                   confirmed_at)
               VALUES (:e, :n, 'x', :r, :d, :c, now()) RETURNING id"""
        ),
        {
            "e": f"pb{n}-{os.getpid()}@example.org",
            "n": f"PB user {n}",
            "r": list(roles),
            "d": district,
            "c": council_district,
        },
    ).scalar_one()


def at(year: int, month: int, day: int) -> datetime:
    """Noon in Kraków on that day (as an aware UTC datetime): the controllable clock."""
    return datetime(year, month, day, 11, 0, tzinfo=UTC)


def d(year: int, month: int, day: int) -> date:
    return date(year, month, day)


POINT_IN_STARE_MIASTO = "POINT(19.9373 50.0617)"
