"""A first start on Matrix: the rooms' past is history, but what members said after the bot
joined, since it started, is answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.matrix.devserver import DevHomeserver
from bot.kernel.model import InboundCommand
from tests.fixtures.matrix_clients import Member, close_all, make_bot, make_member
from tests.fixtures.synapse import synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse]


async def test_commands_between_the_join_and_the_first_sync_are_answered(
        synapse_server: DevHomeserver, tmp_path: Path) -> None:  # noqa: F811
    rig = await make_bot(synapse_server, tmp_path)
    alice = await make_member(synapse_server, "alice")
    own = Member(synapse_server, rig.user)
    try:
        room = await alice.create_room(invite=[rig.user.user_id])
        history = await alice.say(room, "!reseau aide")  # before the bot was there: history
        await own.start()
        await own.join(room)  # the bot's account joins before this process's first sync
        adapter = rig.make([room])
        in_the_gap = await alice.say(room, "!reseau profil")
        await adapter.start(rig.sink)
        rig.adapter = adapter
        [got] = await rig.sink.wait_for(InboundCommand, event_id=in_the_gap)
        assert got.text == "profil"
        assert not rig.sink.of(InboundCommand, event_id=history)
    finally:
        await rig.stop()
        await close_all(alice, own)
