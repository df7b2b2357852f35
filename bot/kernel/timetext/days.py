"""Which day a phrase names: "demain", "vendredi prochain", "le 12 décembre", "le 31", "dans 3 jours", "ce soir"."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.kernel.timetext.dates import day_number, find_date, resolve, resolve_day
from bot.kernel.timetext.durations import read_span
from bot.kernel.timetext.words import (
    FILLER,
    PARTS_OF_DAY,
    PLACE_WORDS,
    RELATIVE_DAYS,
    RELATIVE_MARKS,
    WEEKDAYS,
    normal,
)

__all__ = ["DayFound", "dateparser_day", "find_day", "find_part"]

log = logging.getLogger(__name__)

_LONGEST_PHRASE = max(len(k) for k in RELATIVE_DAYS)
_DATEPARSER_WORDS = 6
"""dateparser is asked about the first few words only: a date is short, and each question
costs milliseconds (a long place after the date would cost a second)."""


@dataclass(frozen=True)
class DayFound:
    """A day read from `words[start:end]`. `weekday`: named by its weekday alone, and the day
    given is the next one from today on (today included): whether today's counts is the
    caller's rule. `part`: a part of the day said with it ("demain soir": 18:00)."""

    day: date
    end: int
    weekday: bool = False
    part: time | None = None


def find_part(words: Sequence[str], i: int) -> tuple[time | None, int]:
    """A part of the day at `words[i]` ("soir", "le soir", "in the evening"), and the end."""
    for lead in ((), ("le",), ("in", "the"), ("du",)):
        j = i + len(lead)
        if tuple(words[i:j]) == lead and j < len(words) and words[j] in PARTS_OF_DAY:
            return PARTS_OF_DAY[words[j]], j + 1
    return None, i


def _relative(words: Sequence[str], start: int, today: date) -> DayFound | None:
    for size in range(min(_LONGEST_PHRASE, len(words) - start), 0, -1):
        phrase = tuple(words[start : start + size])
        if phrase in RELATIVE_DAYS:
            day = today + timedelta(days=RELATIVE_DAYS[phrase])
            part = PARTS_OF_DAY.get(phrase[-1])
            if part is None:
                part, end = find_part(words, start + size)
                return DayFound(day, end, part=part)
            return DayFound(day, start + size, part=part)
    return None


def _offset(words: Sequence[str], start: int, today: date) -> DayFound | None:
    """ "dans 3 jours", "d'ici une semaine": a day so many whole days ahead (the time of day is
    said elsewhere: "dans 3 jours à 14h")."""
    if start >= len(words) or words[start] not in RELATIVE_MARKS:
        return None
    for end in range(min(len(words), start + 5), start + 1, -1):
        span = read_span(" ".join(words[start + 1 : end]))
        if span is not None and span.seconds == 0 and span.days > 0:
            return DayFound(today + timedelta(days=span.days), end)
    return None


def find_day(written: Sequence[str], start: int, today: date) -> DayFound | None:
    """The day named from `written[start]` on (words as typed), or None. A calendar date is read
    whole and checked: raises NoSuchDate for one not on the calendar ("31 février", "le 31" in
    a 30-day month), even if other words follow; OverflowError for a day past the calendar's
    years."""
    words = [normal(w) for w in written]
    if start >= len(words):
        return None
    found = _relative(words, start, today) or _offset(words, start, today)
    if found is not None:
        return found
    i, weekday = start, None
    while i < len(words) and (words[i] in FILLER or words[i] in WEEKDAYS):
        weekday = WEEKDAYS.get(words[i], weekday)
        i += 1
    date_text = find_date(written, i)
    if date_text is not None:
        return DayFound(resolve(date_text, today), date_text.end)
    number = day_number(words[i]) if i < len(words) else None
    # A bare number is a day when a word announces it ("le 31", "vendredi 12") or when
    # nothing but a place follows it; "2 rue de la Paix" is no date.
    if number is not None and (i > start or i + 1 == len(words) or words[i + 1] in PLACE_WORDS):
        text = " ".join(written[start : i + 1]).strip(" ,;")
        return DayFound(resolve_day(number, today, text), i + 1)
    if weekday is not None:
        part, end = find_part(words, i)
        return DayFound(today + timedelta(days=(weekday - today.weekday()) % 7), end, weekday=True, part=part)
    return None


def dateparser_day(phrase: str, base: datetime, languages: Sequence[str], relative: bool) -> date | None:
    """The day dateparser reads in `phrase`, for the forms our own grammar does not know ("next
    week", "la semaine prochaine"). dateparser is a fallback only: checked with 1.5, it reads
    "vendredi 18h" as the 18th, "après-demain 9h" at 19:00, "dans 1h30" at 01:30 tomorrow, and
    nothing in "mardi prochain" or "ce soir"; and it reads "dans ³ jours" (the digits are
    checked before it is asked)."""
    if not phrase or len(phrase.split()) > _DATEPARSER_WORDS:
        return None
    import dateparser  # slow to import: only when a phrase needs it

    settings: dict[str, object] = {
        "RELATIVE_BASE": base.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "DATE_ORDER": "DMY",
        "REQUIRE_PARTS": ["day"],
    }
    if not relative:
        settings["PARSERS"] = ["absolute-time", "custom-formats"]
    try:
        found = dateparser.parse(phrase, languages=list(languages), settings=settings)
    except Exception:
        # A heuristic parser with a record of crashes on odd input (and of overflows near the
        # calendar's ends): whatever it raises means it did not read a date.
        log.debug("dateparser failed on %r", phrase, exc_info=True)
        return None
    return found.date() if found is not None else None
