"""Inicjatywa Lokalna: residents' local initiatives (art. 19b–19h of the Act on public benefit
activity and volunteering) — what they ask of the city and what they pledge themselves.

The process (applications, the pledge ledger, assessment, pools) lives in civic/initiatives/;
this module only says how the initiatives appear on maps, in the API, exports and OGC API.
"""

from __future__ import annotations

from layers._titles import t
from layers.base import PUBLIC, Field, Layer, OgcMeta, Style, Workflow

STATES = ("submitted", "under_assessment", "accepted", "rejected", "in_progress", "completed")
STATE_TITLES = {
    "submitted": t("złożona", "submitted", "подано"),
    "under_assessment": t("w ocenie", "under assessment", "на оцінюванні"),
    "accepted": t("przyjęta do realizacji", "accepted", "прийнято"),
    "rejected": t("odrzucona", "rejected", "відхилено"),
    "in_progress": t("w realizacji", "in progress", "реалізується"),
    "completed": t("zrealizowana", "completed", "реалізовано"),
}
TRANSITIONS = {
    "submitted": ("under_assessment", "rejected"),
    "under_assessment": ("accepted", "rejected"),
    "accepted": ("in_progress",),
    "in_progress": ("completed",),
    "rejected": (),
    "completed": (),
}
APPLICANT_KINDS = {
    "residents": t("grupa mieszkańców", "a group of residents", "група мешканців"),
    "ngo": t("organizacja pozarządowa", "an NGO", "громадська організація"),
}

LAYER = Layer(
    name="local-initiatives",
    table="local_initiatives",
    titles=t("Inicjatywy lokalne", "Local initiatives", "Місцеві ініціативи"),
    descriptions=t(
        "Inicjatywa Lokalna: zadania, które mieszkańcy realizują wspólnie z miastem, wnosząc "
        "własną pracę, rzeczy lub pieniądze.",
        "Local initiatives: tasks residents carry out together with the city, contributing "
        "their own work, goods or money.",
        "Місцеві ініціативи: завдання, які мешканці виконують разом із містом, вносячи власну "
        "працю, речі або гроші.",
    ),
    geometry_types=("Point", "LineString", "Polygon"),
    fields=(
        Field(
            "year",
            "int",
            t("Rok", "Year", "Рік"),
            required=True,
            msip_name="ROK",
            minimum=2011,
            maximum=2100,
        ),
        Field(
            "title",
            "text",
            t("Tytuł", "Title", "Назва"),
            required=True,
            max_length=200,
            msip_name="TYTUL",
        ),
        Field(
            "description",
            "text",
            t("Opis", "Description", "Опис"),
            required=True,
            max_length=10000,
            msip_name="OPIS",
        ),
        Field(
            "address", "text", t("Adres", "Address", "Адреса"), max_length=300, msip_name="ADRES"
        ),
        Field(
            "city_task",
            "text",
            t(
                "Co ma zrobić lub użyczyć miasto",
                "What the city is asked for",
                "Що просять у міста",
            ),
            required=True,
            max_length=5000,
            msip_name="ZADANIE_M",
        ),
        Field(
            "schedule",
            "text",
            t("Harmonogram", "Schedule", "Графік"),
            required=True,
            max_length=2000,
            msip_name="HARMONOGR",
        ),
        Field("starts_on", "date", t("Początek", "Starts", "Початок"), msip_name="OD"),
        Field("ends_on", "date", t("Koniec", "Ends", "Кінець"), msip_name="DO"),
        Field(
            "city_cost",
            "money",
            t("Wkład miasta (zł)", "City's share (PLN)", "Внесок міста (зл)"),
            required=True,
            minimum=0,
            msip_name="WKLAD_M",
        ),
        Field(
            "applicant_kind",
            "enum",
            t("Wnioskodawca", "Applicant", "Заявник"),
            choices=tuple(APPLICANT_KINDS),
            choice_titles=APPLICANT_KINDS,
            msip_name="WNIOSKODAW",
            filter=True,
        ),
        Field(
            "applicant_name",
            "text",
            t("Nazwa wnioskodawcy", "Applicant's name", "Назва заявника"),
            max_length=300,
            msip_name="NAZWA_WN",
        ),
        Field(
            "organisation_id",
            "int",
            t("Organizacja", "Organisation", "Організація"),
            msip_name="ORG_ID",
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
            "status_reason",
            "text",
            t("Uzasadnienie statusu", "Reason for the status", "Обґрунтування статусу"),
            msip_name="POWOD",
        ),
        Field("pool_year", "int", t("Pula roku", "Pool of year", "Фонд року"), msip_name="PULA"),
        Field(
            "score",
            "int",
            t("Ocena (na 100)", "Score (of 100)", "Оцінка (зі 100)"),
            minimum=0,
            maximum=100,
            msip_name="OCENA",
        ),
        Field(
            "pledged_value",
            "money",
            t(
                "Wkład własny zadeklarowany (zł)",
                "Own contribution pledged (PLN)",
                "Власний внесок задекларовано (зл)",
            ),
            msip_name="WKLAD_DEK",
        ),
        Field(
            "delivered_value",
            "money",
            t(
                "Wkład własny wniesiony (zł)",
                "Own contribution delivered (PLN)",
                "Власний внесок внесено (зл)",
            ),
            msip_name="WKLAD_WN",
        ),
        Field(
            "supporters",
            "int",
            t("Lista poparcia", "Supporters", "Підтримали"),
            msip_name="POPARCIE",
        ),
        Field(
            "author_id",
            "int",
            t("Autor (konto)", "Author (account)", "Автор (обліковий запис)"),
            public=False,
        ),
    ),
    title_field="title",
    # coloured by status (the legend follows the workflow states)
    style=Style(color="#6a3d9a", fill_color="#cab2d6"),
    popup_fields=("title", "status", "year", "applicant_name", "city_cost", "pledged_value"),
    list_fields=("title", "status", "year", "applicant_name"),
    read_roles=frozenset({PUBLIC}),
    write_roles=frozenset({"resident", "ngo", "official", "admin"}),
    workflow=Workflow(
        states=STATES,
        initial="submitted",
        public_states=STATES,
        titles=STATE_TITLES,
        transitions=TRANSITIONS,
    ),
    status_field="status",
    edition_field="year",
    ogc=OgcMeta(keywords=("Inicjatywa Lokalna", "local initiative", "wkład własny")),
)
