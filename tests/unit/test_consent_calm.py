"""A calm consent round (issue 15): an answer by reaction or poll is its own confirmation, a
réserve may carry its reason and the outcome lists it; fr and en, on a fake clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.kernel.i18n import Mention
from bot.kernel.model import DirectMessage, Post, PrivateNote, Ref
from scenarios.consent import KIND
from scenarios.consent.round import RoundState
from tests.unit.test_consent_support import (
    ANIM,
    SLACK,
    T0,
    Driver,
    chose,
    circle_of,
    make_ctx,
    of,
    one_channel,
    person,
    records,
    reply,
    start,
    texts,
)

BOB, M2, M3 = person("bob"), person("m02"), person("m03")
PROPOSAL = Ref(role="proposal", version=1, channel="general")
FRIDAY_18H = T0 + timedelta(days=4, hours=8)


def _round(**params: Any) -> Driver[RoundState]:
    ctx, _ = one_channel(5)
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="Adopter la charte v2", deadline="vendredi 18h", **params), T0)
    return d


@pytest.mark.parametrize("via", ["reaction", "poll"])
@pytest.mark.parametrize("choice", ["consent", "stand_aside"])
def test_a_reaction_or_a_poll_vote_gets_no_private_confirmation(via: str, choice: str) -> None:
    d = _round()
    acts = d.send(chose(BOB, choice, via=via), T0 + timedelta(minutes=1))
    assert not of(acts, PrivateNote) and not of(acts, DirectMessage)
    assert d.state.counts[choice] == 1, "counted all the same (the live count's edit shows it)"


def test_a_button_click_leaves_no_trace_and_is_confirmed_privately() -> None:
    people = circle_of(3, "slack")
    ctx = make_ctx(people, {"general": ("slack", SLACK, [m.key for m in people])})
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(by=people[0], title="T", deadline="vendredi 18h"), T0)
    acts = d.send(chose(people[1], "consent", via="button"), T0)
    (note,) = of(acts, PrivateNote)
    assert note.text.key == "consent.answer.ack"
    assert "C'est noté pour la décision #1 : consentement" in texts([note])[0]
    assert "Noted for decision #1: consent" in texts([note], "en")[0]


@pytest.mark.parametrize("via", ["reaction", "poll"])
def test_what_needs_saying_is_still_said_privately(via: str) -> None:
    d = _round()
    outsider = person("zed")
    acts = d.send(chose(outsider, "consent", via=via), T0)
    assert [n.text.key for n in of(acts, PrivateNote)] == ["consent.answer.not_in_circle"], "a refused answer"
    acts = d.send(chose(BOB, "objection", via=via), T0 + timedelta(minutes=1))
    assert [p.text.key for p in of(acts, Post)] == ["consent.objection.ask"], "a reason asked"
    d.advance(FRIDAY_18H - d.now + timedelta(minutes=1))
    acts = d.send(chose(M2, "consent", via=via), d.now)
    assert [n.text.key for n in of(acts, PrivateNote)] == ["consent.answer.closed"]


def test_a_reserve_may_carry_its_reason_and_the_outcome_lists_it() -> None:
    d = _round()
    acts = d.send(chose(BOB, "concern"), T0 + timedelta(minutes=1))
    (ask,) = of(acts, Post)
    assert ask.thread == PROPOSAL and ask.text.key == "consent.concern.ask"
    assert "si vous le souhaitez" in texts([ask])[0] and "if you wish" in texts([ask], "en")[0]
    # Welcome, not required: named in words, not mentioned (a mention is an interruption); the
    # proposal says where a réserve's reason goes. An objection's author is still mentioned.
    assert ask.text.params["who"] == "Bob"
    assert "⚠️ consentement avec réserve (dites laquelle en fil, si vous le souhaitez)" in texts(of(d.actions, Post))[0]
    (objection_ask,) = of(d.send(chose(M3, "objection"), T0 + timedelta(minutes=2)), Post)
    assert isinstance(objection_ask.text.params["who"], Mention)
    d.send(chose(M3, "consent"), T0 + timedelta(minutes=3))
    assert not of(acts, PrivateNote)
    acts = d.send(reply(BOB, "le calendrier est serré"), T0 + timedelta(minutes=5))
    assert [n.text.key for n in of(acts, PrivateNote)] == ["consent.concern.recorded"]
    # Asked once: choosing it again keeps the reason, asks nothing.
    d.send(chose(BOB, "consent"), T0 + timedelta(minutes=6))
    acts = d.send(chose(BOB, "concern"), T0 + timedelta(minutes=7))
    assert [p.text.key for p in of(acts, Post)] == ["consent.concern.ask"], "a new réserve after a consent"
    d.send(reply(BOB, "le calendrier est serré"), T0 + timedelta(minutes=8))
    # Another réserve without a reason: the reason is optional.
    d.send(chose(M2, "concern"), T0 + timedelta(minutes=9))
    d.send(chose(M3, "consent"), T0 + timedelta(minutes=10))
    # A thread question by someone who consented is a question, not a reason.
    d.send(reply(M3, "Et le budget ?"), T0 + timedelta(minutes=11))
    acts = d.advance(FRIDAY_18H - d.now)
    (outcome,) = [p for p in of(acts, Post) if p.text.key == "consent.outcome.body"]
    fr, en = texts([outcome])[0], texts([outcome], "en")[0]
    assert "Réserves :\n• Bob : le calendrier est serré" in fr and "M02 :" not in fr.split("Réserves")[1]
    assert "Concerns:\n• Bob: le calendrier est serré" in en
    (rec,) = records(acts)
    assert rec["concerns"] == [{"by": "Bob", "reason": "le calendrier est serré"}]
    assert rec["questions"] == 1


def test_a_reserve_reason_is_only_taken_when_asked() -> None:
    d = _round()
    d.send(chose(BOB, "concern", via="form", reason="trop tôt"), T0)
    acts = d.send(reply(BOB, "une question sur l'article 3 ?"), T0 + timedelta(minutes=1))
    assert not of(acts, PrivateNote)
    assert d.state.questions == 1


def test_in_an_anonymous_round_a_reserve_is_asked_privately_and_listed_without_its_author() -> None:
    d = _round(anonymous=True)
    (ballot,) = [a for a in d.actions if isinstance(a, DirectMessage) and a.member == "bob"]
    acts = d.send(chose(BOB, "concern", ref=ballot.ref or "", channel="dm", via="button"), T0)
    (ask,) = of(acts, DirectMessage)
    assert ask.text.key == "consent.concern.ask_dm" and ask.expects_reply and not of(acts, Post)
    d.send(reply(BOB, "le calendrier est serré", ref=ask.ref or "", channel="dm"), T0 + timedelta(minutes=1))
    acts = d.advance(FRIDAY_18H - d.now)
    (outcome,) = [p for p in of(acts, Post) if p.text.key == "consent.outcome.body"]
    fr = texts([outcome])[0]
    assert "Réserves :\n• le calendrier est serré" in fr and "Bob" not in fr


def test_an_animateur_is_asked_like_anyone() -> None:
    d = _round()
    acts = d.send(chose(ANIM, "concern"), T0)
    assert [p.text.key for p in of(acts, Post)] == ["consent.concern.ask"]


def test_the_proposal_names_its_author_without_mentioning_them() -> None:
    # They just proposed it: a mention would ping them by their own proposal (issue 15).
    d = _round()
    (proposal,) = [p for p in of(d.actions, Post) if p.text.key == "consent.proposal.body"]
    assert "Proposée par Alice." in texts([proposal])[0] and "Proposed by Alice." in texts([proposal], "en")[0]
    assert "Mention" not in repr(proposal.text)
