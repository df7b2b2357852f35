"""A date poll's slots and deadline, read with the kernel's time readers, refused in the poll's words."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.kernel.i18n import Msg, When
from bot.kernel.inputs import CommandError, shown
from bot.kernel.timetext import TimeTextError, parse_appointment, parse_deadline
from scenarios.datepoll.commands import MAX_SLOTS
from scenarios.datepoll.config import DatePollConfig
from scenarios.datepoll.state import Slot


def read_slot(n: int, text: str, now: datetime, tz: ZoneInfo, locale: str, cfg: DatePollConfig) -> Slot:
    """One slot typed by the animateur ("mar 12/01 18h", "2027-01-12T18:00", "jeu 14/01 12h30
    au local"): a future date and time, a place if one follows. A weekday that is not the
    date's ("mer 12/01" when the 12th is a Tuesday) is refused: one of the two is a typo."""
    try:
        found = parse_appointment(text, now, tz, locale, max_ahead=cfg.max_ahead)
    except TimeTextError as exc:
        if exc.reason == "wrong_weekday":
            raise CommandError(Msg("datepoll.start.wrong_weekday", n=n, text=shown(text), day=exc.params["day"])) from None
        raise CommandError(Msg("datepoll.start.bad_slot", n=n, problem=exc.msg)) from None
    return Slot(start=found.start, place=found.place, link=found.link)


def read_slots(texts: Sequence[str], now: datetime, tz: ZoneInfo, locale: str, cfg: DatePollConfig) -> list[Slot]:
    """The slots in time order; two to MAX_SLOTS of them, none twice."""
    if len(texts) < 2:
        raise CommandError(Msg("datepoll.start.too_few"))
    if len(texts) > MAX_SLOTS:
        raise CommandError(Msg("datepoll.start.too_many", count=len(texts), most=MAX_SLOTS))
    slots = [read_slot(n, t, now, tz, locale, cfg) for n, t in enumerate(texts, start=1)]
    seen: set[datetime] = set()
    for slot in slots:
        if slot.start in seen:
            raise CommandError(Msg("datepoll.start.duplicate", slot=When(at=slot.start, style="short")))
        seen.add(slot.start)
    return sorted(slots, key=lambda s: s.start)


def read_deadline(text: str | None, first: Slot, now: datetime, tz: ZoneInfo, cfg: DatePollConfig) -> datetime:
    """When the poll closes: the deadline typed (`jusqu'à vendredi`), else `close_before` the
    first slot; never after the first slot, never already past."""
    if text:
        try:
            deadline = parse_deadline(text, now, tz, cfg.default_time, cfg.max_ahead)
        except TimeTextError as exc:
            raise CommandError(Msg("datepoll.start.bad_deadline", problem=exc.msg)) from None
    else:
        deadline = first.start - cfg.close_before
        if deadline <= now:
            raise CommandError(Msg("datepoll.start.no_time", first=When(at=first.start, style="short")))
    if deadline > first.start:
        raise CommandError(Msg("datepoll.start.deadline_after", deadline=When(at=deadline, style="short"),
                               first=When(at=first.start, style="short")))
    return deadline
