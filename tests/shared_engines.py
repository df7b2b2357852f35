"""Engines of several processes on one database, each with its console: what the multi-process
tests start with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from adapters.console import ConsoleAdapter
from bot.config import Config
from bot.engine import Engine
from bot.kernel.clock import Clock
from bot.store import Store, open_store
from scenarios import registry


@dataclass
class Processes:
    engines: list[Engine] = field(default_factory=list)
    consoles: list[ConsoleAdapter] = field(default_factory=list)
    stores: list[Store] = field(default_factory=list)


@asynccontextmanager
async def processes(store_url: str, config: Config, clock: Clock, members: int, count: int = 2
                    ) -> AsyncIterator[Processes]:
    """`count` engines booted on one database, members m0… all in the console's "general";
    stopped and closed at the end."""
    out = Processes()
    try:
        for _ in range(count):
            store = await open_store(store_url)
            out.stores.append(store)
            console = ConsoleAdapter(["general"], {"general": [f"m{i}" for i in range(members)]},
                                     write=lambda _l: None)
            engine = Engine(store, registry(), config, clock, {"console": console})
            await engine.boot()
            await console.start(engine.submit)
            out.engines.append(engine)
            out.consoles.append(console)
        yield out
    finally:
        for engine in out.engines:
            await engine.stop()
        for store in out.stores:
            await store.close()
