"""A private note with a file (`mes-donnees`) on Slack: uploaded once, in the member's direct
messages with the note as its comment, never in the channel where they asked."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from bot.adapter import Outgoing
from bot.kernel.i18n import Msg
from bot.kernel.model import Attachment, PrivateNote
from tests.integration.test_slack_adapter_kit import ALICE, GENERAL, TEAM, rig

DATA = json.dumps({"person": {"name": "Alice"}}, ensure_ascii=False).encode("utf-8")


async def test_a_note_with_a_file_goes_by_direct_message_once(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        note = PrivateNote(member="alice", channel="general", text=Msg("core.profile.forgotten", pseudonym="x"),
                           attachment=Attachment(data_b64=base64.b64encode(DATA).decode(), media_type="application/json",
                                                 filename="mes-donnees-2027-02-01.json"))
        out = Outgoing(action=note, key="k-file", channel=GENERAL, recipient=ALICE, accounts={"alice": ALICE})
        delivery = await r.adapter.perform(out)
        (upload,) = r.fake.files.values()
        dm = r.fake.dm_channel_id(TEAM, ALICE)
        assert upload.completed and upload.channels == [dm] and upload.content == DATA
        assert delivery.channel == dm and r.fake.messages(GENERAL) == []
        assert (await r.adapter.perform(out)).channel == dm and len(r.fake.files) == 1
        assert r.fake.errors == []
