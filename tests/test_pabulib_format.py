"""importers.pabulib_format on the real Pabulib files and on small malformed inputs.

The real files are read from /work/shared/data (pabulib-krakow/, pabulib-poland-geo/) when
present, else from <repo>/data/pabulib (flat, or with those two sub-folders). Tests needing
them are skipped, with the reason, only when neither location holds any .pb file.
"""

from __future__ import annotations

import io
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from geo.names import int_to_roman, match_name, normalise
from importers.pabulib_format import (
    PbFile,
    PbFormatError,
    meta_float,
    meta_int,
    parse_pb,
    project_coordinates,
    vote_project_ids,
)

REPO = Path(__file__).resolve().parents[1]
# The project ships the files in data/pabulib; the team's shared copy is the fallback.
DATA_ROOTS: tuple[Path, ...] = (REPO / "data" / "pabulib", Path("/work/shared/data"))
SUBFOLDERS: tuple[str, ...] = ("pabulib-krakow", "pabulib-poland-geo")

# --------------------------------------------------------------------------- expected data

KRAKOW_YEARS: tuple[int, ...] = (2018, 2019, 2020, 2021, 2022, 2024)
# Slug in the file name -> official district number (I..XVIII) and name.
KRAKOW_SLUGS: dict[str, tuple[int, str]] = {
    "stare-miasto": (1, "Stare Miasto"),
    "grzegorzki": (2, "Grzegórzki"),
    "pradnik-czerwony": (3, "Prądnik Czerwony"),
    "pradnik-bialy": (4, "Prądnik Biały"),
    "krowodrza": (5, "Krowodrza"),
    "bronowice": (6, "Bronowice"),
    "zwierzyniec": (7, "Zwierzyniec"),
    "debniki": (8, "Dębniki"),
    "lagiewniki-borek-falecki": (9, "Łagiewniki-Borek Fałęcki"),
    "swoszowice": (10, "Swoszowice"),
    "podgorze-duchackie": (11, "Podgórze Duchackie"),
    "biezanow-prokocim": (12, "Bieżanów-Prokocim"),
    "podgorze": (13, "Podgórze"),
    "czyzyny": (14, "Czyżyny"),
    "mistrzejowice": (15, "Mistrzejowice"),
    "bienczyce": (16, "Bieńczyce"),
    "wzgorza-krzeslawickie": (17, "Wzgórza Krzesławickie"),
    "nowa-huta": (18, "Nowa Huta"),
}
OFFICIAL_DISTRICTS: dict[str, int] = {name: number for number, name in KRAKOW_SLUGS.values()}
KRAKOW_FILES: tuple[str, ...] = tuple(
    f"poland_krakow_{year}_{slug}.pb" for year in KRAKOW_YEARS for slug in ("", *KRAKOW_SLUGS)
)

# Warsaw district slug -> (projects with coordinates, projects), from pabulib-poland-geo/SOURCE.md.
WARSAW_COORDS: dict[str, tuple[int, int]] = {
    "bemowo": (72, 74),
    "bialoleka": (51, 54),
    "bielany": (92, 100),
    "mokotow": (72, 76),
    "ochota": (39, 49),
    "praga-polnoc": (46, 52),
    "praga-poludnie": (62, 66),
    "rembertow": (34, 36),
    "srodmiescie": (37, 51),
    "targowek": (78, 81),
    "ursus": (43, 55),
    "ursynow": (47, 60),
    "wawer": (91, 95),
    "wesola": (22, 32),
    "wilanow": (15, 18),
    "wlochy": (57, 59),
    "wola": (55, 61),
    "zoliborz": (36, 46),
}
GEO_FILES: tuple[str, ...] = (
    "poland_katowice_2021_.pb",
    "poland_wieliczka_2023_green-budget.pb",
    *(f"poland_warszawa_2024_{slug}.pb" for slug in WARSAW_COORDS),
)

