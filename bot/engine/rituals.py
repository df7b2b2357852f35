"""Applying a ritual: its context, its scenario's handling of an event, and what it decided
turned into timers, log lines, outbox entries and a new state in the transaction."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from bot.config import Config
from bot.engine.answers import acting_member, keep_answer, load_answers
from bot.engine.directory import People
from bot.engine.mandates import load_mandates, record_mandates
from bot.engine.register import load_register, record_in_register
from bot.engine.states import KeptRitual, SavedStates
from bot.engine.tx import Ritual, Tx
from bot.kernel.answers import Answers
from bot.kernel.i18n import Msg
from bot.kernel.mandates import MandatesView
from bot.kernel.model import (
    Action,
    AnonymizeAnswers,
    CancelTimer,
    Chose,
    Command,
    DirectMessage,
    Edit,
    Event,
    Finish,
    OpenForm,
    Post,
    PrivateNote,
    React,
    Record,
    RecordAnswer,
    Ref,
    ReplyHandle,
    SetTimer,
    Started,
    StartRitual,
)
from bot.kernel.register import RegisterView
from bot.kernel.scenario import (
    Capabilities,
    ChannelInfo,
    Context,
    LogEntry,
    NetworkInfo,
    Registry,
    RitualSummary,
)
from bot.logs import bind, ritual_label, unbind
from bot.store.rows import Origin, OutboxNew, RitualRow, TimerSet

log = logging.getLogger("maillage.engine")

LOG_WINDOW = timedelta(days=90)
"""How far back `ctx.log` reaches for kinds that read it (digest, rotation of draws)."""
CONFIG_KEY = "cfg:"
"""Configured rituals are keyed by their entry's id under this prefix (their origin says so)."""
NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})
"""A ritual's options when the config gives none: always the same (kinds keep what they parse
from their options by the mapping's identity)."""
DM_REPLY = Ref(role="dm")
"""What a member's answer is about when the direct message awaiting it had no ref of its own."""


