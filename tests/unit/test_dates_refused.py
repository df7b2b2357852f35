"""Impossible dates are refused with what is wrong, by both date readers (meeting dates and
consent deadlines); a year is never read as a place; a deadline too far ahead is refused."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.kernel.i18n import Month, Msg, render_plain
from bot.kernel.model import PrivateNote, Started
from scenarios.consent.deadline import DeadlineError, parse_deadline
from scenarios.meeting import KIND as MEETING
from scenarios.meeting.when import WhenError, parse_when
from tests.unit.test_meeting_support import ALICE, Sim, command, context

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 20, 10, 37, tzinfo=PARIS)  # a Friday; 2027 is not a leap year, 2028 is


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[arg-type,misc]


def plain(msg: Msg, locale: str = "fr") -> str:
    return render_plain(msg, locale).replace("\u00a0", " ").replace("\u202f", " ")


# --- one test per impossible date, both readers ---------------------------------------------


@pytest.mark.parametrize(("typed", "reason", "month", "days"), [
    ("le 31 février à 18h", "no_such_day", Month(year=2027, month=2), 28),
    ("le 31 février à 18h à la Maison des associations", "no_such_day", Month(year=2027, month=2), 28),
    ("29 février 2027 à 18h", "no_such_day", Month(year=2027, month=2), 28),
    ("le 29 février à 18h", "no_such_day", Month(year=2027, month=2), 28),  # next February: 2027
    ("30/02 à 18h", "no_such_day", Month(year=2027, month=2), 28),
    ("30/02/2028 18h30 salle B", "no_such_day", Month(year=2028, month=2), 29),
    ("le 31 avril à 9h", "no_such_day", Month(year=2027, month=4), 30),
    ("vendredi 31 juin 2027 à 18h", "no_such_day", Month(year=2027, month=6), 30),
    ("le 32 décembre à 18h", "no_such_day", Month(year=2026, month=12), 31),
    ("le 0 mars à 18h", "no_such_day", Month(year=2027, month=3), 31),
    ("31.09.27 à 18h", "no_such_day", Month(year=2027, month=9), 30),
    ("on February 30 at 6pm", "no_such_day", Month(year=2027, month=2), 28),
    ("the 31st of November 2027 at 6pm at the library", "no_such_day", Month(year=2027, month=11), 30),
    ("2027-02-30T18:00 salle B", "no_such_day", Month(year=2027, month=2), 28),
    ("12/13 à 18h", "no_such_month", "13", None),
    ("31-00-2027 à 18h", "no_such_month", "0", None),
])
def test_an_impossible_meeting_date_is_refused(typed: str, reason: str, month: Month | str,
                                                days: int | None) -> None:
    with pytest.raises(WhenError) as err:
        parse_when(typed, NOW, PARIS)
    assert err.value.reason == reason
    assert err.value.params["month"] == month
    if days is not None:
        assert err.value.params["days"] == days


@pytest.mark.parametrize(("typed", "reason", "month"), [
    ("31 février", "no_such_day", Month(year=2027, month=2)),
    ("jusqu'au 31 février 18h", "no_such_day", Month(year=2027, month=2)),
    ("29 février 2027", "no_such_day", Month(year=2027, month=2)),
    ("le 29 février à midi", "no_such_day", Month(year=2027, month=2)),
    ("30/02", "no_such_day", Month(year=2027, month=2)),
    ("30/02/2027 17:00", "no_such_day", Month(year=2027, month=2)),
    ("avant le 31 avril", "no_such_day", Month(year=2027, month=4)),
    ("vendredi 31 juin", "no_such_day", Month(year=2027, month=6)),
    ("2027-02-30", "no_such_day", Month(year=2027, month=2)),
    ("2027-02-29T18:00", "no_such_day", Month(year=2027, month=2)),
    ("by February 29 2027", "no_such_day", Month(year=2027, month=2)),
    ("12/13", "no_such_month", "13"),
])
def test_an_impossible_deadline_is_refused(typed: str, reason: str, month: Month | str) -> None:
    with pytest.raises(DeadlineError) as err:
        parse_deadline(typed, NOW, PARIS)
    assert err.value.msg.key == f"consent.deadline.{reason}"
    assert err.value.msg.params["month"] == month


def test_the_refusals_say_what_is_wrong_in_french_and_english() -> None:
    with pytest.raises(WhenError) as meeting:
        parse_when("le 31 février à 18h", NOW, PARIS)
    msg = Msg(f"meeting.when.{meeting.value.reason}", text="le 31 février à 18h", **meeting.value.params)
    assert plain(msg) == ("« 31 février » n'existe pas dans le calendrier : février 2027 n'a que 28 jours. "
                          "Vérifiez le jour et le mois.")
    assert "February 2027 has only 28 days" in plain(msg, "en")
    with pytest.raises(DeadlineError) as deadline:
        parse_deadline("30/02", NOW, PARIS)
    assert "L'échéance « 30/02 » n'existe pas dans le calendrier : février 2027 n'a que 28 jours" \
        in plain(deadline.value.msg)
    with pytest.raises(DeadlineError) as month:
        parse_deadline("12/13", NOW, PARIS)
    assert "le mois 13 n'existe pas" in plain(month.value.msg)
    assert "there is no month number 13" in plain(month.value.msg, "en")


def test_the_meeting_command_answers_the_refusal_and_plans_nothing() -> None:
    sim = Sim(MEETING, context({"channels": ["general"]}), NOW)
    sim.send(Started())
    out = sim.send(command(ALICE, "reunion", title="AG", text="le 31 février à 18h à la Maison"))
    notes = [a for a in out if isinstance(a, PrivateNote)]
    assert [n.text.key for n in notes] == ["meeting.when.no_such_day"]
    assert "février 2027 n'a que 28 jours" in plain(notes[0].text)
    assert sim.state.occurrences == []  # type: ignore[union-attr]


# --- what used to go wrong, and the valid neighbours ----------------------------------------


@pytest.mark.parametrize(("typed", "start", "place"), [
    ("29 février 2028 à 18h", paris(2028, 2, 29, 18, 0), None),
    ("le 28 février à 18h 2027", paris(2027, 2, 28, 18, 0), None),  # the year after the time
    ("le 12 mai 2027 à 18h salle 2027", paris(2027, 5, 12, 18, 0), "salle 2027"),  # a room number
    ("le 1er mars à 9h à la Maison", paris(2027, 3, 1, 9, 0), "la Maison"),
    ("mardi 15 décembre 2026 à 18h, Mairie", paris(2026, 12, 15, 18, 0), "Mairie"),
    ("December 12th, 2027 at 6pm at the Community Centre", paris(2027, 12, 12, 18, 0), "the Community Centre"),
    ("le 3 févr. 2027 à 14h chez Emma", paris(2027, 2, 3, 14, 0), "chez Emma"),
    ("demain à 18h salle du 8 mai 1945", paris(2026, 11, 21, 18, 0), "salle du 8 mai 1945"),
])
def test_valid_dates_keep_their_year_and_their_place(typed: str, start: datetime, place: str | None) -> None:
    when = parse_when(typed, NOW, PARIS)
    assert (when.start, when.place) == (start, place)


def test_a_deadline_more_than_a_year_ahead_is_refused() -> None:
    for typed in ("12 décembre 2027", "2028-01-15", "dans 400 jours", "12/12/2029 18h"):
        with pytest.raises(DeadlineError) as err:
            parse_deadline(typed, NOW, PARIS)
        assert err.value.msg.key == "consent.deadline.too_far", typed
    text = plain(err.value.msg)
    assert "L'échéance « 12/12/2029 18h » (mercredi 12 décembre 2029 à 18 h) est à plus de 12 mois : vérifiez l'année" in text
    assert "check the year" in plain(err.value.msg, "en")
    # Within the year: accepted; the limit is the caller's to set (None: none).
    assert parse_deadline("12 novembre 2027", NOW, PARIS) == paris(2027, 11, 12, 18, 0)
    assert parse_deadline("12/12/2029", NOW, PARIS, max_ahead=None) == paris(2029, 12, 12, 18, 0)
    with pytest.raises(DeadlineError):
        parse_deadline("dans 3 semaines", NOW, PARIS, max_ahead=timedelta(days=14))


# --- the property: every day/month/year combination, written every way ---------------------

FR_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
             "octobre", "novembre", "décembre"]
FR_ABBR = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December"]
PLACES = ["", "à la Maison des associations", "salle 2027", "chez Emma", "au local, 2e étage", "Café 1901"]


def _written(day: int, month: int, year: int | None, form: str) -> str:
    y = "" if year is None else f" {year}"
    if form == "fr":
        return f"le {'1er' if day == 1 else day} {FR_MONTHS[month - 1]}{y}"
    if form == "fr_abbr":
        return f"{day} {FR_ABBR[month - 1]}{y}"
    if form == "en":
        return f"on {day} {EN_MONTHS[month - 1]}{y}"
    if form == "en_md":
        return f"{EN_MONTHS[month - 1]} {day}{'' if year is None else f', {year}'}"
    if form == "numeric":
        return f"{day:02d}/{month:02d}" + ("" if year is None else f"/{year}")
    return f"{day}.{month}" + ("" if year is None else f".{year % 100:02d}")  # numeric_dot


def _meant(day: int, month: int, year: int | None, today: date) -> tuple[int, bool]:
    """The year the date falls in, and whether it is on the calendar."""
    if year is None:
        year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
    ok = 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]
    return year, ok


dates = st.tuples(
    st.integers(0, 35),  # day
    st.integers(0, 13),  # month; 0 and 13 only in numeric forms
    st.one_of(st.none(), st.integers(2025, 2029)),
    st.sampled_from(["fr", "fr_abbr", "en", "en_md", "numeric", "numeric_dot"]),
).filter(lambda t: t[3].startswith("numeric") or 1 <= t[1] <= 12)


@settings(max_examples=400, deadline=None)
@given(written=dates, place=st.sampled_from(PLACES), weekday=st.sampled_from(["", "mardi ", "friday "]))
@example(written=(31, 2, None, "fr"), place="", weekday="")
@example(written=(29, 2, 2027, "fr"), place="", weekday="")
@example(written=(30, 2, None, "numeric"), place="à la Maison des associations", weekday="")
def test_meeting_dates_property(written: tuple[int, int, int | None, str], place: str, weekday: str) -> None:
    day, month, year, form = written
    english = form.startswith("en")
    typed = f"{weekday}{_written(day, month, year, form)} {'at 6pm' if english else 'à 18h'} {place}".strip()
    meant_year, on_calendar = _meant(day, month, year, NOW.date())
    # A weekday typed with a date must be the date's: otherwise one of them is a typo, refused.
    said = {"": None, "mardi ": 1, "friday ": 4}[weekday]
    disagrees = on_calendar and said is not None and date(meant_year, month, day).weekday() != said
    try:
        when = parse_when(typed, NOW, PARIS, "en" if english else "fr")
    except WhenError as err:
        if not on_calendar:
            assert err.reason in ("no_such_day", "no_such_month"), typed
        elif disagrees:
            assert err.reason == "wrong_weekday", typed
        else:
            assert err.reason == "past" and paris(meant_year, month, day, 18, 0) <= NOW, typed
        return
    assert on_calendar and not disagrees, f"{typed!r} was read as {when.start}"
    assert when.start == paris(meant_year, month, day, 18, 0), typed
    expected_place = place.removeprefix("à ").strip() or None
    assert when.place == expected_place, typed
    if year is not None:
        assert not (when.place or "").startswith(str(year)), typed


@settings(max_examples=400, deadline=None)
@given(written=dates, with_time=st.booleans())
@example(written=(31, 2, None, "fr"), with_time=True)
@example(written=(29, 2, 2027, "fr_abbr"), with_time=False)
def test_deadlines_property(written: tuple[int, int, int | None, str], with_time: bool) -> None:
    day, month, year, form = written
    typed = _written(day, month, year, form) + (" 17h30" if with_time else "")
    meant_year, on_calendar = _meant(day, month, year, NOW.date())
    at = time(17, 30) if with_time else time(18, 0)
    try:
        got = parse_deadline(typed, NOW, PARIS)
    except DeadlineError as err:
        key = err.msg.key.removeprefix("consent.deadline.")
        if not on_calendar:
            assert key in ("no_such_day", "no_such_month"), typed
            return
        meant = datetime.combine(date(meant_year, month, day), at, PARIS)
        assert (key == "past" and meant <= NOW) or (key == "too_far" and meant - NOW > timedelta(days=366)), typed
        return
    assert on_calendar, f"{typed!r} was read as {got}"
    assert got == datetime.combine(date(meant_year, month, day), at, PARIS), typed


def test_the_limit_is_the_networks_consent_setting() -> None:
    from scenarios.consent import ConsentConfig, check_start, load_config
    from tests.unit.test_consent_support import one_channel

    assert ConsentConfig().max_ahead == timedelta(days=366)
    cfg = load_config({}, {"consent": {"max_ahead": "2 semaines"}})
    assert cfg.max_ahead == timedelta(days=14)
    assert load_config({}, {"consent": cfg.model_dump(mode="json")}) == cfg  # as the engine dumps it
    ctx, _ = one_channel(3, settings={"consent": {"max_ahead": "2 semaines"}})
    msg = check_start(ctx, {"title": "T", "deadline": "dans 3 semaines"}, "general", NOW)
    assert msg is not None and msg.key == "consent.deadline.too_far"
    assert "plus de 2 semaines" in plain(msg)
    assert check_start(ctx, {"title": "T", "deadline": "dans 10 jours"}, "general", NOW) is None
    unlimited, _ = one_channel(3, settings={"consent": {"max_ahead": None}})
    assert check_start(unlimited, {"title": "T", "deadline": "12/12/2030"}, "general", NOW) is None
