"""Moved: the shared view helpers are in app/views.py, the layer pages in app/public/.

Kept only so that a module still importing its helpers from here keeps working while the
other areas move (issue 12); import from app.views instead. Nothing registers this module.
"""

from __future__ import annotations

from app.views import (  # noqa: F401
    MAP_LIMIT,
    TITLE_MAX,
    FilterControl,
    Option,
    choice_title,
    district_spec,
    feature_title,
    format_value,
    geometry_title,
    lang,
    map_i18n,
    map_spec,
    page_map,
    page_number,
    permalink,
    short,
)
