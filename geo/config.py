"""Settings read from the environment, shared by the app, the CLI and the tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CIVICMAP_DATA", ROOT / "data"))
VAR_DIR = Path(os.environ.get("CIVICMAP_VAR", ROOT / "var"))


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL"))
    city: str = field(default_factory=lambda: os.environ.get("CIVICMAP_CITY", "krakow"))
    basemap: str = field(default_factory=lambda: os.environ.get("BASEMAP", "none"))
    port: int = field(default_factory=lambda: int(os.environ.get("PORT", "5000")))


def sqlalchemy_url(url: str) -> str:
    """Accept postgres://, postgresql:// and postgresql+psycopg:// alike; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
