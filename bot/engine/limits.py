"""How fast one member may drive the bot: a token bucket per person."""

from __future__ import annotations

from datetime import datetime, timedelta

COMMAND_BURST = 10
COMMAND_EVERY = timedelta(seconds=6)


class CommandRate:
    """A burst of `COMMAND_BURST` commands, then one every `COMMAND_EVERY`. A flood gets a
    polite answer, not the work it asks for."""

    def __init__(self, burst: int = COMMAND_BURST, every: timedelta = COMMAND_EVERY) -> None:
        self.burst = float(burst)
        self.every = every.total_seconds()
        self._buckets: dict[int, tuple[float, datetime]] = {}

    def allow(self, person_id: int, now: datetime) -> bool:
        tokens, last = self._buckets.get(person_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last).total_seconds() / self.every)
        if tokens < 1.0:
            self._buckets[person_id] = (tokens, now)
            return False
        self._buckets[person_id] = (tokens - 1.0, now)
        return True

    def snapshot(self) -> dict[int, tuple[float, datetime]]:
        """The buckets as they are, to put back if the events that drew on them are run again."""
        return dict(self._buckets)

    def restore(self, buckets: dict[int, tuple[float, datetime]]) -> None:
        self._buckets = dict(buckets)
