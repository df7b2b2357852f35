"""Which ritual an event reaches: the routing rules, apart from any database.

The router reads through `Lookups` (the store's repositories, or the memory ones in tests)
and decides; the engine then acts on its decision (creates, loads, delivers, answers)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.kernel import emoji
from bot.kernel.commands import CommandError, CommandSpec, Grammar, Parsed
from bot.kernel.i18n import Msg, normalize_locale
from bot.kernel.model import (
    Chose,
    Command,
    Event,
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
    ReplyHandle,
    Started,
)
from bot.kernel.scenario import DIRECT_TEXT, Capabilities, Registry, RitualKind
from bot.store.ports import Unit
from bot.store.rows import MessageRef, ReactionRow, RitualRow


class Lookups(Protocol):
    """What routing reads: which ritual message a platform message is, the open rituals."""

    async def ref(self, platform: str, message_id: str) -> MessageRef | None: ...
    async def open_rituals(self, kinds: Sequence[str]) -> list[RitualRow]: ...
    async def open_by_number(self, kind: str, number: int) -> RitualRow | None: ...
    async def ritual(self, ritual_id: int) -> RitualRow | None: ...
    async def expected_reply(self, person_id: int) -> tuple[int, Ref] | None: ...
    async def reaction(self, platform: str, reaction_id: str) -> ReactionRow | None: ...


# -- decisions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Deliver:
    """Hand `event` to an open ritual."""

    ritual_id: int
    event: Event


@dataclass(frozen=True)
class Start:
    """Create a ritual of `kind` (in `channels`) and start it."""

    kind: str
    channels: list[str]
    started: Started
    reply_to: ReplyHandle


@dataclass(frozen=True)
class StartImplicit:
    """The kind's network-wide instance does not exist yet: make it, then deliver."""

    kind: str
    command: Command


@dataclass(frozen=True)
class Query:
    """Answered from the store, not by a ritual (help, profile, a kind's query)."""

    parsed: Parsed
    member: Member
    channel: str
    reply_to: ReplyHandle


@dataclass(frozen=True)
class FormInstead:
    """A command typed bare where forms exist: open its form."""

    spec: CommandSpec
    member: Member
    channel: str
    fallback: Msg
    reply_to: ReplyHandle


@dataclass(frozen=True)
class Membership:
    """Someone joined or left a bound channel; these rituals want to know."""

    channel: str
    joined: bool
    ritual_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Ignore:
    why: str


Decision = Deliver | Start | StartImplicit | Query | FormInstead | Membership | Ignore


def reply_handle(ev: InboundCommand | InboundChoice) -> ReplyHandle:
    """Where a private answer goes: remembered in the outbox route, never in ritual state."""
    thread = ev.thread_of if isinstance(ev, InboundCommand) else None
    return ReplyHandle(platform=ev.platform, channel=ev.channel, thread=thread, data=dict(ev.reply_handle))


def event_hash(ev: InboundEvent) -> str:
    return hashlib.sha256(f"{ev.platform}\0{ev.event_id}".encode()).hexdigest()[:24]


# -- the rules -----------------------------------------------------------------------------


