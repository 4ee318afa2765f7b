"""Publish / subscribe inside one transaction, so that no module imports another to notify it.

A publisher calls ``publish(conn, "content_published", table=..., target_id=...)``; every
handler subscribed to that event runs at once, on the same connection, inside the caller's
transaction: if a handler fails, the whole write rolls back (all-or-nothing). Subscribers are
modules listed in :data:`SUBSCRIBERS` (a registry, like layers/registry.py); each calls
:func:`subscribe` at import time. They are imported on the first publish.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

Handler = Callable[..., None]

# One line per subscribing module.
SUBSCRIBERS: list[str] = [
    "civic.councils.notify",
]

_handlers: dict[str, list[Handler]] = defaultdict(list)
_loaded = False


def subscribe(event: str, handler: Handler | None = None):
    """Subscribe ``handler(conn, **payload)`` to ``event``; usable as a decorator."""

    def add(fn: Handler) -> Handler:
        if fn not in _handlers[event]:
            _handlers[event].append(fn)
        return fn

    return add(handler) if handler is not None else add


def unsubscribe(event: str, handler: Handler) -> None:
    if handler in _handlers.get(event, []):
        _handlers[event].remove(handler)


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in SUBSCRIBERS:
            importlib.import_module(mod)


def publish(conn: Connection, event: str, **payload: Any) -> int:
    """Run every handler of ``event`` on ``conn``; returns how many ran."""
    _load()
    handlers = list(_handlers.get(event, ()))
    for handler in handlers:
        handler(conn, **payload)
    return len(handlers)
