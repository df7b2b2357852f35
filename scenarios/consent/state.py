"""A consent round's state: who, what, when, its phase and its counts; who answered what lives
in the answers' rows (`bot.kernel.answers`), not here."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.kernel.commands import fold
from bot.kernel.i18n import Msg
from bot.kernel.model import Choice, Ref

CHOICE_IDS: tuple[str, ...] = ("consent", "concern", "objection", "stand_aside")
EMOJIS: dict[str, str] = {"consent": "✅", "concern": "⚠️", "objection": "✋", "stand_aside": "🙊"}
TOPIC = "consent"
"""The topic of a round's answers (`RecordAnswer`), versions apart."""
LATE = "late"
"""The topic of answers that came after the deadline: not counted, but the record says so."""

Status = Literal[
    "new", "questions", "answers", "integrating", "adopted", "withdrawn", "lapsed", "cancelled"
]
OPEN: frozenset[str] = frozenset({"questions", "answers"})
OVER: frozenset[str] = frozenset({"adopted", "withdrawn", "lapsed", "cancelled"})

_OBJECTION_PREFIX = re.compile(r"^\s*(objection|object|objecter|j'objecte)\b\s*[:,.\-–—]?\s*", re.IGNORECASE)


def choices() -> list[Choice]:
    """The four answers, in the order they are shown."""
    return [Choice(id=c, label=Msg(f"consent.choice.{c}"), emoji=EMOJIS[c]) for c in CHOICE_IDS]


def strip_objection(text: str) -> str:
    """ "objection : trop tôt" → "trop tôt"."""
    return _OBJECTION_PREFIX.sub("", text, count=1).strip()


def starts_with_objection(text: str) -> bool:
    return _OBJECTION_PREFIX.match(fold(text)) is not None and bool(strip_objection(text))


def no_counts() -> dict[str, int]:
    return dict.fromkeys(CHOICE_IDS, 0)


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VersionRecord(_Data):
    """One past version of the proposal, as kept in the history (its objections are read from
    the answers of that version)."""

    version: int
    title: str
    opened_at: datetime
    deadline: datetime
    closed_at: datetime
    outcome: str
    counts: dict[str, int]
    objections: list[dict[str, str | None]] | None = None
    """Only in a version closed before answers were rows (carried over by migration 0008)."""


class RoundState(_Data):
    """A consent round: who, what, when, and how many answered what in the current version."""

    ref_scope: str | None = None
    """The refs' scope and number: none for a decision's round, ("candidate", n) for an election's."""
    ref_n: int | None = None
    timer_prefix: str = "consent"
    subject: str = "proposal"
    """"proposal" for a decision, "election" when the election proposes a person."""
    number: int = 0
    title: str = ""
    description: str = ""
    """What is proposed and why, when given (the proposal form's text); member content."""
    headline: Msg | None = None
    """Replaces the standard title line (the election's "X as delegate")."""
    adopted: Msg | None = None
    """What the outcome says when the round is adopted, instead of "Adoptée" (the election's
    "X is elected"): the result is said once."""
    subject_data: dict[str, str] = Field(default_factory=dict)
    author: str = ""
    author_name: str = ""
    channels: list[str] = Field(default_factory=list)
    group: str | None = None
    anonymous: bool = False
    quorum: float | None = None
    reminders: list[timedelta] = Field(default_factory=list)
    """Leads before the deadline; a version is reminded once, at the earliest still ahead."""
    reminded: bool = False
    """Whether the current version's one private reminder went out."""
    reminded_earlier: int = 0
    """The latest earlier version whose reminder went out (0: none): those who left it
    unanswered were reminded of this proposal already, and are not reminded again."""
    spared: list[str] = Field(default_factory=list)
    """Members never reminded besides the author: the person an election's round is about."""
    thread: Ref | None = None
    """The post whose thread the round lives in (an election's one post, its channel left out):
    the proposal is a reply there, and so is all the round says after it."""
    refresh: timedelta = timedelta(minutes=1)
    integration: timedelta = timedelta(days=14)
    status: Status = "new"
    version: int = 1
    started_at: datetime | None = None
    opened_at: datetime | None = None
    questions_until: datetime | None = None
    deadline: datetime | None = None
    counts: dict[str, int] = Field(default_factory=no_counts)
    """The current version's answers by choice, kept as each answer comes (the live count);
    counted again from the rows whenever the round reads them all."""
    late: int = 0
    """Answers that came after the deadline (not counted)."""
    circle: int | None = None
    """How many counted for the quorum when the current version closed (an anonymous round's
    answers no longer say who answered, so the records that follow keep this figure)."""
    questions: int = 0
    refresh_pending: bool = False
    history: list[VersionRecord] = Field(default_factory=list)
    outcome: str | None = None
    closed_at: datetime | None = None
    closed_late_by: timedelta | None = None

    def fork(self) -> RoundState:
        """A copy safe to change: the containers this module mutates are copied, their items
        (replaced, never modified in place) are shared."""
        return self.model_copy(update={
            "counts": dict(self.counts), "history": list(self.history), "channels": list(self.channels),
            "reminders": list(self.reminders), "spared": list(self.spared), "subject_data": dict(self.subject_data),
        })

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def is_over(self) -> bool:
        return self.status in OVER

    @property
    def part(self) -> int:
        """The part of its ritual whose answers are this round's: an election's candidate."""
        return self.ref_n or 0

    @property
    def answered(self) -> int:
        return sum(self.counts.values())

    @model_validator(mode="before")
    @classmethod
    def _scope_of_prefix(cls, data: Any) -> Any:
        # States saved before refs were typed name the round "proposal" or "candidate<n>".
        if isinstance(data, dict) and (m := re.fullmatch(r"([a-z]+)([0-9]+)", str(data.get("ref_prefix")))):
            data = {**data, "ref_scope": m[1], "ref_n": int(m[2])}
        # States saved when reminders could name people in public carry `remind_via`: reminders
        # are private now, whatever it said.
        return {k: v for k, v in data.items() if k not in ("ref_prefix", "remind_via")} if isinstance(data, dict) else data

    def proposal_ref(self, channel: str, version: int | None = None) -> Ref:
        return Ref(role="proposal", scope=self.ref_scope, n=self.ref_n, version=version or self.version, channel=channel)

    def thread_ref(self, channel: str, version: int | None = None) -> Ref:
        """Where the round's replies go: the thread it lives in, or its proposal's own."""
        if self.thread is not None:
            return self.thread.model_copy(update={"channel": channel})
        return self.proposal_ref(channel, version)

    def ballot_ref(self, member: str, version: int | None = None, role: str = "ballot") -> Ref:
        return Ref(role=role, scope=self.ref_scope, n=self.ref_n, version=version or self.version, member=member)

    def version_of(self, ref: Ref) -> int | None:
        """The version one of this round's messages belongs to; None for any other message."""
        return ref.version if (ref.scope, ref.n) == (self.ref_scope, self.ref_n) else None

    def timer(self, name: str, n: int | None = None) -> Ref:
        return Ref(scope=self.timer_prefix, role=name, n=n)

    def owns_timer(self, name: Ref) -> bool:
        return name.scope == self.timer_prefix