# Files whose META num_projects / num_votes disagree with their content:
# {file name: (projects counted, num_projects, ballots counted, num_votes)}.
# Checked on the Pabulib snapshot d29342a80ea68826 (commit 22dbda3 of the mirror): all
# 134 files agree, so this is empty. Should a file ever disagree, record it here rather
# than loosening the test.
KNOWN_META_MISMATCHES: dict[str, tuple[int, int, int, int]] = {}

# City-wide file per year: (projects, ballots) — from pabulib-krakow/SOURCE.md.
KRAKOW_CITYWIDE: dict[int, tuple[int, int]] = {
    2018: (123, 32_958),
    2019: (118, 50_004),
    2020: (97, 42_280),
    2021: (99, 51_229),
    2022: (93, 42_965),
    2024: (119, 65_101),
}


# --------------------------------------------------------------------------- locating the data


def _pb_files_under(root: Path) -> dict[str, Path]:
    """``{file name: path}`` of the .pb files in ``root`` or its Pabulib sub-folders."""
    found: dict[str, Path] = {}
    for folder in (root, *(root / sub for sub in SUBFOLDERS)):
        if folder.is_dir():
            for path in sorted(folder.glob("poland_*.pb")):
                found.setdefault(path.name, path)
    return found


def find_pabulib_data() -> tuple[Path, dict[str, Path]] | None:
    """The first of ``DATA_ROOTS`` holding .pb files, with those files; ``None`` if none."""
    for root in DATA_ROOTS:
        files = _pb_files_under(root)
        if files:
            return root, files
    return None


_DATA = find_pabulib_data()


@pytest.fixture(scope="session")
def pb_files() -> dict[str, Path]:
    if _DATA is None:
        pytest.fail(
            "no Pabulib .pb files: neither /work/shared/data/pabulib-krakow|pabulib-poland-geo "
            f"nor {REPO / 'data' / 'pabulib'} exists / holds poland_*.pb files"
        )
    return _DATA[1]


def _path(pb_files: dict[str, Path], name: str) -> Path:
    path = pb_files.get(name)
    if path is None:
        pytest.fail(f"{name} missing from the Pabulib data under {_DATA and _DATA[0]}")
    return path


_PARSED: dict[str, PbFile] = {}


def parsed(pb_files: dict[str, Path], name: str) -> PbFile:
    if name not in _PARSED:
        _PARSED[name] = parse_pb(_path(pb_files, name))
    return _PARSED[name]


# --------------------------------------------------------------------------- real files


def test_the_whole_file_set_is_there(pb_files: dict[str, Path]) -> None:
    missing = [n for n in KRAKOW_FILES if n not in pb_files]
    assert not missing, f"Kraków files missing: {missing}"
    assert len(KRAKOW_FILES) == 114


@pytest.mark.parametrize("name", KRAKOW_FILES + GEO_FILES)
def test_counts_match_meta(pb_files: dict[str, Path], name: str) -> None:
    pb = parsed(pb_files, name)
    project_ids = {p["project_id"] for p in pb.projects}
    min_len = meta_int(pb.meta, "min_length", None)
    max_len = meta_int(pb.meta, "max_length", None)
    ballots = 0
    bad_refs: Counter[str] = Counter()
    bad_lengths = 0
    for ballot in pb.iter_votes():
        ballots += 1
        ids = vote_project_ids(ballot)
        bad_refs.update(i for i in ids if i not in project_ids)
        if (
            len(set(ids)) != len(ids)
            or (min_len and len(ids) < min_len)
            or (max_len and len(ids) > max_len)
        ):
            bad_lengths += 1
    counted = (
        len(pb.projects),
        meta_int(pb.meta, "num_projects"),
        ballots,
        meta_int(pb.meta, "num_votes"),
    )
    if name in KNOWN_META_MISMATCHES:
        assert counted == KNOWN_META_MISMATCHES[name], "documented mismatch changed"
    else:
        assert counted[0] == counted[1], (
            f"{name}: {counted[0]} project rows, META num_projects {counted[1]}"
        )
        assert counted[2] == counted[3], (
            f"{name}: {counted[2]} ballots, META num_votes {counted[3]}"
        )
    assert not bad_refs, f"{name}: ballots name unknown projects {dict(bad_refs)}"
    assert bad_lengths == 0, (
        f"{name}: {bad_lengths} ballots repeat a project or break min/max_length"
    )


