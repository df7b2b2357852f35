"""Members' answers as rituals see them: one answer, and the read-only view the engine loads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Need = Literal["none", "member", "all", "history"]
"""Which answers a ritual is told about for one event: none; the acting member's current
answers; everyone's current answers; or every answer ever given, superseded ones included."""


class Answer(BaseModel):
    """One answer as the store keeps it: what (`topic`, the ritual's `part` and `version`), who
    (a member key; None once an anonymous round has closed), and the answer itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    """What is answered: "consent", "rsvp", "attendance", "nomination", "contribution"…"""
    part: int = 0
    """Which part of the ritual: 0 for its only one; an election's candidate, a meeting's
    occurrence."""
    version: int = 1
    member: str | None
    value: str | None
    """The answer (a choice id, a commitment); None: withdrawn."""
    reason: str | None = None
    subject: str | None = None
    """The member the answer names (a nomination's nominee)."""
    data: dict[str, Any] = Field(default_factory=dict)
    at: datetime
    superseded_at: datetime | None = None
    """When a later answer of the same member replaced it (only in a "history" view)."""

    @property
    def current(self) -> bool:
        return self.superseded_at is None


class NotLoaded(LookupError):
    """A ritual read answers the engine did not load for this event (see `RitualKind.answers_needed`)."""


class Answers:
    """The answers a ritual is told about for one event, read-only. Withdrawn answers are
    left out of `of` and `current`; `history` keeps them."""

    def __init__(self, rows: Iterable[Answer] = (), need: Need = "none", member: str | None = None,
                 part: int | None = None) -> None:
        self.need: Need = need
        self.member = member
        """The member whose answers a "member" view holds."""
        self.part = part
        """The one part of the ritual whose answers a view holds (None: every part)."""
        self._rows = tuple(rows)
        self._current: dict[tuple[str, int, int, str | None], Answer] = {}
        for a in self._rows:
            if a.current and a.value is not None and a.member is not None:
                self._current[(a.topic, a.part, a.version, a.member)] = a

    @property
    def complete(self) -> bool:
        """Everyone's current answers are here."""
        return self.need in ("all", "history")

    def of(self, member: str, topic: str, version: int = 1, part: int = 0) -> Answer | None:
        """The member's current answer, if any."""
        if not self.complete and member != self.member:
            raise NotLoaded(f"answers of {member} were not loaded for this event")
        self._need_part(part)
        return self._current.get((topic, part, version, member))

    def current(self, topic: str, version: int = 1, part: int = 0) -> list[Answer]:
        """Everyone's current answers to one question (anonymized ones too), oldest first."""
        self._need_all()
        self._need_part(part)
        return [a for a in self._rows if a.current and a.value is not None and (a.topic, a.part, a.version) ==
                (topic, part, version)]

    def history(self, topic: str | None = None, part: int | None = None) -> list[Answer]:
        """Every answer given (of one topic, one part), superseded and withdrawn ones too, in
        the order given."""
        if self.need != "history":
            raise NotLoaded("the answers' history was not loaded for this event")
        if part is not None:
            self._need_part(part)
        elif self.part is not None:
            raise NotLoaded(f"only part {self.part}'s answers were loaded for this event")
        return [a for a in self._rows if (topic is None or a.topic == topic) and (part is None or a.part == part)]

    def __iter__(self) -> Iterator[Answer]:
        """Every answer loaded (current ones, and superseded ones in a history view)."""
        return iter(self._rows)

    def _need_part(self, part: int) -> None:
        if self.part is not None and part != self.part:
            raise NotLoaded(f"only part {self.part}'s answers were loaded for this event, not part {part}'s")

    def _need_all(self) -> None:
        if not self.complete:
            raise NotLoaded("everyone's answers were not loaded for this event")
