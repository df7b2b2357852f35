"""What rituals publish calendars with: an iCalendar's time zones, written for the years it spans."""

from __future__ import annotations

from datetime import date, datetime

from icalendar import Calendar

# How far ahead a calendar's time zones describe their changes: a recurring series has no end,
# and an event past the last described change would be shown at the wrong offset.
YEARS_AHEAD = 50


def finished(cal: Calendar, now: datetime) -> bytes:
    """The calendar's bytes, with a VTIMEZONE for each zone its events use, valid from its
    earliest event (or `now`) to `YEARS_AHEAD` years after `now` — not icalendar's default
    window, which ends in 2038."""
    starts = [c.decoded("dtstart") for c in cal.walk("VEVENT") if "dtstart" in c]
    days = [s.date() if isinstance(s, datetime) else s for s in starts if isinstance(s, date)]
    first = min([now.date(), *days])
    cal.add_missing_timezones(first_date=date(first.year, 1, 1), last_date=date(now.year + YEARS_AHEAD, 1, 1))
    return bytes(cal.to_ical())
