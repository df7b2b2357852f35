"""The sync lease of a Matrix account run by several processes: the holder syncs, the others stand by, ready while they see the holder renewing it; logins take turns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from adapters.matrix.session import Session
from adapters.matrix.sync import SyncLoop
from bot.adapter import Leases

log = logging.getLogger(__name__)

LEASE_TTL_S = 8.0
"""How long the sync lease outlives its holder's last renewal: the takeover delay after a
kill -9. The holder renews it four times per period and stops syncing a second before it
would lapse if the store stops answering."""
LOGIN_TURN_S = 60.0


class SyncLease:
    """Takes, renews and hands over the right to run one account's sync loop."""

    def __init__(self, leases: Leases, user_id: str, holder_id: str, sync: SyncLoop,
                 reload: Callable[[], Awaitable[None]], ttl: float = LEASE_TTL_S) -> None:
        self.leases = leases
        self.user_id = user_id
        self.holder_id = holder_id
        self.sync = sync
        self._reload = reload
        """Reads the sync state again before this process takes the sync over."""
        self.ttl = ttl
        self._name = f"matrix-sync:{user_id}"
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._wakeup = asyncio.Event()
        self.standing_by = asyncio.Event()
        """Set while another process holds the lease."""
        self._ok = False
        """The store answered the last attempt to take or renew the lease."""
        self._holder_seen: tuple[str, datetime] | None = None
        self._holder_renewed_at: float | None = None

    async def login(self, open_session: Callable[[], Awaitable[Session]]) -> Session:
        """Log in, or restore the stored session, in turn. Processes sharing the account take
        turns, so they all end up on one device: the homeserver deduplicates a send's
        transaction id per device, which is what makes a send retried by another process
        harmless."""
        name = f"matrix-login:{self.user_id}"
        # Polling the store: the other process's turn ends in its transaction, not in ours.
        while not await self.leases.hold(name, self.holder_id, LOGIN_TURN_S):  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        try:
            return await open_session()
        finally:
            await self.leases.release(name, self.holder_id)

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self._keep(), name="matrix-lease")
        return self._task

    def ready(self) -> bool:
        """Standing by: ready while the store answers and another process is seen syncing
        (its lease renewed lately); a lease left by a process that died is not a sync."""
        alive = (self._holder_renewed_at is not None
                 and time.monotonic() - self._holder_renewed_at < self.ttl / 2)
        return self._ok and alive

    async def _keep(self) -> None:
        """Take the sync lease when it is free, renew it while held, and stop syncing the
        moment it cannot be renewed in time: two processes never both acknowledge events
        (and if a slow one did, the engine's unique key still keeps each event once)."""
        loop = asyncio.get_running_loop()
        valid_until = 0.0
        while not self._stopping:
            asked = loop.time()
            try:
                held = await self.leases.hold(self._name, self.holder_id, self.ttl)
                self._ok = True
                if held:
                    valid_until = asked + self.ttl
                else:
                    await self._watch_holder()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._ok = False
                # The store is unreachable: keep syncing on the last renewal, not past it.
                held = loop.time() < valid_until - 1.0
                log.warning("Matrix: cannot renew the sync lease of %s (%s)", self.user_id, exc)
            if held and not self.sync.running and not self._stopping:
                log.info("Matrix: this process (%s) now runs the sync of %s", self.holder_id, self.user_id)
                self.standing_by.clear()
                try:
                    # The previous holder may have moved the sync token on since we started.
                    await self._reload()
                except Exception as exc:
                    log.warning("Matrix: cannot read the sync state yet (%s)", exc)
                else:
                    self.sync.start()
            elif not held and self.sync.running:
                log.warning("Matrix: the sync lease of %s is held elsewhere; this process stands by",
                            self.user_id)
                await self.sync.end()
            if not held:
                self.standing_by.set()
            await self._idle(self.ttl / 4)

    async def _watch_holder(self) -> None:
        """Note when the process holding the sync lease is seen renewing it."""
        seen = await self.leases.holder(self._name)
        if seen is not None and self._holder_seen is not None and seen[0] == self._holder_seen[0] \
                and seen[1] > self._holder_seen[1]:
            self._holder_renewed_at = time.monotonic()
        elif seen is None or (self._holder_seen is not None and seen[0] != self._holder_seen[0]):
            self._holder_renewed_at = None
        self._holder_seen = seen

    async def _idle(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), delay)

    async def stop(self) -> None:
        """Stop taking and renewing the lease (the sync loop is the caller's to end)."""
        self._stopping = True
        self._wakeup.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})

    async def release(self) -> None:
        """Hand the lease over at once rather than after it expires."""
        try:
            await self.leases.release(self._name, self.holder_id)
        except Exception:
            log.warning("Matrix: could not release the sync lease; another process takes over "
                        "when it expires", exc_info=True)
