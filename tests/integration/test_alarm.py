"""APScheduler as the alarm clock: it wakes the engine at the earliest timer of the store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.engine.alarm import Alarm


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


async def test_timers_falling_due_while_a_ring_runs_are_not_left_to_the_safety_poll() -> None:
    # A storm: a timer every 20 ms, while firing takes 50 ms. Each wake-up set for a time that
    # passes during a ring must still lead to a ring; the hourly safety poll must not be needed.
    start = datetime.now(UTC) + timedelta(milliseconds=200)
    due = [start + timedelta(milliseconds=20 * i) for i in range(30)]
    fired_at: list[datetime] = []

    async def fire() -> int:
        await asyncio.sleep(0.02)
        now = datetime.now(UTC)
        ready = [d for d in due if d <= now]
        for d in ready:
            due.remove(d)
            fired_at.append(now)
        # As the engine does after each commit: the timers changed, re-arm (while this ring
        # goes on with its next batch).
        alarm.request_rearm()
        await asyncio.sleep(0.05)
        return len(ready)

    async def next_due() -> datetime | None:
        return min(due) if due else None

    alarm = Alarm("storm", fire, next_due, poll_seconds=3600)
    await alarm.start()
    try:
        for _ in range(100):
            if not due:
                break
            await asyncio.sleep(0.05)
        assert due == [], f"{len(due)} timer(s) left waiting for the safety poll"
        assert len(fired_at) == 30
    finally:
        await alarm.stop()
