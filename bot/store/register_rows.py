"""The decision register's rows: what a record writes into it and what reading it gives back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

RegisterKind = Literal["decision", "election", "draw", "meeting"]
REGISTER_KINDS: tuple[RegisterKind, ...] = ("decision", "election", "draw", "meeting")
FALLBACK_STATUS = "recorded"
"""The status of an entry first written by a record that does not say one (a meeting's minutes)."""


@dataclass(frozen=True)
class RegisterAnswer:
    """One person's answer: a consent choice (with its reason), a nomination or change of an
    election (`subject`: whom it names), a meeting's attendance ("present", "absent").
    `person_id` when the directory knows the person, else the `name` the record gave."""

    version: int
    choice: str
    person_id: int | None = None
    name: str | None = None
    organisation: str | None = None
    reason: str | None = None
    subject_id: int | None = None
    subject_name: str | None = None


@dataclass(frozen=True)
class Objection:
    """An objection or a réserve of a version, with its reason; `by` is empty in an anonymous
    round."""

    choice: str
    reason: str | None
    by: str | None = None


@dataclass(frozen=True)
class RegisterVersion:
    version: int
    title: str
    text: str | None = None
    opened_at: datetime | None = None
    deadline: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    objections: tuple[Objection, ...] = ()


@dataclass(frozen=True)
class RegisterWrite:
    """What one record puts in the register. An entry is found by (kind, ritual kind, ritual
    number, key); a field left None keeps what the entry holds, `data` is merged key by key,
    versions are written by number and `answers` replace those of the versions they name."""

    kind: RegisterKind
    ritual_id: int | None
    ritual_kind: str
    ritual_number: int
    recorded_at: datetime
    key: str = ""
    title: str | None = None
    status: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    anonymous: bool | None = None
    counts: Mapping[str, int] | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    versions: tuple[RegisterVersion, ...] = ()
    answers: Mapping[int, tuple[RegisterAnswer, ...]] = field(default_factory=dict)
    """Version → its answers (all of them: those of that version written before are replaced)."""


@dataclass(frozen=True)
class RegisterEntry:
    """An entry as read back, with its versions and answers (oldest version first)."""

    id: int
    kind: RegisterKind
    ritual_id: int | None
    ritual_kind: str
    ritual_number: int
    key: str
    number: int
    title: str
    status: str
    opened_at: datetime | None
    closed_at: datetime | None
    anonymous: bool
    counts: Mapping[str, int]
    data: Mapping[str, Any]
    recorded_at: datetime
    versions: tuple[RegisterVersion, ...] = ()
    answers: tuple[RegisterAnswer, ...] = ()


@dataclass(frozen=True)
class PersonAnswers:
    """How much of the register is about one person (`mes-donnees`)."""

    answers: int = 0
    entries: int = 0
