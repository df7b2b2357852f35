"""Times of day as members and configs write them: "18h", "18 h 30", "18:30", "6pm", "6:30 p.m.", "midi", "minuit"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from bot.kernel.timetext.errors import TimeTextError
from bot.kernel.timetext.words import check_digits, normal

__all__ = ["Clock", "find_clock", "parse_time_of_day"]

# Digits are [0-9], never `\d` (which also matches "٣"). The number must not continue a word,
# a date or another number ("2026-12-01", "123h", "T18:00"), nor follow the words of a
# duration: "dans 2 heures" and "pendant 2h" are lengths, not the hour 02:00.
_CLOCK = re.compile(
    r"(?<![\w:/.\-])(?<!\bdans )(?<!\bin )(?<!\bd'ici )(?<!\bpendant )(?<!\bdurant )(?<!\bfor )(?<!\bsous )"
    r"(?:(?:à|a|at|vers|des|dès)\s+)?"
    r"(?:"
    r"(?P<ap_h>[0-9]{1,2})(?:\s*[:h]\s*(?P<ap_m>[0-9]{2}))?\s*(?P<ap>[ap])\.?\s?m\b\.?"
    r"|(?P<h>[0-9]{1,2})\s*(?:heures?|h)(?:\s*(?P<m>[0-9]{2}))?(?![\w:])"
    r"|(?P<c_h>[0-9]{1,2}):(?P<c_m>[0-9]{2})(?::(?P<c_s>[0-9]{2}))?(?![\w:])"
    r"|(?P<word>midi|noon|minuit|midnight)\b"
    r")",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Clock:
    """A time of day found in `text[start:end]` (its preposition included). `at` is None when
    the words are a time that does not exist ("25h", "13pm", "18h75"). `end_of_day` is midnight
    said as the end of a day ("vendredi minuit", "24h"): the first instant of the next day."""

    start: int
    end: int
    at: time | None
    end_of_day: bool = False
    said_24: bool = False

    def without(self, text: str) -> str:
        """`text` with the time of day taken out."""
        return (text[: self.start] + " " + text[self.end :]).strip()


def _clock(m: re.Match[str]) -> Clock:
    start, end = m.span()
    word = (m.group("word") or "").casefold()
    if word in ("midi", "noon"):
        return Clock(start, end, time(12, 0))
    if word:
        return Clock(start, end, time(0, 0), end_of_day=True)
    if m.group("ap"):
        hour, minute = int(m.group("ap_h")), int(m.group("ap_m") or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return Clock(start, end, None)
        return Clock(start, end, time(hour % 12 + (12 if m.group("ap").casefold() == "p" else 0), minute))
    if m.group("h") is not None:
        hour, minute, second = int(m.group("h")), int(m.group("m") or 0), 0
    else:
        hour, minute, second = int(m.group("c_h")), int(m.group("c_m")), int(m.group("c_s") or 0)
    if hour == 24 and minute == 0 and second == 0:
        return Clock(start, end, time(0, 0), end_of_day=True, said_24=True)
    if hour > 23 or minute > 59 or second > 59:
        return Clock(start, end, None)
    return Clock(start, end, time(hour, minute, second))


def find_clock(text: str) -> Clock | None:
    """The first time of day written in `text`, as written (folded or not), or None."""
    m = _CLOCK.search(text)
    return _clock(m) if m is not None else None


def parse_time_of_day(text: str) -> time:
    """A time of day given alone (a config's `time`, `default_time`): "18:00", "18h", "9h30",
    "18:00:00", "6pm", "midi", "minuit" (00:00). Raises TimeTextError."""
    check_digits(text, "time")
    t = normal(text)
    clock = find_clock(t)
    if clock is None or clock.at is None or clock.said_24 or (clock.start, clock.end) != (0, len(t)):
        raise TimeTextError("time", "unparseable", text.strip())
    return clock.at
