"""A draw's state between events (its record, the seed's contributions, who still has to
answer), its refs and the answers it offers."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, Field

from bot.kernel.model import RecordAnswer, Ref
from scenarios.sortition.record import DrawRecord
from scenarios.sortition.seed import Contribution

Phase = Literal["new", "commit", "reveal", "accept", "done", "cancelled"]
RUNNING = ("commit", "reveal", "accept")
"""The phases of a draw under way: one that may be cancelled, and that holds its role."""


class DrawState(BaseModel):
    """Everything the draw remembers between events (stored by the engine as JSON)."""

    phase: Phase = "new"
    channel: str | None = None
    by: str | None = None
    title: str = ""
    record: DrawRecord | None = None
    contributions: list[Contribution] = Field(default_factory=list)
    extended: bool = False
    commit_until: datetime | None = None
    reveal_until: datetime | None = None
    pending: list[str] = Field(default_factory=list)
    """Drawn members who have not answered yet."""
    accepted: list[str] = Field(default_factory=list)
    result_on_announce: bool = False
    """The result was said by editing the announcement (`ANNOUNCE`): the final panel edits it again."""
    result_posted: bool = False
    """The result has its own post with its ref (`RESULT`: a channel that cannot edit, or an
    earlier release): the final panel edits it in place. A draw whose result was posted by a
    still earlier release has no such post: its final panel is posted."""


CONTRIBUTE = "contribute"
ACCEPT = "accept"
DECLINE = "decline"
ANNOUNCE, COMMIT_END, REVEAL_END = Ref(role="announce"), Ref(role="commit_end"), Ref(role="reveal_end")
RESULT = Ref(role="result")
"""The result's own post where the announcement cannot be edited, edited into the final panel
once everyone has answered."""


def percent_of(p: Fraction) -> float:
    return round(float(p) * 100, 2)


CONTRIBUTION, ACCEPTANCE = "contribution", "acceptance"
"""The topics of a draw's answers as rows: a member's part of the seed (its commitment, then
its reveal), and a drawn member's answer (accepted, declined, no answer)."""


def contribution(c: Contribution) -> RecordAnswer:
    """A contribution to the seed as a row: its commitment, whether it is revealed yet (the
    secret itself is published in the draw's record, not here)."""
    return RecordAnswer(member=c.member, topic=CONTRIBUTION, value=c.commitment,
                        data={"status": c.status, "assisted": c.assisted})


def acceptance(member: str, answer: str, by_default: bool = False) -> RecordAnswer:
    """A drawn member's answer as a row ("accepted", "declined", "no_answer"); `by_default`
    when the draw's settings took silence for a yes."""
    return RecordAnswer(member=member, topic=ACCEPTANCE, value=answer, data={"by_default": True} if by_default else {})
