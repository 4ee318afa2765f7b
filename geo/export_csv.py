"""Text cells of a CSV export that a spreadsheet opens as text, never as a formula.

The one helper for every CSV written (issue 14 #4): geo/export.py's CSV writer (the layer
exports at /exports/<layer>.csv, the councils' report, the planners' tables — all go through
it), and the CSVs written with the csv module (the budget's results) through
:func:`dict_rows_csv`. OWASP "CSV injection": a cell starting with ``= + - @``, a tab or a
carriage return gets a leading ``'``, which Excel and LibreOffice show as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (``=HYPERLINK(…)``) gets a leading ``'``
    (OWASP "CSV injection"); titles and justifications are typed by people. Numbers stay
    numbers; a value already made safe is left as it is (``'`` does not start a formula)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe_frame(frame: Any, skip: Iterable[str] = ()) -> Any:
    """A (Geo)DataFrame whose text columns (object dtype) hold only safe cells; ``skip``
    names columns to leave alone (the geometry)."""
    import pandas as pd

    skip = set(skip)
    out = frame.copy()
    for name in out.columns:
        if name in skip or str(out[name].dtype) not in ("object", "string", "str"):
            continue
        # a plain list: Series.map would turn None into NaN
        out[name] = pd.Series([csv_safe(v) for v in out[name]], index=out.index, dtype=object)
    return out


def dict_rows_csv(
    rows: Iterable[Mapping[str, Any]], fieldnames: Sequence[str], *, bom: bool = True
) -> str:
    """Rows as CSV text (UTF-8 BOM first, for Excel), every cell safe for a spreadsheet."""
    buf = io.StringIO()
    if bom:
        buf.write("\ufeff")
    writer = csv.DictWriter(buf, fieldnames=list(fieldnames))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_safe(v) for k, v in row.items()})
    return buf.getvalue()
