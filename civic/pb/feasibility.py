"""★ The spatial feasibility pre-check: what a located project overlaps, in numbers and words.

For each constraint layer (layers/constraints.py: a layer module with a ``CONSTRAINT``, one
registry line) PostGIS intersects the project's geometry with the layer's features, both
transformed to EPSG:2180 (PUWG 1992, metres), and measures the parts: areas for an area
project, lengths for a line, the number of points for points. It reports the share on features
that satisfy the rule (e.g. city-owned parcels), every other feature it touches with its label
and share, and the share outside every feature: "87 % on city land; 13 % on parcel 123/4, not
owned by the city". Shares of overlapping parts are measured on their union, so overlapping
features are not counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.pb.errors import PbError
from geo.schema import ident
from layers.constraints import ConstraintLayer, constraint_layers

SENTENCES = {
    "on_ok": N_("%(pct)s %% na terenie spełniającym warunek „%(rule)s”"),
    "on_other": N_("%(pct)s %% na obiekcie %(label)s, który nie spełnia warunku „%(rule)s”"),
    "outside": N_("%(pct)s %% poza obiektami warstwy „%(layer)s”"),
    "inside": N_("%(pct)s %% w obiekcie %(label)s (warstwa „%(layer)s”)"),
    "no_geometry": N_("Projekt nie ma lokalizacji na mapie: nie można go sprawdzić."),
}

# ST_Dimension of the project: 2 area (m²), 1 length (m), 0 points (count)
MEASURE = {2: "ST_Area({g})", 1: "ST_Length({g})", 0: "ST_NumGeometries({g})"}


@dataclass
class Overlap:
    label: str
    ok: bool
    share: float  # percent of the project


@dataclass
class LayerCheck:
    layer: str
    titles: dict[str, str]
    rule: str
    rule_titles: dict[str, str]
    ok_share: float = 0.0
    outside_share: float = 0.0
    overlaps: list[Overlap] = field(default_factory=list)
    sentences: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "rule": self.rule,
            "ok_share": round(self.ok_share, 2),
            "outside_share": round(self.outside_share, 2),
            "overlaps": [o.__dict__ for o in self.overlaps],
            "sentences": [{"key": k, "params": p} for k, p in self.sentences],
        }


@dataclass
class Feasibility:
    proposal_id: int
    located: bool
    measure: str  # "area_m2" | "length_m" | "points"
    total: float
    checks: list[LayerCheck] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "proposal_id": self.proposal_id,
            "located": self.located,
            "measure": self.measure,
            "total": self.total,
            "layers": [c.as_dict() for c in self.checks],
        }


def _pct(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def check(conn: Connection, proposal_id: int, layers: list[ConstraintLayer] | None = None):
    head = conn.execute(
        text(
            """SELECT geom IS NOT NULL AS located, ST_Dimension(geom) AS dim,
                      ST_Transform(geom, 2180) AS g2180
               FROM budget_proposals WHERE id = :id"""
        ),
        {"id": proposal_id},
    ).first()
    if head is None:
        raise PbError("not_found", "proposal", N_("Nie ma takiego projektu."), 404)
    if not head.located:
        return Feasibility(proposal_id, False, "", 0.0)
    dim = int(head.dim)
    measure = MEASURE[dim]
    unit = {2: "area_m2", 1: "length_m", 0: "points"}[dim]
    total = float(
        conn.execute(
            text(
                f"SELECT {measure.format(g='ST_Transform(geom, 2180)')} FROM budget_proposals "
                "WHERE id = :id"
            ),
            {"id": proposal_id},
        ).scalar_one()
    )
    result = Feasibility(proposal_id, True, unit, total)
    for cl in layers if layers is not None else constraint_layers():
        result.checks.append(_check_layer(conn, proposal_id, cl, measure, total))
    return result


def _check_layer(conn, proposal_id: int, cl: ConstraintLayer, measure: str, total: float):
    table = ident(cl.layer.table)
    c = cl.constraint
    # parts in EPSG:2180; the dimension of each part is forced to the project's (a polygon
    # touching a parcel along an edge has a line part of area 0, which is harmless)
    sql = f"""
WITH p AS (SELECT geom, ST_Transform(geom, 2180) AS g FROM budget_proposals WHERE id = :id),
hits AS (
    SELECT ({c.label_sql})::text AS label, coalesce(({c.ok_where}), false) AS ok,
           ST_Intersection(p.g, ST_Transform(f.geom, 2180)) AS part
    FROM {table} f, p
    WHERE f.geom && p.geom AND ST_Intersects(f.geom, p.geom))
