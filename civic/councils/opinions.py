"""Councils' opinions on budget proposals: one per council and proposal, replaced by a new one
(the audit log keeps the previous text)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.accounts import collect
from civic.audit import record_audit
from civic.councils.common import (
    JUSTIFICATION_MAX,
    OPINIONS,
    RESOLUTION_REF_MAX,
    TABLES,
    NotFound,
    QueueFilter,
    Tables,
    Visibility,
    district,
    invalid,
    proposal_conds,
    short,
)

TODAY_SLACK = dt.timedelta(days=1)  # a resolution dated "today" in any time zone is accepted

OPINION_TITLES = {
    "positive": N_("pozytywna"),
    "negative": N_("negatywna"),
    "remarks": N_("z uwagami"),
}


def proposal_in_district(
    conn: Connection, proposal_id: int, district: int, vis: Visibility, tables: Tables = TABLES
) -> dict[str, Any] | None:
    """A public proposal located in the district (the only ones a council gives opinions on)."""
    params: dict[str, Any] = {"district": district, "id": proposal_id}
    where = proposal_conds(vis, QueueFilter(), params)
    row = (
        conn.execute(
            text(
                f"""SELECT p.id, p.title, p.edition, p.scope, p.status, p.category,
                           p.cost::float8 AS cost, p.districts, p.description
                    FROM {tables.proposals} p WHERE p.id = :id AND {where}"""
            ),
            params,
        )
        .mappings()
        .one_or_none()
    )
    return dict(row) if row else None


def opinions_for(
    conn: Connection, proposal_ids: Sequence[int], tables: Tables = TABLES
) -> dict[int, list[dict[str, Any]]]:
    """The public opinions of the councils on these proposals, by proposal, by district."""
    if not proposal_ids:
        return {}
    rows = conn.execute(
        text(
            f"""SELECT o.proposal_id, o.district, d.name AS district_name,
                       d.full_name AS district_full_name, o.opinion::text AS opinion,
                       o.justification, o.resolution_date, o.resolution_ref, o.updated_at
                FROM {tables.opinions} o JOIN {tables.districts} d ON d.number = o.district
                WHERE o.proposal_id = ANY(:ids) ORDER BY o.proposal_id, o.district"""
        ),
        {"ids": list(proposal_ids)},
    ).mappings()
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["proposal_id"], []).append(dict(r))
    return out


def opinion_of(
    conn: Connection, proposal_id: int, district: int, tables: Tables = TABLES
) -> dict[str, Any] | None:
    return next(
        (
            o
            for o in opinions_for(conn, [proposal_id], tables).get(proposal_id, [])
            if o["district"] == district
        ),
        None,
    )


@dataclass
class OpinionWrite:
    id: int
    created: bool
    previous: dict[str, Any] | None  # the replaced opinion (None when new)


def record_opinion(
    conn: Connection,
    *,
    proposal_id: int,
    district: int,
    opinion: str,
    justification: str,
    resolution_date: date,
    resolution_ref: str | None,
    author_id: int | None,
    tables: Tables = TABLES,
) -> OpinionWrite:
    """Insert the council's opinion, or replace its earlier one (one per council and proposal).

    The UNIQUE (proposal_id, district) constraint and ON CONFLICT make two members saving at
    once end with one row. The caller has checked the proposal lies in the district.
    """
    if opinion not in OPINIONS:
        raise ValueError(f"opinion must be one of {OPINIONS}")
    t = tables
    row = conn.execute(
        text(
            f"""
WITH prev AS (
    SELECT opinion::text AS opinion, justification, resolution_date, resolution_ref
    FROM {t.opinions} WHERE proposal_id = :pid AND district = :district)
INSERT INTO {t.opinions} AS o (proposal_id, district, opinion, justification, resolution_date,
                               resolution_ref, author_id)
VALUES (:pid, :district, CAST(:opinion AS council_opinion_kind), :justification, :rdate,
        :rref, :author)
ON CONFLICT ON CONSTRAINT council_opinions_one_per_council DO UPDATE SET
    opinion = EXCLUDED.opinion, justification = EXCLUDED.justification,
    resolution_date = EXCLUDED.resolution_date, resolution_ref = EXCLUDED.resolution_ref,
    author_id = EXCLUDED.author_id, updated_at = now()
