"""The write path of every importer: ``import_rows`` and ``import_transaction``.

``import_rows(conn, layer, rows, dry_run=..., repair=...)`` upserts features into any
registered layer's table by ``external_id``, inside ONE transaction (a savepoint when the
caller already holds a transaction, so the caller's ``engine.begin()`` decides the final
commit). Each row is validated first by the layer contract's validator (layers/validate.py:
type, required, max_length, choices, minimum/maximum - the same one the web forms use) and
its geometry (finite coordinates, an allowed type, valid; reprojected to EPSG:4326 with
``always_xy``). Rows are then written in batches of ``BATCH_SIZE``, each batch under a
SAVEPOINT (one pipelined executemany); when the database refuses a row of a batch (outside
the city: SQLSTATE CV001 from the ``civic_feature_write`` trigger; a CHECK constraint), the
batch is rolled back to its savepoint and written again row by row, each row under its own
savepoint, so the refused row is reported with the database's reason and the other rows
still go in.

Idempotence: the upsert only touches a row whose values differ
(``ON CONFLICT ... DO UPDATE ... WHERE (...) IS DISTINCT FROM (...)``), so importing the same
file again changes nothing - not even ``updated_at`` - and ids stay the same.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import Connection

from geo.crs import STORAGE
from geo.db import OUTSIDE_CITY
from geo.schema import ident
from geo.validate import UnusableGeometry
from importers.report import ImportFileError, ImportReport, progress_bar
from layers import registry
from layers import validate as lv
from layers.base import Layer
from layers.collections import OWN_ID_PREFIX

__all__ = [
    "BATCH_SIZE",
    "Row",
    "db_reason",
    "import_rows",
    "import_transaction",
    "prepare_geometry",
    "resolve_layer",
    "stable_id",
    "validate_properties",
]

# --------------------------------------------------------------------------- rows


@dataclass
class Row:
    """One feature as an importer read it, before validation.

    ``geometry`` may be a shapely geometry, a GeoJSON-like mapping, WKB bytes or None, in
    ``srid`` (easting/longitude first). ``districts`` is only used when there is no geometry
    (a "whole district" proposal); otherwise the database computes them.
    """

    external_id: str | None
    properties: dict[str, Any]
    geometry: Any = None
    srid: int | None = STORAGE
    ref: str = ""
    districts: list[int] | None = None


def stable_id(prefix: str, *parts: Any) -> str:
    """A content hash id for sources without an id column (same content -> same id)."""
    digest = hashlib.sha1(
        json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()[:16]
    return f"{prefix}:{digest}"


# --------------------------------------------------------------------------- validation


def validate_properties(
    layer: Layer, properties: Mapping[str, Any], *, check_required: bool = True
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Clean properties by the layer's fields -> (values, [(field, problem), ...]).

    The layer contract's validator (layers/validate.py); unknown names raise
    ``ImportFileError`` (a mapping error affects every row).
    """
    try:
        clean, problems = lv.validate(layer, properties, check_required=check_required)
    except lv.UnknownFields as exc:
        raise ImportFileError(str(exc)) from None
    return clean, [(p.field, p.message) for p in problems]


def prepare_geometry(
    conn: Connection, layer: Layer, geometry: Any, srid: int | None, repair: bool
) -> tuple[bytes | None, bool]:
    """layers.validate.prepare_geometry; no CRS at all is a file error (``ImportFileError``)."""
    try:
        return lv.prepare_geometry(conn, layer, geometry, srid, repair)
    except lv.MissingCRS as exc:
        raise ImportFileError(str(exc)) from None


# --------------------------------------------------------------------------- the upsert


BATCH_SIZE = 500


@lru_cache(maxsize=64)
def _upsert_sql(table: str, columns: tuple[str, ...]) -> str:
    """INSERT ... ON CONFLICT (external_id) DO UPDATE only when a value differs.

    RETURNS ``inserted`` (true: new row, false: updated); no row when nothing changed, so
    ``updated_at`` (set by the trigger on UPDATE) does not move on a re-import.
    """
    t = ident(table)
    cols = ("external_id", "geom", "districts", *(ident(c) for c in columns))
    values = [
        "%(external_id)s",
        "ST_SetSRID(ST_GeomFromWKB(%(geom)s::bytea), 4326)",
        "CAST(%(districts)s AS smallint[])",
        *(f"%({c})s" for c in columns),
    ]
    compared = ("geom", "districts", *columns)
    return f"""
        INSERT INTO {t} AS t ({", ".join(cols)})
        VALUES ({", ".join(values)})
        ON CONFLICT (external_id) DO UPDATE SET
            {", ".join(f"{c} = EXCLUDED.{c}" for c in compared)}
        WHERE ({", ".join(f"t.{c}" for c in compared)})
              IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in compared)})
        RETURNING (xmax = 0) AS inserted"""


