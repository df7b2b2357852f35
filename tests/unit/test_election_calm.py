"""A calm election (issue 15): steps numbered 1, 2, 3; its result said once; the consent step's
reminders private, once, never to the person proposed nor to the animateur who proposed."""

from __future__ import annotations

from datetime import timedelta

from bot.kernel.model import DirectMessage, Post, Ref
from scenarios.election import ElectionState
from tests.unit.test_consent_support import ANIM, Driver, chose, cmd, of, person, texts
from tests.unit.test_election_steps import ROLE, nominated, proposed, started

BOB, M2, M3, M4 = person("bob"), person("m02"), person("m03"), person("m04")
ANSWER = "candidate1:v1:general"


def _steps(d: Driver[ElectionState], lang: str) -> list[str]:
    word = "Étape" if lang == "fr" else "Step"
    return [line.split("—")[0].strip() for t in texts(of(d.actions, Post), lang) for line in t.splitlines()
            if line.startswith(word)]


def test_the_steps_are_numbered_one_two_three() -> None:
    d = proposed()
    assert _steps(d, "fr") == ["Étape 1", "Étape 2"]
    assert _steps(d, "en") == ["Step 1", "Step 2"]
    call = texts(of(d.actions, Post))[0]
    assert "**" not in call and "étape 2" in call and "étape 3" in call
    proposal = [t for t in texts(of(d.actions, Post)) if "étape 3, consentement" in t]
    assert len(proposal) == 1 and "M02 comme " + ROLE in proposal[0]


def test_the_consent_step_reminds_privately_once_never_the_nominee_nor_the_proposer() -> None:
    d = proposed()
    d.send(chose(BOB, "consent", ref=ANSWER), d.now + timedelta(minutes=1))
    before = len(d.actions)
    d.advance(timedelta(days=3))
    after = d.actions[before:]
    reminders = [a for a in of(after, DirectMessage) if a.text.key == "consent.remind.dm"]
    assert sorted(a.member for a in reminders) == ["m03", "m04"], \
        "not m02 (proposed), not alice (who proposed), not bob (answered)"
    assert not [p for p in of(after, Post) if p.text.key.startswith("consent.remind")]
    assert "l'élection #1" in texts(reminders[:1])[0] and "election #1" in texts(reminders[:1], "en")[0]


def test_the_result_is_posted_once() -> None:
    d = proposed()
    for i, m in enumerate([ANIM, BOB, M3, M4]):
        d.send(chose(m, "consent", ref=ANSWER), d.now + timedelta(minutes=i))
    before = len(d.actions)
    d.advance(timedelta(days=3))
    posts = of(d.actions[before:], Post)
    assert [p.text.key for p in posts] == ["consent.outcome.body"]
    assert d.finished == "elected"


def test_self_nomination_is_understood() -> None:
    d = started()
    acts = d.send(cmd(BOB, "election nommer", channel="dm", who="moi-même parce que j'ai le temps"), d.now)
    assert [a.text.key for a in acts if getattr(a, "text", None)] == ["election.nominated"]  # type: ignore[union-attr]
    assert "vous proposez Bob" in texts(acts)[0]


def test_nominations_then_reveal_say_step_two() -> None:
    d = nominated()
    reveal = [t for t in texts(of(d.actions, Post)) if "tour de changement" in t]
    assert len(reveal) == 1 and "Étape 2 — tour de changement" in reveal[0]


def test_the_tally_after_changes_goes_in_the_election_thread_not_in_the_channel() -> None:
    d = nominated()
    acts = d.advance(timedelta(days=1))
    (after,) = [p for p in of(acts, Post) if p.text.key == "election.after_change"]
    assert after.thread == Ref(scope="election", role="call", channel="general"), "in the election post's thread"


def test_the_person_proposed_is_told_privately_and_mentioned_only_by_the_result() -> None:
    # Issue 15: the proposal and its reasons in the thread name them in words; the direct
    # message tells them; the result, which concerns them most, mentions them.
    d = proposed()
    thread = [p for p in of(d.actions, Post) if p.text.key in ("consent.proposal.body", "election.proposal_context")]
    assert len(thread) == 2 and all("Mention" not in repr(p.text) for p in thread)
    assert all("M02" in texts([p])[0] and "M02" in texts([p], "en")[0] for p in thread)
    assert [a.member for a in of(d.actions, DirectMessage) if a.text.key == "election.proposed_dm"] == ["m02"]
    assert d.state.round is not None and "Mention" in repr(d.state.round.adopted)