def test_known_mismatches_are_real_file_names() -> None:
    assert set(KNOWN_META_MISMATCHES) <= set(KRAKOW_FILES + GEO_FILES)


@pytest.mark.parametrize("year", KRAKOW_YEARS)
def test_krakow_yearly_totals(pb_files: dict[str, Path], year: int) -> None:
    city = parsed(pb_files, f"poland_krakow_{year}_.pb")
    assert (len(city.projects), meta_int(city.meta, "num_votes")) == KRAKOW_CITYWIDE[year]
    assert "district" not in city.meta and "subunit" not in city.meta
    district_votes = sum(
        meta_int(parsed(pb_files, f"poland_krakow_{year}_{slug}.pb").meta, "num_votes")
        for slug in KRAKOW_SLUGS
    )
    assert district_votes == KRAKOW_CITYWIDE[year][1]


def test_krakow_2024_citywide(pb_files: dict[str, Path]) -> None:
    pb = parsed(pb_files, "poland_krakow_2024_.pb")
    assert len(pb.projects) == 119
    assert pb.projects[0]["project_id"] == "BO.OM.97/24"
    assert pb.project_columns == [
        "project_id",
        "cost",
        "votes",
        "score",
        "name",
        "category",
        "selected",
    ]
    assert pb.vote_columns == ["voter_id", "vote", "age", "sex", "neighborhood"]
    assert sum(p["selected"] == "1" for p in pb.projects) == 10
    assert meta_float(pb.meta, "budget") == 9_200_000
    first = next(pb.iter_votes())
    assert first == {
        "voter_id": "1",
        "vote": "BO.OM.63/24,BO.OM.81/24,BO.OM.178/24",
        "age": "18",
        "sex": "F",
        "neighborhood": "Podgórze",
    }
    assert vote_project_ids(first) == ["BO.OM.63/24", "BO.OM.81/24", "BO.OM.178/24"]


def test_krakow_totals_over_all_files(pb_files: dict[str, Path]) -> None:
    projects = sum(len(parsed(pb_files, n).projects) for n in KRAKOW_FILES)
    ballots = sum(meta_int(parsed(pb_files, n).meta, "num_votes") for n in KRAKOW_FILES)
    assert (projects, ballots) == (3405, 569_074)


@pytest.mark.parametrize(("year", "slug"), [(y, s) for y in KRAKOW_YEARS for s in KRAKOW_SLUGS])
def test_krakow_district_names_match_official(
    pb_files: dict[str, Path], year: int, slug: str
) -> None:
    meta = parsed(pb_files, f"poland_krakow_{year}_{slug}.pb").meta
    number, official = KRAKOW_SLUGS[slug]
    for key in ("subunit", "district"):
        assert match_name(meta[key], OFFICIAL_DISTRICTS) == number, (key, meta[key])
    assert normalise(f"Dzielnica {int_to_roman(number)} {meta['subunit']}") == normalise(official)


@pytest.mark.parametrize("year", KRAKOW_YEARS)
def test_citywide_ballots_per_voter_district_equal_district_files(
    pb_files: dict[str, Path], year: int
) -> None:
    """The voter's district column (``district`` upper-case 2018–2022, ``neighborhood``
    2024) names an official district on every ballot, and per district the city-wide
    ballots number exactly the district file's ballots."""
    city = parsed(pb_files, f"poland_krakow_{year}_.pb")
    column = "neighborhood" if year == 2024 else "district"
    assert column in city.vote_columns
    raw = Counter(ballot[column] for ballot in city.iter_votes())
    per_district: Counter[int | None] = Counter()
    for value, count in raw.items():
        per_district[match_name(value, OFFICIAL_DISTRICTS)] += count
    assert None not in per_district
    expected = {
        number: meta_int(parsed(pb_files, f"poland_krakow_{year}_{slug}.pb").meta, "num_votes")
        for slug, (number, _) in KRAKOW_SLUGS.items()
    }
    assert dict(per_district) == expected


