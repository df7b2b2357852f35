"""Bar charts as SVG, for pages that also give the same figures in a table: each bar is labelled
with its figure, the chart has a title, and its colours keep a 4.5:1 contrast on white."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

BAR = "#1d4f91"
"""Dark blue on white: 8.6:1."""
TEXT = "#1a1a1a"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str
    """The figure as the text says it ("3", "1/4")."""


def bars(title: str, items: Sequence[Bar], ident: str, width: int = 560) -> Markup:
    """A horizontal bar chart; `ident` makes its title's id unique on the page."""
    row, label_w, gap = 28, 200, 8
    top = max((b.value for b in items), default=0) or 1
    height = row * max(len(items), 1) + gap
    scale = width - label_w - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-labelledby="{ident}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{ident}">{escape(title)}</title>',
    ]
    for i, b in enumerate(items):
        y = i * row + gap
        w = max(0.0, b.value / top * scale)
        label = b.label if len(b.label) <= 30 else b.label[:29] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="13" fill="{TEXT}">'
                     f"{escape(label)}</text>")
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="20" fill="{BAR}"></rect>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="13" fill="{TEXT}">'
                     f"{escape(b.shown)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))  # every text escaped above
