"""Consent deadlines: the kernel's reader of dates (bot.kernel.timetext), answered in the consent round's words."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.kernel.i18n import Code, Msg
from bot.kernel.inputs import WHEN, shown
from bot.kernel.timetext import DEFAULT_TIME, TimeTextError
from bot.kernel.timetext import parse_deadline as read_deadline

__all__ = ["DEFAULT_TIME", "MAX_AHEAD", "DeadlineError", "deadline_refusal", "parse_deadline"]

MAX_AHEAD = timedelta(days=366)
"""How far ahead a deadline may be, by default: further is taken for a mistake."""


class DeadlineError(ValueError):
    """A deadline that cannot be used; `msg` is the reply to the member, in the catalogs."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.key)
        self.msg = msg


def _examples() -> Code:
    return Code(text="vendredi 18h · demain midi · dans 3 jours · 2026-12-04T18:00")


def deadline_refusal(exc: TimeTextError, text: str) -> Msg:
    """The answer to a deadline the kernel refused: the consent round's own sentences, or the
    ones every typed number gets (a digit other than 0 to 9, a number past any calendar)."""
    if exc.reason == "foreign_digit":
        return Msg("core.input.foreign_digit", what=Msg(WHEN.label_key), char=exc.params["char"], value=shown(text))
    if exc.reason == "too_far" and "when" not in exc.params:
        # "dans 99999999999 jours": so far ahead that no instant can say it.
        return Msg("core.input.too_far", what=Msg(WHEN.label_key), value=shown(text), limit=exc.params["limit"])
    reason = exc.reason if exc.reason not in ("no_time", "no_date") else "unparseable"
    return Msg(f"consent.deadline.{reason}", text=text.strip(), examples=_examples(), **exc.params)


def parse_deadline(
    text: str,
    now: datetime,
    tz: ZoneInfo | str,
    default_time: time = DEFAULT_TIME,
    max_ahead: timedelta | None = MAX_AHEAD,
) -> datetime:
    """The instant a member means by `text` (see bot.kernel.timetext.parse_deadline), at most
    `max_ahead` after `now` (None: no limit). Raises DeadlineError with the reply to show:
    "unparseable", "no_such_day"/"no_such_month", "past", "too_far"; ValueError if `now` is
    naive."""
    try:
        return read_deadline(text, now, tz, default_time, max_ahead)
    except TimeTextError as exc:
        raise DeadlineError(deadline_refusal(exc, text)) from None
