"""What a ritual is told about answers: only what its kind asked for the event (reading more
fails loudly, as it would silently miss in production), and which events ask for what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.kernel.answers import Answer, Answers, NotLoaded
from bot.kernel.model import Chose, Command, Ref, Replied, TimerFired
from scenarios.consent import KIND as CONSENT
from scenarios.consent.round import RoundState
from scenarios.meeting import KIND as MEETING
from scenarios.meeting.state import MeetingsState, Occurrence
from tests.unit.test_consent_support import ANIM, person

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BOB = person("bob")


def _a(member: str | None, value: str | None, version: int = 1, part: int = 0, topic: str = "consent",
       superseded: bool = False) -> Answer:
    return Answer(topic=topic, part=part, version=version, member=member, value=value, at=T0,
                  superseded_at=T0 + timedelta(minutes=1) if superseded else None)


def test_a_members_view_holds_their_answers_only() -> None:
    view = Answers([_a("bob", "objection"), _a("bob", "consent", version=2)], "member", "bob")
    assert view.of("bob", "consent") is not None and view.of("bob", "consent", version=2) is not None
    assert view.of("bob", "consent", version=3) is None
    with pytest.raises(NotLoaded):
        view.of("chloe", "consent")
    with pytest.raises(NotLoaded):
        view.current("consent")


def test_everyones_view_counts_current_answers_and_leaves_withdrawals_out() -> None:
    view = Answers([_a("bob", "objection", superseded=True), _a("bob", "consent"), _a("chloe", None),
                    _a(None, "consent")], "all")
    assert [a.value for a in view.current("consent")] == ["consent", "consent"]
    assert view.of("chloe", "consent") is None, "withdrawn"
    with pytest.raises(NotLoaded):
        view.history()


def test_a_view_of_one_part_refuses_the_others() -> None:
    view = Answers([_a("bob", "yes", part=3, topic="rsvp")], "all", part=3)
    assert [a.member for a in view.current("rsvp", part=3)] == ["bob"]
    with pytest.raises(NotLoaded):
        view.current("rsvp", part=2)


def test_a_history_view_keeps_superseded_answers_in_order() -> None:
    rows = [_a("bob", "objection", superseded=True), _a("bob", "consent")]
    assert [a.value for a in Answers(rows, "history").history("consent")] == ["objection", "consent"]


def test_a_consent_round_reads_a_members_answer_on_their_events_and_everyones_on_rare_ones() -> None:
    deadline = T0 + timedelta(days=4)
    st = RoundState(status="answers", deadline=deadline, channels=["general"])
    ref = st.proposal_ref("general")
    chose = Chose(member=BOB, ref=ref, channel="general", choice="consent")
    assert CONSENT.answers_needed(st, chose, T0) == "member"
    assert CONSENT.answers_needed(st, Replied(member=BOB, text="objection : non", ref=ref, channel="general"),
                                  T0) == "member"
    assert CONSENT.answers_needed(st, Command(member=BOB, name="objection", channel="general"), T0) == "member"
    # Past the deadline an answer closes the round; the author's moves archive and record.
    assert CONSENT.answers_needed(st, chose, deadline) == "all"
    assert CONSENT.answers_needed(st, Command(member=ANIM, name="amender", channel="general"), T0) == "all"
    assert CONSENT.answers_needed(st, TimerFired(name=st.timer("refresh"), due_at=T0), T0) == "all"


def test_a_meeting_reads_only_the_answers_of_the_meeting_a_timer_is_about() -> None:
    occ = Occurrence(key="comite.20270216", series="comite", title="Comité", start=T0, end=T0 + timedelta(hours=2))
    st = MeetingsState(occurrences=[occ, occ.model_copy(update={"key": "comite.20270302"})])
    assert [o.n for o in st.occurrences] == [1, 2], "numbered as the calendar loads them"
    reminder = TimerFired(name=Ref(key="comite.20270302", role="r", n=0), due_at=T0)
    assert MEETING.answers_needed(st, reminder, T0) == "all" and MEETING.answers_part(st, reminder) == 2
    rsvp = Chose(member=BOB, ref=Ref(key="comite.20270302", role="r", n=0), channel="general", choice="yes")
    assert MEETING.answers_needed(st, rsvp, T0) == "member"
    assert MEETING.answers_needed(st, Command(member=BOB, name="ordre-du-jour", channel="general"), T0) == "none"
