"""One round in several channels and platforms; circles by group; forms; anonymity per platform."""

from __future__ import annotations

from datetime import timedelta

from bot.kernel.answers import Answer
from bot.kernel.model import DirectMessage, Edit, Member, OpenForm, Post, PrivateNote, Ref
from scenarios.consent import KIND
from scenarios.consent.round import RoundState
from tests.unit.test_consent_support import (
    ANIM,
    MATRIX,
    SLACK,
    T0,
    Driver,
    chose,
    cmd,
    make_ctx,
    of,
    person,
    records,
    reply,
    start,
    texts,
)

# One network on Slack and on Matrix. Camille has linked accounts: one person, key "camille".
BOB = person("bob", "slack")
DIA = person("dia", "matrix")
CAMILLE_SLACK = Member(key="camille", name="Camille", account="slack:U0CAM")
CAMILLE_MATRIX = Member(key="camille", name="Camille", account="matrix:@camille:example.org")
ELOI = person("eloi", "matrix")


def two_platforms(**kw: object) -> Driver[RoundState]:
    ctx = make_ctx(
        [ANIM, BOB, DIA, CAMILLE_SLACK, ELOI],
        {
            "slack-general": ("slack", SLACK, ["alice", "bob", "camille"]),
            "matrix-general": ("matrix", MATRIX, ["alice", "dia", "camille", "eloi"]),
        },
        **kw,  # type: ignore[arg-type]
    )
    return Driver(KIND, ctx)


def test_a_round_in_a_slack_and_a_matrix_channel_counts_each_person_once() -> None:
    d = two_platforms()
    acts = d.send(start(channel="slack-general", title="Adopter la charte v2", deadline="vendredi 18h",
                        channels=["Matrix-general"]), T0)
    posts = of(acts, Post)
    assert [(p.channel, p.ref, p.choice_style) for p in posts] == [
        ("slack-general", Ref(role="proposal", version=1, channel="slack-general"), "buttons"),
        ("matrix-general", Ref(role="proposal", version=1, channel="matrix-general"), "reactions"),
    ]
    note = [n for n in of(acts, PrivateNote) if n.text.key == "consent.started"]
    assert note and "Slack-general, Matrix-general" in texts(note)[0]
    d.send(chose(BOB, "consent", ref="proposal:v1:slack-general", channel="slack-general", via="button"), T0)
    d.send(chose(DIA, "concern", ref="proposal:v1:matrix-general", channel="matrix-general"), T0)
    # Camille answers on Slack, then changes her mind on Matrix: one answer, the latest.
    d.send(chose(CAMILLE_SLACK, "consent", ref="proposal:v1:slack-general", channel="slack-general",
                 via="button"), T0 + timedelta(hours=1))
    d.send(chose(CAMILLE_MATRIX, "stand_aside", ref="proposal:v1:matrix-general", channel="matrix-general"),
           T0 + timedelta(hours=2))
    assert d.state.answered == 3 and len(d.book.everyone()) == 3
    assert _answer(d, "camille").value == "stand_aside"
    acts = d.advance(timedelta(days=5))
    (rec,) = records(acts)
    assert rec["outcome"] == "adopted" and rec["circle_size"] == 5 and rec["answered"] == 3
    assert rec["names"] == {"consent": ["Bob"], "concern": ["Dia"], "objection": [], "stand_aside": ["Camille"]}
    assert rec["channels"] == ["slack-general", "matrix-general"]
    # The outcome is posted in both channels, and both proposals are closed.
    assert sorted(p.channel for p in of(acts, Post) if p.text.key == "consent.outcome.body") == [
        "matrix-general", "slack-general"]
    assert sorted(e.channel for e in of(acts, Edit) if e.choices == []) == ["matrix-general", "slack-general"]


def test_buttons_are_acknowledged_privately_reactions_are_not() -> None:
    d = two_platforms()
    d.send(start(channel="slack-general", title="T", deadline="vendredi 18h", channels=["matrix-general"]), T0)
    acts = d.send(chose(BOB, "consent", ref="proposal:v1:slack-general", channel="slack-general", via="button"), T0)
    assert [n.text.key for n in of(acts, PrivateNote)] == ["consent.answer.ack"]
    acts = d.send(chose(DIA, "consent", ref="proposal:v1:matrix-general", channel="matrix-general"), T0)
    assert not of(acts, PrivateNote)


