"""Deadlines typed by members ("vendredi 18h", "dans 3 jours", "friday 6pm", ISO) → instants.

French first, English second. A small grammar of our own handles what members type most
(weekdays, "demain", "dans N jours", times of day such as "18h", "midi", "6pm") because
dateparser alone reads "vendredi 18h" as the 18th; dateparser is kept for calendar dates
("5 décembre", "12/12/2026") that our date reader did not take. Everything is relative to
`now`, in the network's time zone. An impossible date ("31 février", "30/02") is refused with
what is wrong, and so is a deadline further ahead than `max_ahead` (a typo in the year).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.kernel.commands import fold
from bot.kernel.datetext import NoSuchDate, find_date, resolve
from bot.kernel.i18n import Code, Duration, Msg, When
from bot.kernel.localtime import at as local_instant
from bot.kernel.localtime import elapsed, fixed

__all__ = ["MAX_AHEAD", "DeadlineError", "local_instant", "parse_deadline", "parse_duration"]

DEFAULT_TIME = time(18, 0)
MAX_AHEAD = timedelta(days=366)
"""How far ahead a deadline may be, by default: further is taken for a mistake."""


class DeadlineError(ValueError):
    """A deadline that cannot be used; `msg` is the reply to the member, in the catalogs."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.key)
        self.msg = msg


# Words that introduce a deadline and carry no meaning of their own ("jusqu'à vendredi").
_LEADING = (
    "jusqu'a",
    "jusqu'au",
    "jusqu'aux",
    "jusqu'",
    "d'ici",
    "avant",
    "pour",
    "until",
    "till",
    "by",
    "before",
    "le",
    "la",
    "on",
    "au",
    "a",
    "at",
)

_WEEKDAYS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thurs": 3, "fri": 4,
    "sat": 5, "sun": 6,
}  # fmt: skip

_NEXT = {"prochain", "prochaine", "next"}
_RELATIVE_DAYS = {
    "aujourd'hui": 0, "aujourdhui": 0, "today": 0, "ce soir": 0, "tonight": 0,
    "demain": 1, "tomorrow": 1,
    "apres-demain": 2, "apres demain": 2, "day after tomorrow": 2,
    "hier": -1, "yesterday": -1,
}  # fmt: skip
_PART_OF_DAY = {
    "ce soir": time(18, 0), "tonight": time(18, 0), "soir": time(18, 0), "evening": time(18, 0),
    "matin": time(9, 0), "morning": time(9, 0), "apres-midi": time(14, 0),
    "afternoon": time(14, 0), "midi": time(12, 0), "noon": time(12, 0),
}  # fmt: skip

_UNITS = {
    "minute": 60, "minutes": 60, "min": 60, "mn": 60,
    "heure": 3600, "heures": 3600, "h": 3600, "hour": 3600, "hours": 3600,
    "jour": 86400, "jours": 86400, "j": 86400, "day": 86400, "days": 86400, "d": 86400,
    "semaine": 604800, "semaines": 604800, "week": 604800, "weeks": 604800, "sem": 604800,
}  # fmt: skip

_NUMBERS = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3,
    "four": 4, "five": 5, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip

_IN = re.compile(r"^(?:dans|in|d'ici)\s+(\w+)\s*(\w+)$")
# 18h, 18 h, 18h30, 18:30, 6pm, 6:30 pm, 6 p.m. — optionally after "à"/"at".
_TIME = re.compile(
    r"(?:^|\s)(?:a\s+|at\s+|vers\s+)?"
    r"(?P<h>\d{1,2})(?:\s*(?:h|:)\s*(?P<m>\d{2})?|\s*(?P<ap>am|pm|a\.m\.|p\.m\.))"
    r"(?:\s*(?P<ap2>am|pm|a\.m\.|p\.m\.))?(?=\s|$)"
)
_MIDNIGHT = re.compile(r"(?:^|\s)(?:a\s+|at\s+)?(minuit|midnight)(?=\s|$)")


