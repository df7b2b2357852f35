"""RRULEs in the network's zone: 18:00 stays 18:00 across daylight-saving changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.recurrence import Recurrence, RecurrenceError

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
