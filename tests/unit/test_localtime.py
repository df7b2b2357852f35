"""Local time on the nights the clocks change: placing wall times, day leads on the calendar,
hour leads in elapsed time — for meetings, consent reminders and recurrences alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.kernel.localtime import (
    at,
    elapsed,
    is_ambiguous,
    is_imaginary,
    localize,
    shift,
    shift_days,
    split_lead,
)
from bot.kernel.model import SetTimer, Started
from bot.kernel.recurrence import Recurrence
from scenarios.meeting import KIND as MEETING
from scenarios.meeting.config import Lead
from tests.unit.test_meeting_support import ALICE, Sim, command, context, mref

PARIS = ZoneInfo("Europe/Paris")
SYDNEY = ZoneInfo("Australia/Sydney")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # a 30-minute change
HOUR = Lead.parse("1h")
DAY = Lead.parse("1d")
WEEK = Lead.parse("7d")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type,misc]


def wall(instant: datetime, zone: ZoneInfo) -> tuple[int, int, int, int, int]:
    local = instant.astimezone(zone)
    return local.year, local.month, local.day, local.hour, local.minute


# --- placing a wall time ------------------------------------------------------------------


@pytest.mark.parametrize(("zone", "naive", "expected_utc"), [
    # Paris, spring 2027: 02:00 → 03:00 on Sunday 28 March; 02:30 does not exist.
    (PARIS, datetime(2027, 3, 28, 2, 30), utc(2027, 3, 28, 1, 30)),  # = 03:30 CEST
    # Paris, autumn 2027: 03:00 → 02:00 on Sunday 31 October; 02:30 happens twice.
    (PARIS, datetime(2027, 10, 31, 2, 30), utc(2027, 10, 31, 0, 30)),  # the first, CEST
    # Sydney, spring (October) 2027: 02:00 → 03:00 on Sunday 3 October.
    (SYDNEY, datetime(2027, 10, 3, 2, 30), utc(2027, 10, 2, 16, 30)),  # = 03:30 AEDT
    # Sydney, autumn (April) 2027: 03:00 → 02:00 on Sunday 4 April.
    (SYDNEY, datetime(2027, 4, 4, 2, 30), utc(2027, 4, 3, 15, 30)),  # the first, AEDT
    # Lord Howe: 02:00 → 02:30; 02:15 moves forward by the 30-minute gap, not an hour.
    (LORD_HOWE, datetime(2027, 10, 3, 2, 15), utc(2027, 10, 2, 15, 45)),  # = 02:45 +11:00
])
def test_a_wall_time_is_placed_the_same_way_everywhere(zone: ZoneInfo, naive: datetime,
                                                       expected_utc: datetime) -> None:
    assert localize(naive, zone) == expected_utc
    assert at(naive.date(), naive.time(), zone) == expected_utc
    # The hand-written fix-ups this replaces moved every skipped time by a whole hour.
    assert localize(naive, zone).utcoffset() == localize(naive, zone).astimezone(zone).utcoffset()


def test_the_second_occurrence_of_a_repeated_time_can_be_asked_for() -> None:
    naive = datetime(2027, 10, 31, 2, 30)
    assert is_ambiguous(naive, PARIS) and not is_imaginary(naive, PARIS)
    assert localize(naive, PARIS, ambiguous="second") == utc(2027, 10, 31, 1, 30)
    skipped = datetime(2027, 3, 28, 2, 30)
    assert is_imaginary(skipped, PARIS) and not is_ambiguous(skipped, PARIS)


# --- hour leads: elapsed time -------------------------------------------------------------


def test_one_hour_before_a_0330_meeting_on_the_spring_night_is_0130_local() -> None:
    meeting = localize(datetime(2027, 3, 28, 3, 30), PARIS)
    due = HOUR.before(meeting, PARIS)
    assert wall(due, PARIS) == (2027, 3, 28, 1, 30)
    assert meeting - due == timedelta(hours=1)  # not 02:30 "local", which fires at 03:30


def test_one_hour_before_a_0330_meeting_on_the_autumn_night_is_one_real_hour() -> None:
    meeting = localize(datetime(2027, 10, 31, 3, 30), PARIS)
    due = HOUR.before(meeting, PARIS)
    assert meeting - due == timedelta(hours=1)  # not two hours early
    local = due.astimezone(PARIS)
    assert (local.hour, local.minute, local.fold) == (2, 30, 1)  # the second 02:30 (CET)


@pytest.mark.parametrize(("zone", "meeting_wall"), [
    (SYDNEY, datetime(2027, 10, 3, 3, 30)),  # southern spring
    (SYDNEY, datetime(2027, 4, 4, 3, 30)),  # southern autumn
    (LORD_HOWE, datetime(2027, 10, 3, 3, 0)),
    (LORD_HOWE, datetime(2027, 4, 4, 2, 45)),
])
def test_hour_leads_are_elapsed_time_in_the_southern_hemisphere_too(zone: ZoneInfo, meeting_wall: datetime) -> None:
    meeting = localize(meeting_wall, zone)
    assert meeting - HOUR.before(meeting, zone) == timedelta(hours=1)
    assert Lead.parse("2h").after(meeting, zone) - meeting == timedelta(hours=2)


# --- day leads: the calendar --------------------------------------------------------------


@pytest.mark.parametrize(("zone", "meeting_wall"), [
    (PARIS, datetime(2027, 3, 30, 18, 0)),  # Tuesday after the spring change
    (PARIS, datetime(2027, 11, 2, 18, 0)),  # Tuesday after the autumn change
    (SYDNEY, datetime(2027, 10, 5, 18, 0)),
    (SYDNEY, datetime(2027, 4, 6, 18, 0)),
])
def test_day_leads_keep_the_local_time_of_day_across_the_change(zone: ZoneInfo, meeting_wall: datetime) -> None:
    meeting = localize(meeting_wall, zone)
    week_before = WEEK.before(meeting, zone).astimezone(zone)
    day_before = DAY.before(meeting, zone).astimezone(zone)
    assert (week_before.date(), week_before.hour, week_before.minute) == (meeting_wall.date() - timedelta(days=7), 18, 0)
    assert (day_before.date(), day_before.hour) == (meeting_wall.date() - timedelta(days=1), 18)
    # …which is not 7 × 24 hours: one of them was 23 or 25 hours long.
    assert meeting - WEEK.before(meeting, zone) != timedelta(days=7)


def test_a_day_lead_landing_in_the_gap_moves_forward_by_the_gap() -> None:
    # A meeting at 02:30 on Sunday 4 April 2027 (a normal night): a week before is the spring
    # night, when 02:30 does not exist in Paris.
    meeting = localize(datetime(2027, 4, 4, 2, 30), PARIS)
    assert wall(WEEK.before(meeting, PARIS), PARIS) == (2027, 3, 28, 3, 30)


def test_mixed_leads_count_days_on_the_calendar_then_hours_elapsed() -> None:
    meeting = localize(datetime(2027, 3, 29, 3, 30), PARIS)  # Monday after the change
    due = Lead.parse("1d1h").before(meeting, PARIS)
    # The day before at 03:30 (Sunday, just after the gap), then one real hour: 01:30.
    assert wall(due, PARIS) == (2027, 3, 28, 1, 30)


@settings(max_examples=300, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)),
    zone=st.sampled_from([PARIS, SYDNEY, LORD_HOWE, ZoneInfo("America/Santiago"), ZoneInfo("America/New_York")]),
    days=st.integers(0, 30),
    minutes=st.integers(0, 48 * 60),
)
def test_leads_are_calendar_days_then_elapsed_minutes(instant: datetime, zone: ZoneInfo, days: int,
                                                      minutes: int) -> None:
    lead = Lead(days=days, seconds=minutes * 60)
    due = lead.before(instant, zone)
    day_part = shift_days(instant, -days, zone)
    # The elapsed part is exact, whatever the zone does that night.
    assert day_part - due == timedelta(minutes=minutes)
    # The calendar part keeps the wall time when it exists (else moves forward by the gap).
    local, moved = instant.astimezone(zone), day_part.astimezone(zone)
    assert moved.date() == local.date() - timedelta(days=days) or is_imaginary(
        local.replace(tzinfo=None) - timedelta(days=days), zone)
    if not is_imaginary(local.replace(tzinfo=None) - timedelta(days=days), zone):
        assert (moved.hour, moved.minute, moved.second) == (local.hour, local.minute, local.second)
    # And going back then forth by the same lead lands where it started, for elapsed time.
    assert Lead(seconds=minutes * 60).after(Lead(seconds=minutes * 60).before(instant, zone), zone) == instant


def test_split_lead_and_elapsed() -> None:
    assert split_lead(timedelta(days=1)) == (1, 0)
    assert split_lead(timedelta(hours=36)) == (1, 12 * 3600)
    assert split_lead(timedelta(hours=2)) == (0, 7200)
    assert split_lead(timedelta(hours=-1)) == (0, -3600)
    start = localize(datetime(2027, 3, 28, 1, 30), PARIS)
    assert wall(elapsed(start, timedelta(hours=1)), PARIS) == (2027, 3, 28, 3, 30)
    assert wall(shift(start, PARIS, days=1, seconds=3600), PARIS) == (2027, 3, 29, 2, 30)


# --- the places that schedule -------------------------------------------------------------


def test_a_meeting_at_0330_on_the_spring_night_is_reminded_at_0130() -> None:
    config = {"channels": ["general"], "leads": ["7d", "1d", "1h"], "personal_leads": ["1h"]}
    sim = Sim(MEETING, context(config), localize(datetime(2027, 3, 1, 9, 0), PARIS))
    sim.send(Started())
    sim.send(command(ALICE, "reunion", title="Nuit des étoiles", text="le 28 mars 2027 à 3h30 à l'observatoire"))
    timers = {(name.role, name.n): due for name, due in sim.timers.items() if name.key == "once-1"}
    assert wall(timers["r", 2], PARIS) == (2027, 3, 28, 1, 30)  # 1h before: 01:30, not 02:30
    assert wall(timers["p", 0], PARIS) == (2027, 3, 28, 1, 30)
    assert wall(timers["r", 1], PARIS) == (2027, 3, 27, 3, 30)  # 1 day before: same wall time
    assert wall(timers["r", 0], PARIS) == (2027, 3, 21, 3, 30)  # 7 days before
    # It fires then, one real hour before the meeting, and posts the reminder.
    sim.run_until(timers["r", 2])
    assert mref("once-1", "r", 2) not in sim.timers and sim.now == timers["r", 2]
    assert mref("once-1", "r", 2) in sim.state.occurrences[0].reminders_sent  # type: ignore[union-attr]


def test_a_meeting_at_0330_on_the_autumn_night_is_reminded_one_hour_before() -> None:
    config = {"channels": ["general"], "leads": ["1h"], "personal_leads": []}
    sim = Sim(MEETING, context(config), localize(datetime(2027, 10, 1, 9, 0), PARIS))
    sim.send(Started())
    sim.send(command(ALICE, "reunion", title="Veillée", text="le 31 octobre 2027 à 3h30"))
    start = localize(datetime(2027, 10, 31, 3, 30), PARIS)
    assert start - sim.timers[mref("once-1", "r", 0)] == timedelta(hours=1)


def test_consent_reminders_are_a_calendar_day_and_two_real_hours_before_the_deadline() -> None:
    from scenarios.consent.config import ConsentConfig
    from scenarios.consent.round import RoundMachine
    from tests.unit.test_consent_support import ANIM, one_channel

    ctx, _ = one_channel()
    machine = RoundMachine(ctx, ConsentConfig(reminders=[timedelta(days=1), timedelta(hours=2)]))
    now = localize(datetime(2027, 3, 26, 9, 0), PARIS)
    deadline = localize(datetime(2027, 3, 28, 3, 30), PARIS)
    later = localize(datetime(2027, 3, 27, 12, 0), PARIS)  # the day before has passed
    for stored in (deadline, deadline.astimezone(UTC)):  # as parsed, and as reloaded
        # One reminder per version: at the earliest lead still ahead when the round opens.
        due: dict[int | None, datetime] = {}
        for opened in (now, later):
            state = machine.new_state(title="Budget", author=ANIM, channels=["general"], deadline=stored, now=opened)
            _, actions = machine.open(state, opened)
            (timer,) = [a for a in actions if isinstance(a, SetTimer) and a.name.role == "remind"]
            due[timer.name.n] = timer.due_at
        assert wall(due[0], PARIS) == (2027, 3, 27, 3, 30)  # the day before, same wall time
        assert deadline - due[1] == timedelta(hours=2)  # 00:30 local, two real hours


def test_recurrences_stay_at_the_local_time_and_skip_the_gap_by_its_size() -> None:
    weekly = Recurrence.parse("FREQ=WEEKLY;BYDAY=TU", "18:00", "Europe/Paris")
    for occurrence in weekly.occurrences(localize(datetime(2027, 3, 1), PARIS), 10):
        assert occurrence.astimezone(PARIS).time() == time(18, 0)
    howe = Recurrence.parse("FREQ=DAILY", "02:15", "Australia/Lord_Howe", start=date(2027, 9, 1))
    on_the_night = howe.after(localize(datetime(2027, 10, 2, 12, 0), LORD_HOWE))
    assert on_the_night is not None and wall(on_the_night, LORD_HOWE) == (2027, 10, 3, 2, 45)


def test_instants_of_the_repeated_hour_compare_as_instants() -> None:
    # A ZoneInfo datetime of the repeated autumn hour is equal to nothing in another zone
    # (PEP 495) and adds timedeltas on the wall clock: every computed instant has a fixed offset.
    from scenarios.consent.deadline import parse_deadline

    first = localize(datetime(2027, 10, 31, 2, 30), PARIS)
    assert first == utc(2027, 10, 31, 0, 30) and first.utcoffset() == timedelta(hours=2)
    later = HOUR.after(first, PARIS)
    assert later == utc(2027, 10, 31, 1, 30) and later > first
    assert wall(later, PARIS) == (2027, 10, 31, 2, 30)  # the same wall time, an hour later
    deadline = parse_deadline("31 octobre 2027 2h30", localize(datetime(2027, 10, 1, 9, 0), PARIS), PARIS)
    assert deadline == first and deadline + timedelta(hours=1) == later