def claim_own_id(conn: Connection, layer: Layer, ext: str) -> None:
    """A row exported without an external id carries ``civicmap:<layer>:<id>``; when the file
    comes back, that row (still without an external id) takes it, so the upsert finds it
    instead of inserting a duplicate. Ids of another layer are left alone."""
    m = re.fullmatch(re.escape(f"{OWN_ID_PREFIX}{layer.name}:") + r"(\d{1,18})", ext)
    if m:
        conn.connection.driver_connection.execute(
            f"UPDATE {ident(layer.table)} SET external_id = %s "
            "WHERE id = %s AND external_id IS NULL",
            (ext, int(m.group(1))),
        )


@dataclass
class _Pending:
    index: int
    ref: str
    external_id: str
    params: dict[str, Any]
    repaired: bool


class _Writer:
    """Writes validated rows in batches: one SAVEPOINT and one pipelined executemany per
    batch; when the database refuses a row of the batch, the batch is rolled back to its
    savepoint and written again row by row, each under its own savepoint, so only the
    refused rows are rejected (with the database's reason)."""

    def __init__(self, conn: Connection, layer: Layer, report: ImportReport):
        self.raw = conn.connection.driver_connection
        self.layer = layer
        self.report = report
        self.columns: tuple[str, ...] | None = None
        self.pending: list[_Pending] = []

    def add(self, columns: tuple[str, ...], item: _Pending) -> None:
        if self.columns is not None and columns != self.columns:
            self.flush()
        self.columns = columns
        self.pending.append(item)
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def _count(self, item: _Pending, result: tuple[Any, ...] | None) -> None:
        self.report.repaired += item.repaired
        if result is None:
            self.report.unchanged += 1
        elif result[0]:
            self.report.imported += 1
        else:
            self.report.updated += 1

    def flush(self) -> None:
        if not self.pending:
            return
        assert self.columns is not None
        sql = _upsert_sql(self.layer.table, self.columns)
        batch, self.pending = self.pending, []
        with self.raw.cursor() as cur:
            cur.execute("SAVEPOINT civicmap_batch")
            try:
                cur.executemany(sql, [p.params for p in batch], returning=True)
                results = []
                while True:
                    results.append(cur.fetchone())
                    if not cur.nextset():
                        break
                cur.execute("RELEASE SAVEPOINT civicmap_batch")
            except psycopg.DatabaseError:
                cur.execute("ROLLBACK TO SAVEPOINT civicmap_batch")
                cur.execute("RELEASE SAVEPOINT civicmap_batch")
            else:
                for item, result in zip(batch, results, strict=True):
                    self._count(item, result)
                return
            for item in batch:
                cur.execute("SAVEPOINT civicmap_row")
                try:
                    cur.execute(sql, item.params)
                    result = cur.fetchone()
                    cur.execute("RELEASE SAVEPOINT civicmap_row")
                except psycopg.DatabaseError as exc:
                    cur.execute("ROLLBACK TO SAVEPOINT civicmap_row")
                    cur.execute("RELEASE SAVEPOINT civicmap_row")
                    why = db_reason(exc)
                    if why is None:
                        raise
                    self.report.reject(item.ref, why[1], item.external_id, why[0], item.index)
                    continue
                self._count(item, result)


def db_reason(exc: BaseException) -> tuple[str | None, str] | None:
    """(field, reason) for an error that concerns the row, else None (re-raise it)."""
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None) or ""
    diag = getattr(orig, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(orig or exc)).strip()
    column = getattr(diag, "column_name", None)
    constraint = getattr(diag, "constraint_name", None)
    if state == OUTSIDE_CITY:
        return "geom", "geometry lies outside the city"
    if state.startswith("CV"):
        return column, message
    if state.startswith("23"):
        detail = f" ({constraint})" if constraint else ""
        return column, f"refused by the database{detail}: {message}"
    if state.startswith("22"):
        return column, f"value refused by the database: {message}"
    return None


