"""Moved: the collections and the exports are in layers/collections.py, the web side in
app/ogc/exports.py.

Kept only for app/cli.py (``civicmap export``), which imports these names from here; import
them from layers.collections instead. Nothing registers this module.
"""

from __future__ import annotations

from layers.collections import (  # noqa: F401
    DISTRICTS,
    Collection,
    collections,
    district_count,
    export_collection,
    export_frame,
    get_collection,
)
