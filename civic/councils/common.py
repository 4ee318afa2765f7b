"""What every part of the councils' process shares: the tables, what the public sees, the
queue filter and its SQL conditions, districts, membership and "not found" (:class:`NotFound`;
field errors are civic.accounts' :class:`Invalid`, re-exported here).

"In district n" means ``districts @> ARRAY[n]`` — the containment operator the GIN index
on ``districts`` serves (``n = ANY(districts)`` means the same but no index can answer it).
A city-wide proposal is in every district its geometry touches; a district proposal whose
geometry crosses a boundary counts in each district it lies in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from civic.accounts import Invalid, invalid  # noqa: F401  (the domain's field errors)
from geo import districts as gd
from geo.schema import ident
from layers import registry
from layers.base import Layer

PROPOSALS = "budget-proposals"  # layer names
COMMENTS = "consultation-comments"
KIND_OF_LAYER = {PROPOSALS: "proposals", COMMENTS: "comments"}
TABLE_OF_KIND = {"budget_proposals": PROPOSALS, "consultation_comments": COMMENTS}

OPINIONS = ("positive", "negative", "remarks")
KINDS = ("proposals", "comments")
JUSTIFICATION_MAX = 5000
RESOLUTION_REF_MAX = 120
RANK_MAX = 1000


@dataclass(frozen=True)
class Tables:
    proposals: str = "budget_proposals"
    comments: str = "consultation_comments"
    consultations: str = "consultations"
    opinions: str = "council_opinions"
    priorities: str = "council_priorities"
    pools: str = "budget_pools"
    users: str = "users"
    districts: str = "districts"

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            ident(getattr(self, name))


TABLES = Tables()


# --- what the public sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class Visibility:
    """The workflow states the public sees (layers' Workflow.public_states)."""

    proposal_states: tuple[str, ...]
    comment_states: tuple[str, ...]


def layer(name: str) -> Layer:
    ly = registry.get(name)
    if ly is None:
        raise RuntimeError(f"layer {name} is not registered")
    return ly


def visibility() -> Visibility:
    """What the public sees, from the layers' workflows (the registry is the one source)."""

    def states(name: str) -> tuple[str, ...]:
        ly = layer(name)
        return ly.workflow.public_states if ly.workflow else ()

    return Visibility(states(PROPOSALS), states(COMMENTS))


# --- the queue's filter and the SQL conditions shared by every query ---------------------------


@dataclass
class QueueFilter:
    kind: str | None = None  # "proposals" | "comments" | None (both)
    status: str | None = None
    edition: int | None = None  # proposals only: a set edition leaves comments out
    category: str | None = None  # proposals only

    def wants(self, kind: str) -> bool:
        if self.kind and self.kind != kind:
            return False
        if kind == "comments" and (self.edition is not None or self.category):
            return False
        return True


def in_district(alias: str) -> str:
    return f"{alias}.districts @> ARRAY[CAST(:district AS smallint)]"


def _public_conds(
    alias: str, states: tuple[str, ...], f: QueueFilter, params: dict[str, Any], with_status: bool
) -> list[str]:
    """Located in the district, not hidden, in a public state (and the filter's status)."""
    key = f"{alias}_states"
    conds = [in_district(alias), f"{alias}.hidden_at IS NULL", f"{alias}.status = ANY(:{key})"]
    params[key] = list(states)
    if with_status and f.status:
        conds.append(f"{alias}.status = :status")
        params["status"] = f.status
    return conds


def proposal_conds(
    vis: Visibility, f: QueueFilter, params: dict[str, Any], *, with_status: bool = True
) -> str:
    conds = _public_conds("p", vis.proposal_states, f, params, with_status)
    if f.edition is not None:
        conds.append("p.edition = :edition")
        params["edition"] = f.edition
    if f.category:
        conds.append("p.category = :category")
        params["category"] = f.category
    return " AND ".join(conds)


def comment_conds(
    vis: Visibility, f: QueueFilter, params: dict[str, Any], *, with_status: bool = True
) -> str:
    return " AND ".join(_public_conds("c", vis.comment_states, f, params, with_status))


# --- districts and members ---------------------------------------------------------------------


class NotFound(LookupError):
    """A district, or a proposal in it, that does not exist (the web answers 404)."""

    def __init__(self, what: str, number: int):
        super().__init__(f"{what} {number}")
        self.what = what  # "district" | "proposal" | "edition"
        self.number = number


def roman(n: int) -> str:
    out = ""
    for value, numeral in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):  # fmt: skip
        while n >= value:
            out += numeral
            n -= value
    return out


def district(conn: Connection, number: int) -> dict[str, Any]:
    """The district with its Roman numeral; :class:`NotFound` when there is none."""
    d = gd.get_district(conn, number) if 0 < number < 32768 else None
    if d is None:
        raise NotFound("district", number)
    d["roman"] = roman(number)
    return d


def districts(conn: Connection) -> list[dict[str, Any]]:
    """Every district with its Roman numeral, by number."""
    out = gd.list_districts(conn)
    for d in out:
        d["roman"] = roman(d["number"])
    return out


def is_member(user: Any, district: int) -> bool:
    """A member of district ``district``'s council, or an admin (``user`` has ``roles`` and
    ``council_district``, like the web's User)."""
    if user is None:
        return False
    return "admin" in user.roles or ("council" in user.roles and user.council_district == district)


def is_own_council(user: Any, district: int) -> bool:
    """The user sits on this district's council (admins do not count)."""
    return bool(user and "council" in user.roles and user.council_district == district)


def short(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters (with an ellipsis when cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
