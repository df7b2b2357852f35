"""APScheduler as the alarm clock: it wakes the engine at the earliest timer of the store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.scheduler import Alarm


async def test_alarm_rings_at_the_earliest_due_timer_and_rearms() -> None:
    due: list[datetime] = [datetime.now(UTC) + timedelta(milliseconds=200)]
    rang = asyncio.Event()
    fired: list[int] = []

    async def fire() -> int:
        now = datetime.now(UTC)
        ready = [d for d in due if d <= now]
        for d in ready:
            due.remove(d)
        fired.append(len(ready))
        if ready:
            rang.set()
        return len(ready)

    async def next_due() -> datetime | None:
        return min(due) if due else None

    alarm = Alarm("test", fire, next_due, poll_seconds=3600)
    await alarm.start()
    try:
        await asyncio.wait_for(rang.wait(), timeout=10)
        assert due == [] and sum(fired) == 1
        # A timer added later (by a ritual) is picked up when the engine asks to re-arm.
        rang.clear()
        due.append(datetime.now(UTC) + timedelta(milliseconds=100))
        await alarm.rearm()
        await asyncio.wait_for(rang.wait(), timeout=10)
        assert sum(fired) == 2
    finally:
        await alarm.stop()
