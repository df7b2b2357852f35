"""The store in memory: the same repositories as SQL, for engine tests without a database.

A write unit works on a copy of the data and replaces it on commit (a failed unit leaves
nothing); a savepoint is a copy taken on entry and restored if its block raises; readers see
the last commit. One write unit at a time, as SQLite's BEGIN IMMEDIATE does."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.kernel.refs import Ref
from bot.store.answer_rows import AnswerRow
from bot.store.memory_answers import AnswerTable, MemAnswers
from bot.store.memory_forget import MemForgetting
from bot.store.memory_mandates import MandateTable, MemMandates
from bot.store.memory_people import MemNetworks, MemPeople
from bot.store.memory_register import MemRegister, RegisterTables
from bot.store.rows import (
    AccountRow,
    ChannelRow,
    DeadLetterNew,
    LogRow,
    MessageRef,
    Origin,
    OutboxNew,
    OutboxRow,
    PersonRow,
    ReactionRow,
    RefDelivered,
    RitualRow,
    RitualSave,
    SentRecord,
    SourceRow,
    TimerRow,
    TimerSet,
)


@dataclass
class Data:
    """Every table, as Python values."""

    seq: int = 0
    networks: dict[int, dict[str, Any]] = field(default_factory=dict)
    channels: dict[int, tuple[int, ChannelRow]] = field(default_factory=dict)
    persons: dict[int, tuple[int, PersonRow]] = field(default_factory=dict)
    accounts: dict[int, tuple[int, AccountRow, str | None]] = field(default_factory=dict)
    members: set[tuple[int, int]] = field(default_factory=set)
    roles: set[tuple[int, str, int]] = field(default_factory=set)
    sources: dict[tuple[int, str, str], SourceRow] = field(default_factory=dict)
    rituals: dict[int, tuple[int, RitualRow]] = field(default_factory=dict)
    timers: dict[int, tuple[int, TimerRow]] = field(default_factory=dict)
    refs: dict[tuple[int, Ref, str], tuple[int, RefDelivered]] = field(default_factory=dict)
    contents: dict[tuple[int, Ref, str], tuple[str, str | None]] = field(default_factory=dict)
    inbound: set[tuple[str, str]] = field(default_factory=set)
    reactions: dict[tuple[str, str], ReactionRow] = field(default_factory=dict)
    replies: dict[tuple[int, int], tuple[int, Ref]] = field(default_factory=dict)
    outbox: dict[int, dict[str, Any]] = field(default_factory=dict)
    log: list[tuple[int, LogRow]] = field(default_factory=list)
    dead: dict[tuple[str, str], tuple[int, DeadLetterNew]] = field(default_factory=dict)
    kv: dict[tuple[str, str], Any] = field(default_factory=dict)
    register: RegisterTables = field(default_factory=RegisterTables)
    answers: AnswerTable = field(default_factory=AnswerTable)
    mandates: MandateTable = field(default_factory=MandateTable)

    def next_id(self) -> int:
        self.seq += 1
        return self.seq


class _Repo:
    def __init__(self, unit: MemoryUnit) -> None:
        self.unit = unit

    @property
    def d(self) -> Data:
        return self.unit.data


class MemRituals(_Repo):
    async def create(self, network_id: int, kind: str, key: str | None, channels: list[str], state: dict[str, Any],
                     origin: Origin, now: datetime) -> RitualRow:
        number = 1 + max((r.number for n, r in self.d.rituals.values() if n == network_id and r.kind == kind),
                         default=0)
        rid = self.d.next_id()
        row = RitualRow(rid, kind, key or f"{kind}:{number}", number, "open", list(channels), copy.deepcopy(state),
                        0, origin)
        if any(n == network_id and r.key == row.key for n, r in self.d.rituals.values()):
            raise ValueError(f"ritual key {row.key} taken")
        self.d.rituals[rid] = (network_id, row)
        return row

    async def get(self, ritual_id: int, lock: bool = True) -> RitualRow | None:
        found = self.d.rituals.get(ritual_id)
        return None if found is None else copy.deepcopy(found[1])

    async def get_with_answers(self, ritual_id: int, person_id: int) -> tuple[RitualRow | None, list[AnswerRow]]:
        return await self.get(ritual_id), await self.unit.answers.current(ritual_id, person_id)

    async def get_many(self, ritual_ids: Sequence[int]) -> list[RitualRow]:
        return [copy.deepcopy(self.d.rituals[i][1]) for i in sorted(set(ritual_ids)) if i in self.d.rituals]

    def _of(self, network_id: int) -> list[RitualRow]:
        return [copy.deepcopy(r) for n, r in self.d.rituals.values() if n == network_id]

    async def by_key(self, network_id: int, key: str) -> RitualRow | None:
        return next((r for r in self._of(network_id) if r.key == key), None)

    async def configured(self, network_id: int) -> list[RitualRow]:
        return [r for r in self._of(network_id) if r.origin == "config"]

    async def open(self, network_id: int, kinds: Sequence[str] | None = None) -> list[RitualRow]:
        rows = [r for r in self._of(network_id) if r.status == "open" and (kinds is None or r.kind in kinds)]
        return sorted(rows, key=lambda r: -r.id)

    async def open_by_number(self, network_id: int, kind: str, number: int) -> RitualRow | None:
        return next((r for r in await self.open(network_id, [kind]) if r.number == number), None)

    async def of_kind(self, network_id: int, kind: str, origins: Sequence[Origin]) -> list[RitualRow]:
        return sorted((r for r in self._of(network_id) if r.kind == kind and r.origin in origins), key=lambda r: r.id)

    async def reopen(self, ritual_id: int, kind: str, state: dict[str, Any], now: datetime) -> None:
        n, r = self.d.rituals[ritual_id]
        self.d.rituals[ritual_id] = (n, replace(r, status="open", kind=kind, state=copy.deepcopy(state)))

    async def retire(self, ritual_id: int, now: datetime) -> None:
        n, r = self.d.rituals[ritual_id]
        self.d.rituals[ritual_id] = (n, replace(r, status="retired"))

    async def save(self, rows: Sequence[RitualSave], now: datetime) -> None:
        for s in rows:
            n, r = self.d.rituals[s.id]
            self.d.rituals[s.id] = (n, replace(r, state=copy.deepcopy(s.state), version=s.version, status=s.status,
                                               channels=list(s.channels)))

    async def states(self, network_id: int) -> list[dict[str, Any]]:
        return [r.state for r in self._of(network_id)]


class MemTimers(_Repo):
    async def replace(self, network_id: int, changes: Mapping[tuple[int, Ref], TimerSet | None]) -> None:
        for tid, (_, row) in list(self.d.timers.items()):
            if (row.ritual_id, row.name) in changes:
                del self.d.timers[tid]
        for s in changes.values():
            if s is not None:
                tid = self.d.next_id()
                self.d.timers[tid] = (network_id, TimerRow(tid, s.ritual_id, s.name, s.due_at, dict(s.payload)))

    async def clear(self, ritual_id: int) -> None:
        for tid, (_, row) in list(self.d.timers.items()):
            if row.ritual_id == ritual_id:
                del self.d.timers[tid]

    def _of(self, network_id: int) -> list[TimerRow]:
        return sorted((r for n, r in self.d.timers.values() if n == network_id), key=lambda r: (r.due_at, r.id))

    async def next_due(self, network_id: int) -> datetime | None:
        rows = self._of(network_id)
        return rows[0].due_at if rows else None

    async def take_due(self, network_id: int, now: datetime, limit: int) -> list[TimerRow]:
        rows = [r for r in self._of(network_id) if r.due_at <= now][:limit]
        for r in rows:
            del self.d.timers[r.id]
        return rows

    async def earliest_per_ritual(self, network_id: int) -> dict[int, datetime]:
        out: dict[int, datetime] = {}
        for r in self._of(network_id):
            out.setdefault(r.ritual_id, r.due_at)
        return out

    async def due_count(self, network_id: int, now: datetime) -> tuple[int, datetime | None]:
        rows = [r for r in self._of(network_id) if r.due_at <= now]
        return len(rows), rows[0].due_at if rows else None


class MemRefs(_Repo):
    async def find(self, network_id: int, platform: str, message_id: str) -> MessageRef | None:
        for n, r in self.d.refs.values():
            if n == network_id and r.platform == platform and r.platform_message_id == message_id:
                return MessageRef(r.ritual_id, r.ref, r.channel, dict(r.choices))
        return None

    async def platform_id(self, ritual_id: int | None, ref: Ref, channel: str) -> tuple[bool, str | None]:
        found = self.d.refs.get((ritual_id or 0, ref, channel))
        return (False, None) if found is None else (True, found[1].platform_message_id or None)

    async def delivered(self, network_id: int, rows: Sequence[RefDelivered]) -> None:
        for r in rows:
            self.d.refs[(r.ritual_id, r.ref, r.channel)] = (network_id, r)

    async def set_choices(self, ritual_id: int, ref: Ref, channel: str, choices: Mapping[str, str]) -> None:
        found = self.d.refs.get((ritual_id, ref, channel))
        if found is not None:
            self.d.refs[(ritual_id, ref, channel)] = (found[0], replace(found[1], choices=dict(choices)))

    async def content(self, ritual_id: int, ref: Ref, channel: str) -> tuple[str, str | None] | None:
        return self.d.contents.get((ritual_id, ref, channel))

    async def put_contents(self, rows: Mapping[tuple[int, Ref, str], tuple[str, str | None]]) -> None:
        self.d.contents.update(rows)


class MemInbound(_Repo):
    async def claim(self, keys: Sequence[tuple[str, str]], now: datetime) -> set[tuple[str, str]]:
        fresh = set(keys) - self.d.inbound
        self.d.inbound |= fresh
        return fresh

    async def claim_batch(self, network_id: int, keys: Sequence[tuple[str, str]], now: datetime
                          ) -> tuple[int, set[tuple[str, str]]]:
        return int(self.d.networks[network_id]["version"]), await self.claim(keys, now)

    async def seen(self, platform: str, event_ids: Sequence[str]) -> set[str]:
        return {e for e in event_ids if (platform, e) in self.d.inbound}

    async def add_reactions(self, rows: Sequence[ReactionRow]) -> None:
        for r in rows:
            self.d.reactions.setdefault((r.platform, r.reaction_id), r)

    async def reaction(self, platform: str, reaction_id: str) -> ReactionRow | None:
        return self.d.reactions.get((platform, reaction_id))

    async def expect_reply(self, network_id: int, person_id: int, ritual_id: int, ref: Ref) -> None:
        self.d.replies[(network_id, person_id)] = (ritual_id, ref)

    async def expected_reply(self, network_id: int, person_id: int) -> tuple[int, Ref] | None:
        return self.d.replies.get((network_id, person_id))

    async def forget_replies(self, ritual_id: int) -> None:
        self.d.replies = {k: v for k, v in self.d.replies.items() if v[0] != ritual_id}


class MemOutbox(_Repo):
    async def add(self, network_id: int, rows: Sequence[OutboxNew]) -> None:
        for r in rows:
            if any(o["idem_key"] == r.idem_key for o in self.d.outbox.values()):
                raise ValueError(f"outbox key {r.idem_key} taken")
            oid = self.d.next_id()
            self.d.outbox[oid] = {"network_id": network_id, "ritual_id": r.ritual_id, "idem_key": r.idem_key,
                                  "platform": r.platform, "action": copy.deepcopy(r.action), "route": dict(r.route),
                                  "status": "pending", "attempts": 0, "created_at": r.created_at,
                                  "not_before": r.created_at, "claimed_by": None, "claimed_until": None}

    def _row(self, oid: int) -> OutboxRow:
        o = self.d.outbox[oid]
        return OutboxRow(oid, o["ritual_id"], o["idem_key"], o["platform"], copy.deepcopy(o["action"]),
                         dict(o["route"]), o["attempts"], o["created_at"])

    def _pending(self, network_id: int, held_back: Sequence[str]) -> list[int]:
        return sorted(i for i, o in self.d.outbox.items() if o["network_id"] == network_id
                      and o["status"] == "pending" and o["platform"] not in held_back)

    async def claim(self, network_id: int, now: datetime, held_back: Sequence[str], holder: str,
                    until: datetime, limit: int) -> list[OutboxRow]:
        ids = [i for i in self._pending(network_id, held_back) if self.d.outbox[i]["not_before"] <= now and (
            self.d.outbox[i]["claimed_until"] is None or self.d.outbox[i]["claimed_until"] < now)][:limit]
        for i in ids:
            self.d.outbox[i].update(claimed_by=holder, claimed_until=until)
        return [self._row(i) for i in ids]

    async def release(self, ids: Sequence[int], holder: str) -> None:
        for i in ids:
            if self.d.outbox[i]["claimed_by"] == holder:
                self.d.outbox[i].update(claimed_by=None, claimed_until=None)

    async def mark(self, outbox_id: int, status: str, now: datetime, error: str | None) -> None:
        self.d.outbox[outbox_id].update(status=status, sent_at=now, error=error)

    async def retry_later(self, outbox_id: int, attempts: int, not_before: datetime, error: str) -> None:
        self.d.outbox[outbox_id].update(attempts=attempts, not_before=not_before, error=error, claimed_by=None,
                                        claimed_until=None)

    async def sent(self, records: Sequence[SentRecord]) -> None:
        for r in records:
            self.d.outbox[r.outbox_id].update(status="sent", sent_at=r.sent_at, attempts=r.attempts, error=None)
            if r.purge:
                del self.d.outbox[r.outbox_id]

    async def next_times(self, network_id: int, held_back: Sequence[str], limit: int = 50
                         ) -> list[tuple[datetime, datetime | None]]:
        rows = [(self.d.outbox[i]["not_before"], self.d.outbox[i]["claimed_until"])
                for i in self._pending(network_id, held_back)]
        return sorted(rows, key=lambda r: r[0])[:limit]

    async def pending_of(self, ritual_id: int | None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(copy.deepcopy(o["action"]), dict(o["route"])) for o in self.d.outbox.values()
                if o["ritual_id"] == ritual_id and o["status"] == "pending"]

    async def pending_stats(self, network_id: int) -> tuple[int, datetime | None]:
        times = [self.d.outbox[i]["created_at"] for i in self._pending(network_id, ())]
        return len(times), min(times, default=None)

    async def due_count(self, network_id: int, now: datetime) -> int:
        return sum(1 for i in self._pending(network_id, ()) if self.d.outbox[i]["not_before"] <= now)


class MemJournal(_Repo):
    async def record(self, network_id: int, ritual_id: int | None, ritual_kind: str, ritual_number: int,
                     at: datetime, kind: str, summary: Mapping[str, Any]) -> None:
        self.d.log.append((network_id, LogRow(at, kind, ritual_kind, ritual_number, copy.deepcopy(dict(summary)))))

    async def since(self, network_id: int, at: datetime) -> list[LogRow]:
        return [r for n, r in self.d.log if n == network_id and r.at >= at]

    async def count(self, network_id: int) -> int:
        return sum(1 for n, _ in self.d.log if n == network_id)

    async def dead_letter(self, network_id: int, letter: DeadLetterNew) -> bool:
        key = (letter.platform, letter.event_id)
        if key in self.d.dead:
            return False
        self.d.dead[key] = (network_id, letter)
        return True

    async def dead_letter_count(self, network_id: int) -> int:
        return sum(1 for n, _ in self.d.dead.values() if n == network_id)


class MemSettings(_Repo):
    async def get(self, namespace: str, key: str) -> Any | None:
        return copy.deepcopy(self.d.kv.get((namespace, key)))

    async def put(self, namespace: str, key: str, value: Any, now: datetime) -> None:
        self.d.kv[(namespace, key)] = copy.deepcopy(value)


class MemoryUnit:
    """`bot.store.ports.Unit` on a copy of the data."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.networks = MemNetworks(self)
        self.people = MemPeople(self)
        self.rituals = MemRituals(self)
        self.timers = MemTimers(self)
        self.refs = MemRefs(self)
        self.inbound = MemInbound(self)
        self.outbox = MemOutbox(self)
        self.journal = MemJournal(self)
        self.settings = MemSettings(self)
        self.register = MemRegister(self)
        self.answers = MemAnswers(self)
        self.mandates = MemMandates(self)
        self.forgetting = MemForgetting(self)

    @property
    def answer_table(self) -> AnswerTable:
        return self.data.answers

    @property
    def mandate_table(self) -> MandateTable:
        return self.data.mandates

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        saved = copy.deepcopy(self.data)
        try:
            yield
        except BaseException:
            self.data = saved
            raise

    async def probe(self) -> None:
        return None

    async def serialize(self, name: str) -> None:
        return None


class MemoryStore:
    """`bot.store.ports.StorePort` in memory."""

    def __init__(self) -> None:
        self.data = Data()
        self._writer = asyncio.Lock()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[MemoryUnit]:
        async with self._writer:
            unit = MemoryUnit(copy.deepcopy(self.data))
            yield unit
            self.data = unit.data

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[MemoryUnit]:
        yield MemoryUnit(self.data)

    def writing(self) -> AbstractAsyncContextManager[MemoryUnit]:
        return self.unit()
