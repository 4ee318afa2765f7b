"""An open edition in its voting phase, with a small ballot list (for the voting tests)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text

VOTE_YEAR = 2031
DISTRICT = 13  # Podgórze
CITY_IDS = [f"BO.OM.{n}/31" for n in range(1, 6)]
LOCAL_IDS = [f"BO.D13.{n}/31" for n in range(1, 6)]
OTHER_IDS = [f"BO.D1.{n}/31" for n in range(1, 4)]  # Stare Miasto: not on a Podgórze ballot


def open_voting_edition(engine, year: int = VOTE_YEAR) -> int:
    from civic.pb.editions import create_edition
    from civic.pb.phases import PHASES

    today = date.today()
    dates = {}
    for i, p in enumerate(PHASES):
        k = PHASES.index("voting")
        if i < k:
            d = today - timedelta(days=40 - 4 * i)
            dates[p] = (d, d + timedelta(days=2))
        elif i == k:
            dates[p] = (today - timedelta(days=2), today + timedelta(days=5))
        else:
            d = today + timedelta(days=10 + 4 * (i - k))
            dates[p] = (d, d + timedelta(days=2))
    with engine.begin() as conn:
        if conn.execute(text("SELECT 1 FROM pb_editions WHERE year = :y"), {"y": year}).first():
            return year
        create_edition(conn, year, None, dates=dates)
        rows = [(x, "citywide", 0, 100_000 * (n + 1)) for n, x in enumerate(CITY_IDS)]
        rows += [(x, "district", DISTRICT, 20_000 * (n + 1)) for n, x in enumerate(LOCAL_IDS)]
        rows += [(x, "district", 1, 10_000) for x in OTHER_IDS]
        for x, scope, d, cost in rows:
            conn.execute(
                text(
                    """INSERT INTO budget_proposals (edition, title, cost, scope, status,
                           external_id, districts, pool_district, ballot_number)
                       VALUES (:y, :t, :c, :s, 'accepted_for_vote', :x, :ds, :d, :b)"""
                ),
                {
                    "y": year,
                    "t": f"Projekt {x}",
                    "c": cost,
                    "s": scope,
                    "x": x,
                    "ds": [d] if d else [],
                    "d": d,
                    "b": int(x.split(".")[2].split("/")[0]),
                },
            )
    return year


def counts(engine, year: int = VOTE_YEAR) -> dict[str, int]:
    with engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql), {"y": year}).scalar_one()  # noqa: E731
        return {
            "register": q("SELECT count(*) FROM pb_voter_register WHERE edition = :y"),
            "urn": q("SELECT count(*) FROM pb_urn WHERE edition = :y"),
            "ballots": q("SELECT count(*) FROM ballots WHERE edition = :y"),
            "invalid": q("SELECT count(*) FROM pb_invalid_ballots WHERE edition = :y"),
            "voted": q("SELECT count(*) FROM pb_declarations WHERE edition = :y AND voted"),
        }
