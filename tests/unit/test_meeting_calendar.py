"""Meeting scenarios on a fake clock: DST, reminders, RSVP, agenda cut-off, attendance, minutes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.kernel.model import Action, DirectMessage, Edit, Post, Record, Ref, Started
from scenarios.meeting import KIND
from scenarios.meeting.state import MeetingsState
from tests.unit.test_meeting_support import (
    ALICE,
    BOB,
    CHLOE,
    DAN,
    TZ,
    Sim,
    chose,
    command,
    context,
    dms,
    edits,
    mref,
    notes,
    paris,
    posts,
    text,
)

MONTHLY = {
    "channels": ["general"],
    "title": "Comité",
    "rrule": "FREQ=MONTHLY;BYDAY=-1TU",  # last Tuesday: 31 March 2026 is two days after the spring change
    "time": "18:00",
    "place": "Maison des associations",
}


def started(config: dict[str, Any], at: Any, **kw: Any) -> Sim:
    sim = Sim(KIND, context(config, **kw), at)
    sim.send(Started())
    return sim


def reminder_times(sim: Sim) -> list[tuple[str, Ref, str]]:
    """When the meeting's one post was posted, then edited by each reminder."""
    return [(e.at.astimezone(TZ).strftime("%Y-%m-%d %H:%M %z"), e.action.ref, type(e.action).__name__)
            for e in sim.emitted
            if isinstance(e.action, Post | Edit) and e.action.ref is not None and e.action.ref.role == "post"
            and not (isinstance(e.action, Edit) and e.action.choices == [])]  # not the page of record


def shown(actions: list[Action]) -> list[Post | Edit]:
    """The meeting's post as posted or edited."""
    return [a for a in actions if isinstance(a, Post | Edit) and a.ref is not None and a.ref.role == "post"]


# --- eight weeks across daylight saving --------------------------------------------------


def test_eight_weeks_of_a_monthly_meeting_across_the_spring_change() -> None:
    sim = started(MONTHLY, paris(2026, 2, 15, 9, 0))
    sim.run_until(paris(2026, 2, 15, 9, 0) + timedelta(weeks=8))

    # Every reminder at the same local wall-clock time, before and after 29 March: one post per
    # meeting, seven days before, that the later reminders edit.
    assert reminder_times(sim) == [
        ("2026-02-17 18:00 +0100", mref("main.20260224", "post"), "Post"),
        ("2026-02-23 18:00 +0100", mref("main.20260224", "post"), "Edit"),
        ("2026-02-24 17:00 +0100", mref("main.20260224", "post"), "Edit"),
        ("2026-03-24 18:00 +0100", mref("main.20260331", "post"), "Post"),  # seven days before, still winter time
        ("2026-03-30 18:00 +0200", mref("main.20260331", "post"), "Edit"),
        ("2026-03-31 17:00 +0200", mref("main.20260331", "post"), "Edit"),
    ]
    held = sim.records("attendance")
    assert [r.summary["start"] for r in held] == ["2026-02-24T18:00:00+01:00", "2026-03-31T18:00:00+02:00"]
    # Said the French way, in local time, on both sides of the change.
    march = next(p for p in posts(e.action for e in sim.emitted) if p.ref == mref("main.20260331", "post"))
    assert "mardi 31 mars 2026 à 18 h" in text(march)
    assert "dans 7 jours" in text(march)
    assert "Maison des associations" in text(march)
    # Personal reminders are asked for: the post says how, where everyone reads it.
    assert "Un rappel en message privé avant chaque réunion ? reunion rappels perso" in text(march)
    # The later reminders say it the way people do: tomorrow, then in an hour.
    march_edits = [e for e in edits(e.action for e in sim.emitted) if e.ref == mref("main.20260331", "post")
                   and e.choices is None]
    assert [text(e).split("\n")[0] for e in march_edits] == ["📅 Réunion : Comité, demain", "📅 Réunion : Comité, dans 1 heure"]
    # The April meeting is already on the calendar (summary for the digest), at 18:00 too.
    assert KIND.summarize(sim.state)["upcoming"][0]["start"] == "2026-04-28T18:00:00+02:00"  # type: ignore[arg-type,index]


