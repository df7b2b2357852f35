"""Matrix polls (issue 15): a question of two answers or more is a poll, a single action a
reaction; a poll someone voted on is never edited (MSC3381), a closed question ends it."""

from __future__ import annotations

import pytest

from adapters.matrix import content as mx
from bot.adapter import Outgoing
from bot.kernel.i18n import Msg
from bot.kernel.model import Choice, Post

CONSENT = [Choice(id=c, label=Msg(f"consent.choice.{c}"), emoji=e)
           for c, e in (("consent", "✅"), ("concern", "⚠️"), ("objection", "✋"), ("stand_aside", "🙊"))]
CONTRIBUTE = [Choice(id="contribute", label=Msg("sortition.seed.button"), emoji="🎲")]


@pytest.mark.parametrize("style", ["poll", "buttons"])
def test_a_question_is_a_poll_a_single_action_is_a_reaction(style: str) -> None:
    assert mx.as_poll(CONSENT, style)
    assert not mx.as_poll(CONTRIBUTE, style), "« Contribuer au hasard » is no one-answer poll"
    assert not mx.as_poll(CONSENT, "reactions")
    many = [Choice(id=f"c{i}", label=Msg("consent.choice.consent"), emoji="✅") for i in range(mx.MAX_POLL_ANSWERS + 1)]
    assert not mx.as_poll(many, style), "more answers than Element draws: reactions"


def test_a_poll_is_edited_until_someone_votes_then_kept_and_ended_when_closed() -> None:
    out = Outgoing(action=Post(channel="general", text=Msg("consent.choice.consent"), choices=CONSENT), key="k",
                   channel="!r:x")
    answers = mx.poll_answers(out, CONSENT)
    assert mx.poll_edit(voted=False, answers=answers) == "edit"
    assert mx.poll_edit(voted=True, answers=answers) == "keep", "never edit a poll people have voted on"
    assert mx.poll_edit(voted=True, answers=[]) == "end", "a closed question ends the poll (no edit of it)"
    assert mx.poll_edit(voted=False, answers=[]) == "end"
