"""The Matrix adapter against a real Synapse: events in through a recording sink, actions out."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nio import ReactionEvent, RoomMessageImage, RoomMessageNotice, UnknownEvent

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.content import POLL_START_TYPE
from adapters.matrix.devserver import DevHomeserver
from adapters.matrix.session import NAMESPACE
from bot.adapter import Outgoing
from bot.kernel.i18n import Msg
from bot.kernel.model import (
    Choice,
    DirectMessage,
    Edit,
    Image,
    InboundChoice,
    InboundCommand,
    InboundMembership,
    InboundMessage,
    InboundReaction,
    Post,
    React,
)
from tests.fixtures.matrix_clients import (
    BotRig,
    Member,
    close_all,
    make_bot,
    make_member,
)
from tests.fixtures.synapse import synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse]

CONSENT = [Choice(id="consent", label=Msg("core.cmd.see_help"), emoji="✅"),
           Choice(id="object", label=Msg("core.cmd.see_help"), emoji="✋")]


def text(word: str) -> Msg:
    return Msg("core.cmd.unknown", word=word, suggestion=Msg("core.cmd.see_help"))


def post(key: str, room: str, word: str = "x", **kwargs: Any) -> Outgoing:
    thread_of = kwargs.pop("thread_of", None)
    return Outgoing(action=Post(channel="reseau", text=text(word), **kwargs), key=key,
                    channel=room, thread_of=thread_of)


class World:
    """One bot and two members in one bound room."""

    def __init__(self, bot: BotRig, alice: Member, bob: Member, room: str) -> None:
        self.bot, self.alice, self.bob, self.room = bot, alice, bob, room

    @property
    def adapter(self) -> MatrixAdapter:
        adapter: MatrixAdapter = self.bot.adapter
        return adapter


@pytest_asyncio.fixture(loop_scope="session")
async def world(synapse_server: DevHomeserver, tmp_path: Path) -> AsyncIterator[World]:  # noqa: F811
    bot = await make_bot(synapse_server, tmp_path)
    alice = await make_member(synapse_server, "alice")
    bob = await make_member(synapse_server, "bob")
    room = await alice.create_room(invite=[bot.user.user_id, bob.user_id])
    await bob.join(room)
    await bot.start([room])
    try:
        yield World(bot, alice, bob, room)
    finally:
        await bot.stop()
        await close_all(alice, bob)


async def test_command_is_delivered_and_answered_in_its_thread(world: World) -> None:
    sent = await world.alice.say(world.room, "!reseau aide decision")
    [command] = await world.bot.sink.wait_for(InboundCommand, event_id=sent)
    assert command.text == "aide decision"
    assert command.channel == world.room and command.sender == world.alice.user_id
    assert not command.is_direct

    delivery = await world.adapter.perform(post("answer-1", world.room, "aide", thread_of=sent))
    assert delivery.message_id and delivery.channel == world.room
    [(_, reply)] = await world.alice.wait_for(
        lambda r, e: getattr(e, "event_id", None) == delivery.message_id)
    assert isinstance(reply, RoomMessageNotice)
    assert "aide" in reply.body and "<b>" in reply.formatted_body
    assert reply.source["content"]["m.relates_to"]["rel_type"] == "m.thread"
    assert reply.source["content"]["m.relates_to"]["event_id"] == sent


async def test_other_text_is_a_message_and_a_thread_reply_says_so(world: World) -> None:
    root = (await world.adapter.perform(post("root-1", world.room))).message_id
    assert root is not None
    plain = await world.bob.say(world.room, "bonjour à tous")
    in_thread = await world.bob.say(world.room, "une question", thread=root)
    [message] = await world.bot.sink.wait_for(InboundMessage, event_id=plain)
    assert message.text == "bonjour à tous" and message.thread_of is None
    [reply] = await world.bot.sink.wait_for(InboundMessage, event_id=in_thread)
    assert reply.thread_of == root and reply.in_reply_to is None and reply.text == "une question"


async def test_reaction_counted_then_removed(world: World) -> None:
    target = (await world.adapter.perform(post("react-target", world.room))).message_id
    assert target is not None
    reaction = await world.alice.react(world.room, target, "✅")
    [added] = await world.bot.sink.wait_for(InboundReaction, event_id=reaction)
    assert (added.target, added.key, added.removed, added.reaction_id) == (target, "✅", False, reaction)

    await world.alice.redact(world.room, reaction)
    [removed] = await world.bot.sink.wait_for(InboundReaction, removed=True, reaction_id=reaction)
    assert removed.sender == world.alice.user_id and removed.target is None


async def test_poll_drawn_and_answers_counted_in_both_forms(world: World) -> None:
    delivery = await world.adapter.perform(
        post("poll-1", world.room, choices=CONSENT, choice_style="poll"))
    poll = delivery.message_id
    assert poll is not None
    [(_, start)] = await world.bob.wait_for(lambda r, e: getattr(e, "event_id", None) == poll)
    assert isinstance(start, UnknownEvent) and start.type == POLL_START_TYPE
    block = start.source["content"]["org.matrix.msc3381.poll.start"]
    assert [a["id"] for a in block["answers"]] == ["consent", "object"]
    assert [a["m.id"] for a in start.source["content"]["m.poll"]["answers"]] == ["consent", "object"]

    unstable = await world.bob.answer_poll(world.room, poll, ["object"])
    stable = await world.alice.answer_poll(world.room, poll, ["consent"], stable=True)
    [first] = await world.bot.sink.wait_for(InboundChoice, event_id=unstable)
    [second] = await world.bot.sink.wait_for(InboundChoice, event_id=stable)
    assert (first.target, first.choices, first.sender) == (poll, ["object"], world.bob.user_id)
    assert (second.target, second.choices) == (poll, ["consent"])


async def test_reaction_style_choices_seed_the_vocabulary(world: World) -> None:
    delivery = await world.adapter.perform(
        post("seeded-1", world.room, choices=CONSENT, choice_style="reactions"))
    seeded = await world.alice.wait_for(
        lambda r, e: isinstance(e, ReactionEvent) and e.reacts_to == delivery.message_id, count=2)
    assert sorted(e.key for _, e in seeded) == ["✅", "✋"]
    # Performing it again (a retry) changes nothing: same message, no extra reaction.
    again = await world.adapter.perform(
        post("seeded-1", world.room, choices=CONSENT, choice_style="reactions"))
    assert again.message_id == delivery.message_id


async def test_same_key_twice_is_one_message_even_across_a_restart(world: World) -> None:
    first = await world.adapter.perform(post("once-1", world.room, "une fois"))
    second = await world.adapter.perform(post("once-1", world.room, "une fois"))
    await world.bot.restart()
    third = await world.adapter.perform(post("once-1", world.room, "une fois"))
    assert first.message_id == second.message_id == third.message_id
    marker = await world.alice.say(world.room, "après")
    await world.alice.wait_for(lambda r, e: getattr(e, "event_id", None) == marker)
    copies = [e for _, e in world.alice.seen
              if isinstance(e, RoomMessageNotice) and "une fois" in e.body]
    assert len(copies) == 1


async def test_edit_react_and_image(world: World) -> None:
    target = (await world.adapter.perform(post("edit-target", world.room, "avant"))).message_id
    assert target is not None
    edit = Outgoing(action=Edit(channel="reseau", ref="r", text=text("après")), key="edit-1",
                    channel=world.room, message_id=target)
    await world.adapter.perform(edit)
    [(_, replaced)] = await world.bob.wait_for(
        lambda r, e: (getattr(e, "source", {}).get("content", {}).get("m.relates_to") or {}).get("rel_type") == "m.replace"
        and e.source["content"]["m.relates_to"]["event_id"] == target)
    assert "après" in replaced.source["content"]["m.new_content"]["body"]

    react = Outgoing(action=React(channel="reseau", ref="r", emoji="🎉"), key="react-1",
                     channel=world.room, message_id=target)
    await world.adapter.perform(react)
    await world.bob.wait_for(lambda r, e: isinstance(e, ReactionEvent) and e.reacts_to == target
                             and e.key == "🎉" and e.sender == world.bot.user.user_id)

    image = Image(png_b64=base64.b64encode(_png(4, 3)).decode(), alt=text("graphique"),
                  filename="participation.png")
    summary = (await world.adapter.perform(post("with-image", world.room, "résumé", image=image))).message_id
    [(_, img)] = await world.bob.wait_for(lambda r, e: isinstance(e, RoomMessageImage))
    assert img.url.startswith("mxc://") and img.source["content"]["info"]["w"] == 4
    # Not a second post in the room: the image is in the thread of the message it goes with.
    relation = img.source["content"]["m.relates_to"]
    assert (relation["rel_type"], relation["event_id"]) == ("m.thread", summary)


async def test_direct_message_opens_then_reuses_one_room(world: World) -> None:
    world.bob.accept_invites = True
    out = Outgoing(action=DirectMessage(member="bob", text=text("privé")), key="dm-1",
                   channel=None, recipient=world.bob.user_id)
    first = await world.adapter.perform(out)
    assert first.channel and first.channel != world.room
    await world.bob.wait_for(lambda r, e: r == first.channel and isinstance(e, RoomMessageNotice))
    again = Outgoing(action=DirectMessage(member="bob", text=text("encore")), key="dm-2",
                     channel=None, recipient=world.bob.user_id)
    second = await world.adapter.perform(again)
    assert second.channel == first.channel

    # The member answers in the DM: a direct message to the engine.
    answer = await world.bob.say(first.channel, "ma réponse")
    [message] = await world.bot.sink.wait_for(InboundMessage, event_id=answer)
    assert message.is_direct and message.channel == first.channel


async def test_members_joining_and_leaving(world: World, synapse_server: DevHomeserver) -> None:  # noqa: F811
    carol = await make_member(synapse_server, "carol")
    try:
        await world.alice.invite(world.room, carol.user_id)
        await carol.join(world.room)
        [joined] = await world.bot.sink.wait_for(InboundMembership, sender=carol.user_id, joined=True)
        assert joined.channel == world.room
        await carol.leave(world.room)
        await world.bot.sink.wait_for(InboundMembership, sender=carol.user_id, joined=False)
        members = {m.user_id for m in await world.adapter.members(world.room)}
        assert members == {world.alice.user_id, world.bob.user_id, world.bot.user.user_id}
    finally:
        await close_all(carol)


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


async def test_sync_token_is_kept_in_the_store(world: World) -> None:
    assert await world.bot.kv.get(NAMESPACE, "next_batch")
    session = await world.bot.kv.get(NAMESPACE, "session")
    assert session is not None and session["device_id"] and session["user_id"] == world.bot.user.user_id
