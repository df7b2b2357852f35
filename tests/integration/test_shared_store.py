"""Two engines on one database: each outbox entry is performed once, each timer fires once."""

from __future__ import annotations

import asyncio
import tomllib
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.console import ConsoleAdapter
from bot.cli.adapters import platform_configs
from bot.config import validate
from bot.engine import Engine
from bot.kernel.clock import FakeClock
from bot.kernel.model import InboundCommand
from bot.store import open_store
from scenarios import registry
from tests.shared_engines import processes

PARIS = ZoneInfo("Europe/Paris")
MEMBERS = 40


def _config() -> str:
    out = ['[network]\nname = "Partagé"\n', '[[channels]]\nid = "general"\nplatform = "console"\nroom = "general"\n']
    for i in range(MEMBERS):
        out.append(f'[[members]]\nid = "m{i}"\naccounts = ["console:m{i}"]\n')
    for i in range(30):
        out.append(f'[[rituals]]\nid = "c{i}"\nkind = "charter"\nchannels = ["general"]\nwhere = "post"\n'
                   f'rrule = "FREQ=DAILY"\ntime = "18:{i:02d}"\n')
    return "\n".join(out)


async def test_two_engines_share_outbox_and_timers_without_doubles(store_url: str, tmp_path: Path) -> None:
    config = validate(tomllib.loads(_config()), registry(), tmp_path / "c.toml", platform_configs())
    clock = FakeClock(datetime(2026, 6, 1, 12, 0, tzinfo=PARIS))
    async with processes(store_url, config, clock, MEMBERS) as both:
        engines, consoles = both.engines, both.consoles
        # 40 commands committed through either engine, then both senders drain at once.
        for i in range(MEMBERS):
            await engines[i % 2].submit(InboundCommand(platform="console", event_id=f"e{i}", channel="general",
                                                       sender=f"m{i}", text="aide"))
        await asyncio.gather(*(e.drain_outbox() for e in engines))
        # 30 charter timers fall due in the same hour: both engines fire and send together.
        clock.set(datetime(2026, 6, 1, 19, 0, tzinfo=PARIS))
        fired = await asyncio.gather(*(e.run_due() for e in engines))
        await asyncio.gather(*(e.drain_outbox() for e in engines))
        await asyncio.gather(*(e.drain_outbox() for e in engines))
        keys = Counter(s.key for c in consoles for s in c.sent)
        assert sum(fired) == 30
        assert len(keys) == MEMBERS + 30
        assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
        # Each timer was rescheduled once, for the next day.
        nxt = await engines[0].next_due()
        assert nxt == datetime(2026, 6, 2, 18, 0, tzinfo=PARIS)


async def test_a_dead_process_claims_expire(store_url: str, tmp_path: Path) -> None:
    config = validate(tomllib.loads(_config()), registry(), tmp_path / "c.toml", platform_configs())
    clock = FakeClock(datetime(2026, 6, 1, 12, 0, tzinfo=PARIS))
    store = await open_store(store_url)
    try:
        dead = Engine(store, registry(), config, clock, {})
        await dead.boot()
        await dead.submit(InboundCommand(platform="console", event_id="x", channel="general", sender="m1",
                                         text="aide"))
        claimed = await dead.sender._claim(clock.now())  # then the process dies holding them
        assert len(claimed) == 1
        console = ConsoleAdapter(["general"], {"general": ["m1"]}, write=lambda _l: None)
        alive = Engine(store, registry(), config, clock, {"console": console})
        await alive.boot()
        assert await alive.drain_outbox() == 0, "a live claim is respected"
        clock.advance(timedelta(seconds=61))
        assert await alive.drain_outbox() == 1 and len(console.sent) == 1
    finally:
        await store.close()