def _clean(text: str) -> str:
    t = fold(text).replace("’", "'").replace("`", "'")
    t = re.sub(r"[,;.!?]+(?=\s|$)", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    changed = True
    while changed and t:
        changed = False
        for word in _LEADING:
            if t == word:
                return ""
            if word.endswith("'") and t.startswith(word):
                t = t[len(word) :].strip()
                changed = True
                break
            if t.startswith(word + " "):
                t = t[len(word) + 1 :].strip()
                changed = True
                break
    return t


def _take_time(t: str) -> tuple[str, time | None, bool]:
    """Remove a time of day from `t`: (rest, time, is_end_of_day_midnight)."""
    m = _MIDNIGHT.search(t)
    if m:
        return (t[: m.start()] + " " + t[m.end() :]).strip(), time(0, 0), True
    m = _TIME.search(t)
    if m:
        hour = int(m.group("h"))
        minute = int(m.group("m") or 0)
        ampm = (m.group("ap") or m.group("ap2") or "").replace(".", "")
        if ampm:
            if not 1 <= hour <= 12:
                raise ValueError("bad hour")
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        if hour == 24 and minute == 0:
            return (t[: m.start()] + " " + t[m.end() :]).strip(), time(0, 0), True
        if hour > 23 or minute > 59:
            raise ValueError("bad time")
        return (t[: m.start()] + " " + t[m.end() :]).strip(), time(hour, minute), False
    for words, at in _PART_OF_DAY.items():
        pattern = re.compile(rf"(?:^|\s)(?:a\s+|at\s+|in the\s+|le\s+|l')?{re.escape(words)}(?=\s|$)")
        m = pattern.search(t)
        if m and words not in ("ce soir", "tonight"):
            return (t[: m.start()] + " " + t[m.end() :]).strip(), at, False
        if m:
            # "ce soir" names the day too: leave the words for the day part.
            return t, at, False
    return t, None, False


def _day_part(t: str, today: date) -> date | None:
    t = re.sub(r"\s+", " ", t).strip()
    if t in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[t])
    words = t.split()
    rest = [w for w in words if w not in _NEXT and w not in ("ce", "cette", "this")]
    if len(rest) == 1 and rest[0] in _WEEKDAYS:
        # Today's weekday means next week's: "lundi" said on a Monday is the next one.
        ahead = (_WEEKDAYS[rest[0]] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    return None


def _written_date(t: str, today: date) -> date | None:
    """A calendar date that is the whole of `t` besides a weekday ("vendredi 12 décembre").
    Raises NoSuchDate when it is not on the calendar, even if words follow it."""
    words = t.split()
    lead = 0
    while lead < len(words) and (words[lead] in _WEEKDAYS or words[lead] in ("le", "the", "on")):
        lead += 1
    found = find_date(words, lead)
    if found is None:
        return None
    day = resolve(found, today)
    return day if found.end == len(words) else None


def _calendar_day(t: str, now_local: datetime) -> date | None:
    import dateparser

    found = dateparser.parse(
        t,
        languages=["fr", "en"],
        settings={
            "RELATIVE_BASE": now_local.replace(tzinfo=None),
            "PREFER_DATES_FROM": "future",
            "DATE_ORDER": "DMY",
            "REQUIRE_PARTS": ["day"],
            "PARSERS": ["absolute-time", "custom-formats"],
        },
    )
    return found.date() if found is not None else None


def _relative(t: str) -> timedelta | None:
    m = _IN.match(t)
    if not m:
        compact = re.match(r"^(?:dans|in|d'ici)\s+(\d+)\s*([a-z]+)$", t)
        if not compact:
            return None
        amount, unit = compact.group(1), compact.group(2)
    else:
        amount, unit = m.group(1), m.group(2)
    n = int(amount) if amount.isdigit() else _NUMBERS.get(amount)
    if n is None or unit not in _UNITS:
        return None
    return timedelta(seconds=n * _UNITS[unit])


def parse_duration(text: str) -> timedelta:
    """ "3j", "3 jours", "48h", "2 semaines", "90min", "1 day" → a duration (for the config)."""
    t = fold(text).strip()
    m = re.match(r"^(\d+(?:[.,]\d+)?)\s*([a-z]+)$", t)
    if not m or m.group(2) not in _UNITS:
        raise ValueError(f"duration {text!r}: expected e.g. 3j, 48h, 2 semaines, 90min")
    return timedelta(seconds=float(m.group(1).replace(",", ".")) * _UNITS[m.group(2)])


def _iso(text: str, tz: ZoneInfo, default_time: time) -> datetime | None:
    """An ISO date or date-time; raises NoSuchDate for "2027-02-30"."""
    raw = text.strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}", raw):
        return None
    written = find_date([raw[:10]])
    if written is not None:
        resolve(written, date(2000, 1, 1))
    try:
        parsed = datetime.fromisoformat(raw.replace(" ", "T", 1) if len(raw) > 10 else raw)
    except ValueError:
        return None
    if len(raw) == 10:
        return local_instant(parsed.date(), default_time, tz)
    if parsed.tzinfo is None:
        return local_instant(parsed.date(), parsed.time(), tz)
    return parsed


