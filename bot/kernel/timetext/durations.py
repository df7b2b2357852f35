"""Durations in one grammar, French, English and ISO 8601: "1h30", "90 min", "2 semaines", "3 jours", "1 an", "PT1H"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.kernel.inputs import Bounds, CommandError, parse_int
from bot.kernel.localtime import shift
from bot.kernel.timetext.errors import LONGEST, TimeTextError, What
from bot.kernel.timetext.words import NUMBER_WORDS, check_digits, normal

__all__ = ["COUNT", "FARTHEST", "Span", "parse_duration", "read_span"]

COUNT = Bounds(0, 1_000_000, "core.input.number")
"""A count of units ("3" in "3 jours"): past a million, a duration is a typo or a probe."""
FARTHEST = timedelta(days=3_650_000)
"""Ten thousand years: no duration goes further, whatever the caller's limit (a timedelta holds
about 2.7 million years, a calendar less than ten thousand)."""

_DAY = 86400
# (calendar days, elapsed seconds) per unit. A month is 30 days and a year 365, as ISO 8601
# durations are read by pydantic (its "P1Y1D" is 366 days): a config written either way, or
# dumped and read back, says the same length.
_SECOND, _MINUTE, _HOUR = (0, 1), (0, 60), (0, 3600)
_UNITS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(("s", "sec", "secs", "seconde", "secondes", "second", "seconds"), _SECOND),
    **dict.fromkeys(("m", "min", "mins", "mn", "minute", "minutes"), _MINUTE),
    **dict.fromkeys(("h", "hr", "hrs", "heure", "heures", "hour", "hours"), _HOUR),
    **dict.fromkeys(("demi-heure", "demi-heures"), (0, 1800)),
    **dict.fromkeys(("j", "jr", "jrs", "jour", "jours", "journee", "journees", "d", "day", "days"), (1, 0)),
    **dict.fromkeys(("demi-journee", "demi-journees"), (0, 43200)),
    **dict.fromkeys(("sem", "semaine", "semaines", "w", "wk", "wks", "week", "weeks"), (7, 0)),
    **dict.fromkeys(("mois", "month", "months"), (30, 0)),
    **dict.fromkeys(("an", "ans", "annee", "annees", "y", "yr", "yrs", "year", "years"), (365, 0)),
}
# After hours, a bare number is minutes ("1h30", "1 heure 30"); after minutes, seconds.
_NEXT_SMALLER = {_HOUR: _MINUTE, _MINUTE: _SECOND}
_JOINERS = frozenset({"et", "and", ",", "+", "&"})
_HALF = frozenset({"demi", "demie", "half"})
_DIGITS = frozenset("0123456789")

_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)?|[a-z]+(?:-[a-z]+)*|\S", re.ASCII)
_N = r"([0-9]+(?:[.,][0-9]+)?)"
_ISO = re.compile(
    rf"P(?:{_N}Y)?(?:{_N}M)?(?:{_N}W)?(?:{_N}D)?(?:T(?:{_N}H)?(?:{_N}M)?(?:{_N}S)?)?", re.ASCII
)
_ISO_UNITS = ((365, 0), (30, 0), (7, 0), (1, 0), _HOUR, _MINUTE, _SECOND)


@dataclass(frozen=True)
class Span:
    """A length of time: whole `days` counted on the local calendar, then `seconds` of elapsed
    time (see bot.kernel.localtime: "7 days before 18:00" is 18:00 a week earlier, "1 hour"
    is one real hour, also on the nights the clocks change)."""

    days: int = 0
    seconds: float = 0.0

    @property
    def delta(self) -> timedelta:
        """The same length as plain elapsed time (a day is 24 hours)."""
        return timedelta(days=self.days, seconds=self.seconds)

    def after(self, instant: datetime, zone: ZoneInfo) -> datetime:
        return shift(instant, zone, days=self.days, seconds=self.seconds)

    def before(self, instant: datetime, zone: ZoneInfo) -> datetime:
        return shift(instant, zone, days=-self.days, seconds=-self.seconds)


def _amount(text: str, what: What, whole: str) -> Fraction:
    """A count written with the digits 0 to 9, "1,5" or "1.5" for a fraction, read through the
    one parser of members' numbers (bounded: "99999999999 jours" is refused as too far)."""
    integer, _, fraction = text.replace(",", ".").partition(".")
    try:
        value = Fraction(parse_int(integer, COUNT))
    except CommandError:
        # Only digits reach here (the grammar says so): the number is out of bounds.
        raise TimeTextError.too_far(what, whole, FARTHEST) from None
    if fraction:
        if len(fraction) > 6:
            raise TimeTextError(what, "unparseable", whole)
        value += Fraction(int(fraction), 10 ** len(fraction))
    return value


