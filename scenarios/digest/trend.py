"""The network's participation week by week: what the digest's chart shows (a trend, dated,
never a ranking of organisations)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scenarios.digest.gather import Figures, Gatherer

WEEKS = 8
"""Weeks the chart shows, the digest's own period last (the register keeps 90 days)."""


@dataclass(frozen=True)
class Week:
    end: datetime
    figures: Figures


def weekly(gatherer: Gatherer, now: datetime, days: int, channel: str | None, weeks: int = WEEKS) -> list[Week]:
    """The whole network's answers and attendance for each period of `days` ending at `now`,
    `days` before it, and so on: oldest first; the periods with nothing measured at the start
    are left out (a new network's chart begins with its first figures)."""
    out: list[Week] = []
    for i in range(weeks - 1, -1, -1):
        end = now - timedelta(days=days * i)
        c = gatherer.gather(end - timedelta(days=days), end, end, channel)
        out.append(Week(end=end, figures=c.total))
    while out and not (out[0].figures.asked or out[0].figures.expected):
        out.pop(0)
    return out
