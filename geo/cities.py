"""The city is configuration: boundary, districts and name. Kraków is the default.

Select another with ``CIVICMAP_CITY`` (e.g. ``warszawa``). A city names its districts in
official order (the index + 1 is the district number) and says where its district layer is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from geo.config import DATA_DIR


@dataclass(frozen=True)
class DistrictSource:
    path: Path
    format: str  # "esrijson" | "geojson"
    name_field: str
    number_field: str | None = None  # integer or Roman numeral; else matched by name
    label: str = ""
    exclude_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class City:
    slug: str
    name: str
    center: tuple[float, float]  # lat, lon
    zoom: int
    district_names: tuple[str, ...]
    districts: DistrictSource
    population_csv: Path | None = None
    population_label: str = ""
    district_word: str = "Dzielnica"


KRAKOW = City(
    slug="krakow",
    name="Kraków",
    center=(50.0614, 19.9366),
    zoom=11,
    district_names=(
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
    ),
    districts=DistrictSource(
        path=DATA_DIR / "krakow" / "districts-msip.esri.json",
        format="esrijson",
        name_field="NAZWA",
        number_field="ID_DZIELNI",
        label="Gmina Miejska Kraków, MSIP — Podział administracyjny: dzielnice (EPSG:2178)",
    ),
    population_csv=DATA_DIR / "krakow" / "population.csv",
    population_label="zameldowani na pobyt stały, 31.12.2025 (registered permanent residents)",
)

KRAKOW_ANDILABS = DistrictSource(
    path=DATA_DIR / "krakow" / "districts-andilabs.geojson",
    format="geojson",
    name_field="name",
    number_field="cartodb_id",
    label="andilabs/krakow-dzielnice-geojson (CARTO export, licence unknown)",
)

WARSZAWA = City(
    slug="warszawa",
    name="Warszawa",
    center=(52.2297, 21.0122),
    zoom=10,
    district_names=(
        "Bemowo",
        "Białołęka",
        "Bielany",
        "Mokotów",
        "Ochota",
        "Praga-Południe",
        "Praga-Północ",
        "Rembertów",
        "Śródmieście",
        "Targówek",
        "Ursus",
        "Ursynów",
        "Wawer",
        "Wesoła",
        "Wilanów",
        "Włochy",
        "Wola",
        "Żoliborz",
    ),
    districts=DistrictSource(
        path=DATA_DIR / "warszawa" / "districts-andilabs.geojson",
        format="geojson",
        name_field="name",
        label="andilabs/warszawa-dzielnice-geojson (CARTO export, licence unknown)",
        exclude_names=("Warszawa",),
    ),
)

CITIES = {c.slug: c for c in (KRAKOW, WARSZAWA)}


def get_city(slug: str) -> City:
    try:
        return CITIES[slug]
    except KeyError:
        raise ValueError(f"unknown city {slug!r}; known: {', '.join(CITIES)}") from None
