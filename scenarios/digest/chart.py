"""The digest's participation chart: the network's answer and attendance rates week by week,
a deterministic PNG drawn with matplotlib's Agg backend."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH_PX = 640
HEIGHT_PX = 360
DPI = 100
# Blue and orange of the Okabe-Ito palette (told apart with every common colour-vision
# deficiency); each series also has its own marker and line style, so colour is not needed.
ANSWERS_COLOUR = "#0072B2"
PRESENCE_COLOUR = "#D55E00"


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


def size_for(points: int) -> tuple[int, int]:
    """Pixel size of the PNG: the same for any number of weeks."""
    return WIDTH_PX, HEIGHT_PX


def participation_png(points: Sequence[ChartPoint], labels: ChartLabels) -> bytes:
    """Two lines over the weeks (answer rate, attendance), 0–100 %, each point labelled with
    its value; a week without a measure leaves a gap rather than a false zero."""
    # The object-oriented API with an explicit Agg canvas: no pyplot global state, no display,
    # the same bytes for the same figures (fixed size and DPI, no software/date metadata).
    # Imported here so that loading the ritual registry does not pay for matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = size_for(len(points))
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
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
    ax.set_ylabel(labels.axis, fontsize=10)
    ax.set_xlabel(labels.weeks, fontsize=9)
    ax.set_title(labels.title, fontsize=12)
    ax.tick_params(axis="y", labelsize=9)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper center", fontsize=9, frameon=False, bbox_to_anchor=(0.5, -0.2), ncols=2)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
