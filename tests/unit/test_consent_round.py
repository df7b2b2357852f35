"""Consent rounds as tables: given a circle, events at instants → outcome and record.

No I/O: a fake clock (`Driver`), the state through JSON between every event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from bot.kernel.model import DirectMessage, Edit, Event, Post, PrivateNote, Ref, SetTimer
from bot.kernel.scenario import Context
from scenarios.consent import KIND
from scenarios.consent.round import RoundState
from tests.unit.test_consent_support import (
    ANIM,
    MATRIX,
    NO_EDITS,
    T0,
    Driver,
    chose,
    circle_of,
    cmd,
    make_ctx,
    of,
    one_channel,
    person,
    records,
    reply,
    start,
    texts,
)

BOB, M2, M3, M4 = person("bob"), person("m02"), person("m03"), person("m04")
ZED = person("zed")  # a network member who is not in the channel
FRIDAY_18H = T0 + timedelta(days=4, hours=8)  # the deadline "vendredi 18h"
V2 = "proposal:v2:general"


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


# A step: (hours after T0, event) · ("advance", hours after T0): timers fire on time ·
# ("down", hours after T0): the bot is down until then, due timers fire late · ("restart",)
Step = tuple[Any, ...]


@dataclass
class Case:
    id: str
    steps: list[Step]
    outcome: str | None
    finished: str | None
    params: dict[str, Any] = field(default_factory=dict)
    check: Callable[[dict[str, Any], Driver[RoundState]], None] | None = None


def run(case: Case) -> tuple[Driver[RoundState], list[dict[str, Any]]]:
    d: Driver[RoundState] = Driver(KIND, _ctx())
    params = {"title": "Adopter la charte v2", "deadline": "vendredi 18h", **case.params}
    d.send(start(**params), T0)
    for step in case.steps:
        if step[0] == "advance":
            d.advance(T0 + h(step[1]) - d.now)
        elif step[0] == "down":
            d.advance(T0 + h(step[1]) - d.now, down=True)
        elif step[0] == "restart":
            d = d.restart()
        else:
            event: Event = step[1]
            d.send(event, T0 + h(step[0]))
    return d, records(d.actions)


def _ctx() -> Context:
    """alice (animateur), bob, m02, m03, m04 in #general; zed is in the network, not the channel."""
    people = circle_of(5)
    return make_ctx([*people, ZED], {"general": ("matrix", MATRIX, [m.key for m in people])})