def _examples() -> Code:
    return Code(text="vendredi 18h · demain midi · dans 3 jours · 2026-12-04T18:00")


def parse_deadline(
    text: str,
    now: datetime,
    tz: ZoneInfo | str,
    default_time: time = DEFAULT_TIME,
    max_ahead: timedelta | None = MAX_AHEAD,
) -> datetime:
    """The instant a member means by `text`, after `now`, in zone `tz` (returned aware, in
    that zone). A day without a time of day ends at `default_time`; a time without a day is
    its next occurrence; a weekday is the next one ("lundi" said on a Monday is in a week); a
    date without a year is its next occurrence. Raises DeadlineError with the reply to show:
    "unparseable", "no_such_day"/"no_such_month" (not on the calendar), "past", or
    "too_far" (more than `max_ahead` after `now`; None: no limit)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    now_local = now.astimezone(zone)
    try:
        found = _iso(text, zone, default_time)
        if found is None:
            found = _natural(text, now_local, zone, default_time)
    except NoSuchDate as exc:
        raise DeadlineError(Msg(f"consent.deadline.{exc.reason}", text=text.strip(), **exc.params)) from None
    if found is None:
        raise DeadlineError(
            Msg("consent.deadline.unparseable", text=text.strip(), examples=_examples())
        )
    # The offset in force, fixed: compares and adds as an instant (see bot.kernel.localtime).
    found = fixed(found.astimezone(zone))
    if found <= now:
        raise DeadlineError(
            Msg("consent.deadline.past", text=text.strip(), when=When(at=found), examples=_examples())
        )
    if max_ahead is not None and found - now > max_ahead:
        raise DeadlineError(Msg("consent.deadline.too_far", text=text.strip(), when=When(at=found),
                                limit=Duration(seconds=max_ahead.total_seconds())))
    return found


def _natural(text: str, now_local: datetime, zone: ZoneInfo, default_time: time) -> datetime | None:
    t = _clean(text)
    if not t:
        return None
    delta = _relative(t)
    if delta is not None:
        # "dans 3 jours" / "in 2 hours": elapsed time from now.
        return elapsed(now_local, delta, zone)
    try:
        rest, at, end_of_day = _take_time(t)
    except ValueError:
        return None
    rest = _clean(rest)
    today = now_local.date()
    day: date | None
    if not rest:
        if at is None:
            return None
        # A time alone: its next occurrence (today if still ahead, else tomorrow).
        day = today
        candidate = local_instant(day + timedelta(days=1 if end_of_day else 0), at, zone)
        if candidate <= now_local:
            candidate = local_instant(day + timedelta(days=2 if end_of_day else 1), at, zone)
        return candidate
    written = _written_date(rest, today)
    if written is not None:
        return local_instant(written + timedelta(days=1 if end_of_day else 0), at or default_time, zone)
    day = _day_part(rest, today)
    if day is not None:
        if at is None and rest in ("ce soir", "tonight"):
            at = time(18, 0)
        when = at or default_time
        return local_instant(day + timedelta(days=1 if end_of_day else 0), when, zone)
    if not re.search(r"\d|[a-z]{3,}", rest):
        return None
    cal = _calendar_day(rest, now_local)
    if cal is None:
        return None
    return local_instant(cal + timedelta(days=1 if end_of_day else 0), at or default_time, zone)
