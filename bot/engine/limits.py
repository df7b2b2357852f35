"""How fast one member may drive the bot: a token bucket per person."""

from __future__ import annotations

from datetime import datetime, timedelta

COMMAND_BURST = 10
COMMAND_EVERY = timedelta(seconds=6)

RateMark = dict[int, tuple[float, datetime] | None]
"""What `CommandRate.snapshot` returns: the buckets changed since, as they were."""


class CommandRate:
    """A burst of `COMMAND_BURST` commands, then one every `COMMAND_EVERY`. A flood gets a
    polite answer, not the work it asks for."""

    def __init__(self, burst: int = COMMAND_BURST, every: timedelta = COMMAND_EVERY) -> None:
        self.burst = float(burst)
        self.every = every.total_seconds()
        self._buckets: dict[int, tuple[float, datetime]] = {}
        self._before: RateMark = {}
        """The buckets changed since the last `snapshot`, as they were then (None: absent)."""

    def allow(self, person_id: int, now: datetime) -> bool:
        known = self._buckets.get(person_id)
        if person_id not in self._before:
            self._before[person_id] = known
        tokens, last = known or (self.burst, now)
        tokens = min(self.burst, tokens + (now - last).total_seconds() / self.every)
        if tokens < 1.0:
            self._buckets[person_id] = (tokens, now)
            return False
        self._buckets[person_id] = (tokens - 1.0, now)
        return True

    def snapshot(self) -> RateMark:
        """A mark to put the buckets back to if the events that draw on them from now on are
        run again: the buckets they change are noted as they were, not all of them copied
        (one per member who ever typed a command) for every batch."""
        self._before = {}
        return self._before

    def restore(self, mark: RateMark) -> None:
        """The buckets as they were at `mark` (the latest snapshot)."""
        for person_id, bucket in mark.items():
            if bucket is None:
                self._buckets.pop(person_id, None)
            else:
                self._buckets[person_id] = bucket
        mark.clear()

