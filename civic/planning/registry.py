"""The registry: one line per planner analysis. The planners' routes and tests read it."""

from __future__ import annotations

import importlib

from civic.planning.base import Analysis

MODULES = [
    "civic.planning.demand",
    "civic.planning.hotspots",
    "civic.planning.history",
    "civic.planning.revitalisation",
    "civic.planning.coverage",
    "civic.planning.duplicates",
    "civic.planning.ngo_reach",
]

_ANALYSES: dict[str, Analysis] = {}


def _load() -> None:
    if _ANALYSES:
        return
    for mod in MODULES:
        analysis = importlib.import_module(mod).ANALYSIS
        _ANALYSES[analysis.name] = analysis


def all() -> list[Analysis]:  # noqa: A001 - the registry's own vocabulary (layers.registry)
    _load()
    return list(_ANALYSES.values())


def get(name: str) -> Analysis | None:
    _load()
    return _ANALYSES.get(name)


def chart_owner(name: str) -> Analysis | None:
    """The analysis that draws the further chart ``name`` (e.g. history's "turnout")."""
    return next((a for a in all() if name in a.charts), None)


def register(analysis: Analysis) -> None:
    """Add an analysis at run time (tests register an analysis of their own this way)."""
    _load()
    _ANALYSES[analysis.name] = analysis


def unregister(name: str) -> None:
    _ANALYSES.pop(name, None)
