"""Obszary rewitalizacji: the city's regeneration (sub)areas, as polygons."""

from __future__ import annotations

from layers._titles import t
from layers.base import PUBLIC, Field, Layer, OgcMeta, Style

LAYER = Layer(
    name="revitalisation-areas",
    table="revitalisation_areas",
    titles=t("Obszary rewitalizacji", "Revitalisation areas", "Території ревіталізації"),
    descriptions=t(
        "Obszary i podobszary rewitalizacji wyznaczone w gminnym programie rewitalizacji.",
        "Revitalisation areas and subareas designated in the municipal revitalisation programme.",
        "Території та підтериторії ревіталізації, визначені міською програмою ревіталізації.",
    ),
    geometry_types=("Polygon", "MultiPolygon"),
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
            "code",
            "text",
            t("Oznaczenie podobszaru", "Subarea code", "Позначення"),
            max_length=50,
            msip_name="KOD",
        ),
        Field(
            "programme",
            "text",
            t("Program", "Programme", "Програма"),
            max_length=300,
            msip_name="PROGRAM",
        ),
        Field("period", "text", t("Okres", "Period", "Період"), max_length=50, msip_name="OKRES"),
        Field(
            "demo",
            "bool",
            t("Dane demonstracyjne", "Demo data", "Демонстраційні дані"),
            msip_name="DEMO",
        ),
    ),
    title_field="name",
    style=Style(color="#e31a1c", fill_color="#fb9a99", fill_opacity=0.25, cluster=False),
    popup_fields=("name", "code", "programme", "period"),
    list_fields=("name", "code", "period"),
    read_roles=frozenset({PUBLIC}),
    write_roles=frozenset({"official", "admin"}),
    reference=True,
    order_by="name, id",
    ogc=OgcMeta(
        keywords=("rewitalizacja", "revitalisation"), attribution="Gmina Miejska Kraków, MSIP"
    ),
)
