"""A configured ritual's schedule keys, `rrule` and `time`, validated once for every kind."""

from __future__ import annotations

from pydantic import BaseModel, field_validator

from bot.kernel.recurrence import Recurrence, RecurrenceError


class Schedule(BaseModel):
    """`rrule` (an RFC 5545 rule body) and `time` (local time of day): a kind's config model
    inherits them and redeclares the two fields to give its own defaults; the validators
    still apply, so a wrong rule or time is refused with the same message everywhere."""

    rrule: str = "FREQ=WEEKLY"
    time: str = "10:00"

    @field_validator("rrule")
    @classmethod
    def _rule(cls, v: str) -> str:
        try:
            Recurrence.parse(v, "12:00", "UTC")
        except RecurrenceError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        try:
            Recurrence.parse("FREQ=DAILY", v, "UTC")
        except RecurrenceError as exc:
            raise ValueError(str(exc)) from None
        return v

    def recurrence(self, tz: str) -> Recurrence:
        """The schedule in the network's time zone (an IANA name)."""
        return Recurrence.parse(self.rrule, self.time, tz)
