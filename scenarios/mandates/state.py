"""What the mandates ritual remembers between events: seats offered from a reserve list, the
renewals it started, the draws' reserve lists as far as they went, what it already told."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

TOLD_KEPT = 400
"""How many told events are remembered (the oldest are forgotten: they cannot come back)."""


class Offer(BaseModel):
    """A freed seat offered to the next person on a draw's reserve list, awaiting their answer."""

    role: str
    member: str
    draw: int
    rank: int
    starts_at: datetime
    """When the seat begins (now, or when the term it belongs to begins)."""
    ends_at: datetime
    """The end of the term whose seat it is."""
    replaces: int
    """The mandate whose seat was freed."""
    until: datetime
    """Their answer is awaited until then."""


class Renewal(BaseModel):
    """A draw or an election this ritual started (or saw proposed and started) for a role."""

    role: str
    how: Literal["tirage", "election"]
    seats: int
    started_at: datetime


class MandatesState(BaseModel):
    offers: list[Offer] = Field(default_factory=list)
    renewals: dict[str, Renewal] = Field(default_factory=dict)
    """Role → the renewal running for it (until its seats are chosen, or it fails)."""
    reserves: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Draw number → its published record with the seats offered since (as the draw itself
    replaces those who decline), so the next offer follows the same reserve list."""
    told: list[str] = Field(default_factory=list)
    """Events the animateurs were told of, each once (a term's notice, a renewal's failure)."""
    vacant_told: dict[str, int] = Field(default_factory=dict)
    """Role → how many vacant seats the animateurs were last told of."""
    next_look: datetime | None = None

    def tell_once(self, key: str) -> bool:
        """True the first time an event is seen (then remembered)."""
        if key in self.told:
            return False
        self.told = [*self.told, key][-TOLD_KEPT:]
        return True
