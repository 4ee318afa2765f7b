"""How source columns become layer fields: ``parse_map_option`` (``--map title=NAZWA``) and
``FieldMapping`` (a mapping file, constants, the external id column)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importers.report import ImportFileError
from layers.base import Layer

__all__ = ["FieldMapping", "parse_map_option"]


def parse_map_option(value: str | None) -> dict[str, str]:
    """``"title=NAZWA,cost=KOSZT"`` -> ``{"title": "NAZWA", "cost": "KOSZT"}``."""
    out: dict[str, str] = {}
    if not value:
        return out
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ImportFileError(f"--map: expected field=COLUMN, got {part!r}")
        target, source = (s.strip() for s in part.split("=", 1))
        if not target or not source:
            raise ImportFileError(f"--map: expected field=COLUMN, got {part!r}")
        out[target] = source
    return out


@dataclass
class FieldMapping:
    """How source columns become layer fields.

    * ``fields``: layer field -> source column (``--map title=NAZWA`` or the mapping file);
    * ``constants``: layer field -> fixed value for every row (``--set scope=citywide`` or
      ``defaults:`` in the mapping file);
    * ``external_id``: the source column holding a stable id (``--map external_id=OBJECTID``
      works too); without it a column named ``external_id`` / ``ext_id`` is used, else the
      importer makes one (a content hash for files, ``<service>:<object id>`` for ArcGIS).

    A layer field that is not mapped is taken from a source column of the same name
    (case-insensitive) or of its ``msip_name`` (``TYTUL``, ``KOSZT``), so a file exported
    by this application comes back without any mapping.
    """

    fields: dict[str, str] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> FieldMapping:
        """A YAML or JSON mapping file::

        external_id: OBJECTID
        fields: {title: NAZWA, cost: KOSZT}
        defaults: {scope: district, status: submitted, edition: 2025}
        """
        p = Path(path)
        try:
            raw = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportFileError(f"cannot read mapping file: {exc}", str(p)) from exc
        try:
            if p.suffix.lower() == ".json":
                doc = json.loads(raw)
            else:
                import yaml

                doc = yaml.safe_load(raw)
        except Exception as exc:  # yaml.YAMLError, json.JSONDecodeError
            raise ImportFileError(f"mapping file is not valid YAML/JSON: {exc}", str(p)) from exc
        if not isinstance(doc, dict):
            raise ImportFileError("mapping file must hold a mapping (fields: ...)", str(p))
        unknown = set(doc) - {"fields", "defaults", "external_id"}
        if unknown:
            raise ImportFileError(
                f"mapping file: unknown key(s) {', '.join(sorted(unknown))} "
                "(expected fields, defaults, external_id)",
                str(p),
            )
        fields = doc.get("fields") or {}
        defaults = doc.get("defaults") or {}
        if not isinstance(fields, dict) or not isinstance(defaults, dict):
            raise ImportFileError("mapping file: fields and defaults must be mappings", str(p))
        return cls(
            fields={str(k): str(v) for k, v in fields.items()},
            constants=dict(defaults),
            external_id=str(doc["external_id"]) if doc.get("external_id") else None,
        )

    def merged(self, other: FieldMapping) -> FieldMapping:
        """``other`` (e.g. the command-line --map) wins over self (the mapping file)."""
        return FieldMapping(
            fields={**self.fields, **other.fields},
            constants={**self.constants, **other.constants},
            external_id=other.external_id or self.external_id,
        )

    def resolve(self, layer: Layer, columns: Iterable[str]) -> dict[str, str]:
        """Layer field -> source column, checked against the layer and the source.

        Raises ``ImportFileError`` for a mapping naming a field the layer lacks or a column
        the source lacks: that is a problem with the whole import, not with a row.
        """
        cols = list(columns)
        by_lower = {c.lower(): c for c in cols}
        names = {f.name for f in layer.fields}
        fields = dict(self.fields)
        if "external_id" in fields:  # --map external_id=OBJECTID names the id column
            id_column = fields.pop("external_id")
            self.external_id = self.external_id or id_column
        bad = sorted((set(fields) | set(self.constants)) - names)
        if bad:
            raise ImportFileError(
                f"layer {layer.name} has no field(s) {', '.join(bad)}; "
                f"its fields are {', '.join(sorted(names))}"
            )
        out: dict[str, str] = {}
        for target, source in fields.items():
            real = source if source in cols else by_lower.get(source.lower())
            if real is None:
                raise ImportFileError(
                    f"mapping {target}={source}: the source has no column {source!r} "
                    f"(columns: {', '.join(cols) or 'none'})"
                )
            out[target] = real
        for f in layer.fields:
            if f.name in out or f.name in self.constants:
                continue
            for candidate in (f.name, f.msip_name):
                if candidate and candidate.lower() in by_lower:
                    out[f.name] = by_lower[candidate.lower()]
                    break
        if self.external_id:
            real = (
                self.external_id
                if self.external_id in cols
                else by_lower.get(self.external_id.lower())
            )
            if real is None:
                raise ImportFileError(
                    f"external_id column {self.external_id!r} is not in the source "
                    f"(columns: {', '.join(cols) or 'none'})"
                )
            self.external_id = real
        return out

    def id_column(self, columns: Iterable[str]) -> str | None:
        if self.external_id:
            return self.external_id
        by_lower = {c.lower(): c for c in columns}
        for candidate in ("external_id", "ext_id", "id_zewn"):
            if candidate in by_lower:
                return by_lower[candidate]
        return None

    def apply(self, resolved: Mapping[str, str], record: Mapping[str, Any]) -> dict[str, Any]:
        props = {target: record.get(source) for target, source in resolved.items()}
        props.update(self.constants)
        return props