def test_autumn_change_keeps_reminders_at_local_time() -> None:
    sim = started(MONTHLY, paris(2026, 10, 1, 9, 0))
    sim.run_until(paris(2026, 10, 28, 9, 0))
    assert reminder_times(sim) == [
        ("2026-10-20 18:00 +0200", mref("main.20261027", "post"), "Post"),
        ("2026-10-26 18:00 +0100", mref("main.20261027", "post"), "Edit"),
        ("2026-10-27 17:00 +0100", mref("main.20261027", "post"), "Edit"),
    ]


def test_state_is_json_serialisable_and_handle_is_pure() -> None:
    sim = started(MONTHLY, paris(2026, 2, 15, 9, 0))
    before = sim.state.model_dump_json()  # type: ignore[union-attr]
    event = chose(BOB, mref("main.20260224", "post"), "yes")
    # The answers the engine would load for this event (Bob's own: none yet).
    scenario = KIND.bind(replace(sim.ctx, answers=sim.book.view(KIND, sim.state, event, paris(2026, 2, 18))))
    _, actions1 = scenario.handle(sim.state, event, paris(2026, 2, 18))  # type: ignore[arg-type]
    _, actions2 = scenario.handle(sim.state, event, paris(2026, 2, 18))  # type: ignore[arg-type]
    assert actions1 == actions2
    assert sim.state.model_dump_json() == before  # type: ignore[union-attr]
    assert MeetingsState.model_validate_json(before) == sim.state


# --- reminders, RSVP ---------------------------------------------------------------------


def test_rsvp_changes_and_the_last_reminder_lists_who_answered_what() -> None:
    sim = started(MONTHLY, paris(2026, 3, 20, 9, 0))
    sim.run_until(paris(2026, 3, 24, 18, 0))  # the 7-day reminder
    ref = mref("main.20260331", "post")
    sim.send(chose(ALICE, ref, "yes"))
    sim.send(chose(BOB, ref, "maybe"))
    sim.send(chose(BOB, ref, "no"))  # the latest answer counts
    sim.send(chose(CHLOE, ref, "yes"))
    sim.send(chose(CHLOE, ref, None, removed="yes"))  # reaction withdrawn
    sim.send(chose(DAN, ref, None, removed="no"))  # withdrawing what one never said: nothing

    day_before = sim.run_until(paris(2026, 3, 30, 18, 0))
    # No new post: the answers (coalesced, one edit a minute later) and the reminder edit it.
    assert posts(day_before) == [] and [e.ref for e in edits(day_before)] == [mref("main.20260331", "post")] * 2
    assert "1 présent·e, 1 absent·e, 0 peut-être" in text(edits(day_before)[0])
    assert "demain" in text(edits(day_before)[-1])

    last = edits(sim.run_until(paris(2026, 3, 31, 17, 0)))
    body = text(last[0])
    assert "Qui vient ?" in body
    # Those who did not answer are counted, never named.
    assert "✅ Alice\n❌ Bob\n🤔 personne\nSans réponse : 2" in body and "Dan" not in body
    assert last[0].choices is None  # the choices stay as posted
    assert last[0].valid_until == paris(2026, 3, 31, 18, 0)


def test_where_polls_are_not_edited_once_voted_on_the_post_takes_reactions() -> None:
    from bot.kernel.scenario import Capabilities

    matrix = Capabilities(buttons=False, polls=True, reactions=True, threads=True, edits=True)
    sim = Sim(KIND, context(MONTHLY, capabilities=matrix), paris(2026, 3, 20, 9, 0))
    sim.send(Started())
    (post,) = posts(sim.run_until(paris(2026, 3, 24, 18, 0)))
    assert post.choice_style == "reactions" and [c.emoji for c in post.choices] == ["✅", "❌", "🤔"]
    assert "Répondez en réagissant : ✅ présent·e" in text(post)


