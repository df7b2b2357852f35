"""The one refusal of the time readers: what was not understood, and the parameters of the answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from bot.kernel.i18n import Code, Duration, Msg, Param, render_plain
from bot.kernel.inputs import shown

__all__ = ["EXAMPLES", "LONGEST", "Reason", "TimeTextError", "What"]

Reason = Literal[
    "unparseable",  # nothing in the text reads as what was asked
    "no_time",  # an appointment without its time of day
    "no_date",  # an appointment whose day could not be read
    "past",  # an instant already gone (params: when)
    "too_far",  # past the caller's limit, or past what a calendar holds (params: limit[, when])
    "no_such_day",  # a day not on the calendar (params: date, month, days)
    "no_such_month",  # a month number that is none (params: date, month)
    "foreign_digit",  # a number written with other digits than 0 to 9 (params: char)
    "wrong_weekday",  # a weekday that is not the date's, "mer 12/01" on a Tuesday (params: day)
]
What = Literal["deadline", "appointment", "time", "duration"]

LONGEST = timedelta(days=3650)
"""The longest duration a config may give (ten years): anything longer is a typo, and would
overflow the calendar once added to a date."""

EXAMPLES: dict[What, str] = {
    "deadline": "vendredi 18h · demain midi · dans 3 jours · 2026-12-04T18:00",
    "appointment": "le 12 décembre à 18h · mardi 18h30 au local · demain à 9h",
    "time": "18:00 · 18h · 9h30 · 6pm · midi",
    "duration": "3 jours · 48h · 1h30 · 2 semaines · 90 min · P3D",
}


class TimeTextError(ValueError):
    """Text that does not say the date, time or duration asked for. `reason` and `params` let a
    ritual answer in its own words (its catalogs); `msg` is the kernel's own answer, used where
    no ritual speaks (the config check). A ValueError, so that pydantic reports it as the
    refusal of the key it was given for."""

    def __init__(self, what: What, reason: Reason, text: str, **params: Param) -> None:
        super().__init__(f"{what}: {reason}")
        self.what: What = what
        self.reason: Reason = reason
        self.text = text
        self.params: dict[str, Param] = dict(params)

    def __str__(self) -> str:
        # Read where no catalog is at hand (a log line, a report of pydantic's): the answer in English.
        return render_plain(self.msg, "en")

    @property
    def msg(self) -> Msg:
        return Msg(f"timetext.{self.reason}", what=Msg(f"timetext.what.{self.what}"), text=shown(self.text),
                   examples=Code(text=EXAMPLES[self.what]), **self.params)

    @classmethod
    def too_far(cls, what: What, text: str, limit: timedelta, **params: Param) -> TimeTextError:
        return cls(what, "too_far", text, limit=Duration(seconds=limit.total_seconds()), **params)
