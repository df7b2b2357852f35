"""Two `maillage run` processes on one PostgreSQL and one Matrix account; one is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nio import RoomMessagesResponse
from sqlalchemy import func, insert, select

from adapters.matrix.devserver import DevHomeserver, RegisteredUser
from bot.cli.adapters import platform_configs
from bot.config import Config, load
from bot.engine import Engine
from bot.kernel.clock import SystemClock
from bot.store import Store, open_store
from bot.store import schema as t
from scenarios import registry
from tests.e2e.test_matrix_bot import PASSWORD_ENV, ROOT, body_of, config_text, from_bot
from tests.fixtures.matrix_clients import Member, close_all, make_member, unique
from tests.fixtures.postgres import TempPostgres
from tests.fixtures.synapse import synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse, pytest.mark.postgres]

TIMERS = 1000
SPREAD_S = 40.0
"""The 1,000 timers fall due within this much of one minute."""
TAKEOVER_S = 15.0
"""The Matrix sync lease lasts 8 s after its holder's last renewal; a little slack on top."""


def charter_network(server: DevHomeserver, bot: RegisteredUser, room: str, alice: str, store_url: str,
                    directory: Path) -> Config:
    """The whole bot's config for these tests: one room, Alice, the given store, and one
    yearly charter reminder (whose timer the tests move)."""
    text = config_text(server, bot, {"general": room}, {"alice": alice})
    text = text.replace('url = "sqlite+aiosqlite:///maillage.db"', f'url = "{store_url}"')
    text += ('\n[[rituals]]\nid = "charte"\nkind = "charter"\nchannels = ["general"]\nwhere = "post"\n'
             'rrule = "FREQ=YEARLY"\ntime = "03:00"\n'
             # The copies made below take the kind's defaults: they post too.
             '\n[defaults.charter]\nwhere = "post"\n')
    path = directory / "config.toml"
    path.write_text(text, "utf-8")
    return load(path, registry(), platform_configs())


async def clone_charters(store: Store, start: datetime, count: int, spread: float) -> list[int]:
    """`count` charter rituals in all, each with its one "post" timer due between `start`
    and `start + spread`: the configured one, and copies of it as a network accumulates
    rituals over the years."""
    async with store.transaction() as conn:
        ritual = (await conn.execute(select(t.rituals).where(t.rituals.c.key == "cfg:charte"))).one()
        await conn.execute(t.timers.delete().where(t.timers.c.ritual_id == ritual.id))
        rows = [{"network_id": ritual.network_id, "kind": "charter", "key": f"charte-{i}", "number": i + 2,
                 "status": "open", "channels": ritual.channels, "state": ritual.state, "version": 0,
                 "created_at": ritual.created_at, "updated_at": ritual.updated_at} for i in range(count - 1)]
        await conn.execute(insert(t.rituals), rows)
        ids = [ritual.id, *(r[0] for r in (await conn.execute(
            select(t.rituals.c.id).where(t.rituals.c.key.like("charte-%")).order_by(t.rituals.c.id))).all())]
        step = spread / count
        await conn.execute(insert(t.timers), [
            {"network_id": ritual.network_id, "ritual_id": rid, "name": "post",
             "due_at": start + timedelta(seconds=i * step), "payload": {}} for i, rid in enumerate(ids)])
    return ids


async def window_left(store: Store, end: datetime) -> int:
    async with store.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(t.timers).where(
            t.timers.c.due_at <= end))).scalar_one())


async def room_history(member: Member, room: str) -> list[Any]:
    """Every event of the room's timeline, paged back from its end (a syncing client may
    skip the middle of a burst; the room's history does not)."""
    events: list[Any] = []
    start: str | None = None
    while True:
        response = await member.client.room_messages(room, start=start, limit=500)
        assert isinstance(response, RoomMessagesResponse), response
        events.extend(response.chunk)
        if not response.chunk or not response.end or response.end == start:
            return events
        start = response.end


async def lease_holder(store: Store, name: str) -> str | None:
    found = await store.leases().holder(name)
    return None if found is None or found[1] < datetime.now(UTC) else found[0]


