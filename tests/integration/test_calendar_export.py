"""The network's calendar holds every meeting ritual and every one-off meeting; the bot's messages
show the year of a date in another year (engine → outbox → adapter rendering)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from icalendar import Calendar

from bot.engine.calendar import merge_calendars, network_calendar
from tests.harness import BASE_CONFIG, Harness

CONFIG = BASE_CONFIG + """
[[rituals]]
id = "comite"
kind = "meeting"
channels = ["general"]
title = "Comité de pilotage"
rrule = "FREQ=MONTHLY;BYDAY=2TU"
time = "18:00"
place = "Maison des associations"

[[rituals]]
id = "plenieres"
kind = "meeting"
channels = ["general"]
title = "Plénière"
rrule = "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=20"
time = "10:00"
"""


async def test_two_meeting_rituals_and_a_one_off_are_all_in_the_calendar(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, sqlite_url, datetime(2026, 12, 20, 9, 0, tzinfo=UTC), tmp_path) as h:
        assert h.store is not None
        out = await h.say('alice: !reseau reunion "AG extraordinaire" le 15 janvier 2027 à 18h30 en visio')
        assert out and "AG extraordinaire" in out[-1].text
        ics = await network_calendar(h.store, h.config, h.kinds, h.clock.now())
    assert ics is not None
    events = Calendar.from_ical(ics).walk("VEVENT")
    by_summary = {str(e["summary"]): e for e in events}
    assert set(by_summary) == {"Comité de pilotage", "Plénière", "AG extraordinaire"}
    assert "rrule" in by_summary["Comité de pilotage"] and "rrule" in by_summary["Plénière"]
    assert by_summary["AG extraordinaire"].decoded("dtstart").astimezone(UTC) == datetime(2027, 1, 15, 17, 30, tzinfo=UTC)
    # Both rituals call their series "main": the second one's UID is made its own.
    uids = {str(e["summary"]): str(e["uid"]) for e in events}
    assert uids == {"Comité de pilotage": "series-main@maillage.invalid",
                    "Plénière": "plenieres.series-main@maillage.invalid",
                    "AG extraordinaire": "once-1@maillage.invalid"}
    assert [tz["tzid"] for tz in Calendar.from_ical(ics).walk("VTIMEZONE")] == ["Europe/Paris"]


def test_merging_keeps_a_lone_calendar_as_it_is_and_overrides_with_their_series() -> None:
    one = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//FR\r\nBEGIN:VEVENT\r\nUID:series-main@x\r\n"
           b"DTSTART:20270112T170000Z\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:A\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    two = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//FR\r\nBEGIN:VEVENT\r\nUID:series-main@x\r\n"
           b"DTSTART:20270113T170000Z\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:B\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\n"
           b"UID:series-main@x\r\nRECURRENCE-ID:20270120T170000Z\r\nDTSTART:20270120T170000Z\r\n"
           b"SUMMARY:B (ordre du jour)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    assert merge_calendars([]) is None
    assert merge_calendars([("a", one)]) == one
    merged = merge_calendars([("a", one), ("b", two)])
    assert merged is not None
    uids = {str(e["summary"]): str(e["uid"]) for e in Calendar.from_ical(merged).walk("VEVENT")}
    assert uids == {"A": "series-main@x", "B": "b.series-main@x", "B (ordre du jour)": "b.series-main@x"}


async def test_a_date_of_next_year_is_shown_with_its_year(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(CONFIG, sqlite_url, datetime(2026, 12, 20, 9, 0, tzinfo=UTC), tmp_path) as h:
        await h.say("bob: !reseau ordre-du-jour Budget")
        out = await h.say("bob: !reseau ordre-du-jour")
        text = "\n".join(s.text for s in out).replace("\u00a0", " ").replace("\u202f", " ")
        # The next meeting is in 2027: its agenda cut-off, a short date ("sam. 19 juin à 10 h"
        # within the year), says 2027 when read in December 2026.
        assert re.search(r"\b(lun|mar|mer|jeu|ven|sam|dim)\. \d+(er)? [a-zéû]+\.? 2027 à \d+ h", text), text
