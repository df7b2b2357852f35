"""Deadlines in natural French and English, or ISO, relative to `now` in the network's zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.kernel.i18n import render_plain
from bot.kernel.timetext import parse_duration
from scenarios.consent.deadline import DeadlineError, parse_deadline

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vendredi 18h", at(27, 18)),
        ("jusqu'à vendredi 18h", at(27, 18)),
        ("jusqu’à vendredi à 18h", at(27, 18)),
        ("Vendredi 18h30", at(27, 18, 30)),
        ("vendredi", at(27, 18)),  # a day alone ends at the default time
        ("mardi prochain", at(24, 18)),
        ("jusqu'à demain midi", at(24, 12)),
        ("demain soir", at(24, 18)),
        ("après-demain 9h", at(25, 9)),
        ("dans 3 jours", at(26, 10)),
        ("dans deux semaines", at(7, 10, month=12)),
        ("d'ici mercredi", at(25, 18)),
        ("avant jeudi 17:00", at(26, 17)),
        ("lundi", at(30, 18)),  # said on a Monday: next week's
        ("18h", at(23, 18)),  # a time alone: its next occurrence
        ("9h", at(24, 9)),
        ("vendredi minuit", at(28, 0)),  # the night from Friday to Saturday
        ("le 5 décembre à 14h", at(5, 14, month=12)),
        ("jusqu'au 1er décembre", at(1, 18, month=12)),
        ("12/12", at(12, 18, month=12)),
        ("friday 6pm", at(27, 18)),
        ("until friday 6:30 pm", at(27, 18, 30)),
        ("tomorrow noon", at(24, 12)),
        ("in 3 days", at(26, 10)),
        ("in 2 hours", at(23, 12)),
        ("2026-12-01T18:00", at(1, 18, month=12)),
        ("2026-12-01 18:00", at(1, 18, month=12)),
        ("2026-12-01", at(1, 18, month=12)),
        ("2026-12-01T17:00:00+00:00", at(1, 18, month=12)),
    ],
)
def test_deadlines_members_type(text: str, expected: datetime) -> None:
    assert parse_deadline(text, MONDAY, "Europe/Paris") == expected


def test_result_is_aware_and_in_the_network_zone() -> None:
    got = parse_deadline("vendredi 18h", MONDAY.astimezone(UTC), PARIS)
    assert got.tzinfo is not None and got.utcoffset() == timedelta(hours=1)
    assert got.astimezone(UTC) == datetime(2026, 11, 27, 17, 0, tzinfo=UTC)


def test_wall_time_is_kept_across_the_dst_change() -> None:
    # Said on Friday 27 March 2026; clocks go forward on Sunday 29 March.
    friday = datetime(2026, 3, 27, 12, 0, tzinfo=PARIS)
    got = parse_deadline("mardi 18h", friday, PARIS)
    assert (got.hour, got.minute, got.utcoffset()) == (18, 0, timedelta(hours=2))


def test_default_time_of_day_comes_from_the_caller() -> None:
    assert parse_deadline("vendredi", MONDAY, PARIS, time(12, 0)) == at(27, 12)


@pytest.mark.parametrize("text", ["hier", "2025-01-01", "yesterday", "2026-11-23T09:00"])
def test_past_deadline_is_a_clear_error(text: str) -> None:
    with pytest.raises(DeadlineError) as err:
        parse_deadline(text, MONDAY, PARIS)
    assert err.value.msg.key == "consent.deadline.past"
    fr = render_plain(err.value.msg, "fr")
    assert "déjà passée" in fr and "vendredi 18h" in fr
    assert "already passed" in render_plain(err.value.msg, "en")


@pytest.mark.parametrize("text", ["n'importe quoi", "bientôt", "25h", "friday 13pm", "", "   "])
def test_unparseable_deadline_is_a_clear_error(text: str) -> None:
    with pytest.raises(DeadlineError) as err:
        parse_deadline(text, MONDAY, PARIS)
    assert err.value.msg.key == "consent.deadline.unparseable"
    assert "Je ne comprends pas" in render_plain(err.value.msg, "fr")


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError):
        parse_deadline("vendredi", datetime(2026, 11, 23, 10, 0), PARIS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3j", timedelta(days=3)), ("48h", timedelta(hours=48)), ("2 semaines", timedelta(weeks=2)),
     ("90min", timedelta(minutes=90)), ("1 day", timedelta(days=1)), ("1,5j", timedelta(hours=36))],
)
def test_durations_in_the_config(text: str, expected: timedelta) -> None:
    assert parse_duration(text).delta == expected


def test_bad_duration() -> None:
    with pytest.raises(ValueError):
        parse_duration("longtemps")
