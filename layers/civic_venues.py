"""Civic venues (reference): libraries, culture centres, schools, council seats, offices."""

from __future__ import annotations

from layers._titles import t
from layers.base import PUBLIC, Field, Layer, OgcMeta, Style

TYPES = {
    "library": t("biblioteka", "library", "бібліотека"),
    "culture": t("dom kultury / klub", "culture centre", "будинок культури"),
    "school": t("szkoła", "school", "школа"),
    "university": t("uczelnia", "university", "університет"),
    "council_seat": t("siedziba rady dzielnicy", "district council seat", "рада району"),
    "city_office": t("urząd miasta", "city office", "міська установа"),
    "social_welfare": t("pomoc społeczna", "social welfare office", "соціальна служба"),
    "other": t("inne", "other", "інше"),
}

LAYER = Layer(
    name="civic-venues",
    table="civic_venues",
    titles=t("Miejsca obywatelskie", "Civic venues", "Громадські місця"),
    descriptions=t(
        "Biblioteki, domy kultury, szkoły, siedziby rad dzielnic i urzędy (OpenStreetMap).",
        "Libraries, culture centres, schools, district council seats and offices (OpenStreetMap).",
        "Бібліотеки, будинки культури, школи, ради районів та установи (OpenStreetMap).",
    ),
    geometry_types=("Point",),
    fields=(
        Field(
            "name",
            "text",
            t("Nazwa", "Name", "Назва"),
            required=True,
            max_length=300,
            msip_name="NAZWA",
        ),
        Field(
            "type",
            "enum",
            t("Rodzaj", "Type", "Тип"),
            required=True,
            choices=tuple(TYPES),
            choice_titles=TYPES,
            msip_name="RODZAJ",
            filter=True,
        ),
        Field(
            "address", "text", t("Adres", "Address", "Адреса"), max_length=300, msip_name="ADRES"
        ),
        Field(
            "accessibility",
            "text[]",
            t("Dostępność", "Accessibility", "Доступність"),
            msip_name="DOSTEPNOSC",
        ),
        Field("source", "text", t("Źródło", "Source", "Джерело"), msip_name="ZRODLO"),
    ),
    title_field="name",
    style=Style(color="#555555", fill_color="#999999", radius=5),
    popup_fields=("name", "type", "address"),
    list_fields=("name", "type", "address"),
    read_roles=frozenset({PUBLIC}),
    write_roles=frozenset({"admin"}),
    reference=True,
    order_by="name, id",
    ogc=OgcMeta(
        keywords=("OpenStreetMap", "biblioteki", "kultura", "szkoły"),
        license="ODbL 1.0",
        attribution="© OpenStreetMap contributors",
    ),
)
