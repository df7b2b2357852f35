"""Nothing lost, nothing twice: restarts, bursts, limited syncs, crashes, outages, rate limits."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import pytest
from nio import RoomMessageNotice

from adapters.matrix.devserver import DevHomeserver
from adapters.matrix.session import NAMESPACE
from bot.adapter import Outgoing, TransientError
from bot.kernel.i18n import Msg
from bot.kernel.model import InboundCommand, InboundReaction, Post
from tests.fixtures.matrix_clients import close_all, make_bot, make_member, unique, until
from tests.fixtures.synapse import requires_synapse, synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse]


def post(key: str, room: str, word: str) -> Outgoing:
    return Outgoing(action=Post(channel="reseau", text=Msg(
        "core.cmd.unknown", word=word, suggestion=Msg("core.cmd.see_help"))), key=key, channel=room)


@pytest.mark.parametrize("timeline_limit", [100, 4], ids=["filter", "gap-filling"])
async def test_commands_sent_while_stopped_all_arrive_once(
        synapse_server: DevHomeserver, tmp_path: Path, timeline_limit: int,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    """15 commands while the bot is down: all delivered after restart, in order, none twice.
    With a timeline limit of 4 every catch-up sync is `limited`: only paging back fills it."""
    caplog.set_level(logging.INFO, logger="adapters.matrix")
    bot = await make_bot(synapse_server, tmp_path, timeline_limit=timeline_limit)
    alice = await make_member(synapse_server, "alice")
    try:
        room = await alice.create_room(invite=[bot.user.user_id])
        await bot.start([room])
        await bot.stop()
        sent = [await alice.say(room, f"!reseau resume {i}") for i in range(15)]
        await bot.start([room])
        commands = await bot.sink.wait_for(InboundCommand, count=15)
        assert [c.event_id for c in commands] == sent
        assert [c.text for c in commands] == [f"resume {i}" for i in range(15)]
        gap_filled = any("filled a gap" in r.getMessage() for r in caplog.records)
        assert gap_filled == (timeline_limit < 15)
        # A second restart replays nothing: the sync token was stored after the commit.
        calls = bot.sink.calls
        await bot.restart()
        marker = await alice.say(room, "!reseau aide")
        await bot.sink.wait_for(InboundCommand, event_id=marker)
        assert bot.sink.calls == calls + 1
    finally:
        await bot.stop()
        await close_all(alice)


@pytest.mark.parametrize("while_stopped", [False, True], ids=["running", "stopped"])
async def test_a_burst_of_200_reactions_is_counted_exactly_once(
        synapse_server: DevHomeserver, tmp_path: Path, while_stopped: bool,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters.matrix")
    bot = await make_bot(synapse_server, tmp_path)
    members = [await make_member(synapse_server, f"m{i}") for i in range(4)]
    try:
        room = await members[0].create_room(invite=[bot.user.user_id, *(m.user_id for m in members[1:])])
        for m in members[1:]:
            await m.join(room)
        await bot.start([room])
        target = (await bot.adapter.perform(post("burst-target", room, "vote"))).message_id
        if while_stopped:
            await bot.stop()
        emojis = ["✅", "⚠️", "✋", "🙊", "👍", "🎉", "👀", "🔥", "💡", "🌱"]
        keys = [f"{e}{i}" for i in range(5) for e in emojis]  # 50 distinct keys per member

        async def burst(member_index: int) -> list[str]:
            m = members[member_index]
            return list(await asyncio.gather(*(m.react(room, target, k) for k in keys)))

        sent = {eid for ids in await asyncio.gather(*(burst(i) for i in range(4))) for eid in ids}
        assert len(sent) == 200
        if while_stopped:
            await bot.start([room])
        got = await bot.sink.wait_for(InboundReaction, count=200, target=target)
        assert {r.event_id for r in got} == sent
        assert len(got) == 200
        if while_stopped:  # 200 events behind a timeline limit of 100: the gap was paged back
            assert any("filled a gap" in r.getMessage() for r in caplog.records)
    finally:
        await bot.stop()
        await close_all(*members)


async def test_nothing_is_acknowledged_when_the_engine_cannot_commit(
        synapse_server: DevHomeserver, tmp_path: Path) -> None:  # noqa: F811
    bot = await make_bot(synapse_server, tmp_path)
    alice = await make_member(synapse_server, "alice")
    try:
        room = await alice.create_room(invite=[bot.user.user_id])
        await bot.start([room])
        token_before = await bot.kv.get(NAMESPACE, "next_batch")
        bot.sink.failing = True
        sent = await alice.say(room, "!reseau decision budget")
        # Tried, failed, tried again: still not acknowledged.
        await until(lambda: bot.sink.calls >= 2, what="the adapter to retry")
        assert await bot.kv.get(NAMESPACE, "next_batch") == token_before
        # Stopped while the store is down: the next process gets the command.
        await bot.stop()
        bot.sink.failing = False
        await bot.start([room])
        [command] = await bot.sink.wait_for(InboundCommand, event_id=sent)
        assert command.text == "decision budget"
    finally:
        await bot.stop()
        await close_all(alice)


async def test_killed_right_after_a_send_then_restarted_posts_once(
        synapse_server: DevHomeserver, tmp_path: Path) -> None:  # noqa: F811
    """SIGKILL between the homeserver's answer and the outbox record: the retry after restart
    reuses the transaction id and the homeserver returns the first event."""
    bot = await make_bot(synapse_server, tmp_path)
    alice = await make_member(synapse_server, "alice")
    try:
        room = await alice.create_room(invite=[bot.user.user_id])
        word = unique("crash")
        args = [sys.executable, "-m", "tests.fixtures.matrix_clients",
                "--homeserver", synapse_server.base_url, "--user", bot.user.user_id,
                "--room", room, "--key", "outbox-42", "--word", word,
                "--kv", str(tmp_path / "kv.json"), "--store", str(tmp_path / "store")]
        env = {**os.environ, "MAILLAGE_TEST_MATRIX_PASSWORD": bot.user.password}
        crashing = await asyncio.create_subprocess_exec(
            *args, "--fault", "kill-after-send", env=env,
            stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parents[2])
        out, _ = await crashing.communicate()
        assert crashing.returncode == -signal.SIGKILL, out
        assert out == b""  # killed before it could say (record) what it sent

        retry = await asyncio.create_subprocess_exec(
            *args, env=env, stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).parents[2])
        out, _ = await retry.communicate()
        assert retry.returncode == 0
        event_id = out.decode().strip()

        marker = await alice.say(room, "fin")
        await alice.wait_for(lambda r, e: getattr(e, "event_id", None) == marker)
        copies = [e for r, e in alice.seen if isinstance(e, RoomMessageNotice) and word in e.body]
        assert [e.event_id for e in copies] == [event_id]
    finally:
        await close_all(alice)


@requires_synapse
async def test_a_homeserver_outage_loses_nothing(tmp_path: Path) -> None:
    async with DevHomeserver(tmp_path / "hs") as server:
        bot = await make_bot(server, tmp_path)
        alice = await make_member(server, "alice")
        try:
            room = await alice.create_room(invite=[bot.user.user_id])
            await bot.start([room])
            await server.crash()
            await until(lambda: not bot.adapter.connected(), what="the adapter to notice the outage")
            with pytest.raises(TransientError):
                await bot.adapter.perform(post("during-outage", room, "panne"))
            await server.start()
            sent = await alice.say(room, "!reseau aide")
            await bot.sink.wait_for(InboundCommand, event_id=sent, within=60)
            assert bot.adapter.connected()
            delivery = await bot.adapter.perform(post("during-outage", room, "panne"))
            assert delivery.message_id
        finally:
            await bot.stop()
            await close_all(alice)


@requires_synapse
async def test_rate_limits_become_retry_after(tmp_path: Path) -> None:
    strict = {"rc_message": {"per_second": 1, "burst_count": 2}}
    async with DevHomeserver(tmp_path / "hs", overrides=strict) as server:
        bot = await make_bot(server, tmp_path)
        alice = await make_member(server, "alice")
        try:
            room = await alice.create_room(invite=[bot.user.user_id])
            await bot.start([room])
            delivered: list[str] = []
            limited: list[TransientError] = []
            for i in range(6):
                out = post(f"limited-{i}", room, f"message {i}")
                while True:
                    try:
                        delivered.append(str((await bot.adapter.perform(out)).message_id))
                        break
                    except TransientError as exc:
                        limited.append(exc)
                        assert exc.retry_after is not None and exc.retry_after > 0
                        await asyncio.sleep(exc.retry_after)
            assert limited, "the homeserver never rate-limited the bot"
            assert len(set(delivered)) == 6
        finally:
            await bot.stop()
            await close_all(alice)
