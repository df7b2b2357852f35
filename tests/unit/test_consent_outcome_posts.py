"""A round's outcome is no new channel post (issue 15): the proposal's post is edited to say it
at its top, the full outcome is a reply in its thread; a withdrawal, a lapse and a new version
edit the post too. fr and en, on a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.kernel.model import Edit, Post, Ref
from scenarios.consent import KIND
from scenarios.consent.round import RoundState
from tests.unit.test_consent_support import (
    ANIM,
    NO_EDITS,
    T0,
    Driver,
    chose,
    cmd,
    of,
    one_channel,
    person,
    records,
    reply,
    start,
    texts,
)

BOB, M2, M3 = person("bob"), person("m02"), person("m03")
V1 = Ref(role="proposal", version=1, channel="general")
V2 = Ref(role="proposal", version=2, channel="general")
FRIDAY_18H = T0 + timedelta(days=4, hours=8)
LOCALES = {"fr": ("Adoptée le", "27 novembre", "Objections à intégrer", "Retirée le", "Remplacée par la v2"),
           "en": ("Adopted on", "27 November", "Objections to integrate", "Withdrawn on", "Replaced by v2")}


def _round(edits: bool = True) -> Driver[RoundState]:
    ctx, _ = one_channel(5) if edits else one_channel(5, caps=NO_EDITS)
    d: Driver[RoundState] = Driver(KIND, ctx)
    d.send(start(title="Adopter la charte v2", deadline="vendredi 18h"), T0)
    return d


def _top_level(acts: list[object]) -> list[Post]:
    return [p for p in of(acts, Post) if p.thread is None]


def _last_edit(d: Driver[RoundState], ref: Ref = V1) -> Edit:
    return [e for e in of(d.actions, Edit) if e.ref == ref][-1]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_an_adopted_round_edits_its_post_and_details_the_outcome_in_its_thread(locale: str) -> None:
    adopted, day, *_ = LOCALES[locale]
    d = _round()
    d.send(chose(BOB, "consent"), T0 + timedelta(hours=1))
    d.send(chose(M2, "concern"), T0 + timedelta(hours=2))
    d.send(reply(M2, "le budget reste flou"), T0 + timedelta(hours=2, minutes=1))
    acts = d.advance(FRIDAY_18H - d.now + timedelta(minutes=1))
    assert _top_level(acts) == [], "no new channel post for the outcome"
    (detail,) = [p for p in of(acts, Post) if p.text.key == "consent.outcome.body"]
    assert detail.thread == V1
    text = texts([detail], locale)[0]
    assert "2" in text and "le budget reste flou" in text and "bob" in text.lower()
    edit = _last_edit(d)
    assert edit.choices == []
    first = texts([edit], locale)[0].splitlines()[0]
    assert first.startswith("✅") and adopted in first and day in first, first
    # The post still shows the final count, and the record is written once.
    assert "consent.proposal.counts" in {m.key for m in edit.text.params["lines"].items}
    (rec,) = records(acts)
    assert rec["outcome"] == "adopted"


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_objections_are_said_at_the_top_and_listed_with_their_reason_in_the_thread(locale: str) -> None:
    _, _, objections, *_ = LOCALES[locale]
    d = _round()
    d.send(chose(BOB, "objection"), T0 + timedelta(hours=1))
    d.send(reply(BOB, "le coût n'est pas chiffré"), T0 + timedelta(hours=1, minutes=1))
    acts = d.advance(FRIDAY_18H - d.now + timedelta(minutes=1))
    assert _top_level(acts) == []
    (detail,) = [p for p in of(acts, Post) if p.text.key == "consent.outcome.body"]
    assert detail.thread == V1 and "le coût n'est pas chiffré" in texts([detail], locale)[0]
    assert objections in texts([_last_edit(d)], locale)[0].splitlines()[0]
    # Without a new version, the lapse is said the same way: the post's top, its thread.
    acts = d.advance(timedelta(days=30))
    assert _top_level(acts) == []
    assert [p.thread for p in of(acts, Post)] == [V1]
    assert _last_edit(d).text.params["lines"].items[0].key == "consent.proposal.top_lapsed"
    assert [r["outcome"] for r in records(acts)] == ["lapsed"]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_withdrawal_is_an_edit_of_the_post_only(locale: str) -> None:
    *_, withdrawn, _ = LOCALES[locale]
    d = _round()
    d.send(chose(BOB, "consent"), T0 + timedelta(hours=1))
    acts = d.send(cmd(ANIM, "retirer"), T0 + timedelta(hours=2))
    assert of(acts, Post) == []
    first = texts([_last_edit(d)], locale)[0].splitlines()[0]
    assert withdrawn in first
    assert [r["outcome"] for r in records(acts)] == ["withdrawn"]


def test_a_channel_that_cannot_edit_is_told_in_the_proposal_thread() -> None:
    d = _round(edits=False)
    acts = d.send(cmd(ANIM, "retirer"), T0 + timedelta(hours=2))
    assert [(p.thread, p.text.key) for p in of(acts, Post)] == [(V1, "consent.withdraw.posted")]
    d = _round(edits=False)
    acts = d.advance(FRIDAY_18H - d.now + timedelta(minutes=1))
    assert _top_level(acts) == [] and not of(acts, Edit)
    assert [p.thread for p in of(acts, Post) if p.text.key == "consent.outcome.body"] == [V1]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_new_version_is_one_new_post_and_the_old_one_points_to_it(locale: str) -> None:
    *_, replaced = LOCALES[locale]
    d = _round()
    d.send(chose(BOB, "consent"), T0 + timedelta(hours=1))
    acts = d.send(cmd(ANIM, "amender", title="Adopter la charte v2.1"), T0 + timedelta(hours=2))
    # The new version's post is needed: its reactions start from zero where all see them.
    assert [p.ref for p in _top_level(acts)] == [V2]
    assert [p for p in of(acts, Post) if p.thread is not None] == [], "no pointer reply: the edit points"
    assert replaced in texts([_last_edit(d)], locale)[0].splitlines()[0]
    # Votes count on the new post: live count, and the outcome in its own thread.
    d.send(chose(M2, "consent", ref=V2), T0 + timedelta(hours=3))
    d.send(chose(M3, "consent", ref=V2), T0 + timedelta(hours=3))
    assert d.state.answered == 2
    d.advance(timedelta(minutes=30))
    assert "consent.proposal.counts" in {m.key for m in _last_edit(d, V2).text.params["lines"].items}
    acts = d.advance(FRIDAY_18H - d.now + timedelta(minutes=1))
    assert [p.thread for p in of(acts, Post)] == [V2]
    assert [(r["outcome"], r["counts"]["consent"]) for r in records(acts)] == [("adopted", 2)]


def test_a_channel_that_cannot_edit_gets_the_pointer_in_the_old_thread() -> None:
    d = _round(edits=False)
    acts = d.send(cmd(ANIM, "amender", title="T bis"), T0 + timedelta(hours=2))
    assert [(p.thread, p.text.key) for p in of(acts, Post) if p.thread is not None] == [(V1, "consent.amend.pointer")]
