"""Local wall-clock arithmetic in a network's zone: placing a wall time, calendar days, elapsed time.

Every instant the bot computes from a local date or a lead goes through here, so that the two
nights a year when the clocks change are handled once, the same way everywhere:

- a wall time skipped by the spring change (02:30 in Paris on the last Sunday of March) moves
  forward by the size of the gap (03:30), as calendar applications do — dateutil's
  `resolve_imaginary`, which also knows zones whose gap is not one hour (Lord Howe: 30 min);
- a wall time that happens twice in autumn takes its first occurrence (the summer one), unless
  the caller asks for the second (`datetime_ambiguous` decides whether there is a choice);
- a lead in days is calendar arithmetic ("7 days before Tuesday 18:00" is the previous
  Tuesday at 18:00, even across a change); a lead in hours or minutes is elapsed time ("1 hour
  before 03:30" on the spring night is 01:30, one real hour earlier, not a non-existent 02:30).

Every function returns an instant with the offset in force as a fixed-offset tzinfo
(`+02:00`), never a `ZoneInfo`: Python adds a timedelta to a ZoneInfo datetime on its wall
clock (neither of the rules above), compares two of them by wall time, and finds a time of the
repeated autumn hour equal to nothing in another zone (PEP 495). A fixed offset prints the
local time, adds and compares as the instant it is, and is what the store gives back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil import tz as dtz

__all__ = [
    "at",
    "elapsed",
    "fixed",
    "is_ambiguous",
    "is_imaginary",
    "localize",
    "shift",
    "shift_days",
    "split_lead",
]

Occurrence = Literal["first", "second"]


def fixed(instant: datetime) -> datetime:
    """The same instant with the offset it has as a fixed-offset tzinfo (see the module doc)."""
    offset = instant.utcoffset()
    if offset is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(timezone(offset))


def localize(naive: datetime, zone: ZoneInfo, ambiguous: Occurrence = "first") -> datetime:
    """The naive local wall time `naive` placed in `zone`: a skipped time moves forward by the
    gap, a repeated time takes its `ambiguous` occurrence."""
    if naive.tzinfo is not None:
        naive = naive.replace(tzinfo=None)
    aware = naive.replace(tzinfo=zone, fold=0)
    # Existence first: with PEP 495 zones a skipped time also has two offsets (fold 0 and 1),
    # so dateutil would call it ambiguous too.
    if not dtz.datetime_exists(aware):
        # Round trip through UTC so that the result carries the offset really in force.
        return fixed(dtz.resolve_imaginary(aware).astimezone(UTC).astimezone(zone))
    if dtz.datetime_ambiguous(aware):
        return fixed(aware.replace(fold=1 if ambiguous == "second" else 0))
    return fixed(aware)


def at(day: date, wall: time, zone: ZoneInfo, ambiguous: Occurrence = "first") -> datetime:
    """The instant of `day` at local time `wall` in `zone` (see `localize`)."""
    return localize(datetime.combine(day, wall.replace(tzinfo=None)), zone, ambiguous)


def is_imaginary(naive: datetime, zone: ZoneInfo) -> bool:
    """Whether the wall time `naive` does not exist in `zone` (skipped by a spring change)."""
    return not dtz.datetime_exists(naive.replace(tzinfo=zone, fold=0))


def is_ambiguous(naive: datetime, zone: ZoneInfo) -> bool:
    """Whether the wall time `naive` happens twice in `zone` (the autumn change)."""
    aware = naive.replace(tzinfo=zone, fold=0)
    return bool(dtz.datetime_exists(aware) and dtz.datetime_ambiguous(aware))


def elapsed(instant: datetime, delta: timedelta, zone: ZoneInfo | None = None) -> datetime:
    """`instant` plus `delta` of real elapsed time (computed in UTC), with the offset in force
    in `zone` (default: the instant's own zone) at the result."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    moved = instant.astimezone(UTC) + delta
    return fixed(moved.astimezone(zone if zone is not None else instant.tzinfo))


def shift_days(instant: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The same local wall time `days` calendar days later (earlier when negative) in `zone`.
    A time that fell in an autumn repetition keeps the occurrence it had when it can."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    local = instant.astimezone(zone)
    which: Occurrence = "second" if local.fold else "first"
    return localize(local.replace(tzinfo=None) + timedelta(days=days), zone, which)


def shift(instant: datetime, zone: ZoneInfo, *, days: int = 0, seconds: float = 0) -> datetime:
    """`days` on the local calendar first, then `seconds` of elapsed time; the result is in
    `zone`. Negative values go back in time ("7 days and 1 hour before")."""
    moved = shift_days(instant, days, zone) if days else fixed(instant.astimezone(zone))
    return elapsed(moved, timedelta(seconds=seconds), zone) if seconds else moved


def split_lead(lead: timedelta) -> tuple[int, float]:
    """A lead given as a plain duration (the consent config's "1j", "2h", "36h") split into
    whole days, counted on the calendar, and the rest, counted in elapsed time."""
    whole = lead.days if lead >= timedelta(0) else -((-lead).days)
    rest = (lead - timedelta(days=whole)).total_seconds()
    return whole, rest
