"""Appointments as members type them: "le 12 décembre à 18h à la Maison des associations https://…" → instant, place, link."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.kernel.i18n import Day, When
from bot.kernel.localtime import at, fixed
from bot.kernel.timetext.dates import NoSuchDate, is_date_word
from bot.kernel.timetext.days import DayFound, dateparser_day, find_day
from bot.kernel.timetext.deadlines import read_iso
from bot.kernel.timetext.durations import FARTHEST
from bot.kernel.timetext.errors import TimeTextError
from bot.kernel.timetext.times import find_clock
from bot.kernel.timetext.words import PLACE_WORDS, WEEKDAYS, check_digits, normal

__all__ = ["Appointment", "parse_appointment"]

_URL = re.compile(r"https?://\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Appointment:
    """When and where: the instant, then the place and a video link when the text gives them."""

    start: datetime
    place: str | None
    link: str | None


def _dateparser_prefix(words: list[str], folded: list[str], base: datetime, languages: tuple[str, ...]
                       ) -> DayFound | None:
    """The longest first words dateparser reads as a day, cut before a word that starts a place
    ("à la Maison…") or after a comma; failing that, before any word ("18h Café…"). Never
    before a month or a year: those belong to the date, not to the place."""
    cuts = [i for i, w in enumerate(folded) if w in PLACE_WORDS]
    cuts += [i + 1 for i, w in enumerate(words) if w.endswith(",")]
    starts_with_place = bool(folded) and folded[0] in PLACE_WORDS
    others = [] if starts_with_place else [i for i in range(1, len(words)) if i not in cuts]
    for cut in [*sorted({*cuts, len(words)}, reverse=True), *sorted(others, reverse=True)]:
        if cut == 0 or (cut < len(words) and is_date_word(words[cut])):
            continue
        day = dateparser_day(" ".join(w.rstrip(",") for w in words[:cut]), base, languages, relative=True)
        if day is not None:
            return DayFound(day, cut)
    return None


def _start(body: str, now: datetime, zone: ZoneInfo, locale: str) -> tuple[datetime, list[str]]:
    """The instant and the words left for the place."""
    tokens = body.split()
    iso = read_iso(tokens[0], zone, None) if tokens else None
    if iso is not None:
        return iso, tokens[1:]
    clock = find_clock(body)
    if clock is None or clock.at is None:
        raise TimeTextError("appointment", "no_time", body)
    words = clock.without(body).split()
    folded = [normal(w) for w in words]
    local_now = now.astimezone(zone)
    today = local_now.date()
    found = find_day(words, 0, today)
    if found is None:
        languages = ("fr", "en") if locale == "fr" else ("en", "fr")
        found = _dateparser_prefix(words, folded, local_now, languages)
    if found is None:
        if folded and folded[0] not in PLACE_WORDS:
            raise TimeTextError("appointment", "no_date", body)
        found = DayFound(today, 0)  # "à 18h à la Maison": today
    said = WEEKDAYS.get(folded[0]) if folded else None
    if said is not None and said != found.day.weekday():
        # "mer 12/01" when the 12th is a Tuesday: one of the two is a typo, and guessing which
        # would put a meeting on a day nobody meant.
        raise TimeTextError("appointment", "wrong_weekday", body, day=Day(on=found.day))
    wall = clock.at
    if found.part is not None and found.part.hour >= 12 and wall.hour < 12 and not clock.end_of_day:
        wall = wall.replace(hour=wall.hour + 12)  # "ce soir 8h"
    day: date = found.day + timedelta(days=1 if clock.end_of_day else 0)
    start = at(day, wall, zone)
    if found.weekday and start <= now:
        # "mardi 18h" said on a Tuesday evening: next Tuesday.
        start = at(day + timedelta(days=7), wall, zone)
    return start, words[found.end :]


def parse_appointment(text: str, now: datetime, tz: ZoneInfo | str, locale: str = "fr",
                      max_ahead: timedelta | None = None) -> Appointment:
    """The date and time of `text` after `now` in zone `tz`, then the place (whatever follows
    the date) and a video link (any URL). The time of day is required ("18h", "18:30", "6pm",
    "midi"); the day reads as in `parse_deadline`, except that a weekday is today's when the
    time is still ahead ("jeudi à 11h" said on a Thursday morning), and a day left out is
    today ("à 18h à la Maison").

    Raises TimeTextError, nothing else whatever the text: "no_time", "no_date", "past",
    "no_such_day" / "no_such_month", "too_far" (more than `max_ahead` ahead; None: the
    calendar's limit), "foreign_digit"."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    link_match = _URL.search(text)
    link = link_match.group(0).rstrip(".,;)") if link_match else None
    body = _URL.sub(" ", text).strip()
    check_digits(body, "appointment")
    limit = max_ahead if max_ahead is not None else FARTHEST
    try:
        start, rest = _start(body, now, zone, locale)
        start = fixed(start.astimezone(zone))
    except NoSuchDate as exc:
        raise TimeTextError("appointment", exc.reason, text.strip(), **exc.params) from None
    except OverflowError:
        raise TimeTextError.too_far("appointment", text.strip(), limit) from None
    except TimeTextError as exc:
        if exc.reason != "too_far":
            raise
        raise TimeTextError.too_far("appointment", text.strip(), limit) from None
    if start <= now:
        raise TimeTextError("appointment", "past", text.strip(), when=When(at=start))
    if max_ahead is not None and start - now > max_ahead:
        raise TimeTextError.too_far("appointment", text.strip(), max_ahead, when=When(at=start))
    place = " ".join(rest).strip(" ,;-–")
    if place and normal(place.split()[0]) in {"a", "at"}:
        place = place.split(None, 1)[1] if len(place.split()) > 1 else ""
    return Appointment(start=start, place=place or None, link=link)
