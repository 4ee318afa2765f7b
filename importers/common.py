"""What every importer shares, under its old name: importers/report.py (ImportReport,
Rejection, ImportFileError, progress), importers/mapping.py (FieldMapping, parse_map_option)
and importers/writer.py (import_rows, import_transaction, the upsert). The validation itself is
the layer contract's: layers/validate.py. New code imports from those modules.
"""

from __future__ import annotations

from importers.mapping import FieldMapping, parse_map_option
from importers.report import (
    MAX_REASONS_SHOWN,
    ImportFileError,
    ImportReport,
    Rejection,
    progress_bar,
)
from importers.writer import (
    BATCH_SIZE,
    Row,
    db_reason,
    import_rows,
    import_transaction,
    prepare_geometry,
    resolve_layer,
    stable_id,
    validate_properties,
)

__all__ = [
    "BATCH_SIZE",
    "MAX_REASONS_SHOWN",
    "FieldMapping",
    "ImportFileError",
    "ImportReport",
    "Rejection",
    "Row",
    "db_reason",
    "import_rows",
    "import_transaction",
    "parse_map_option",
    "prepare_geometry",
    "progress_bar",
    "resolve_layer",
    "stable_id",
    "validate_properties",
]
