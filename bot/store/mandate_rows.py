"""The mandates table's rows: a mandate to write, one read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.kernel.mandates import How, Status, Why


@dataclass(frozen=True)
class MandateNew:
    """A person chosen for a role (or a freed seat offered to them: status "offered")."""

    role: str
    person_id: int
    organisation: str | None
    how: How
    chosen_at: datetime
    ends_at: datetime
    status: Status = "active"
    started_at: datetime | None = None
    ritual_number: int | None = None
    appointed_by: int | None = None
    reserve_rank: int | None = None
    replaces: int | None = None


@dataclass(frozen=True)
class MandateRow:
    id: int
    role: str
    person_id: int
    organisation: str | None
    how: How
    chosen_at: datetime
    ends_at: datetime
    status: Status
    started_at: datetime | None
    ritual_number: int | None
    appointed_by: int | None
    reserve_rank: int | None
    replaces: int | None
    ended_at: datetime | None
    ended_why: Why | None
