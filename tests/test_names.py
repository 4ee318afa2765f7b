"""geo.names: normalised place-name keys, fuzzy lookup, Roman numerals."""

from __future__ import annotations

import pytest

from geo.names import int_to_roman, levenshtein, match_name, normalise, roman_to_int

# Kraków's 18 districts, officially numbered I..XVIII in this order.
KRAKOW_DISTRICTS: dict[int, str] = dict(
    enumerate(
        [
            "Stare Miasto",
            "Grzegórzki",
            "Prądnik Czerwony",
            "Prądnik Biały",
            "Krowodrza",
            "Bronowice",
            "Zwierzyniec",
            "Dębniki",
            "Łagiewniki-Borek Fałęcki",
            "Swoszowice",
            "Podgórze Duchackie",
            "Bieżanów-Prokocim",
            "Podgórze",
            "Czyżyny",
            "Mistrzejowice",
            "Bieńczyce",
            "Wzgórza Krzesławickie",
            "Nowa Huta",
        ],
        start=1,
    )
)
BY_NAME: dict[str, int] = {name: number for number, name in KRAKOW_DISTRICTS.items()}


# --------------------------------------------------------------------------- normalise


@pytest.mark.parametrize(
    "variants",
    [
        [
            "Dzielnica XII Biezanow-Prokocim",
            "Bieżanów-Prokocim",
            "bieżanów prokocim",
            "BIEŻANÓW-PROKOCIM",
            "Dzielnica XII - Bieżanów-Prokocim",
            "XII Bieżanów-Prokocim",
            "dzielnica xii: bieżanów–prokocim",
            "  Bieżanów -  Prokocim. ",
        ],
        ["Praga Południe", "Praga-Południe", "PRAGA-POŁUDNIE", "praga_poludnie"],
        [
            "Łagiewniki-Borek Fałęcki",
            "LAGIEWNIKI BOREK FALECKI",
            "Dzielnica IX Łagiewniki - Borek Fałęcki",
        ],
        ["Wzgórza Krzesławickie", "Dz. XVII Wzgórza Krzesławickie", "WZGÓRZA KRZESŁAWICKIE"],
        ["Śródmieście", "Srodmiescie", "Dzielnica Śródmieście"],
    ],
)
def test_normalise_variants_share_a_key(variants: list[str]) -> None:
    keys = {normalise(v) for v in variants}
    assert len(keys) == 1, keys


def test_normalise_output_shape() -> None:
    assert normalise("Dzielnica XII Biezanow-Prokocim") == "biezanow prokocim"
    assert normalise("Łagiewniki-Borek Fałęcki") == "lagiewniki borek falecki"
    assert normalise("Żółć, gęślą jaźń!") == "zolc gesla jazn"
    assert normalise("") == ""


def test_polish_l_with_stroke_is_mapped_explicitly() -> None:
    # NFKD leaves ł/Ł untouched; it must still become l.
    assert normalise("ł") == "l"
    assert normalise("Łódź") == "lodz"
    assert normalise("Białołęka") == "bialoleka"


def test_prefix_stripping_does_not_eat_names() -> None:
    assert normalise("Dzielnicami") == "dzielnicami"  # the word only, not a word prefix
    assert normalise("Dzielnica Czyżyny") == "czyzyny"  # C is no Roman number here
    assert normalise("Dzielnica I") == "dzielnica i"  # nothing left after it: keep all
    assert normalise("XII") == "xii"
    assert normalise("Ichnia") == "ichnia"
    assert normalise("Vistula") == "vistula"
    assert normalise("Bieżanów-Prokocim", strip_prefix=False) == "biezanow prokocim"
    assert normalise("XII Bieżanów", strip_prefix=False) == "xii biezanow"


@pytest.mark.parametrize(("number", "name"), sorted(KRAKOW_DISTRICTS.items()))
def test_every_official_district_survives_its_prefix(number: int, name: str) -> None:
    prefixed = f"Dzielnica {int_to_roman(number)} {name}"
    assert normalise(prefixed) == normalise(name)
    assert match_name(prefixed, BY_NAME) == number
    assert match_name(name.upper(), BY_NAME) == number