def test_a_button_answer_is_acknowledged_privately_a_reaction_or_a_poll_vote_is_not() -> None:
    sim = started(MONTHLY, paris(2026, 3, 20, 9, 0))
    assert notes(sim.send(chose(BOB, mref("main.20260331", "post"), "yes"))) == []
    assert notes(sim.send(chose(BOB, mref("main.20260331", "post"), "maybe", via="poll"))) == []  # the poll shows the vote
    acks = notes(sim.send(chose(BOB, mref("main.20260331", "post"), "no", via="button")))
    assert len(acks) == 1 and acks[0].member == "bob"
    assert text(acks[0]) == "C'est noté : Absent·e pour « Comité » (mardi 31 mars 2026 à 18 h)."


def test_personal_reminders_go_only_to_those_who_asked_and_not_to_those_absent() -> None:
    sim = started(MONTHLY, paris(2026, 3, 20, 9, 0))
    on = notes(sim.send(command(CHLOE, "reunion rappels perso")))
    assert text(on[0]) == ("C'est noté : je vous enverrai un rappel en message privé avant chaque réunion "
                           "(24 heures avant), sauf si vous avez répondu absent·e. Pour arrêter : reunion rappels perso non.")
    sim.send(command(DAN, "reunion rappels perso"))
    sim.send(command(BOB, "reunion rappels perso"))
    sim.send(chose(BOB, mref("main.20260331", "post"), "no"))
    sim.send(chose(CHLOE, mref("main.20260331", "post"), "yes"))
    out = sim.run_until(paris(2026, 3, 30, 18, 0))
    personal = dms(out)
    # Alice did not ask; Bob asked but said he cannot come.
    assert sorted(d.member for d in personal) == ["chloe", "dan"]
    chloe_dm = next(d for d in personal if d.member == "chloe")
    assert "Votre réponse : Présent·e." in text(chloe_dm)
    assert "🔕" in text(chloe_dm)
    assert [c.id for c in chloe_dm.choices] == ["yes", "no", "maybe", "mute"]

    # Dan mutes the series from his reminder; the next month he gets no personal reminder.
    ack = sim.send(chose(DAN, mref("main.20260331", "dm", member="dan"), "mute", channel="dm"))
    assert isinstance(ack[0], DirectMessage) and "plus de rappels personnels pour « Comité »" in text(ack[0])
    april = dms(sim.run_until(paris(2026, 4, 27, 18, 0)))
    assert sorted(d.member for d in april) == ["bob", "chloe"]

    # Chloe mutes by command, then changes her mind; then stops them all (English alias too).
    sim.send(command(CHLOE, "reunion sourdine", series="comité"))
    assert sim.state.muted == {"chloe": ["main"], "dan": ["main"]}  # type: ignore[union-attr]
    sim.send(command(CHLOE, "reunion reactiver"))
    assert sim.state.muted == {"dan": ["main"]}  # type: ignore[union-attr]
    off = notes(sim.send(command(CHLOE, "reunion rappels perso non")))
    assert text(off[0], "fr").startswith("C'est noté : plus de rappels en message privé.")
    assert "chloe" not in sim.state.personal  # type: ignore[union-attr]
    may = dms(sim.run_until(paris(2026, 5, 25, 18, 0)))
    assert sorted(d.member for d in may) == ["bob"]


def test_mute_command_asks_which_series_when_there_are_several() -> None:
    config = {"channels": ["general"], "series": [
        {"id": "comite", "title": "Comité", "rrule": "FREQ=MONTHLY;BYDAY=2TU", "time": "18:00"},
        {"id": "pleniere", "title": "Plénière", "rrule": "FREQ=MONTHLY;BYMONTH=1,6;BYMONTHDAY=15", "time": "10:00"},
    ]}
    sim = started(config, paris(2026, 1, 2, 9, 0))
    reply = notes(sim.send(command(BOB, "reunion sourdine")))
    assert "• Comité\n• Plénière" in text(reply[0])
    sim.send(command(BOB, "reunion rappels perso"))
    sim.send(command(BOB, "reunion sourdine", series="Plénière"))
    assert sim.state.muted == {"bob": ["pleniere"]}  # type: ignore[union-attr]
    assert sim.state.personal == {"bob": ["*"]}  # type: ignore[union-attr]
    # A series by name: only its meetings.
    sim.send(command(CHLOE, "reunion rappels perso", series="comité"))
    assert sim.state.personal["chloe"] == ["comite"]  # type: ignore[union-attr]


