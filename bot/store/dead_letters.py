"""Reading the dead letters: events that failed deterministically, set aside by the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.store import Store
from bot.store import schema as t


@dataclass(frozen=True)
class DeadLetter:
    at: datetime
    platform: str
    event_id: str
    kind: str
    sender: str | None
    channel: str | None
    error: str


async def dead_letters(store: Store, network: str, limit: int = 100) -> list[DeadLetter]:
    """The network's most recent dead letters, newest first."""
    q = (select(t.dead_letters).join(t.networks, t.networks.c.id == t.dead_letters.c.network_id)
         .where(t.networks.c.name == network).order_by(t.dead_letters.c.id.desc()).limit(limit))
    async with store.read() as conn:
        rows = (await conn.execute(q)).all()
    return [DeadLetter(r.at, r.platform, r.event_id, r.kind, r.sender, r.channel, r.error) for r in rows]

