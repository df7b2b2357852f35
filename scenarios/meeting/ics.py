"""The network's meetings as an iCalendar (.ics) file, for members' calendar applications."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from bot.kernel.i18n import Lines, Link, Msg, Param, Renderer
from bot.kernel.ics import finished
from scenarios.meeting.config import Lead, load_config
from scenarios.meeting.state import MeetingsState, Occurrence

PRODID = "-//Maillage//Meetings//FR"


def _uid(name: str, domain: str) -> str:
    return f"{name}@{domain}"


def _description(o: Occurrence, render: Renderer) -> str | None:
    parts: list[str] = []
    if o.agenda:
        items: list[Param] = [Msg("meeting.ics.agenda_item", n=i, text=a.text)
                              for i, a in enumerate(o.agenda, start=1)]
        parts.append(render(Msg("meeting.ics.agenda", items=Lines(items=items))))
    if o.minutes:
        parts.append(render(Msg("meeting.ics.minutes", link=Link(url=o.minutes))))
    return "\n\n".join(parts) or None


def _fill(event: Event, title: str, start: datetime, end: datetime, place: str | None,
          link: str | None, tz: ZoneInfo) -> None:
    event.add("summary", title)
    event.add("dtstart", start.astimezone(tz))
    event.add("dtend", end.astimezone(tz))
    if place:
        event.add("location", place)
    if link:
        event.add("url", link)


def build_calendar(
    config: Mapping[str, Any],
    state: MeetingsState | None,
    *,
    network: str,
    timezone: str,
    locale: str = "fr",
    now: datetime,
    domain: str = "maillage.invalid",
) -> bytes:
    """The calendar of a network's meetings: each configured series as one recurring event
    (RRULE in the network's zone, so it stays at 18:00 across DST), its materialised
    occurrences that carry an agenda or minutes as overrides (RECURRENCE-ID), cancelled
    ones as EXDATE, and every one-off. Pure: `now` stamps the file (DTSTAMP); the same
    inputs give the same bytes. `domain` ends the UIDs (the network's host name)."""
    tz = ZoneInfo(timezone)
    render = Renderer(locale, tz, now=now)
    cfg, _ = load_config(config)
    occurrences = list(state.occurrences) if state else []
    started = state.started_at if state and state.started_at else now

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", render(Msg("meeting.ics.calendar", network=network)))
    cal.add("x-wr-timezone", timezone)

    for series in cfg.all_series():
        rec = series.recurrence(timezone)
        mine = sorted((o for o in occurrences if o.series == series.id and not o.one_off),
                      key=lambda o: o.start)
        # DTSTART must be an occurrence: the first one since the series or the bot started.
        anchor = mine[0].start if mine else rec.after(started)
        if anchor is None:
            continue
        duration = Lead.parse(series.duration)
        master = Event()
        master.add("uid", _uid(f"series-{series.id}", domain))
        master.add("dtstamp", now)
        _fill(master, series.title, anchor, duration.after(anchor, tz), series.place, series.link, tz)
        master.add("rrule", vRecur.from_ical(series.rrule.removeprefix("RRULE:")))
        cancelled = [o.start.astimezone(tz) for o in mine if o.status == "cancelled"]
        if cancelled:
            master.add("exdate", cancelled)
        cal.add_component(master)
        for o in mine:
            desc = _description(o, render)
            if o.status == "cancelled" or desc is None:
                continue
            override = Event()
            override.add("uid", _uid(f"series-{series.id}", domain))
            override.add("dtstamp", now)
            override.add("recurrence-id", o.start.astimezone(tz))
            _fill(override, o.title, o.start, o.end, o.place, o.link, tz)
            override.add("description", desc)
            cal.add_component(override)

    for o in occurrences:
        if not o.one_off:
            continue
        event = Event()
        event.add("uid", _uid(o.key, domain))
        event.add("dtstamp", now)
        _fill(event, o.title, o.start, o.end, o.place, o.link, tz)
        if o.status == "cancelled":
            event.add("status", "CANCELLED")
        desc = _description(o, render)
        if desc:
            event.add("description", desc)
        cal.add_component(event)

    return finished(cal, now)
