"""Budżet Obywatelski: residents' proposals, verified by officials, voted, built."""

from __future__ import annotations

from geo.schema import GEOMETRY_TYPES
from layers._titles import t
from layers.base import PUBLIC, Field, Layer, OgcMeta, Style, Workflow

STATES = (
    "draft",
    "submitted",
    "correction",
    "no_support_list",
    "under_review",
    "accepted_for_vote",
    "rejected",
    "protested",
    "withdrawn",
    "merged",
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
    "correction": t(
        "do uzupełnienia (braki formalne)", "to be corrected (formal gap)", "до виправлення"
    ),
    "no_support_list": t("brak listy poparcia", "no support list", "немає списку підтримки"),
    "protested": t("protest w toku", "protest pending", "протест розглядається"),
    "withdrawn": t("wycofany przez autora", "withdrawn by the author", "відкликано автором"),
    "merged": t("połączony z innym projektem", "merged into another project", "об'єднано"),
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
    geometry_types=tuple(GEOMETRY_TYPES),  # any kind of geometry
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
        Field(
            "review_reasons",
            "text[]",
            t("Powody oceny negatywnej", "Reasons of a negative review", "Причини відмови"),
            msip_name="POWODY",
        ),
        Field(
            "final_cost",
            "money",
            t("Koszt po weryfikacji (zł)", "Cost after review (PLN)", "Вартість після перевірки"),
            msip_name="KOSZT_WER",
            minimum=0,
        ),
        Field(
            "pool_district",
            "int",
            t("Pula (dzielnica; 0 = ogólnomiejska)", "Pool (district; 0 = city-wide)", "Пул"),
            msip_name="PULA",
        ),
        Field(
            "ballot_number",
            "int",
            t("Numer na liście do głosowania", "Number on the ballot list", "Номер у списку"),
            msip_name="NR_LISTY",
        ),
        Field(
            "merged_into",
            "int",
            t("Połączony w projekt", "Merged into project", "Об'єднано в проєкт"),
            msip_name="POLACZONY",
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
    popup_fields=(
        "title",
        "edition",
        "category",
        "cost",
        "status",
        "rejection_reason",
        "votes",
        "council_opinion",
    ),
    list_fields=("title", "edition", "category", "cost", "status", "rejection_reason"),
    read_roles=frozenset({PUBLIC}),
    write_roles=frozenset({"resident", "ngo", "official", "admin"}),
    workflow=Workflow(
        states=STATES,
        initial="draft",
        public_states=tuple(s for s in STATES if s != "draft"),
        titles=STATE_TITLES,
        # civic/pb/workflow.py enforces these (and writes the history and the audit log)
        transitions={
            "draft": ("submitted",),
            # formal review: complete -> merit review; a gap -> correction window; rejected;
            # or the support list was not complete by its deadline
            "submitted": ("under_review", "correction", "rejected", "no_support_list", "withdrawn"),
            "correction": ("submitted", "rejected", "no_support_list", "withdrawn"),
            "under_review": ("accepted_for_vote", "rejected", "withdrawn"),
            "rejected": ("protested", "under_review"),  # a protest filed (or re-review)
            "protested": ("accepted_for_vote", "rejected"),  # upheld / dismissed
            "accepted_for_vote": ("selected", "not_selected", "withdrawn", "merged"),
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
