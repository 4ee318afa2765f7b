"""Constraint layers: reference layers a budget project is checked against (the spatial
feasibility pre-check, civic/pb/feasibility.py).

A constraint layer is an ordinary layer module (``LAYER = Layer(...)``, one line in
layers/registry.py) that also defines ``CONSTRAINT`` (a :class:`Constraint`, or the same as a dict): nothing else names it.
Its data comes in with the existing importers (``civicmap import vector|arcgis|wfs …
--layer <name>``).

Rules:

* ``must_be_on`` — the project must lie on features matching ``ok_where`` (e.g. parcels the
  city owns): the check reports the share on such features, each other feature it overlaps
  (with its label) and the share outside every feature.
* ``designation`` — show what the project lies in (e.g. a local zoning plan and its
  designation): the share inside each feature, with its label.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

from layers.base import Layer

Rule = Literal["must_be_on", "designation"]


@dataclass(frozen=True)
class Constraint:
    rule: Rule
    titles: dict[str, str]  # pl / en / uk: what the rule checks ("Grunty miasta")
    label_sql: str  # SQL expression over the layer's columns (alias f) naming a feature
    ok_where: str = "true"  # must_be_on: which features are fine (SQL over alias f)


@dataclass(frozen=True)
class ConstraintLayer:
    layer: Layer
    constraint: Constraint


def constraint_layers() -> list[ConstraintLayer]:
    """Every registered layer module that declares a CONSTRAINT, in registry order."""
    from layers import registry

    out = []
    for name in registry.MODULES:
        mod = importlib.import_module(name)
        c = getattr(mod, "CONSTRAINT", None)
        if isinstance(c, dict):
            c = Constraint(**c)
        if isinstance(c, Constraint):
            out.append(ConstraintLayer(mod.LAYER, c))
    return out
