"""Meeting dates ("le 12 décembre à 18h à la Maison des associations"): the kernel's appointment reader, answered in the meeting's words."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.kernel.i18n import Msg, Param
from bot.kernel.inputs import shown
from bot.kernel.timetext import Appointment, TimeTextError, parse_appointment

__all__ = ["When", "WhenError", "parse_when"]

When = Appointment
"""When and where a one-off meeting is: `start`, `place`, `link`."""


class WhenError(ValueError):
    """The text does not say a future date and time; `reason` names the refusal (a key of
    `meeting.when.*`, or of the answers every typed number gets), `params` its parameters."""

    def __init__(self, reason: str, params: dict[str, Param] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params: dict[str, Param] = dict(params or {})

    def msg(self, text: str) -> Msg:
        """The answer to the member who typed `text`."""
        if self.reason == "foreign_digit":
            return Msg("core.input.foreign_digit", what=Msg("core.input.when"), char=self.params["char"],
                       value=shown(text))
        if self.reason == "too_far":
            # A meeting is planned at most a year ahead, like a deadline: its end, reminders
            # and calendar entry must all exist on the calendar, and a later one is a typo.
            return Msg("core.input.too_far", what=Msg("core.input.when"), value=shown(text),
                       limit=self.params["limit"])
        reason = self.reason if self.reason != "unparseable" else "no_date"
        return Msg(f"meeting.when.{reason}", text=text, **self.params)


def parse_when(text: str, now: datetime, tz: ZoneInfo, locale: str = "fr",
               max_ahead: timedelta | None = None) -> When:
    """Date and time relative to `now` in the network's zone, then the place (whatever follows
    the date) and a video link (any URL); see bot.kernel.timetext.parse_appointment. Raises
    WhenError, and nothing else."""
    try:
        return parse_appointment(text, now, tz, locale, max_ahead)
    except TimeTextError as exc:
        raise WhenError(exc.reason, exc.params) from None
