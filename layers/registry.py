"""The registry: one line per layer. The API, maps, exports and tests read it."""

from __future__ import annotations

import importlib

from layers.base import Layer

MODULES = [
    "layers.budget_proposals",
    "layers.consultations",
    "layers.consultation_comments",
    "layers.ngos",
    "layers.revitalisation",
    "layers.civic_venues",
    "layers.city_land",
    "layers.local_initiatives",
    "layers.pb_results",
    "layers.pb_execution",
]

_LAYERS: dict[str, Layer] = {}


def _load() -> None:
    if _LAYERS:
        return
    for mod in MODULES:
        layer = importlib.import_module(mod).LAYER
        _LAYERS[layer.name] = layer


def all_layers() -> list[Layer]:
    _load()
    return list(_LAYERS.values())


def get(name: str) -> Layer | None:
    _load()
    return _LAYERS.get(name)


def register(layer: Layer) -> None:
    """Add a layer at run time (tests register a layer of their own this way)."""
    _load()
    _LAYERS[layer.name] = layer


def unregister(name: str) -> None:
    _LAYERS.pop(name, None)
