"""The answers table's rows: one answer to write, one answer read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AnswerKey:
    """Which question an answer answers, in a ritual: one current answer per person each."""

    topic: str
    part: int = 0
    version: int = 1


@dataclass(frozen=True)
class AnswerNew:
    """A person's answer to write: it supersedes their current answer to the same question."""

    ritual_id: int
    key: AnswerKey
    person_id: int
    value: str | None
    at: datetime
    reason: str | None = None
    subject_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    fresh: bool = False
    """The person had no current answer to this question when their event read their answers
    (in the same transaction): there is nothing to supersede, and the store may skip looking."""


@dataclass(frozen=True)
class Anonymize:
    """The ritual's answers (of one topic) no longer say who gave them."""

    ritual_id: int
    topic: str | None = None
    drop: bool = False
    """Delete them (every row, superseded ones too) rather than strip the person."""


AnswerOp = AnswerNew | Anonymize
"""What a transaction writes to the answers, in order."""


@dataclass(frozen=True)
class AnswerRow:
    id: int
    ritual_id: int
    key: AnswerKey
    person_id: int | None
    """None once an anonymous round has closed."""
    value: str | None
    reason: str | None
    subject_id: int | None
    data: dict[str, Any]
    at: datetime
    superseded_at: datetime | None
