"""The Layer contract: everything the API, maps, exports, admin and tests need, in one place.

A layer is one module in layers/ that defines a ``LAYER = Layer(...)`` and one line in
layers/registry.py. Its table follows geo.schema.feature_table_sql (id, external_id, geom,
districts, created_at, updated_at + the layer's own columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FieldType = Literal[
    "text",
    "int",
    "float",
    "money",
    "bool",
    "date",
    "datetime",
    "enum",
    "int[]",
    "text[]",
    "url",  # a link (root-relative or http(s)); a map popup shows it as a link, its title the text
    "image",  # the URL of a photo; a map popup shows it as a thumbnail
]

LANGS = ("pl", "en", "uk")
PUBLIC = "public"  # read role meaning "anyone, without logging in"


@dataclass(frozen=True)
class Field:
    """One property of a feature, stored in a column of the same name."""

    name: str
    type: FieldType
    titles: dict[str, str]  # pl / en / uk
    public: bool = True  # may appear in the API, maps, OGC and exports
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()  # for "enum" (and validated text)
    choice_titles: dict[str, dict[str, str]] = field(default_factory=dict)  # value -> {lang: title}
    msip_name: str | None = None  # <= 10 characters, for Shapefile / MSIP exports
    filter: bool = False  # offered as ?<name>= filter in the API and list views
    minimum: float | None = None
    maximum: float | None = None
    # A web form's own, stricter limit (e.g. Kraków's BO form: a 60-character title, stored in a
    # 500-character column so that imported past editions fit). None: the form uses max_length.
    # layers/validate.py applies it when validating a form (``form=True``).
    form_max_length: int | None = None

    def title(self, lang: str = "pl") -> str:
        return self.titles.get(lang) or self.titles["pl"]

    def json_schema(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "text": {"type": "string"},
            "enum": {"type": "string"},
            "int": {"type": "integer"},
            "float": {"type": "number"},
            "money": {"type": "number"},
            "bool": {"type": "boolean"},
            "date": {"type": "string", "format": "date"},
            "datetime": {"type": "string", "format": "date-time"},
            "int[]": {"type": "array", "items": {"type": "integer"}},
            "text[]": {"type": "array", "items": {"type": "string"}},
            "url": {"type": "string", "format": "uri-reference"},
            "image": {"type": "string", "format": "uri-reference"},
        }[self.type]
        schema = {**base, "title": self.title("pl")}
        if self.max_length:
            schema["maxLength"] = self.max_length
        if self.choices:
            key = "items" if self.type.endswith("[]") else None
            if key:
                schema["items"] = {**schema["items"], "enum": list(self.choices)}
            else:
                schema["enum"] = list(self.choices)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


@dataclass(frozen=True)
class Style:
    """How the map draws the layer (Leaflet path options; points as circle markers)."""

    color: str
    fill_color: str | None = None
    weight: int = 2
    radius: int = 7
    fill_opacity: float = 0.35
    cluster: bool = True  # cluster points on the map
    category_colors: dict[str, str] = field(default_factory=dict)  # by the layer's category field

    def to_dict(self) -> dict[str, Any]:
        return {
            "color": self.color,
            "fillColor": self.fill_color or self.color,
            "weight": self.weight,
            "radius": self.radius,
            "fillOpacity": self.fill_opacity,
            "cluster": self.cluster,
            "categoryColors": self.category_colors,
        }


@dataclass(frozen=True)
class Workflow:
    """Workflow states of a layer's ``status_field``, and which of them the public sees."""

    states: tuple[str, ...]
    initial: str
    public_states: tuple[str, ...]
    titles: dict[str, dict[str, str]] = field(default_factory=dict)  # state -> {lang: title}
    transitions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # from -> allowed to


@dataclass(frozen=True)
class OgcMeta:
    """OGC API – Features collection metadata."""

    keywords: tuple[str, ...] = ()
    license: str = "CC BY 4.0"
    attribution: str = ""


@dataclass(frozen=True)
class Layer:
    name: str  # URL slug and registry key, e.g. "budget-proposals"
    table: str  # SQL table (geo.schema.feature_table_sql layout)
    titles: dict[str, str]  # pl / en / uk
    descriptions: dict[str, str]
    geometry_types: tuple[str, ...]  # of "Point", "LineString", "Polygon", "Multi*"
    fields: tuple[Field, ...]
    style: Style
    popup_fields: tuple[str, ...]
    list_fields: tuple[str, ...]
    title_field: str = "title"
    geometry_required: bool = True
    read_roles: frozenset[str] = frozenset({PUBLIC})
    write_roles: frozenset[str] = frozenset({"admin"})
    workflow: Workflow | None = None
    status_field: str | None = None
    category_field: str | None = None
    edition_field: str | None = None
    reference: bool = False  # reference data (imported), not participation
    # Drawn (switched on) on the city and district overview maps; a layer derived from another
    # one (the budget's results and execution) is off there, one click away in the legend.
    on_overview: bool = True
    ogc: OgcMeta = field(default_factory=OgcMeta)
    order_by: str = "id DESC"  # newest first; a safe SQL fragment over the layer's columns
    # Extra SQL condition for what the public may see (e.g. "hidden_at IS NULL"); the
    # workflow's public_states are applied on top of it.
    public_where: str = ""

    def title(self, lang: str = "pl") -> str:
        return self.titles.get(lang) or self.titles["pl"]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"layer {self.name} has no field {name!r}")

    @property
    def public_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.public)

    @property
    def filter_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.filter and f.public)

    @property
    def is_public(self) -> bool:
        return PUBLIC in self.read_roles

    def properties_schema(self, public_only: bool = True) -> dict[str, Any]:
        fields = self.public_fields if public_only else self.fields
        return {
            "type": "object",
            "properties": {
                "districts": {"type": "array", "items": {"type": "integer"}, "title": "Dzielnice"},
                **{f.name: f.json_schema() for f in fields},
            },
            "required": [f.name for f in fields if f.required],
        }

    def problems(self) -> list[str]:
        """What a registered layer lacks (a test fails on any)."""
        out = []
        for lang in LANGS:
            if not self.titles.get(lang):
                out.append(f"{self.name}: no {lang} title")
            if not self.descriptions.get(lang):
                out.append(f"{self.name}: no {lang} description")
        if not self.fields:
            out.append(f"{self.name}: no fields (properties schema)")
        names = {f.name for f in self.fields}
        for f in self.fields:
            for lang in LANGS:
                if not f.titles.get(lang):
                    out.append(f"{self.name}.{f.name}: no {lang} title")
            if f.msip_name and len(f.msip_name) > 10:
                out.append(f"{self.name}.{f.name}: msip_name longer than 10 characters")
            if f.type == "enum" and not f.choices:
                out.append(f"{self.name}.{f.name}: enum without choices")
        for group in (self.popup_fields, self.list_fields):
            out += [
                f"{self.name}: unknown field {n!r} in popup/list" for n in group if n not in names
            ]
        for n in (self.title_field, self.status_field, self.category_field, self.edition_field):
            if n and n not in names:
                out.append(f"{self.name}: unknown field {n!r}")
        if not self.style or not self.style.color:
            out.append(f"{self.name}: no style")
        if not self.geometry_types:
            out.append(f"{self.name}: no geometry types")
        if self.workflow and not self.status_field:
            out.append(f"{self.name}: a workflow needs a status_field")
        return out