SELECT label, ok, {measure.format(g="part")} AS m, NULL AS kind FROM hits
UNION ALL
SELECT NULL, true, coalesce({measure.format(g="ST_Union(part)")}, 0), 'ok' FROM hits WHERE ok
UNION ALL
SELECT NULL, NULL, coalesce({measure.format(g="ST_Union(part)")}, 0), 'all' FROM hits
"""
    rows = conn.execute(text(sql), {"id": proposal_id}).all()
    out = LayerCheck(cl.layer.name, cl.layer.titles, c.rule, c.titles)

    def share(m: Any) -> float:
        return 0.0 if not total else min(100.0, max(0.0, float(m or 0) * 100.0 / total))

    by_label: dict[tuple[str, bool], float] = {}
    ok_union = all_union = 0.0
    for r in rows:
        if r.kind == "ok":
            ok_union = share(r.m)
        elif r.kind == "all":
            all_union = share(r.m)
        else:
            key = (r.label, bool(r.ok))
            by_label[key] = by_label.get(key, 0.0) + share(r.m)
    out.outside_share = max(0.0, 100.0 - all_union)
    out.overlaps = sorted(
        (Overlap(label, ok, s) for (label, ok), s in by_label.items() if s > 0.0001),
        key=lambda o: -o.share,
    )
    layer_pl = cl.layer.titles["pl"]
    if c.rule == "must_be_on":
        out.ok_share = ok_union
        out.sentences.append(("on_ok", {"pct": _pct(ok_union), "rule": c.titles["pl"]}))
        for o in out.overlaps:
            if not o.ok:
                out.sentences.append(
                    ("on_other", {"pct": _pct(o.share), "label": o.label, "rule": c.titles["pl"]})
                )
    else:
        for o in out.overlaps:
            out.sentences.append(
                ("inside", {"pct": _pct(o.share), "label": o.label, "layer": layer_pl})
            )
    if out.outside_share > 0.05:
        out.sentences.append(("outside", {"pct": _pct(out.outside_share), "layer": layer_pl}))
    return out


def generate_synthetic_parcels(
    conn: Connection,
    lon: float = 19.9373,
    lat: float = 50.0617,
    size_m: float = 100.0,
    n: int = 4,
    prefix: str = "SYNT",
) -> int:
    """An n × n grid of square parcels (``size_m`` metres, in EPSG:2180) centred on lon/lat,
    every other one city-owned, each row labelled ``synthetic`` (not real ownership data)."""
    if not 1 <= n <= 100 or not 1 <= size_m <= 10000:
        raise PbError("out_of_range", "n", N_("Siatka: od 1 do 100 działek na bok."))
    made = conn.execute(
        text(
            """
WITH c AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 2180) AS p),
cells AS (
    SELECT i, j, ST_MakeEnvelope(ST_X(c.p) + (i - :n / 2.0) * :s, ST_Y(c.p) + (j - :n / 2.0) * :s,
                                 ST_X(c.p) + (i - :n / 2.0 + 1) * :s,
                                 ST_Y(c.p) + (j - :n / 2.0 + 1) * :s, 2180) AS g
    FROM c, generate_series(0, :n - 1) i, generate_series(0, :n - 1) j)
INSERT INTO city_land_parcels (external_id, geom, parcel_id, precinct, owner, city_owned,
                               synthetic, source)
SELECT 'synthetic:' || :prefix || ':' || i || ':' || j, ST_Transform(g, 4326),
       :prefix || '-' || (i * :n + j + 1) || '/' || (j + 1), 'syntetyczny',
       CASE WHEN (i + j) % 2 = 0 THEN 'Gmina Miejska Kraków' ELSE 'osoba prywatna (syntetyczna)' END,
       (i + j) % 2 = 0, true, 'synthetic: generated by civic.pb.feasibility (not real data)'
FROM cells
ON CONFLICT (external_id) DO UPDATE SET geom = EXCLUDED.geom, parcel_id = EXCLUDED.parcel_id,
    owner = EXCLUDED.owner, city_owned = EXCLUDED.city_owned
RETURNING id"""
        ),
        {"lon": lon, "lat": lat, "s": size_m, "n": n, "prefix": prefix},
    ).all()
    return len(made)
