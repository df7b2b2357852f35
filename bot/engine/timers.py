"""Time as data: every firing is a row; the due ones fire, each exactly once, in one transaction."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.engine.isolation import Isolation
from bot.engine.rituals import Rituals
from bot.engine.tx import Tx
from bot.kernel.model import TimerFired
from bot.kernel.scenario import Registry
from bot.store.ports import StorePort


class Timers:
    """One network's timers."""

    def __init__(self, store: StorePort, registry: Registry, rituals: Rituals, isolation: Isolation,
                 now: Callable[[], datetime], fault: str | None = None) -> None:
        self.store = store
        self.registry = registry
        self.rituals = rituals
        self.isolation = isolation
        self.now = now
        self.fault = fault

    async def next_due(self) -> datetime | None:
        async with self.store.reading() as unit:
            return await unit.timers.next_due(self.rituals.network_id)

    async def run_batch(self, limit: int) -> tuple[Tx, list[datetime]] | None:
        """Fire one batch of due timers: each timer row is deleted in the transaction that
        hands `TimerFired` to its ritual. None when nothing was due."""
        now = self.now()
        async with self.store.unit() as unit:
            rows = await unit.timers.take_due(self.rituals.network_id, now, limit)
            if not rows:
                return None
            tx = Tx(unit, now)
            due: list[datetime] = []
            await self.rituals.preload(tx, [r.ritual_id for r in rows])
            # At one instant, rituals that report on others (the digest) run after the
            # others: a deadline at 16:00 closes its round before the 16:00 digest reads it.
            ordered = sorted(rows, key=lambda r: (r.due_at, self._reads_others(tx, r.ritual_id)))
            for r in ordered:
                ritual = await self.rituals.load(tx, r.ritual_id)
                if ritual is None or ritual.status != "open":
                    continue
                event = TimerFired(name=r.name, due_at=r.due_at, late_by=max(now - r.due_at, timedelta(0)),
                                   payload=dict(r.payload))
                await self.isolation.deliver_alone(tx, ritual, event, platform="timer",
                                                   event_id=f"{r.ritual_id}:{r.name.encode()}:{r.due_at}")
                due.append(r.due_at)
            tx.timers_changed = True
            await tx.flush(self.rituals.network_id)
        if self.fault == "after_commit" and tx.outbox:
            os.kill(os.getpid(), signal.SIGKILL)
        return tx, due

    def _reads_others(self, tx: Tx, ritual_id: int) -> bool:
        ritual = tx.rituals.get(ritual_id)
        return ritual is not None and self.registry.get(ritual.kind).reads_log




FIRE_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass
class FireLag:
    """How late timers fired (commit of the firing minus the due time): a histogram for
    /metrics, cumulative since the process started."""

    buckets: list[int] = field(default_factory=lambda: [0] * len(FIRE_LAG_BUCKETS))
    count: int = 0
    total: float = 0.0

    def observe(self, committed: datetime, due: Sequence[datetime]) -> None:
        for at in due:
            lag = max(0.0, (committed - at).total_seconds())
            self.count += 1
            self.total += lag
            for i, bound in enumerate(FIRE_LAG_BUCKETS):
                if lag <= bound:
                    self.buckets[i] += 1