def digest(value: Any) -> str:
    body = json.dumps(value.model_dump(mode="json") if isinstance(value, BaseModel) else
                      [v.model_dump(mode="json") for v in value], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


class Rituals:
    """One network's rituals as the engine applies them."""

    def __init__(self, registry: Registry, config: Config, people: People,
                 capabilities: Callable[[str], Capabilities]) -> None:
        self.registry = registry
        self.config = config
        self.people = people
        self.capabilities = capabilities
        self._channels: tuple[int, Mapping[str, ChannelInfo]] | None = None
        self._network_infos: dict[bool, tuple[int, NetworkInfo]] = {}
        """What `channel_infos` and `network_info` made, by the directory's generation."""
        self.saved = SavedStates()
        """The states this process wrote, taken back instead of validated when the store still
        holds exactly them."""
        net = config.network
        self.network = NetworkInfo(name=net.name, locale=net.locale, timezone=net.timezone, charter=net.charter,
                                   name_with_article=net.name_with_article)

    @property
    def network_id(self) -> int:
        return self.people.network_id

    # -- loading -----------------------------------------------------------------------

    def _keep(self, tx: Tx, row: RitualRow | None) -> Ritual | None:
        if row is None or row.kind not in self.registry.kinds:
            return None
        kind = self.registry.get(row.kind)
        state = self.saved.take(row.id, row.version, row.state)
        if state is None or type(state) is not kind.state_type:
            state = kind.state_type.model_validate(row.state)
        ritual = KeptRitual(row.id, row.kind, row.key, row.number, row.status, list(row.channels), state,
                            row.version, row.origin, states=self.saved)
        tx.rituals[row.id] = ritual
        return ritual

    async def load(self, tx: Tx, ritual_id: int, person_id: int | None = None) -> Ritual | None:
        """The ritual as this transaction sees it. With `person_id` (a member's event going to
        it), their current answers there are read in the same trip when the ritual is read,
        for the delivery that follows (`Tx.prefetched`)."""
        if ritual_id in tx.rituals:
            return tx.rituals[ritual_id]
        if person_id is None:
            return self._keep(tx, await tx.unit.rituals.get(ritual_id))
        row, answers = await tx.unit.rituals.get_with_answers(ritual_id, person_id)
        tx.prefetched = (ritual_id, person_id, answers)
        return self._keep(tx, row)

    async def preload(self, tx: Tx, ritual_ids: Sequence[int]) -> None:
        """Load (and on PostgreSQL lock, in id order) many rituals at once."""
        wanted = sorted(set(ritual_ids) - set(tx.rituals))
        for row in await tx.unit.rituals.get_many(wanted):
            self._keep(tx, row)

    async def create(self, tx: Tx, kind_name: str, key: str | None, channels: list[str],
                     origin: Origin = "command") -> Ritual:
        kind = self.registry.get(kind_name)
        state = kind.initial_state()
        row = await tx.unit.rituals.create(self.network_id, kind_name, key, channels, state.model_dump(mode="json"),
                                           origin, tx.now)
        ritual = KeptRitual(row.id, kind_name, row.key, row.number, "open", list(channels), state, 0, origin, True,
                            states=self.saved)
        tx.rituals[row.id] = ritual
        return ritual

    # -- context -----------------------------------------------------------------------

    def channel_infos(self) -> Mapping[str, ChannelInfo]:
        """The bound channels as scenarios see them: made again only when the directory changed."""
        generation = self.people.generation
        if self._channels is None or self._channels[0] != generation:
            self._channels = (generation, MappingProxyType(
                {k: ChannelInfo(k, c.name, c.platform, self.capabilities(c.platform))
                 for k, c in self.people.channels.items()}))
        return self._channels[1]

    def network_info(self, with_settings: bool = True) -> NetworkInfo:
        """The network as scenarios see it (its roles read from the directory): made again only
        when the directory changed."""
        generation = self.people.generation
        known = self._network_infos.get(with_settings)
        if known is not None and known[0] == generation:
            return known[1]
        n = self.network
        info = NetworkInfo(name=n.name, locale=n.locale, timezone=n.timezone, charter=n.charter,
                           name_with_article=n.name_with_article, roles=self.people.role_view(),
                           settings=self.config.kind_defaults if with_settings else {},
                           register_url=self.register_url)
        self._network_infos[with_settings] = (generation, info)
        return info

    @property
    def register_url(self) -> str | None:
        section = self.config.file.registre
        return section.base_url if section is not None else None

    async def read_register(self, tx: Tx, decisions_only: bool = False) -> RegisterView:
        """The register for a ritual that reads the log (as far back), or every decision (a query)."""
        return await load_register(tx.unit, self.people, self.network.locale, self.register_url,
                                   kinds=("decision",) if decisions_only else None,
                                   since=None if decisions_only else tx.now - LOG_WINDOW)

    async def read_mandates(self, tx: Tx) -> MandatesView:
        """The declared roles and every mandate (for kinds that read them, and their queries)."""
        return await load_mandates(tx.unit, self.people, self.network.locale)

    async def read_log(self, tx: Tx) -> list[LogEntry]:
        rows = await tx.unit.journal.since(self.network_id, tx.now - LOG_WINDOW)
        return [LogEntry(r.at, r.kind, r.ritual_kind, r.ritual_number, r.summary) for r in rows]

    async def open_summaries(self, tx: Tx, exclude: int) -> list[RitualSummary]:
        await tx.write_pending(self.network_id)
        rows = await tx.unit.rituals.open(self.network_id)
        due = await tx.unit.timers.earliest_per_ritual(self.network_id)
        out: list[RitualSummary] = []
        for r in sorted(rows, key=lambda r: r.id):
            if r.id == exclude or r.kind not in self.registry.kinds:
                continue
            kind = self.registry.get(r.kind)
            cached = tx.rituals.get(r.id)
            if cached is not None and cached.status != "open":
                continue  # finished earlier in this transaction: the store does not say so yet
            state = cached.state if cached else kind.state_type.model_validate(r.state)
            summary = kind.summarize(state)
            if summary is not None:
                out.append(RitualSummary(r.kind, r.number, r.status, summary, due.get(r.id)))
        return out

    def options(self, ritual: Ritual) -> Mapping[str, Any]:
        if ritual.origin == "config":
            return self.config.ritual_options.get(ritual.key.removeprefix(CONFIG_KEY), NO_OPTIONS)
        return self.config.kind_defaults.get(ritual.kind, NO_OPTIONS)

    async def context(self, tx: Tx, ritual: Ritual, event: Event | None = None) -> Context:
        kind = self.registry.get(ritual.kind)
        answers = Answers()
        tx.answers_read = None  # what an earlier delivery read says nothing about this one
        if kind.uses_answers and event is not None:
            member = acting_member(event)
            answers = await load_answers(tx, self.people, ritual, kind.answers_needed(ritual.state, event, tx.when),
                                         member, kind.answers_part(ritual.state, event))
        entries: Sequence[LogEntry] = ()
        summaries: Sequence[RitualSummary] = ()
        register = RegisterView()
        if kind.reads_log:
            entries = await self.read_log(tx)
            summaries = await self.open_summaries(tx, exclude=ritual.id)
            register = await self.read_register(tx)
        return Context(network=self.network_info(), directory=self.people.view(), channels=self.channel_infos(),
                       config=self.options(ritual), ritual_channels=tuple(ritual.channels), ritual_id=ritual.id,
                       number=ritual.number, log=entries, open_rituals=summaries, register=register,
                       answers=answers,
                       mandates=await self.read_mandates(tx) if kind.reads_mandates else MandatesView())

    # -- handling ----------------------------------------------------------------------

    async def deliver(self, tx: Tx, ritual: Ritual, event: Event) -> list[Action]:
        """The scenario handles the event; what it decided goes into the transaction. A
        scenario that raises fails its event, which the caller isolates (a dead letter, or for
        CommandError a refusal): the state stays as it was."""
        kind = self.registry.get(ritual.kind)
        ctx = await self.context(tx, ritual, event)
        named = bind(ritual=ritual_label(ritual.kind, ritual.number))  # log lines name the ritual
        try:
            if kind.cpu_heavy:
                state, actions = await asyncio.to_thread(kind.bind(ctx).handle, ritual.state, event, tx.when)
            else:
                state, actions = kind.bind(ctx).handle(ritual.state, event, tx.when)
        finally:
            unbind(named)
        ritual.state = state
        ritual.version += 1
        ritual.dirty = True
        chosen = kind.channels(state)
        if chosen is not None and list(chosen) != ritual.channels:
            ritual.channels = list(chosen)
        reply_to = event.reply_to if isinstance(event, Command | Chose) else None
        reply_member = event.member.key if isinstance(event, Command | Chose) else None
        await self.apply(tx, ritual, actions, f"r{ritual.id}v{ritual.version}", reply_to, reply_member)
        return actions

    async def apply(self, tx: Tx, ritual: Ritual | None, actions: Sequence[Action], key_prefix: str,
                    reply_to: ReplyHandle | None, reply_member: str | None = None) -> None:
        for i, action in enumerate(actions):
            if isinstance(action, SetTimer):
                assert ritual is not None, "only rituals set timers"
                tx.timer_ops[(ritual.id, action.name)] = TimerSet(ritual.id, action.name, action.due_at,
                                                                  dict(action.payload))
                tx.timers_changed = True
            elif isinstance(action, CancelTimer):
                assert ritual is not None
                tx.timer_ops[(ritual.id, action.name)] = None
                tx.timers_changed = True
            elif isinstance(action, Record):
                await tx.unit.journal.record(self.network_id, ritual.id if ritual else None,
                                             ritual.kind if ritual else "core", ritual.number if ritual else 0,
                                             tx.now, action.kind, action.summary)
                await record_in_register(tx, self.people, ritual, action)
                await record_mandates(tx, self.people, ritual, action)
            elif isinstance(action, RecordAnswer | AnonymizeAnswers):
                assert ritual is not None, "only rituals record answers"
                keep_answer(tx, self.people, ritual, action)
            elif isinstance(action, StartRitual):
                await self.start_ritual(tx, action)
            elif isinstance(action, Finish):
                assert ritual is not None
                ritual.status = "finished"
                ritual.dirty = True
                for pending in [k for k in tx.timer_ops if k[0] == ritual.id]:
                    del tx.timer_ops[pending]
                await tx.unit.timers.clear(ritual.id)
                await tx.unit.inbound.forget_replies(ritual.id)
                tx.timers_changed = True
            else:
                if ritual is not None and isinstance(action, Post | Edit) and await self._unchanged(tx, ritual, action):
                    continue
                # A reply handle (Slack's response_url) answers only the member who acted.
                own = reply_member is None or getattr(action, "member", None) == reply_member
                await self._enqueue(tx, ritual, action, f"mlg:{self.network_id}:{key_prefix}:{i}",
                                    reply_to if own else None)

    async def start_ritual(self, tx: Tx, action: StartRitual) -> None:
        """A ritual another one starts (a renewal's draw or election), as its command would
        have: one that refuses to start says why to `by`, privately, as it would have."""
        pid = self.people.person_by_key.get(action.by)
        if pid is None or action.kind not in self.registry.kinds:
            log.warning("cannot start a %s for %s: dropped", action.kind, action.by)
            return
        ritual = await self.create(tx, action.kind, None, [action.channel] if action.channel else [])
        by = self.people.member(self.people.persons[pid])
        await self.deliver(tx, ritual, Started(by=by, channel=action.channel, params=dict(action.params)))

    async def _unchanged(self, tx: Tx, ritual: Ritual, action: Post | Edit) -> bool:
        """Remember what a ritual's message says; True for an edit that would change nothing
        (the member would see the same message "edited" for no reason)."""
        if action.ref is None:
            return False
        key = (ritual.id, action.ref, action.channel)
        text_hash = digest(action.text)
        choices_hash = None if action.choices is None else digest(action.choices)
        if isinstance(action, Post):
            tx.contents[key] = (text_hash, choices_hash)
            return False
        known = tx.contents.get(key)
        if known is None:
            known = await tx.unit.refs.content(*key)
        if known is not None and known[0] == text_hash and choices_hash in (None, known[1]):
            return True
        tx.contents[key] = (text_hash, choices_hash if choices_hash is not None else (known[1] if known else None))
        return False

    async def _enqueue(self, tx: Tx, ritual: Ritual | None, action: Action, key: str, reply_to: ReplyHandle | None) -> None:
        platform, route = self.route_of(action, reply_to)
        if platform is None:
            log.warning("no platform for %s (ritual %s): dropped", action, ritual.id if ritual else None)
            return
        if isinstance(action, DirectMessage) and action.expects_reply and ritual is not None:
            pid = self.people.person_by_key.get(action.member)
            if pid is not None:
                await tx.unit.inbound.expect_reply(self.network_id, pid, ritual.id, action.ref or DM_REPLY)
        if isinstance(action, PrivateNote | OpenForm) and action.reply_to is None and reply_to:
            action = action.model_copy(update={"reply_to": reply_to})
        tx.outbox_rows.append(OutboxNew(ritual.id if ritual else None, key, platform, action.model_dump(mode="json"),
                                        route, tx.now))
        tx.outbox += 1

    def route_of(self, action: Action, reply_to: ReplyHandle | None) -> tuple[str | None, dict[str, Any]]:
        """Which platform performs an action, and what to resolve at send time."""
        people = self.people
        if isinstance(action, DirectMessage):
            pid = people.person_by_key.get(action.member)
            if pid is None or not people.persons[pid].accounts:
                return None, {}
            return people.persons[pid].accounts[0][0], {"member": action.member}
        if isinstance(action, PrivateNote | OpenForm):
            if action.channel == "dm" or action.channel not in people.channels:
                # Answer on the platform the member wrote from (the command's reply handle).
                handle = action.reply_to or reply_to
                platform = handle.platform if handle is not None else ""
                if platform:
                    return platform, {"member": action.member, "channel": action.channel}
                pid = people.person_by_key.get(action.member)
                if pid is None or not people.persons[pid].accounts:
                    return None, {}
                return people.persons[pid].accounts[0][0], {"member": action.member, "channel": action.channel}
            return people.channels[action.channel].platform, {"member": action.member, "channel": action.channel}
        assert isinstance(action, Post | Edit | React)
        ch = people.channels.get(action.channel)
        if ch is None:
            return None, {}
        return ch.platform, {"channel": action.channel}

    def note(self, member: str, channel: str, text: Msg, reply_to: ReplyHandle | None) -> PrivateNote:
        return PrivateNote(member=member, channel=channel, text=text, reply_to=reply_to)
