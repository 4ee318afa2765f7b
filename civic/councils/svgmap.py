"""The report's map for print: the district and its proposals as an inline SVG (no JS)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import Connection, text

from civic.councils.common import TABLES, Tables
from civic.councils.report import Report

OPINION_COLORS = {
    "positive": "#1a7f37",
    "negative": "#b3261e",
    "remarks": "#9a6700",
    None: "#444444",
}


LEGEND_ITEM = 140  # drawing pixels per legend entry


def _attr(value: Any) -> str:
    return escape(str(value), {'"': "&quot;"})


def svg_map(
    conn: Connection,
    rep: Report,
    *,
    title: str,
    description: str,
    labels: Mapping[str | None, str] | None = None,
    tables: Tables = TABLES,
) -> str:
    """The district and the report's located proposals as an inline SVG (prints; no JS).

    Drawn in EPSG:2180 (metres, so the shape is true); every proposal carries its number
    from the report's table, so colour is never the only cue. ``title``/``description``
    label the image for screen readers; ``labels`` name the opinion colours in the legend.
    """
    t = tables
    ext = conn.execute(
        text(
            f"""SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g)
                FROM (SELECT ST_Transform(geom, 2180) g FROM {t.districts} WHERE number = :n) s"""
        ),
        {"n": rep.district["number"]},
    ).one()
    x0, y0, x1, y1 = (float(v) for v in ext)
    pad = max(x1 - x0, y1 - y0) * 0.04
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    w, h = x1 - x0, y1 - y0
    unit = max(w, h) / 600  # one "pixel" of a 600-px-wide drawing
    params = {"n": rep.district["number"], "x0": x0, "y0": y0, "x1": x1, "y1": y1}
    shapes = conn.execute(
        text(
            f"""SELECT number, number = :n AS selected,
                       ST_AsSVG(ST_Transform(geom, 2180), 0, 0) AS path
                FROM {t.districts}
                WHERE ST_Intersects(geom, ST_Transform(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 2180), 4326))
                ORDER BY number = :n, number"""
        ),
        params,
    ).all()
    rows = [r for r in rep.proposals + rep.citywide if r.get("geometry_type")]
    feats: list[Any] = []
    if rows:
        feats = list(
            conn.execute(
                text(
                    f"""SELECT p.id, ST_Dimension(p.geom) AS dim,
                               ST_AsSVG(ST_Transform(p.geom, 2180), 0, 0) AS path,
                               ARRAY(SELECT ARRAY[ST_X(ST_Transform(d.geom, 2180)),
                                                  -ST_Y(ST_Transform(d.geom, 2180))]
                                     FROM ST_DumpPoints(p.geom) d
                                     WHERE ST_Dimension(p.geom) = 0) AS points,
                               ST_X(ST_Transform(ST_PointOnSurface(p.geom), 2180)) AS lx,
                               -ST_Y(ST_Transform(ST_PointOnSurface(p.geom), 2180)) AS ly
                        FROM {t.proposals} p WHERE p.id = ANY(:ids)"""
                ),
                {"ids": [r["id"] for r in rows]},
            )
        )
    by_id = {r["id"]: r for r in rows}
    # the legend is a strip below the drawing, never over the numbered features
    per_row = max(1, int(600 // LEGEND_ITEM))
    legend_rows = -(-len(labels) // per_row) if labels else 0
    legend_h = (legend_rows * 18 + 10) * unit if labels else 0.0
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="district-svg" role="img" '
        f'aria-labelledby="svg-title svg-desc" '
        f'viewBox="{x0:.0f} {-y1:.0f} {w:.0f} {h + legend_h:.0f}" '
        f'preserveAspectRatio="xMidYMid meet">',
        f'<title id="svg-title">{escape(title)}</title>',
        f'<desc id="svg-desc">{escape(description)}</desc>',
        f'<rect x="{x0:.0f}" y="{-y1:.0f}" width="{w:.0f}" height="{h + legend_h:.0f}" '
        f'fill="#ffffff"/>',
    ]
    for _number, selected, path in shapes:
        if selected:
            out.append(
                f'<path d="{_attr(path)}" fill="#fff3bf" stroke="#1f4e79" '
                f'stroke-width="{2.5 * unit:.1f}" fill-rule="evenodd"/>'
            )
        else:
            out.append(
                f'<path d="{_attr(path)}" fill="#f2f2f2" stroke="#9a9a9a" '
                f'stroke-width="{1 * unit:.1f}" fill-rule="evenodd"/>'
            )
    r_pt = 6 * unit
    font = 11 * unit
    for pid, dim, path, points, lx, ly in feats:
        row = by_id[pid]
        color = OPINION_COLORS.get(row.get("opinion"), OPINION_COLORS[None])
        out.append(f'<g class="proposal" data-id="{int(pid)}">')
        if dim == 0:
            for x, y in points or []:
                out.append(
                    f'<circle cx="{x:.0f}" cy="{y:.0f}" r="{r_pt:.1f}" fill="{color}" '
                    f'stroke="#ffffff" stroke-width="{1.5 * unit:.1f}"/>'
                )
        elif dim == 1:
            out.append(
                f'<path d="{_attr(path)}" fill="none" stroke="{color}" '
                f'stroke-width="{3 * unit:.1f}"/>'
            )
        else:
            out.append(
                f'<path d="{_attr(path)}" fill="{color}" fill-opacity="0.3" stroke="{color}" '
                f'stroke-width="{1.5 * unit:.1f}" fill-rule="evenodd"/>'
            )
        out.append(
            f'<text x="{lx + r_pt * 1.2:.0f}" y="{ly - r_pt * 0.6:.0f}" font-size="{font:.0f}" '
            f'font-family="sans-serif" font-weight="700" fill="#111111" stroke="#ffffff" '
            f'stroke-width="{2.5 * unit:.1f}" paint-order="stroke">{int(row["no"])}</text>'
        )
        out.append("</g>")
    if labels:
        top = -y0 + 4 * unit  # just below the drawing's bottom edge
        out.append(
            f'<line x1="{x0:.0f}" y1="{-y0:.0f}" x2="{x1:.0f}" y2="{-y0:.0f}" '
            f'stroke="#9a9a9a" stroke-width="{unit:.1f}"/>'
        )
        for i, (key, label) in enumerate(labels.items()):
            lx = x0 + (8 + (i % per_row) * LEGEND_ITEM) * unit
            cy = top + (9 + (i // per_row) * 18) * unit
            out.append(
                f'<circle cx="{lx + 6 * unit:.0f}" cy="{cy:.0f}" r="{5 * unit:.1f}" '
                f'fill="{OPINION_COLORS.get(key, OPINION_COLORS[None])}"/>'
            )
            out.append(
                f'<text x="{lx + 16 * unit:.0f}" y="{cy + 4 * unit:.0f}" font-size="{font:.0f}" '
                f'font-family="sans-serif" fill="#111111">{escape(label)}</text>'
            )
    out.append("</svg>")
    return "\n".join(out)
