"""RRULEs in the network's zone: 18:00 stays 18:00 across daylight-saving changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.kernel.recurrence import Recurrence, RecurrenceError

PARIS = ZoneInfo("Europe/Paris")


def test_second_tuesday_at_18h_across_both_dst_changes() -> None:
    rec = Recurrence.parse("FREQ=MONTHLY;BYDAY=2TU", "18:00", "Europe/Paris")
    got = list(rec.occurrences(datetime(2026, 1, 1, tzinfo=PARIS), 12))
    assert all(o.astimezone(PARIS).hour == 18 for o in got)
    assert {o.utcoffset() for o in got} == {timedelta(hours=1), timedelta(hours=2)}
    assert [o.day for o in got[:3]] == [13, 10, 10]


def test_time_skipped_by_spring_change_moves_forward() -> None:
    rec = Recurrence.parse("FREQ=DAILY", "02:30", "Europe/Paris")
    nxt = rec.after(datetime(2026, 3, 28, 12, 0, tzinfo=PARIS))
    assert nxt is not None and nxt.astimezone(PARIS).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 30)


@pytest.mark.parametrize(("rule", "at", "tz"), [
    ("FREQ=SOMETIMES", "18:00", "Europe/Paris"),
    ("FREQ=WEEKLY;BYDAY=XX", "18:00", "Europe/Paris"),
    ("FREQ=HOURLY", "18:00", "Europe/Paris"),
    ("FREQ=WEEKLY", "25h", "Europe/Paris"),
    ("FREQ=WEEKLY", "18:00", "Europe/Lutece"),
    ("", "18:00", "Europe/Paris"),
])
def test_invalid_rules_are_explained(rule: str, at: str, tz: str) -> None:
    with pytest.raises(RecurrenceError) as err:
        Recurrence.parse(rule, at, tz)
    assert any(w in str(err.value) for w in ("expected", "invalid", "unknown", "at most daily"))


RULES = ["FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=WEEKLY;BYDAY=TU", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
         "FREQ=WEEKLY;INTERVAL=3", "FREQ=MONTHLY;BYDAY=-1TU", "FREQ=MONTHLY;INTERVAL=2;BYDAY=1MO",
         "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY;INTERVAL=5", "FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=2;BYMONTH=6;BYDAY=3FR",
         "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=WEEKLY;UNTIL=20300101T000000", "FREQ=DAILY;COUNT=9000"]


@given(rule=st.sampled_from(RULES), at=st.sampled_from(["00:30", "02:30", "09:00", "18:00", "23:45"]),
       when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2045, 1, 1)),
       start=st.sampled_from([date(2000, 1, 3), date(2026, 9, 14)]))
@settings(max_examples=300, deadline=None)
def test_a_series_restarted_near_the_question_gives_the_same_answers(rule: str, at: str, when: datetime,
                                                                     start: date) -> None:
    # The fast path starts the series again a period before the question; the answers must
    # be those of the series walked from its true start.
    rec = Recurrence.parse(rule, at, "Europe/Paris", start=start)
    instant = when.replace(tzinfo=PARIS)
    local = instant.astimezone(PARIS).replace(tzinfo=None)
    full = rec._rrule()
    expected = full.after(local - timedelta(days=1), inc=True)
    while expected is not None and rec._localize(expected) <= instant:
        expected = full.after(expected, inc=False)
    got = rec.after(instant)
    assert got == (None if expected is None else rec._localize(expected))
