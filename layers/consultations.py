"""Konsultacje społeczne: a plan consulted with residents, with its area on the map."""

from __future__ import annotations

from layers._titles import t
from layers.base import PUBLIC, Field, Layer, OgcMeta, Style, Workflow

STAGES = ("planned", "open", "closed", "report")
STAGE_TITLES = {
    "planned": t("planowane", "planned", "заплановано"),
    "open": t("otwarte", "open", "відкрито"),
    "closed": t("zamknięte", "closed", "закрито"),
    "report": t("raport opublikowany", "report published", "звіт опубліковано"),
}

LAYER = Layer(
    name="consultations",
    table="consultations",
    titles=t("Konsultacje społeczne", "Public consultations", "Громадські консультації"),
    descriptions=t(
        "Obszary planów i projektów poddanych konsultacjom społecznym.",
        "Areas of plans and projects under public consultation.",
        "Території планів і проєктів, винесених на громадські консультації.",
    ),
    geometry_types=("Polygon", "MultiPolygon"),
    fields=(
        Field(
            "title",
            "text",
            t("Tytuł", "Title", "Назва"),
            required=True,
            max_length=300,
            msip_name="TYTUL",
        ),
        Field(
            "description",
            "text",
            t("Opis", "Description", "Опис"),
            max_length=20000,
            msip_name="OPIS",
        ),
        Field(
            "opens_on",
            "date",
            t("Otwarcie", "Opens", "Відкриття"),
            required=True,
            msip_name="OTWARCIE",
        ),
        Field(
            "closes_on",
            "date",
            t("Zamknięcie", "Closes", "Закриття"),
            required=True,
            msip_name="ZAMKNIECIE",
        ),
        Field(
            "stage",
            "enum",
            t("Etap", "Stage", "Етап"),
            required=True,
            choices=STAGES,
            choice_titles=STAGE_TITLES,
            msip_name="ETAP",
            filter=True,
        ),
        Field(
            "documents_url",
            "text",
            t("Dokumenty", "Documents", "Документи"),
            max_length=500,
            msip_name="DOKUMENTY",
        ),
        Field(
            "demo",
            "bool",
            t("Dane demonstracyjne", "Demo data", "Демонстраційні дані"),
            msip_name="DEMO",
        ),
    ),
    style=Style(color="#6a3d9a", fill_color="#cab2d6", fill_opacity=0.2, cluster=False),
    popup_fields=("title", "opens_on", "closes_on", "stage"),
    list_fields=("title", "opens_on", "closes_on", "stage"),
    read_roles=frozenset({PUBLIC}),
    write_roles=frozenset({"official", "admin"}),
    workflow=Workflow(states=STAGES, initial="planned", public_states=STAGES, titles=STAGE_TITLES),
    status_field="stage",
    ogc=OgcMeta(keywords=("konsultacje społeczne", "public consultation")),
)
