"""The meetings calendar's state: materialised occurrences, their agenda, counts of answers and attendance."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from bot.kernel.model import Ref

Answer = Literal["yes", "no", "maybe"]
ANSWERS: tuple[Answer, ...] = ("yes", "no", "maybe")
RSVP, ATTENDANCE = "rsvp", "attendance"
"""The topics of a meeting's answers: before it (yes, no, maybe), after it (came, missed)."""


def no_rsvp() -> dict[str, int]:
    return {a: 0 for a in ANSWERS}
Status = Literal["scheduled", "attendance", "held", "cancelled"]


class AgendaItem(BaseModel):
    text: str
    by: str
    """Member key of who proposed it."""
    by_name: str
    at: datetime


class Swap(BaseModel):
    """A role its holder asked to hand to someone, waiting for that person's answer."""

    role: str
    holder: str
    to: str


class Occurrence(BaseModel):
    """One meeting on the calendar: an occurrence of a configured series, or a one-off."""

    key: str
    """Stable id, the `key` of its refs and timers: "<series>.<YYYYMMDD>" or "once-<n>"."""
    series: str
    """The series id; for a one-off, its own key (muting a one-off mutes that meeting)."""
    one_off: bool = False
    title: str
    start: datetime
    end: datetime
    place: str | None = None
    link: str | None = None
    channels: list[str] = Field(default_factory=list)
    agenda: list[AgendaItem] = Field(default_factory=list)
    n: int = 0
    """Its number in the calendar: the `part` of its answers (RSVPs, attendance) as rows."""
    rsvp_counts: dict[str, int] = Field(default_factory=lambda: no_rsvp())
    """How many answered yes, no, maybe (who answered what is in the answers' rows)."""
    status: Status = "scheduled"
    created_by: str | None = None
    attendees: list[str] = Field(default_factory=list)
    minutes: str | None = None
    page_ref: str | None = None
    """Role of the message holding the page of record, once posted ("att" or "page")."""
    reminders_sent: list[Ref] = Field(default_factory=list)
    """Timer names of the reminders actually posted (for tests and the record)."""
    posted: bool = False
    """Its one channel post (role "post") exists: reminders and answers edit it."""
    refresh_pending: bool = False
    """An edit of the post is planned (answers coalesced, one edit per minute at most)."""
    roles: dict[str, str] = Field(default_factory=dict)
    """Meeting role → member key, given at the last reminder (declared order)."""
    roles_given: bool = False
    swaps: list[Swap] = Field(default_factory=list)
    attendance_asked: bool = False


class Skip(BaseModel):
    """A timer that fired too late to act (downtime): what was skipped and why."""

    timer: Ref
    due_at: datetime
    reason: str


class MeetingsState(BaseModel):
    started_at: datetime | None = None
    occurrences: list[Occurrence] = Field(default_factory=list)
    muted: dict[str, list[str]] = Field(default_factory=dict)
    """Member key → series ids they asked not to be reminded of (personal reminders)."""
    personal: dict[str, list[str]] = Field(default_factory=dict)
    """Member key → series ids ("*": every meeting) they asked personal reminders for (opt-in)."""
    role_history: dict[str, dict[str, dict[str, int]]] = Field(default_factory=dict)
    """Series id → meeting role → member key → number of the last held meeting where they had it."""
    names: dict[str, str] = Field(default_factory=dict)
    """Last known display name of members who acted (for pages, if they leave the directory)."""
    next_one_off: int = 1
    plan_due: datetime | None = None
    frontier: dict[str, datetime | None] = Field(default_factory=dict)
    """Series id → its first occurrence not materialised yet (None: the rule has ended)."""
    fingerprint: str | None = None
    """Of the series config the calendar was built from: a change triggers a reconcile."""
    skipped: list[Skip] = Field(default_factory=list)
    next_n: int = 1
    one_meeting: bool = False
    """Started by another ritual for one meeting (a date poll's): over once it is held or
    cancelled, unlike the network's calendar."""

    @model_validator(mode="after")
    def _numbered(self) -> MeetingsState:
        # Every occurrence has its number (states written before answers were rows had none).
        for occ in self.occurrences:
            if occ.n == 0:
                occ.n = self.next_n
                self.next_n += 1
        return self

    def number(self, occ: Occurrence) -> Occurrence:
        """The occurrence, numbered as the calendar's next one."""
        occ.n = self.next_n
        self.next_n += 1
        return occ

    def find(self, key: str) -> Occurrence | None:
        for o in self.occurrences:
            if o.key == key:
                return o
        return None
