"""Running one configured bot: store, engine, adapters and alarm started together, and stopped by a signal in every state."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.adapter import Adapter
from bot.config import Config
from bot.engine import Engine
from bot.engine.alarm import Alarm
from bot.kernel.clock import Clock, SystemClock
from bot.kernel.i18n import Msg
from bot.kernel.scenario import Registry
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
    fault: str | None = None,
) -> AsyncIterator[RunningBot]:
    """Boot order matters: the store is migrated and the engine booted (configured rituals
    exist, overdue timers known) before adapters deliver anything; overdue timers fire once,
    with their catch-up policy, before the bot takes new events."""
    clock = clock or SystemClock()
    own_store = store is None
    store = store or await open_store(config.store_url())
    engine = Engine(store, registry, config, clock, adapters, fault=fault)
    started: list[Adapter] = []
    the_alarm: Alarm | None = None
    try:
        await engine.boot()
        await engine.start()
        for adapter in adapters.values():
            # Listed before it starts: a start that fails or is cancelled half-way (a login
            # retried when SIGTERM comes) is stopped too, its connections closed.
            started.append(adapter)
            await adapter.start(engine.submit)
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


# ------------------------------------------------------------------ stopping

STOP_DEADLINE_S = 4.0
"""From the first SIGINT or SIGTERM to the end of the process, whatever it was doing: under
the 10 s `docker stop` and systemd give before SIGKILL, with room for the interpreter's exit."""
EXIT_FORCED = 1


def _force_exit() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_FORCED)


class Stopping:
    """SIGINT and SIGTERM stop the bot in every state. While it starts (a Matrix login retried,
    a store migrating), the start is cancelled; once it serves, `requested` is set and the bot
    stops in order. If that takes longer than `deadline`, or a second signal comes, the process
    exits at once: nothing is lost, since every event is committed before it is acknowledged."""

    def __init__(self, notify: Callable[[Msg], None], deadline: float = STOP_DEADLINE_S,
                 force_exit: Callable[[], None] = _force_exit) -> None:
        self.requested = asyncio.Event()
        self.serving = False
        """Set by the work once it serves: from then on a signal asks, it no longer cancels."""
        self.signal: str | None = None
        self._notify = notify
        self._deadline = deadline
        self._force_exit = force_exit
        self._task: asyncio.Task[int] | None = None

    async def run(self, work: Coroutine[Any, Any, int]) -> int:
        """Run `work` until it returns or a signal stops it (then 0: a stop asked for is a clean end)."""
        loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(work, name="maillage-run")
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, self.on_signal, sig.name)
        try:
            return await self._task
        except asyncio.CancelledError:
            if self.signal is None:
                raise
            return 0
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    def on_signal(self, name: str) -> None:
        if self.signal is not None:
            self._notify(Msg("cli.stop.forced_again", signal=name))
            self._force_exit()
            return
        self.signal = name
        self._notify(Msg("cli.stop.requested", signal=name))
        self.requested.set()
        if not self.serving and self._task is not None:
            self._task.cancel()
        asyncio.get_running_loop().call_later(self._deadline, self._too_slow)

    def _too_slow(self) -> None:
        self._notify(Msg("cli.stop.forced", seconds=int(self._deadline)))
        self._force_exit()
