"""An import's outcome: ``ImportReport`` (counts, rejected rows, notes), ``Rejection`` (one
refused row and why), ``ImportFileError`` (the file itself cannot be imported) and the progress bar.

Two kinds of failure, kept apart on purpose:

* a bad **row** is rejected and listed in the ``ImportReport`` with its reason;
* a bad **file** (wrong encoding, broken zip, unknown CRS, empty, garbage, a mapping naming
  a field the layer lacks) raises ``ImportFileError`` - from the reader, possibly halfway
  through the rows - and everything this import wrote is rolled back.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

__all__ = ["ImportFileError", "ImportReport", "Rejection", "progress_bar"]

MAX_REASONS_SHOWN = 50


class ImportFileError(ValueError):
    """The file itself cannot be imported; nothing was changed (the transaction rolled back)."""

    def __init__(self, message: str, source: str | None = None):
        self.message = message
        self.source = source
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message


@dataclass
class Rejection:
    ref: str  # where in the source: "line 12", "feature 3"
    external_id: str | None
    reason: str
    field: str | None = None
    index: int = 0  # position in the source, to list rejections in reading order
    code: str | None = None  # the validator's code (layers/validate.py), as the web forms answer

    def __str__(self) -> str:
        ident_ = f" [{self.external_id}]" if self.external_id else ""
        where = f" ({self.field})" if self.field else ""
        return f"{self.ref}{ident_}{where}: {self.reason}"


@dataclass
class ImportReport:
    """What one import did; ``summary()`` prints it for a person."""

    source: str
    layer: str
    dry_run: bool = False
    read: int = 0
    imported: int = 0  # new rows
    updated: int = 0  # existing rows whose values changed
    unchanged: int = 0  # existing rows already identical
    repaired: int = 0  # invalid geometries made valid (--repair)
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)  # e.g. {"ballots": 65101}

    def reject(
        self,
        ref: str,
        reason: str,
        external_id: str | None = None,
        field: str | None = None,
        index: int | None = None,
        code: str | None = None,
    ) -> None:
        at = self.read if index is None else index
        self.rejected.append(Rejection(ref, external_id, reason, field, at, code))

    @property
    def accepted(self) -> int:
        return self.imported + self.updated + self.unchanged

    @property
    def ok(self) -> bool:
        """False when the source had rows but none of them could be used."""
        return self.read == 0 or self.accepted > 0

    def summary(self, max_reasons: int = MAX_REASONS_SHOWN) -> str:
        head = f"{self.source} -> {self.layer}"
        if self.dry_run:
            head += " (dry run: nothing was written)"
        counts = (
            f"  read {self.read}, imported {self.imported}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}"
        )
        if self.repaired:
            counts += f", repaired {self.repaired}"
        lines = [head, counts]
        lines += [f"  {k}: {v}" for k, v in self.extra.items()]
        lines += [f"  note: {n}" for n in self.notes]
        if self.rejected:
            lines.append("  rejected rows:")
            lines += [f"    {r}" for r in self.rejected[:max_reasons]]
            if len(self.rejected) > max_reasons:
                lines.append(f"    ... and {len(self.rejected) - max_reasons} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def progress_bar(iterable: Iterable[Any], *, desc: str, total: int | None = None, **kw: Any):
    """A tqdm bar on stderr, shown on a terminal and silent in pipes and tests."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    kw.setdefault("disable", None)
    return tqdm(iterable, desc=desc, total=total, file=sys.stderr, leave=False, **kw)
