"""The demo's time: a week played in a minute, then real time shifted into that week."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


class DemoClock:
    """The demo's time: frozen while the script jumps from one moment of the week to the
    next (a timer fires exactly at its due time), then flowing like real time, shifted,
    once the week is played and people join in."""

    def __init__(self, start: datetime) -> None:
        self._frozen: datetime | None = start
        self._offset = timedelta(0)

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    def jump_to(self, instant: datetime) -> None:
        if self._frozen is not None:
            self._frozen = max(self._frozen, instant)
        else:
            self._offset += max(timedelta(0), instant - self.now())

    def release(self) -> None:
        """From now on, time flows."""
        if self._frozen is not None:
            self._offset = self._frozen - datetime.now(UTC)
            self._frozen = None

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def week_start(tz: ZoneInfo) -> datetime:
    """Monday 9:00 at least eight days ahead: far enough that the members' real timestamps
    are never taken for the demo's time (the engine trusts a platform time only within a
    week before its own clock)."""
    today = datetime.now(tz).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    if monday - today < timedelta(days=8):
        monday += timedelta(days=7)
    return datetime(monday.year, monday.month, monday.day, 9, 0, tzinfo=tz)
