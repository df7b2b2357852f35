"""Oversized texts against a real Synapse: a 15 KB title of '<' is posted (several events, then the poll), edited, in clear and encrypted rooms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nio import RoomMessageNotice, UnknownEvent

from adapters.matrix import content as mx
from adapters.matrix.devserver import DevHomeserver
from bot.adapter import Outgoing
from bot.kernel.i18n import Lines, Msg, render_plain
from bot.kernel.model import Choice, Edit, Post
from tests.fixtures.matrix_clients import Member, close_all, make_bot, make_member
from tests.fixtures.synapse import synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse]

TITLE = "<" * 15_000
CHOICES = [
    Choice(id="consent", label=Msg("consent.choice.consent"), emoji="✅"),
    Choice(id="objection", label=Msg("consent.choice.objection"), emoji="✋"),
]


def proposal(title: str) -> Msg:
    """As the consent round writes a proposal: bold title, then its text."""
    return Msg(
        "consent.proposal.body",
        lines=Lines(
            items=[
                Msg("consent.proposal.title", number=1, version=1, title=title),
                Msg("consent.proposal.description", text="Acheter un four & un pétrin."),
            ]
        ),
    )


def body(event: Any) -> str:
    content = event.source.get("content", {})
    if isinstance(event, UnknownEvent) and event.type == mx.POLL_START_TYPE:
        return str(content[mx.POLL_START_TYPE]["question"]["body"])
    return str(content.get("body", ""))


async def _post_and_edit(bot: Any, reader: Member, room: str, *, encrypted: bool) -> None:
    out = Outgoing(
        action=Post(channel="reseau", text=proposal(TITLE), choices=CHOICES),
        key="huge-proposal",
        channel=room,
    )
    delivery = await bot.adapter.perform(out)
    poll_id = delivery.message_id
    assert poll_id is not None
    await reader.wait_for(lambda r, e: getattr(e, "event_id", None) == poll_id, within=60)
    sent = [
        e
        for r, e in reader.seen
        if r == room
        and getattr(e, "sender", None) == bot.user.user_id
        and isinstance(e, RoomMessageNotice | UnknownEvent)
    ]
    # Several events: the leading parts, then the poll (the post itself), last.
    assert len(sent) > 1
    assert sent[-1].event_id == poll_id and sent[-1].type == mx.POLL_START_TYPE
    assert all(isinstance(e, RoomMessageNotice) for e in sent[:-1])
    if encrypted:
        assert all(e.decrypted for e in sent), "a part went in clear in an encrypted room"
    # Nothing lost: the title whole across them, in order.
    whole = "".join(body(e) for e in sent)
    assert whole.count("<") == 15_000 and whole.index("Proposition") < whole.index("four")
    # A resend of the same key (after a crash) posts nothing new.
    again = await bot.adapter.perform(out)
    assert again.message_id == poll_id

    # An edit of the poll is one event: accepted, shortened with the visible note.
    edit = Outgoing(
        action=Edit(channel="reseau", ref="p", text=proposal(TITLE + " (v2)")),
        key="huge-edit",
        channel=room,
        message_id=poll_id,
    )
    await bot.adapter.perform(edit)

    def is_edit(r: str, e: Any) -> bool:
        relation = e.source.get("content", {}).get("m.relates_to") or {}
        return relation.get("rel_type") == "m.replace" and relation.get("event_id") == poll_id

    [(_, replaced)] = await reader.wait_for(is_edit, within=60)
    question = replaced.source["content"]["m.new_content"][mx.POLL_START_TYPE]["question"]
    assert question["body"].endswith(render_plain(Msg("outbound.shortened")))


async def test_a_fifteen_kilobyte_title_is_posted_and_edited(
    synapse_server: DevHomeserver,  # noqa: F811
    tmp_path: Path,
) -> None:
    bot = await make_bot(synapse_server, tmp_path)
    alice = await make_member(synapse_server, "alice")
    try:
        room = await alice.create_room(invite=[bot.user.user_id])
        await bot.start([room])
        await _post_and_edit(bot, alice, room, encrypted=False)
    finally:
        await bot.stop()
        await close_all(alice)


async def test_a_fifteen_kilobyte_title_is_posted_in_an_encrypted_room(
    synapse_server: DevHomeserver,  # noqa: F811
    tmp_path: Path,
) -> None:
    bot = await make_bot(synapse_server, tmp_path, encryption=True)
    alice = await make_member(
        synapse_server, "alice", encryption=True, store_dir=tmp_path / "alice"
    )
    try:
        room = await alice.create_room(invite=[bot.user.user_id], encrypted=True)
        await bot.start([room])
        await alice.wait_for(
            lambda r, e: r == room
            and getattr(e, "state_key", None) == bot.user.user_id
            and getattr(e, "membership", None) == "join",
            within=60,
        )
        await _post_and_edit(bot, alice, room, encrypted=True)
    finally:
        await bot.stop()
        await close_all(alice)