# --- agenda ------------------------------------------------------------------------------


def test_agenda_items_appear_in_reminders_until_the_cut_off_then_go_to_the_next_meeting() -> None:
    sim = started(MONTHLY, paris(2026, 3, 20, 9, 0))
    ack = notes(sim.send(command(BOB, "ordre-du-jour", text="Budget 2027")))
    assert text(ack[0]) == ("C'est noté : « Budget 2027 » est à l'ordre du jour de « Comité » "
                            "(mardi 31 mars 2026 à 18 h).")
    week_before = shown(sim.run_until(paris(2026, 3, 24, 18, 0)))
    assert "Ordre du jour\n1. Budget 2027 (Bob)\nD'autres points ?" in text(week_before[0])
    assert "jusqu'au lun. 30 mars à 18 h" in text(week_before[0])

    # Cut-off: one day before. An item sent later goes to the April meeting, and Chloe is told.
    sim.run_until(paris(2026, 3, 30, 18, 30))
    late = notes(sim.send(command(CHLOE, "ordre-du-jour", text="Fête de l'été")))
    assert text(late[0]) == ("L'ordre du jour de « Comité » du mardi 31 mars est clos : « Fête de l'été » "
                             "est ajouté à la réunion suivante, mardi 28 avril 2026 à 18 h.")
    last = shown(sim.run_until(paris(2026, 3, 31, 17, 0)))
    assert "1. Budget 2027 (Bob)" in text(last[-1])
    assert "Fête" not in text(last[-1]) and "D'autres points" not in text(last[-1])

    april = shown(sim.run_until(paris(2026, 4, 21, 18, 0)))
    assert "1. Fête de l'été (Chloe)" in text(april[-1])


def test_agenda_without_text_shows_it_and_a_one_off_past_its_cut_off_refuses() -> None:
    sim = started({"channels": ["general"]}, paris(2026, 5, 4, 9, 0))
    assert text(notes(sim.send(command(BOB, "ordre-du-jour")))[0]) == (
        "Aucune réunion n'est prévue ici pour l'instant.")
    sim.send(command(ALICE, "reunion", title="AG extraordinaire", text="demain à 18h à la mairie"))
    shown = text(notes(sim.send(command(BOB, "ordre-du-jour")))[0])
    assert shown.startswith("📅 « AG extraordinaire », mardi 5 mai 2026 à 18 h")
    sim.run_until(paris(2026, 5, 4, 18, 1))
    refused = text(notes(sim.send(command(BOB, "ordre-du-jour", text="Divers")))[0])
    assert refused.startswith("L'ordre du jour de « AG extraordinaire » est clos depuis lun. 4 mai à 18 h")


# --- one-off meetings by command ---------------------------------------------------------


def test_an_animateur_schedules_a_one_off_in_french() -> None:
    sim = started({"channels": ["general"]}, paris(2025, 12, 9, 10, 0))
    out = sim.send(command(ALICE, "reunion", title="Comité",
                           text="le 12 décembre à 18h à la Maison des associations"))
    announce = posts(out)
    assert len(announce) == 1 and announce[0].ref == mref("once-1", "post")
    body = text(announce[0])
    assert body.startswith("📅 Nouvelle réunion : Comité (proposée par Alice)")
    assert "🗓 vendredi 12 décembre 2025 à 18 h\n📍 la Maison des associations" in body
    # Created three days ahead: the 7-day reminder is not sent at all, the others are planned.
    assert {n: t.astimezone(TZ).strftime("%d %H:%M") for n, t in sim.timers.items()} == {
        mref("once-1", "r", 1): "11 18:00", mref("once-1", "r", 2): "12 17:00", mref("once-1", "p", 0): "11 18:00",
        mref("once-1", "end"): "12 20:00",
    }