class Router:
    """The routing rules of one network."""

    def __init__(self, registry: Registry, grammar: Grammar, spec_kind: Mapping[int, RitualKind[Any]],
                 capabilities: Callable[[str], Capabilities], network_locale: str) -> None:
        self.registry = registry
        self.grammar = grammar
        self.spec_kind = spec_kind
        self.capabilities = capabilities
        self.locale = network_locale
        self.form_specs = {spec.form: spec for spec in grammar.specs if spec.form and spec.from_form}
        self.direct_kinds = tuple(sorted(k.name for k in registry.kinds.values() if k.takes_direct_text))

    @classmethod
    def for_network(cls, registry: Registry, core: Sequence[CommandSpec],
                    capabilities: Callable[[str], Capabilities], network_locale: str) -> Router:
        """The rules for a network: the engine's own commands, then every ritual kind's."""
        specs: list[CommandSpec] = list(core)
        spec_kind: dict[int, RitualKind[Any]] = {}
        for kind, spec in registry.commands():
            specs.append(spec)
            spec_kind[id(spec)] = kind
        return cls(registry, Grammar(specs), spec_kind, capabilities, network_locale)

    def locale_of(self, member: Member) -> str:
        return normalize_locale(member.locale or self.locale)

    async def route(self, ev: InboundEvent, member: Member, person_id: int, channel: str | None,
                    look: Lookups, *, is_member: bool, allowed: Callable[[], bool],
                    pending_reactions: Mapping[tuple[str, str], tuple[str, str, str]]) -> Decision:
        """`channel`: the bound channel's key, "dm", or None for a room the network did not
        bind; `is_member`: declared or present in a bound channel; `allowed()` spends one of
        the member's command tokens; `pending_reactions`: reactions seen earlier in the same
        batch, not yet in the store (platform, reaction id → target, key, sender)."""
        if isinstance(ev, InboundMembership):
            if channel is None or channel == "dm":
                return Ignore("membership outside bound channels")
            kinds = [k.name for k in self.registry.kinds.values() if k.receives_joins]
            rows = await look.open_rituals(kinds) if kinds else []
            return Membership(channel, ev.joined, [r.id for r in rows if not r.channels or channel in r.channels])
        if channel is None:
            return Ignore("a room the network did not bind: its people drive nothing here")
        if isinstance(ev, InboundCommand):
            return await self._command(ev, member, channel, look, is_member=is_member, allowed=allowed)
        if isinstance(ev, InboundMessage):
            return await self._message(ev, member, person_id, look)
        if isinstance(ev, InboundReaction):
            return await self._reaction(ev, member, look, pending_reactions)
        return await self._choice(ev, member, look)

    # -- commands

    async def _command(self, ev: InboundCommand, member: Member, channel: str, look: Lookups, *,
                       is_member: bool, allowed: Callable[[], bool]) -> Decision:
        if not is_member:
            raise CommandError(Msg("core.cmd.not_member"))
        if not allowed():
            raise CommandError(Msg("core.cmd.rate_limited"))
        reply_to = reply_handle(ev)
        try:
            parsed = self.grammar.parse(ev.text)
        except CommandError as err:
            form = self._form_instead(ev, member, channel, err, reply_to)
            if form is None:
                raise
            return form
        spec = parsed.spec
        if spec.animateur_only and not member.is_animateur:
            raise CommandError(Msg("core.cmd.not_animateur", command=spec.localized_name(self.locale_of(member))))
        if channel == "dm" and not spec.in_dm and spec.route == "start":
            raise CommandError(Msg("core.cmd.not_in_dm"))
        kind = self.spec_kind.get(id(spec))
        if kind is None or spec.route == "query":
            return Query(parsed, member, channel, reply_to)
        if spec.route == "start":
            return Start(kind.name, [channel] if channel != "dm" else [],
                         Started(by=member, channel=channel, params=parsed.args), reply_to)
        found = await self._target(kind, parsed, ev, channel, look)
        if found is None:
            if spec.route == "singleton" and kind.implicit:
                return StartImplicit(kind.name, Command(member=member, name=spec.name, args=parsed.args,
                                                        channel=channel, reply_to=reply_to))
            if parsed.ritual_number is not None:
                raise CommandError(Msg("core.cmd.unknown_ritual", number=parsed.ritual_number))
            raise CommandError(Msg("core.cmd.no_open_ritual", command=spec.localized_name(self.locale_of(member))))
        ritual_id, thread_ref = found
        return Deliver(ritual_id, Command(member=member, name=spec.name, args=parsed.args, channel=channel,
                                          thread_ref=thread_ref, reply_to=reply_to))

    def _form_instead(self, ev: InboundCommand, member: Member, channel: str, err: CommandError,
                      reply_to: ReplyHandle) -> FormInstead | None:
        """A command with a form (`decision`), typed bare where forms exist (Slack): open the
        form rather than answer that arguments are missing."""
        words = ev.text.split()
        found = self.grammar.find(words)
        if found is None or found[1] != len(words) or found[0].form is None:
            return None
        spec = found[0]
        if not self.capabilities(ev.platform).forms:
            return None
        if spec.animateur_only and not member.is_animateur:
            raise CommandError(Msg("core.cmd.not_animateur", command=spec.localized_name(self.locale_of(member))))
        return FormInstead(spec, member, channel, err.msg, reply_to)

    async def _target(self, kind: RitualKind[Any], parsed: Parsed, ev: InboundCommand, channel: str,
                      look: Lookups) -> tuple[int, Ref | None] | None:
        """The open ritual a command is about: the one whose thread it was typed in, else `#N`
        of the declaring kind, else the latest open one of these kinds in this channel. A spec
        may accept rituals of other kinds (`also_for`: an election's consent step)."""
        kinds = (kind.name, *parsed.spec.also_for)
        if ev.thread_of:
            ref = await look.ref(ev.platform, ev.thread_of)
            if ref is not None:
                row = await look.ritual(ref.ritual_id)
                if row is not None and row.kind in kinds and row.status == "open":
                    return row.id, ref.ref
        if parsed.ritual_number is not None:
            row = await look.open_by_number(kind.name, parsed.ritual_number)
            return (row.id, None) if row is not None else None
        rows = await look.open_rituals(kinds)
        if parsed.spec.route == "singleton":
            # The configured instance (the one bound to this channel first), else the implicit one.
            rows = [r for r in rows if r.origin == "config"] or [r for r in rows if r.origin == "implicit"]
            pick = next((r for r in rows if channel in r.channels), rows[0] if rows else None)
        else:
            pick = next((r for r in rows if channel in r.channels or channel == "dm"), None)
        return None if pick is None else (pick.id, None)

    # -- messages, reactions, choices

    async def _message(self, ev: InboundMessage, member: Member, person_id: int, look: Lookups) -> Decision:
        if ev.thread_of or ev.in_reply_to:
            ref = await look.ref(ev.platform, ev.thread_of or ev.in_reply_to or "")
            if ref is not None:
                return Deliver(ref.ritual_id, Replied(member=member, text=ev.text, ref=ref.ref, channel=ref.channel))
        if ev.is_direct:
            expected = await look.expected_reply(person_id)
            if expected is not None:
                return Deliver(expected[0], Replied(member=member, text=ev.text, ref=expected[1], channel="dm"))
            if self.direct_kinds:
                # Written to the bot without a command: the one open ritual that takes such
                # messages (an election's nominations, when no DM invited them); never a guess
                # between two.
                rows = await look.open_rituals(self.direct_kinds)
                if len(rows) == 1:
                    return Deliver(rows[0].id, Replied(member=member, text=ev.text, ref=DIRECT_TEXT, channel="dm"))
        return Ignore("a message that answers nothing")

    async def _reaction(self, ev: InboundReaction, member: Member, look: Lookups,
                        pending: Mapping[tuple[str, str], tuple[str, str, str]]) -> Decision:
        target, key = ev.target, ev.key
        if ev.removed and (target is None or key is None) and ev.reaction_id:
            known = pending.get((ev.platform, ev.reaction_id))
            if known is None:
                row = await look.reaction(ev.platform, ev.reaction_id)
                if row is None:
                    return Ignore("a redaction of something that was not a reaction we saw")
                known = (row.target, row.key, row.sender)
            target, key, reactor = known
            if reactor != ev.sender:
                # A moderator redacting someone's reaction does not withdraw that person's
                # answer on their behalf (nor answer as the moderator).
                return Ignore("a reaction removed by someone else than its author: answer kept")
        if target is None or key is None:
            return Ignore("a reaction on nothing")
        ref = await look.ref(ev.platform, target)
        if ref is None:
            return Ignore("a reaction on a message that is no ritual's")
        norm = emoji.normalize(key)
        choice = ref.choices.get(norm)
        event: Event
        if choice is not None:
            event = Chose(member=member, ref=ref.ref, channel=ref.channel, choice=None if ev.removed else choice,
                          withdrawn=choice if ev.removed else None, via="reaction")
        else:
            event = Reacted(member=member, ref=ref.ref, channel=ref.channel, key=norm, removed=ev.removed)
        return Deliver(ref.ritual_id, event)

    async def _choice(self, ev: InboundChoice, member: Member, look: Lookups) -> Decision:
        ref = await look.ref(ev.platform, ev.target)
        if ref is None:
            return Ignore("a click on a message that is no ritual's")
        caps = self.capabilities(ev.platform)
        via = "form" if ev.values else ("button" if caps.buttons else "poll" if caps.polls else "button")
        choice = ev.choices[0] if ev.choices else None
        return Deliver(ref.ritual_id, Chose(member=member, ref=ref.ref, channel=ref.channel, choice=choice,
                                            values=dict(ev.values), via=via, reply_to=reply_handle(ev)))

    def form_spec(self, ev: InboundChoice) -> CommandSpec | None:
        """The command whose form this submission is (a click on no message of ours)."""
        if ev.values and len(ev.choices) == 1:
            return self.form_specs.get(ev.choices[0])
        return None


