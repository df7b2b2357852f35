"""An election's settings and state: its steps and dates, the people proposed and what came
of it; who nominated whom is in the answers' rows (`scenarios.election.nominations`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.kernel.scenario import Context
from bot.kernel.timetext import ConfigDuration
from scenarios.consent.round import RoundState

Phase = Literal["new", "nominating", "changing", "proposing", "consent", "elected", "closed", "cancelled"]
DONE: frozenset[str] = frozenset({"elected", "closed", "cancelled"})


class ElectionConfig(BaseModel):
    """`[election]` network settings or a `[[rituals]] kind = "election"` entry. The consent
    round on the proposed person takes the other settings from `[consent]`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: list[str] = Field(default_factory=list)
    group: str | None = None
    nominations: ConfigDuration = timedelta(days=2)
    """How long private nominations stay open when the command gives no deadline."""
    change: ConfigDuration = timedelta(days=1)
    """The change round after the reveal (0: none)."""
    consent: ConfigDuration = timedelta(days=2)
    """The consent round on the proposed person."""
    invite_by_dm: bool = False
    """Write to each member of the circle to ask for their nomination, and to each nominator
    at the change round. Off by default (issue 15): the call post carries the invitation, a
    member nominates by writing to the bot, and the acknowledgement says when the change round
    comes."""


def load_election_config(ctx: Context) -> ElectionConfig:
    merged: dict[str, Any] = {}
    base = ctx.network.settings.get("election")
    if isinstance(base, Mapping):
        merged.update(base)
    merged.update({k: v for k, v in ctx.config.items() if k in ElectionConfig.model_fields})
    return ElectionConfig.model_validate(merged)


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Attempt(_Data):
    """One person proposed by the animateur, and what came of it."""

    nominee: str
    nominee_name: str
    proposed_by: str
    at: datetime
    outcome: str | None = None


class ElectionState(_Data):
    number: int = 0
    role: str = ""
    author: str = ""
    author_name: str = ""
    channels: list[str] = Field(default_factory=list)
    group: str | None = None
    phase: Phase = "new"
    started_at: datetime | None = None
    nominations_until: datetime | None = None
    change_until: datetime | None = None
    change: timedelta = timedelta(days=1)
    nominators: int = 0
    """How many members have nominated someone (who and whom: the answers' rows)."""
    attempts: list[Attempt] = Field(default_factory=list)
    round: RoundState | None = None
    closed_at: datetime | None = None

    @property
    def is_over(self) -> bool:
        return self.phase in DONE
