"""A whole bot on a fake clock: real engine and store, the console adapter, no network."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.console import ConsoleAdapter, Sent
from bot.cli.adapters import platform_configs
from bot.config import Config, validate
from bot.engine import Engine
from bot.kernel.clock import FakeClock
from bot.kernel.scenario import Registry
from bot.store import Store, open_store
from scenarios import registry

BASE_CONFIG = """
[network]
name = "Réseau test"
locale = "fr"
timezone = "Europe/Paris"
charter = "Nous coopérons pour le territoire."

[[channels]]
id = "general"
platform = "console"
room = "general"
name = "Général"

[[members]]
id = "alice"
name = "Alice"
accounts = ["console:alice"]
organisation = "La Ruche"
territoire = "Nord"

[[members]]
id = "bob"
name = "Bob"
accounts = ["console:bob"]
organisation = "Le Jardin"
territoire = "Sud"

[[members]]
id = "chloe"
name = "Chloé"
accounts = ["console:chloe"]
organisation = "La Ruche"
territoire = "Sud"

[roles]
animateurs = ["alice"]
"""


class Harness:
    """`say("bob: !reseau aide")` feeds a line and returns what the bot answered;
    `advance(...)` moves the fake clock, firing each timer at its own due time."""

    def __init__(self, config_text: str, store_url: str, start: datetime, tmp: Path,
                 members: dict[str, list[str]] | None = None, kinds: Registry | None = None) -> None:
        self.kinds = kinds if kinds is not None else registry()
        self.config_text = config_text
        self.store_url = store_url
        self.clock = FakeClock(start)
        self.tmp = tmp
        self.lines: list[str] = []
        self.config: Config = validate(tomllib.loads(config_text), self.kinds, tmp / "config.toml", platform_configs())
        rooms = [c.room for c in self.config.file.channels if c.platform == "console"]
        default_members = [a.split(":", 1)[1] for m in self.config.file.members for a in m.accounts
                           if a.startswith("console:")]
        self.members = members if members is not None else {r: default_members for r in rooms}
        self.console = ConsoleAdapter(rooms, self.members, prefix=self.config.network.command_prefix,
                                      transcript=tmp / "transcript.jsonl", write=self.lines.append)
        self.store: Store | None = None
        self.engine: Engine | None = None

    async def start(self) -> Harness:
        self.store = await open_store(self.store_url)
        await self._boot()
        return self

    async def _boot(self) -> None:
        assert self.store is not None
        self.engine = Engine(self.store, self.kinds, self.config, self.clock, {"console": self.console})
        await self.engine.boot()
        await self.console.start(self.engine.submit)
        await self.engine.seed_members()
        await self.engine.run_due()
        await self.engine.drain_outbox()

    async def restart(self, downtime: timedelta = timedelta(0)) -> None:
        """The process stops (nothing in memory survives but the platform's messages) and comes
        back after `downtime`."""
        self.clock.advance(downtime)
        await self._boot()

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()

    async def __aenter__(self) -> Harness:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def sent(self) -> list[Sent]:
        return self.console.sent

    async def say(self, line: str) -> list[Sent]:
        assert self.engine is not None
        before = len(self.console.sent)
        await self.console.feed(line)
        await self.engine.drain_outbox()
        return self.console.sent[before:]

    async def advance(self, delta: timedelta) -> list[Sent]:
        return await self.advance_to(self.clock.now() + delta)

    async def advance_to(self, when: datetime) -> list[Sent]:
        assert self.engine is not None
        before = len(self.console.sent)
        while True:
            due = await self.engine.next_due()
            if due is None or due > when:
                break
            if due > self.clock.now():
                self.clock.set(due)
            await self.engine.run_due()
            await self.engine.drain_outbox()
        if when > self.clock.now():
            self.clock.set(when)
        await self.engine.drain_outbox()
        return self.console.sent[before:]