def _adopted(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    assert rec["names"] == {"consent": ["Bob", "M04"], "concern": ["M02"], "objection": [], "stand_aside": ["M03"]}
    assert rec["counts"] == {"consent": 2, "concern": 1, "objection": 0, "stand_aside": 1}
    assert rec["circle_size"] == 5 and rec["answered"] == 4
    assert rec["closed_at"] == FRIDAY_18H.isoformat()
    assert rec["opened_at"] == T0.isoformat() and rec["deadline"] == FRIDAY_18H.isoformat()


def _amended(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    v1, v2 = rec["history"]
    assert (v1["version"], v1["outcome"], v2["version"], v2["outcome"]) == (1, "objections", 2, "adopted")
    assert v1["objections"] == [{"by": "Bob", "reason": "le budget n'est pas chiffré"}]
    assert v2["title"] == "Adopter la charte v2.1" and rec["title"] == "Adopter la charte v2.1"
    assert rec["names"]["consent"] == ["Bob", "M02", "M03"]
    assert rec["version"] == 2


def _withdrawn(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    assert rec["history"][-1]["outcome"] == "withdrawn"
    assert rec["objections"] == [{"by": "Bob", "reason": "trop tôt"}]


def _no_quorum(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    assert rec["quorum"] == 0.5 and rec["answered"] == 2 and rec["circle_size"] == 5


def _anonymous(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    assert "names" not in rec
    assert rec["counts"] == {"consent": 2, "concern": 0, "objection": 1, "stand_aside": 0}
    assert rec["objections"] == [{"by": None, "reason": "pas assez discuté"}]
    # Who answered is not kept once the round is over: the rows keep what was answered.
    assert sorted(a.value or "" for a in d.book.rows if a.current) == ["consent", "consent", "objection"]
    assert all(a.member is None for a in d.book.rows), "the superseded ones too"


def _changed(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    assert rec["counts"] == {"consent": 1, "concern": 0, "objection": 1, "stand_aside": 0}
    assert rec["names"]["objection"] == ["M03"] and rec["names"]["consent"] == ["Bob"]


def _outsider(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    assert rec["answered"] == 1 and rec["circle_size"] == 5
    notes = [n for n in of(d.actions, PrivateNote) if n.member == "zed"]
    assert [n.text.key for n in notes] == ["consent.answer.not_in_circle"]


def _late(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    assert rec["counts"]["objection"] == 0 and rec["answered"] == 1
    assert rec["late_answers"]["count"] == 1 and rec["late_answers"]["names"] == ["M02"]
    assert rec["closed_at"] == FRIDAY_18H.isoformat()
    assert any(n.text.key == "consent.answer.late" and n.member == "m02" for n in of(d.actions, PrivateNote))


def _no_reason(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    assert rec["objections"] == [{"by": "Bob", "reason": None}]
    asks = [p for p in of(d.actions, Post) if p.text.key == "consent.objection.ask"]
    assert len(asks) == 1 and asks[0].thread == Ref(role="proposal", version=1, channel="general"), "asked once, in the thread"
    assert any("(raison non donnée)" in t for t in texts(d.actions))


def _restart(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    assert rec["names"]["consent"] == ["Bob", "M02", "M03"]


def _downtime(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    assert rec["closed_at"] == FRIDAY_18H.isoformat()
    assert rec["closed_late_by_seconds"] == 14 * 3600
    assert "closed on restart" in rec["closed_note"]
    assert rec["answered"] == 2
    # No stale reminder was sent on restart (they were due while the bot was down).
    assert not [a for a in d.actions if getattr(a, "text", None) and a.text.key.startswith("consent.remind")]  # type: ignore[union-attr]
    assert any("indisponible" in t for t in texts(d.actions))


def _downtime_late_answer(rec: dict[str, Any], d: Driver[RoundState]) -> None:
    assert rec["answered"] == 1 and rec["late_answers"]["count"] == 1
    assert rec["closed_late_by_seconds"] > 0


CASES = [
    Case("adopted", [(1, chose(BOB, "consent")), (2, chose(M2, "concern")), (3, chose(M3, "stand_aside")),
                     (4, chose(M4, "consent")), ("advance", 200)], "adopted", "adopted", check=_adopted),
    Case("objection_then_amendment_then_adopted", [
        (1, chose(BOB, "objection")), (2, reply(BOB, "le budget n'est pas chiffré")), (3, chose(M2, "consent")),
        ("advance", 200),
        (201, cmd(ANIM, "amender", title="Adopter la charte v2.1", deadline="jeudi 18h")),
        (202, chose(BOB, "consent", ref=V2)), (203, chose(M2, "consent", ref=V2)), (204, chose(M3, "consent", ref=V2)),
        ("advance", 300)], "adopted", "adopted", check=_amended),
    Case("withdrawal", [(1, cmd(BOB, "objection", reason="trop tôt")), (5, cmd(ANIM, "retirer"))],
         "withdrawn", "withdrawn", check=_withdrawn),
    Case("quorum_missed", [(1, chose(BOB, "consent")), (2, chose(M2, "consent")), ("advance", 200)],
         "no_quorum", None, params={"quorum": 0.5}, check=_no_quorum),
    Case("anonymous", [(1, chose(BOB, "consent", ref="proposal:v1:ballot:bob", channel="dm")),
                       (2, chose(M2, "consent", ref="proposal:v1:ballot:m02", channel="dm")),
                       (3, chose(M3, "objection", ref="proposal:v1:ballot:m03", channel="dm")),
                       (4, reply(M3, "pas assez discuté", ref="proposal:v1:ask:m03", channel="dm")),
                       ("advance", 200)], "objections", None, params={"anonymous": True}, check=_anonymous),
    Case("answer_changed_and_removed", [
        (1, chose(BOB, "objection")), (2, chose(BOB, "consent")),
        (3, chose(M2, "consent")), (4, chose(M2, None, removed="consent")),
        (5, chose(M3, "consent")), (6, chose(M3, "objection", via="button", reason="coût")),
        # Removing an older reaction (✅) leaves the newer answer (✋) standing.
        (7, chose(M3, None, removed="consent")), ("advance", 200)], "objections", None, check=_changed),
    Case("answer_from_outside_the_circle", [(1, chose(ZED, "objection")), (2, chose(BOB, "consent")),
                                            ("advance", 200)], "adopted", "adopted", check=_outsider),
    Case("late_answer", [(1, chose(BOB, "consent")), (104.5, chose(M2, "objection"))],
         "adopted", "adopted", check=_late),
    Case("objection_without_reason", [(1, chose(BOB, "objection")), (2, chose(BOB, "objection")),
                                      (3, chose(M2, "consent")), ("advance", 200)], "objections", None,
         check=_no_reason),
    Case("restart_mid_round", [(1, chose(BOB, "consent")), ("restart",), (2, chose(M2, "consent")), ("restart",),
                               (3, chose(M3, "consent")), ("advance", 200)], "adopted", "adopted", check=_restart),
    Case("deadline_passed_during_downtime", [(1, chose(BOB, "consent")), (2, chose(M2, "concern")),
                                             ("advance", 40), ("restart",), ("down", 118), ("restart",)],
         "adopted", "adopted", check=_downtime),
    Case("answer_after_deadline_delivered_on_restart", [(1, chose(BOB, "consent")), ("restart",),
                                                        (110, chose(M2, "objection"))],
         "adopted", "adopted", check=_downtime_late_answer),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_consent_round_paths(case: Case) -> None:
    d, recs = run(case)
    assert recs, "an outcome is recorded"
    last = recs[-1]
    assert last["outcome"] == case.outcome
    assert d.finished == case.finished
    assert last["title"] and last["number"] == 1 and last["subject"] == "proposal"
    if case.check is not None:
        case.check(last, d)
    # Every message exists in both languages with all its parameters.
    assert texts(d.actions, "fr") and texts(d.actions, "en")


def test_the_proposal_states_phase_local_deadline_and_how_to_answer() -> None:
    ctx, _ = one_channel(5)
    d: Driver[RoundState] = Driver(KIND, ctx)
    acts = d.send(start(title="Adopter la charte v2", deadline="vendredi 18h"), T0)
    (post,) = of(acts, Post)
    assert post.ref == Ref(role="proposal", version=1, channel="general") and post.choice_style == "reactions"
    assert [(c.id, c.emoji) for c in post.choices] == [
        ("consent", "✅"), ("concern", "⚠️"), ("objection", "✋"), ("stand_aside", "🙊")]
    fr = texts([post], "fr")[0]
    assert "questions de clarification jusqu'au mardi 24 novembre 2026 à 10 h" in fr
    assert "jusqu'au vendredi 27 novembre 2026 à 18 h" in fr
    assert "✋ objection" in fr and "Seule votre dernière réponse compte" in fr
    en = texts([post], "en")[0]
    assert "until Friday 27 November 2026 at 18:00" in en
    timers = {t.name: t.due_at for t in of(acts, SetTimer)}
    assert timers == {
        Ref(scope="consent", role="deadline"): FRIDAY_18H,
        Ref(scope="consent", role="questions"): T0 + timedelta(days=1),
        Ref(scope="consent", role="remind", n=0): FRIDAY_18H - timedelta(days=1),
    }, "one reminder, at the earliest lead still ahead"
    # The questions phase ends: the proposal is edited and the thread told.
    acts = d.advance(timedelta(days=1))
    assert [e.text.key for e in of(acts, Edit)] == ["consent.proposal.body"]
    assert "Réactions et objections jusqu'au" in texts(of(acts, Edit))[0]
    assert [p.text.key for p in of(acts, Post)] == ["consent.phase.answers_open"]


def test_default_deadline_and_phases_from_the_config() -> None:
    ctx, _ = one_channel(3, settings={"consent": {"duration": "P5D", "questions": "12h", "reminders": ["6h"],
                                                   "default_time": "12:00:00"}})
    d: Driver[RoundState] = Driver(KIND, ctx)
    acts = d.send(start(title="Sans échéance"), T0)
    st = d.state
    assert st.deadline == T0 + timedelta(days=5) and st.questions_until == T0 + timedelta(hours=12)
    assert [t.due_at for t in of(acts, SetTimer) if t.name.role == "remind"] == [T0 + timedelta(days=5, hours=-6)]
    note = [n for n in of(acts, PrivateNote) if n.text.key == "consent.started"]
    assert note and "samedi 28 novembre 2026 à 10 h" in texts(note)[0]


def test_a_questions_deadline_can_be_given() -> None:
    ctx, _ = one_channel(3)
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="T", deadline="vendredi 18h", questions="mercredi 12h"), T0)
    assert d.state.questions_until == T0 + timedelta(days=2, hours=2)
    d2: Driver[RoundState] = Driver(KIND, ctx)
    acts = d2.send(start(title="T", deadline="mardi 18h", questions="vendredi 12h"), T0)
    assert [n.text.key for n in of(acts, PrivateNote)] == ["consent.cmd.questions_after_deadline"]
    assert d2.finished == "cancelled"


@pytest.mark.parametrize(("deadline", "key"), [("hier 18h", "consent.deadline.past"),
                                               ("à la saint-glinglin", "consent.deadline.unparseable")])
def test_a_bad_deadline_gets_a_clear_reply_and_nothing_is_posted(deadline: str, key: str) -> None:
    ctx, _ = one_channel(3)
    d: Driver[RoundState] = Driver(KIND, ctx)
    acts = d.send(start(title="T", deadline=deadline), T0)
    assert [(n.member, n.text.key) for n in of(acts, PrivateNote)] == [("alice", key)]
    assert not of(acts, Post) and not of(acts, SetTimer)
    assert d.finished == "cancelled"
    assert texts(acts, "fr") and texts(acts, "en")


def test_live_counts_are_coalesced_into_one_edit_per_interval() -> None:
    ctx, people = one_channel(8)
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="T", deadline="vendredi 18h"), T0)
    refresh_timers = []
    for i, m in enumerate(people[1:]):
        acts = d.send(chose(m, "consent"), T0 + timedelta(seconds=5 * i))
        refresh_timers += [t for t in of(acts, SetTimer) if t.name == Ref(scope="consent", role="refresh")]
    assert len(refresh_timers) == 1, "one pending refresh for a burst of answers"
    acts = d.advance(timedelta(minutes=2))
    (edit,) = of(acts, Edit)
    assert "Réponses : ✅ 7 · ⚠️ 0 · ✋ 0 · 🙊 0 — 7 sur 8" in texts([edit])[0]
    # The next answer schedules the next refresh.
    acts = d.send(chose(people[1], "concern"), d.now)
    assert [t.name for t in of(acts, SetTimer)] == [Ref(scope="consent", role="refresh")]


def test_no_edits_where_the_platform_cannot_edit() -> None:
    ctx, people = one_channel(3, caps=NO_EDITS)
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="T", deadline="vendredi 18h"), T0)
    acts = d.send(chose(people[1], "consent"), T0)
    assert not of(acts, SetTimer)
    d.advance(timedelta(days=5))
    assert not of(d.actions, Edit)


def _reminded(acts: list[Any]) -> list[str]:
    return sorted(a.member for a in of(acts, DirectMessage) if a.text.key == "consent.remind.dm")


def _named_in_public(acts: list[Any]) -> list[Post]:
    """Posts and thread replies that remind anyone of anything (none should)."""
    return [p for p in of(acts, Post) if p.text.key.startswith("consent.remind")]


def test_those_who_have_not_answered_are_reminded_privately_once_never_the_author() -> None:
    d, _ = run(Case("x", [(1, chose(BOB, "consent")), (2, chose(M2, "objection"))], None, None))
    acts = d.advance(FRIDAY_18H - timedelta(hours=1) - d.now)  # past both leads (1 day, 2 hours)
    assert _reminded(acts) == ["m03", "m04"], "the author (alice) is never reminded"
    assert not _named_in_public(d.actions)
    (dm,) = [a for a in of(acts, DirectMessage) if a.member == "m03"]
    assert not dm.text.params.get("who"), "a reminder names nobody else"
    fr, en = texts([dm], "fr")[0], texts([dm], "en")[0]
    assert "attend votre réponse, jusqu'au vendredi 27 novembre 2026 à 18 h" in fr
    assert "is waiting for your answer, until Friday 27 November 2026 at 18:00" in en
    d.advance(timedelta(hours=2))
    assert _reminded(d.actions) == ["m03", "m04"], "once in the round, not at each lead"


def test_a_state_stored_with_two_reminders_set_reminds_once() -> None:
    d, _ = run(Case("x", [], None, None))
    second = Ref(scope="consent", role="remind", n=1)
    d.timers[second] = SetTimer(name=second, due_at=FRIDAY_18H - h(2), payload={"version": 1})
    d.advance(FRIDAY_18H - h(1) - d.now)
    assert _reminded(d.actions) == ["bob", "m02", "m03", "m04"]


def test_a_short_round_is_reminded_at_the_lead_still_ahead() -> None:
    d, _ = run(Case("x", [], None, None, params={"deadline": "dans 3 heures"}))
    (remind,) = [t for t in of(d.actions, SetTimer) if t.name.role == "remind"]
    assert remind.due_at == T0 + h(1)
    d.advance(h(4))
    assert _reminded(d.actions) == ["bob", "m02", "m03", "m04"]


def test_a_new_version_reminds_who_had_answered_not_who_was_reminded_already() -> None:
    d, _ = run(Case("x", [(1, chose(BOB, "objection", reason="trop tôt"))], None, None))
    d.advance(FRIDAY_18H - timedelta(hours=20) - d.now)
    assert _reminded(d.actions) == ["m02", "m03", "m04"]
    d.send(chose(M2, "consent"), d.now)  # answers after the reminder
    d.send(cmd(ANIM, "amender", title="Adopter la charte v2.1", deadline="lundi 18h"), d.now)
    before = len(d.actions)
    d.advance(timedelta(days=4))
    # Bob's and m02's answers were reset by the new version; m03 and m04 left the reminded
    # version unanswered: reminded once per proposal.
    assert _reminded(d.actions[before:]) == ["bob", "m02"]


def test_a_version_amended_before_its_reminder_reminds_everyone_missing() -> None:
    d, _ = run(Case("x", [(1, chose(BOB, "objection", reason="trop tôt"))], None, None))
    d.send(cmd(ANIM, "amender", title="Adopter la charte v2.1", deadline="lundi 18h"), d.now)
    before = len(d.actions)
    d.advance(FRIDAY_18H + timedelta(days=3) - d.now)  # to Monday 18h, the new deadline
    assert _reminded(d.actions[before:]) == ["bob", "m02", "m03", "m04"]


def test_a_config_that_asked_for_public_reminders_is_read_and_reminds_privately() -> None:
    ctx, _ = one_channel(3, settings={"consent": {"remind_via": "mention"}})
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="T", deadline="vendredi 18h"), T0)
    acts = d.advance(FRIDAY_18H - timedelta(hours=23) - T0)
    assert _reminded(acts) == ["bob", "m02"] and not _named_in_public(d.actions)


def test_answers_on_a_replaced_version_are_not_counted() -> None:
    ctx, people = one_channel(3)
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="T", deadline="vendredi 18h"), T0)
    d.send(chose(people[1], "consent"), T0 + h(1))
    d.send(cmd(ANIM, "amender", title="T bis"), T0 + h(2))
    assert d.state.version == 2 and d.state.answered == 0 and d.book.everyone(version=2) == []
    acts = d.send(chose(people[2], "consent"), T0 + h(3))  # on v1's message
    assert [n.text.key for n in of(acts, PrivateNote)] == ["consent.answer.replaced"]
    assert d.state.answered == 0 and d.book.everyone(version=2) == []
    assert d.book.current("m02") is None
    # The old message says at its top that it was replaced: an edit, not one more post in
    # its thread (this channel edits; one that cannot gets the pointer in the thread).
    old = [e for e in of(d.actions, Edit) if e.ref == Ref(role="proposal", version=1, channel="general")]
    assert old and old[-1].choices == [] and old[-1].text.params["lines"].items[0].key == "consent.proposal.top_replaced"
    assert not any(p.text.key == "consent.amend.pointer" for p in of(d.actions, Post))


def test_only_the_author_amends_or_withdraws() -> None:
    ctx, people = one_channel(3)
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="T", deadline="vendredi 18h"), T0)
    for name in ("amender", "retirer"):
        acts = d.send(cmd(people[1], name, title="X"), T0 + h(1))
        assert [n.text.key for n in of(acts, PrivateNote)] == [f"consent.{'amend' if name == 'amender' else 'withdraw'}.not_author"]
    assert d.state.version == 1 and d.state.status == "questions"