@pytest.mark.parametrize(("typed", "expected"), [
    ("le 12 décembre", "Je n'ai pas trouvé d'heure dans « le 12 décembre »."),
    ("hier à 18h", "« hier à 18h » est déjà passé : indiquez une date à venir."),
    ("quand on pourra à 18h", "Je n'ai pas compris la date dans « quand on pourra à 18h »."),
])
def test_a_one_off_that_cannot_be_read_gets_a_short_answer(typed: str, expected: str) -> None:
    sim = started({"channels": ["general"]}, paris(2025, 12, 9, 10, 0))
    out = sim.send(command(ALICE, "reunion", title="Comité", text=typed))
    assert [type(a).__name__ for a in out] == ["PrivateNote"]
    assert text(notes(out)[0]).startswith(expected)


def test_only_animateurs_schedule_meetings() -> None:
    sim = started({"channels": ["general"]}, paris(2025, 12, 9, 10, 0))
    out = sim.send(command(BOB, "reunion", title="Comité", text="demain à 18h"))
    assert [text(n) for n in notes(out)] == ["Seule l'équipe d'animation peut programmer une réunion."]


# --- after the meeting ---------------------------------------------------------------------


def test_attendance_is_asked_corrected_and_recorded_with_the_page_of_record() -> None:
    sim = started(MONTHLY, paris(2026, 3, 20, 9, 0))
    sim.send(command(BOB, "ordre-du-jour", text="Budget 2027"))
    sim.send(chose(ALICE, mref("main.20260331", "post"), "yes"))
    sim.send(chose(BOB, mref("main.20260331", "post"), "yes"))
    sim.send(chose(CHLOE, mref("main.20260331", "post"), "maybe"))

    ask = posts(sim.run_until(paris(2026, 3, 31, 20, 0)))[-1]
    # In the meeting post's thread: not a second post in the channel.
    assert ask.ref == mref("main.20260331", "att") and ask.thread == mref("main.20260331", "post")
    assert "D'après vos réponses : Alice, Bob." in text(ask)
    assert "jusqu'au mer. 1er avr. à 20 h" in text(ask)

    sim.send(chose(BOB, ask.ref, "missed"))  # Bob could not come after all
    sim.send(chose(CHLOE, ask.ref, "came"))  # Chloe did
    sim.send(chose(DAN, ask.ref, "came"))
    sim.send(chose(DAN, ask.ref, None, removed="came"))  # Dan clicked by mistake

    closed = sim.run_until(paris(2026, 4, 1, 20, 0))
    attendance = next(a for a in closed if isinstance(a, Record) and a.kind == "attendance").summary
    assert attendance["present"] == ["alice", "chloe"]
    assert attendance["expected"] == ["alice", "bob", "chloe", "dan"]
    assert attendance["by_organisation"] == {
        "": {"expected": 1, "present": 0},
        "Asso Alpha": {"expected": 2, "present": 2},
        "Coop Beta": {"expected": 1, "present": 0},
    }
    meeting = next(a for a in closed if isinstance(a, Record) and a.kind == "meeting").summary
    assert meeting["agenda"] == ["Budget 2027"] and meeting["attendee_names"] == ["Alice", "Chloe"]
    # The post and the question become the page of record (no new message), answers closed.
    page = edits(closed)
    assert [(e.ref, e.choices) for e in page] == [(mref("main.20260331", "post"), []),
                                                  (mref("main.20260331", "att"), [])]
    assert text(page[0]) == (
        "📋 Réunion : Comité\n🗓 mardi 31 mars 2026 à 18 h\n📍 Maison des associations\n"
        "Présent·es (2) : Alice, Chloe\nOrdre du jour\n1. Budget 2027 (Bob)\n"
        "📝 Compte rendu : pas encore publié (ajoutez-le avec reunion cr <lien>).")

    # Minutes posted later: the page is edited and the link recorded.
    out = sim.send(command(DAN, "reunion cr", url="https://pad.example.org/comite-mars"))
    assert "📝 Compte rendu : https://pad.example.org/comite-mars" in text(edits(out)[0])
    assert [a.summary["url"] for a in out if isinstance(a, Record)] == ["https://pad.example.org/comite-mars"]
    assert text(notes(out)[0]) == "Merci ! Le compte rendu est lié à « Comité » (mardi 31 mars 2026 à 18 h)."
    fiche = text(notes(sim.send(command(BOB, "reunion fiche")))[0])
    assert fiche.startswith("📋 Réunion : Comité") and "pad.example.org" in fiche


