"""The digest's participation chart: the network's answer and attendance rates week by week,
a deterministic PNG drawn with matplotlib's Agg backend."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WIDTH_PX = 640
HEIGHT_PX = 360
DPI = 100
# Blue and orange of the Okabe-Ito palette (told apart with every common colour-vision
# deficiency); each series also has its own marker and line style, so colour is not needed.
ANSWERS_COLOUR = "#0072B2"
PRESENCE_COLOUR = "#D55E00"
PULSE_COLOUR = "#009E73"
"""The palette's bluish green, with its own marker: the pulse's panel."""
PULSE_HEIGHT_PX = 280


@dataclass(frozen=True)
class ChartPoint:
    """One week of the whole network: rates in percent, None when not measured."""

    label: str
    """The week's date, already in the network's language."""
    answer_rate: int | None
    presence_rate: int | None


@dataclass(frozen=True)
class ChartLabels:
    """The chart's words, already in the network's language."""

    title: str
    answers: str
    presence: str
    axis: str
    weeks: str
    """Under the dates: what each date is (the last day of its week)."""


@dataclass(frozen=True)
class PulsePoint:
    """One month of the satisfaction pulse: its mean from 1 to 5, None when not shown (fewer
    than 5 answers), and that mean as the reader writes it (« 3,8 »)."""

    label: str
    """The month, already in the network's language."""
    value: float | None
    said: str


@dataclass(frozen=True)
class PulseChart:
    """The pulse's panel: its months and its words, already in the network's language."""

    points: Sequence[PulsePoint]
    title: str
    axis: str
    months: str


def size_for(points: int, pulse: bool = False) -> tuple[int, int]:
    """Pixel size of the PNG: the same for any number of weeks; taller with the pulse's panel."""
    return WIDTH_PX, HEIGHT_PX + (PULSE_HEIGHT_PX if pulse and points else 0)


def participation_png(points: Sequence[ChartPoint], labels: ChartLabels, pulse: PulseChart | None = None) -> bytes:
    """Two lines over the weeks (answer rate, attendance), 0–100 %, each point labelled with
    its value; a week without a measure leaves a gap rather than a false zero. With `pulse`,
    a panel below (or alone, without weeks) with the satisfaction pulse's months, 1 to 5."""
    # The object-oriented API with an explicit Agg canvas: no pyplot global state, no display,
    # the same bytes for the same figures (fixed size and DPI, no software/date metadata).
    # Imported here so that loading the ritual registry does not pay for matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = size_for(len(points), pulse is not None)
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    if not points and pulse is not None:
        _pulse_panel(fig.add_subplot(), pulse)
        return _png(fig)
    if pulse is not None:
        ax, below = fig.subplots(2, 1, height_ratios=[HEIGHT_PX, PULSE_HEIGHT_PX])
        _pulse_panel(below, pulse)
    else:
        ax = fig.add_subplot()
    xs = list(range(len(points)))
    for values, colour, marker, style, name in (
        ([p.answer_rate for p in points], ANSWERS_COLOUR, "o", "-", labels.answers),
        ([p.presence_rate for p in points], PRESENCE_COLOUR, "s", "--", labels.presence),
    ):
        ys = [float(v) if v is not None else float("nan") for v in values]
        ax.plot(xs, ys, color=colour, marker=marker, linestyle=style, linewidth=2, label=name)
        for x, v in zip(xs, values, strict=True):
            if v is not None:
                ax.annotate(f"{v}", (x, v), textcoords="offset points", xytext=(0, 7), ha="center",
                            fontsize=9, color=colour)
    ax.set_xticks(xs, [p.label for p in points], fontsize=9)
    ax.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
    ax.set_ylim(0, 110)
    ax.set_yticks([0, 25, 50, 75, 100])
    _frame(ax, labels.axis, labels.weeks, labels.title)
    ax.legend(loc="upper center", fontsize=9, frameon=False, bbox_to_anchor=(0.5, -0.2), ncols=2)
    return _png(fig)


def _pulse_panel(ax: Any, pulse: PulseChart) -> None:
    """The months' means on a 1 to 5 scale, each labelled as the text says it; a month not
    shown leaves a gap."""
    xs = list(range(len(pulse.points)))
    ys = [p.value if p.value is not None else float("nan") for p in pulse.points]
    ax.plot(xs, ys, color=PULSE_COLOUR, marker="D", linestyle="-", linewidth=2)
    for x, p in zip(xs, pulse.points, strict=True):
        if p.value is not None:
            ax.annotate(p.said, (x, p.value), textcoords="offset points", xytext=(0, 7), ha="center",
                        fontsize=9, color=PULSE_COLOUR)
    ax.set_xticks(xs, [p.label for p in pulse.points], fontsize=9)
    ax.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
    ax.set_ylim(0.8, 5.6)
    ax.set_yticks([1, 2, 3, 4, 5])
    _frame(ax, pulse.axis, pulse.months, pulse.title)


def _frame(ax: Any, axis: str, across: str, title: str) -> None:
    """The panels' common dress: labels and title at readable sizes, a light grid, no box."""
    ax.set_ylabel(axis, fontsize=10)
    ax.set_xlabel(across, fontsize=9)
    ax.set_title(title, fontsize=12)
    ax.tick_params(axis="y", labelsize=9)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _png(fig: Any) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return bytes(buf.getvalue())
