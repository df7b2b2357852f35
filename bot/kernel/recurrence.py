"""RFC 5545 recurrences evaluated in the network's IANA time zone, stable across DST."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr
from pydantic import AfterValidator

from bot.kernel.localtime import localize
from bot.kernel.timetext import TimeTextError, parse_time_of_day


class RecurrenceError(ValueError):
    """An RRULE or time of day that cannot be used; the message says what is wrong."""


def parse_time(text: str) -> time:
    """"18:00", "18h", "18h30", "9:05" → a time of day (bot.kernel.timetext.parse_time_of_day)."""
    try:
        return parse_time_of_day(text)
    except TimeTextError:
        raise RecurrenceError(f"time of day {text!r}: expected HH:MM, e.g. 18:00") from None


@dataclass(frozen=True)
class Recurrence:
    """`rule` is an RRULE body ("FREQ=WEEKLY;BYDAY=TU"), `at` the local time of day. The rule
    runs on naive local wall-clock times, then each is placed in the zone: "18:00 every
    Tuesday" stays 18:00 in winter and in summer."""

    rule: str
    at: time
    tz: ZoneInfo
    start: date = date(2000, 1, 3)

    @classmethod
    def parse(cls, rule: str, at: str, tz: str, start: date | None = None) -> Recurrence:
        try:
            zone = ZoneInfo(tz)
        except Exception:
            raise RecurrenceError(f"unknown time zone {tz!r}: expected an IANA name such as Europe/Paris") from None
        rec = cls(rule.strip().removeprefix("RRULE:"), parse_time(at), zone, start or date(2000, 1, 3))
        rec._rrule()  # validate now, not at the first firing
        return rec

    def _rrule(self, near: datetime | None = None) -> rrule:
        """The rule on naive local times. With `near`, the same series started again at an
        occurrence of its period shortly before `near`: dateutil walks a series from its
        start, and from 2000 a daily rule takes thousands of steps per question (a storm of
        reminders spent most of its time there). Moving the start by whole periods keeps
        every occurrence, since the rule's phase (weekday, day of month, week parity) is
        unchanged; a COUNT counts from the true start, so such a rule is not moved."""
        start = self.start
        if near is not None:
            start = _restart(self.rule, self.start, near.date())
        return _compile(self.rule, self.at, start)

    def _localize(self, naive: datetime) -> datetime:
        # A wall time skipped by the spring change (02:30) moves forward by the gap, a
        # repeated one takes its first occurrence: one policy for the whole bot.
        return localize(naive, self.tz)

    def after(self, instant: datetime, inclusive: bool = False) -> datetime | None:
        """The first occurrence strictly after `instant` (aware), in the network's zone."""
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        local = instant.astimezone(self.tz).replace(tzinfo=None)
        # Step back a day so that a DST shift cannot make us skip an occurrence; filter below.
        rule = self._rrule(near=local - timedelta(days=2))
        nxt = rule.after(local - timedelta(days=1), inc=True)
        while nxt is not None:
            aware = self._localize(nxt)
            if aware > instant or (inclusive and aware == instant):
                return aware
            nxt = rule.after(nxt, inc=False)
        return None

    def occurrences(self, instant: datetime, count: int) -> Iterator[datetime]:
        cur = instant
        for _ in range(count):
            nxt = self.after(cur)
            if nxt is None:
                return
            yield nxt
            cur = nxt


@lru_cache(maxsize=1024)
def _compile(body: str, at: time, start: date) -> rrule:
    if not body:
        raise RecurrenceError("empty RRULE: expected e.g. FREQ=WEEKLY;BYDAY=FR")
    if "DTSTART" in body.upper():
        raise RecurrenceError("RRULE must not carry DTSTART: the time comes from `time`")
    try:
        parsed = rrulestr(body, dtstart=datetime.combine(start, at), forceset=False)
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"invalid RRULE {body!r}: {exc}") from None
    if not isinstance(parsed, rrule):
        raise RecurrenceError(f"invalid RRULE {body!r}: one rule expected")
    if any(part.startswith(("FREQ=HOURLY", "FREQ=MINUTELY", "FREQ=SECONDLY")) for part in body.upper().split(";")):
        raise RecurrenceError(f"RRULE {body!r}: a ritual recurs at most daily (FREQ=DAILY, WEEKLY, MONTHLY or YEARLY)")
    return parsed


def _restart(body: str, start: date, before: date) -> date:
    """The latest date `start + k·period` (k ≥ 0 whole periods of the rule) not after
    `before` minus one period: the series restarted there has the same occurrences from
    `before` on. Rules with COUNT are left as they are."""
    parts = dict(p.split("=", 1) for p in body.upper().split(";") if "=" in p)
    if "COUNT" in parts or before <= start:
        return start
    freq = {"DAILY": DAILY, "WEEKLY": WEEKLY, "MONTHLY": MONTHLY, "YEARLY": YEARLY}.get(parts.get("FREQ", ""))
    try:
        interval = max(1, int(parts.get("INTERVAL", "1")))
    except ValueError:
        return start
    if freq in (DAILY, WEEKLY):
        step = interval * (1 if freq == DAILY else 7)
        periods = (before - start).days // step - 1
        return start + timedelta(days=step * periods) if periods > 0 else start
    if freq in (MONTHLY, YEARLY) and start.day <= 28:
        months = interval * (1 if freq == MONTHLY else 12)
        elapsed = (before.year - start.year) * 12 + before.month - start.month
        periods = elapsed // months - 1
        # The start day (3rd) exists in every month, so whole months land on a real date.
        return start + relativedelta(months=months * periods) if periods > 0 else start
    return start


def _check_rrule(value: str) -> str:
    Recurrence.parse(value, "12:00", "UTC")
    return value.strip().removeprefix("RRULE:")


def _check_time(value: str) -> str:
    t = parse_time(value)
    return f"{t.hour:02d}:{t.minute:02d}"


# Pydantic field types for ritual configs: an RRULE body and a local time of day,
# validated when the config is loaded rather than at the first firing.
RRuleText = Annotated[str, AfterValidator(_check_rrule)]
TimeOfDay = Annotated[str, AfterValidator(_check_time)]
