"""Shared helper for the three-language titles every layer and field carries."""

from __future__ import annotations


def t(pl: str, en: str, uk: str) -> dict[str, str]:
    return {"pl": pl, "en": en, "uk": uk}
