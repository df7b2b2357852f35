"""The date poll on a fake clock, in French and English: slots read, answers per slot and changed,
one reminder, the close by deadline or command, a tie settled by the animateur, a cancel, refusals."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from bot.kernel.commands import CommandError, Grammar
from bot.kernel.i18n import render_plain
from bot.kernel.model import (
    Chose,
    DirectMessage,
    Edit,
    Finish,
    PrivateNote,
    RecordAnswer,
    Ref,
    Started,
    StartRitual,
)
from bot.kernel.scenario import Capabilities
from scenarios import registry
from scenarios.datepoll import KIND, DatePollState
from scenarios.datepoll.commands import ANSWER, CANCEL, CLOSE
from scenarios.meeting import KIND as MEETING
from tests.unit.test_meeting_support import (
    ALICE,
    BOB,
    CHLOE,
    DAN,
    Sim,
    command,
    context,
    dms,
    edits,
    notes,
    paris,
    posts,
    text,
)

START = paris(2027, 1, 4, 9, 0)  # a Monday
SLOTS = {"fr": "dates « Comité de pilotage » mar 12/01 18h, jeu 14/01 12h30, lun 18/01 18h jusqu'à vendredi",
         "en": 'when "Comité de pilotage" tue 12/01 6pm, thu 14/01 12:30, mon 18/01 6pm until friday'}
DEADLINE = paris(2027, 1, 8, 18, 0)
GRAMMAR = Grammar([c for _, c in registry().commands()])
TABLE = Ref(role="table")


def parsed(line: str) -> dict[str, Any]:
    return GRAMMAR.parse(line).args


TEXT_ONLY = Capabilities()


def started(locale: str = "fr", line: str | None = None, caps: Capabilities = TEXT_ONLY,
            config: dict[str, Any] | None = None) -> tuple[Sim, list[Any]]:
    sim = Sim(KIND, context(config or {}, locale=locale, capabilities=caps), START)
    out = sim.send(Started(by=ALICE, channel="general", params=parsed(line or SLOTS[locale])))
    return sim, out


def answer(sim: Sim, who: Any, line: str, after: timedelta = timedelta(minutes=1)) -> list[Any]:
    """A member's answer, `after` the previous event (a minute: past the table's `refresh`)."""
    p = GRAMMAR.parse(line)
    assert p.spec is ANSWER
    sim.run_until(sim.now + after)
    return sim.send(command(who, ANSWER.name, **p.args))


def state(sim: Sim) -> DatePollState:
    assert isinstance(sim.state, DatePollState)
    return sim.state


def counts(sim: Sim) -> list[tuple[int, int, int]]:
    return [(s.yes, s.maybe, s.no) for s in state(sim).slots]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_slots_are_read_and_the_table_is_one_post(locale: str) -> None:
    sim, out = started(locale)
    (table,) = posts(out)
    assert table.ref == TABLE and table.channel == "general" and table.choices == []
    said = text(table, locale)
    if locale == "fr":
        assert said.startswith("📅 Sondage de dates : Comité de pilotage (proposé par Alice)\n"
                               "1. mar. 12 janv. à 18 h — ✅ 0 · 🤔 0 · ❌ 0\n"
                               "2. jeu. 14 janv. à 12 h 30 — ✅ 0 · 🤔 0 · ❌ 0\n"
                               "3. lun. 18 janv. à 18 h — ✅ 0 · 🤔 0 · ❌ 0\n"
                               "Personne n'a encore répondu.\nRéponses jusqu'au ven. 8 janv. à 18 h.")
        assert "dates 1 oui, 2 si besoin, 3 non" in said
    else:
        assert said.startswith("📅 Date poll: Comité de pilotage (proposed by Alice)\n1. Tue 12 Jan at 18:00")
        assert "Nobody has answered yet." in said and "when 1 yes, 2 if needed, 3 no" in said
    assert [s.start for s in state(sim).slots] == [paris(2027, 1, 12, 18), paris(2027, 1, 14, 12, 30),
                                                  paris(2027, 1, 18, 18)]
    assert state(sim).deadline == DEADLINE
    # The deadline, and the reminder a day before it.
    assert sim.timers == {Ref(role="close"): DEADLINE, Ref(role="remind"): paris(2027, 1, 7, 18)}


def test_iso_slots_are_put_in_time_order_and_the_default_deadline_is_before_the_first() -> None:
    sim, _ = started(line="dates « AG » 2027-01-20T18:00, 2027-01-15T09:30 salle B")
    assert [(s.start, s.place) for s in state(sim).slots] == [(paris(2027, 1, 15, 9, 30), "salle B"),
                                                             (paris(2027, 1, 20, 18), None)]
    assert state(sim).deadline == paris(2027, 1, 13, 9, 30)  # `close_before`: two days by default


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_answers_are_rows_per_slot_and_a_change_edits_the_table(locale: str) -> None:
    sim, _ = started(locale)
    yes, maybe, no = ("oui", "si besoin", "non") if locale == "fr" else ("yes", "if needed", "no")
    cmd = "dates" if locale == "fr" else "when"
    out = answer(sim, BOB, f"{cmd} 1 {yes}, 2 {maybe}, 3 {no}")
    assert [a for a in out if isinstance(a, RecordAnswer)] == [
        RecordAnswer(member="bob", topic="dates", part=1, value="yes"),
        RecordAnswer(member="bob", topic="dates", part=2, value="maybe"),
        RecordAnswer(member="bob", topic="dates", part=3, value="no")]
    # The edited table is the feedback: nothing said privately.
    assert notes(out) == [] and dms(out) == []
    (edit,) = edits(out)
    assert edit.ref == TABLE
    assert ("1 personne a répondu." if locale == "fr" else "1 person answered.") in text(edit, locale)
    answer(sim, CHLOE, f"{cmd} 1 {yes}")
    out = answer(sim, BOB, f"{cmd} 2 {no}")  # Bob changes his mind on slot 2
    assert [a for a in out if isinstance(a, RecordAnswer)] == [
        RecordAnswer(member="bob", topic="dates", part=2, value="no")]
    assert counts(sim) == [(2, 0, 0), (0, 0, 1), (0, 0, 1)] and state(sim).answered == 2
    # What the weekly digest lists among what awaits answers.
    assert KIND.summarize(state(sim)) == {"title": "Comité de pilotage", "deadline": DEADLINE.isoformat(),
                                          "answered": 2, "channels": ["general"],
                                          "slots": [s.start.isoformat() for s in state(sim).slots]}
    said = text(edits(out)[0], locale)
    assert "2. " in said and ("2 personnes ont répondu." if locale == "fr" else "2 people answered.") in said
    # The same answer again changes nothing: no row, no edit.
    assert answer(sim, BOB, f"{cmd} 2 {no}") == []


def test_answers_close_together_are_shown_in_one_later_edit() -> None:
    sim, _ = started()
    assert len(edits(answer(sim, BOB, "dates 1 oui"))) == 1  # at once: the table is the feedback
    edited = sim.now
    second = answer(sim, CHLOE, "dates 1 oui", after=timedelta(seconds=10))
    third = answer(sim, DAN, "dates 2 non", after=timedelta(seconds=10))
    assert edits(second) == [] and edits(third) == []  # one edit planned, a minute after the last
    assert sim.timers[Ref(role="refresh")] == edited + timedelta(minutes=1)
    (edit,) = edits(sim.run_until(edited + timedelta(minutes=1)))
    assert "1. mar. 12 janv. à 18 h — ✅ 2 · 🤔 0 · ❌ 0" in text(edit) and "3 personnes ont répondu." in text(edit)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_slack_buttons_one_row_per_slot_and_matrix_one_poll_per_slot_in_the_thread(locale: str) -> None:
    sim, out = started(locale, caps=Capabilities(buttons=True))
    (table,) = posts(out)
    assert [c.id for c in table.choices] == [f"{n}.{a}" for n in (1, 2, 3) for a in ("yes", "maybe", "no")]
    assert render_plain(table.choices[4].label, locale) == ("2 · Si besoin" if locale == "fr" else "2 · If needed")
    out = sim.send(Chose(member=BOB, ref=TABLE, channel="general", choice="2.maybe", via="button"))
    assert [a for a in out if isinstance(a, RecordAnswer)] == [
        RecordAnswer(member="bob", topic="dates", part=2, value="maybe")]
    assert notes(out) == [] and edits(out)[0].choices is None  # the buttons stay
    # A reaction on the table says no slot: no answer.
    assert sim.send(Chose(member=BOB, ref=TABLE, channel="general", choice="3.no", via="reaction")) == []

    sim, out = started(locale, caps=Capabilities(polls=True))
    table, *polls = posts(out)
    assert table.choices == [] and [p.thread for p in polls] == [TABLE] * 3
    assert [p.ref for p in polls] == [Ref(role="slot", n=n) for n in (1, 2, 3)]
    assert all(p.choice_style == "poll" and [c.id for c in p.choices] == ["yes", "maybe", "no"] for p in polls)
    assert text(polls[1], locale) == ("Créneau 2 : jeu. 14 janv. à 12 h 30" if locale == "fr"
                                      else "Slot 2: Thu 14 Jan at 12:30")
    sim.send(Chose(member=BOB, ref=Ref(role="slot", n=2), channel="general", choice="yes", via="poll"))
    assert counts(sim)[1] == (1, 0, 0)
    # A vote withdrawn from the poll withdraws the answer.
    out = sim.send(Chose(member=BOB, ref=Ref(role="slot", n=2), channel="general", choice=None, via="poll"))
    assert [a for a in out if isinstance(a, RecordAnswer)] == [
        RecordAnswer(member="bob", topic="dates", part=2, value=None)]
    assert counts(sim)[1] == (0, 0, 0) and state(sim).answered == 0


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_one_private_reminder_to_those_who_have_not_answered_never_the_launcher(locale: str) -> None:
    sim, _ = started(locale)
    answer(sim, BOB, "dates 1 oui")
    out = sim.run_until(paris(2027, 1, 7, 18, 1))
    reminded = dms(out)
    assert sorted(d.member for d in reminded) == ["chloe", "dan"]  # not Bob (answered), not Alice
    said = text(reminded[0], locale)
    if locale == "fr":
        assert said.startswith("📅 Vous n'avez pas encore répondu au sondage de dates « Comité de pilotage »")
        assert "1. mar. 12 janv. à 18 h" in said and "dates 1 oui, 2 si besoin, 3 non" in said
    else:
        assert said.startswith('📅 You have not answered the date poll "Comité de pilotage" yet')
    assert all(d.valid_until == DEADLINE for d in reminded)
    # Once: nothing more before the close.
    assert dms(sim.run_until(paris(2027, 1, 8, 17, 59))) == []


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_at_the_deadline_the_best_slot_becomes_a_meeting_with_the_answers_as_rsvps(locale: str) -> None:
    sim, _ = started(locale)
    answer(sim, BOB, "dates 1 oui, 2 oui, 3 non")
    answer(sim, CHLOE, "dates 1 si besoin, 2 oui")
    answer(sim, DAN, "dates 1 oui, 2 si besoin")
    # Slot 1: 2 oui 1 si besoin; slot 2: 2 oui 1 si besoin... Dan changes slot 1 to non.
    answer(sim, DAN, "dates 1 non")
    out = sim.run_until(DEADLINE)
    (edit,) = edits(out)
    assert edit.choices is None  # a table without buttons keeps having none
    said = text(edit, locale)
    assert (("👉 2. jeu. 14 janv. à 12 h 30 — ✅ 2 · 🤔 1 · ❌ 0" in said
             and "Clos : la réunion aura lieu jeu. 14 janv. à 12 h 30." in said) if locale == "fr" else
            "Closed: the meeting will be on Thu 14 Jan at 12:30." in said)
    (start,) = [a for a in out if isinstance(a, StartRitual)]
    assert start.kind == "meeting" and start.by == "alice" and start.channel == "general"
    assert start.params["one_off"]["start"] == paris(2027, 1, 14, 12, 30).isoformat()
    assert start.params["rsvps"] == {"bob": "yes", "chloe": "yes", "dan": "maybe"}
    (record,) = sim.records("datepoll")
    assert record.summary["outcome"] == "closed" and record.summary["chosen"] == start.params["one_off"]["start"]
    assert [s["yes"] for s in record.summary["slots"]] == [1, 2, 0]
    assert isinstance(out[-1], Finish) and posts(out) == []  # the meeting's post is the next one


def test_the_meeting_started_by_the_poll_keeps_the_answers_as_its_rsvps() -> None:
    meeting = Sim(MEETING, context({}), START)
    out = meeting.send(Started(by=ALICE, channel="general", params={
        "one_off": {"title": "Comité de pilotage", "start": paris(2027, 1, 14, 12, 30).isoformat(),
                    "place": "salle B", "link": None},
        "rsvps": {"bob": "yes", "chloe": "maybe", "dan": "no", "gone": "yes"}}))
    (post,) = posts(out)
    assert text(post).startswith("📅 Nouvelle réunion : Comité de pilotage (proposée par Alice)")
    assert "jeudi 14 janvier 2027 à 12 h 30" in text(post) and "salle B" in text(post)
    # « si besoin » is the meeting's « peut-être »; someone who left the network is not kept.
    assert [a for a in out if isinstance(a, RecordAnswer)] == [
        RecordAnswer(member="bob", topic="rsvp", part=1, value="yes"),
        RecordAnswer(member="chloe", topic="rsvp", part=1, value="maybe"),
        RecordAnswer(member="dan", topic="rsvp", part=1, value="no")]
    assert meeting.state.occurrences[0].rsvp_counts == {"yes": 1, "no": 1, "maybe": 1}  # type: ignore[union-attr]
    # Its usual reminders follow: the day before, the table of who comes.
    later = meeting.run_until(paris(2027, 1, 14, 11, 31))
    assert any(isinstance(a, Edit) and "Bob" in text(a) for a in later)
    # Held and its attendance closed, this one meeting's ritual is over (a network's calendar never is).
    assert not any(isinstance(a, Finish) for a in meeting.run_until(paris(2027, 1, 15, 14, 0)))
    after = meeting.run_until(paris(2027, 1, 15, 15, 0))
    assert isinstance(after[-1], Finish) and after[-1].outcome == "held"


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_tie_is_left_to_the_animateur_who_picks_with_dates_clore_n(locale: str) -> None:
    sim, _ = started(locale)
    answer(sim, BOB, "dates 1 oui, 3 oui")
    answer(sim, CHLOE, "dates 1 si besoin, 3 si besoin")
    out = sim.run_until(DEADLINE)
    assert [a for a in out if isinstance(a, StartRitual)] == []
    (edit,) = edits(out)
    assert (("Égalité entre les créneaux 1, 3 : Alice choisit avec « dates clore 1 »" in text(edit, locale))
            if locale == "fr" else 'Tie between slots 1, 3: Alice chooses with "when close 1"' in text(edit, locale))
    (ask,) = [d for d in dms(out) if d.member == "alice"]  # the others were reminded the day before
    assert ("3. lun. 18 janv. à 18 h" if locale == "fr" else "3. Mon 18 Jan at 18:00") in text(ask, locale)
    assert ("dates clore N" if locale == "fr" else "when close N") in text(ask, locale)
    # Answers are closed meanwhile.
    (refused,) = answer(sim, DAN, "dates 2 oui")
    assert isinstance(refused, PrivateNote) and refused.member == "dan"
    out = sim.send(command(ALICE, CLOSE.name, slot=3))
    (start,) = [a for a in out if isinstance(a, StartRitual)]
    assert start.params["one_off"]["start"] == paris(2027, 1, 18, 18).isoformat()
    assert start.params["rsvps"] == {"bob": "yes", "chloe": "maybe"}
    assert ("👉 3. lun. 18 janv. à 18 h" if locale == "fr" else "👉 3. Mon 18 Jan at 18:00") in text(edits(out)[0], locale)


def test_a_tie_nobody_settles_ends_without_a_meeting_at_the_first_tied_slot() -> None:
    sim, _ = started()
    answer(sim, BOB, "dates 1 oui, 2 oui")
    sim.run_until(DEADLINE)
    out = sim.run_until(paris(2027, 1, 12, 18))
    assert [a for a in out if isinstance(a, StartRitual)] == [] and isinstance(out[-1], Finish)
    assert "Clos sans créneau retenu" in text(edits(out)[0])
    assert sim.records("datepoll")[0].summary["outcome"] == "lapsed"


def test_dates_clore_closes_before_the_deadline() -> None:
    sim, _ = started()
    answer(sim, BOB, "dates 3 oui")
    out = sim.send(command(ALICE, CLOSE.name))
    (start,) = [a for a in out if isinstance(a, StartRitual)]
    assert start.params["rsvps"] == {"bob": "yes"}
    assert isinstance(out[-1], Finish) and sim.timers == {}
    # After the close, an answer is refused privately and changes nothing.
    (late,) = answer(sim, CHLOE, "dates 1 oui")
    assert isinstance(late, PrivateNote) and "est clos" in text(late)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_cancel(locale: str) -> None:
    sim, _ = started(locale)
    out = sim.send(command(ALICE, CANCEL.name, reason="la salle n'est plus libre"))
    (edit,) = edits(out)
    assert (("Sondage annulé par Alice. Raison : la salle n'est plus libre" in text(edit, locale)) if locale == "fr"
            else "Poll cancelled by Alice. Reason: la salle n'est plus libre" in text(edit, locale))
    assert [a for a in out if isinstance(a, StartRitual)] == [] and isinstance(out[-1], Finish)
    assert sim.records("datepoll")[0].summary["outcome"] == "cancelled"


REFUSED = [
    ("dates « X » mar 12/01, jeu 14/01 12h30", "datepoll.start.bad_slot",
     "Créneau 1 : Date et heure « mar 12/01 » : il manque l'heure"),
    ("dates « X » mer 12/01 18h, jeu 14/01 12h30", "datepoll.start.wrong_weekday",
     "Créneau 1 : « mer 12/01 18h » ne tombe pas ce jour-là, c'est un mardi 12 janvier 2027."),
    ("dates « X » 2027-01-02T18:00, jeu 14/01 12h30", "datepoll.start.bad_slot", "Créneau 1 :"),
    ("dates « X » mar 12/01 18h, 2027-01-12T18:00", "datepoll.start.duplicate",
     "Le créneau mar. 12 janv. à 18 h est proposé deux fois"),
    ("dates « X » mar 12/01 18h, jeu 14/01 12h30 jusqu'au 13/01", "datepoll.start.deadline_after",
     "L'échéance (mer. 13 janv. à 18 h) tombe après le premier créneau (mar. 12 janv. à 18 h)"),
    ("dates « X » mar 12/01 18h", "datepoll.start.too_few", "Proposez au moins deux créneaux"),
    ("dates « X » mar 12/01 18h, jeu 14/01 12h30 jusqu'à hier", "datepoll.start.bad_deadline", "Échéance :"),
    ("dates « X » mar 5/01 10h, jeu 14/01 12h30", "datepoll.start.no_time", "est trop proche"),
]


@pytest.mark.parametrize(("line", "key", "said"), REFUSED)
def test_bad_slots_and_deadlines_are_refused_saying_what_was_expected(line: str, key: str, said: str) -> None:
    with pytest.raises(CommandError) as refused:
        started(line=line)
    assert refused.value.msg.key == key
    assert said in render_plain(refused.value.msg, "fr").replace("\u00a0", " ").replace("\u202f", " ")


def test_bad_slots_are_refused_in_english_too() -> None:
    with pytest.raises(CommandError) as refused:
        started("en", line='when "X" wed 12/01 6pm, thu 14/01 12:30')
    assert render_plain(refused.value.msg, "en").startswith(
        'Slot 1: "wed 12/01 6pm" is not on that day, it is a Tuesday 12 January 2027.')


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_bad_answers_are_refused_privately(locale: str) -> None:
    with pytest.raises(CommandError) as refused:
        GRAMMAR.parse("dates 1 peut-être pas")
    assert refused.value.msg.key == "datepoll.cmd.bad_answer"
    sim, _ = started(locale)
    (note,) = answer(sim, BOB, "dates 4 oui")
    assert isinstance(note, PrivateNote) and text(note, locale) == (
        "Il n'y a pas de créneau 4 : le sondage en a 3, numérotés de 1 à 3." if locale == "fr"
        else "There is no slot 4: the poll has 3, numbered 1 to 3.")
    assert counts(sim) == [(0, 0, 0)] * 3


def test_the_reminder_lead_is_configurable_and_none_turns_it_off() -> None:
    sim, _ = started(config={"reminder": "2 jours"})
    assert sim.timers[Ref(role="remind")] == paris(2027, 1, 6, 18)
    sim, _ = started(config={"reminder": None})
    assert Ref(role="remind") not in sim.timers


def test_a_dm_answer_is_a_direct_message_when_refused() -> None:
    sim, _ = started()
    (note,) = sim.send(command(BOB, ANSWER.name, channel="dm", answers=[{"slot": 9, "answer": "yes"}]))
    assert isinstance(note, DirectMessage) and note.member == "bob"


def test_the_grammar_reads_slots_and_answers_as_lists_and_dates_n_as_an_answer() -> None:
    p = GRAMMAR.parse(SLOTS["fr"])
    assert p.spec.name == "dates" and p.args == {
        "title": "Comité de pilotage", "slots": ["mar 12/01 18h", "jeu 14/01 12h30", "lun 18/01 18h"],
        "deadline": "vendredi"}
    p = GRAMMAR.parse("dates #2 2 non, 3 si besoin")
    assert p.spec is ANSWER and p.ritual_number == 2
    assert p.args == {"answers": [{"slot": 2, "answer": "no"}, {"slot": 3, "answer": "maybe"}]}
    assert GRAMMAR.parse("when 1 if needed").args == {"answers": [{"slot": 1, "answer": "maybe"}]}
    with pytest.raises(CommandError) as refused:
        GRAMMAR.parse("dates 1 oui 2 non")  # the commas are needed
    assert refused.value.msg.key == "datepoll.cmd.bad_answer"
    with pytest.raises(CommandError) as refused:
        GRAMMAR.parse("dates « X »")
    assert refused.value.msg.key == "datepoll.cmd.slots_missing"
    with pytest.raises(CommandError) as refused:
        GRAMMAR.parse("dates 12/01 18h, 14/01 12h30")  # a date first: the title was forgotten
    assert refused.value.msg.key == "datepoll.cmd.title_missing"
    assert GRAMMAR.parse("dates 2. non").args == {"answers": [{"slot": 2, "answer": "no"}]}


def test_french_weekday_abbreviations_are_weekdays_not_months() -> None:
    from bot.kernel.timetext import parse_appointment, parse_deadline

    # "mar" was read as March (mars) by dateparser, and "12/01" as the year 2101.
    assert parse_appointment("mar 12/01 18h", START, "Europe/Paris").start == paris(2027, 1, 12, 18)
    assert parse_appointment("sam. 9/01 10h", START, "Europe/Paris").start == paris(2027, 1, 9, 10)
    assert parse_deadline("ven", START, "Europe/Paris") == paris(2027, 1, 8, 18)


def test_no_parameter_inside_bold() -> None:
    # The renderer applies **bold** to template text between parameters only.
    from bot.kernel.i18n import catalog

    for locale in ("fr", "en"):
        for key, template in catalog(locale).items():
            if key.startswith("datepoll."):
                assert all("{" not in bold for bold in re.findall(r"\*\*(.+?)\*\*", template)), (locale, key)
