"""The .ics export and `maillage schedule`'s view of meetings."""

from __future__ import annotations

from datetime import datetime

from dateutil.rrule import rrulestr
from icalendar import Calendar

from bot.kernel.i18n import Msg, has_key, render_plain
from bot.kernel.model import Started
from scenarios.meeting import KIND
from scenarios.meeting.ics import build_calendar
from tests.spaces import spaces
from tests.unit.test_meeting_support import ALICE, BOB, TZ, Sim, command, context, paris

CONFIG = {
    "channels": ["general"],
    "series": [{"id": "comite", "title": "Comité", "rrule": "FREQ=MONTHLY;BYDAY=-1TU", "time": "18:00",
                "place": "Maison des associations"}],
}


def calendar_after_a_month() -> tuple[Sim, bytes]:
    sim = Sim(KIND, context(CONFIG), paris(2026, 3, 1, 9, 0))
    sim.send(Started())
    sim.send(command(BOB, "ordre-du-jour", text="Budget 2027; vote, \"urgent\""))
    sim.send(command(ALICE, "reunion", title="AG extraordinaire",
                     text="le 15 avril à 18h30 en visio https://visio.example.org/ag"))
    ics = build_calendar(CONFIG, sim.state, network="Tiers-Lieux du Val",  # type: ignore[arg-type]
                         timezone="Europe/Paris", now=paris(2026, 3, 2, 12, 0), domain="tiers-lieux.example")
    return sim, ics


def test_the_calendar_has_the_series_its_agenda_and_the_one_off() -> None:
    _, ics = calendar_after_a_month()
    cal = Calendar.from_ical(ics)
    assert str(cal["x-wr-calname"]) == "Réunions — Tiers-Lieux du Val"
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    events = cal.walk("VEVENT")
    by_kind = {("override" if "recurrence-id" in e else "rrule" if "rrule" in e else "single"): e for e in events}
    assert len(events) == 3

    series = by_kind["rrule"]
    assert series["uid"] == "series-comite@tiers-lieux.example"
    assert series.decoded("dtstart") == paris(2026, 3, 31, 18, 0)
    assert series["dtstart"].params["TZID"] == "Europe/Paris"
    assert str(series["location"]) == "Maison des associations"

    override = by_kind["override"]
    assert override["uid"] == series["uid"]
    assert override.decoded("recurrence-id") == paris(2026, 3, 31, 18, 0)
    assert str(override["description"]) == 'Ordre du jour\u00a0:\n1. Budget 2027; vote, "urgent"'

    single = by_kind["single"]
    assert str(single["summary"]) == "AG extraordinaire"
    assert single.decoded("dtstart") == paris(2026, 4, 15, 18, 30)
    assert str(single["url"]) == "https://visio.example.org/ag"


def test_the_recurring_event_stays_at_18h_local_across_dst_in_calendar_apps() -> None:
    _, ics = calendar_after_a_month()
    series = next(e for e in Calendar.from_ical(ics).walk("VEVENT") if "rrule" in e)
    start: datetime = series.decoded("dtstart")
    # What a calendar application does: expand the RRULE from DTSTART in its zone.
    rule = rrulestr(series["rrule"].to_ical().decode(), dtstart=start.replace(tzinfo=None))
    local = [d.replace(tzinfo=TZ) for d in rule[:8]]
    assert all(d.hour == 18 and d.minute == 0 for d in local)
    assert {d.utcoffset().total_seconds() / 3600 for d in local} == {1.0, 2.0}  # type: ignore[union-attr]


def test_the_calendar_is_deterministic_and_escapes_text() -> None:
    _, first = calendar_after_a_month()
    _, second = calendar_after_a_month()
    assert first == second
    assert b"DTSTAMP:20260302T110000Z" in first
    # Commas, semicolons and quotes in member text are escaped, never a broken line.
    assert b"Budget 2027\\; vote\\, \"urgent\"" in first


def test_a_config_alone_gives_a_calendar() -> None:
    ics = build_calendar(CONFIG, None, network="Réseau", timezone="Europe/Paris", now=paris(2026, 3, 2, 12, 0))
    events = Calendar.from_ical(ics).walk("VEVENT")
    assert [e.decoded("dtstart") for e in events] == [paris(2026, 3, 31, 18, 0)]


def test_schedule_lists_reminders_meetings_and_attendance_in_local_time() -> None:
    config = {**CONFIG, "personal_leads": []}
    got = KIND.upcoming(config, TZ, paris(2026, 3, 20, 0, 0), 6)
    assert [(at.strftime("%d/%m %H:%M %z"), what) for at, what in got] == [
        ("24/03 18:00 +0100", "meeting.schedule.reminder"),
        ("30/03 18:00 +0200", "meeting.schedule.reminder"),
        ("31/03 17:00 +0200", "meeting.schedule.reminder"),
        ("31/03 18:00 +0200", "meeting.schedule.meeting"),
        ("31/03 20:00 +0200", "meeting.schedule.attendance"),
        ("21/04 18:00 +0200", "meeting.schedule.reminder"),
    ]
    # `maillage schedule` renders each as Msg(what), in either language.
    assert all(has_key(what, "fr") and has_key(what, "en") for _, what in got)
    assert render_plain(Msg(got[3][1])) == "réunion"
    assert render_plain(Msg(got[0][1]), "en") == "reminder in the channel"
    detailed = KIND.schedule(config, TZ, paris(2026, 3, 20, 0, 0), 1)
    assert spaces(render_plain(detailed[0][1])) == "rappel de « Comité » (mardi 31 mars 2026 à 18 h)"