def test_without_corrections_rsvp_is_taken_as_attendance() -> None:
    sim = started({**MONTHLY, "attendance": "rsvp"}, paris(2026, 3, 20, 9, 0))
    sim.send(chose(BOB, mref("main.20260331", "post"), "yes"))
    out = sim.run_until(paris(2026, 3, 31, 20, 0))
    assert [a.summary["present"] for a in out if isinstance(a, Record) and a.kind == "attendance"] == [["bob"]]
    assert [p.ref for p in posts(out)] == [mref("main.20260331", "post")]  # the post, no question
    assert edits(out)[-1].ref == mref("main.20260331", "post") and "Présent·es (1) : Bob" in text(edits(out)[-1])


def test_minutes_need_a_link_and_a_past_meeting() -> None:
    sim = started(MONTHLY, paris(2026, 3, 20, 9, 0))
    assert "n'est pas un lien" in text(notes(sim.send(command(BOB, "reunion cr", url="pad/comite")))[0])
    assert text(notes(sim.send(command(BOB, "reunion cr", url="https://pad.example.org/x")))[0]) == (
        "Je ne trouve pas de réunion passée à laquelle lier ce compte rendu.")


# --- downtime ------------------------------------------------------------------------------


def test_after_downtime_only_the_latest_due_reminder_goes_out() -> None:
    sim = started(MONTHLY, paris(2026, 3, 20, 9, 0))
    # Down from 23 March to 30 March 19:00: the 7-day and the 1-day reminders both fell due.
    out = sim.run_until(paris(2026, 3, 30, 19, 0), down_until=paris(2026, 3, 30, 19, 0))
    assert [p.ref for p in posts(out)] == [mref("main.20260331", "post")]
    assert {s.timer: s.reason for s in sim.state.skipped} == {mref("main.20260331", "r", 0): "superseded"}  # type: ignore[union-attr]
    assert "Comité, demain" in text(posts(out)[0])


def test_after_long_downtime_no_stale_reminder_and_attendance_is_closed_from_rsvp() -> None:
    sim = started(MONTHLY, paris(2026, 3, 20, 9, 0))
    sim.send(chose(ALICE, mref("main.20260331", "post"), "yes"))
    out = sim.run_until(paris(2026, 4, 3, 9, 0), down_until=paris(2026, 4, 3, 9, 0))
    assert [p.ref for p in posts(out)] == [mref("main.20260331", "page")]  # no reminder, no question
    assert [a.summary["present"] for a in out if isinstance(a, Record) and a.kind == "attendance"] == [["alice"]]
    reasons = {s.timer: s.reason for s in sim.state.skipped}  # type: ignore[union-attr]
    assert reasons[mref("main.20260331", "r", 2)] == "meeting_started"
    assert reasons[mref("main.20260331", "end")] == "attendance_window_over"


# --- config changes --------------------------------------------------------------------------


def test_a_changed_rule_moves_the_next_meeting_and_keeps_its_agenda() -> None:
    sim = started(MONTHLY, paris(2026, 3, 20, 9, 0))
    sim.send(command(BOB, "ordre-du-jour", text="Budget 2027"))
    sim.ctx = context({**MONTHLY, "time": "19:30"})
    sim.send(command(BOB, "ordre-du-jour"))  # any event brings the calendar in step
    upcoming = KIND.summarize(sim.state)["upcoming"]  # type: ignore[arg-type,index]
    assert [(u["start"], u["agenda"]) for u in upcoming] == [("2026-03-31T19:30:00+02:00", ["Budget 2027"])]
    assert mref("main.20260331", "r", 0) in sim.timers and sim.timers[mref("main.20260331", "end")] == paris(2026, 3, 31, 21, 30)


