"""Place-name keys: matching district / street names despite spelling variants.

``normalise`` turns a name into a comparison key that ignores diacritics, case,
hyphens versus spaces, punctuation and administrative prefixes such as
``Dzielnica XII`` (Kraków districts are officially numbered I..XVIII)::

    normalise("Dzielnica XII Biezanow-Prokocim") == normalise("bieżanów prokocim")
    normalise("Praga Południe") == normalise("Praga-Południe")

``match_name`` looks a name up in a ``{display name: value}`` mapping by that key
and falls back to a small edit distance for misspellings.

Pure standard library; nothing here knows about the web layer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Final, TypeVar

T = TypeVar("T")

__all__ = [
    "ROMAN",
    "int_to_roman",
    "levenshtein",
    "match_name",
    "normalise",
    "roman_to_int",
]

# --------------------------------------------------------------------------- Roman numerals

#: Value/symbol pairs, largest first (subtractive forms included), for I..MMMCMXCIX.
ROMAN: Final[tuple[tuple[int, str], ...]] = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)
_ROMAN_DIGITS: Final[dict[str, int]] = {
    "I": 1,
    "V": 5,
    "X": 10,
    "L": 50,
    "C": 100,
    "D": 500,
    "M": 1000,
}


def int_to_roman(number: int) -> str:
    """``18 -> "XVIII"``. Raises ``ValueError`` outside 1..3999."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise TypeError(f"expected an int, got {type(number).__name__}")
    if not 1 <= number <= 3999:
        raise ValueError(f"Roman numerals cover 1..3999, not {number}")
    parts: list[str] = []
    for value, symbol in ROMAN:
        count, number = divmod(number, value)
        parts.append(symbol * count)
    return "".join(parts)


def roman_to_int(numeral: str) -> int:
    """``"XVIII" -> 18`` (case-insensitive, surrounding whitespace ignored).

    Only canonical numerals are accepted: ``"IIII"``, ``"IC"`` or ``""`` raise ``ValueError``.
    """
    text = numeral.strip().upper()
    if not text or any(ch not in _ROMAN_DIGITS for ch in text):
        raise ValueError(f"not a Roman numeral: {numeral!r}")
    total = 0
    for i, ch in enumerate(text):
        value = _ROMAN_DIGITS[ch]
        if i + 1 < len(text) and value < _ROMAN_DIGITS[text[i + 1]]:
            total -= value
        else:
            total += value
    if not 1 <= total <= 3999 or int_to_roman(total) != text:
        raise ValueError(f"not a canonical Roman numeral: {numeral!r}")
    return total


# --------------------------------------------------------------------------- normalisation

# Letters that NFKD does not decompose into base letter + combining mark.
_NO_DECOMPOSITION: Final[dict[int, str]] = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ø": "o",
        "Ø": "O",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
    }
)

# "Dzielnica XII ", "DZIELNICA XII - ", "dzielnica xii: ", "Dz. XII ", "Dzielnica Wola" ...
_DISTRICT_PREFIX: Final[re.Pattern[str]] = re.compile(
    r"""^\s*(?:dzielnica(?![^\W\d_])|dz\.)  # the whole word (or its abbreviation)
        (?:\s+[ivxlc]+(?![^\W\d_]))?  # optional Roman number, a whole token
        [\s.:,\-\u2013\u2014]*        # separators
    """,
    re.IGNORECASE | re.VERBOSE,
)
# A bare upper-case Roman number in front of a name: "XII Bieżanów-Prokocim", "XII - Podgórze".
_BARE_ROMAN_PREFIX: Final[re.Pattern[str]] = re.compile(
    r"^\s*(?:X{0,3})(?:IX|IV|V?I{0,3})(?<=[IVX])(?:\s*[.:\-\u2013\u2014]\s*|\s+)(?=\w)"
)
_NON_ALNUM: Final[re.Pattern[str]] = re.compile(r"[\W_]+")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_NO_DECOMPOSITION))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=16384)
def normalise(name: str, *, strip_prefix: bool = True) -> str:
    """A matching key: ASCII, lower case, words separated by single spaces.

    Diacritics are removed (``ł``/``Ł`` mapped to ``l`` explicitly, since NFKD leaves
    them alone), hyphens, punctuation and runs of whitespace become one space, and with
    ``strip_prefix`` (default) a leading ``Dzielnica [<roman>]`` / ``Dz. <roman>`` or a bare
    upper-case Roman number followed by a name (``XII Bieżanów-Prokocim``) is dropped.

    >>> normalise("Dzielnica XII Biezanow-Prokocim")
    'biezanow prokocim'
    >>> normalise("Łagiewniki-Borek Fałęcki")
    'lagiewniki borek falecki'

    Results are cached, so calling it once per ballot row is cheap.
    """
    text = _strip_accents(name)
    if strip_prefix:
        stripped = _DISTRICT_PREFIX.sub("", text, count=1)
        if stripped == text:
            stripped = _BARE_ROMAN_PREFIX.sub("", text, count=1)
        if _NON_ALNUM.sub("", stripped):  # never strip a name down to nothing
            text = stripped
    return _NON_ALNUM.sub(" ", text.casefold()).strip()


# --------------------------------------------------------------------------- fuzzy lookup


def levenshtein(a: str, b: str, limit: int | None = None) -> int:
    """Edit distance (insertions, deletions, substitutions) between ``a`` and ``b``.

    With ``limit`` the computation stops early and returns ``limit + 1`` as soon as the
    distance is known to exceed ``limit``.
    """
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    if limit is not None and len(a) - len(b) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if limit is not None and min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def match_name(name: str, candidates: Mapping[str, T], max_distance: int = 2) -> T | None:
    """Find the value of the candidate whose name is ``name``, up to spelling variants.

    ``candidates`` maps display names (``"Bieżanów-Prokocim"``) to anything. First the
    normalised keys are compared for equality; failing that, the candidate with the smallest
    edit distance between keys wins, provided the distance is at most ``max_distance`` and at
    most a quarter of the key's length (so short names such as ``"Wola"`` tolerate one typo,
    not two) and no other candidate with a different value is equally close.

    Returns ``None`` when nothing is close enough or the match is ambiguous.
    """
    key = normalise(name)
    if not key:
        return None
    by_key: dict[str, list[T]] = {}
    for candidate_name, value in candidates.items():
        by_key.setdefault(normalise(candidate_name), []).append(value)

    def unique(values: list[T]) -> T | None:
        first = values[0]
        return first if all(v == first for v in values[1:]) else None

    if key in by_key:
        return unique(by_key[key])

    limit = min(max_distance, max(1, len(key) // 4))
    if limit < 1:
        return None
    best_distance = limit + 1
    best_values: list[T] = []
    for candidate_key, values in by_key.items():
        if not candidate_key:
            continue
        distance = levenshtein(key, candidate_key, limit=limit)
        if distance < best_distance:
            best_distance, best_values = distance, list(values)
        elif distance == best_distance:
            best_values.extend(values)
    if best_distance > limit or not best_values:
        return None
    return unique(best_values)
