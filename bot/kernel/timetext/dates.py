"""Calendar dates as members write them ("31 février", "1er mars 2027", "12/12", "le 31"), checked against the calendar.

dateparser reads a date well, but asked about "31 février" it finds nothing, and the parsers
that try shorter and shorter prefixes then read "31" alone (the 31st of next month) and leave
"février" behind as a place; "29 février 2027" became 29 February 2028 at "📍 2027". Here a
date is read whole, day, month and year together, then checked against the calendar: an
impossible date is refused with what is wrong, never repaired into another one, and a year
written after the month always belongs to the date.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date
from functools import cache
from typing import Literal

from babel.dates import get_day_names, get_month_names

from bot.kernel.grammar.tokens import fold
from bot.kernel.i18n import Month, Param

__all__ = [
    "DateText", "NoSuchDate", "day_number", "find_date", "is_date_word", "is_month", "is_year", "resolve",
    "resolve_day",
]  # fmt: skip

# ASCII digits only (re.ASCII): `\d` alone also matches "٣" or "３", which int() then reads.
_DAY = re.compile(r"^(\d{1,2})(?:er|re|e|eme|st|nd|rd|th)?$", re.ASCII)
_YEAR = re.compile(r"^(1[89]\d\d|2[01]\d\d)$", re.ASCII)
# 12/12, 12/12/2026, 12.12.26, 12-12-2026 (a dash only with a year: "3-4" is a range).
_NUMERIC = re.compile(r"^(\d{1,2})(?:[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?|-(\d{1,2})-(\d{2}|\d{4}))$", re.ASCII)
_ISO = re.compile(r"^([1-9]\d{3})-(\d{1,2})-(\d{1,2})$", re.ASCII)
# Between a day and its month: "the 12th of December", "le 12 de mai" (rare, but read whole).
_JOINERS = {"of", "de"}


@cache
def _months() -> dict[str, int]:
    """Folded month names and abbreviations, French and English, from the CLDR (babel)."""
    names: dict[str, int] = {}
    for locale in ("fr", "en"):
        for width in ("wide", "abbreviated"):
            for number, name in get_month_names(width, locale=locale).items():
                names[fold(name).rstrip(".")] = number
    names.update({"fev": 2, "sept": 9, "juil": 7, "aout": 8})
    # An abbreviation that is also a weekday's ("mar." is mardi in French) says no month.
    weekdays = {fold(name).rstrip(".") for locale in ("fr", "en")
                for name in get_day_names("abbreviated", locale=locale).values()}
    return {name: number for name, number in names.items() if name not in weekdays}


def _norm(word: str) -> str:
    return fold(word).strip(",;:()").rstrip(".")


def is_month(word: str) -> bool:
    return _norm(word) in _months()


def is_year(word: str) -> bool:
    return _YEAR.match(_norm(word)) is not None


def is_date_word(word: str) -> bool:
    """A word that can only belong to a date (a month, a year, a numeric date): a date phrase
    is never cut before it, so it can never end up in a place."""
    w = _norm(word)
    return w in _months() or _YEAR.match(w) is not None or _NUMERIC.match(w) is not None \
        or _ISO.match(w) is not None


@dataclass(frozen=True)
class DateText:
    """A date written in `words[start:end]`, as written: not checked against the calendar."""

    start: int
    end: int
    day: int
    month: int
    year: int | None
    text: str
    """The words as the member typed them, for the reply."""


class NoSuchDate(ValueError):
    """A date that is not on the calendar; `reason` and `params` make the reply."""

    def __init__(self, found: DateText, year: int) -> None:
        super().__init__(found.text)
        self.found = found
        self.year = year
        self.reason: Literal["no_such_month", "no_such_day"] = (
            "no_such_month" if not 1 <= found.month <= 12 else "no_such_day")

    @property
    def params(self) -> dict[str, Param]:
        if self.reason == "no_such_month":
            return {"date": self.found.text, "month": str(self.found.month)}
        days = calendar.monthrange(self.year, self.found.month)[1]
        return {"date": self.found.text, "month": Month(year=self.year, month=self.found.month),
                "days": days}


def _year(text: str) -> int:
    return int(text) + 2000 if len(text) == 2 else int(text)


def find_date(words: Sequence[str], start: int = 0) -> DateText | None:
    """A calendar date written from `words[start]` on: "12 décembre [2026]", "1er mars",
    "December 12[, 2026]", "the 12th of December", "12/12[/2026]", "2026-12-12"."""
    if start >= len(words):
        return None
    w = [_norm(x) for x in words]

    def made(end: int, day: int, month: int, year: int | None) -> DateText:
        return DateText(start, end, day, month, year, " ".join(words[start:end]).strip(" ,;"))

    def year_at(i: int) -> int | None:
        return int(w[i]) if i < len(w) and _YEAR.match(w[i]) else None

    first = w[start]
    if m := _ISO.match(first):
        return made(start + 1, int(m.group(3)), int(m.group(2)), int(m.group(1)))
    if m := _NUMERIC.match(first):
        if m.group(2) is not None:
            year = _year(m.group(3)) if m.group(3) else year_at(start + 1)
            end = start + 1 + (1 if not m.group(3) and year is not None else 0)
            return made(end, int(m.group(1)), int(m.group(2)), year)
        return made(start + 1, int(m.group(1)), int(m.group(4)), _year(m.group(5)))
    months = _months()
    if (m := _DAY.match(first)) and start + 1 < len(w):
        i = start + 1
        if w[i] in _JOINERS and i + 1 < len(w) and w[i + 1] in months:
            i += 1
        if w[i] in months:
            year = year_at(i + 1)
            return made(i + 2 if year is not None else i + 1, int(m.group(1)), months[w[i]], year)
    if first in months and start + 1 < len(w) and (m := _DAY.match(w[start + 1])):
        year = year_at(start + 2)
        return made(start + 3 if year is not None else start + 2, int(m.group(1)), months[first], year)
    return None


def resolve(found: DateText, today: date) -> date:
    """The day meant: with a year, in that year; without, its next occurrence from `today` on
    (this year, or next year once it is past). Raises NoSuchDate for a day not on the
    calendar ("31 février", "29 février 2027", "30/02", "12/13"), OverflowError for a year
    outside the calendar's (0000, or the year after 9999)."""
    year = found.year
    if year is None:
        year = today.year if (found.month, found.day) >= (today.month, today.day) else today.year + 1
    if not MINYEAR <= year <= MAXYEAR:
        raise OverflowError(f"year {year} is outside the calendar")
    if not 1 <= found.month <= 12 or not 1 <= found.day <= calendar.monthrange(year, found.month)[1]:
        raise NoSuchDate(found, year)
    return date(year, found.month, found.day)


def day_number(word: str) -> int | None:
    """The day of the month in a word that is only that ("12", "1er", "31st"), else None."""
    m = _DAY.match(_norm(word))
    return int(m.group(1)) if m else None


def resolve_day(day: int, today: date, text: str) -> date:
    """A day of the month said alone ("le 31", "vendredi 12"): this month's when it is still to
    come (today included), else next month's. Raises NoSuchDate when that month has no such day
    ("le 31" in November, "le 30" in February) rather than moving to another month."""
    year, month = today.year, today.month
    if day < today.day:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    found = DateText(0, 1, day, month, year, text)
    return resolve(found, today)
