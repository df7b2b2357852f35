"""An election is one channel post (issue 15), edited at each step (call → reveal → change
round → proposal → outcome), each step's detail a reply in its thread, the consent round on
the proposed person in that thread; the result said once. fr and en, on a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.kernel.model import DirectMessage, Edit, Post, Ref
from scenarios.election import ElectionState
from tests.unit.test_consent_support import ANIM, Driver, chose, cmd, of, records, reply, texts
from tests.unit.test_election_steps import BOB, M2, M3, M4, nominated, proposed, started

CALL = Ref(scope="election", role="call", channel="general")
CANDIDATE1 = Ref(scope="candidate", n=1, role="proposal", version=1, channel="general")
STATUS = {"fr": ("Étape 2 — nominations dévoilées", "Nominations dévoilées", "Étape 3 — consentement sur M02",
                 "🎉 M02 est élu·e délégué au comité régional"),
          "en": ("Step 2 — nominations revealed", "Nominations revealed", "Step 3 — consent on M02",
                 "🎉 M02 is elected délégué au comité régional")}


def _top(d: Driver[ElectionState], locale: str) -> str:
    """The first line of the election post as last edited."""
    edit = [e for e in of(d.actions, Edit) if e.ref == CALL][-1]
    return texts([edit], locale)[0].splitlines()[0]


def _elect(d: Driver[ElectionState]) -> list[object]:
    for i, m in enumerate([ANIM, BOB, M3, M4]):
        d.send(chose(m, "consent", ref=CANDIDATE1), d.now + timedelta(minutes=i))
    return d.advance(timedelta(days=3))  # type: ignore[return-value]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_whole_election_is_one_channel_post_edited_at_each_step(locale: str) -> None:
    changing, proposing, consent, elected = STATUS[locale]
    d = nominated()
    assert changing in _top(d, locale)
    (reveal,) = [p for p in of(d.actions, Post) if p.text.key == "election.reveal_body"]
    assert reveal.thread == CALL
    d.advance(timedelta(days=1))
    assert proposing in _top(d, locale)
    d.send(cmd(ANIM, "election proposer", who="m02"), d.now + timedelta(hours=1))
    assert consent in _top(d, locale)
    acts = _elect(d)
    assert d.finished == "elected"
    assert _top(d, locale).startswith(elected)
    # Over the whole election: one top-level post, the call; everything else in its thread.
    posts = of(d.actions, Post)
    assert [p.ref for p in posts if p.thread is None] == [CALL]
    assert {p.thread for p in posts if p.thread is not None} == {CALL}
    # The result is said once as a message: the round's outcome, in the thread.
    said = [p for p in of(acts, Post)]
    assert [(p.text.key, p.thread) for p in said] == [("consent.outcome.body", CALL)]
    assert texts(said, locale)[0].startswith(elected)
    # The round's proposal (in the thread) is edited too: closed, no choices left.
    closed = [e for e in of(d.actions, Edit) if e.ref == CANDIDATE1][-1]
    assert closed.choices == [] and elected in texts([closed], locale)[0].splitlines()[0]


def test_votes_count_on_the_proposal_in_the_thread() -> None:
    d = proposed()
    (proposal,) = [p for p in of(d.actions, Post) if p.ref == CANDIDATE1]
    assert proposal.thread == CALL and [c.id for c in proposal.choices] == ["consent", "concern", "objection", "stand_aside"]
    d.send(chose(BOB, "consent", ref=CANDIDATE1), d.now)
    assert d.state.round is not None and d.state.round.answered == 1
    # The live count: the proposal's own message is edited.
    d.advance(timedelta(minutes=2))
    live = [e for e in of(d.actions, Edit) if e.ref == CANDIDATE1][-1]
    assert "consent.proposal.counts" in {m.key for m in live.text.params["lines"].items}
    # The reminder: privately, never the nominee.
    acts = d.advance(timedelta(days=1, hours=12))
    reminded = {a.member for a in of(acts, DirectMessage) if a.text.key == "consent.remind.dm"}
    assert reminded and "m02" not in reminded and "bob" not in reminded
    # The record.
    acts = d.advance(timedelta(days=2))
    (decision,) = records(acts, "decision")
    assert decision["counts"]["consent"] == 1 and decision["subject"] == "election"


def test_an_objection_reason_given_in_the_election_thread_is_the_rounds() -> None:
    d = proposed()
    acts = d.send(chose(BOB, "objection", ref=CANDIDATE1), d.now)
    (ask,) = [p for p in of(acts, Post) if p.text.key == "consent.objection.ask"]
    assert ask.thread == CALL, "asked in the thread the round lives in"
    d.send(reply(BOB, "elle a déjà deux mandats", ref=CALL), d.now + timedelta(minutes=5))
    acts = d.advance(timedelta(days=3))
    (outcome,) = [p for p in of(acts, Post) if p.text.key == "consent.outcome.body"]
    assert outcome.thread == CALL and "elle a déjà deux mandats" in texts([outcome])[0]
    assert d.state.phase == "consent" and d.state.nominators == 3, "a reply in the thread is no nomination"


def test_no_nomination_closes_the_post_and_says_it_in_its_thread() -> None:
    d = started()
    acts = d.advance(timedelta(days=4))
    assert [(p.text.key, p.thread) for p in of(acts, Post)] == [("election.none", CALL)]
    assert _top(d, "fr").startswith("Close") and _top(d, "en").startswith("Closed")


def test_a_decline_is_said_in_the_thread_and_on_the_post() -> None:
    d = proposed()
    acts = d.send(cmd(M2, "election decliner"), d.now + timedelta(hours=1))
    assert [(p.text.key, p.thread) for p in of(acts, Post)] == [("election.declined", CALL)]
    assert "M02 a décliné" in _top(d, "fr") and "M02 declined" in _top(d, "en")
