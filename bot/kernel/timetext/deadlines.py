"""Deadlines as members type them ("vendredi 18h", "dans 3 jours", "friday 6pm", ISO 8601) read into an instant."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse

from bot.kernel.i18n import When
from bot.kernel.localtime import at, elapsed, fixed, localize
from bot.kernel.timetext.dates import NoSuchDate, find_date, resolve
from bot.kernel.timetext.days import DayFound, dateparser_day, find_day, find_part
from bot.kernel.timetext.durations import FARTHEST, read_span
from bot.kernel.timetext.errors import TimeTextError, What
from bot.kernel.timetext.times import find_clock
from bot.kernel.timetext.words import RELATIVE_MARKS, check_digits, normal, strip_leading

__all__ = ["DEFAULT_TIME", "parse_deadline", "read_iso"]

DEFAULT_TIME = time(18, 0)
"""The time of day of a deadline given as a day ("vendredi"), unless the caller says otherwise."""

_ISO = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}(?::[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,6})?)?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?",
    re.ASCII | re.IGNORECASE,
)
_WORTH_ASKING = re.compile(r"[0-9]|[a-z]{3,}")


def read_iso(token: str, zone: ZoneInfo, default_time: time | None) -> datetime | None:
    """An ISO 8601 date or date and time, read whole by dateutil: "2026-12-01", "2026-12-01T18:00",
    "2026-12-01 18:00", "2026-12-01T17:00:00+00:00". A date alone is at `default_time` (None:
    not an instant). A wall time without an offset is in `zone`. Raises NoSuchDate for
    "2027-02-30"."""
    if not _ISO.fullmatch(token) or token.startswith("0000"):
        return None
    written = find_date([token[:10]])
    if written is not None:
        resolve(written, date(2000, 1, 1))
    try:
        parsed = isoparse(token.upper())
    except (ValueError, OverflowError):
        return None
    if len(token) == 10:
        return None if default_time is None else at(parsed.date(), default_time, zone)
    return localize(parsed, zone) if parsed.tzinfo is None else parsed


def _next_at(wall: time, end_of_day: bool, now_local: datetime, zone: ZoneInfo) -> datetime:
    """A time of day alone: its next occurrence (today if still ahead, else tomorrow)."""
    day = now_local.date() + timedelta(days=1 if end_of_day else 0)
    found = at(day, wall, zone)
    return found if found > now_local else at(day + timedelta(days=1), wall, zone)


def _on_the_minute(found: datetime, now_local: datetime) -> datetime:
    """An elapsed deadline ("dans 1 heure" said at 17:00:42) on its minute (18:00:00): the
    instant the round closes is the one its messages show ("18 h"), not a few seconds after;
    unless that minute is already past ("dans 30 s")."""
    whole = found.replace(second=0, microsecond=0)
    return whole if whole > now_local else found


def _read(raw: str, now_local: datetime, zone: ZoneInfo, default_time: time) -> datetime | None:
    t = strip_leading(normal(raw))
    for token in (raw, t):
        iso = read_iso(token, zone, default_time)
        if iso is not None:
            return iso
    if not t:
        return None
    today = now_local.date()
    clock = find_clock(t)
    if clock is not None and clock.at is None:
        return None  # "25h", "13pm": a time that does not exist
    marked = t.split()[0] in RELATIVE_MARKS
    after_mark = t.split(None, 1)[1] if marked and " " in t else ""
    if marked and clock is None and (span := read_span(after_mark, "deadline")) is not None:
        # "dans 3 jours", "in 2 hours", "dans 1h30": elapsed time from now.
        return _on_the_minute(elapsed(now_local, span.delta, zone), now_local)
    rest = strip_leading(clock.without(t)) if clock is not None else t
    words = rest.split()
    if not words:
        return None if clock is None else _next_at(clock.at or time(0), clock.end_of_day, now_local, zone)
    found = find_day(words, 0, today)
    if found is None or found.end != len(words):
        if marked and (span := read_span(after_mark, "deadline")) is not None:
            return _on_the_minute(elapsed(now_local, span.delta, zone), now_local)  # "dans 2 jours et 3 heures"
        part, end = find_part(words, 0)
        if part is not None and end == len(words) and clock is None:
            return _next_at(part, False, now_local, zone)  # "le soir", "matin"
        if not _WORTH_ASKING.search(rest):
            return None
        day = dateparser_day(rest, now_local, ("fr", "en"), relative=False)
        if day is None:
            return None
        found = DayFound(day, len(words))
    day = found.day + timedelta(days=7 if found.weekday and found.day == today else 0)
    if clock is None:
        return at(day, found.part or default_time, zone)
    wall = clock.at or time(0)
    if found.part is not None and found.part.hour >= 12 and wall.hour < 12 and not clock.end_of_day:
        wall = wall.replace(hour=wall.hour + 12)  # "ce soir 8h", "demain soir à 9h"
    return at(day + timedelta(days=1 if clock.end_of_day else 0), wall, zone)


def parse_deadline(
    text: str,
    now: datetime,
    tz: ZoneInfo | str,
    default_time: time = DEFAULT_TIME,
    max_ahead: timedelta | None = None,
    what: What = "deadline",
) -> datetime:
    """The instant a member means by `text`, after `now`, in zone `tz` (returned with the
    offset in force there, see bot.kernel.localtime).

    - A day without a time of day ends at `default_time` ("vendredi"); a part of the day stands
      for one ("demain soir": 18:00, "matin": 9:00, "après-midi": 14:00); "minuit" and "24h"
      end the day ("vendredi minuit" is Saturday 00:00).
    - A time without a day is its next occurrence ("9h" said at 10:00 is tomorrow's).
    - A weekday is the next one, never today ("lundi" said on a Monday is in a week).
    - A date without a year is its next occurrence; a day alone ("le 31") is this month's, or
      next month's once past; one not on the calendar is refused, never moved.
    - "dans 3 jours", "in 2 hours", "dans 1h30" (any duration of `parse_duration`) is elapsed
      time from now; with a time of day ("dans 3 jours à 14h"), that day at that time.

    Raises TimeTextError, and nothing else whatever the text: "unparseable", "no_such_day" /
    "no_such_month", "past", "too_far" (more than `max_ahead` after `now`, None: no limit but
    the calendar's), "foreign_digit". ValueError if `now` is naive (a bug of the caller)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    raw = text.strip()
    check_digits(raw, what)
    limit = max_ahead if max_ahead is not None else FARTHEST
    try:
        found = _read(raw, now.astimezone(zone), zone, default_time)
        if found is None:
            raise TimeTextError(what, "unparseable", raw)
        # The offset in force, fixed: compares and adds as an instant (see bot.kernel.localtime).
        found = fixed(found.astimezone(zone))
    except NoSuchDate as exc:
        raise TimeTextError(what, exc.reason, raw, **exc.params) from None
    except OverflowError:
        raise TimeTextError.too_far(what, raw, limit) from None
    except TimeTextError as exc:
        if exc.reason != "too_far":
            raise
        raise TimeTextError.too_far(what, raw, limit) from None
    if found <= now:
        raise TimeTextError(what, "past", raw, when=When(at=found))
    if max_ahead is not None and found - now > max_ahead:
        raise TimeTextError.too_far(what, raw, max_ahead, when=When(at=found))
    return found
