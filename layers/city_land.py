"""Parcels and their owner: the "must lie on city land" constraint layer.

The city's real layer (ewidencja gruntów: parcels owned by the Gmina Miejska Kraków) is in MSIP;
load it with ``civicmap import arcgis <MSIP feature service URL> --layer city-land`` or from a
file with ``civicmap import vector parcels.gpkg --layer city-land`` (fields parcel_id, precinct,
owner, city_owned). None is shipped: tests and the demo use a generated layer whose rows say
``synthetic = true`` (``civicmap editions synthetic-parcels``).
"""

from __future__ import annotations

from layers._titles import t
from layers.base import PUBLIC, Field, Layer, OgcMeta, Style

LAYER = Layer(
    name="city-land",
    table="city_land_parcels",
    titles=t("Grunty miasta (działki)", "City land (parcels)", "Міські землі (ділянки)"),
    descriptions=t(
        "Działki ewidencyjne i ich właściciel: czy projekt leży na terenie, którym miasto dysponuje.",
        "Cadastral parcels and their owner: whether a project lies on land the city owns.",
        "Кадастрові ділянки та їхній власник: чи лежить проєкт на міській землі.",
    ),
    geometry_types=("Polygon", "MultiPolygon"),
    fields=(
        Field(
            "parcel_id",
            "text",
            t("Numer działki", "Parcel number", "Номер ділянки"),
            required=True,
            max_length=60,
            msip_name="NR_DZIALKI",
        ),
        Field(
            "precinct",
            "text",
            t("Obręb", "Precinct", "Кадастровий район"),
            max_length=60,
            msip_name="OBREB",
        ),
        Field(
            "owner",
            "text",
            t("Właściciel", "Owner", "Власник"),
            max_length=200,
            msip_name="WLASCICIEL",
        ),
        Field(
            "city_owned",
            "bool",
            t("Własność miasta", "Owned by the city", "Власність міста"),
            required=True,
            msip_name="GMINA",
            filter=True,
        ),
        Field(
            "synthetic",
            "bool",
            t("Dane syntetyczne", "Synthetic data", "Синтетичні дані"),
            msip_name="SYNTET",
        ),
        Field("source", "text", t("Źródło", "Source", "Джерело"), msip_name="ZRODLO"),
    ),
    style=Style(color="#4d6b1f", fill_color="#9ccc65", fill_opacity=0.2, cluster=False),
    popup_fields=("parcel_id", "precinct", "owner", "city_owned", "synthetic"),
    list_fields=("parcel_id", "precinct", "owner", "city_owned"),
    title_field="parcel_id",
    read_roles=frozenset({PUBLIC}),
    write_roles=frozenset({"admin"}),
    reference=True,
    ogc=OgcMeta(
        keywords=("działki", "parcels", "Kraków"),
        license="CC BY 4.0",
        attribution="Gmina Miejska Kraków (MSIP); synthetic rows are generated",
    ),
)

# The constraint (layers/constraints.py reads it as a Constraint; a plain dict because the
# import contract lets a layer module import only the contract's core modules).
CONSTRAINT = {
    "rule": "must_be_on",
    "titles": t("Grunty miasta", "City land", "Міські землі"),
    "label_sql": "f.parcel_id",
    "ok_where": "f.city_owned",
}
