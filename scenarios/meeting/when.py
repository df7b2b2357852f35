"""Reading "le 12 décembre à 18h à la Maison des associations" into an instant and a place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from bot.kernel.commands import fold
from bot.kernel.datetext import NoSuchDate, find_date, is_date_word, resolve
from bot.kernel.i18n import Param
from bot.kernel.localtime import localize

_URL = re.compile(r"https?://\S+", re.I)
# "18h", "18 h 30", "18:30", "à 9h", "6pm", "midi". The preposition before it goes with it.
_TIME = re.compile(
    r"(?:\b(?:à|a|at|vers)\s+)?(?:\b(\d{1,2})\s*(?:h|:)\s*(\d{2})?(?![\d])|\b(\d{1,2})\s*(am|pm)\b|\b(midi|noon)\b)",
    re.I,
)
_WEEKDAYS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}
# Words that start the place once the date is over.
_PLACE_WORDS = {"a", "au", "aux", "chez", "en", "dans", "salle", "at", "in", "via", "sur"}
# Filler words of a date phrase that dateparser need not see.
_FILLER = {"le", "la", "l", "on", "the", "ce", "cette", "this", "prochain", "prochaine", "next"}


class WhenError(ValueError):
    """The text does not say a future date and time; `reason` is a catalog key suffix
    (`meeting.when.<reason>`), `params` the reply's parameters besides the text."""

    def __init__(self, reason: str, params: dict[str, Param] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params: dict[str, Param] = dict(params or {})


@dataclass(frozen=True)
class When:
    start: datetime
    place: str | None
    link: str | None


def _find_time(text: str) -> tuple[time, str] | None:
    m = _TIME.search(text)
    if m is None:
        return None
    if m.group(5):
        t = time(12, 0)
    elif m.group(3):
        hour = int(m.group(3)) % 12 + (12 if m.group(4).lower() == "pm" else 0)
        t = time(hour, 0)
    else:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if hour > 23 or minute > 59:
            return None
        t = time(hour, minute)
    rest = (text[: m.start()] + " " + text[m.end():]).strip()
    return t, rest


def _weekday(words: list[str], today: date) -> date | None:
    folded = [fold(w) for w in words if fold(w) not in _FILLER]
    if len(folded) != 1 or folded[0] not in _WEEKDAYS:
        return None
    ahead = (_WEEKDAYS[folded[0]] - today.weekday()) % 7
    return today + timedelta(days=ahead)


def _today_words(words: list[str]) -> int | None:
    """How many leading words say "today" ("ce soir", "aujourd'hui"); 0 when the text goes
    straight to the place; None when it says something else we could not read."""
    folded = [fold(w) for w in words]
    for phrase in (["ce", "soir"], ["aujourd'hui"], ["aujourd’hui"], ["tonight"], ["today"]):
        if folded[: len(phrase)] == phrase:
            return len(phrase)
    if not folded or folded[0] in _PLACE_WORDS:
        return 0
    return None


def _parse_date(words: list[str], base: datetime, languages: list[str]) -> date | None:
    if not words:
        return None
    phrase = " ".join(words)
    parsed = dateparser.parse(
        phrase,
        languages=languages,
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": base,
            "DATE_ORDER": "DMY",
            "REQUIRE_PARTS": ["day"],
        },
    )
    return parsed.date() if parsed is not None else None


def parse_when(text: str, now: datetime, tz: ZoneInfo, locale: str = "fr") -> When:
    """Date and time relative to `now` in the network's zone, then the place (whatever
    follows the date) and a video link (any URL). Raises WhenError."""
    link_match = _URL.search(text)
    link = link_match.group(0).rstrip(".,;)") if link_match else None
    body = _URL.sub(" ", text).strip()
    try:
        iso = _iso(body.split()[0] if body.split() else "", tz)
    except NoSuchDate as exc:
        raise WhenError(exc.reason, exc.params) from None
    if iso is not None:
        start, rest_words = iso, body.split()[1:]
    else:
        found = _find_time(body)
        if found is None:
            raise WhenError("no_time")
        at, rest = found
        words = rest.split()
        local_now = now.astimezone(tz)
        base = local_now.replace(tzinfo=None)
        languages = ["fr", "en"] if locale == "fr" else ["en", "fr"]
        day: date | None = None
        weekday = False
        rest_words = words
        # A calendar date written out ("[mardi] 12 décembre [2026]", "12/12") is read whole
        # and checked: "31 février" is refused, not shortened into "31" + a place "février".
        lead = 0
        while lead < len(words) and (fold(words[lead]) in _FILLER or fold(words[lead]) in _WEEKDAYS):
            lead += 1
        written = find_date(words, lead)
        if written is not None:
            try:
                day = resolve(written, local_now.date())
            except NoSuchDate as exc:
                raise WhenError(exc.reason, exc.params) from None
            rest_words = words[written.end:]
        # Otherwise the date is the longest prefix that parses, cut before a word that starts
        # a place ("à la Maison…") or after a comma; failing that, before any word ("18h
        # Café…"). Never before a month or a year: those belong to the date, not the place.
        cuts = [i for i, w in enumerate(words) if fold(w) in _PLACE_WORDS]
        cuts += [i + 1 for i, w in enumerate(words) if w.endswith(",")]
        starts_with_place = bool(words) and fold(words[0]) in _PLACE_WORDS
        others = [] if starts_with_place else [i for i in range(1, len(words)) if i not in cuts]
        candidates = [*sorted({*cuts, len(words)}, reverse=True), *sorted(others, reverse=True)]
        for cut in [] if day is not None else candidates:
            if cut < len(words) and is_date_word(words[cut]):
                continue
            head = [w.rstrip(",") for w in words[:cut]]
            day = _weekday(head, local_now.date())
            weekday = day is not None
            if day is None:
                day = _parse_date(head, base, languages)
            if day is not None:
                rest_words = words[cut:]
                break
        if day is None:
            today = _today_words(words)
            if today is None:
                raise WhenError("no_date")
            day, rest_words = local_now.date(), words[today:]
        start = localize(datetime.combine(day, at), tz)
        if start <= now and weekday:
            # "mardi 18h" said on a Tuesday evening: next Tuesday.
            start = localize(datetime.combine(day + timedelta(days=7), at), tz)
    if start <= now:
        raise WhenError("past")
    place = " ".join(rest_words).strip(" ,;-–")
    if place and fold(place.split()[0]) in {"a", "at"}:
        place = place.split(None, 1)[1] if len(place.split()) > 1 else ""
    return When(start=start, place=place or None, link=link)


def _iso(token: str, tz: ZoneInfo) -> datetime | None:
    """An ISO date and time ("2026-12-12T18:00"); raises NoSuchDate for "2027-02-30T18:00"."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", token):
        return None
    written = find_date([token[:10]])
    if written is not None:
        resolve(written, date(2000, 1, 1))
    try:
        parsed = datetime.fromisoformat(token)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return localize(parsed, tz)
    return parsed