def test_krakow_files_have_no_coordinates(pb_files: dict[str, Path]) -> None:
    for name in KRAKOW_FILES:
        pb = parsed(pb_files, name)
        assert "latitude" not in pb.project_columns
        assert all(project_coordinates(p) is None for p in pb.projects)


@pytest.mark.parametrize("slug", WARSAW_COORDS)
def test_warsaw_coordinates(pb_files: dict[str, Path], slug: str) -> None:
    pb = parsed(pb_files, f"poland_warszawa_2024_{slug}.pb")
    with_coords = 0
    for project in pb.projects:
        point = project_coordinates(project)
        if point is None:
            assert project["latitude"] == project["longitude"] == ""
            continue
        with_coords += 1
        lon, lat = point
        assert isinstance(lon, float) and isinstance(lat, float)
        assert 20.8 < lon < 21.4 and 52.0 < lat < 52.4, (project["project_id"], point)
    assert (with_coords, len(pb.projects)) == WARSAW_COORDS[slug]
    assert match_name(slug.replace("-", " "), {pb.meta["subunit"]: True}) is True


def test_other_geo_files(pb_files: dict[str, Path]) -> None:
    wieliczka = parsed(pb_files, "poland_wieliczka_2023_green-budget.pb")
    points = [project_coordinates(p) for p in wieliczka.projects]
    assert sum(p is not None for p in points) == 63 and len(points) == 64
    katowice = parsed(pb_files, "poland_katowice_2021_.pb")
    assert all(project_coordinates(p) is not None for p in katowice.projects)
    assert "district" in katowice.vote_columns


# --------------------------------------------------------------------------- small valid inputs

GOOD = (
    "META\nkey;value\ndescription;test\nnum_projects;2\nnum_votes;3\nbudget;1000.50\n"
    "PROJECTS\nproject_id;cost;name;latitude;longitude\n"
    '1;500;"Park; ławki ""nowe""";50.06;19.94\n'
    "BO.D18.41/24;250.5;Bez miejsca;;\n"
    "VOTES\nvoter_id;vote\n"
    "a;1,BO.D18.41/24\nb;1\nc;BO.D18.41/24\n"
)


def write(tmp_path: Path, content: str | bytes, name: str = "x.pb") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def check_good(pb: PbFile) -> None:
    assert pb.meta == {
        "description": "test",
        "num_projects": "2",
        "num_votes": "3",
        "budget": "1000.50",
    }
    assert [p["project_id"] for p in pb.projects] == ["1", "BO.D18.41/24"]
    assert pb.projects[0]["name"] == 'Park; ławki "nowe"'
    assert project_coordinates(pb.projects[0]) == (19.94, 50.06)  # (lon, lat)
    assert project_coordinates(pb.projects[1]) is None
    votes = list(pb.iter_votes())
    assert votes == [
        {"voter_id": "a", "vote": "1,BO.D18.41/24"},
        {"voter_id": "b", "vote": "1"},
        {"voter_id": "c", "vote": "BO.D18.41/24"},
    ]
    assert list(pb.iter_votes()) == votes  # re-iterable
    assert pb.count_votes() == 3
    assert pb.project("BO.D18.41/24") is pb.projects[1]
    assert pb.project("nope") is None
    assert pb.project_lines == [9, 10]


def test_parse_path_and_str(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    check_good(parse_pb(path))
    check_good(parse_pb(str(path)))


def test_bom_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path, ("\ufeff" + GOOD).replace("\n", "\r\n"))
    pb = parse_pb(path)
    check_good(pb)
    assert all("\r" not in v for v in pb.meta.values())


