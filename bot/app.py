"""Running one configured bot: store, engine, adapters and alarm started and stopped together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.adapter import Adapter
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.engine import Engine
from bot.scenario import Registry
from bot.scheduler import Alarm
from bot.store import Store, open_store

log = logging.getLogger("maillage")


@dataclass
class RunningBot:
    engine: Engine
    store: Store
    adapters: Mapping[str, Adapter]
    alarm: Alarm | None


@asynccontextmanager
async def running_bot(
    config: Config,
    registry: Registry,
    adapters: Mapping[str, Adapter],
    clock: Clock | None = None,
    store: Store | None = None,
    alarm: bool = True,
) -> AsyncIterator[RunningBot]:
    """Boot order matters: the store is migrated and the engine booted (configured rituals
    exist, overdue timers known) before adapters deliver anything; overdue timers fire once,
    with their catch-up policy, before the bot takes new events."""
    clock = clock or SystemClock()
    own_store = store is None
    store = store or await open_store(config.store_url())
    engine = Engine(store, registry, config, clock, adapters)
    started: list[Adapter] = []
    the_alarm: Alarm | None = None
    try:
        await engine.boot()
        await engine.start()
        for adapter in adapters.values():
            await adapter.start(engine.submit)
            started.append(adapter)
        await engine.seed_members()
        await engine.run_due()
        if alarm:
            the_alarm = Alarm(f"net{engine.network_id}", engine.run_due, engine.next_due)
            engine.on_timers_changed.append(the_alarm.request_rearm)
            await the_alarm.start()
        log.info("network %r running with %s", config.network.name, ", ".join(adapters) or "no adapter")
        yield RunningBot(engine, store, adapters, the_alarm)
    finally:
        if the_alarm is not None:
            await the_alarm.stop()
        for adapter in reversed(started):
            try:
                await adapter.stop()
            except Exception:
                log.warning("adapter %s did not stop cleanly", adapter.platform, exc_info=True)
        await engine.stop()
        if own_store:
            await store.close()
