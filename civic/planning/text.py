"""How the analyses speak: the caller's translations, number formats and links.

civic/ knows no web framework, yet the planners' tables, legends, map labels and charts are
text people read. Each analysis writes its Polish msgids as ``t.gettext("…", n=…)`` (babel.cfg
extracts civic/**.py, dotted calls included) and the web hands over a :class:`Text` built on
its own gettext, the request's language and its URL builder. Without one (the CLI, the
benchmark, the tests of the domain) the text stays Polish and links are absent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from babel.numbers import format_decimal


def _polish(msgid: str, **kw: Any) -> str:
    return msgid % kw if kw else msgid


def short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Text:
    gettext: Callable[..., str] = _polish
    lang: str = "pl"
    link: Callable[[str, int], str | None] = lambda layer, feature_id: None

    def num(self, value: float | None, decimals: int = 0) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "—"
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(round(float(value), decimals), pattern, locale=self.lang)

    def money(self, value: float | None) -> str:
        return "—" if value is None else self.num(value) + " zł"

    def percent(self, value: float | None, decimals: int = 0) -> str:
        return "—" if value is None else self.num(value * 100, decimals) + " %"

    def metres(self, value: float | None) -> str:
        return "—" if value is None else self.num(value) + " m"

    def p(self, p: float | None) -> str:
        if p is None:
            return "—"
        if p < 0.0001:
            return "< 0,0001" if self.lang == "pl" else "< 0.0001"
        return self.num(p, 4)

    def choice(self, f: Any, value: Any) -> str:
        """The title of a layer field's choice in this language."""
        titles = f.choice_titles.get(str(value))
        return (titles.get(self.lang) or titles.get("pl") or str(value)) if titles else str(value)