def test_text_and_binary_streams() -> None:
    check_good(parse_pb(io.StringIO(GOOD)))
    check_good(parse_pb(io.BytesIO(("\ufeff" + GOOD).replace("\n", "\r\n").encode())))


def test_non_seekable_stream_reads_votes_once() -> None:
    class OneShot(io.StringIO):
        def seekable(self) -> bool:
            return False

    pb = parse_pb(OneShot(GOOD))
    assert len(list(pb.iter_votes())) == 3
    with pytest.raises(RuntimeError, match="only once"):
        list(pb.iter_votes())


def test_blank_lines_and_no_votes_section(tmp_path: Path) -> None:
    text = "\n\nMETA\nkey;value\nnum_projects;1\n\nPROJECTS\nproject_id;cost\n7;10\n\n\n"
    pb = parse_pb(write(tmp_path, text))
    assert pb.projects == [{"project_id": "7", "cost": "10"}]
    assert not pb.has_votes_section
    assert list(pb.iter_votes()) == []


def test_trailing_blank_lines_after_votes(tmp_path: Path) -> None:
    assert parse_pb(write(tmp_path, GOOD + "\n\n")).count_votes() == 3


def test_meta_helpers() -> None:
    meta = {"num_votes": "65101", "budget": "2572946.76", "n": "119.0", "empty": ""}
    assert meta_int(meta, "num_votes") == 65101
    assert meta_int(meta, "n") == 119
    assert meta_int(meta, "missing", 0) == 0
    assert meta_int(meta, "empty", None) is None
    assert meta_float(meta, "budget") == pytest.approx(2572946.76)
    assert meta_float(meta, "missing", None) is None
    with pytest.raises(PbFormatError, match="not an integer"):
        meta_int(meta, "budget")
    with pytest.raises(PbFormatError, match="no 'missing'"):
        meta_int(meta, "missing")
    with pytest.raises(PbFormatError, match="not a number"):
        meta_float({"b": "dużo"}, "b")


def test_vote_project_ids() -> None:
    assert vote_project_ids({"vote": "3, 5,BO.OM.1/24"}) == ["3", "5", "BO.OM.1/24"]
    assert vote_project_ids({"vote": ""}) == []


def test_project_coordinates_helper() -> None:
    assert project_coordinates({"project_id": "1"}) is None
    assert project_coordinates({"latitude": " ", "longitude": ""}) is None
    assert project_coordinates({"latitude": "52.2", "longitude": "21.0"}) == (21.0, 52.2)
    with pytest.raises(ValueError):
        project_coordinates({"latitude": "52.2", "longitude": ""})
    with pytest.raises(ValueError):
        project_coordinates({"latitude": "north", "longitude": "21"})


# --------------------------------------------------------------------------- malformed inputs


def raises_at(tmp_path: Path, content: str | bytes, match: str, line: int | None) -> PbFormatError:
    path = write(tmp_path, content)
    with pytest.raises(PbFormatError, match=match) as info:
        parse_pb(path)
    assert info.value.line_number == line, str(info.value)
    assert str(path) in str(info.value)
    return info.value


def votes_raise_at(tmp_path: Path, content: str | bytes, match: str, line: int) -> None:
    pb = parse_pb(write(tmp_path, content))  # META/PROJECTS are fine ...
    with pytest.raises(PbFormatError, match=match) as info:
        list(pb.iter_votes())  # ... the ballots are not
    assert info.value.line_number == line, str(info.value)


def test_empty_file(tmp_path: Path) -> None:
    raises_at(tmp_path, "", "empty file", None)
    raises_at(tmp_path, "\ufeff\r\n \n\n", "empty file", 3)


def test_missing_meta(tmp_path: Path) -> None:
    text = "PROJECTS\nproject_id;cost\n1;10\n"
    raises_at(tmp_path, text, "must start with a META section, found PROJECTS", 1)
    raises_at(tmp_path, "project_id;cost\n1;10\n", "must start with a META section", 1)