def resolve_layer(layer: Layer | str) -> Layer:
    """A Layer, or the registered layer of that name (ImportFileError if none)."""
    if isinstance(layer, Layer):
        return layer
    found = registry.get(layer)
    if found is None:
        names = ", ".join(sorted(lay.name for lay in registry.all_layers()))
        raise ImportFileError(f"unknown layer {layer!r}; registered layers: {names}")
    return found


def _as_row(item: Row | Mapping[str, Any], index: int) -> Row:
    if isinstance(item, Row):
        return item
    return Row(
        external_id=item.get("external_id"),
        properties=dict(item.get("properties") or {}),
        geometry=item.get("geometry"),
        srid=item.get("srid", STORAGE),
        ref=item.get("ref") or f"row {index}",
        districts=item.get("districts"),
    )


_DISABLE = {True: False, False: True, None: None}  # tqdm: None = only on a terminal


@contextmanager
def import_transaction(conn: Connection, dry_run: bool = False) -> Iterator[None]:
    """One import, one transaction (a savepoint inside a caller's transaction).

    Any exception undoes all of it; a dry run does all the work, then rolls it back.
    """
    outer = conn.begin_nested() if conn.in_transaction() else conn.begin()
    try:
        yield
    except BaseException:
        if outer.is_active:
            outer.rollback()
        raise
    if dry_run:
        outer.rollback()
    else:
        outer.commit()


def import_rows(
    conn: Connection,
    layer: Layer | str,
    rows: Iterable[Row | Mapping[str, Any]],
    *,
    dry_run: bool = False,
    repair: bool = False,
    report: ImportReport | None = None,
    source: str = "",
    total: int | None = None,
    allow_empty: bool = False,
    progress: bool | None = None,
) -> ImportReport:
    """Upsert ``rows`` into ``layer``'s table by external_id, all in one transaction.

    ``rows`` may be a lazy iterator: a reader that meets a broken file halfway raises
    ``ImportFileError`` and nothing of this import stays. ``dry_run`` does all the work -
    the database checks included - and rolls it back. ``progress=None`` shows a bar on a
    terminal only.
    """
    lay = resolve_layer(layer)
    report = report or ImportReport(source=source, layer=lay.name)
    report.dry_run = report.dry_run or dry_run
    seen: dict[str, str] = {}
    writer = _Writer(conn, lay, report)
    with import_transaction(conn, dry_run):
        bar = progress_bar(
            rows, desc=lay.name, total=total, unit=" rows", disable=_DISABLE[progress]
        )
        for index, item in enumerate(bar, start=1):
            row = _as_row(item, index)
            ref = row.ref or f"row {index}"
            report.read += 1
            ext = str(row.external_id).strip() if row.external_id not in (None, "") else None
            if ext is None:
                report.reject(ref, "no external id", None, "external_id")
                continue
            if ext in seen:
                report.reject(
                    ref, f"external id repeated (first at {seen[ext]})", ext, "external_id"
                )
                continue
            seen[ext] = ref
            try:
                values, problems = lv.validate(lay, row.properties)
            except lv.UnknownFields as exc:
                raise ImportFileError(str(exc)) from None
            if problems:
                first = problems[0]
                if len(problems) == 1:
                    reason = first.message
                else:
                    reason = "; ".join(f"{p.field}: {p.message}" for p in problems)
                report.reject(ref, reason, ext, first.field, code=first.code)
                continue
            try:
                wkb, repaired = prepare_geometry(conn, lay, row.geometry, row.srid, repair)
            except UnusableGeometry as exc:
                report.reject(ref, str(exc), ext, "geom")
                continue
            districts = [] if wkb is not None else list(row.districts or [])
            claim_own_id(conn, lay, ext)
            params = {"external_id": ext, "geom": wkb, "districts": districts, **values}
            writer.add(tuple(sorted(values)), _Pending(report.read, ref, ext, params, repaired))
        writer.flush()
        report.rejected.sort(key=lambda r: r.index)
        if report.read == 0 and not allow_empty:
            raise ImportFileError("the source holds no features (empty file?)", source or None)
    return report
