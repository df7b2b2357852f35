"""The date poll's state: its slots with their live counts (who answered what is in the answers' rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["open", "tie", "closed", "cancelled"]
Style = Literal["buttons", "poll", "reactions"]
TOPIC = "dates"
"""The answers' topic: one row per member and slot (`part` = the slot's number, from 1),
value yes, maybe or no."""


class Slot(BaseModel):
    start: datetime
    place: str | None = None
    link: str | None = None
    yes: int = 0
    maybe: int = 0
    no: int = 0

    def count(self, answer: str) -> int:
        return int(getattr(self, answer))

    def add(self, answer: str, delta: int) -> None:
        setattr(self, answer, max(0, self.count(answer) + delta))


class DatePollState(BaseModel):
    title: str = ""
    by: str | None = None
    """Member key of the animateur who launched it (never reminded, asked to settle a tie)."""
    channel: str | None = None
    slots: list[Slot] = Field(default_factory=list)
    deadline: datetime | None = None
    answered: int = 0
    """How many members answered at least one slot."""
    status: Status = "open"
    style: Style = "reactions"
    """How members answer where it was posted: buttons on the table (Slack), one poll per
    slot in its thread (Matrix), or the text command alone."""
    reminded: bool = False
    edited_at: datetime | None = None
    """When the table was last edited for an answer: at most one such edit per `refresh`."""
    refresh_due: datetime | None = None
    """An edit planned for the answers given since (answers coalesced)."""
    tied: list[int] = Field(default_factory=list)
    """The slots (numbers from 1) that tie for the best at the close, waiting for `dates clore N`."""
    chosen: int | None = None