def test_missing_projects(tmp_path: Path) -> None:
    raises_at(tmp_path, "META\nkey;value\nnum_projects;1\n", "no PROJECTS section", 3)
    text = "META\nkey;value\nnum_projects;1\nVOTES\nvoter_id;vote\n1;2\n"
    raises_at(tmp_path, text, "section VOTES found where PROJECTS was expected", 4)


def test_sections_out_of_order_or_repeated(tmp_path: Path) -> None:
    text = "META\nkey;value\nPROJECTS\nproject_id;cost\n1;10\nMETA\nkey;value\n"
    raises_at(tmp_path, text, "section META found where VOTES was expected", 6)


def test_missing_header_line(tmp_path: Path) -> None:
    raises_at(tmp_path, "META\nPROJECTS\nproject_id;cost\n", "META section has no header line", 2)
    raises_at(tmp_path, "META\nkey;value\nPROJECTS\n", "PROJECTS section has no header line", 3)


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("id;cost;name", "project_id"),
        ("project_id;price;name", "cost"),
        ("name", "project_id, cost"),
    ],
)
def test_projects_header_missing_required_column(tmp_path: Path, header: str, missing: str) -> None:
    text = f"META\nkey;value\nPROJECTS\n{header}\n"
    raises_at(tmp_path, text, f"PROJECTS header lacks required column\\(s\\) {missing}", 4)


def test_other_header_problems(tmp_path: Path) -> None:
    raises_at(tmp_path, "META\nname;value\n", "META header lacks required column\\(s\\) key", 2)
    text = "META\nkey;value\nPROJECTS\nproject_id;cost;cost\n"
    raises_at(tmp_path, text, "repeats column 'cost'", 4)
    text = "META\nkey;value\nPROJECTS\nproject_id;cost\n1;5\nVOTES\nvoter_id;ballot\n"
    raises_at(tmp_path, text, "VOTES header lacks required column\\(s\\) vote", 7)


@pytest.mark.parametrize("cost", ["abc", "12 000 zł", "", "1,5", "nan", "inf", "-5"])
def test_non_numeric_cost(tmp_path: Path, cost: str) -> None:
    text = f"META\nkey;value\nPROJECTS\nproject_id;cost;name\n1;100;ok\n2;{cost};bad\n"
    err = raises_at(tmp_path, text, "cost of project 2 is", 6)
    assert "2" in err.message


def test_wrong_field_count_in_meta(tmp_path: Path) -> None:
    text = "META\nkey;value\nbudget;1000;PLN\nPROJECTS\nproject_id;cost\n"
    raises_at(tmp_path, text, "META row has 3 fields, the header has 2", 3)


def test_wrong_field_count_in_projects(tmp_path: Path) -> None:
    text = "META\nkey;value\nPROJECTS\nproject_id;cost;name\n1;10;a\n2;20;Park; ławki\n"
    raises_at(tmp_path, text, "PROJECTS row has 4 fields, the header has 3", 6)
    text = "META\nkey;value\nPROJECTS\nproject_id;cost;name\n1;10\n"
    raises_at(tmp_path, text, "PROJECTS row has 2 fields", 5)


def test_wrong_field_count_in_votes_raises_lazily(tmp_path: Path) -> None:
    text = GOOD + "d;1;extra\n"
    votes_raise_at(tmp_path, text, "VOTES row has 3 fields, the header has 2", 16)
    votes_raise_at(tmp_path, GOOD.replace("b;1\n", "b\n"), "VOTES row has 1 fields", 14)


def test_empty_vote_and_extra_section_after_votes(tmp_path: Path) -> None:
    votes_raise_at(tmp_path, GOOD.replace("b;1\n", "b;\n"), "empty 'vote'", 14)
    votes_raise_at(tmp_path, GOOD + "META\n", "unexpected section 'META' after VOTES", 16)


