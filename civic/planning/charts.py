"""PNG charts for the planners' analyses, drawn server-side with matplotlib (Agg, no pyplot).

Framework-free: the caller hands over the numbers and every text already translated; each
function returns the PNG file as bytes. Figures are built with ``matplotlib.figure.Figure``
and the Agg canvas directly, not ``pyplot``: no global state, so it is safe in the web
server's threads. Every bar carries its value as text (a chart never relies on colour
alone), and the PNG's metadata holds the title and a description.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Colour-blind-safe categorical colours (Okabe & Ito) for several series.
SERIES_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
MAX_LABEL = 40


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str | None = None


def _short(label: str, limit: int = MAX_LABEL) -> str:
    label = " ".join(str(label).split())
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _fmt(value: float | None, decimals: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    text = f"{value:,.{decimals}f}".replace(",", "\u202f")
    return text


def _png(fig: Figure, title: str, description: str) -> bytes:
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(
        out,
        format="png",
        dpi=100,
        metadata={"Title": title, "Description": description, "Software": "Civic Map Kraków"},
    )
    return out.getvalue()


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    axis_label: str,
    description: str = "",
    decimals: int = 0,
    colors: Sequence[str] | None = None,
    note: str = "",
) -> bytes:
    """Horizontal bars, one group per label (e.g. per district), one bar per series.

    ``colors`` (one per label) colours the bars of a single series by category, e.g. the
    hotspot classes in the colours of the map legend.
    """
    n, k = len(labels), max(1, len(series))
    height = min(30.0, 1.6 + 0.32 * max(n, 1) * (1 + 0.6 * (k - 1)))
    fig = Figure(figsize=(9.0, height), layout="constrained")
    ax = fig.add_subplot()
    band = 0.8 / k
    ys = list(range(n))
    top = 0.0
    for s_i, s in enumerate(series):
        offset = (s_i - (k - 1) / 2) * band
        vals = [0.0 if v is None else float(v) for v in s.values]
        top = max([top, *vals])
        color = s.color or SERIES_COLORS[s_i % len(SERIES_COLORS)]
        bar_colors = list(colors) if colors and k == 1 else [color] * n
        bars = ax.barh(
            [y + offset for y in ys],
            vals,
            height=band * 0.92,
            color=bar_colors,
            edgecolor="#333333",
            linewidth=0.5,
            label=s.name,
        )
        ax.bar_label(bars, labels=[_fmt(v, decimals) for v in s.values], padding=3, fontsize=8)
    ax.set_yticks(ys, [_short(x) for x in labels], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel(axis_label)
    ax.set_title(title, fontsize=12, loc="left")
    ax.set_xlim(0, top * 1.18 if top > 0 else 1)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if k > 1:
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    if note:
        fig.text(0.01, 0.005, note, fontsize=7, color="#444444", ha="left", va="bottom")
    return _png(fig, title, description)


def small_multiples(
    panels: Sequence[tuple[str, Sequence[int], Sequence[Series]]],
    *,
    title: str,
    axis_label: str,
    description: str = "",
    columns: int = 6,
    note: str = "",
) -> bytes:
    """One small line chart per panel (e.g. per district), all on the same y scale.

    ``panels``: (panel title, x values such as the editions, series over those x values).
    A missing value (None) leaves a gap in the line.
    """
    n = max(1, len(panels))
    cols = max(1, min(columns, n))
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(2.3 * cols + 0.6, 1.9 * rows + 1.0), layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    top = 0.0
    for _, _, series in panels:
        for s in series:
            top = max([top, *(float(v) for v in s.values if v is not None)])
    handles = []
    for idx, ax in enumerate(axes.flat):
        if idx >= len(panels):
            ax.set_visible(False)
            continue
        name, xs, series = panels[idx]
        for s_i, s in enumerate(series):
            color = s.color or SERIES_COLORS[s_i % len(SERIES_COLORS)]
            ys = [math.nan if v is None else float(v) for v in s.values]
            (line,) = ax.plot(
                list(xs),
                ys,
                marker="os^D"[s_i % 4],
                markersize=3.5,
                linewidth=1.4,
                color=color,
                linestyle="-" if s_i == 0 else "--",
                label=s.name,
            )
            if idx == 0:
                handles.append(line)
        ax.set_title(_short(name, 28), fontsize=8.5, loc="left")
        ax.grid(color="#e3e3e3", linewidth=0.5)
        ax.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if xs:
            ax.set_xticks(list(xs), [f"'{str(x)[-2:]}" for x in xs])
    axes.flat[0].set_ylim(0, top * 1.1 if top > 0 else 1)
    fig.suptitle(title, fontsize=12, x=0.01, ha="left")
    fig.supylabel(axis_label, fontsize=9)
    if handles and len(handles) > 1:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8)
    if note:
        fig.text(0.01, 0.003, note, fontsize=7, color="#444444", ha="left", va="bottom")
    return _png(fig, title, description)
