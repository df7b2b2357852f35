"""PostgreSQL restarted, Synapse restarted, in the middle of a run: the bot reconnects by
itself; nothing is lost, nothing is said twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from adapters.matrix.adapter import build
from adapters.matrix.devserver import DevHomeserver
from bot.engine import Engine
from bot.engine.running import running_bot
from bot.kernel.clock import SystemClock
from bot.store import open_store
from bot.store import schema as t
from scenarios import registry
from tests.e2e.test_matrix_bot import PASSWORD_ENV, body_of, from_bot
from tests.e2e.test_scale_out import charter_network, room_history
from tests.fixtures.matrix_clients import close_all, make_member, unique
from tests.fixtures.postgres import TempPostgres
from tests.fixtures.pytest_postgres import require_postgres
from tests.fixtures.synapse import requires_synapse, synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse]

DUE_IN_S = 25.0


async def run_through_outage(server: DevHomeserver, url: str, tmp: Path, monkeypatch: pytest.MonkeyPatch,
                             down: Callable[[], Awaitable[None]], up: Callable[[], Awaitable[None]],
                             members_can_talk_during_outage: bool) -> None:
    """A bot answers a command; the outage starts; a charter reminder falls due during it
    (and, if the homeserver is up, a member talks to the bot); the outage ends. Then every
    command is answered once and the reminder is posted once."""
    bot_user = await server.register(unique("maillage"), "bot-password")
    monkeypatch.setenv(PASSWORD_ENV, bot_user.password)
    alice = await make_member(server, "alice", accept_invites=True)
    try:
        room = await alice.create_room(invite=[bot_user.user_id])
        config = charter_network(server, bot_user, room, alice.user_id, url, tmp)
        store = await open_store(url)
        await Engine(store, registry(), config, SystemClock()).boot()
        due = datetime.now(UTC) + timedelta(seconds=DUE_IN_S)
        async with store.transaction() as conn:
            await conn.execute(update(t.timers).values(due_at=due))

        adapter = build(config, store.kv(), store.leases())
        async with running_bot(config, registry(), {"matrix": adapter}, store=store):
            await alice.say(room, "!reseau aide")
            await alice.wait_for(lambda r, e: r != room and from_bot(bot_user)(r, e), within=60)
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - 5))
            await down()
            if members_can_talk_during_outage:
                await alice.say(room, "!reseau profil")
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() + 4))
            await up()
            if not members_can_talk_during_outage:
                await alice.say(room, "!reseau profil")
            await alice.wait_for(lambda r, e: r != room and from_bot(bot_user)(r, e), count=2, within=90)
            await alice.wait_for(lambda r, e: from_bot(bot_user, room)(r, e)
                                 and config.network.name in body_of(e), within=90)
            marker = await alice.say(room, "fin")
            await alice.wait_for(lambda r, e: getattr(e, "event_id", None) == marker)
            await asyncio.sleep(3)  # anything said twice would have arrived by now
        await store.close()

        in_room = [body_of(e) for e in await room_history(alice, room) if from_bot(bot_user, room)(room, e)]
        assert len([b for b in in_room if config.network.name in b]) == 1, in_room
        dms = {r for r, e in alice.seen if r != room and from_bot(bot_user)(r, e)}
        answers: list[str] = []
        for dm in dms:
            answers += [body_of(e) for e in await room_history(alice, dm) if from_bot(bot_user)(dm, e)]
        assert len(answers) == 2 and Counter(answers).most_common(1)[0][1] == 1, answers
    finally:
        await close_all(alice)


@pytest.mark.postgres
async def test_postgres_restarted_mid_run(
        synapse_server: DevHomeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    require_postgres()
    pg = TempPostgres()
    await asyncio.to_thread(pg.start)
    try:
        async def down() -> None:
            await asyncio.to_thread(pg.stop_server, "fast")

        async def up() -> None:
            await asyncio.to_thread(pg.start_server)

        await run_through_outage(synapse_server, pg.url, tmp_path, monkeypatch, down, up,
                                 members_can_talk_during_outage=True)
    finally:
        await asyncio.to_thread(pg.stop)


@requires_synapse
async def test_synapse_restarted_mid_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with DevHomeserver(tmp_path / "hs") as server:
        url = f"sqlite+aiosqlite:///{tmp_path / 'maillage.db'}"
        await run_through_outage(server, url, tmp_path, monkeypatch, server.crash, server.start,
                                 members_can_talk_during_outage=False)
