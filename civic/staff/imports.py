"""The rules of a browser import (the web's /staff/import): which layers an official may
import into, which files and how large, the dry run first. The import itself is the CLI's
(``civicmap import vector`` / a CSV with WKT): importers/vector.py, one transaction, the same
summary (read, imported, updated, unchanged, rejected with the reasons)."""

from __future__ import annotations

from pathlib import PurePosixPath

from civic import N_
from civic.participation.errors import Msg, field_error
from layers import registry
from layers.base import Layer

STAFF_ROLES = ("official", "admin")
IMPORT_MAX = 50 * 1024 * 1024  # bytes of one uploaded file
EXTENSIONS = (".geojson", ".json", ".gpkg", ".zip", ".csv")
NAME_MAX = 200
MODES = ("dry_run", "commit")


def importable_layers(roles: tuple[str, ...] | list[str]) -> list[Layer]:
    """The layers these roles may import into: an admin any; an official those open to
    officials, except residents' own content (proposals, comments: their workflows)."""
    if "admin" in roles:
        return list(registry.all_layers())
    return [
        ly
        for ly in registry.all_layers()
        if "official" in roles and "official" in ly.write_roles and "resident" not in ly.write_roles
    ]


def check_layer(name: str, roles: tuple[str, ...] | list[str]) -> Layer:
    for ly in importable_layers(roles):
        if ly.name == name:
            return ly
    raise field_error("layer", "invalid", Msg(N_("Pole „Warstwa”: wybierz warstwę z listy.")))


def check_mode(mode: str) -> bool:
    """True for a dry run (the default), False to write."""
    if mode not in MODES:
        raise field_error("mode", "invalid", Msg(N_("Pole „Tryb”: wybierz próbę albo zapis.")))
    return mode == "dry_run"


def safe_name(filename: str | None) -> str:
    """The uploaded file's own name (no directories), with an extension the importers read."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    if not name:
        raise field_error("file", "required", Msg(N_("Pole „Plik” jest wymagane.")))
    if len(name) > NAME_MAX or name.startswith("."):
        raise field_error("file", "invalid", Msg(N_("Pole „Plik”: niedozwolona nazwa pliku.")))
    if not name.lower().endswith(EXTENSIONS):
        raise field_error(
            "file",
            "unsupported",
            Msg(
                N_("Pole „Plik”: obsługiwane są pliki %(list)s."),
                list=", ".join(EXTENSIONS),
            ),
            status=415,
        )
    return name


def too_large() -> Exception:
    return field_error(
        "file",
        "too_large",
        Msg(N_("Pole „Plik”: plik może mieć najwyżej %(mb)d MB."), mb=IMPORT_MAX // 2**20),
        status=413,
    )