class RefCache:
    """Platform message → ritual message, as far as this process knows. Recorded refs never
    move, so they are kept (bounded); the sender adds a message the moment the platform
    accepts it, before the record commits, so a reaction arriving that fast still counts.
    Unknown ids are not kept: the record of a delivery may come from another process."""

    LIMIT = 50_000

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], MessageRef] = {}

    def get(self, platform: str, message_id: str) -> MessageRef | None:
        return self._known.get((platform, message_id))

    def put(self, platform: str, message_id: str, ref: MessageRef) -> None:
        if len(self._known) > self.LIMIT:
            self._known.clear()  # bounded memory; a miss costs one indexed read
        self._known[(platform, message_id)] = ref

    def drop(self, platform: str, message_id: str) -> None:
        """Its choices changed (an edit replaced them): read it again next time."""
        self._known.pop((platform, message_id), None)


@dataclass(frozen=True)
class StoreLookups:
    """`Lookups` on one unit of work, for one network."""

    unit: Unit
    network_id: int
    cache: RefCache | None = None

    async def ref(self, platform: str, message_id: str) -> MessageRef | None:
        if self.cache is not None and (known := self.cache.get(platform, message_id)) is not None:
            return known
        found = await self.unit.refs.find(self.network_id, platform, message_id)
        if found is not None and self.cache is not None:
            self.cache.put(platform, message_id, found)
        return found

    async def open_rituals(self, kinds: Sequence[str]) -> list[RitualRow]:
        return await self.unit.rituals.open(self.network_id, list(kinds))

    async def open_by_number(self, kind: str, number: int) -> RitualRow | None:
        return await self.unit.rituals.open_by_number(self.network_id, kind, number)

    async def ritual(self, ritual_id: int) -> RitualRow | None:
        return await self.unit.rituals.get(ritual_id, lock=False)

    async def expected_reply(self, person_id: int) -> tuple[int, Ref] | None:
        return await self.unit.inbound.expected_reply(self.network_id, person_id)

    async def reaction(self, platform: str, reaction_id: str) -> ReactionRow | None:
        return await self.unit.inbound.reaction(platform, reaction_id)

