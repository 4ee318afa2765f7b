"""Budżet Obywatelski: residents' proposals, verified by officials, voted, built."""

from __future__ import annotations

from layers._titles import t
from layers.base import PUBLIC, Field, Layer, OgcMeta, Style, Workflow

STATES = (
    "draft",
    "submitted",
    "under_review",
    "accepted_for_vote",
    "rejected",
    "selected",
    "not_selected",
    "in_execution",
    "completed",
)
STATE_TITLES = {
    "draft": t("szkic", "draft", "чернетка"),
    "submitted": t("złożony", "submitted", "подано"),
    "under_review": t("w weryfikacji", "under review", "на перевірці"),
    "accepted_for_vote": t(
        "dopuszczony do głosowania", "accepted for the vote", "допущено до голосування"
    ),
    "rejected": t("odrzucony", "rejected", "відхилено"),
    "selected": t("wybrany do realizacji", "selected", "обрано"),
    "not_selected": t("niewybrany", "not selected", "не обрано"),
    "in_execution": t("w realizacji", "in execution", "реалізується"),
    "completed": t("zrealizowany", "completed", "реалізовано"),
}
CATEGORY_TITLES = {
    "bicycle infrastructure": t(
        "infrastruktura rowerowa", "bicycle infrastructure", "велоінфраструктура"
    ),
    "culture": t("kultura", "culture", "культура"),
    "education": t("edukacja", "education", "освіта"),
    "environmental protection": t(
        "ochrona środowiska", "environmental protection", "охорона довкілля"
    ),
    "health": t("zdrowie", "health", "здоров'я"),
    "infrastructure": t("infrastruktura", "infrastructure", "інфраструктура"),
    "public space": t("przestrzeń publiczna", "public space", "громадський простір"),
    "public transit": t("komunikacja publiczna", "public transit", "громадський транспорт"),
    "security": t("bezpieczeństwo", "security", "безпека"),
    "society": t("społeczeństwo", "society", "суспільство"),
    "sport": t("sport", "sport", "спорт"),
    "urban greenery": t("zieleń miejska", "urban greenery", "міська зелень"),
    "welfare": t("pomoc społeczna", "welfare", "соціальна допомога"),
}

LAYER = Layer(
    name="budget-proposals",
    table="budget_proposals",
    titles=t(
        "Projekty budżetu obywatelskiego",
        "Participatory budget proposals",
        "Проєкти громадського бюджету",
    ),
    descriptions=t(
        "Pomysły mieszkańców do Budżetu Obywatelskiego Krakowa: zgłoszenia, weryfikacja, głosowanie i realizacja.",
        "Residents' ideas for Kraków's participatory budget: submission, review, vote and delivery.",
        "Ідеї мешканців для громадського бюджету Кракова: подання, перевірка, голосування та реалізація.",
    ),
    geometry_types=(
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
    ),
    geometry_required=False,  # a proposal may be "whole district" or "city-wide"
    fields=(
        Field(
            "edition",
            "int",
            t("Edycja (rok)", "Edition (year)", "Випуск (рік)"),
            required=True,
            msip_name="EDYCJA",
            filter=True,
            minimum=2013,
            maximum=2100,
        ),
        Field(
            "title",
            "text",
            t("Tytuł", "Title", "Назва"),
            required=True,
            max_length=500,
            msip_name="TYTUL",
        ),
        Field(
            "description",
            "text",
            t("Opis", "Description", "Опис"),
            max_length=10000,
            msip_name="OPIS",
        ),
        Field(
            "category",
            "text",
            t("Kategoria", "Category", "Категорія"),
            max_length=100,
            choices=tuple(CATEGORY_TITLES),
            choice_titles=CATEGORY_TITLES,
            msip_name="KATEGORIA",
            filter=True,
        ),
        Field(
            "cost",
            "money",
            t("Szacowany koszt (zł)", "Estimated cost (PLN)", "Орієнтовна вартість (зл)"),
            msip_name="KOSZT",
            minimum=0,
        ),
        Field(
            "scope",
            "enum",
            t("Zasięg", "Scope", "Охоплення"),
            required=True,
            choices=("district", "citywide"),
            choice_titles={
                "district": t("dzielnicowy", "district", "районний"),
                "citywide": t("ogólnomiejski", "city-wide", "загальноміський"),
            },
            msip_name="ZASIEG",
            filter=True,
        ),
        Field(
            "status",
            "enum",
            t("Status", "Status", "Статус"),
            required=True,
            choices=STATES,
            choice_titles=STATE_TITLES,
            msip_name="STATUS",
            filter=True,
        ),
        Field(
            "rejection_reason",
            "text",
            t("Powód odrzucenia", "Reason for rejection", "Причина відхилення"),
            max_length=2000,
            msip_name="POW_ODRZ",
        ),
        Field("votes", "int", t("Głosy", "Votes", "Голоси"), msip_name="GLOSY"),
        Field("score", "int", t("Punkty", "Score", "Бали"), msip_name="PUNKTY"),
        Field("selected", "bool", t("Wybrany", "Selected", "Обрано"), msip_name="WYBRANY"),
        Field("source", "text", t("Źródło", "Source", "Джерело"), msip_name="ZRODLO"),
        Field(
            "author_id",
            "int",
            t("Autor (id konta)", "Author (account id)", "Автор (id)"),
            public=False,
        ),
        # Derived by the database from council_opinions (migration 0006_councils): the
        # district councils' opinion; details on the proposal's page (app/councils.py).
        Field(
            "council_opinion",
            "enum",
            t("Opinia rady dzielnicy", "District council opinion", "Висновок ради району"),
            choices=("positive", "negative", "remarks", "mixed"),
            choice_titles={
                "positive": t("pozytywna", "positive", "позитивний"),
                "negative": t("negatywna", "negative", "негативний"),
                "remarks": t("z uwagami", "with remarks", "із зауваженнями"),
                "mixed": t("różne opinie rad", "councils differ", "різні висновки рад"),
            },
            msip_name="OPINIA_RD",
        ),
    ),
    style=Style(color="#b35900", fill_color="#ff9933", category_colors={}),
    popup_fields=("title", "edition", "category", "cost", "status", "votes", "council_opinion"),
    list_fields=("title", "edition", "category", "cost", "status"),
    read_roles=frozenset({PUBLIC}),
    write_roles=frozenset({"resident", "ngo", "official", "admin"}),
    workflow=Workflow(
        states=STATES,
        initial="draft",
        public_states=tuple(s for s in STATES if s != "draft"),
        titles=STATE_TITLES,
        transitions={
            "draft": ("submitted",),
            "submitted": ("under_review", "rejected"),
            "under_review": ("accepted_for_vote", "rejected"),
            "rejected": ("under_review",),  # protest (appeal) upheld
            "accepted_for_vote": ("selected", "not_selected"),
            "selected": ("in_execution",),
            "in_execution": ("completed",),
        },
    ),
    status_field="status",
    category_field="category",
    edition_field="edition",
    public_where="t.hidden_at IS NULL",
    ogc=OgcMeta(
        keywords=("budżet obywatelski", "participatory budget", "Kraków"),
        license="CC BY 4.0",
        attribution="Gmina Miejska Kraków; Pabulib (past editions)",
    ),
)