def test_duplicates(tmp_path: Path) -> None:
    raises_at(tmp_path, "META\nkey;value\na;1\na;2\n", "META key 'a' appears twice", 4)
    text = "META\nkey;value\nPROJECTS\nproject_id;cost\n1;10\n1;20\n"
    raises_at(tmp_path, text, "project_id '1' appears twice", 6)
    raises_at(tmp_path, "META\nkey;value\nPROJECTS\nproject_id;cost\n;10\n", "empty project_id", 5)


@pytest.mark.parametrize(
    ("lat", "lon", "match"),
    [
        ("52.2", "", "only one of"),
        ("", "21.0", "only one of"),
        ("abc", "21.0", "latitude is not a number"),
        ("52.2", "210", "longitude out of range"),
        ("nan", "21", "latitude out of range"),
    ],
)
def test_bad_coordinates(tmp_path: Path, lat: str, lon: str, match: str) -> None:
    text = f"META\nkey;value\nPROJECTS\nproject_id;cost;latitude;longitude\n1;10;{lat};{lon}\n"
    raises_at(tmp_path, text, match, 5)


def test_unterminated_quote(tmp_path: Path) -> None:
    text = 'META\nkey;value\nPROJECTS\nproject_id;cost;name\n1;10;"Park\n'
    raises_at(tmp_path, text, "CSV syntax error", 5)


def test_binary_garbage(tmp_path: Path) -> None:
    garbage = random.Random(20240913).randbytes(4096)
    raises_at(tmp_path, garbage, "not valid UTF-8", 1)
    raises_at(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not valid UTF-8", 1)


def test_nul_bytes_are_binary(tmp_path: Path) -> None:
    raises_at(tmp_path, b"META\x00\x00\x01\x02\nkey;value\n", "NUL byte", 1)


def test_wrong_encoding_cp1250(tmp_path: Path) -> None:
    text = "META\nkey;value\nunit;Kraków\nPROJECTS\nproject_id;cost\n"
    err = raises_at(tmp_path, text.encode("cp1250"), "not valid UTF-8", 3)
    assert "0xf3" in err.message  # 'ó' in cp1250


def test_wrong_encoding_utf16(tmp_path: Path) -> None:
    raises_at(tmp_path, GOOD.encode("utf-16"), "UTF-16", 1)


def test_wrong_encoding_inside_votes_raises_lazily(tmp_path: Path) -> None:
    content = GOOD.encode() + "d;1\ne;Łódź\n".encode("iso-8859-2")
    votes_raise_at(tmp_path, content, "not valid UTF-8", 17)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PbFormatError, match="cannot open"):
        parse_pb(tmp_path / "nope.pb")


def test_error_str_and_attributes() -> None:
    err = PbFormatError("bad cost", 12, "a.pb")
    assert (err.message, err.line_number, err.source) == ("bad cost", 12, "a.pb")
    assert str(err) == "a.pb:12: bad cost"
    assert str(PbFormatError("bad", 3)) == "line 3: bad"
    assert str(PbFormatError("bad")) == "bad"
    assert isinstance(err, ValueError)


def test_rejects_non_source() -> None:
    with pytest.raises(TypeError):
        parse_pb(42)  # type: ignore[arg-type]


def _lines(n: int) -> Iterator[str]:
    yield "META\nkey;value\nPROJECTS\nproject_id;cost\n1;1\nVOTES\nvoter_id;vote\n"
    for i in range(n):
        yield f"{i};1\n"


def test_votes_are_streamed_not_held(tmp_path: Path) -> None:
    path = tmp_path / "big.pb"
    path.write_text("".join(_lines(50_000)), encoding="utf-8")
    pb = parse_pb(path)
    votes = pb.iter_votes()
    assert next(votes) == {"voter_id": "0", "vote": "1"}
    assert sum(1 for _ in votes) == 49_999
    assert not hasattr(pb, "votes")