def test_objection_by_button_opens_a_form_on_slack_and_asks_in_the_thread() -> None:
    d = two_platforms()
    d.send(start(channel="slack-general", title="T", deadline="vendredi 18h", channels=["matrix-general"]), T0)
    acts = d.send(chose(BOB, "objection", ref="proposal:v1:slack-general", channel="slack-general", via="button"), T0)
    (form,) = of(acts, OpenForm)
    assert form.form == "objection" and form.member == "bob" and form.fields[0]["id"] == "reason"
    (ask,) = of(acts, Post)
    assert ask.thread == Ref(role="proposal", version=1, channel="slack-general") and ask.text.key == "consent.objection.ask"
    # The modal's submission.
    acts = d.send(chose(BOB, "objection", ref="proposal:v1:slack-general", channel="slack-general", via="form",
                        reason="pas de budget"), T0 + timedelta(minutes=3))
    assert _answer(d, "bob").reason == "pas de budget"
    assert [n.text.key for n in of(acts, PrivateNote)] == ["consent.objection.recorded"]
    assert not of(acts, OpenForm), "asked once"
    # On Matrix: no form, a thread post; the reason comes as a thread reply.
    acts = d.send(chose(DIA, "objection", ref="proposal:v1:matrix-general", channel="matrix-general"),
                  T0 + timedelta(minutes=4))
    assert not of(acts, OpenForm) and [p.thread for p in of(acts, Post)] == [Ref(role="proposal", version=1, channel="matrix-general")]
    d.send(reply(DIA, "Objection : il manque l'avis des salariés", ref="proposal:v1:matrix-general",
                 channel="matrix-general"), T0 + timedelta(minutes=5))
    assert _answer(d, "dia").reason == "il manque l'avis des salariés"


def test_objection_command_and_thread_reply_starting_with_objection() -> None:
    d = two_platforms()
    d.send(start(channel="matrix-general", title="T", deadline="vendredi 18h"), T0)
    d.send(cmd(DIA, "objection", channel="matrix-general", reason="trop cher"), T0)
    assert _answer(d, "dia").value == "objection" and _answer(d, "dia").reason == "trop cher"
    # A plain question in the thread is a clarifying question, not an answer.
    d.send(reply(ELOI, "Que devient l'ancienne charte ?", ref="proposal:v1:matrix-general", channel="matrix-general"), T0)
    assert d.book.current("eloi") is None and d.state.questions == 1
    d.send(reply(ELOI, "objection: elle n'est pas traduite", ref="proposal:v1:matrix-general",
                 channel="matrix-general"), T0)
    assert _answer(d, "eloi").reason == "elle n'est pas traduite"


def test_a_named_group_is_the_circle() -> None:
    d = two_platforms(groups={"comite": ["alice", "dia"]})
    acts = d.send(start(channel="matrix-general", title="T", deadline="vendredi 18h", group="comite"), T0)
    assert "Cercle : le groupe « comite »" in texts(of(acts, Post))[0]
    acts = d.send(chose(ELOI, "consent", ref="proposal:v1:matrix-general", channel="matrix-general"), T0)
    assert [n.text.key for n in of(acts, PrivateNote)] == ["consent.answer.not_in_group"]
    d.send(chose(DIA, "consent", ref="proposal:v1:matrix-general", channel="matrix-general"), T0)
    (rec,) = records(d.advance(timedelta(days=5)))
    assert rec["circle_size"] == 2 and rec["answered"] == 1 and rec["group"] == "comite"


def test_unknown_group_or_channel_is_refused() -> None:
    d = two_platforms()
    acts = d.send(start(channel="matrix-general", title="T", group="inconnu"), T0)
    assert [n.text.key for n in of(acts, PrivateNote)] == ["consent.cmd.unknown_group"]
    d = two_platforms()
    acts = d.send(start(channel="matrix-general", title="T", channels=["nulle-part"]), T0)
    assert [n.text.key for n in of(acts, PrivateNote)] == ["core.cmd.unknown_channel"]


def test_anonymous_round_keeps_buttons_on_slack_and_sends_ballots_on_matrix() -> None:
    d = two_platforms()
    acts = d.send(start(channel="slack-general", title="T", deadline="vendredi 18h", channels=["matrix-general"],
                        anonymous=True), T0)
    slack, matrix = of(acts, Post)
    assert slack.choices and slack.channel == "slack-general"
    assert not matrix.choices and matrix.text.params["lines"].items[3].key == "consent.proposal.how_ballot"  # type: ignore[union-attr]
    ballots = of(acts, DirectMessage)
    # Matrix people get a private ballot; Slack people answer with private buttons.
    assert sorted(b.member for b in ballots) == ["alice", "dia", "eloi"]
    assert all(b.choices and b.ref == Ref(role="ballot", version=1, member=b.member) for b in ballots)
    d.send(chose(DIA, "objection", ref="proposal:v1:ballot:dia", channel="dm"), T0)
    (ask,) = [a for a in of(d.actions, DirectMessage) if a.text.key == "consent.objection.ask_dm"]
    assert ask.expects_reply and ask.member == "dia"
    assert not [p for p in of(d.actions, Post) if p.text.key == "consent.objection.ask"], "never asked in public"
    d.send(reply(DIA, "trop vague", ref="proposal:v1:ask:dia", channel="dm"), T0)
    d.send(chose(BOB, "consent", ref="proposal:v1:slack-general", channel="slack-general", via="button"), T0)
    acts = d.advance(timedelta(days=5))
    (rec,) = records(acts)
    assert rec["anonymous"] and "names" not in rec
    assert rec["objections"] == [{"by": None, "reason": "trop vague"}]
    outcome = texts([p for p in of(acts, Post) if p.text.key == "consent.outcome.body"])[0]
    assert "Dia" not in outcome and "Bob" not in outcome and "trop vague" in outcome


def _answer(d: Driver[RoundState], member: str) -> Answer:
    found = d.book.current(member)
    assert found is not None, f"{member} has no answer"
    return found