def test_several_series_in_their_own_channels() -> None:
    config = {"channels": ["general"], "series": [
        {"id": "comite", "title": "Comité", "rrule": "FREQ=WEEKLY;BYDAY=TU", "time": "18:00",
         "channels": ["comite"]},
        {"id": "cafe", "title": "Café du réseau", "rrule": "FREQ=WEEKLY;BYDAY=TH", "time": "09:00",
         "link": "https://visio.example.org/cafe"},
    ]}
    sim = started(config, paris(2026, 5, 4, 9, 0),
                  channels={"general": ["alice", "bob", "chloe", "dan"], "comite": ["alice", "bob"]})
    sim.send(command(BOB, "ordre-du-jour", channel="comite", text="Local"))
    sim.send(command(CHLOE, "ordre-du-jour", text="Visio"))
    for who in (ALICE, BOB, CHLOE, DAN):
        sim.send(command(who, "reunion rappels perso"))
    upcoming = KIND.summarize(sim.state)["upcoming"]  # type: ignore[arg-type,index]
    agenda = {u["key"]: u["agenda"] for u in upcoming if u["agenda"]}
    assert agenda == {"comite.20260505": ["Local"], "cafe.20260507": ["Visio"]}
    out = sim.run_until(paris(2026, 5, 6, 9, 0))
    cafe = [d for d in dms(out) if "Café" in text(d)]
    assert sorted(d.member for d in cafe) == ["alice", "bob", "chloe", "dan"]
    assert "🔗 https://visio.example.org/cafe" in text(cafe[0])
    comite = [p for p in posts(out) if "Comité" in text(p)]
    assert {p.channel for p in comite} == {"comite"}


def test_member_content_in_reminders_is_inert_and_every_key_exists() -> None:
    from bot.kernel.i18n import has_key
    from tests.unit.test_meeting_support import render, used_keys

    sim = started({**MONTHLY, "place": "<script>x</script>"}, paris(2026, 3, 20, 9, 0))
    sim.send(command(BOB, "ordre-du-jour", text="@here *urgent* <b>x</b>"))
    sim.send(chose(BOB, mref("main.20260331", "post"), "yes"))
    out = sim.run_until(paris(2026, 4, 2, 9, 0))
    reminder = [p for p in shown(out) if p.ref == mref("main.20260331", "post")][-1]
    html, mrkdwn = render(reminder.text, "html"), render(reminder.text, "mrkdwn")
    assert "@here" not in html and "<b>x</b>" not in html and "<script>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "&lt;script&gt;" in html
    assert "@here" not in mrkdwn and "<b>" not in mrkdwn and "*urgent*" not in mrkdwn
    keys = used_keys(e.action for e in sim.emitted)
    assert {k for k in keys if not (has_key(k, "fr") and has_key(k, "en"))} == set()
    assert len(keys) >= 25


def test_an_animateur_cancels_the_next_meeting_and_the_series_goes_on() -> None:
    from icalendar import Calendar

    from scenarios.meeting.ics import build_calendar

    sim = started(MONTHLY, paris(2026, 3, 20, 9, 0))
    assert "seule l'équipe d'animation" in text(notes(sim.send(command(BOB, "reunion annuler")))[0]).lower()
    out = sim.send(command(ALICE, "reunion annuler", reason="la salle est prise"))
    assert [text(p) for p in posts(out)] == [
        "🚫 Réunion annulée : Comité, mardi 31 mars 2026 à 18 h (annulée par Alice). Raison : la salle est prise"]
    assert not any(name.key == "main.20260331" for name in sim.timers)
    assert [u["start"] for u in KIND.summarize(sim.state)["upcoming"]] == ["2026-04-28T18:00:00+02:00"]  # type: ignore[arg-type,index]
    # Agenda items now go to April; no reminder for March.
    assert "mardi 28 avril" in text(notes(sim.send(command(BOB, "ordre-du-jour", text="Budget")))[0])
    assert [p.ref for p in posts(sim.run_until(paris(2026, 4, 1, 9, 0)))] == []
    ics = build_calendar(MONTHLY, sim.state, network="R", timezone="Europe/Paris", now=sim.now)  # type: ignore[arg-type]
    series = next(e for e in Calendar.from_ical(ics).walk("VEVENT") if "rrule" in e)
    assert [d.dt for d in series["exdate"].dts] == [paris(2026, 3, 31, 18, 0)]