def _iso(text: str, what: What, whole: str) -> list[tuple[Fraction, tuple[int, int]]] | None:
    compact = text.strip().upper()
    m = _ISO.fullmatch(compact)
    # "P" alone, "PT" alone or a "T" with nothing after it say no length.
    if m is None or compact in ("P", "PT") or compact.endswith("T") or not any(m.groups()):
        return None
    return [(_amount(g, what, whole), unit) for g, unit in zip(m.groups(), _ISO_UNITS, strict=True) if g]


def _natural(text: str, what: What, whole: str) -> list[tuple[Fraction, tuple[int, int]]] | None:
    tokens = _TOKEN.findall(normal(text))
    parts: list[tuple[Fraction, tuple[int, int]]] = []
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if tok in _JOINERS:
            if not parts or i == n - 1:
                return None
            i += 1
            continue
        if tok in _HALF and parts and tokens[i - 1] in _JOINERS:
            parts.append((Fraction(1, 2), parts[-1][1]))  # "1 heure et demie"
            i += 1
            continue
        number = tok[0] in _DIGITS
        count = _amount(tok, what, whole) if number else (
            Fraction(NUMBER_WORDS[tok]) if tok in NUMBER_WORDS else None)
        if count is None:
            return None
        if i + 1 < n and tokens[i + 1] in _UNITS:
            parts.append((count, _UNITS[tokens[i + 1]]))
            i += 2
            continue
        smaller = _NEXT_SMALLER.get(parts[-1][1]) if parts else None
        if number and i == n - 1 and smaller is not None and count.denominator == 1 and tokens[i - 1] not in _JOINERS:
            parts.append((count, smaller))
            i += 1
            continue
        return None
    return parts or None


def read_span(text: str, what: What = "duration") -> Span | None:
    """The duration written in `text` (its whole), or None when it is not one. Raises
    TimeTextError only for a duration too long for any calendar (reason "too_far")."""
    parts = _iso(text, what, text.strip()) or _natural(text, what, text.strip())
    if parts is None:
        return None
    days = sum((count * unit[0] for count, unit in parts), Fraction(0))
    seconds = sum((count * unit[1] for count, unit in parts), Fraction(0))
    if days * _DAY + seconds > FARTHEST.total_seconds():
        raise TimeTextError.too_far(what, text.strip(), FARTHEST)
    whole = days.numerator // days.denominator
    rest = (days - whole) * _DAY + seconds
    # Microseconds are the finest a timedelta holds.
    return Span(days=whole, seconds=round(float(rest), 6))


def parse_duration(text: str, most: timedelta | None = LONGEST, what: What = "duration") -> Span:
    """A duration written in one grammar wherever it is typed (a config's `duration`, `leads`,
    `max_ahead`, an election's `changement=`, "dans …" of a deadline): "3j", "3 jours", "48h",
    "1h30", "1 heure et demie", "90 min", "2 semaines", "1,5j", "1 an", "une semaine", "1d2h",
    "2 weeks", "an hour", ISO 8601 "P3D", "PT1H30M", "P1Y1D". At most `most` (None: as far as
    a calendar goes). Raises TimeTextError ("unparseable", "too_far", "foreign_digit"), nothing
    else, whatever the text."""
    check_digits(text, what)
    try:
        found = read_span(text, what)
    except TimeTextError:
        if most is None:
            raise
        raise TimeTextError.too_far(what, text.strip(), most) from None  # the caller's limit, said
    if found is None:
        raise TimeTextError(what, "unparseable", text.strip())
    if most is not None and found.delta > most:
        raise TimeTextError.too_far(what, text.strip(), most)
    return found
