"""Named groups of the budget proposals' workflow states (layers/budget_proposals.py)."""

from __future__ import annotations

WINNING_STATES = ("selected", "in_execution", "completed")
DECIDED_STATES = ("selected", "not_selected", "in_execution", "completed")
