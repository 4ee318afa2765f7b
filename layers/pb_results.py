"""Results of the participatory budget (read-only, for MSIP): per project of every computed
pool whether Kraków's rule funds it, its points, voters, final cost, edition and pool.

The view ``pb_results`` (migration 0016) reads ``pb_result_rows``, which
civic.pb.results.store() fills from the tally engine; nothing writes through this layer. A
district project without a location (every pabulib project) is drawn at a point inside its
district (``located`` false); a city-wide one without a location has no geometry.
"""

from __future__ import annotations

from geo.schema import GEOMETRY_TYPES
from layers._titles import t
from layers.base import PUBLIC, Field, Layer, OgcMeta, Style

OUTCOMES = {
    "funded": t("sfinansowany", "funded", "профінансовано"),
    "not_funded": t("niesfinansowany", "not funded", "не профінансовано"),
}
SCOPES = {
    "district": t("dzielnicowy", "district", "районний"),
    "citywide": t("ogólnomiejski", "city-wide", "загальноміський"),
}

LAYER = Layer(
    on_overview=False,  # its own page draws it (results, execution); switchable in the legend
    name="pb-results",
    table="pb_results",
    titles=t(
        "Wyniki Budżetu Obywatelskiego",
        "Participatory budget results",
        "Результати громадського бюджету",
    ),
    descriptions=t(
        "Projekty każdej policzonej puli: punkty, głosujący, koszt i czy reguła Krakowa je "
        "finansuje (policzone z kart w serwisie).",
        "The projects of every counted pool: points, voters, cost and whether Kraków's rule "
        "funds them (counted from the ballots in the service).",
        "Проєкти кожного підрахованого пулу: бали, виборці, вартість і чи фінансує їх правило "
        "Кракова (підраховано з бюлетенів у сервісі).",
    ),
    geometry_types=tuple(GEOMETRY_TYPES),  # any kind of geometry
    geometry_required=False,
    fields=(
        Field("title", "text", t("Tytuł", "Title", "Назва"), msip_name="TYTUL"),
        Field(
            "edition",
            "int",
            t("Edycja (rok)", "Edition (year)", "Випуск (рік)"),
            msip_name="EDYCJA",
            filter=True,
        ),
        Field(
            "scope",
            "enum",
            t("Zasięg", "Scope", "Охоплення"),
            choices=tuple(SCOPES),
            choice_titles=SCOPES,
            msip_name="ZASIEG",
            filter=True,
        ),
        Field(
            "pool_district",
            "int",
            t(
                "Pula: dzielnica (0 = ogólnomiejska)",
                "Pool: district (0 = city-wide)",
                "Пул: район (0 = загальноміський)",
            ),
            msip_name="PULA_DZ",
            filter=True,
        ),
        Field("pool_name", "text", t("Pula", "Pool", "Пул"), msip_name="PULA"),
        Field(
            "outcome",
            "enum",
            t("Wynik (reguła Krakowa)", "Outcome (Kraków's rule)", "Результат (правило Кракова)"),
            choices=tuple(OUTCOMES),
            choice_titles=OUTCOMES,
            msip_name="WYNIK",
            filter=True,
        ),
        Field("rank", "int", t("Miejsce", "Rank", "Місце"), msip_name="MIEJSCE"),
        Field("points", "int", t("Punkty", "Points", "Бали"), msip_name="PUNKTY"),
        Field("votes", "int", t("Głosujący", "Voters", "Виборці"), msip_name="GLOSY"),
        Field(
            "first_choices",
            "int",
            t("Pierwsze wybory", "First choices", "Перші вибори"),
            msip_name="PIERWSZE",
        ),
        Field("cost", "money", t("Koszt (zł)", "Cost (PLN)", "Вартість (зл)"), msip_name="KOSZT"),
        Field(
            "cumulative_cost",
            "money",
            t("Suma sfinansowanych (zł)", "Cumulative funded (PLN)", "Сума профінансованих (зл)"),
            msip_name="SUMA",
        ),
        Field(
            "funded",
            "bool",
            t("Sfinansowany", "Funded", "Профінансовано"),
            msip_name="FINANS",
        ),
        Field(
            "funded_mes",
            "bool",
            t("Sfinansowany (MES)", "Funded (MES)", "Профінансовано (MES)"),
            msip_name="FIN_MES",
        ),
        Field(
            "published_selected",
            "bool",
            t("Wybrany (wynik opublikowany)", "Selected (published)", "Обрано (опубліковано)"),
            msip_name="OPUBL",
        ),
        Field(
            "located",
            "bool",
            t("Własna lokalizacja", "Own location", "Власне розташування"),
            msip_name="LOKALIZ",
        ),
    ),
    style=Style(
        color="#1b5e20",
        fill_color="#4caf50",
        category_colors={"funded": "#1b7a2e", "not_funded": "#9e9e9e"},
    ),
    popup_fields=("title", "edition", "pool_name", "outcome", "points", "votes", "cost"),
    list_fields=("title", "edition", "pool_name", "outcome", "points"),
    category_field="outcome",
    edition_field="edition",
    read_roles=frozenset({PUBLIC}),
    write_roles=frozenset(),
    order_by="edition DESC, pool_district, rank, id",
    ogc=OgcMeta(
        keywords=("budżet obywatelski", "wyniki", "participatory budget", "results", "Kraków"),
        license="CC BY 4.0",
        attribution="Civic Map Kraków; past editions: Pabulib (pabulib.org)",
    ),
)
