"""Execution of the selected projects of every edition (read-only): status, progress,
responsible unit, actual cost. The view ``pb_execution_map`` (migration 0016) reads
``budget_proposals`` and ``pb_execution`` (written by civic.pb.execution); a project without
a reported execution is "planned". A district project without a location is drawn at a point
inside its district (``located`` false). Migration 0017 adds the latest milestone (date, a short
note, the latest milestone photo's URL) and the link to the project's execution page: the map
popup shows the photo as a thumbnail and the link (field types ``image`` and ``url``)."""

from __future__ import annotations

from geo.schema import GEOMETRY_TYPES
from layers._titles import t
from layers.base import PUBLIC, Field, Layer, OgcMeta, Style

STATUSES = {
    "planned": t("zaplanowany", "planned", "заплановано"),
    "design": t("projektowanie", "design", "проєктування"),
    "tender": t("przetarg", "tender", "тендер"),
    "works": t("prace", "works", "роботи"),
    "completed": t("zakończony", "completed", "завершено"),
    "abandoned": t("zaniechany", "abandoned", "скасовано"),
}

LAYER = Layer(
    on_overview=False,  # its own page draws it (results, execution); switchable in the legend
    name="pb-execution",
    table="pb_execution_map",
    titles=t(
        "Realizacja projektów Budżetu Obywatelskiego",
        "Participatory budget: execution",
        "Громадський бюджет: виконання",
    ),
    descriptions=t(
        "Wybrane projekty wszystkich edycji i etap ich realizacji.",
        "The selected projects of every edition and their stage of execution.",
        "Обрані проєкти всіх випусків і етап їх виконання.",
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
            "status",
            "enum",
            t("Etap realizacji", "Stage of execution", "Етап виконання"),
            choices=tuple(STATUSES),
            choice_titles=STATUSES,
            msip_name="ETAP",
            filter=True,
        ),
        Field(
            "progress", "int", t("Postęp (%)", "Progress (%)", "Прогрес (%)"), msip_name="POSTEP"
        ),
        Field(
            "responsible_unit",
            "text",
            t("Jednostka realizująca", "Responsible unit", "Відповідальний підрозділ"),
            msip_name="JEDNOSTKA",
        ),
        Field("cost", "money", t("Koszt (zł)", "Cost (PLN)", "Вартість (зл)"), msip_name="KOSZT"),
        Field(
            "actual_cost",
            "money",
            t("Koszt rzeczywisty (zł)", "Actual cost (PLN)", "Фактична вартість (зл)"),
            msip_name="KOSZT_RZ",
        ),
        Field(
            "abandoned_reason",
            "text",
            t("Powód zaniechania", "Reason for abandoning", "Причина скасування"),
            msip_name="POWOD",
        ),
        Field(
            "located",
            "bool",
            t("Własna lokalizacja", "Own location", "Власне розташування"),
            msip_name="LOKALIZ",
        ),
        Field(
            "milestone_date",
            "date",
            t("Ostatni etap realizacji", "Latest milestone", "Останній етап"),
            msip_name="DATA_ETAPU",
        ),
        Field(
            "milestone_note",
            "text",
            t("Opis etapu", "Milestone note", "Опис етапу"),
            msip_name="OPIS_ETAPU",
        ),
        Field(
            "photo_url",
            "image",
            t("Zdjęcie z realizacji", "Photo of the works", "Фото виконання"),
            msip_name="ZDJECIE",
        ),
        Field(
            "execution_url",
            "url",
            t("Przebieg realizacji", "Execution progress", "Хід виконання"),
            msip_name="REALIZACJA",
        ),
    ),
    style=Style(
        color="#0d47a1",
        fill_color="#42a5f5",
        category_colors={
            "planned": "#9e9e9e",
            "design": "#7b1fa2",
            "tender": "#f9a825",
            "works": "#ef6c00",
            "completed": "#1b7a2e",
            "abandoned": "#b71c1c",
        },
    ),
    popup_fields=(
        "title",
        "edition",
        "status",
        "progress",
        "responsible_unit",
        "milestone_date",
        "milestone_note",
        "photo_url",
        "execution_url",
    ),
    list_fields=("title", "edition", "status", "progress"),
    category_field="status",
    status_field="status",
    edition_field="edition",
    read_roles=frozenset({PUBLIC}),
    write_roles=frozenset(),
    order_by="edition DESC, id",
    ogc=OgcMeta(
        keywords=("budżet obywatelski", "realizacja", "participatory budget", "execution"),
        license="CC BY 4.0",
        attribution="Civic Map Kraków",
    ),
)
