"""Routing without a database: a table of platform events and the ritual each reaches, read
through the in-memory repositories (the same ports the SQL store implements)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.engine.core_commands import CORE_COMMANDS
from bot.engine.router import (
    Decision,
    Deliver,
    Ignore,
    Membership,
    Query,
    Router,
    Start,
    StartImplicit,
    StoreLookups,
)
from bot.kernel import emoji
from bot.kernel.commands import CommandError
from bot.kernel.model import (
    Chose,
    Command,
    InboundChoice,
    InboundCommand,
    InboundEvent,
    InboundMembership,
    InboundMessage,
    InboundReaction,
    Member,
    Reacted,
    Ref,
    Replied,
)
from bot.kernel.scenario import DIRECT_TEXT, Capabilities
from bot.store.memory import MemoryStore
from bot.store.rows import ReactionRow, RefDelivered
from scenarios import registry

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BOB = Member(key="bob", name="Bob", account="chat:bob")
ALICE = Member(key="alice", name="Alice", account="chat:alice", is_animateur=True)
CHOICES = {emoji.normalize("✅"): "consent", emoji.normalize("✋"): "objection"}


def caps(platform: str) -> Capabilities:
    return Capabilities(buttons=True)


@dataclass
class Network:
    """An in-memory network with open rituals and delivered messages; `ids` names them."""

    store: MemoryStore = field(default_factory=MemoryStore)
    network_id: int = 0
    ids: dict[int, str] = field(default_factory=dict)

    async def build(self) -> Network:
        async with self.store.unit() as unit:
            self.network_id = nid = await unit.networks.ensure("Réseau", T0)

            async def ritual(kind: str, channels: list[str], origin: Any = "command", key: str | None = None) -> int:
                row = await unit.rituals.create(nid, kind, key, channels, {}, origin, T0)
                self.ids[row.id] = f"{kind}#{row.number}"
                return row.id

            c1 = await ritual("consent", ["general"])
            c2 = await ritual("consent", ["comite"])
            await ritual("meeting", ["general"], "config", "reunion")
            await ritual("election", ["bureau"])
            draw = await ritual("draw", ["general"])
            await ritual("welcome", [], "config", "accueil")
            person = await unit.people.add_person(nid, "bob", "Bob", now=T0)
            await unit.refs.delivered(nid, [
                RefDelivered(c1, Ref(role="proposal", version=1, channel="general"), "general", "chat", "general",
                             "$p1", CHOICES),
                RefDelivered(c2, Ref(role="proposal", version=1, channel="comite"), "comite", "chat", "comite",
                             "$p2", CHOICES),
            ])
            await unit.inbound.add_reactions([ReactionRow("chat", "$r1", "$p1", "✅", "bob")])
            await unit.inbound.expect_reply(nid, person, draw, Ref(role="secret", member="bob"))
        return self

    async def route(self, ev: InboundEvent, channel: str | None, member: Member = BOB,
                    person_id: int | None = None) -> Decision:
        router = Router.for_network(registry(), CORE_COMMANDS, caps, "fr")
        async with self.store.reading() as unit:
            pid = person_id if person_id is not None else await unit.people.person_id(self.network_id, member.key)
            return await router.route(ev, member, pid or 0, channel, StoreLookups(unit, self.network_id),
                                      is_member=True, allowed=lambda: True, pending_reactions={})


def said(text: str, *, channel: str = "general", thread: str | None = None) -> InboundCommand:
    return InboundCommand(platform="chat", event_id=f"e-{text}", channel=channel, sender="bob", text=text,
                          thread_of=thread)


def reacted(key: str | None, target: str | None = "$p1", *, removed: bool = False, sender: str = "bob",
            reaction_id: str = "$r9") -> InboundReaction:
    return InboundReaction(platform="chat", event_id=f"r-{key}-{removed}-{sender}", channel="general", sender=sender,
                           target=target, key=key, removed=removed, reaction_id=reaction_id)


def wrote(text: str, *, thread: str | None = None, direct: bool = False) -> InboundMessage:
    return InboundMessage(platform="chat", event_id=f"m-{text}", channel="dm-bob" if direct else "general",
                          sender="bob", text=text, message_id=f"m-{text}", thread_of=thread, is_direct=direct)


Check = Callable[[Network, Decision], None]


def reaches(label: str, event: type, **fields: Any) -> Check:
    def check(net: Network, decision: Decision) -> None:
        assert isinstance(decision, Deliver), decision
        assert net.ids[decision.ritual_id] == label
        assert isinstance(decision.event, event), decision.event
        for name, value in fields.items():
            assert getattr(decision.event, name) == value, (name, decision.event)
    return check


def starts(kind: str, channels: list[str]) -> Check:
    def check(net: Network, decision: Decision) -> None:
        assert isinstance(decision, Start) and decision.kind == kind and decision.channels == channels, decision
    return check


def is_a(kind: type) -> Check:
    def check(net: Network, decision: Decision) -> None:
        assert isinstance(decision, kind), decision
    return check


def joined_to(*labels: str) -> Check:
    def check(net: Network, decision: Decision) -> None:
        assert isinstance(decision, Membership)
        assert sorted(net.ids[i] for i in decision.ritual_ids) == sorted(labels)
    return check


ROWS: list[tuple[str, InboundEvent, str | None, Member, Check | str]] = [
    # commands: the thread, then `#N`, then the latest open one in the channel
    ("objection in the channel", said("objection trop tôt"), "general", BOB, reaches("consent#1", Command)),
    ("objection #2 by number", said("objection #2 trop tôt"), "general", BOB, reaches("consent#2", Command)),
    ("objection in a round's thread", said("objection trop tôt", thread="$p2"), "general", BOB,
     reaches("consent#2", Command, thread_ref=Ref(role="proposal", version=1, channel="comite"))),
    ("the election's step, in its channel", said("objection non", channel="bureau"), "bureau", BOB,
     reaches("election#1", Command)),
    ("objection in the other channel", said("objection motif", channel="comite"), "comite", BOB,
     reaches("consent#2", Command)),
    ("English alias", said("object too soon"), "general", BOB, reaches("consent#1", Command)),
    ("an unknown #N", said("objection #9 non"), "general", BOB, "core.cmd.unknown_ritual"),
    ("a new round", said("decision « Budget 2027 »"), "general", ALICE, starts("consent", ["general"])),
    ("a new round, not an animateur", said("decision « Budget 2027 »"), "general", BOB, "core.cmd.not_animateur"),
    ("the configured calendar", said("reunion annuler grève"), "general", ALICE, reaches("meeting#1", Command)),
    ("the election's private nomination", said("elect nominate bob"), "dm", BOB, reaches("election#1", Command)),
    ("a draw's commitment", said("tirage graine abc"), "general", ALICE, reaches("draw#1", Command)),
    ("a digest with none configured", said("resume"), "general", ALICE, "core.cmd.no_open_ritual"),
    ("the help", said("aide"), "general", BOB, is_a(Query)),
    ("a query of a ritual kind", said("decisions"), "general", BOB, is_a(Query)),
    ("an unknown word", said("bonjour"), "general", BOB, "core.cmd.unknown"),
    # reactions: the message's choices, the withdrawal of one, anything else
    ("✅ on a proposal", reacted("✅"), "general", BOB, reaches("consent#1", Chose, choice="consent")),
    ("✋ on the other proposal", reacted("✋", "$p2"), "general", BOB, reaches("consent#2", Chose, choice="objection")),
    ("a reaction withdrawn", reacted(None, None, removed=True, reaction_id="$r1"), "general", BOB,
     reaches("consent#1", Chose, choice=None, withdrawn="consent")),
    ("someone else's reaction redacted", reacted(None, None, removed=True, reaction_id="$r1", sender="mod"),
     "general", BOB, is_a(Ignore)),
    ("a reaction that is no choice", reacted("🎉"), "general", BOB, reaches("consent#1", Reacted)),
    ("a reaction on a message of no ritual", reacted("✅", "$other"), "general", BOB, is_a(Ignore)),
    # clicks and messages
    ("a button", InboundChoice(platform="chat", event_id="c1", channel="general", sender="bob", target="$p1",
                               choices=["objection"]), "general", BOB,
     reaches("consent#1", Chose, choice="objection", via="button")),
    ("a button on a message of no ritual", InboundChoice(platform="chat", event_id="c2", channel="general",
                                                         sender="bob", target="$x", choices=["consent"]),
     "general", BOB, is_a(Ignore)),
    ("a reply in a round's thread", wrote("je trouve ça bien", thread="$p1"), "general", BOB,
     reaches("consent#1", Replied, ref=Ref(role="proposal", version=1, channel="general"))),
    ("an expected private answer", wrote("mon-secret", direct=True), "dm", BOB,
     reaches("draw#1", Replied, ref=Ref(role="secret", member="bob"))),
    # Nobody waits for it: the one open election takes it (a nomination written without a command).
    ("a private message nobody waits for", wrote("coucou", direct=True), "dm", ALICE,
     reaches("election#1", Replied, ref=DIRECT_TEXT)),
    ("a plain message in the channel", wrote("bonjour à tous"), "general", BOB, is_a(Ignore)),
    ("a room the network did not bind", said("objection non"), None, BOB, is_a(Ignore)),
    # joins
    ("someone joins a bound channel", InboundMembership(platform="chat", event_id="j1", channel="general",
                                                        sender="carla", joined=True), "general", BOB,
     joined_to("welcome#1")),
    ("someone joins an unbound room", InboundMembership(platform="chat", event_id="j2", channel="x", sender="carla",
                                                        joined=True), None, BOB, is_a(Ignore)),
]


@pytest.mark.parametrize(("event", "channel", "member", "expect"), [row[1:] for row in ROWS],
                         ids=[row[0] for row in ROWS])
async def test_each_event_reaches_its_ritual(event: InboundEvent, channel: str | None, member: Member,
                                             expect: Check | str) -> None:
    net = await Network().build()
    if isinstance(expect, str):
        with pytest.raises(CommandError) as err:
            await net.route(event, channel, member)
        assert err.value.msg.key == expect
        return
    expect(net, await net.route(event, channel, member, person_id=None if member is BOB else 0))


async def test_a_one_off_meeting_with_no_calendar_makes_the_implicit_one() -> None:
    """With no meeting ritual open, `reunion …` asks for the implicit calendar, not an error."""
    net = Network()
    await net.build()
    async with net.store.unit() as unit:
        for rid, label in net.ids.items():
            if label.startswith("meeting"):
                await unit.rituals.retire(rid, T0)
    decision = await net.route(said("reunion « Comité » le 14 décembre à 18h"), "general", ALICE)
    assert isinstance(decision, StartImplicit) and decision.kind == "meeting"


async def test_a_private_message_nobody_waits_for_with_no_election_open_is_ignored() -> None:
    net = Network()
    await net.build()
    async with net.store.unit() as unit:
        for rid, label in net.ids.items():
            if label.startswith("election"):
                await unit.rituals.retire(rid, T0)
    assert isinstance(await net.route(wrote("coucou", direct=True), "dm", ALICE, person_id=0), Ignore)
