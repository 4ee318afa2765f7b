"""Comments residents leave at a place inside a consultation's area (or on it as a whole)."""

from __future__ import annotations

from layers._titles import t
from layers.base import PUBLIC, Field, Layer, OgcMeta, Style, Workflow

STATES = ("pending", "published", "hidden")
STATE_TITLES = {
    "pending": t("czeka na moderację", "awaiting moderation", "очікує модерації"),
    "published": t("opublikowany", "published", "опубліковано"),
    "hidden": t("ukryty", "hidden", "приховано"),
}

LAYER = Layer(
    name="consultation-comments",
    table="consultation_comments",
    titles=t("Uwagi do konsultacji", "Consultation comments", "Коментарі до консультацій"),
    descriptions=t(
        "Uwagi mieszkańców i organizacji zgłoszone w miejscu na mapie w obszarze konsultacji.",
        "Comments by residents and NGOs, placed on the map inside a consultation's area.",
        "Коментарі мешканців і організацій, розміщені на мапі в межах території консультації.",
    ),
    geometry_types=("Point", "LineString", "Polygon"),
    geometry_required=False,  # a comment on the consultation as a whole
    fields=(
        Field(
            "consultation_id",
            "int",
            t("Konsultacja", "Consultation", "Консультація"),
            required=True,
            msip_name="KONSULT_ID",
            filter=True,
        ),
        Field(
            "body",
            "text",
            t("Treść", "Text", "Текст"),
            required=True,
            max_length=5000,
            msip_name="TRESC",
        ),
        Field(
            "reply_to",
            "int",
            t("W odpowiedzi na", "Reply to", "У відповідь на"),
            msip_name="ODP_NA",
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
        Field("supports", "int", t("Poparcia", "Supports", "Підтримки"), msip_name="POPARCIA"),
        Field(
            "author_id",
            "int",
            t("Autor (id konta)", "Author (account id)", "Автор (id)"),
            public=False,
        ),
    ),
    title_field="body",
    style=Style(color="#1f78b4", fill_color="#a6cee3"),
    popup_fields=("body", "status", "supports"),
    list_fields=("body", "consultation_id", "status", "supports"),
    read_roles=frozenset({PUBLIC}),
    write_roles=frozenset({"resident", "ngo", "admin"}),
    workflow=Workflow(
        states=STATES,
        initial="pending",
        public_states=("published",),
        titles=STATE_TITLES,
        transitions={
            "pending": ("published", "hidden"),
            "published": ("hidden",),
            "hidden": ("published",),
        },
    ),
    status_field="status",
    ogc=OgcMeta(keywords=("konsultacje społeczne", "uwagi", "comments")),
)