def test_official_district_keys_are_distinct() -> None:
    assert len({normalise(n) for n in KRAKOW_DISTRICTS.values()}) == 18


# --------------------------------------------------------------------------- match_name


def test_match_exact_and_misspelt() -> None:
    assert match_name("Wzgórza Krzeszławickie", BY_NAME) == 17  # real misspelling, 1 edit
    assert match_name("Podgorze", BY_NAME) == 13
    assert match_name("PODGÓRZE DUCHACKIE", BY_NAME) == 11
    assert match_name("Nowa Hut", BY_NAME) == 18
    assert match_name("Bienczyce", BY_NAME) == 16
    assert match_name("Pradnik Bialy", BY_NAME) == 4


def test_match_too_far_or_empty_returns_none() -> None:
    assert match_name("Kraków", BY_NAME) is None
    assert match_name("Bieżanów", BY_NAME) is None
    assert match_name("Prądnik", BY_NAME) is None
    assert match_name("", BY_NAME) is None
    assert match_name("---", BY_NAME) is None
    assert match_name("Podgórze", {}) is None


def test_match_max_distance() -> None:
    assert match_name("Wzgorza Krzeszlawickie", BY_NAME, max_distance=0) is None
    assert match_name("Wzgórza Krzesławickie", BY_NAME, max_distance=0) == 17  # exact still works
    assert match_name("Wzgurza Krzeszlawicki", BY_NAME, max_distance=2) is None  # 3 edits
    assert match_name("Wzgurza Krzeslawicki", BY_NAME, max_distance=2) == 17  # 2 edits


def test_short_names_tolerate_at_most_one_edit() -> None:
    warsaw = {"Wola": "wola", "Ursus": "ursus", "Wawer": "wawer"}
    assert match_name("Wolla", warsaw) == "wola"
    assert match_name("Wila", warsaw) == "wola"
    assert match_name("Wi", warsaw) is None  # far from every key


def test_ambiguous_matches_return_none() -> None:
    # Equally close to two candidates with different values.
    assert match_name("Podgórzy", {"Podgórze": 1, "Podgórza": 2}) is None
    # Two spellings of one key pointing at different values.
    assert match_name("Praga Południe", {"Praga-Południe": 1, "PRAGA POŁUDNIE": 2}) is None
    # ... but the same value twice is fine.
    assert match_name("Praga Południe", {"Praga-Południe": 7, "PRAGA POŁUDNIE": 7}) == 7
    # A strictly closer candidate wins over a farther one.
    assert match_name("Podgórzee", {"Podgórze": 1, "Podgórze D": 2}) == 1


def test_levenshtein() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert levenshtein("abc", "abc") == 0
    assert levenshtein("kitten", "sitting", limit=1) == 2  # limit + 1 once exceeded
    assert levenshtein("a", "abcdef", limit=2) == 3


# --------------------------------------------------------------------------- Roman numerals


def test_roman_examples() -> None:
    assert roman_to_int("XVIII") == 18
    assert int_to_roman(18) == "XVIII"
    assert roman_to_int("xii") == 12
    assert roman_to_int(" IX ") == 9
    assert int_to_roman(1994) == "MCMXCIV"
    assert [int_to_roman(n) for n in (1, 4, 9, 14, 40, 90, 400, 3999)] == [
        "I",
        "IV",
        "IX",
        "XIV",
        "XL",
        "XC",
        "CD",
        "MMMCMXCIX",
    ]


def test_roman_round_trip() -> None:
    for n in range(1, 4000):
        assert roman_to_int(int_to_roman(n)) == n


@pytest.mark.parametrize("bad", ["", "IIII", "IC", "VX", "XXXX", "ABC", "12", "MMMM", "I I"])
def test_roman_to_int_rejects_non_canonical(bad: str) -> None:
    with pytest.raises(ValueError):
        roman_to_int(bad)


@pytest.mark.parametrize("bad", [0, -1, 4000])
def test_int_to_roman_range(bad: int) -> None:
    with pytest.raises(ValueError):
        int_to_roman(bad)


def test_int_to_roman_type() -> None:
    with pytest.raises(TypeError):
        int_to_roman(True)
    with pytest.raises(TypeError):
        int_to_roman("3")  # type: ignore[arg-type]