def test_objections_to_integrate_lapse_without_a_new_version() -> None:
    ctx, people = one_channel(3, settings={"consent": {"integration": "7j"}})
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="T", deadline="vendredi 18h"), T0)
    d.send(cmd(people[1], "objection", reason="non"), T0 + h(1))
    d.advance(timedelta(days=5))
    assert d.state.status == "integrating" and d.finished is None
    acts = d.send(chose(people[2], "consent"), d.now)
    assert [n.text.key for n in of(acts, PrivateNote)] == ["consent.answer.closed"]
    d.advance(timedelta(days=8))
    assert d.finished == "lapsed"
    assert [r["outcome"] for r in records(d.actions)] == ["objections", "lapsed"]


def test_withdrawn_after_objections_is_recorded() -> None:
    ctx, people = one_channel(3)
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="T", deadline="vendredi 18h"), T0)
    d.send(cmd(people[1], "objection", reason="non"), T0 + h(1))
    d.advance(timedelta(days=5))
    d.send(cmd(ANIM, "retirer"), d.now + h(1))
    assert d.finished == "withdrawn"
    assert [r["outcome"] for r in records(d.actions)] == ["objections", "withdrawn"]


def test_a_short_round_keeps_most_of_its_time_for_answers() -> None:
    ctx, _ = one_channel(3)
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="T", deadline="demain midi"), T0)  # 26 hours: questions for a third
    assert d.state.questions_until == T0 + timedelta(hours=26) / 3
