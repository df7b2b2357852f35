"""Only the network's rooms drive the network: other rooms, strangers and stray invites don't."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.matrix.devserver import DevHomeserver
from bot.kernel.model import InboundCommand, InboundMessage, InboundReaction
from tests.fixtures.matrix_clients import close_all, make_bot, make_member, until
from tests.fixtures.synapse import synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse]


async def test_other_rooms_and_strangers_cannot_drive_the_network(
        synapse_server: DevHomeserver, tmp_path: Path) -> None:  # noqa: F811
    bot = await make_bot(synapse_server, tmp_path)
    alice = await make_member(synapse_server, "alice")  # a member of the network's room
    eve = await make_member(synapse_server, "eve")  # a stranger
    try:
        network = await alice.create_room(invite=[bot.user.user_id], name="Réseau")
        # A room the bot was in before it was removed from the config: still joined, not bound.
        former = await alice.create_room(invite=[bot.user.user_id, eve.user_id], name="Ancien")
        await eve.join(former)
        await bot.start([network, former])
        await bot.stop()
        await bot.start([network])

        # Eve invites the bot to her own room, and to a "direct" conversation.
        eves_room = await eve.create_room(invite=[bot.user.user_id], name="Chez Eve")
        eves_dm = await eve.create_room(invite=[bot.user.user_id], is_direct=True, name="")

        await eve.say(former, "!reseau tirage 3")
        await alice.say(former, "!reseau decision dans le mauvais salon")
        await eve.react(former, await alice.say(former, "un message"), "✅")

        await until(lambda: {eves_room, eves_dm} <= set(bot.adapter.client.invited_rooms),
                    what="the invitations to reach the bot")
        # A marker in the network's room, sent last: once it is delivered, the stray events and
        # the invitations have been through the adapter too.
        marker = await alice.say(network, "!reseau aide")
        await bot.sink.wait_for(InboundCommand, event_id=marker)

        assert {e.channel for e in bot.sink.events} == {network}
        assert not bot.sink.of(InboundCommand, sender=eve.user_id)
        assert not bot.sink.of(InboundReaction, sender=eve.user_id)
        joined = await bot.adapter.client.joined_rooms()
        assert set(joined.rooms) == {network, former}
    finally:
        await bot.stop()
        await close_all(alice, eve)


async def test_a_member_may_open_a_direct_conversation(
        synapse_server: DevHomeserver, tmp_path: Path) -> None:  # noqa: F811
    bot = await make_bot(synapse_server, tmp_path)
    alice = await make_member(synapse_server, "alice")
    try:
        network = await alice.create_room(invite=[bot.user.user_id])
        await bot.start([network])
        await alice.wait_for(lambda r, e: r == network and getattr(e, "state_key", None) == bot.user.user_id
                             and getattr(e, "membership", None) == "join")
        dm = await alice.create_room(invite=[bot.user.user_id], is_direct=True, name="")
        # The bot accepts: Alice sees it join.
        await alice.wait_for(lambda r, e: r == dm and getattr(e, "state_key", None) == bot.user.user_id
                             and getattr(e, "membership", None) == "join")
        sent = await alice.say(dm, "!reseau mes-donnees")
        [command] = await bot.sink.wait_for(InboundCommand, event_id=sent)
        assert command.is_direct and command.channel == dm and command.text == "mes-donnees"
        note = await alice.say(dm, "merci")
        [message] = await bot.sink.wait_for(InboundMessage, event_id=note)
        assert message.is_direct
    finally:
        await bot.stop()
        await close_all(alice)
