"""One Matrix account, two processes: the sync lease in the store decides which one syncs."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.devserver import DevHomeserver, RegisteredUser
from bot.kernel.model import InboundCommand
from bot.store import Store, StoreLeases, open_store
from tests.fixtures.matrix_clients import (
    RecordingSink,
    bot_section,
    close_all,
    make_member,
    unique,
    until,
)
from tests.fixtures.synapse import synapse_server  # noqa: F401

pytestmark = [pytest.mark.synapse]

TTL = 2.0


class FlakyLeases:
    """The store as one process sees it: `broken` makes it unreachable for that process only
    (a network partition), while the other process still reaches it."""

    def __init__(self, inner: StoreLeases) -> None:
        self.inner = inner
        self.broken = False

    async def hold(self, name: str, holder: str, ttl: float) -> bool:
        if self.broken:
            raise ConnectionError("store unreachable")
        return await self.inner.hold(name, holder, ttl)

    async def release(self, name: str, holder: str) -> None:
        if self.broken:
            raise ConnectionError("store unreachable")
        await self.inner.release(name, holder)

    async def holder(self, name: str) -> tuple[str, datetime] | None:
        if self.broken:
            raise ConnectionError("store unreachable")
        return await self.inner.holder(name)


def adapter_for(server: DevHomeserver, user: RegisteredUser, store: Store, leases: Any, tmp: Path,
                room: str) -> MatrixAdapter:
    section = bot_section(server, user, tmp, password_env="MAILLAGE_TEST_LEASE_PASSWORD")
    return MatrixAdapter(section, [room], store.kv(), leases=leases, lease_ttl=TTL,
                         env={"MAILLAGE_TEST_LEASE_PASSWORD": user.password})


async def test_one_process_syncs_and_another_takes_over(
        synapse_server: DevHomeserver, store_url: str, tmp_path: Path) -> None:  # noqa: F811
    store = await open_store(store_url)
    user = await synapse_server.register(unique("maillage"), "bot-password")
    alice = await make_member(synapse_server, "alice")
    leases_a, leases_b = FlakyLeases(store.leases()), FlakyLeases(store.leases())
    sink_a, sink_b = RecordingSink(), RecordingSink()
    a = b = None
    try:
        room = await alice.create_room(invite=[user.user_id])
        a = adapter_for(synapse_server, user, store, leases_a, tmp_path / "a", room)
        b = adapter_for(synapse_server, user, store, leases_b, tmp_path / "b", room)
        await a.start(sink_a)
        await b.start(sink_b)
        assert a.syncing and not b.syncing
        await until(b.connected, within=TTL,
                    what="the standby to be ready (logged in, store reachable, the holder seen renewing)")
        assert a.sync_lag() is not None and b.sync_lag() is None
        # Both share the one device the first process logged in with: a send retried by
        # the other process carries a transaction id the homeserver already knows.
        assert a.session is not None and b.session is not None
        assert a.session.device_id == b.session.device_id

        first = await alice.say(room, "!reseau aide")
        await sink_a.wait_for(InboundCommand, event_id=first)

        # The holder loses the store (a partition): it stops syncing before its lease lapses,
        # and only then does the other process start. Never both at once.
        both: list[float] = []
        leases_a.broken = True
        loop = asyncio.get_running_loop()
        lost_at = loop.time()

        def check() -> bool:
            assert a is not None and b is not None
            if a.syncing and b.syncing:
                both.append(loop.time())
            return b.syncing

        await until(check, within=5 * TTL, what="the standby to take the sync over")
        assert not both, "two processes synced the same account at once"
        assert loop.time() - lost_at < 2 * TTL + 1
        second = await alice.say(room, "!reseau profil")
        [got] = await sink_b.wait_for(InboundCommand, event_id=second)
        assert got.text == "profil"
        assert not sink_a.of(InboundCommand, event_id=second)

        # A clean stop hands the lease over at once, without waiting for it to expire.
        leases_a.broken = False
        await until(lambda: a is not None and not a.syncing and a.connected(), what="a back on standby")
        stopped_at = loop.time()
        await b.stop()
        b = None
        await until(lambda: a is not None and a.syncing, within=2 * TTL, what="a to sync again")
        assert loop.time() - stopped_at < TTL
        third = await alice.say(room, "!reseau aide")
        await sink_a.wait_for(InboundCommand, event_id=third)
        # Nothing was delivered twice across the handovers.
        ids = [e.event_id for e in [*sink_a.events, *sink_b.events] if isinstance(e, InboundCommand)]
        assert sorted(ids) == sorted({first, second, third})
    finally:
        for adapter in (a, b):
            if adapter is not None:
                await adapter.stop()
        await close_all(alice)
        await store.close()


async def test_a_lease_left_by_a_dead_process_is_not_readiness(
        synapse_server: DevHomeserver, store_url: str, tmp_path: Path) -> None:  # noqa: F811
    """Restarted while the lease of the process that died has not expired yet: not ready
    (nobody syncs) until this process takes the sync over and has synced."""
    store = await open_store(store_url)
    user = await synapse_server.register(unique("maillage"), "bot-password")
    alice = await make_member(synapse_server, "alice")
    b = None
    try:
        room = await alice.create_room(invite=[user.user_id])
        leases = store.leases()
        assert await leases.hold(f"matrix-sync:{user.user_id}", "a-process-that-died", 3 * TTL)
        b = adapter_for(synapse_server, user, store, FlakyLeases(leases), tmp_path / "b", room)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await b.start(RecordingSink())
        readiness: list[tuple[float, bool, bool]] = []

        def ready_and_syncing() -> bool:
            assert b is not None
            readiness.append((loop.time() - started, b.connected(), b.syncing))
            return b.connected()

        await until(ready_and_syncing, within=6 * TTL, what="the restarted process to be ready")
        assert b.syncing, "ready only once this process syncs: the lease's holder was dead"
        assert not any(ok and not syncing for _, ok, syncing in readiness), readiness
    finally:
        if b is not None:
            await b.stop()
        await close_all(alice)
        await store.close()
