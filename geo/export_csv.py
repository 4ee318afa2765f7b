"""Text cells of a CSV export that a spreadsheet opens as text, never as a formula.

Shared by every CSV a person may open in Excel or LibreOffice (the councils' report, the
planners' tables); GDAL's CSV writer in geo/export.py writes what it is given.
"""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (``=HYPERLINK(…)``) gets a leading ``'``
    (OWASP "CSV injection"); titles and justifications are typed by people."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
