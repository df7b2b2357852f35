"""Times said the French way ("18 h", "18 h 30", "1er décembre"), and a deadline asked for 18h
that is 18 h 00 on the clock and in every message, not a few seconds or a minute later."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.kernel.i18n import Day, Msg, When, format_when, render_plain
from bot.kernel.timetext import parse_deadline
from tests.spaces import spaces

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(("hour", "minute", "french", "english"), [
    (18, 0, "18 h", "18:00"),
    (18, 30, "18 h 30", "18:30"),
    (9, 5, "9 h 05", "09:05"),
    (0, 0, "0 h", "00:00"),
])
def test_the_time_style(hour: int, minute: int, french: str, english: str) -> None:
    at = datetime(2027, 3, 9, hour, minute, tzinfo=PARIS)
    assert format_when(at, "time", "fr", PARIS) == french.replace(" ", "\u00a0")
    assert format_when(at, "time", "en", PARIS) == english
    assert spaces(format_when(at, "datetime", "fr", PARIS)).endswith(f"à {french}")


def test_the_first_of_the_month_is_1er() -> None:
    first = datetime(2027, 12, 1, 18, 0, tzinfo=PARIS)
    assert spaces(format_when(first, "datetime", "fr", PARIS)) == "mercredi 1er décembre 2027 à 18 h"
    assert spaces(format_when(first, "short", "fr", PARIS, now=first)) == "mer. 1er déc. à 18 h"
    assert format_when(first + timedelta(days=1), "day", "fr", PARIS, now=first) == "jeudi 2 décembre"
    assert render_plain(Msg("digest.decided.item", title="Budget", outcome="adoptée", at=Day(on=date(2027, 12, 1)))) \
        .endswith("(mercredi 1er décembre 2027)")
    assert "Wednesday 1 December 2027 at 18:00" == format_when(first, "datetime", "en", PARIS)


MONDAY = datetime(2027, 2, 1, 9, 0, 42, 123456, tzinfo=UTC)  # 10:00:42 in Paris


@pytest.mark.parametrize("typed", ["vendredi 18h", "jusqu'à vendredi 18h", "vendredi 18 h", "vendredi à 18 heures",
                                   "vendredi 18h00", "vendredi 18:00", "5/02 18h", "vendredi 6pm", "vendredi"])
def test_a_deadline_asked_for_18h_is_18h00(typed: str) -> None:
    found = parse_deadline(typed, MONDAY, PARIS)
    assert found == datetime(2027, 2, 5, 18, 0, tzinfo=PARIS)
    assert spaces(render_plain(Msg("consent.answer.ack", what="la décision #1", choice="consentement",
                                   deadline=When(at=found)))).endswith("jusqu'au vendredi 5 février 2027 à 18 h.")


@pytest.mark.parametrize(("typed", "expected"), [
    ("dans 1 heure", datetime(2027, 2, 1, 11, 0, tzinfo=PARIS)),
    ("dans 2 jours", datetime(2027, 2, 3, 10, 0, tzinfo=PARIS)),
    ("dans 3 jours à 18h", datetime(2027, 2, 4, 18, 0, tzinfo=PARIS)),
])
def test_a_deadline_in_so_long_falls_on_the_minute_its_messages_show(typed: str, expected: datetime) -> None:
    # Said at 10:00:42: the round closes at 11:00:00, the "11 h" its messages show, not at 11:00:42.
    found = parse_deadline(typed, MONDAY, PARIS)
    assert found == expected and found.second == 0 and found.microsecond == 0