RETURNING o.id, (o.xmax = 0) AS created, (SELECT row_to_json(prev)::text FROM prev) AS previous"""
        ),
        {
            "pid": proposal_id,
            "district": district,
            "opinion": opinion,
            "justification": justification,
            "rdate": resolution_date,
            "rref": resolution_ref,
            "author": author_id,
        },
    ).one()
    previous = json.loads(row.previous) if row.previous else None
    return OpinionWrite(
        id=row.id, created=bool(row.created) and previous is None, previous=previous
    )


# --- the form ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpinionForm:
    opinion: str
    justification: str
    resolution_date: date
    resolution_ref: str | None


def validate_opinion(form: dict[str, Any], today: date | None = None) -> OpinionForm:
    """The opinion form's fields, or :class:`Invalid` naming every bad field."""
    today = today or dt.date.today()

    def opinion() -> str:
        v = form.get("opinion")
        if v not in OPINIONS:
            raise invalid(
                "opinion",
                "required" if not v else "invalid",
                N_("Pole „Opinia”: wybierz pozytywna, negatywna albo z uwagami."),
            )
        return v

    def justification() -> str:
        v = form.get("justification")
        v = v.strip() if isinstance(v, str) else ""
        if not v:
            raise invalid("justification", "required", N_("Pole „Uzasadnienie” jest wymagane."))
        if len(v) > JUSTIFICATION_MAX:
            raise invalid(
                "justification",
                "too_long",
                N_("Pole „Uzasadnienie” może mieć najwyżej %(n)d znaków."),
                n=JUSTIFICATION_MAX,
            )
        if "\x00" in v:
            raise invalid("justification", "invalid", N_("Pole „Uzasadnienie” zawiera znak NUL."))
        return v

    def resolution_date() -> date:
        v = form.get("resolution_date")
        if not isinstance(v, str) or not v.strip():
            raise invalid(
                "resolution_date",
                "required",
                N_("Pole „Data uchwały lub posiedzenia” jest wymagane."),
            )
        try:
            day = dt.date.fromisoformat(v.strip())
        except ValueError:
            raise invalid(
                "resolution_date",
                "invalid_date",
                N_("Pole „Data uchwały lub posiedzenia”: podaj datę RRRR-MM-DD."),
            ) from None
        if day > today + TODAY_SLACK or day.year < 1990:
            raise invalid(
                "resolution_date",
                "out_of_range",
                N_("Pole „Data uchwały lub posiedzenia”: data nie może być z przyszłości."),
            )
        return day

    def resolution_ref() -> str | None:
        v = form.get("resolution_ref")
        v = " ".join(v.split()) if isinstance(v, str) else ""
        if len(v) > RESOLUTION_REF_MAX:
            raise invalid(
                "resolution_ref",
                "too_long",
                N_("Pole „Numer uchwały” może mieć najwyżej %(n)d znaków."),
                n=RESOLUTION_REF_MAX,
            )
        return v or None

    op, just, day, ref = collect(opinion, justification, resolution_date, resolution_ref)
    return OpinionForm(op, just, day, ref)


# --- the process -------------------------------------------------------------------------------


@dataclass
class OpinionPage:
    district: dict[str, Any]
    proposal: dict[str, Any]
    current: dict[str, Any] | None  # the council's opinion so far


def opinion_page(conn: Connection, number: int, proposal_id: int, vis: Visibility) -> OpinionPage:
    """The district, the proposal (public, located in it) and the council's current opinion;
    :class:`NotFound` for a district or proposal that is not there."""
    d = district(conn, number)
    proposal = proposal_in_district(conn, proposal_id, number, vis)
    if proposal is None:
        raise NotFound("proposal", proposal_id)
    return OpinionPage(d, proposal, opinion_of(conn, proposal_id, number))


def give_opinion(
    conn: Connection,
    *,
    proposal_id: int,
    district: int,
    form: dict[str, Any],
    author_id: int | None,
) -> tuple[OpinionWrite, OpinionForm]:
    """Validate the form, record (or replace) the council's opinion and write the audit log
    (with the replaced text), in the caller's transaction. The caller has checked that the
    author sits on the council and that the proposal lies in the district."""
    f = validate_opinion(form)
    w = record_opinion(
        conn,
        proposal_id=proposal_id,
        district=district,
        opinion=f.opinion,
        justification=f.justification,
        resolution_date=f.resolution_date,
        resolution_ref=f.resolution_ref,
        author_id=author_id,
    )
    reason: dict[str, Any] = {
        "proposal_id": proposal_id,
        "district": district,
        "opinion": f.opinion,
    }
    if w.previous:
        reason["previous"] = {
            k: (v if k != "justification" else short(v or "", 600)) for k, v in w.previous.items()
        }
    record_audit(
        conn,
        author_id,
        "council.opinion.create" if w.created else "council.opinion.replace",
        "council_opinions",
        w.id,
        reason=json.dumps(reason, ensure_ascii=False, default=str)[:2000],
    )
    return w, f
