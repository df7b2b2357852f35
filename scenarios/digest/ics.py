"""The weekly digest's slot as an iCalendar event, so a subscribed calendar shows when it comes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from bot.kernel.i18n import Msg, Renderer
from bot.kernel.ics import finished
from scenarios.digest.config import load_config

PRODID = "-//Maillage//Digest//FR"
# A digest is read, not attended: a short slot, shown free, only to say when it comes.
SLOT = timedelta(minutes=15)


def build_calendar(config: Mapping[str, Any], *, network: str, timezone: str, locale: str, now: datetime,
                   domain: str = "maillage.invalid") -> bytes | None:
    """One recurring event at the digest's time (RRULE in the network's zone), transparent
    (it takes no time from anyone's agenda). Its first occurrence is the first one of the
    current year, so the event does not change every week for calendar applications that
    poll it; None when the rule has no occurrence left."""
    tz = ZoneInfo(timezone)
    cfg, _ = load_config(config)
    rec = cfg.recurrence(timezone)
    year_start = datetime(now.astimezone(tz).year, 1, 1, tzinfo=tz)
    first = rec.after(year_start, inclusive=True)
    if first is None:
        return None
    anchor = first.astimezone(tz)
    render = Renderer(locale, tz, now=now)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", render(Msg("digest.ics.calendar", network=network)))
    cal.add("x-wr-timezone", timezone)
    event = Event()
    event.add("uid", f"digest@{domain}")
    event.add("dtstamp", now)
    event.add("summary", render(Msg("digest.ics.summary")))
    event.add("description", render(Msg("digest.ics.description")))
    event.add("dtstart", anchor)
    event.add("dtend", anchor + SLOT)
    event.add("transp", "TRANSPARENT")
    event.add("rrule", vRecur.from_ical(cfg.rrule.removeprefix("RRULE:")))
    cal.add_component(event)
    return finished(cal, now)
