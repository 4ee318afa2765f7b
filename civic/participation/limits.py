"""Per-project cost limits of a budget edition, from Kraków's published rules.

The rules come from data/<city>/budget-limits.json (see that file's source) unless the caller
gives its own (the web's ``BUDGET_LIMITS`` / ``BUDGET_LIMITS_FILE`` / ``BO_EDITION`` config).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=4)
def _limits_file(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_rules(path: str | Path) -> dict[str, Any]:
    """The rules file, or no editions at all when it cannot be read."""
    try:
        return _limits_file(str(path))
    except OSError:
        return {"editions": {}}


def current_edition(rules: dict[str, Any], configured: int | str | None = None) -> int:
    """The configured edition, else the newest edition with rules, else this year."""
    if configured:
        return int(configured)
    editions = [int(e) for e in rules.get("editions", {})]
    return max(editions) if editions else date.today().year


@dataclass(frozen=True)
class CostLimits:
    low: Decimal
    high: Decimal


def cost_limits(
    rules: dict[str, Any], edition: int, scope: str, district: int | None
) -> CostLimits | None:
    """The edition's per-project limits for a scope (and district); None if unknown."""
    ed = rules.get("editions", {}).get(str(edition))
    if not ed:
        return None
    if scope == "citywide":
        c = ed.get("citywide") or {}
        if "min" in c and "max" in c:
            return CostLimits(Decimal(str(c["min"])), Decimal(str(c["max"])))
        return None
    d = ed.get("district") or {}
    if district is None or "min" not in d:
        return None
    high = (d.get("max") or {}).get(str(district))
    if high is None and d.get("max_share_of_pool") and (d.get("pools") or {}).get(str(district)):
        high = round(
            Decimal(str(d["pools"][str(district)])) * Decimal(str(d["max_share_of_pool"])), 2
        )
    if high is None:
        return None
    return CostLimits(Decimal(str(d["min"])), Decimal(str(high)))


def limits_for_page(rules: dict[str, Any], edition: int) -> dict[str, Any]:
    """Limits the form's script shows next to the cost field (the server checks again)."""
    out: dict[str, Any] = {"citywide": None, "district": {}}
    c = cost_limits(rules, edition, "citywide", None)
    if c:
        out["citywide"] = [float(c.low), float(c.high)]
    for n in range(1, 100):
        d = cost_limits(rules, edition, "district", n)
        if d:
            out["district"][str(n)] = [float(d.low), float(d.high)]
    return out
