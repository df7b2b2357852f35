"""A private note with a file (`mes-donnees`) on a real homeserver: the note, then the file
(m.file, uploaded once) in the member's direct conversation."""

from __future__ import annotations

import base64
import json

from nio import RoomMessageFile, RoomMessageNotice

from bot.adapter import Outgoing
from bot.kernel.model import Attachment, PrivateNote
from tests.e2e.test_matrix_adapter import World, text, world  # noqa: F401
from tests.fixtures.synapse import synapse_server  # noqa: F401

DATA = json.dumps({"person": {"name": "Bob"}}).encode("utf-8")


async def test_a_note_with_a_file_goes_to_the_direct_conversation(world: World) -> None:  # noqa: F811
    world.bob.accept_invites = True
    note = PrivateNote(member="bob", channel="reseau", text=text("vos données"),
                       attachment=Attachment(data_b64=base64.b64encode(DATA).decode(), media_type="application/json",
                                             filename="mes-donnees.json"))
    out = Outgoing(action=note, key="file-1", channel=None, recipient=world.bob.user_id)
    delivery = await world.adapter.perform(out)
    assert delivery.channel and delivery.channel != world.room
    await world.bob.wait_for(lambda r, e: r == delivery.channel and isinstance(e, RoomMessageNotice))
    [(_, file)] = await world.bob.wait_for(lambda r, e: r == delivery.channel and isinstance(e, RoomMessageFile))
    assert file.url.startswith("mxc://") and file.source["content"]["info"]["mimetype"] == "application/json"
    assert file.source["content"]["info"]["size"] == len(DATA)
