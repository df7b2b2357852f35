"""Reading meeting dates typed in French (and English), the command grammar, and the config."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from bot.kernel.commands import CommandError, Grammar
from bot.kernel.i18n import render_plain
from scenarios.digest import KIND as DIGEST
from scenarios.meeting import KIND
from scenarios.meeting.config import Lead, MeetingConfig
from scenarios.meeting.when import WhenError, parse_when
from tests.spaces import spaces
from tests.unit.test_meeting_support import TZ, paris

NOW = paris(2025, 11, 20, 10, 37)  # a Thursday


@pytest.mark.parametrize(("typed", "start", "place", "link"), [
    ("le 12 décembre à 18h à la Maison des associations", paris(2025, 12, 12, 18, 0), "la Maison des associations", None),
    ("le 12 décembre à 18h", paris(2025, 12, 12, 18, 0), None, None),
    ("12/12 18h30", paris(2025, 12, 12, 18, 30), None, None),
    ("mardi 18h30 au local", paris(2025, 11, 25, 18, 30), "au local", None),
    ("mardi à 18h en visio https://visio.example.org/abc", paris(2025, 11, 25, 18, 0), "en visio",
     "https://visio.example.org/abc"),
    ("jeudi à 11h", paris(2025, 11, 20, 11, 0), None, None),  # today, still to come
    ("jeudi à 9h", paris(2025, 11, 27, 9, 0), None, None),  # today's is past: next week
    ("demain à 9h", paris(2025, 11, 21, 9, 0), None, None),
    ("ce soir 20h chez Paul", paris(2025, 11, 20, 20, 0), "chez Paul", None),
    ("à 18h à la Maison", paris(2025, 11, 20, 18, 0), "la Maison", None),
    ("le 3 janvier 2026 à 14h30, Mairie de Lyon", paris(2026, 1, 3, 14, 30), "Mairie de Lyon", None),
    ("2025-12-12T18:00 salle B", paris(2025, 12, 12, 18, 0), "salle B", None),
    ("dans 3 jours à 14h", paris(2025, 11, 23, 14, 0), None, None),
    ("on 12 December at 6pm at the Community Centre", paris(2025, 12, 12, 18, 0), "the Community Centre", None),
    ("vendredi 12 décembre 18h Café des Amis", paris(2025, 12, 12, 18, 0), "Café des Amis", None),
])
def test_dates_places_and_links_are_read(typed: str, start: datetime, place: str | None,
                                         link: str | None) -> None:
    when = parse_when(typed, NOW, TZ)
    assert (when.start, when.place, when.link) == (start, place, link)


def test_a_wall_time_skipped_by_the_spring_change_moves_forward() -> None:
    when = parse_when("le 29 mars à 2h30", NOW, TZ)
    assert when.start == paris(2026, 3, 29, 3, 30)
    assert when.start.utcoffset() is not None and when.start.utcoffset().total_seconds() == 7200  # type: ignore[union-attr]


@pytest.mark.parametrize(("typed", "reason"), [
    ("le 12 décembre", "no_time"),
    ("hier à 18h", "past"),
    ("quand on pourra à 18h", "no_date"),
])
def test_unreadable_dates_say_why(typed: str, reason: str) -> None:
    with pytest.raises(WhenError) as err:
        parse_when(typed, NOW, TZ)
    assert err.value.reason == reason



@pytest.mark.parametrize("typed", ["mardi 12/12 18h", "mer 25/11 18h", "wednesday 25/11 6pm"])
def test_a_weekday_that_is_not_the_dates_is_refused_not_guessed(typed: str) -> None:
    with pytest.raises(WhenError) as err:
        parse_when(typed, NOW, TZ)
    assert err.value.reason == "wrong_weekday"
    assert "ne tombe pas ce jour-là" in spaces(render_plain(err.value.msg(typed), "fr"))
    assert "is not on that day" in render_plain(err.value.msg(typed), "en")


@pytest.mark.parametrize(("typed", "start"), [
    ("mar 25/11 18h", paris(2025, 11, 25, 18, 0)),
    ("mardi 25 novembre 18h", paris(2025, 11, 25, 18, 0)),
    ("mardi minuit", paris(2025, 11, 26, 0, 0)),  # the end of Tuesday: the weekday agrees
])
def test_a_weekday_that_agrees_with_the_date_is_read(typed: str, start: datetime) -> None:
    assert parse_when(typed, NOW, TZ).start == start


GRAMMAR = Grammar([*KIND.commands, *DIGEST.commands])


@pytest.mark.parametrize(("typed", "name", "args"), [
    ('reunion "Comité" le 12 décembre à 18h à la Maison des associations', "reunion",
     {"title": "Comité", "text": "le 12 décembre à 18h à la Maison des associations"}),
    ("Réunion « Comité » demain à 18h", "reunion", {"title": "Comité", "text": "demain à 18h"}),
    ("meeting “Committee” tomorrow at 6pm", "reunion", {"title": "Committee", "text": "tomorrow at 6pm"}),
    ('ordre-du-jour "Budget 2027"', "ordre-du-jour", {"text": "Budget 2027"}),
    ("agenda Budget 2027", "ordre-du-jour", {"text": "Budget 2027"}),
    ("ordre-du-jour", "ordre-du-jour", {}),
    ("reunion cr https://pad.example.org/x", "reunion cr", {"url": "https://pad.example.org/x"}),
    ("meeting minutes https://pad.example.org/x", "reunion cr", {"url": "https://pad.example.org/x"}),
    ("reunion calendrier", "reunion calendrier", {}),
    ("reunion sourdine Comité", "reunion sourdine", {"series": "Comité"}),
    ("meeting unmute", "reunion reactiver", {}),
    ("reunion annuler la salle est prise", "reunion annuler", {"reason": "la salle est prise"}),
    ("resume", "resume", {}),
    ("digest", "resume", {}),
])
def test_commands_parse_in_french_and_english(typed: str, name: str, args: dict[str, str]) -> None:
    parsed = GRAMMAR.parse(typed)
    assert (parsed.spec.name, parsed.args) == (name, args)


@pytest.mark.parametrize(("typed", "key"), [
    ("reunion Comité demain à 18h", "meeting.cmd.title_missing"),
    ('reunion "Comité"', "meeting.cmd.when_missing"),
])
def test_incomplete_meeting_commands_say_what_is_expected(typed: str, key: str) -> None:
    with pytest.raises(CommandError) as err:
        GRAMMAR.parse(typed)
    assert err.value.msg.key == key


@pytest.mark.parametrize(("text", "days", "seconds"), [
    ("7d", 7, 0), ("1j", 1, 0), ("2 semaines", 14, 0), ("1h", 0, 3600), ("30min", 0, 1800),
    ("1h30", 0, 5400), ("1d2h", 1, 7200), ("90m", 0, 5400),
])
def test_leads(text: str, days: int, seconds: int) -> None:
    assert Lead.parse(text) == Lead(days=days, seconds=seconds)


@pytest.mark.parametrize("bad", [
    {"title": "Comité", "rrule": "FREQ=MONTHLY;BYDAY=2TU"},  # no time
    {"title": "Comité", "rrule": "FREQ=HOURLY", "time": "18:00"},
    {"leads": ["7 lunes"]},
    {"attendance": "maybe"},
    {"unknown_key": 1},
    {"series": [{"id": "a", "title": "A", "rrule": "FREQ=WEEKLY", "time": "9:00"},
                {"id": "a", "title": "B", "rrule": "FREQ=WEEKLY", "time": "10:00"}]},
])
def test_config_errors_are_caught_at_validation(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        MeetingConfig.model_validate(bad)


def test_our_commands_fit_in_the_whole_grammar() -> None:
    from scenarios import registry

    grammar = Grammar([spec for _, spec in registry().commands()])
    assert grammar.parse("agenda Budget").spec.name == "ordre-du-jour"
    assert grammar.parse("reunion cr https://x.example").spec.name == "reunion cr"
