"""A date shown to members carries its year when it is not in the reader's current year; every
renderer of the bot is told that reference instant."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapter import Outgoing
from bot.kernel.i18n import Month, Msg, When, format_when, render_plain
from bot.kernel.model import Post

PARIS = ZoneInfo("Europe/Paris")
ROOT = Path(__file__).resolve().parents[2]
MEETING = datetime(2027, 1, 12, 17, 0, tzinfo=UTC)  # mardi 12 janvier 2027, 18:00 in Paris


def nb(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(("style", "locale", "this_year", "next_year"), [
    ("short", "fr", "mar. 12 janv. à 18 h", "mar. 12 janv. 2027 à 18 h"),
    ("day", "fr", "mardi 12 janvier", "mardi 12 janvier 2027"),
    ("short", "en", "Tue 12 Jan at 18:00", "Tue 12 Jan 2027 at 18:00"),
    ("day", "en", "Tuesday 12 January", "Tuesday 12 January 2027"),
    ("datetime", "fr", "mardi 12 janvier 2027 à 18 h", "mardi 12 janvier 2027 à 18 h"),
])
def test_the_year_shows_when_it_is_not_the_readers(style: str, locale: str, this_year: str, next_year: str) -> None:
    assert nb(format_when(MEETING, style, locale, PARIS, now=datetime(2027, 1, 2, tzinfo=UTC))) == this_year
    assert nb(format_when(MEETING, style, locale, PARIS, now=datetime(2026, 12, 20, tzinfo=UTC))) == next_year
    assert nb(format_when(MEETING, style, locale, PARIS, now=datetime(2028, 3, 1, tzinfo=UTC))) == next_year


def test_the_current_year_is_the_networks_not_utcs() -> None:
    # 31 December 23:30 UTC is already 1 January in Paris: the reader is in the new year.
    new_year_in_paris = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert "2027" not in format_when(MEETING, "short", "fr", PARIS, now=new_year_in_paris)


@settings(max_examples=200, deadline=None)
@given(at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       style=st.sampled_from(["short", "day", "datetime", "date"]), locale=st.sampled_from(["fr", "en"]))
def test_a_date_of_another_year_always_carries_it(at: datetime, now: datetime, style: str, locale: str) -> None:
    shown = format_when(at, style, locale, PARIS, now=now)
    year = str(at.astimezone(PARIS).year)
    if at.astimezone(PARIS).year != now.astimezone(PARIS).year:
        assert year in shown


def test_messages_sent_by_the_engine_are_rendered_against_their_own_instant() -> None:
    msg = Msg("meeting.agenda.empty_open", cutoff=When(at=MEETING, style="short"))
    post = Post(channel="general", text=msg)
    decided_in_2026 = Outgoing(action=post, key="k", channel="C1", now=datetime(2026, 12, 20, tzinfo=UTC))
    decided_in_2027 = Outgoing(action=post, key="k", channel="C1", now=datetime(2027, 1, 2, tzinfo=UTC))
    assert "janv. 2027" in nb(decided_in_2026.render(msg))
    assert "janv. 2027" not in nb(decided_in_2027.render(msg)) and "janv." in nb(decided_in_2027.render(msg))
    assert "janv. 2027" in nb(render_plain(msg, "fr", now=datetime(2026, 12, 20, tzinfo=UTC)))


def test_a_month_is_rendered_with_its_year() -> None:
    msg = Msg("meeting.when.no_such_day", text="x", date="31 février", month=Month(year=2027, month=2), days=28)
    assert "février 2027 n'a que 28" in nb(render_plain(msg, "fr"))
    assert "February 2027 has only 28 days" in render_plain(msg, "en")


# Renderers that never show a date of the calendar, and why.
NO_DATES = {
    ("scenarios/digest/kind.py", "image"): "chart labels: names and percentages",
}


def test_every_renderer_is_told_the_reference_instant() -> None:
    missing: list[str] = []
    for folder in ("bot", "scenarios", "adapters"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"))
            for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
                for call in [n for n in ast.walk(func) if isinstance(n, ast.Call)]:
                    name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
                    if name != "Renderer" or any(k.arg == "now" for k in call.keywords):
                        continue
                    where = (str(path.relative_to(ROOT)), func.name)
                    if where not in NO_DATES:
                        missing.append(f"{where[0]}:{call.lineno} in {func.name}")
    assert missing == [], "Renderer(...) without now=: dates of another year would hide it"