async def test_two_processes_fire_1000_timers_once_and_survive_a_kill(
        synapse_server: DevHomeserver, pg_server: TempPostgres, tmp_path: Path) -> None:  # noqa: F811
    url = await asyncio.to_thread(pg_server.create_database, "scaleout")
    bot_user = await synapse_server.register(unique("maillage"), "bot-password")
    alice = await make_member(synapse_server, "alice", accept_invites=True)
    procs: list[asyncio.subprocess.Process] = []
    store = await open_store(url)
    try:
        room = await alice.create_room(invite=[bot_user.user_id])
        config = charter_network(synapse_server, bot_user, room, alice.user_id, url, tmp_path)
        path = config.path

        # The store as a running network leaves it: then 1,000 rituals due in one minute.
        engine = Engine(store, registry(), config, SystemClock())
        await engine.boot()
        start = datetime.now(UTC) + timedelta(seconds=20)
        ids = await clone_charters(store, start, TIMERS, SPREAD_S)
        end = start + timedelta(seconds=SPREAD_S)

        env = {**os.environ, PASSWORD_ENV: bot_user.password}
        logs = [tmp_path / f"proc{i}.log" for i in range(2)]
        for log_path in logs:
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", "-c", str(path), env=env, cwd=ROOT,
                stdout=asyncio.subprocess.DEVNULL, stderr=log_path.open("wb")))

        def tails() -> str:
            return "\n".join(p.read_text("utf-8", "replace")[-3000:] for p in logs)

        lease = f"matrix-sync:{bot_user.user_id}"
        deadline = time.monotonic() + 60
        while (holder := await lease_holder(store, lease)) is None:
            assert time.monotonic() < deadline, "no process took the Matrix sync\n" + tails()
            await asyncio.sleep(0.2)

        # In the middle of the storm, kill -9 the process that holds the Matrix sync.
        deadline = time.monotonic() + 120
        while await window_left(store, end) > TIMERS * 2 // 3:
            assert time.monotonic() < deadline, "the timers are not firing\n" + tails()
            await asyncio.sleep(0.05)
        [victim] = [p for p in procs if f"-{p.pid}-" in holder]
        [survivor] = [p for p in procs if p is not victim]
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        killed_at = time.monotonic()
        left_at_kill = await window_left(store, end)
        assert 0 < left_at_kill < TIMERS, "the kill did not land in the middle of the storm"

        # The other process takes the Matrix sync over within seconds...
        while (holder := await lease_holder(store, lease)) is None or f"-{survivor.pid}-" not in holder:
            assert time.monotonic() - killed_at < TAKEOVER_S, "no takeover\n" + tails()
            await asyncio.sleep(0.1)
        # ... and answers what is said after the kill.
        await alice.say(room, "!reseau aide")
        await alice.wait_for(lambda r, e: r != room and from_bot(bot_user)(r, e) and "aide" in body_of(e),
                             within=60)

        # Every timer fires, and every post goes out (the dead process's claims lapse).
        deadline = time.monotonic() + 240
        while True:
            async with store.read() as conn:
                pending = int((await conn.execute(select(func.count()).select_from(t.outbox).where(
                    t.outbox.c.status == "pending"))).scalar_one())
            if pending == 0 and await window_left(store, end) == 0:
                break
            assert time.monotonic() < deadline, f"{pending} outbox entries left\n" + tails()
            await asyncio.sleep(0.5)

        async with store.read() as conn:
            states = {r.id: r.state for r in (await conn.execute(
                select(t.rituals.c.id, t.rituals.c.state).where(t.rituals.c.id.in_(ids)))).all()}
            posts = (await conn.execute(select(t.outbox.c.ritual_id, t.outbox.c.status).where(
                t.outbox.c.ritual_id.in_(ids)))).all()
            next_timers = (await conn.execute(select(t.timers.c.ritual_id, t.timers.c.due_at).where(
                t.timers.c.ritual_id.in_(ids)))).all()
        # Exactly once: each ritual fired once, posted once, and is armed for its next occurrence.
        assert sorted(s["posted"] for s in states.values()) == [1] * TIMERS
        assert sorted(r.ritual_id for r in posts) == sorted(ids)
        assert {r.status for r in posts} == {"sent"}
        assert sorted(r.ritual_id for r in next_timers) == sorted(ids)
        assert all(r.due_at > end + timedelta(hours=1) for r in next_timers)
        # And on Matrix, each post appears once, including those the dead process had sent
        # without recording it: the survivor's retry carried the same transaction id.
        marker = config.network.name
        history = await room_history(alice, room)
        seen = [e for e in history if from_bot(bot_user, room)(room, e) and marker in body_of(e)]
        assert len({e.event_id for e in seen}) == len(seen) == TIMERS
    finally:
        for p in procs:
            if p.returncode is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                await asyncio.wait_for(p.wait(), 60)
            except TimeoutError:
                p.kill()
        await close_all(alice)
        await store.close()
