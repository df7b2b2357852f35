"""Encrypted rooms: commands in and replies out stay encrypted, across a restart of the bot."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from nio import AsyncClient, AsyncClientConfig, RoomEncryptedImage, RoomMessageNotice
from vodozemac import LibolmPickleException

from adapters.matrix.devserver import DevHomeserver
from bot.adapter import Outgoing
from bot.kernel.i18n import Msg
from bot.kernel.model import (
    DirectMessage,
    Image,
    InboundCommand,
    InboundMessage,
    InboundReaction,
    Post,
)
from tests.fixtures.matrix_clients import close_all, make_bot, make_member
from tests.fixtures.synapse import synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse]

# The smallest valid PNG: one transparent pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def post(key: str, room: str, word: str, thread_of: str | None = None) -> Outgoing:
    return Outgoing(action=Post(channel="reseau", text=Msg(
        "core.cmd.unknown", word=word, suggestion=Msg("core.cmd.see_help"))),
        key=key, channel=room, thread_of=thread_of)


async def test_encrypted_room_command_in_reply_out_restart_still_works(
        synapse_server: DevHomeserver, tmp_path: Path) -> None:  # noqa: F811
    # The crypto store's keys are encrypted at rest with the configured pickle key.
    bot = await make_bot(synapse_server, tmp_path, encryption=True, pickle_key="phrase de passe du réseau")
    alice = await make_member(synapse_server, "alice", encryption=True, store_dir=tmp_path / "alice")
    try:
        room = await alice.create_room(invite=[bot.user.user_id], encrypted=True)
        await bot.start([room])
        # Alice's client learns the bot's device once it has joined.
        await alice.wait_for(lambda r, e: r == room and getattr(e, "state_key", None) == bot.user.user_id
                             and getattr(e, "membership", None) == "join")

        for round_ in ("avant", "après"):
            sent = await alice.say(room, f"!reseau aide {round_}")
            [command] = await bot.sink.wait_for(InboundCommand, event_id=sent)
            assert command.text == f"aide {round_}"
            delivery = await bot.adapter.perform(post(f"reply-{round_}", room, round_, thread_of=sent))
            reply_id = delivery.message_id
            [(_, reply)] = await alice.wait_for(
                lambda r, e: getattr(e, "event_id", None) == reply_id)  # noqa: B023
            assert isinstance(reply, RoomMessageNotice), reply
            assert reply.decrypted, "the bot's reply was sent in clear in an encrypted room"
            assert round_ in reply.body
            assert reply.source["content"]["m.relates_to"]["event_id"] == sent
            if round_ == "avant":
                await bot.restart()  # same device, same crypto store: keeps reading and writing

        # An image (the digest's chart) is uploaded encrypted and sent as an encrypted event.
        image = Image(png_b64=base64.b64encode(PNG).decode(), alt=Msg("core.cmd.see_help"),
                      filename="chart.png")
        await bot.adapter.perform(Outgoing(action=Post(channel="reseau", text=Msg("core.cmd.see_help"),
                                                       image=image), key="chart", channel=room))
        [(_, picture)] = await alice.wait_for(lambda r, e: isinstance(e, RoomEncryptedImage))
        assert picture.decrypted and picture.url.startswith("mxc://")

        # Reactions are not encrypted by Element either; they still count.
        reaction = await alice.react(room, delivery.message_id or "", "✅")
        await bot.sink.wait_for(InboundReaction, event_id=reaction)
        assert not alice.undecryptable()
        # Without the key, the store's secret keys cannot be read.
        session = bot.adapter.session
        await bot.stop()
        intruder = AsyncClient(synapse_server.base_url, bot.user.user_id, store_path=str(bot.store_dir),
                               config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False))
        with pytest.raises(LibolmPickleException, match="MAC"):
            intruder.restore_login(session.user_id, session.device_id, session.access_token)
        await intruder.close()
    finally:
        await bot.stop()
        await close_all(alice)


async def test_encrypted_direct_messages_both_ways(
        synapse_server: DevHomeserver, tmp_path: Path) -> None:  # noqa: F811
    bot = await make_bot(synapse_server, tmp_path, encryption=True)
    alice = await make_member(synapse_server, "alice", encryption=True, store_dir=tmp_path / "alice",
                              accept_invites=True)
    try:
        room = await alice.create_room(invite=[bot.user.user_id], encrypted=True)
        await bot.start([room])
        out = Outgoing(action=DirectMessage(member="alice", text=Msg(
            "core.cmd.unknown", word="secret", suggestion=Msg("core.cmd.see_help"))),
            key="dm-secret", channel=None, recipient=alice.user_id)
        delivery = await bot.adapter.perform(out)
        [(_, dm)] = await alice.wait_for(lambda r, e: r == delivery.channel and isinstance(e, RoomMessageNotice))
        assert dm.decrypted and "secret" in dm.body
        answer = await alice.say(delivery.channel or "", "ma nomination : Bob")
        [message] = await bot.sink.wait_for(InboundMessage, event_id=answer)
        assert message.is_direct and message.text == "ma nomination : Bob"
    finally:
        await bot.stop()
        await close_all(alice)


async def test_an_event_the_bot_cannot_decrypt_is_logged_clearly(
        synapse_server: DevHomeserver, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    bot = await make_bot(synapse_server, tmp_path, encryption=True)
    alice = await make_member(synapse_server, "alice", encryption=True, store_dir=tmp_path / "alice")
    caplog.set_level(logging.WARNING, logger="adapters.matrix")
    try:
        room = await alice.create_room(invite=[bot.user.user_id], encrypted=True)
        await bot.start([room])
        await alice.wait_for(lambda r, e: r == room and getattr(e, "state_key", None) == bot.user.user_id
                             and getattr(e, "membership", None) == "join")
        # Alice's client refuses to share its room key with the bot's device.
        device_id = bot.adapter.client.device_id
        while device_id not in alice.client.device_store[bot.user.user_id]:
            await alice.synced()
        bot_device = alice.client.device_store[bot.user.user_id][device_id]
        alice.client.blacklist_device(bot_device)
        sent = await alice.say(room, "!reseau aide")
        await alice.wait_for(lambda r, e: getattr(e, "event_id", None) == sent)
        other = await alice.react(room, sent, "👀")  # unencrypted: proves the sync went past it
        await bot.sink.wait_for(InboundReaction, event_id=other)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("cannot decrypt event " + sent in w for w in warnings), warnings
        assert not bot.sink.of(InboundCommand, event_id=sent)
    finally:
        await bot.stop()
        await close_all(alice)
