"""Inbound events: deduplicated, routed, acted on, refused or set aside; a batch is first run
without a savepoint per event, and again with one for each if any of its events fails."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.engine.core_commands import CoreQuery, answer_core
from bot.engine.directory import People
from bot.engine.isolation import Isolation, Refused, deterministic, redacted, transient
from bot.engine.limits import CommandRate, RateMark
from bot.engine.profiles import invite, invite_within
from bot.engine.rituals import Rituals
from bot.engine.router import (
    Decision,
    Deliver,
    FormInstead,
    Ignore,
    Membership,
    Query,
    RefCache,
    Router,
    Start,
    StartImplicit,
    StoreLookups,
    event_hash,
    reply_handle,
)
from bot.engine.tx import Ritual, Tx
from bot.kernel.commands import CommandError, CommandSpec
from bot.kernel.i18n import Msg
from bot.kernel.mandates import MandatesView
from bot.kernel.model import (
    Action,
    DirectMessage,
    InboundChoice,
    InboundCommand,
    InboundEvent,
    InboundMembership,
    InboundReaction,
    Joined,
    Left,
    Member,
    OpenForm,
    PrivateNote,
    Started,
)
from bot.kernel.register import RegisterView
from bot.kernel.scenario import Capabilities, Context, Registry, RitualKind
from bot.store.rows import ReactionRow

log = logging.getLogger("maillage.engine")

MAX_BACKDATE = timedelta(days=7)
"""How far back a platform's own timestamp of an event is trusted over the time we receive it."""


class Retry(Exception):
    """An event of a batch run without savepoints failed: its transaction is rolled back and
    the batch run again, each event in its savepoint (`Inbound.batch(isolated=True)`)."""


@dataclass(frozen=True)
class Checkpoint:
    """What a batch changes in memory outside its transaction, put back before it runs again."""

    stats: dict[str, int]
    rate: RateMark
    generation: int


