"""The digest's participation chart: a deterministic PNG drawn with matplotlib's Agg backend."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH_PX = 640
BASE_HEIGHT_PX = 360
ROWS_IN_BASE = 6
ROW_PX = 40
DPI = 100
ANSWERS_COLOUR = "#1f77b4"
PRESENCE_COLOUR = "#ff7f0e"


@dataclass(frozen=True)
class ChartRow:
    """One organisation (or the whole network): rates in percent, None when not measured."""

    label: str
    answer_rate: int | None
    presence_rate: int | None
    answer_text: str
    """How the rate is written next to its bar ("75 %", or a dash when not measured)."""
    presence_text: str


@dataclass(frozen=True)
class ChartLabels:
    """The chart's words, already in the network's language."""

    title: str
    answers: str
    presence: str
    axis: str


def size_for(rows: int) -> tuple[int, int]:
    """Pixel size of the PNG for that many rows: 640×360 up to six rows, then 40 px more a row."""
    return WIDTH_PX, BASE_HEIGHT_PX + ROW_PX * max(0, rows - ROWS_IN_BASE)


def participation_png(rows: Sequence[ChartRow], labels: ChartLabels) -> bytes:
    """Horizontal bars, two per row (answer rate, attendance), 0–100 %, first row on top."""
    # The object-oriented API with an explicit Agg canvas: no pyplot global state, no display,
    # the same bytes for the same figures (fixed size and DPI, no software/date metadata).
    # Imported here so that loading the ritual registry does not pay for matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = size_for(len(rows))
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    n = len(rows)
    bar = 0.38
    positions = [n - 1 - i for i in range(n)]
    answers = [r.answer_rate or 0 for r in rows]
    presence = [r.presence_rate or 0 for r in rows]
    top = ax.barh([p + bar / 2 for p in positions], answers, height=bar, color=ANSWERS_COLOUR,
                  label=labels.answers)
    bottom = ax.barh([p - bar / 2 for p in positions], presence, height=bar, color=PRESENCE_COLOUR,
                     label=labels.presence)
    ax.bar_label(top, labels=[r.answer_text for r in rows], padding=3, fontsize=8)
    ax.bar_label(bottom, labels=[r.presence_text for r in rows], padding=3, fontsize=8)
    ax.set_yticks(positions, [_short(r.label) for r in rows], fontsize=9)
    # Room on the right for the "100 %" labels; ticks stop at 100.
    ax.set_xlim(0, 115)
    ax.set_xticks([0, 20, 40, 60, 80, 100])
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel(labels.axis, fontsize=9)
    ax.set_title(labels.title, fontsize=11)
    ax.tick_params(axis="x", labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper center", fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.16), ncols=2)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _short(label: str, limit: int = 24) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
