"""The words of dates, times and durations in French and English, and the normal form texts are read in."""

from __future__ import annotations

import re
import unicodedata
from datetime import time
from functools import cache

from bot.kernel.grammar.tokens import fold
from bot.kernel.timetext.errors import TimeTextError, What

__all__ = [
    "FILLER", "LEADING", "NEXT", "NUMBER_WORDS", "PARTS_OF_DAY", "PLACE_WORDS", "RELATIVE_DAYS", "RELATIVE_MARKS",
    "TODAY_WORDS", "WEEKDAYS", "check_digits", "normal", "strip_leading",
]  # fmt: skip

_ASCII_DIGITS = frozenset("0123456789")

WEEKDAYS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thurs": 3, "fri": 4,
    "sat": 5, "sun": 6,
    # French abbreviations ("mar 12/01 18h" in a date poll): without them dateparser read
    # "mar" as March (mars) and "12/01" as a year.
    "lun": 0, "mar": 1, "mer": 2, "jeu": 3, "ven": 4, "sam": 5, "dim": 6,
}  # fmt: skip

NEXT = frozenset({"prochain", "prochaine", "next", "ce", "cette", "this"})
"""Words around a weekday that add nothing: "mardi prochain" is the next Tuesday, like "mardi"."""

RELATIVE_DAYS: dict[tuple[str, ...], int] = {
    ("aujourd'hui",): 0, ("aujourdhui",): 0, ("today",): 0, ("ce", "soir"): 0, ("tonight",): 0,
    ("ce", "matin"): 0, ("cet", "apres-midi"): 0, ("this", "evening"): 0, ("this", "morning"): 0,
    ("this", "afternoon"): 0,
    ("demain",): 1, ("tomorrow",): 1,
    ("apres-demain",): 2, ("apres", "demain"): 2, ("the", "day", "after", "tomorrow"): 2,
    ("day", "after", "tomorrow"): 2,
    ("hier",): -1, ("yesterday",): -1, ("avant-hier",): -2,
}  # fmt: skip
"""Days named from today, longest phrases first when matched (see `dates.find_day`)."""

TODAY_WORDS = frozenset(k for k, v in RELATIVE_DAYS.items() if v == 0)

PARTS_OF_DAY: dict[str, time] = {
    "soir": time(18, 0), "evening": time(18, 0), "tonight": time(18, 0),
    "matin": time(9, 0), "morning": time(9, 0),
    "apres-midi": time(14, 0), "aprem": time(14, 0), "afternoon": time(14, 0),
}  # fmt: skip
"""A part of the day stands for a time when no clock time is given ("demain soir": 18:00)."""

# Words that introduce a deadline and carry no meaning of their own ("jusqu'à vendredi").
# "d'ici" is not one of them: "d'ici 3 jours" is a length of time (it is a filler before a day).
LEADING = (
    "jusqu'a", "jusqu'au", "jusqu'aux", "jusqu'", "avant", "pour", "until", "till", "by", "before", "le",
    "la", "on", "au", "a", "at",
)  # fmt: skip

RELATIVE_MARKS = ("dans", "in", "d'ici", "sous", "within")
"""What makes a duration an instant: "dans 3 jours", "in 2 hours"."""

NUMBER_WORDS = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "quinze": 15, "vingt": 20,
    "trente": 30, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30,
}  # fmt: skip

PLACE_WORDS = frozenset({"a", "au", "aux", "chez", "en", "dans", "salle", "at", "in", "via", "sur"})
"""Words that start a meeting's place once its date is over ("à la Maison", "chez Paul")."""

FILLER = frozenset({"le", "la", "l", "on", "the", "d'ici", *NEXT})
"""Words of a date phrase that say nothing about the day ("le 12", "on Friday")."""


@cache
def _foreign(char: str) -> bool:
    # NFKD turns "³", "６" or "𝟗" into "3", "6", "9": reading the folded text would take them
    # for digits a member never typed. Any character that is a number, or becomes one, and is
    # not 0 to 9 is refused instead.
    if char in _ASCII_DIGITS:
        return False
    return char.isnumeric() or any(c.isdigit() for c in unicodedata.normalize("NFKD", char))


def check_digits(text: str, what: What) -> None:
    """Numbers are written with the digits 0 to 9: "dans ³ jours" or "١٨h" is refused, never
    read as 3 or 18 (nor, worse, as something else)."""
    odd = next((c for c in text if _foreign(c)), None)
    if odd is not None:
        raise TimeTextError(what, "foreign_digit", text, char=odd)


_APOSTROPHES = str.maketrans({"’": "'", "`": "'", "ʼ": "'", "‘": "'"})
_PUNCTUATION = re.compile(r"[,;.!?]+(?=\s|$)")
_SPACES = re.compile(r"\s+")


def normal(text: str) -> str:
    """Lower case without accents, one kind of apostrophe, no punctuation at the ends of words,
    single spaces."""
    t = fold(text).translate(_APOSTROPHES)
    t = _PUNCTUATION.sub(" ", t)
    return _SPACES.sub(" ", t).strip()


def strip_leading(text: str, words: tuple[str, ...] = LEADING) -> str:
    """`text` (normal) without the words that introduce it ("jusqu'à", "avant le", "by")."""
    t = text
    changed = True
    while changed and t:
        changed = False
        for word in words:
            if t == word:
                return ""
            if word.endswith("'") and t.startswith(word):
                t = t[len(word):].strip()
                changed = True
                break
            if t.startswith(word + " "):
                t = t[len(word) + 1:].strip()
                changed = True
                break
    return t
