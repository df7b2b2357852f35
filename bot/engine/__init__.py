"""The engine: a small facade over its parts (routing, rituals, inbound events, timers, the
outbox). Each event is committed with the state, outbox and timers it leads to, then sent."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from bot.adapter import Adapter
from bot.config import Config
from bot.engine.boot import Boot
from bot.engine.core_commands import CORE_COMMANDS
from bot.engine.directory import People
from bot.engine.inbound import Inbound, Retry
from bot.engine.isolation import Isolation
from bot.engine.outbox import Sender
from bot.engine.rituals import Rituals
from bot.engine.router import RefCache, Router
from bot.engine.timers import FIRE_LAG_BUCKETS, FireLag, Timers
from bot.engine.tx import Tx
from bot.kernel.clock import Clock
from bot.kernel.model import InboundEvent
from bot.kernel.scenario import Capabilities, Directory, NetworkInfo, Registry
from bot.logs import log_context
from bot.store.ports import StorePort

__all__ = ["FIRE_LAG_BUCKETS", "Engine", "FireLag"]

log = logging.getLogger("maillage.engine")

P = ParamSpec("P")
R = TypeVar("R")


def _network_scoped(
    fn: Callable[Concatenate[Engine, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Engine, P], Coroutine[Any, Any, R]]:
    """Every log line written while the engine works names its network."""

    async def wrapper(self: Engine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with log_context(network=self.network.name):
            return await fn(self, *args, **kwargs)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


class Engine:
    """One network's engine. Inbound events are committed (deduplicated, routed, handled, with
    new state, outbox rows, timers and log lines) in one transaction before `submit` returns;
    the outbox is performed after the commit, idempotently."""

    def __init__(
        self,
        store: StorePort,
        registry: Registry,
        config: Config,
        clock: Clock,
        adapters: Mapping[str, Adapter] | None = None,
        batch_size: int = 256,
        fault: str | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.config = config
        self.clock = clock
        self.adapters: dict[str, Adapter] = dict(adapters or {})
        self.batch_size = batch_size
        self.fault = fault
        """Test hook, injected by a test's composition: "after_commit" or "after_send" kills the
        process (SIGKILL) at that point."""
        self.router = Router.for_network(registry, CORE_COMMANDS, self.capabilities, config.network.locale)
        self.grammar = self.router.grammar
        spec_kind = self.router.spec_kind
        net = config.network
        self.network = NetworkInfo(name=net.name, locale=net.locale, timezone=net.timezone, charter=net.charter,
                                   name_with_article=net.name_with_article)
        self.process_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.stats: dict[str, int] = {"handled": 0, "duplicates": 0, "sent": 0, "timers": 0, "batches": 0,
                                      "dead_letters": 0}
        self.fire_lag = FireLag()
        self.on_fired: list[Callable[[datetime, Sequence[datetime]], None]] = [self.fire_lag.observe]
        """Called after each commit of fired timers with the commit time and their due times
        (the fire-lag histogram of /metrics and the scale benchmark read it)."""
        self.on_timers_changed: list[Callable[[], None]] = []

        self.people = People(config)
        self.rituals = Rituals(registry, config, self.people, self.capabilities)
        self.isolation = Isolation(self.rituals, self.people, self.stats)
        refs = RefCache()
        self.inbound = Inbound(registry, self.people, self.rituals, self.router, self.isolation, spec_kind,
                               self.capabilities, self.stats, refs)
        self.timers = Timers(store, registry, self.rituals, self.isolation, clock.now, fault)
        self.sender = Sender(store, config, self.people, self.network, self.adapters, clock.now, self.process_id,
                             self.stats, refs, fault)
        self._boot = Boot(store, config, registry, self.people, self.rituals, self.isolation, clock)

        self._queue: asyncio.Queue[tuple[InboundEvent, asyncio.Future[bool]]] = asyncio.Queue()
        self._write_lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox_ready = asyncio.Event()

    @property
    def network_id(self) -> int:
        return self.people.network_id

    def capabilities(self, platform: str) -> Capabilities:
        adapter = self.adapters.get(platform)
        return adapter.capabilities if adapter else Capabilities()

    def directory(self) -> Directory:
        return self.people.view()

    # -- boot ----------------------------------------------------------------------------

    @_network_scoped
    async def boot(self) -> None:
        """Bring the store in line with the config and load the directory into memory."""
        async with self._write_lock:
            await self._boot.network()
            tx = await self._boot.configured_rituals()
        self._after_commit(tx)

    @_network_scoped
    async def seed_members(self) -> None:
        async with self._write_lock:
            await self._boot.seed_members(self.adapters)

    # -- inbound -------------------------------------------------------------------------

    async def submit(self, event: InboundEvent) -> bool:
        """The adapters' sink: returns once the event is committed (False: a duplicate)."""
        if not self._tasks:
            async with self._write_lock:
                result = await self._commit_batch([event])
            self._outbox_ready.set()
            return result[0]
        if self._queue.empty() and not self._write_lock.locked():
            # Nothing waits and nothing is being written: the event is its own batch, committed
            # here rather than handed to the writer and back (two turns of the event loop);
            # events arriving meanwhile queue up for the writer, which batches them.
            async with self._write_lock:
                try:
                    return (await self._commit_batch([event]))[0]
                except Exception:
                    self.people.version = -1  # memory may hold changes that were rolled back
                    raise
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._queue.put((event, fut))
        return await fut

    async def _writer(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._write_lock:
                    results = await self._commit_batch([e for e, _ in batch])
            except Exception as exc:  # the store is down: every waiter hears it, none is acked
                self.people.version = -1  # memory may hold changes that were rolled back
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)
            # The sender is woken by the commit when the batch wrote to the outbox
            # (`_after_commit`): an answer that sends nothing costs no claim transaction.

    @_network_scoped
    async def _commit_batch(self, events: Sequence[InboundEvent]) -> list[bool]:
        self.stats["batches"] += 1
        mark = self.inbound.checkpoint()
        try:
            return await self._run_batch(events, isolated=False)
        except Retry:
            # An event failed in the run without savepoints: its transaction is rolled back,
            # and the batch runs again with a savepoint per event, so that it fails alone.
            self.inbound.restore(mark)
            return await self._run_batch(events, isolated=True)

    async def _run_batch(self, events: Sequence[InboundEvent], isolated: bool) -> list[bool]:
        now = self.clock.now()
        async with self.store.writing() as unit:
            # Whether another process changed the directory, read in the batch's own
            # transaction (one event, one transaction, not a read transaction before it), in
            # the same trip as the claim of its events.
            version, claimed = await unit.inbound.claim_batch(
                self.network_id, list(dict.fromkeys((e.platform, e.event_id) for e in events)), now)
            if version != self.people.version:
                await self.people.load(unit)
            tx = Tx(unit, now)
            results = await self.inbound.batch(tx, events, isolated, claimed)
            await tx.flush(self.network_id)
        if self.fault == "after_commit" and tx.outbox:
            os.kill(os.getpid(), signal.SIGKILL)
        self._after_commit(tx)
        return results

    def _after_commit(self, tx: Tx) -> None:
        if tx.outbox:
            self._outbox_ready.set()
        if tx.timers_changed:
            for hook in self.on_timers_changed:
                hook()

    # -- timers --------------------------------------------------------------------------

    async def next_due(self) -> datetime | None:
        return await self.timers.next_due()

    @_network_scoped
    async def run_due(self, limit: int = 200) -> int:
        """Fire every timer due by now, each exactly once."""
        fired = 0
        await self.people.fresh(self.store)
        while True:
            async with self._write_lock:
                done = await self.timers.run_batch(limit)
            if done is None:
                break
            tx, due = done
            fired += len(due)
            if due:
                committed = self.clock.now()
                for hook in self.on_fired:
                    hook(committed, due)
            self._after_commit(tx)
        self.stats["timers"] += fired
        return fired

    # -- outbox --------------------------------------------------------------------------

    @_network_scoped
    async def drain_outbox(self) -> int:
        async with self._send_lock:
            return await self.sender.drain()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Run the writer (group commit) and the outbox sender in the background."""
        self._tasks.append(asyncio.create_task(self._writer(), name="maillage-writer"))
        self._tasks.append(asyncio.create_task(self._sending(), name="maillage-sender"))
        self._outbox_ready.set()

    async def _sending(self) -> None:
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            try:
                await self.drain_outbox()
            except Exception:
                log.exception("outbox sender failed; retrying")
                await asyncio.sleep(1)
                self._outbox_ready.set()
                continue
            retry = await self.sender.next_retry()
            if retry is not None:
                delay = max(0.0, (retry - self.clock.now()).total_seconds())
                # Entries claimed by a process that died become free when their claim lapses.
                asyncio.get_running_loop().call_later(min(delay, 60.0) + 0.01, self._outbox_ready.set)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
