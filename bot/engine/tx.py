"""One transaction of the engine: the rituals it loaded and what it decided, written together."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from bot.kernel.refs import Ref
from bot.store.answer_rows import AnswerKey, AnswerNew, AnswerOp, AnswerRow
from bot.store.ports import Unit
from bot.store.rows import Origin, OutboxNew, ReactionRow, RitualSave, TimerSet


@dataclass
class Ritual:
    """A ritual as loaded in a transaction: its state is the scenario's model."""

    id: int
    kind: str
    key: str
    number: int
    status: str
    channels: list[str]
    state: BaseModel
    version: int
    origin: Origin
    dirty: bool = False

    def save(self) -> RitualSave:
        return RitualSave(self.id, self.state.model_dump(mode="json"), self.version, self.status,
                          list(self.channels))


ContentKey = tuple[int, Ref, str]
"""(ritual, ref, channel) of a ritual's message."""


@dataclass
class Tx:
    """What one transaction accumulates before it commits."""

    unit: Unit
    now: datetime
    rituals: dict[int, Ritual] = field(default_factory=dict)
    reactions: list[ReactionRow] = field(default_factory=list)
    reaction_index: dict[tuple[str, str], tuple[str, str, str]] = field(default_factory=dict)
    event_now: datetime | None = None
    """When the event being routed happened, if earlier than `now` (a backlog delivered
    after a restart): rituals judge it by that instant, not by the time it reached us."""
    outbox: int = 0
    timers_changed: bool = False
    outbox_rows: list[OutboxNew] = field(default_factory=list)
    """Outbox entries written together at flush, in the order they were decided."""
    timer_ops: dict[tuple[int, Ref], TimerSet | None] = field(default_factory=dict)
    """(ritual, timer name) → the timer to set, or None to cancel; written together at flush."""
    contents: dict[ContentKey, tuple[str, str | None]] = field(default_factory=dict)
    """What each ritual message says as decided in this transaction (text and choices hashes)."""
    answer_ops: list[AnswerOp] = field(default_factory=list)
    """Answers recorded (and made anonymous) in this transaction, in order, written together
    (`bot.engine.answers` overlays them on what it reads meanwhile)."""
    prefetched: tuple[int, int, list[AnswerRow]] | None = None
    """(ritual, person, their current answers there) read with the ritual by the event being
    handled, for its own delivery to use instead of reading them again; never kept past it."""
    answers_read: AnswersRead | None = None
    """Whose current answers the ritual being delivered was given, as this transaction saw
    them: an answer it records to a question none of them answers supersedes nothing."""

    @property
    def when(self) -> datetime:
        return self.event_now or self.now

    def mark(self) -> Mark:
        """What this transaction holds in memory before one event: restored if the event
        fails, so its savepoint's rollback and our memory agree."""
        return Mark(
            rituals={rid: (r.state, r.version, r.dirty, list(r.channels), r.status)
                     for rid, r in self.rituals.items()},
            reactions=len(self.reactions), reaction_index=dict(self.reaction_index),
            outbox=self.outbox, timers_changed=self.timers_changed,
            # Copies, not lengths: a read inside the event may have written (and so cleared)
            # the pending rows within the savepoint that is about to be rolled back.
            outbox_rows=list(self.outbox_rows), timer_ops=dict(self.timer_ops), contents=dict(self.contents),
            answer_ops=list(self.answer_ops))

    def restore(self, mark: Mark) -> None:
        for rid in list(self.rituals):
            if rid not in mark.rituals:
                del self.rituals[rid]  # loaded (and locked) by the failed event only: read again
                continue
            r = self.rituals[rid]
            r.state, r.version, r.dirty, channels, r.status = mark.rituals[rid]
            r.channels = list(channels)
        del self.reactions[mark.reactions:]
        self.reaction_index = mark.reaction_index
        self.outbox = mark.outbox
        self.timers_changed = mark.timers_changed
        self.outbox_rows = mark.outbox_rows
        self.timer_ops = mark.timer_ops
        self.contents = mark.contents
        self.answer_ops = mark.answer_ops

    async def write_pending(self, network_id: int) -> None:
        """Write the outbox entries, timer changes and message contents decided so far, a
        few statements for the whole transaction rather than some per action (a storm of
        reminders is hundreds of them); done at flush, and before anything in the
        transaction reads those tables."""
        if self.timer_ops:
            await self.unit.timers.replace(network_id, self.timer_ops)
            self.timer_ops = {}
        if self.outbox_rows:
            await self.unit.outbox.add(network_id, self.outbox_rows)
            self.outbox_rows = []
        if self.contents:
            await self.unit.refs.put_contents(self.contents)
            self.contents = {}
        await self.write_answers(network_id)

    async def write_answers(self, network_id: int) -> None:
        """The answers recorded so far: a few statements for a batch of events, in order."""
        ops, self.answer_ops = self.answer_ops, []
        run: list[AnswerNew] = []
        for op in ops:
            if isinstance(op, AnswerNew):
                run.append(op)
                continue
            await self.unit.answers.record(network_id, run)
            run = []
            if op.drop:
                await self.unit.answers.drop(op.ritual_id, op.topic)
            else:
                await self.unit.answers.anonymize(op.ritual_id, op.topic)
        await self.unit.answers.record(network_id, run)

    async def flush(self, network_id: int) -> None:
        await self.write_pending(network_id)
        if self.reactions:
            await self.unit.inbound.add_reactions(self.reactions)
            self.reactions.clear()
        dirty = [r for r in self.rituals.values() if r.dirty]
        if dirty:
            await self.unit.rituals.save([r.save() for r in dirty], self.now)
        for r in dirty:
            r.dirty = False


@dataclass(frozen=True)
class AnswersRead:
    """The current answers read for one delivery: of one person (or everyone: None), in one
    part (or all: None), and the (person, question) pairs they hold."""

    ritual_id: int
    person_id: int | None
    part: int | None
    held: frozenset[tuple[int | None, AnswerKey]]

    def covers(self, ritual_id: int, person_id: int, key: AnswerKey) -> bool:
        """Whether this read says for sure that the person had no current answer to `key`."""
        return (ritual_id == self.ritual_id and self.person_id in (None, person_id)
                and self.part in (None, key.part) and (person_id, key) not in self.held)


@dataclass
class Mark:
    rituals: dict[int, tuple[BaseModel, int, bool, list[str], str]]
    reactions: int
    reaction_index: dict[tuple[str, str], tuple[str, str, str]]
    outbox: int
    timers_changed: bool
    outbox_rows: list[OutboxNew]
    timer_ops: dict[tuple[int, Ref], TimerSet | None]
    contents: dict[ContentKey, tuple[str, str | None]]
    answer_ops: list[AnswerOp]
