"""Plots as inline SVG drawn on the server (matplotlib's SVG backend, no pyplot): pages and the
HTML report work offline, with no script and no CDN. Every series, band and marker carries an
``id`` (matplotlib's ``gid``), so a browser test can find what a plot shows; text stays text."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from matplotlib import rcParams
from matplotlib.figure import Figure

# Text as <text>, not glyph paths; ids stable from one render to the next.
rcParams["svg.fonttype"] = "none"
rcParams["svg.hashsalt"] = "domain-runner"
rcParams["font.size"] = 9
# Brand names and headlines are text, never TeX: "$5B deal" must not become math.
rcParams["text.parse_math"] = False

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22")


@dataclass(frozen=True)
class Point:
    """One run's value with its 95 % interval (low/high None when n was too small)."""

    at: datetime
    value: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Mark:
    """A vertical marker on the time axis: a news event or a model-version change."""

    at: datetime
    label: str
    kind: str  # "event" or "version"


def _days(at: datetime) -> float:
    """Matplotlib's date axis unit: days since its default epoch, 1970-01-01 UTC."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() / 86400.0


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def trend_svg(series: Mapping[str, Sequence[Point]], *, title: str, y_label: str,
              marks: Sequence[Mark] = (), percent: bool = False, plot_id: str = "") -> str:
    """Lines over runs, one per series, each with its 95 % band; marks as dashed verticals."""
    figure = Figure(figsize=(7.2, 2.6), layout="constrained")
    axes = figure.add_subplot()
    scale = 100.0 if percent else 1.0
    for i, (name, points) in enumerate(sorted(series.items())):
        if not points:
            continue
        color = PALETTE[i % len(PALETTE)]
        xs = [_days(p.at) for p in points]
        axes.plot(xs, [p.value * scale for p in points], marker="o", markersize=3.5,
                  linewidth=1.4, color=color, label=name, gid=f"{plot_id}series-{slug(name)}")
        banded = [p for p in points if p.low is not None and p.high is not None]
        if banded:
            axes.fill_between([_days(p.at) for p in banded],
                              [(p.low or 0.0) * scale for p in banded],
                              [(p.high or 0.0) * scale for p in banded], color=color, alpha=0.15,
                              linewidth=0, gid=f"{plot_id}band-{slug(name)}")
    for j, mark in enumerate(marks):
        style = {"event": ("#555555", "--"), "version": ("#b8860b", ":")}[mark.kind]
        at = _days(mark.at)
        axes.axvline(at, color=style[0], linestyle=style[1], linewidth=1,
                     gid=f"{plot_id}{mark.kind}-{j}")
        axes.annotate(mark.label[:40], (at, 1.0), xycoords=("data", "axes fraction"),
                      rotation=90, va="top", ha="right", fontsize=7, color=style[0])
    axes.set_title(title, loc="left")
    axes.set_ylabel(f"{y_label} (%)" if percent else y_label)
    axes.xaxis_date()
    axes.grid(True, linewidth=0.3)
    if len(series) > 1:
        axes.legend(fontsize=7, ncols=min(4, len(series)), loc="best", frameon=False)
    return _svg(figure)


def bars_svg(bars: Sequence[tuple[str, float, float | None, float | None]], *, title: str,
             x_label: str, percent: bool = True, plot_id: str = "") -> str:
    """Horizontal bars (label, value, low, high), best first, with their 95 % intervals."""
    figure = Figure(figsize=(7.2, 0.6 + 0.28 * max(1, len(bars))), layout="constrained")
    axes = figure.add_subplot()
    scale = 100.0 if percent else 1.0
    labels = [label for label, *_ in bars][::-1]
    values = [value * scale for _, value, _, _ in bars][::-1]
    errors: list[list[float]] = [[], []]
    for _, value, low, high in bars[::-1]:
        errors[0].append(max(0.0, (value - low) * scale) if low is not None else 0.0)
        errors[1].append(max(0.0, (high - value) * scale) if high is not None else 0.0)
    container = axes.barh(labels, values, xerr=errors, color=PALETTE[0], alpha=0.8,
                          error_kw={"linewidth": 0.8, "capsize": 2})
    for label, patch in zip(labels, container.patches, strict=True):
        patch.set_gid(f"{plot_id}bar-{slug(label)}")
    axes.set_title(title, loc="left")
    axes.set_xlabel(f"{x_label} (%)" if percent else x_label)
    axes.grid(True, axis="x", linewidth=0.3)
    return _svg(figure)


def _svg(figure: Figure, **options: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, **options)
    text = buffer.getvalue()
    # Inline in HTML: the document's own prolog only.
    return text[text.index("<svg"):]
