"""Reader for Pabulib ``.pb`` participatory-budgeting files (https://pabulib.org/format).

A ``.pb`` file is UTF-8 text, ``;``-separated with CSV quoting, in three sections, each a
title line followed by a header line::

    META
    key;value
    num_projects;119
    ...
    PROJECTS
    project_id;cost;votes;score;name;category;selected
    BO.OM.97/24;200000;7166;16141;Diagnostyka w Schronisku dla Zwierząt - II etap;...
    VOTES
    voter_id;vote;age;sex;neighborhood
    1;BO.OM.63/24,BO.OM.81/24,BO.OM.178/24;18;F;Podgórze

``parse_pb`` reads META and PROJECTS eagerly (they are small) and validates them; the
ballots are read lazily by ``PbFile.iter_votes()``, which re-reads the source each time,
so memory stays flat even for the ~100k-ballot city-wide Kraków files.

All values are kept as the strings found in the file (``project_id`` may be ``41`` or
``BO.D18.41/24``); use ``meta_int``, ``meta_float``, ``project_coordinates`` and
``vote_project_ids`` to convert. Malformed input raises ``PbFormatError`` carrying the
1-based line number. Pure standard library.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Final, overload

__all__ = [
    "PbFile",
    "PbFormatError",
    "meta_float",
    "meta_int",
    "parse_pb",
    "project_coordinates",
    "vote_project_ids",
]

SECTIONS: Final[tuple[str, ...]] = ("META", "PROJECTS", "VOTES")
_REQUIRED_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "META": ("key", "value"),
    "PROJECTS": ("project_id", "cost"),
    "VOTES": ("voter_id", "vote"),
}
_BOM: Final[str] = "\ufeff"

PbSource = str | os.PathLike[str] | IO[str] | IO[bytes]


class PbFormatError(ValueError):
    """Malformed ``.pb`` input. ``line_number`` is 1-based, or ``None`` when not tied to a line."""

    def __init__(self, message: str, line_number: int | None = None, source: str | None = None):
        self.message = message
        self.line_number = line_number
        self.source = source
        super().__init__(message, line_number)

    def __str__(self) -> str:
        where = ""
        if self.source:
            where = self.source
        if self.line_number is not None:
            where = f"{where}:{self.line_number}" if where else f"line {self.line_number}"
        return f"{where}: {self.message}" if where else self.message


# --------------------------------------------------------------------------- line sources


def _decoded_lines(binary: Iterable[bytes]) -> Iterator[str]:
    """Decode a binary line stream as UTF-8, line by line, for exact error positions."""
    for number, raw in enumerate(binary, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if number == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
                raise PbFormatError("file is UTF-16 encoded; .pb files must be UTF-8", 1) from None
            bad = raw[exc.start : exc.start + 1].hex()
            raise PbFormatError(
                f"not valid UTF-8 (byte 0x{bad} at column {exc.start + 1}); .pb files must be "
                "UTF-8 encoded — is this binary data or a cp1250/ISO-8859-2 file?",
                number,
            ) from None


class _Lines:
    """Iterator over text lines (line endings kept, as ``csv`` wants) counting lines."""

    def __init__(self, lines: Iterable[str]):
        self._it = iter(lines)
        self.count = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._it)
        except UnicodeDecodeError as exc:  # a text stream opened by the caller
            raise PbFormatError(
                f"not valid UTF-8 ({exc.reason}); .pb files must be UTF-8 encoded",
                self.count + 1,
            ) from None
        self.count += 1
        if self.count == 1 and line.startswith(_BOM):
            line = line[1:]
        if "\x00" in line:
            raise PbFormatError("NUL byte: this is binary data, not a .pb text file", self.count)
        return line


class _Source:
    """Re-openable line source: a path, a seekable stream, or a one-shot stream."""

    def __init__(self, source: PbSource):
        self.path: Path | None = None
        self.stream: IO[str] | IO[bytes] | None = None
        self.start: int = 0
        self.seekable = False
        self.used = False
        #: For a one-shot stream: its lines, left positioned at the first ballot by parse_pb.
        self.leftover: _Lines | None = None
        if isinstance(source, str | os.PathLike):
            self.path = Path(source)
            self.name = str(self.path)
        elif hasattr(source, "read"):
            self.stream = source
            self.name = str(getattr(source, "name", "") or "<stream>")
            try:
                self.seekable = bool(source.seekable())
                self.start = source.tell() if self.seekable else 0
            except (AttributeError, OSError, ValueError):
                self.seekable = False
        else:
            raise TypeError(
                f"parse_pb expects a path or a file object, not {type(source).__name__}"
            )

    def votes_lines(self, offset: int) -> tuple[_Lines, IO[bytes] | None]:
        """Lines positioned after the first ``offset`` lines (the VOTES header)."""
        if self.path is None and not self.seekable:
            lines, self.leftover = self.leftover, None
            if lines is None:
                raise RuntimeError(
                    "the votes of a non-seekable stream can be read only once; pass a path instead"
                )
            return lines, None
        lines, fh = self.open()
        try:
            for _ in islice(lines, offset):
                pass
        except BaseException:
            if fh is not None:
                fh.close()
            raise
        if lines.count < offset:
            if fh is not None:
                fh.close()
            raise PbFormatError("file shrank since it was parsed", lines.count, self.name)
        return lines, fh

    def open(self) -> tuple[_Lines, IO[bytes] | None]:
        """Lines from the beginning; the second item is a file to close afterwards."""
        if self.path is not None:
            try:
                fh = self.path.open("rb")
            except OSError as exc:
                raise PbFormatError(f"cannot open: {exc.strerror or exc}", None, self.name) from exc
            return _Lines(_decoded_lines(fh)), fh
        assert self.stream is not None
        if self.used:
            self.stream.seek(self.start)  # only called again for seekable streams
        self.used = True
        if isinstance(self.stream, io.TextIOBase) or isinstance(self.stream.read(0), str):
            return _Lines(self.stream), None  # type: ignore[arg-type]
        return _Lines(_decoded_lines(self.stream)), None  # type: ignore[arg-type]


def _reader(lines: _Lines) -> Iterator[list[str]]:
    return csv.reader(lines, delimiter=";", quotechar='"', doublequote=True, strict=True)


# --------------------------------------------------------------------------- the file


@dataclass
class PbFile:
    """A parsed ``.pb`` file: META and PROJECTS in memory, VOTES read on demand."""

    meta: dict[str, str]
    projects: list[dict[str, str]]
    project_columns: list[str]
    vote_columns: list[str]
    #: 1-based line number of each project row (parallel to ``projects``).
    project_lines: list[int] = field(default_factory=list, repr=False)
    name: str = "<stream>"
    _source: _Source | None = field(default=None, repr=False, compare=False)
    #: Physical lines before the first ballot (title + header of VOTES included).
    _votes_offset: int = field(default=0, repr=False, compare=False)

    @property
    def has_votes_section(self) -> bool:
        return bool(self.vote_columns)

    def project(self, project_id: str) -> dict[str, str] | None:
        """The project row with this id (as written in the file), or ``None``."""
        for row in self.projects:
            if row["project_id"] == project_id:
                return row
        return None

    def iter_votes(self) -> Iterator[dict[str, str]]:
        """Yield each ballot as ``{column: value}``, reading the source lazily.

        Each call starts again from the first ballot (for a path or a seekable stream).
        Raises ``PbFormatError`` on a row with the wrong number of fields, an empty
        ``vote`` or an unexpected extra section.
        """
        if not self.vote_columns or self._source is None:
            return
        lines, fh = self._source.votes_lines(self._votes_offset)
        try:
            yield from self._votes_from(lines)
        finally:
            if fh is not None:
                fh.close()

    def _votes_from(self, lines: _Lines) -> Iterator[dict[str, str]]:
        columns = self.vote_columns
        width = len(columns)
        vote_index = columns.index("vote")
        base = lines.count
        reader = _reader(lines)
        try:
            for row in reader:
                if len(row) == width:
                    if not row[vote_index]:
                        raise PbFormatError(
                            "ballot with an empty 'vote' field", lines.count, self.name
                        )
                    yield dict(zip(columns, row, strict=True))
                elif not row or row == [""]:
                    continue  # blank line (e.g. a trailing one)
                elif len(row) == 1 and row[0].strip().upper() in SECTIONS:
                    raise PbFormatError(
                        f"unexpected section {row[0].strip()!r} after VOTES", lines.count, self.name
                    )
                else:
                    raise PbFormatError(
                        f"VOTES row has {len(row)} fields, the header has {width} "
                        f"({';'.join(columns)})",
                        lines.count,
                        self.name,
                    )
        except csv.Error as exc:
            raise PbFormatError(
                f"CSV syntax error: {exc}", base + reader.line_num, self.name
            ) from None  # type: ignore[attr-defined]
        except PbFormatError as exc:
            if exc.source is None:
                exc.source = self.name
            raise

    def count_votes(self) -> int:
        """Number of ballot rows (reads the whole VOTES section)."""
        return sum(1 for _ in self.iter_votes())


# --------------------------------------------------------------------------- parsing


def _section_title(row: list[str]) -> str | None:
    if len(row) == 1 and row[0].strip().upper() in SECTIONS:
        return row[0].strip().upper()
    return None


def _check_header(section: str, header: list[str], line: int) -> list[str]:
    columns = [c.strip() for c in header]
    if not any(columns):
        raise PbFormatError(f"{section} section has no header line", line)
    title = _section_title(header)
    if title is not None:
        raise PbFormatError(f"{section} section has no header line (found {title})", line)
    missing = [c for c in _REQUIRED_COLUMNS[section] if c not in columns]
    if missing:
        raise PbFormatError(
            f"{section} header lacks required column(s) {', '.join(missing)} "
            f"(header: {';'.join(columns)})",
            line,
        )
    seen: set[str] = set()
    for c in columns:
        if not c:
            raise PbFormatError(f"{section} header has an empty column name", line)
        if c in seen:
            raise PbFormatError(f"{section} header repeats column {c!r}", line)
        seen.add(c)
    return columns


def _check_number(value: str, what: str, line: int) -> None:
    try:
        number = float(value)
    except ValueError:
        raise PbFormatError(f"{what} is not a number: {value!r}", line) from None
    if not math.isfinite(number):
        raise PbFormatError(f"{what} is not a finite number: {value!r}", line)
    if number < 0:
        raise PbFormatError(f"{what} is negative: {value!r}", line)


def _check_coordinates(row: Mapping[str, str], line: int) -> None:
    lat = row.get("latitude", "").strip()
    lon = row.get("longitude", "").strip()
    if not lat and not lon:
        return
    if not lat or not lon:
        raise PbFormatError("project has only one of latitude/longitude", line)
    for label, text, bound in (("latitude", lat, 90.0), ("longitude", lon, 180.0)):
        try:
            value = float(text)
        except ValueError:
            raise PbFormatError(f"{label} is not a number: {text!r}", line) from None
        if not math.isfinite(value) or abs(value) > bound:
            raise PbFormatError(f"{label} out of range: {text!r}", line)


def parse_pb(source: PbSource) -> PbFile:
    """Parse a ``.pb`` file given as a path or an open text/binary file object.

    META and PROJECTS are read and validated now; VOTES only has its header checked here
    and is streamed later by ``PbFile.iter_votes()`` (re-reading the path / re-seeking the
    stream). Handles a UTF-8 BOM, CRLF line endings and blank lines.

    Raises ``PbFormatError`` (with the line number) for: an empty file, undecodable or
    binary content, a missing/misplaced META or PROJECTS section, a header lacking
    ``key``/``value``, ``project_id``/``cost`` or ``voter_id``/``vote``, a row whose number
    of fields differs from its header, a non-numeric or negative ``cost``, a duplicated
    META key or project id, and unparsable/out-of-range latitude/longitude.
    """
    src = _Source(source)
    lines, fh = src.open()
    try:
        pb = _parse_head(lines, src)
        if src.path is None and not src.seekable:
            src.leftover = lines
    except PbFormatError as exc:
        if exc.source is None:
            exc.source = src.name
        raise
    finally:
        if fh is not None:
            fh.close()
    return pb


def _parse_head(lines: _Lines, src: _Source) -> PbFile:
    reader = _reader(lines)
    meta: dict[str, str] = {}
    projects: list[dict[str, str]] = []
    project_lines: list[int] = []
    project_ids: set[str] = set()
    project_columns: list[str] = []
    vote_columns: list[str] = []
    section: str | None = None
    header: list[str] = []
    expect_header = False
    saw_content = False

    try:
        for row in reader:
            line = lines.count
            if not row or all(not cell.strip() for cell in row):
                continue  # blank line
            saw_content = True
            title = _section_title(row)
            if expect_header:
                header = _check_header(section or "", row, line)
                expect_header = False
                if section == "PROJECTS":
                    project_columns = header
                elif section == "VOTES":
                    vote_columns = header
                    break  # ballots are streamed by iter_votes()
                continue
            if title is not None:
                if section is None and title != "META":
                    raise PbFormatError(f"file must start with a META section, found {title}", line)
                if section is not None and SECTIONS.index(title) != SECTIONS.index(section) + 1:
                    want = SECTIONS[SECTIONS.index(section) + 1]
                    raise PbFormatError(f"section {title} found where {want} was expected", line)
                section = title
                expect_header = True
                continue
            if section is None:
                raise PbFormatError(
                    f"file must start with a META section title line, found {';'.join(row)[:60]!r}",
                    line,
                )
            if len(row) != len(header):
                raise PbFormatError(
                    f"{section} row has {len(row)} fields, the header has {len(header)} "
                    f"({';'.join(header)})",
                    line,
                )
            if section == "META":
                record = dict(zip(header, row, strict=True))
                key, value = record["key"].strip(), record["value"]
                if not key:
                    raise PbFormatError("META row with an empty key", line)
                if key in meta:
                    raise PbFormatError(f"META key {key!r} appears twice", line)
                meta[key] = value
            else:  # PROJECTS
                record = dict(zip(header, row, strict=True))
                pid = record["project_id"].strip()
                if not pid:
                    raise PbFormatError("project with an empty project_id", line)
                if pid in project_ids:
                    raise PbFormatError(f"project_id {pid!r} appears twice", line)
                project_ids.add(pid)
                _check_number(record["cost"].strip(), f"cost of project {pid}", line)
                _check_coordinates(record, line)
                projects.append(record)
                project_lines.append(line)
    except csv.Error as exc:
        raise PbFormatError(f"CSV syntax error: {exc}", lines.count) from None

    if not saw_content:
        raise PbFormatError("empty file (no META section)", lines.count or None)
    if expect_header:
        raise PbFormatError(f"{section} section has no header line", lines.count)
    if section == "META":
        raise PbFormatError("no PROJECTS section", lines.count)
    assert section is not None
    return PbFile(
        meta=meta,
        projects=projects,
        project_columns=project_columns,
        vote_columns=vote_columns,
        project_lines=project_lines,
        name=src.name,
        _source=src if vote_columns else None,
        _votes_offset=lines.count,
    )


# --------------------------------------------------------------------------- helpers


def project_coordinates(project: Mapping[str, str]) -> tuple[float, float] | None:
    """``(lon, lat)`` from a project's ``longitude``/``latitude`` columns, or ``None``.

    ``None`` when the columns are absent or empty (Kraków files have none; some Warsaw
    projects leave them empty). Raises ``ValueError`` for half-filled or non-numeric pairs
    (``parse_pb`` has already rejected those for projects it read).
    """
    lat = (project.get("latitude") or "").strip()
    lon = (project.get("longitude") or "").strip()
    if not lat and not lon:
        return None
    if not lat or not lon:
        raise ValueError(f"project {project.get('project_id')!r} has only one coordinate")
    return float(lon), float(lat)


def vote_project_ids(ballot: Mapping[str, str]) -> list[str]:
    """The project ids of a ballot's ``vote`` field, in the order given (preference order
    for ordinal ballots)."""
    return [pid.strip() for pid in ballot.get("vote", "").split(",") if pid.strip()]


_MISSING: Final = object()


@overload
def meta_int(meta: Mapping[str, str], key: str) -> int: ...
@overload
def meta_int(meta: Mapping[str, str], key: str, default: int) -> int: ...
@overload
def meta_int(meta: Mapping[str, str], key: str, default: None) -> int | None: ...
def meta_int(meta: Mapping[str, str], key: str, default: object = _MISSING) -> int | None:
    """``meta[key]`` as an int (``"119"`` or ``"119.0"``); ``default`` when missing/empty.

    Raises ``PbFormatError`` when the key is missing without a default, or the value is not
    an integer (``"2572946.76"``).
    """
    raw = meta.get(key, "").strip()
    if not raw:
        if default is _MISSING:
            raise PbFormatError(f"META has no {key!r}")
        return default  # type: ignore[return-value]
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = float(raw)
    except ValueError:
        raise PbFormatError(f"META {key!r} is not an integer: {raw!r}") from None
    if not number.is_integer():
        raise PbFormatError(f"META {key!r} is not an integer: {raw!r}")
    return int(number)


@overload
def meta_float(meta: Mapping[str, str], key: str) -> float: ...
@overload
def meta_float(meta: Mapping[str, str], key: str, default: float) -> float: ...
@overload
def meta_float(meta: Mapping[str, str], key: str, default: None) -> float | None: ...
def meta_float(meta: Mapping[str, str], key: str, default: object = _MISSING) -> float | None:
    """``meta[key]`` as a float (e.g. ``budget``: ``"2572946.76"``); like ``meta_int``."""
    raw = meta.get(key, "").strip()
    if not raw:
        if default is _MISSING:
            raise PbFormatError(f"META has no {key!r}")
        return default  # type: ignore[return-value]
    try:
        number = float(raw)
    except ValueError:
        raise PbFormatError(f"META {key!r} is not a number: {raw!r}") from None
    if not math.isfinite(number):
        raise PbFormatError(f"META {key!r} is not a finite number: {raw!r}")
    return number