class Inbound:
    """What the engine does with each event of a batch."""

    def __init__(self, registry: Registry, people: People, rituals: Rituals, router: Router,
                 isolation: Isolation, spec_kind: Mapping[int, RitualKind[Any]],
                 capabilities: Callable[[str], Capabilities], stats: dict[str, int], refs: RefCache) -> None:
        self.registry = registry
        self.people = people
        self.rituals = rituals
        self.router = router
        self.isolation = isolation
        self.spec_kind = spec_kind
        self.capabilities = capabilities
        self.stats = stats
        self.refs = refs
        self.rate = CommandRate()

    @property
    def network_id(self) -> int:
        return self.people.network_id

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(dict(self.stats), self.rate.snapshot(), self.people.generation)

    def restore(self, mark: Checkpoint) -> None:
        """Before a batch runs again: its first run's transaction was rolled back."""
        self.stats.update(mark.stats)
        self.rate.restore(mark.rate)
        if self.people.generation != mark.generation:
            self.people.version = -1  # memory holds what the rollback undid: read it again

    async def batch(self, tx: Tx, events: Sequence[InboundEvent], isolated: bool = True,
                    claimed: set[tuple[str, str]] | None = None) -> list[bool]:
        """Handle a batch in one transaction: True for each event handled, False for one
        already seen (a platform's retry, a sync replayed, another process).

        Not `isolated`, a known sender's event runs without a savepoint of its own (two
        statements and their round trips saved per event, almost all events succeeding); if
        one fails, `Retry` is raised for the caller to roll the transaction back and run the
        batch again isolated, where the failure is refused or set aside alone. `claimed`: the
        events' keys the caller already claimed in this transaction (the new ones)."""
        first: dict[tuple[str, str], int] = {}
        for i, ev in enumerate(events):
            first.setdefault((ev.platform, ev.event_id), i)
        if claimed is None:
            claimed = await tx.unit.inbound.claim(list(first), tx.now)
        fresh = {i for key, i in first.items() if key in claimed}
        results: list[bool] = []
        for i, ev in enumerate(events):
            if i not in fresh:
                self.stats["duplicates"] += 1
                results.append(False)
                continue
            tx.event_now = ev.at if ev.at is not None and tx.now - MAX_BACKDATE < ev.at < tx.now else None
            if isolated:
                await self._isolated(tx, ev)
            else:
                await self._optimistic(tx, ev)
            tx.event_now = None
            results.append(True)
            self.stats["handled"] += 1
        return results

    async def _optimistic(self, tx: Tx, ev: InboundEvent) -> None:
        """One event of a known sender without a savepoint: a failure that may be the event's
        fails the whole run (`Retry`); one that is surely the store's fails the batch."""
        pid = self.people.person_of(ev.platform, ev.account_scope, ev.sender)
        if pid is None:
            await self._isolated(tx, ev)  # a newcomer is written in savepoints of its own
            return
        try:
            await self._handle(tx, ev, pid)
        except Exception as exc:
            if transient(exc):
                raise
            raise Retry(f"event {ev.event_id} failed; the batch runs again isolated") from exc

    async def _isolated(self, tx: Tx, ev: InboundEvent) -> None:
        """One event in a savepoint of its own: a refused command leaves nothing but its
        answer; an event that fails deterministically is rolled back alone, recorded as a dead
        letter and answered, and the rest of the batch commits. Only the store failing (a
        transient error) fails the batch, which is then not acknowledged."""
        pid = self.people.person_of(ev.platform, ev.account_scope, ev.sender)
        if pid is None:
            # A savepoint only when there is something to write: a known sender costs nothing.
            try:
                async with tx.unit.savepoint():
                    # The sender is a fact of the directory whatever becomes of their event.
                    pid = await self.people.ensure_account(tx.unit, ev.platform, ev.account_scope, ev.sender,
                                                           ev.sender_name, tx.now)
            except Exception as exc:
                await self._failed(tx, ev, exc, None)
                return
        mark = tx.mark()
        generation = self.people.generation
        try:
            async with tx.unit.savepoint():
                await self._handle(tx, ev, pid)
        except CommandError as err:
            await self.isolation.rolled_back(tx, mark, generation)
            await self.reply_error(tx, ev, err.msg)
        except Exception as exc:
            await self._failed(tx, ev, exc, (mark, generation))

    async def _failed(self, tx: Tx, ev: InboundEvent, exc: Exception, undo: tuple[Any, int] | None) -> None:
        if not await deterministic(tx, exc):
            raise exc
        if undo is not None:
            await self.isolation.rolled_back(tx, *undo)
        log.error("event %s from %s failed and is set aside as a dead letter", ev.event_id, ev.platform,
                  exc_info=exc)
        fresh = await self.isolation.letter(tx, ev.platform, ev.event_id, ev.kind, exc, sender=ev.sender,
                                            channel=ev.channel, event=redacted(ev))
        if fresh and not isinstance(ev, InboundMembership):
            await self.reply_error(tx, ev, Msg("core.cmd.dead_letter"), privately=True)

    # -- one event --------------------------------------------------------------------

    async def _handle(self, tx: Tx, ev: InboundEvent, pid: int) -> None:
        person = self.people.persons[pid]
        if person.is_bot:
            return
        member = self.people.member(person, (ev.platform, ev.account_scope, ev.sender))
        channel = "dm" if ev.is_direct else self.people.channel_key(ev.platform, ev.channel)
        if isinstance(ev, InboundReaction) and not ev.removed and ev.reaction_id and ev.target and ev.key \
                and channel is not None:
            # Remembered so that a later redaction (which names only the reaction) finds it;
            # written with the batch's other rows in one statement at flush.
            tx.reactions.append(ReactionRow(ev.platform, ev.reaction_id, ev.target, ev.key, ev.sender))
            tx.reaction_index[(ev.platform, ev.reaction_id)] = (ev.target, ev.key, ev.sender)
        decision = await self.router.route(
            ev, member, pid, channel, StoreLookups(tx.unit, self.network_id, self.refs),
            is_member=self.people.is_member(pid),
            # A backlog replayed after downtime is judged at the pace it was typed, not received.
            allowed=lambda: self.rate.allow(pid, tx.when),
            pending_reactions=tx.reaction_index)
        if isinstance(ev, InboundChoice) and isinstance(decision, Ignore):
            spec = self.router.form_spec(ev)
            if spec is not None and channel is not None:
                await self._form_submitted(tx, ev, spec, member, pid, channel)
            return
        await self.act(tx, ev, decision, pid)

    async def act(self, tx: Tx, ev: InboundEvent, decision: Decision, pid: int) -> None:
        if isinstance(decision, Deliver):
            try:
                ritual = await self.rituals.load(tx, decision.ritual_id, pid)
                if ritual is not None and ritual.status == "open":
                    await self.rituals.deliver(tx, ritual, decision.event)
            finally:
                tx.prefetched = None  # for this delivery only, whatever became of it
        elif isinstance(decision, Start):
            await self._start(tx, ev, decision)
        elif isinstance(decision, StartImplicit):
            ritual = await self._implicit(tx, decision.kind)
            await self.rituals.deliver(tx, ritual, decision.command)
        elif isinstance(decision, Query):
            assert isinstance(ev, InboundCommand)
            await self._query(tx, ev, decision)
        elif isinstance(decision, FormInstead):
            form = OpenForm(member=decision.member.key, channel=decision.channel, form=decision.spec.form or "",
                            title=Msg(f"core.form.{decision.spec.form}"), fallback=decision.fallback,
                            context={"command": decision.spec.name, "channel": decision.channel})
            await self.rituals.apply(tx, None, [form], f"form:{event_hash(ev)}", decision.reply_to,
                                     decision.member.key)
        elif isinstance(decision, Membership):
            await self._membership(tx, ev, decision, pid)

    async def _start(self, tx: Tx, ev: InboundEvent, start: Start) -> None:
        """Create a ritual and start it. One that ends on the very event that started it (a
        refused launch: a bad deadline, an unknown group) never existed: it takes no number and
        leaves nothing but its answers to the member."""
        mark = tx.mark()
        generation = self.people.generation
        try:
            async with tx.unit.savepoint():
                ritual = await self.rituals.create(tx, start.kind, None, start.channels)
                actions = await self.rituals.deliver(tx, ritual, start.started)
                if ritual.status == "finished":
                    raise Refused([a for a in actions if isinstance(a, PrivateNote | DirectMessage)])
        except Refused as refused:
            await self.isolation.rolled_back(tx, mark, generation)
            member = start.started.by.key if start.started.by else None
            await self.rituals.apply(tx, None, refused.answers, f"refused:{event_hash(ev)}", start.reply_to, member)

    async def _implicit(self, tx: Tx, kind: str) -> Ritual:
        """The instance of a kind present in every network (a network with no meeting series
        still has a calendar for one-off meetings), made the first time a command needs it."""
        ritual = await self.rituals.create(tx, kind, f"auto:{kind}", [], origin="implicit")
        await self.rituals.deliver(tx, ritual, Started())
        return ritual

    async def _query(self, tx: Tx, ev: InboundCommand, q: Query) -> None:
        kind = self.spec_kind.get(id(q.parsed.spec))
        ctx = Context(network=self.rituals.network_info(with_settings=False), directory=self.people.view(),
                      channels=self.rituals.channel_infos(), log=await self.rituals.read_log(tx),
                      open_rituals=await self.rituals.open_summaries(tx, exclude=0),
                      # A kind's query (`decisions`) reads every decision, not a window.
                      register=await self.rituals.read_register(tx, decisions_only=True)
                      if q.parsed.spec.answer is not None else RegisterView(),
                      # `qui` reads who holds which role.
                      mandates=await self.rituals.read_mandates(tx)
                      if kind is not None and kind.reads_mandates else MandatesView())
        actions: list[Action]
        if q.parsed.spec.answer is not None:
            actions = list(q.parsed.spec.answer(ctx, q.member, q.parsed.args, tx.now))
        else:
            core = CoreQuery(q.parsed, q.member, q.channel, q.reply_to, self.router.grammar, ctx)
            actions = list(await answer_core(core, self.people, tx))
        await self.rituals.apply(tx, None, actions, f"q:{event_hash(ev)}", q.reply_to)

    async def _form_submitted(self, tx: Tx, ev: InboundChoice, spec: CommandSpec, member: Member, pid: int,
                              channel: str) -> None:
        """A form opened for a command was submitted: run the command with its fields."""
        kind = self.spec_kind.get(id(spec))
        if kind is None or spec.from_form is None or spec.route != "start":
            return
        if not self.people.is_member(pid):
            raise CommandError(Msg("core.cmd.not_member"))
        if spec.animateur_only and not member.is_animateur:
            raise CommandError(Msg("core.cmd.not_animateur",
                                   command=spec.localized_name(self.router.locale_of(member))))
        args = spec.from_form(ev.values)
        await self._start(tx, ev, Start(kind.name, [channel] if channel != "dm" else [],
                                        Started(by=member, channel=channel, params=args), reply_handle(ev)))

    async def _membership(self, tx: Tx, ev: InboundEvent, m: Membership, pid: int) -> None:
        changed = (await self.people.join(tx.unit, m.channel, pid, tx.now) if m.joined
                   else await self.people.leave(tx.unit, m.channel, pid))
        if not changed:
            return
        member = self.people.member(self.people.persons[pid])
        rituals = [r for r in [await self.rituals.load(tx, rid) for rid in m.ritual_ids]
                   if r is not None and r.status == "open"]
        # A member at once; asked once, privately, to complete their profile: by the ritual
        # that greets them, in its own private message (one message), or else by the engine.
        greeter = next((r for r in rituals if m.joined and (k := self.registry.kinds.get(r.kind)) and k.greets), None)
        lines = await invite_within(self.people, tx, pid) if greeter is not None else None
        if m.joined and greeter is None and (
                invitation := await invite(self.people, tx, pid, self.rituals.network.proper)) is not None:
            await self.rituals.apply(tx, None, [invitation], f"invite:{pid}", None)
        for ritual in rituals:
            event = (Joined(member=member, channel=m.channel, invitation=lines if ritual is greeter else None)
                     if m.joined else Left(member=member, channel=m.channel))
            await self.isolation.deliver_alone(tx, ritual, event, platform=ev.platform,
                                               event_id=f"{ev.event_id}#{ritual.id}")

    async def reply_error(self, tx: Tx, ev: InboundEvent, msg: Msg, privately: bool = False) -> None:
        """Answer the member whose event could not be run: beside their command or click, or
        (`privately`, for a reaction or a message) by direct message."""
        if not isinstance(ev, InboundCommand | InboundChoice) and not privately:
            log.warning("event %s rejected: %s", ev.event_id, msg.key)
            return
        pid = self.people.person_of(ev.platform, ev.account_scope, ev.sender)
        if pid is None or self.people.persons[pid].is_bot:
            log.warning("cannot answer %s: unknown sender", ev.event_id)
            return
        member_key = self.people.persons[pid].key
        if not isinstance(ev, InboundCommand | InboundChoice):
            await self.rituals.apply(tx, None, [DirectMessage(member=member_key, text=msg)], f"err:{event_hash(ev)}",
                                     None)
            return
        channel = "dm" if ev.is_direct else self.people.channel_key(ev.platform, ev.channel)
        if channel is None:
            return
        handle = reply_handle(ev)
        note = PrivateNote(member=member_key, channel=channel, text=msg, reply_to=handle)
        await self.rituals.apply(tx, None, [note], f"err:{event_hash(ev)}", handle)

