"""The satisfaction pulse on a fake clock, in French and English: the question sent once, an answer
and its change, one reminder, the close with only totals in the record and no answer left, fewer
than 5 answers shows nothing, a split hidden when one of its groups is under 5, the config."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot import cli
from bot.kernel.commands import Grammar
from bot.kernel.model import (
    Action,
    AnonymizeAnswers,
    Command,
    DirectMessage,
    Member,
    PrivateNote,
    Record,
    RecordAnswer,
    Started,
    TimerFired,
)
from scenarios import registry
from scenarios.pulse import KIND, PulseState
from scenarios.pulse.commands import ANSWER
from scenarios.pulse.config import PulseConfig
from scenarios.pulse.kind import REMIND
from scenarios.pulse.results import shuffled, tenths
from tests.spaces import spaces
from tests.unit.test_meeting_support import TZ, Sim, context, dms, paris, text

CONFIG: dict[str, Any] = {"channels": ["general"]}
START = paris(2027, 1, 1, 9, 0)
OPENS = paris(2027, 1, 4, 10, 0)
"""The first Monday of January, 10:00: the default schedule."""
REMINDS = OPENS + timedelta(days=3)
CLOSES = OPENS + timedelta(days=6)


def person(key: str, org: str | None, territory: str | None = None) -> Member:
    return Member(key=key, name=key.capitalize(), account=f"console:{key}", organisation=org,
                  attributes={"territoire": territory} if territory else {})


PEOPLE = [person("alice", "Alpha", "Nord"), person("bruno", "Alpha", "Nord"), person("chloe", "Alpha", "Nord"),
          person("dina", "Alpha", "Sud"), person("eloi", "Alpha", "Sud"), person("fanny", "Beta", "Sud"),
          person("gael", "Beta", "Sud"), person("hana", "Beta", "Nord"), person("ines", "Beta", "Nord"),
          person("jules", "Beta", "Nord"), person("karim", "Gamma", "Nord")]
BY_KEY = {m.key: m for m in PEOPLE}


def started(locale: str = "fr", config: dict[str, Any] | None = None, people: list[Member] = PEOPLE) -> Sim:
    sim = Sim(KIND, context(config or CONFIG, members={m.key: m for m in people}, locale=locale), START)
    sim.send(Started())
    return sim


def answer(sim: Sim, who: str, typed: str, channel: str = "dm") -> list[Action]:
    """As a member types it: parsed by the real grammar, then handed to the ritual."""
    parsed = Grammar([spec for _, spec in registry().commands()]).parse(typed)
    assert parsed.spec is ANSWER
    return sim.send(Command(member=BY_KEY[who], name=ANSWER.name, args=parsed.args, channel=channel))


def state(sim: Sim) -> PulseState:
    assert isinstance(sim.state, PulseState)
    return sim.state


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_question_goes_once_to_each_member_privately(locale: str) -> None:
    sim = started(locale)
    assert sim.run_until(OPENS - timedelta(minutes=1)) == []
    out = sim.run_until(OPENS)
    asked = dms(out)
    assert sorted(dm.member for dm in asked) == sorted(BY_KEY)
    assert all(isinstance(a, DirectMessage) or a.action == "set_timer" for a in out)  # nothing in public
    said = text(asked[0], locale)
    if locale == "fr":
        assert said.startswith("🌦 Météo du réseau — janvier 2027\nComment vous sentez-vous dans le réseau ce mois-ci ?")
        assert "meteo 4 « … »" in said and "satisfait·e" in said and "le dimanche 10 janvier 2027" in said
    else:
        assert said.startswith("🌦 Network weather — January 2027\nHow do you feel in the network this month?")
        assert 'pulse 4 "…"' in said
    # Nothing more until the next month's question.
    assert dms(sim.run_until(OPENS + timedelta(days=2))) == []
    again = sim.run_until(paris(2027, 2, 1, 10, 0))
    assert len([d for d in dms(again) if d.text.key == "pulse.ask.one"]) == len(PEOPLE)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_an_answer_is_a_row_its_comment_the_reason_and_a_change_replaces_it(locale: str) -> None:
    sim = started(locale)
    sim.run_until(OPENS)
    out = answer(sim, "alice", "meteo 4 « super café ce mois-ci »" if locale == "fr" else 'pulse 4 "great coffee"')
    comment = "super café ce mois-ci" if locale == "fr" else "great coffee"
    row, thanks = out
    assert row == RecordAnswer(member="alice", topic="pulse1", part=1, value="4", reason=comment)
    assert isinstance(thanks, DirectMessage) and thanks.member == "alice"
    # One short line, and never the score nor the comment (the message stays in the outbox).
    assert text(thanks, locale) == ("🌦 Merci, c'est noté." if locale == "fr" else "🌦 Thank you, noted.")
    # A change replaces the score and keeps the comment; a comment alone keeps the score.
    answer(sim, "alice", "meteo 2")
    assert (sim.book.current("alice", "pulse1", part=1).value,  # type: ignore[union-attr]
            sim.book.current("alice", "pulse1", part=1).reason) == ("2", comment)  # type: ignore[union-attr]
    answer(sim, "alice", "meteo « finalement bof »")
    assert (sim.book.current("alice", "pulse1", part=1).value,  # type: ignore[union-attr]
            sim.book.current("alice", "pulse1", part=1).reason) == ("2", "finalement bof")  # type: ignore[union-attr]
    # Typed in a channel: the thanks is seen by the member alone.
    (_, note) = answer(sim, "bruno", "meteo 5", channel="general")
    assert isinstance(note, PrivateNote) and note.member == "bruno"


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_wrong_answers_are_explained_privately_and_nothing_is_kept(locale: str) -> None:
    sim = started(locale)
    (early,) = dms(answer(sim, "alice", "meteo 4"))
    assert early.text.key == "pulse.answer.none_next"
    assert ("lundi 4 janvier 2027" if locale == "fr" else "Monday 4 January 2027") in text(early, locale)
    sim.run_until(OPENS)
    (none,) = dms(answer(sim, "alice", "meteo"))
    said = text(none, locale)
    assert said == ("Une note de 1 à 5 est attendue (aucune note reçue), par exemple : meteo 4." if locale == "fr" else
                    "One score from 1 to 5 is expected (none received), for example: pulse 4.")
    (two,) = dms(answer(sim, "alice", "meteo 4 5"))
    assert two.text.key == "pulse.answer.count"
    stranger = Member(key="zoe", name="Zoé", account="console:zoe")
    (outside,) = dms(sim.send(Command(member=stranger, name=ANSWER.name, args={"scores": [3]}, channel="dm")))
    assert outside.text.key == "pulse.answer.not_asked"
    assert sim.book.everyone("pulse1", part=1) == []


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_those_who_have_not_answered_get_one_reminder_never_two(locale: str) -> None:
    sim = started(locale)
    sim.run_until(OPENS)
    for who in ("alice", "bruno"):
        answer(sim, who, "meteo 3")
    out = sim.run_until(REMINDS)
    reminded = dms(out)
    assert sorted(d.member for d in reminded) == sorted(set(BY_KEY) - {"alice", "bruno"})
    said = text(reminded[0], locale)
    assert said.startswith("🌦 Petit rappel : la météo du réseau de janvier 2027 se clôt le dimanche 10 janvier 2027"
                           if locale == "fr" else "🌦 A reminder: the network weather of January 2027 closes on")
    # The same timer firing again (a retry, a restart) reminds nobody a second time.
    assert state(sim).current is not None and state(sim).current.reminded  # type: ignore[union-attr]
    assert dms(sim.send(TimerFired(name=REMIND, due_at=REMINDS))) == []
    assert [d for d in dms(sim.run_until(CLOSES)) if d.text.key.startswith("pulse.remind")] == []


def _close_with(sim: Sim, scores: dict[str, str]) -> Record:
    sim.run_until(OPENS)
    for who, typed in scores.items():
        answer(sim, who, typed)
    out = sim.run_until(CLOSES)
    (record,) = [a for a in out if isinstance(a, Record)]
    assert AnonymizeAnswers(drop=True) in out
    assert not any(isinstance(a, DirectMessage) for a in out[out.index(record):])  # the close says nothing
    return record


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_close_keeps_totals_only_and_no_answer_is_left(locale: str) -> None:
    sim = started(locale)
    typed = {"alice": "meteo 5 « le café »", "bruno": "meteo 4", "chloe": "meteo 4 « la charte »", "dina": "meteo 3",
             "eloi": "meteo 2", "fanny": "meteo 4 « les visios »"}
    record = _close_with(sim, typed)
    s = record.summary
    assert record.kind == "pulse" and s["pulse"] == 1 and s["month"] == "2027-01"
    assert (s["asked"], s["answered"], s["shown"]) == (len(PEOPLE), 6, True)
    assert s["counts"] == [{"1": 0, "2": 1, "3": 1, "4": 3, "5": 1}]
    assert s["tenths"] == [37]  # 22 / 6 = 3,67
    assert sorted(s["comments"]) == ["la charte", "le café", "les visios"]
    assert s["comments"] == shuffled(["le café", "la charte", "les visios"], s["seed"])
    # Alpha has 5 answers, Beta 1: by organisation would tell Fanny's score; hidden. Territories 3 and 3: hidden.
    assert s["by_organisation"] is None and s["by_territory"] is None
    assert s["trend"] == [{"month": "2027-01", "answered": 6, "tenths": 37}]
    flat = repr(s)
    assert not any(k in flat for k in BY_KEY)  # no member key in the record
    assert sim.book.rows == []  # the answers are gone, superseded ones too
    assert state(sim).current is None and "alice" not in state(sim).model_dump_json()


def test_fewer_than_five_answers_shows_nothing() -> None:
    sim = started()
    record = _close_with(sim, {k: "meteo 5 « top »" for k in ("alice", "bruno", "chloe", "dina")})
    assert record.summary == {"pulse": 1, "month": "2027-01", "labels": [], "seed": record.summary["seed"],
                              "channels": ["general"],
                              "asked": len(PEOPLE), "answered": 4, "questions": 1, "shown": False,
                              "trend": [{"month": "2027-01", "answered": 4, "tenths": None}]}
    assert "top" not in repr(record.summary)
    assert sim.book.rows == []


def test_a_split_is_shown_only_when_each_of_its_groups_has_five_answers() -> None:
    sim = started()
    typed = {k: "meteo 4" for k in ("alice", "bruno", "chloe", "dina", "eloi")}
    typed |= {k: "meteo 2" for k in ("fanny", "gael", "hana", "ines", "jules")}
    s = _close_with(sim, typed).summary
    assert s["by_organisation"] == [{"group": "Alpha", "answers": 5, "tenths": [40]},
                                    {"group": "Beta", "answers": 5, "tenths": [20]}]
    assert s["by_territory"] is None  # Nord 6, Sud 4
    # Karim (Gamma) answering makes a group of one: the organisations are no longer shown.
    sim2 = started()
    s2 = _close_with(sim2, {**typed, "karim": "meteo 1"}).summary
    assert s2["by_organisation"] is None and s2["answered"] == 11


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_up_to_three_configured_questions_answered_in_one_line(locale: str) -> None:
    questions = ["Satisfaction générale", "Utilité des réunions", "Ambiance"]
    sim = started(locale, {**CONFIG, "questions": questions})
    out = sim.run_until(OPENS)
    said = text(dms(out)[0], locale)
    assert "1. Satisfaction générale\n2. Utilité des réunions\n3. Ambiance" in said
    assert ("meteo 4 3 5 « … »" if locale == "fr" else 'pulse 4 3 5 "…"') in said
    rows = answer(sim, "alice", "meteo 4 3 5 « bien »")
    assert [(r.topic, r.value, r.reason) for r in rows if isinstance(r, RecordAnswer)] == [
        ("pulse1", "4", "bien"), ("pulse2", "3", None), ("pulse3", "5", None)]
    for k in ("bruno", "chloe", "dina", "eloi"):
        answer(sim, k, "meteo 2 3 4")
    s = next(a for a in sim.run_until(CLOSES) if isinstance(a, Record)).summary
    assert s["labels"] == questions and s["tenths"] == [24, 30, 42]


def test_more_than_three_questions_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValidationError) as err:
        PulseConfig.model_validate({"questions": ["a", "b", "c", "d"]})
    assert "pulse.config.too_many" in str(err.value)
    with pytest.raises(ValidationError):
        PulseConfig.model_validate({"questions": ["a", " "]})
    PulseConfig.model_validate({"questions": ["a", "b", "c"]})


def test_the_trend_carries_the_last_months_and_the_schedule() -> None:
    sim = started()
    for month in (1, 2, 3):
        sim.run_until(paris(2027, month, 1, 0, 0))
        opens = KIND.upcoming(CONFIG, TZ, sim.now, 1)[0][0]
        sim.run_until(opens)
        for k in ("alice", "bruno", "chloe", "dina", "eloi"):
            answer(sim, k, f"meteo {month + 2}")
        sim.run_until(opens + timedelta(days=6))
    (_, _, last) = sim.records("pulse")
    assert last.summary["trend"] == [{"month": f"2027-0{m}", "answered": 5, "tenths": (m + 2) * 10} for m in (1, 2, 3)]
    assert [at for at, _ in KIND.upcoming(CONFIG, TZ, START, 2)] == [OPENS, paris(2027, 2, 1, 10, 0)]
    assert tenths({"1": 1, "2": 0, "3": 0, "4": 0, "5": 1}) == 30 and tenths({"1": 0}) is None


def test_the_config_check_refuses_a_fourth_question_and_says_why(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    """Through `maillage config check` on the example config, as an operator meets it."""
    example = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text("utf-8")
    line = '# questions = ["Satisfaction générale", "Utilité des réunions"]'
    assert line in example
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        for questions, lang, code, said in (
                ('["a", "b", "c"]', "fr", 0, None),
                ('["a", "b", "c", "d"]', "fr", 2, "questions : au plus 3 questions (4 données) : la météo se répond"),
                ('["a", "b", "c", "d"]', "en", 2, "questions: at most 3 questions (4 given): the network weather")):
            path = tmp_path / "reseau.toml"
            path.write_text(example.replace(line, f"questions = {questions}"), "utf-8")
            assert cli.main(["--lang", lang, "config", "check", "-c", str(path)]) == code
            err = spaces(capsys.readouterr().err)
            assert said is None or said in err, err
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
