"""What the OGC API and the GIS exports publish: the *collections*, and the exports themselves.

A collection is every layer of the registry that the public may read, plus ``districts``
with MSIP's own field names (ID_DZIELNI, NR_DZIELNI, NAZWA, NAZWA_PELN). The rows come from
the one read path (layers.query: public rows and public fields only, geometry transformed
by PostGIS); the files are written by geo.export (pyogrio/GDAL). The web
(``/exports/<layer>.<fmt>``) and the CLI (``civicmap export``) share :func:`export_collection`;
every export is recorded in ``sync_log``.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import Connection, Engine, text

from geo import export as gx
from geo.schema import ident
from layers import query as lq
from layers import registry
from layers._titles import t as _t
from layers.base import Field, Layer, OgcMeta, Style

_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# An exported row without an external id carries ``civicmap:<layer>:<id>``: importing the file
# back finds the row again (importers.writer.claim_own_ids) instead of adding a duplicate.
OWN_ID_PREFIX = "civicmap:"

MSIP_ATTRIBUTION = (
    "Źródło: Gmina Miejska Kraków, Miejski System Informacji Przestrzennej (MSIP), "
    "https://msip.krakow.pl"
)

DISTRICTS = Layer(
    name="districts",
    table="districts",
    titles=_t("Dzielnice", "Districts", "Райони"),
    descriptions=_t(
        "Granice dzielnic (jednostek pomocniczych gminy) z MSIP, z polami MSIP.",
        "District boundaries (the city's auxiliary units) from MSIP, with MSIP's field names.",
        "Межі районів (допоміжних одиниць міста) з MSIP, з полями MSIP.",
    ),
    geometry_types=("MultiPolygon",),
    fields=(
        Field(
            "id_dzielni",
            "int",
            _t("Numer dzielnicy", "District number", "Номер району"),
            msip_name="ID_DZIELNI",
            filter=True,
        ),
        Field(
            "nr_dzielni",
            "text",
            _t("Numer rzymski", "Roman numeral", "Римський номер"),
            msip_name="NR_DZIELNI",
            filter=True,
        ),
        Field("nazwa", "text", _t("Nazwa", "Name", "Назва"), msip_name="NAZWA", filter=True),
        Field(
            "nazwa_peln",
            "text",
            _t("Pełna nazwa", "Full name", "Повна назва"),
            msip_name="NAZWA_PELN",
        ),
    ),
    style=Style(color="#444444", fill_opacity=0.0),
    popup_fields=("nazwa_peln",),
    list_fields=("nazwa",),
    title_field="nazwa",
    reference=True,
    ogc=OgcMeta(
        keywords=("dzielnice", "districts", "MSIP", "granice administracyjne"),
        license="Brak otwartej licencji; warunki MSIP wymagają podania źródła (data/SOURCES.md)",
        attribution=MSIP_ATTRIBUTION,
    ),
    order_by="t.id",
)

# Districts as rows of the feature-table shape (id, geom, districts, updated_at + fields),
# so the same read path (bbox, datetime, filters) serves them.
_DISTRICTS_SQL = """(
    SELECT d.number::bigint AS id, d.geom, ARRAY[d.number]::smallint[] AS districts,
           coalesce((SELECT r.loaded_at FROM reference_loads r WHERE r.name = 'districts'),
                    'epoch'::timestamptz) AS updated_at,
           d.number::integer AS id_dzielni, to_char(d.number, 'FMRN') AS nr_dzielni,
           d.name AS nazwa, d.full_name AS nazwa_peln
    FROM districts d) t"""


@dataclass(frozen=True)
class Collection:
    """A layer as the OGC API and the exports publish it."""

    layer: Layer
    source_sql: str  # a FROM item aliased ``t`` with the feature-table columns
    msip_properties: bool = False  # OGC property keys are the MSIP names
    district_columns: bool = True  # exports add NR_DZIELNI / DZIELNICA
    updated_column: bool = True  # exports add DATA_AKTUA (updated_at)

    @property
    def name(self) -> str:
        return self.layer.name

    def property_key(self, f: Field) -> str:
        return (f.msip_name or f.name) if self.msip_properties else f.name

    def query(self, **changes: Any) -> lq.FeatureQuery:
        """A FeatureQuery reading this collection as the OGC API writes it: in id order,
        ``districts`` and ``updated_at`` before the fields (none for MSIP's own layout) and
        the OGC property keys."""
        q = lq.FeatureQuery(
            source=self.source_sql,
            order=("id",),
            members=() if self.msip_properties else ("districts", "updated_at"),
            keys={f.name: self.property_key(f) for f in self.layer.public_fields},
        )
        for k, v in changes.items():
            setattr(q, k, v)
        return q

    def title_column(self) -> str | None:
        """The export name of the layer's title field (KML placemark names)."""
        try:
            f = self.layer.field(self.layer.title_field)
        except KeyError:
            return None
        return (f.msip_name or f.name) if f.public else None

    def columns(self) -> list[tuple[str, gx.Column]]:
        """(SQL expression over ``t``, export column) for every exported attribute."""
        out: list[tuple[str, gx.Column]] = []
        if not self.msip_properties:
            out.append(("t.id", gx.Column("id", "int", "Identyfikator")))
            # the id an import matches the row by: its own, else ours (see importers.writer)
            out.append(
                (
                    f"coalesce(t.external_id, '{OWN_ID_PREFIX}{self.name}:' || t.id)",
                    gx.Column("EXT_ID", "text", "Identyfikator do importu", "EXT_ID"),
                )
            )
        for f in self.layer.public_fields:
            col = f"t.{ident(f.name)}"
            typ: gx.ColumnType
            if f.type in ("int[]", "text[]"):
                expr, typ = f"array_to_string({col}, ',')", "text"
            elif f.type in ("money", "float"):
                expr, typ = f"{col}::float8", "float"
            elif f.type in ("int", "bool", "date", "datetime"):
                expr, typ = col, f.type  # type: ignore[assignment]
            else:
                expr, typ = f"{col}::text", "text"
            out.append((expr, gx.Column(f.msip_name or f.name, typ, f.title("pl"), f.msip_name)))
        if self.district_columns:
            out.append(
                (
                    "array_to_string(ARRAY(SELECT to_char(n, 'FMRN') FROM unnest(t.districts) n), ',')",
                    gx.Column("NR_DZIELNI", "text", "Dzielnice (numery rzymskie)", "NR_DZIELNI"),
                )
            )
            out.append(
                (
                    "(SELECT string_agg(d.name, '; ' ORDER BY d.number) FROM districts d "
                    "WHERE d.number = ANY(t.districts))",
                    gx.Column("DZIELNICA", "text", "Dzielnice (nazwy)", "DZIELNICA"),
                )
            )
        if self.updated_column:
            out.append(
                (
                    "t.updated_at",
                    gx.Column("DATA_AKTUA", "datetime", "Data aktualizacji", "DATA_AKTUA"),
                )
            )
        names = [c.name for _, c in out]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes or not all(_COLUMN_NAME.match(n) for n in names):
            raise ValueError(f"{self.name}: export column names clash or are unsafe: {names}")
        return out


def collections() -> list[Collection]:
    """Districts first, then every public layer of the registry (registry order)."""
    out = [
        Collection(
            DISTRICTS,
            _DISTRICTS_SQL,
            msip_properties=True,
            district_columns=False,
            updated_column=False,
        )
    ]
    for layer in registry.all_layers():
        if layer.is_public and layer.name != DISTRICTS.name:
            out.append(Collection(layer, f"{ident(layer.table)} t"))
    return out


def get_collection(name: str) -> Collection | None:
    return next((c for c in collections() if c.name == name), None)


def meta_for(conn: Connection, coll: Collection, srid: int, **extra: Any) -> gx.ExportMeta:
    layer = coll.layer
    if layer is DISTRICTS:
        source = conn.execute(
            text("SELECT source FROM reference_loads WHERE name = 'districts'")
        ).scalar_one_or_none()
        source = source or "districts"
    else:
        source = f"Civic Map {layer.title('pl')} ({layer.name})"
    return gx.ExportMeta(
        layer=layer.name,
        title=layer.title("pl"),
        source=source,
        licence=layer.ogc.license,
        attribution=layer.ogc.attribution,
        crs=srid,
        **extra,
    )


# --- the export itself --------------------------------------------------------------------


def export_frame(
    conn: Connection, coll: Collection, srid: int, district: int | None = None
) -> tuple[gpd.GeoDataFrame, list[gx.Column]]:
    """Public rows of a collection, geometry in ``srid`` (easting first), in id order."""
    cols = coll.columns()
    geom = "t.geom" if srid == 4326 else f"ST_Transform(t.geom, {int(srid)})"
    q = lq.FeatureQuery(district=district, source=coll.source_sql, order=("id",))
    found = lq.rows(
        conn, coll.layer, q, [(f"ST_AsBinary({geom})", "__wkb")] + [(e, c.name) for e, c in cols]
    )
    data = {c.name: [r[c.name] for r in found] for _, c in cols}
    wkb = [bytes(r["__wkb"]) if r["__wkb"] is not None else None for r in found]
    gdf = gpd.GeoDataFrame(data, geometry=list(shapely.from_wkb(wkb)), crs=srid)
    return gdf, [c for _, c in cols]


def export_basename(coll: Collection, srid: int, district: int | None) -> str:
    suffix = f"-dzielnica-{district}" if district else ""
    return f"{coll.name}{suffix}-epsg{srid}"


def export_collection(
    eng: Engine,
    coll: Collection,
    fmt: str,
    crs: int = 4326,
    district: int | None = None,
    out_dir: Path | None = None,
    client: str = "cli",
    url: str = "",
) -> tuple[Path, int]:
    """Write one export file; record it in the sync log. Returns (path, feature count)."""
    f = gx.get_format(fmt)
    srid = gx.check_crs(f, crs)
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="civicmap-export-"))
    with eng.connect() as conn:
        gdf, cols = export_frame(conn, coll, srid, district)
        meta = meta_for(
            conn, coll, srid, url=url, filters={"district": district} if district else {}
        )
    path = gx.write_export(
        gdf,
        cols,
        f,
        meta,
        out_dir,
        export_basename(coll, srid, district),
        geometry_types=coll.layer.geometry_types,
        name_column=coll.title_column(),
    )
    with eng.begin() as conn:
        gx.record_sync(
            conn,
            layer=coll.name,
            op="export",
            format=f.key,
            crs=gx.crs_label(srid),
            features=len(gdf),
            params={"district": district} if district else {},
            client=client,
        )
    return path, len(gdf)


def district_count(conn: Connection) -> int:
    return conn.execute(text("SELECT count(*) FROM districts")).scalar_one()
