"""The engine: routes each event to its ritual, commits state, outbox and timers together, then sends."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import signal
import socket
import traceback
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from pydantic import BaseModel
from sqlalchemy import bindparam, delete, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.adapter import Adapter, Delivery, Outgoing, PermanentError, TransientError
from bot.config import Config
from bot.engine.core_commands import CORE_COMMANDS, CoreQuery, answer_core
from bot.kernel import emoji
from bot.kernel.clock import Clock
from bot.kernel.commands import CommandError, CommandSpec, Grammar, Parsed
from bot.kernel.i18n import Msg, normalize_locale
from bot.kernel.model import (
    OUTBOUND,
    Action,
    CancelTimer,
    Chose,
    Command,
    DirectMessage,
    Edit,
    Event,
    Finish,
    InboundChoice,
    InboundCommand,
    InboundEvent,
    InboundMembership,
    InboundMessage,
    InboundReaction,
    Joined,
    Left,
    Member,
    OpenForm,
    Post,
    PrivateNote,
    React,
    Reacted,
    Record,
    Replied,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import (
    Capabilities,
    ChannelInfo,
    Context,
    Directory,
    LogEntry,
    NetworkInfo,
    Registry,
    RitualKind,
    RitualSummary,
)
from bot.logs import log_context, ritual_label
from bot.store import Store
from bot.store import schema as t

log = logging.getLogger("maillage.engine")

LOG_WINDOW = timedelta(days=90)
MAX_BACKDATE = timedelta(days=7)
OUTBOX_CLAIM = timedelta(seconds=60)
"""How long a process owns the outbox entries it took; a process that dies loses them then."""
COMMAND_BURST = 10
COMMAND_EVERY = timedelta(seconds=6)
"""How far back a platform's own timestamp of an event is trusted over the time we receive it."""
"""How far back `ctx.log` reaches for kinds that read it (digest, rotation of draws)."""


P = ParamSpec("P")
R = TypeVar("R")


def _network_scoped(
    fn: Callable[Concatenate[Engine, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Engine, P], Coroutine[Any, Any, R]]:
    """Every log line written while the engine works names its network."""

    async def wrapper(self: Engine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with log_context(network=self.network.name):
            return await fn(self, *args, **kwargs)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


class _Refused(Exception):
    """A ritual refused the launch that created it; what it answered the member."""

    def __init__(self, answers: Sequence[Action]) -> None:
        super().__init__("refused")
        self.answers = list(answers)


TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
"""Errors that say the store (or the way to it) failed, not the event."""


async def deterministic(conn: AsyncConnection, exc: BaseException) -> bool:
    """Whether a failure belongs to the event (it would fail again: set it aside) rather than
    to the store (retry the whole batch later). When in doubt, ask the store itself: if it
    still answers on this transaction, the event was the problem."""
    if isinstance(exc, TRANSIENT) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return False
    try:
        await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def _digest(value: Any) -> str:
    body = json.dumps(value.model_dump(mode="json") if isinstance(value, BaseModel) else
                      [v.model_dump(mode="json") for v in value], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _redacted(ev: InboundEvent) -> dict[str, Any]:
    """The event as kept with its dead letter: what reproduces it, not the platform's
    one-time reply credentials (Slack's response_url)."""
    return ev.model_dump(mode="json", exclude={"reply_handle"})


@dataclass
class Person:
    id: int
    key: str
    name: str
    organisation: str | None
    attributes: dict[str, str]
    locale: str | None
    opted_out: bool
    is_bot: bool
    accounts: list[tuple[str, str, str]] = field(default_factory=list)
    """(platform, scope, user_id), in creation order: the first is where DMs go."""


@dataclass
class Channel:
    id: int
    key: str
    platform: str
    platform_id: str
    name: str


@dataclass
class Ritual:
    id: int
    kind: str
    key: str
    number: int
    status: str
    channels: list[str]
    state: BaseModel
    version: int
    dirty: bool = False


@dataclass
class _Tx:
    """What one transaction accumulates before it commits."""

    conn: AsyncConnection
    now: datetime
    rituals: dict[int, Ritual] = field(default_factory=dict)
    reactions: list[dict[str, str]] = field(default_factory=list)
    reaction_index: dict[tuple[str, str], tuple[str, str, str]] = field(default_factory=dict)
    event_now: datetime | None = None
    """When the event being routed happened, if earlier than `now` (a backlog delivered
    after a restart): rituals judge it by that instant, not by the time it reached us."""
    outbox: int = 0
    timers_changed: bool = False
    outbox_rows: list[dict[str, Any]] = field(default_factory=list)
    """Outbox entries written together at flush, in the order they were decided."""
    timer_ops: dict[tuple[int, str], dict[str, Any] | None] = field(default_factory=dict)
    """(ritual, timer name) → the row to set, or None to cancel; written together at flush."""
    contents: dict[tuple[int, str, str], tuple[str, str | None]] = field(default_factory=dict)
    """What each ritual message says as decided in this transaction (text and choices hashes)."""

    def mark(self) -> _Mark:
        """What this transaction holds in memory before one event: restored if the event
        fails, so its savepoint's rollback and our memory agree."""
        return _Mark(
            rituals={rid: (r.state, r.version, r.dirty, list(r.channels), r.status)
                     for rid, r in self.rituals.items()},
            reactions=len(self.reactions), reaction_index=dict(self.reaction_index),
            outbox=self.outbox, timers_changed=self.timers_changed,
            # Copies, not lengths: a read inside the event may have written (and so cleared)
            # the pending rows within the savepoint that is about to be rolled back.
            outbox_rows=list(self.outbox_rows), timer_ops=dict(self.timer_ops), contents=dict(self.contents))

    def restore(self, mark: _Mark) -> None:
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


@dataclass
class _Mark:
    rituals: dict[int, tuple[BaseModel, int, bool, list[str], str]]
    reactions: int
    reaction_index: dict[tuple[str, str], tuple[str, str, str]]
    outbox: int
    timers_changed: bool
    outbox_rows: list[dict[str, Any]]
    timer_ops: dict[tuple[int, str], dict[str, Any] | None]
    contents: dict[tuple[int, str, str], tuple[str, str | None]]


FIRE_LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass
class FireLag:
    """How late timers fired (commit of the firing minus the due time): a histogram for
    /metrics, cumulative since the process started."""

    buckets: list[int] = field(default_factory=lambda: [0] * len(FIRE_LAG_BUCKETS))
    count: int = 0
    total: float = 0.0

    def observe(self, committed: datetime, due: Sequence[datetime]) -> None:
        for at in due:
            lag = max(0.0, (committed - at).total_seconds())
            self.count += 1
            self.total += lag
            for i, bound in enumerate(FIRE_LAG_BUCKETS):
                if lag <= bound:
                    self.buckets[i] += 1


class Engine:
    """One network's engine. Inbound events are committed (deduplicated, routed, handled, with
    new state, outbox rows, timers and log lines) in one transaction before `submit` returns;
    the outbox is performed after the commit, idempotently."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        config: Config,
        clock: Clock,
        adapters: Mapping[str, Adapter] | None = None,
        batch_size: int = 256,
        fault: str | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.config = config
        self.clock = clock
        self.adapters: dict[str, Adapter] = dict(adapters or {})
        self.batch_size = batch_size
        specs: list[CommandSpec] = list(CORE_COMMANDS)
        self._spec_kind: dict[int, RitualKind[Any]] = {}
        for kind, spec in registry.commands():
            specs.append(spec)
            self._spec_kind[id(spec)] = kind
        self.grammar = Grammar(specs)
        self._form_specs = {spec.form: spec for spec in specs if spec.form and spec.from_form}
        net = config.network
        self.network = NetworkInfo(
            name=net.name, locale=net.locale, timezone=net.timezone, charter=net.charter
        )
        self.network_id = 0
        self.persons: dict[int, Person] = {}
        self.person_by_key: dict[str, int] = {}
        self.account_index: dict[tuple[str, str, str], int] = {}
        self.channels: dict[str, Channel] = {}
        self.channel_by_platform: dict[tuple[str, str], str] = {}
        self.members_of: dict[str, set[int]] = {}
        self.roles: dict[str, set[int]] = {}
        self._directory: Directory | None = None
        self._dir_version = -1
        """The store's directory_version our in-memory directory reflects (-1: reload)."""
        self._declared = frozenset(m.id for m in config.file.members)
        self._refs: dict[tuple[str, str], tuple[int, str, str, dict[str, str]]] = {}
        self._sent_refs: dict[tuple[int, str, str], str] = {}
        """(ritual, ref, channel) → platform id of messages sent in the batch being recorded."""
        self._unrecorded: list[tuple[Any, Any, Outgoing, Delivery, datetime]] = []
        self._buckets: dict[int, tuple[float, datetime]] = {}
        self._teams = {c.id: c.team or "" for c in config.file.channels}
        self._queue: asyncio.Queue[tuple[InboundEvent, asyncio.Future[bool]]] = asyncio.Queue()
        self._write_lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox_ready = asyncio.Event()
        self.on_timers_changed: list[Any] = []
        self.fire_lag = FireLag()
        self.on_fired: list[Callable[[datetime, Sequence[datetime]], None]] = [self.fire_lag.observe]
        """Called after each commit of fired timers with the commit time and their due times
        (the fire-lag histogram of /metrics and the scale benchmark read it)."""
        self.process_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.fault = fault
        """Test hook, injected by a test's composition: "after_commit" or "after_send" kills the
        process (SIGKILL) at that point."""
        self.stats: dict[str, int] = {"handled": 0, "duplicates": 0, "sent": 0, "timers": 0, "batches": 0,
                                      "dead_letters": 0}
        self._dir_generation = 0
        """Bumped whenever the in-memory directory changes: an event rolled back after changing
        it makes the engine read the directory again."""

    # ------------------------------------------------------------------ boot

    @_network_scoped
    async def boot(self) -> None:
        """Bring the store in line with the config and load the directory into memory."""
        now = self.clock.now()
        cfg = self.config.file
        async with self._write_lock, self.store.transaction() as conn:
            await self._boot_lock(conn)
            row = (await conn.execute(select(t.networks.c.id).where(t.networks.c.name == cfg.network.name))).first()
            if row is None:
                res = await conn.execute(insert(t.networks).values(name=cfg.network.name, created_at=now))
                self.network_id = int(res.inserted_primary_key[0])  # type: ignore[index]
            else:
                self.network_id = int(row[0])
            await self._sync_channels(conn)
            await self._sync_people(conn, now)
            await self.bump_directory(conn)
        await self._load_directory()
        await self._ensure_configured_rituals()

    async def _boot_lock(self, conn: AsyncConnection) -> None:
        """Processes starting together on one PostgreSQL bring the store in line with the
        config one after the other (the lock ends with the transaction)."""
        if self.store.is_postgres:
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                               {"name": f"maillage-boot:{self.config.network.name}"})

    async def _sync_channels(self, conn: AsyncConnection) -> None:
        existing = {r.key: r for r in (await conn.execute(
            select(t.channels).where(t.channels.c.network_id == self.network_id))).all()}
        for ch in self.config.file.channels:
            values = {"platform": ch.platform, "platform_id": ch.room, "name": ch.name or ch.id}
            if ch.id in existing:
                await conn.execute(update(t.channels).where(t.channels.c.id == existing[ch.id].id).values(**values))
            else:
                await conn.execute(insert(t.channels).values(network_id=self.network_id, key=ch.id, **values))

    async def _sync_people(self, conn: AsyncConnection, now: datetime) -> None:
        cfg = self.config.file
        persons = {r.key: r for r in (await conn.execute(
            select(t.persons).where(t.persons.c.network_id == self.network_id))).all()}
        for m in cfg.members:
            values = {"name": m.name or m.id, "organisation": m.organisation, "attributes": m.attributes,
                      "from_config": True}
            if m.locale:
                values["locale"] = m.locale
            if m.id in persons:
                pid = persons[m.id].id
                await conn.execute(update(t.persons).where(t.persons.c.id == pid).values(**values))
            else:
                res = await conn.execute(insert(t.persons).values(
                    network_id=self.network_id, key=m.id, created_at=now, opted_out=False, is_bot=False, **values))
                pid = int(res.inserted_primary_key[0])  # type: ignore[index]
            for acc in m.accounts:
                platform, _, user = acc.partition(":")
                scope = ""
                acc_row = (await conn.execute(select(t.accounts).where(
                    t.accounts.c.network_id == self.network_id, t.accounts.c.platform == platform,
                    t.accounts.c.scope == scope, t.accounts.c.user_id == user))).first()
                if acc_row is None:
                    await conn.execute(insert(t.accounts).values(
                        network_id=self.network_id, platform=platform, scope=scope, user_id=user, person_id=pid))
                elif acc_row.person_id != pid:
                    # The config links this account to a person now: follow it.
                    await conn.execute(update(t.accounts).where(t.accounts.c.id == acc_row.id).values(person_id=pid))
        # Roles come from the config; the table mirrors them for queries and other processes.
        await conn.execute(delete(t.roles).where(t.roles.c.network_id == self.network_id))
        person_ids = {r.key: r.id for r in (await conn.execute(
            select(t.persons.c.key, t.persons.c.id).where(t.persons.c.network_id == self.network_id))).all()}
        for role, people in cfg.roles.items():
            role_name = "animateur" if role in ("animateurs", "animateur") else role
            for who in people:
                pid2 = person_ids.get(who)
                if pid2 is None and ":" in who:
                    pid2 = await self._person_for_account(conn, who, now)
                if pid2 is not None:
                    await conn.execute(insert(t.roles).values(network_id=self.network_id, role=role_name, person_id=pid2)
                                       .prefix_with("OR IGNORE") if self.store.dialect == "sqlite" else
                                       pg_insert(t.roles).values(network_id=self.network_id, role=role_name,
                                                                 person_id=pid2).on_conflict_do_nothing())

    async def _person_for_account(self, conn: AsyncConnection, account: str, now: datetime) -> int:
        platform, _, user = account.partition(":")
        row = (await conn.execute(select(t.accounts.c.person_id).where(
            t.accounts.c.network_id == self.network_id, t.accounts.c.platform == platform,
            t.accounts.c.user_id == user))).first()
        if row is not None:
            return int(row[0])
        return await self._create_person(conn, platform, "", user, None, now)

    async def _create_person(self, conn: AsyncConnection, platform: str, scope: str, user: str,
                             display: str | None, now: datetime) -> int:
        key = f"{platform}:{scope + '/' if scope else ''}{user}"
        existing = (await conn.execute(select(t.persons.c.id).where(
            t.persons.c.network_id == self.network_id, t.persons.c.key == key))).first()
        if existing is None:
            # Another process may be creating the same person right now: its row wins.
            await conn.execute(self._insert(t.persons).values(
                network_id=self.network_id, key=key, name=display or user, attributes={}, opted_out=False,
                is_bot=False, from_config=False, created_at=now).on_conflict_do_nothing())
            existing = (await conn.execute(select(t.persons.c.id).where(
                t.persons.c.network_id == self.network_id, t.persons.c.key == key))).one()
        pid = int(existing[0])
        await conn.execute(self._insert(t.accounts).values(
            network_id=self.network_id, platform=platform, scope=scope, user_id=user, person_id=pid,
            display_name=display).on_conflict_do_nothing())
        await self.bump_directory(conn)
        return pid

    def _insert(self, table: Any) -> Any:
        return sqlite_insert(table) if self.store.dialect == "sqlite" else pg_insert(table)

    async def bump_directory(self, conn: AsyncConnection) -> None:
        """Record, in the transaction that changes people or channel members, that the
        directory moved on: other processes reload theirs before their next event. On
        PostgreSQL the row lock also orders such changes between processes."""
        new = int((await conn.execute(update(t.networks).where(t.networks.c.id == self.network_id).values(
            directory_version=t.networks.c.directory_version + 1).returning(
            t.networks.c.directory_version))).scalar_one())
        # Our memory already has this change; it lacks the others' if we skipped a number.
        self._dir_version = new if new == self._dir_version + 1 else -1
        self._dir_generation += 1

    async def _fresh_directory(self) -> None:
        """Reload the directory if another process changed it since we last looked."""
        async with self.store.read() as conn:
            version = (await conn.execute(select(t.networks.c.directory_version).where(
                t.networks.c.id == self.network_id))).scalar()
        if version != self._dir_version:
            await self._load_directory()

    async def _load_directory(self, within: AsyncConnection | None = None) -> None:
        """Read the directory into memory (within a transaction: as that transaction sees it)."""
        if within is not None:
            await self._read_directory(within)
        else:
            async with self.store.read() as conn:
                await self._read_directory(conn)

    async def _read_directory(self, conn: AsyncConnection) -> None:
        self._dir_version = int((await conn.execute(select(t.networks.c.directory_version).where(
            t.networks.c.id == self.network_id))).scalar_one())
        self.persons.clear()
        self.person_by_key.clear()
        self.account_index.clear()
        for r in (await conn.execute(select(t.persons).where(t.persons.c.network_id == self.network_id))).all():
            self.persons[r.id] = Person(r.id, r.key, r.name, r.organisation, dict(r.attributes or {}),
                                        r.locale, bool(r.opted_out), bool(r.is_bot))
            self.person_by_key[r.key] = r.id
        for r in (await conn.execute(select(t.accounts).where(
                t.accounts.c.network_id == self.network_id).order_by(t.accounts.c.id))).all():
            self.account_index[(r.platform, r.scope, r.user_id)] = r.person_id
            if r.person_id in self.persons:
                self.persons[r.person_id].accounts.append((r.platform, r.scope, r.user_id))
        self.channels.clear()
        self.channel_by_platform.clear()
        for r in (await conn.execute(select(t.channels).where(t.channels.c.network_id == self.network_id))).all():
            self.channels[r.key] = Channel(r.id, r.key, r.platform, r.platform_id, r.name or r.key)
            self.channel_by_platform[(r.platform, r.platform_id)] = r.key
        by_id = {c.id: c.key for c in self.channels.values()}
        self.members_of = {k: set() for k in self.channels}
        for r in (await conn.execute(select(t.channel_members).where(
                t.channel_members.c.channel_id.in_(list(by_id))))).all():
            self.members_of[by_id[r.channel_id]].add(r.person_id)
        self.roles = {}
        for r in (await conn.execute(select(t.roles).where(t.roles.c.network_id == self.network_id))).all():
            self.roles.setdefault(r.role, set()).add(r.person_id)
        self._directory = None
        self._dir_generation += 1

    @_network_scoped
    async def seed_members(self) -> None:
        """Ask each adapter who is in each bound channel (after a downtime people may have
        joined or left without us seeing the event)."""
        now = self.clock.now()
        for ch in self.channels.values():
            adapter = self.adapters.get(ch.platform)
            if adapter is None:
                continue
            try:
                present = await adapter.members(ch.platform_id)
            except Exception:  # a platform hiccup must not stop the boot
                log.warning("could not list members of channel %s", ch.key, exc_info=True)
                continue
            async with self._write_lock, self.store.transaction() as conn:
                keep: set[int] = set()
                for m in present:
                    pid = await self._ensure_account(conn, ch.platform, "", m.user_id, m.display_name, now)
                    if m.is_bot and not self.persons[pid].is_bot:
                        await conn.execute(update(t.persons).where(t.persons.c.id == pid).values(is_bot=True))
                        self.persons[pid].is_bot = True
                    keep.add(pid)
                    if pid not in self.members_of[ch.key]:
                        await conn.execute(self._insert(t.channel_members).values(
                            channel_id=ch.id, person_id=pid, joined_at=now).on_conflict_do_nothing())
                gone = self.members_of[ch.key] - keep
                if gone:
                    await conn.execute(delete(t.channel_members).where(
                        t.channel_members.c.channel_id == ch.id, t.channel_members.c.person_id.in_(list(gone))))
                if keep != self.members_of[ch.key]:
                    await self.bump_directory(conn)
            self.members_of[ch.key] = keep
            self._directory = None

    async def _ensure_configured_rituals(self) -> None:
        now = self.clock.now()
        cfg = self.config.file
        async with self._write_lock, self.store.transaction() as conn:
            await self._boot_lock(conn)
            tx = _Tx(conn, now)
            wanted = {f"cfg:{r.id}": r for r in cfg.rituals}
            rows = (await conn.execute(select(t.rituals.c.id, t.rituals.c.key, t.rituals.c.kind,
                                              t.rituals.c.status).where(
                t.rituals.c.network_id == self.network_id, t.rituals.c.key.like("cfg:%")))).all()
            every = {r.key: r for r in rows}
            present = {k: r for k, r in every.items() if r.status == "open"}
            for key, row in present.items():
                if key not in wanted or wanted[key].kind != row.kind:
                    # Removed from the config (or its kind changed): retire it and its timers.
                    await conn.execute(update(t.rituals).where(t.rituals.c.id == row.id).values(
                        status="retired", finished_at=now, updated_at=now))
                    await conn.execute(delete(t.timers).where(t.timers.c.ritual_id == row.id))
                    tx.timers_changed = True
            for key, entry in wanted.items():
                digest = self._options_digest(entry.id, entry.channels)
                first = entry.channels[0] if entry.channels else None
                if key in present and present[key].kind == entry.kind:
                    ritual = await self._load(tx, present[key].id)
                    if ritual is None:
                        continue
                    if ritual.channels != list(entry.channels):
                        # A configured ritual's channels are those of its entry, nothing else
                        # (earlier releases let an answer posted elsewhere add its channel).
                        ritual.channels = list(entry.channels)
                        ritual.dirty = True
                    if await self._options_changed(conn, ritual.id, digest, now):
                        # The config changed since this ritual started: tell it again, so a new
                        # series or a new time takes effect now, not at its next timer.
                        await self._deliver_alone(tx, ritual, Started(channel=first), platform="config",
                                                  event_id=f"start:{ritual.id}:{digest}")
                    continue
                former = every.get(key)
                if former is not None:
                    if former.status == "finished" and former.kind == entry.kind:
                        continue  # it ran to its end; the config does not make it run again
                    # Retired (removed from the config, or its kind changed) and now back: the
                    # same row reopens, keeping its number and its history.
                    await conn.execute(update(t.rituals).where(t.rituals.c.id == former.id).values(
                        status="open", kind=entry.kind, finished_at=None, updated_at=now,
                        state=self.registry.get(entry.kind).initial_state().model_dump(mode="json")))
                    ritual = await self._load(tx, former.id)
                    assert ritual is not None
                    ritual.channels = list(entry.channels)
                    ritual.dirty = True
                else:
                    ritual = await self._create_ritual(tx, entry.kind, key, list(entry.channels))
                await self._options_changed(conn, ritual.id, digest, now)
                await self._deliver_alone(tx, ritual, Started(channel=first), platform="config",
                                          event_id=f"start:{ritual.id}:{digest}")
            await self._flush(tx)
        self._after_commit(tx)

    def _options_digest(self, ritual_id: str, channels: Sequence[str]) -> str:
        body = json.dumps({"options": self.config.ritual_options.get(ritual_id, {}), "channels": list(channels)},
                          sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()

    async def _options_changed(self, conn: AsyncConnection, ritual_id: int, digest: str, now: datetime) -> bool:
        key = str(ritual_id)
        row = (await conn.execute(select(t.kv.c.value).where(t.kv.c.namespace == "ritual-options",
                                                             t.kv.c.key == key))).first()
        if row is not None and row[0] == digest:
            return False
        if row is None:
            await conn.execute(insert(t.kv).values(namespace="ritual-options", key=key, value=digest, updated_at=now))
        else:
            await conn.execute(update(t.kv).where(t.kv.c.namespace == "ritual-options", t.kv.c.key == key)
                               .values(value=digest, updated_at=now))
        return row is not None

    # ---------------------------------------------------------------- directory

    def directory(self) -> Directory:
        if self._directory is None:
            members = {p.key: self._member(p) for p in self.persons.values()}
            channel_members = {k: sorted(self.persons[i].key for i in ids if i in self.persons)
                               for k, ids in self.members_of.items()}
            groups: dict[str, list[str]] = {}
            for g, people in self.config.file.groups.items():
                keys: list[str] = []
                for who in people:
                    pid = self.person_by_key.get(who)
                    if pid is None and ":" in who:
                        platform, _, user = who.partition(":")
                        pid = self.account_index.get((platform, "", user))
                    if pid is not None:
                        keys.append(self.persons[pid].key)
                groups[g] = sorted(keys)
            self._directory = Directory(members=members, channel_members=channel_members, groups=groups)
        return self._directory

    def _member(self, p: Person, account: tuple[str, str, str] | None = None) -> Member:
        acc = account or (p.accounts[0] if p.accounts else ("", "", ""))
        return Member(
            key=p.key, name=p.name, account=f"{acc[0]}:{acc[2]}", organisation=p.organisation,
            attributes=p.attributes, locale=p.locale,
            is_animateur=p.id in self.roles.get("animateur", set()), is_bot=p.is_bot, opted_out=p.opted_out,
        )

    def _role_view(self) -> dict[str, list[str]]:
        return {role: sorted(self.persons[i].key for i in ids if i in self.persons) for role, ids in self.roles.items()}

    def capabilities(self, platform: str) -> Capabilities:
        adapter = self.adapters.get(platform)
        return adapter.capabilities if adapter else Capabilities()

    async def _ensure_account(self, conn: AsyncConnection, platform: str, scope: str, user: str,
                              display: str | None, now: datetime) -> int:
        pid = self.account_index.get((platform, scope, user))
        if pid is None and scope:
            pid = self.account_index.get((platform, "", user))
        if pid is not None:
            return pid
        pid = await self._create_person(conn, platform, scope, user, display, now)
        # Memory follows the store only for rows that are certainly committed or re-created
        # idempotently: a rolled-back person is recreated under the same key next time.
        self.persons[pid] = Person(pid, f"{platform}:{scope + '/' if scope else ''}{user}", display or user,
                                   None, {}, None, False, False, [(platform, scope, user)])
        self.person_by_key[self.persons[pid].key] = pid
        self.account_index[(platform, scope, user)] = pid
        self._directory = None
        return pid

    # ---------------------------------------------------------------- contexts

    async def _context(self, tx: _Tx, ritual: Ritual) -> Context:
        kind = self.registry.get(ritual.kind)
        if ritual.key.startswith("cfg:"):
            config = self.config.ritual_options.get(ritual.key[4:], {})
        else:
            config = self.config.kind_defaults.get(ritual.kind, {})
        entries: Sequence[LogEntry] = ()
        summaries: Sequence[RitualSummary] = ()
        if kind.reads_log:
            entries = await self._read_log(tx.conn, tx.now - LOG_WINDOW)
            summaries = await self._open_summaries(tx, exclude=ritual.id)
        network = NetworkInfo(name=self.network.name, locale=self.network.locale, timezone=self.network.timezone,
                              charter=self.network.charter, roles=self._role_view(),
                              settings=self.config.kind_defaults)
        return Context(network=network, directory=self.directory(), channels=self._channel_infos(), config=config,
                       ritual_channels=tuple(ritual.channels), ritual_id=ritual.id, number=ritual.number, log=entries, open_rituals=summaries)

    def _channel_infos(self) -> dict[str, ChannelInfo]:
        return {k: ChannelInfo(k, c.name, c.platform, self.capabilities(c.platform)) for k, c in self.channels.items()}

    async def _read_log(self, conn: AsyncConnection, since: datetime) -> list[LogEntry]:
        rows = (await conn.execute(select(t.log).where(t.log.c.network_id == self.network_id, t.log.c.at >= since)
                                   .order_by(t.log.c.id))).all()
        return [LogEntry(r.at, r.kind, r.ritual_kind, r.ritual_number, r.summary) for r in rows]

    async def _open_summaries(self, tx: _Tx, exclude: int) -> list[RitualSummary]:
        await self._write_pending(tx)
        rows = (await tx.conn.execute(select(t.rituals).where(
            t.rituals.c.network_id == self.network_id, t.rituals.c.status == "open"))).all()
        due = {r.ritual_id: r.due for r in (await tx.conn.execute(
            select(t.timers.c.ritual_id, func.min(t.timers.c.due_at).label("due"))
            .where(t.timers.c.network_id == self.network_id).group_by(t.timers.c.ritual_id))).all()}
        out: list[RitualSummary] = []
        for r in rows:
            if r.id == exclude or r.kind not in self.registry.kinds:
                continue
            kind = self.registry.get(r.kind)
            cached = tx.rituals.get(r.id)
            if cached is not None and cached.status != "open":
                continue  # finished earlier in this transaction: the store does not say so yet
            state = cached.state if cached else kind.state_type.model_validate(r.state)
            summary = kind.summarize(state)
            if summary is not None:
                out.append(RitualSummary(r.kind, r.number, r.status, summary, t.as_utc(due.get(r.id))))
        return out

    # ---------------------------------------------------------------- inbound

    async def submit(self, event: InboundEvent) -> bool:
        """The adapters' sink: returns once the event is committed (False: a duplicate)."""
        if not self._tasks:
            async with self._write_lock:
                result = await self._commit_batch([event])
            self._outbox_ready.set()
            return result[0]
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._queue.put((event, fut))
        return await fut

    async def _writer(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._write_lock:
                    results = await self._commit_batch([e for e, _ in batch])
            except Exception as exc:  # the store is down: every waiter hears it, none is acked
                self._dir_version = -1  # memory may hold changes that were rolled back
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)
            self._outbox_ready.set()

    @_network_scoped
    async def _commit_batch(self, events: Sequence[InboundEvent]) -> list[bool]:
        await self._fresh_directory()
        now = self.clock.now()
        results: list[bool] = []
        self.stats["batches"] += 1
        async with self.store.transaction() as conn:
            tx = _Tx(conn, now)
            fresh = await self._claim_events(conn, events, now)
            for i, ev in enumerate(events):
                if i not in fresh:
                    self.stats["duplicates"] += 1
                    results.append(False)
                    continue
                tx.event_now = ev.at if ev.at is not None and now - MAX_BACKDATE < ev.at < now else None
                await self._isolated(tx, ev)
                tx.event_now = None
                results.append(True)
                self.stats["handled"] += 1
            await self._flush(tx)
        if self.fault == "after_commit" and tx.outbox:
            os.kill(os.getpid(), signal.SIGKILL)
        self._after_commit(tx)
        return results

    async def _isolated(self, tx: _Tx, ev: InboundEvent) -> None:
        """Handle one event of a batch in a savepoint of its own: a refused command leaves
        nothing but its answer; an event that fails deterministically is rolled back alone,
        recorded as a dead letter and answered, and the rest of the batch commits. Only the
        store failing (a transient error) fails the batch, which is then not acknowledged."""
        try:
            async with tx.conn.begin_nested():
                # The sender is a fact of the directory whatever becomes of their event.
                pid = await self._ensure_account(tx.conn, ev.platform, ev.account_scope, ev.sender,
                                                 ev.sender_name, tx.now)
        except Exception as exc:
            await self._failed(tx, ev, exc, None, None)
            return
        mark = tx.mark()
        generation = self._dir_generation
        try:
            async with tx.conn.begin_nested():
                await self._route(tx, ev, pid)
        except CommandError as err:
            await self._rolled_back(tx, mark, generation)
            await self._reply_error(tx, ev, err.msg)
        except Exception as exc:
            await self._failed(tx, ev, exc, mark, generation)

    async def _rolled_back(self, tx: _Tx, mark: _Mark, generation: int) -> None:
        tx.restore(mark)
        if self._dir_generation != generation:
            # The event changed the directory in memory: read it again, as the transaction
            # now sees it.
            await self._load_directory(tx.conn)

    async def _failed(self, tx: _Tx, ev: InboundEvent, exc: Exception, mark: _Mark | None,
                      generation: int | None) -> None:
        if not await deterministic(tx.conn, exc):
            raise exc
        if mark is not None and generation is not None:
            await self._rolled_back(tx, mark, generation)
        log.error("event %s from %s failed and is set aside as a dead letter", ev.event_id, ev.platform,
                  exc_info=exc)
        fresh = await self._dead_letter(tx, ev.platform, ev.event_id, ev.kind, exc, sender=ev.sender,
                                        channel=ev.channel, event=_redacted(ev))
        if fresh and not isinstance(ev, InboundMembership):
            await self._reply_error(tx, ev, Msg("core.cmd.dead_letter"), privately=True)

    async def _dead_letter(self, tx: _Tx, platform: str, event_id: str, kind: str, exc: BaseException, *,
                           sender: str | None = None, channel: str | None = None,
                           event: Mapping[str, Any] | None = None) -> bool:
        """Record a failure once (by platform and event id); False if it was already known."""
        detail = "".join(traceback.format_exception(exc))[-8000:]
        res = await tx.conn.execute(self._insert(t.dead_letters).values(
            network_id=self.network_id, platform=platform, event_id=event_id[:255], kind=kind[:20],
            sender=(sender or "")[:255] or None, channel=(channel or "")[:255] or None,
            error=f"{type(exc).__name__}: {exc}"[:2000], detail=detail, event=dict(event or {}),
            at=tx.now).on_conflict_do_nothing())
        self.stats["dead_letters"] += res.rowcount or 0
        return bool(res.rowcount)

    async def _claim_events(self, conn: AsyncConnection, events: Sequence[InboundEvent], now: datetime) -> set[int]:
        """Deduplicate by the platform's event id with the database's unique key (one statement
        for the whole batch), so retries, sync replays and other processes all see one owner.
        Returns the indices of the events that are new."""
        first: dict[tuple[str, str], int] = {}
        for i, ev in enumerate(events):
            first.setdefault((ev.platform, ev.event_id), i)
        ins = sqlite_insert(t.inbound_events) if self.store.dialect == "sqlite" else pg_insert(t.inbound_events)
        claimed: set[tuple[str, str]] = set()
        keys = list(first)
        for chunk in range(0, len(keys), 500):
            rows = [{"platform": p, "event_id": e, "received_at": now} for p, e in keys[chunk:chunk + 500]]
            res = await conn.execute(ins.values(rows).on_conflict_do_nothing()
                                     .returning(t.inbound_events.c.platform, t.inbound_events.c.event_id))
            claimed.update((r[0], r[1]) for r in res.all())
        return {i for key, i in first.items() if key in claimed}

    async def _route(self, tx: _Tx, ev: InboundEvent, pid: int) -> None:
        person = self.persons[pid]
        if person.is_bot:
            return
        account = (ev.platform, ev.account_scope, ev.sender)
        member = self._member(person, account)
        channel_key = "dm" if ev.is_direct else self.channel_by_platform.get((ev.platform, ev.channel))
        if isinstance(ev, InboundMembership):
            await self._membership(tx, ev, pid, member, channel_key)
            return
        if channel_key is None:
            return  # a room the network did not bind: its people drive nothing here
        if isinstance(ev, InboundCommand):
            await self._command(tx, ev, member, pid, channel_key)
        elif isinstance(ev, InboundMessage):
            await self._message(tx, ev, member, pid, channel_key)
        elif isinstance(ev, InboundReaction):
            await self._reaction(tx, ev, member, channel_key)
        elif isinstance(ev, InboundChoice):
            found = await self._ref_of(tx.conn, ev.platform, ev.target)
            if found is None:
                spec = self._form_specs.get(ev.choices[0]) if ev.values and len(ev.choices) == 1 else None
                if spec is not None:
                    await self._form_submitted(tx, ev, spec, member, pid, channel_key)
                return
            ritual_id, ref, ref_channel, _ = found
            ritual = await self._load(tx, ritual_id)
            if ritual is None or ritual.status != "open":
                return
            via = "form" if ev.values else ("poll" if ev.platform == "matrix" else "button")
            choice = ev.choices[0] if ev.choices else None
            await self._deliver(tx, ritual, Chose(member=member, ref=ref, channel=ref_channel, choice=choice,
                                                  values=dict(ev.values), via=via,
                                                  reply_to=self._reply_handle(ev)))

    def _is_member(self, pid: int) -> bool:
        """Declared in the config, or present in a bound channel: only they drive rituals."""
        if self.persons[pid].key in self._declared:
            return True
        return any(pid in ids for ids in self.members_of.values())

    async def _command(self, tx: _Tx, ev: InboundCommand, member: Member, pid: int, channel_key: str) -> None:
        if not self._is_member(pid):
            raise CommandError(Msg("core.cmd.not_member"))
        # A backlog replayed after downtime is judged at the pace it was typed, not received.
        if not self._bucket(pid, tx.event_now or tx.now):
            raise CommandError(Msg("core.cmd.rate_limited"))
        try:
            parsed = self.grammar.parse(ev.text)
        except CommandError as err:
            if await self._open_form_instead(tx, ev, member, channel_key, err):
                return
            raise
        spec = parsed.spec
        if spec.animateur_only and not member.is_animateur:
            raise CommandError(Msg("core.cmd.not_animateur", command=spec.localized_name(self._locale_of(member))))
        if channel_key == "dm" and not spec.in_dm and spec.route in ("start",):
            raise CommandError(Msg("core.cmd.not_in_dm"))
        reply_to = self._reply_handle(ev)
        kind = self._spec_kind.get(id(spec))
        if kind is None or spec.route == "query":
            await self._query(tx, ev, parsed, member, channel_key, reply_to)
            return
        if spec.route == "start":
            await self._start(tx, ev, kind, channel_key, Started(by=member, channel=channel_key, params=parsed.args),
                              reply_to)
            return
        target = await self._find_target(tx, kind, parsed, ev, channel_key)
        if target is None:
            if parsed.ritual_number is not None:
                raise CommandError(Msg("core.cmd.unknown_ritual", number=parsed.ritual_number))
            raise CommandError(Msg("core.cmd.no_open_ritual", command=spec.localized_name(self._locale_of(member))))
        ritual, thread_ref = target
        await self._deliver(tx, ritual, Command(member=member, name=spec.name, args=parsed.args,
                                                channel=channel_key, thread_ref=thread_ref, reply_to=reply_to))

    def _bucket(self, pid: int, now: datetime) -> bool:
        """Per-member token bucket: a burst of `COMMAND_BURST` commands, then one every
        `COMMAND_EVERY`. A flood gets a polite answer, not the work it asks for."""
        tokens, last = self._buckets.get(pid, (float(COMMAND_BURST), now))
        tokens = min(float(COMMAND_BURST), tokens + (now - last).total_seconds() / COMMAND_EVERY.total_seconds())
        if tokens < 1.0:
            self._buckets[pid] = (tokens, now)
            return False
        self._buckets[pid] = (tokens - 1.0, now)
        return True

    async def _open_form_instead(self, tx: _Tx, ev: InboundCommand, member: Member, channel_key: str,
                                 err: CommandError) -> bool:
        """A command with a form (`decision`), typed bare where forms exist (Slack): open the
        form rather than answer that arguments are missing."""
        words = ev.text.split()
        found = self.grammar.find(words)
        if found is None or found[1] != len(words) or found[0].form is None:
            return False
        spec = found[0]
        if not self.capabilities(ev.platform).forms:
            return False
        if spec.animateur_only and not member.is_animateur:
            raise CommandError(Msg("core.cmd.not_animateur", command=spec.localized_name(self._locale_of(member))))
        form = OpenForm(member=member.key, channel=channel_key, form=spec.form, title=Msg(f"core.form.{spec.form}"),
                        fallback=err.msg, context={"command": spec.name, "channel": channel_key})
        await self._apply(tx, None, [form], f"form:{self._event_hash(ev)}", self._reply_handle(ev), member.key)
        return True

    async def _form_submitted(self, tx: _Tx, ev: InboundChoice, spec: CommandSpec, member: Member, pid: int,
                              channel_key: str) -> None:
        """A form opened for a command was submitted: run the command with its fields."""
        kind = self._spec_kind.get(id(spec))
        if kind is None or spec.from_form is None or spec.route != "start":
            return
        if not self._is_member(pid):
            raise CommandError(Msg("core.cmd.not_member"))
        if spec.animateur_only and not member.is_animateur:
            raise CommandError(Msg("core.cmd.not_animateur", command=spec.localized_name(self._locale_of(member))))
        args = spec.from_form(ev.values)
        await self._start(tx, ev, kind, channel_key, Started(by=member, channel=channel_key, params=args),
                          self._reply_handle(ev))

    async def _start(self, tx: _Tx, ev: InboundEvent, kind: RitualKind[Any], channel_key: str, started: Started,
                     reply_to: str) -> None:
        """Create a ritual and start it. One that ends on the very event that started it (a
        refused launch: a bad deadline, an unknown group) never existed: it takes no number and
        leaves nothing but its answers to the member."""
        mark = tx.mark()
        generation = self._dir_generation
        try:
            async with tx.conn.begin_nested():
                ritual = await self._create_ritual(tx, kind.name, None, [channel_key] if channel_key != "dm" else [])
                actions = await self._deliver(tx, ritual, started)
                if ritual.status == "finished":
                    raise _Refused([a for a in actions if isinstance(a, PrivateNote | DirectMessage)])
        except _Refused as refused:
            await self._rolled_back(tx, mark, generation)
            member = started.by.key if started.by else None
            await self._apply(tx, None, refused.answers, f"refused:{self._event_hash(ev)}", reply_to, member)

    def _reply_handle(self, ev: InboundCommand | InboundChoice) -> str:
        # Where a private answer goes: remembered in the outbox route, never in ritual state.
        thread = ev.thread_of if isinstance(ev, InboundCommand) else None
        return f"{ev.platform}|{ev.channel}|{thread or ''}|" + "|".join(
            f"{k}={v}" for k, v in sorted(ev.reply_handle.items()))

    async def _find_target(self, tx: _Tx, kind: RitualKind[Any], parsed: Parsed, ev: InboundCommand,
                           channel_key: str) -> tuple[Ritual, str | None] | None:
        """The open ritual a command is about: the one whose thread it was typed in, else `#N`
        of the declaring kind, else the latest open one of these kinds in this channel. A spec
        may accept rituals of other kinds (`extra["rituals"]`: an election's consent step)."""
        kinds = tuple(parsed.spec.extra.get("rituals", (kind.name,)))
        if ev.thread_of:
            found = await self._ref_of(tx.conn, ev.platform, ev.thread_of)
            if found is not None:
                ritual = await self._load(tx, found[0])
                if ritual is not None and ritual.kind in kinds and ritual.status == "open":
                    return ritual, found[1]
        q = select(t.rituals.c.id, t.rituals.c.channels, t.rituals.c.key).where(
            t.rituals.c.network_id == self.network_id, t.rituals.c.status == "open")
        if parsed.ritual_number is not None:
            row = (await tx.conn.execute(q.where(t.rituals.c.kind == kind.name,
                                                 t.rituals.c.number == parsed.ritual_number))).first()
            ritual = await self._load(tx, row.id) if row else None
            return (ritual, None) if ritual else None
        rows = (await tx.conn.execute(q.where(t.rituals.c.kind.in_(kinds)).order_by(t.rituals.c.id.desc()))).all()
        if parsed.spec.route == "singleton":
            # The configured instance (the one bound to this channel first), else the implicit one.
            rows = [r for r in rows if r.key.startswith("cfg:")] or [r for r in rows if r.key.startswith("auto:")]
            pick = next((r for r in rows if channel_key in (r.channels or [])), rows[0] if rows else None)
            if pick is None and kind.implicit:
                return await self._implicit(tx, kind), None
        else:
            pick = next((r for r in rows if channel_key in (r.channels or []) or channel_key == "dm"), None)
        if pick is None:
            return None
        ritual = await self._load(tx, pick.id)
        return (ritual, None) if ritual else None

    async def _implicit(self, tx: _Tx, kind: RitualKind[Any]) -> Ritual:
        """The instance of a kind present in every network (a network with no meeting series
        still has a calendar for one-off meetings), made the first time a command needs it."""
        ritual = await self._create_ritual(tx, kind.name, f"auto:{kind.name}", [])
        await self._deliver(tx, ritual, Started())
        return ritual

    async def _query(self, tx: _Tx, ev: InboundCommand, parsed: Parsed, member: Member, channel_key: str,
                     reply_to: str) -> None:
        ctx = Context(network=NetworkInfo(name=self.network.name, locale=self.network.locale,
                                          timezone=self.network.timezone, charter=self.network.charter,
                                          roles=self._role_view()),
                      directory=self.directory(), channels=self._channel_infos(),
                      log=await self._read_log(tx.conn, tx.now - LOG_WINDOW),
                      open_rituals=await self._open_summaries(tx, exclude=0))
        actions: list[Action]
        if parsed.spec.answer is not None:
            actions = list(parsed.spec.answer(ctx, member, parsed.args, tx.now))
        else:
            q = CoreQuery(parsed, member, channel_key, reply_to, self.grammar, ctx)
            actions = list(await answer_core(q, self, tx))
        await self._apply(tx, None, actions, f"q:{self._event_hash(ev)}", reply_to)

    async def _message(self, tx: _Tx, ev: InboundMessage, member: Member, pid: int, channel_key: str) -> None:
        if ev.thread_of or ev.in_reply_to:
            found = await self._ref_of(tx.conn, ev.platform, ev.thread_of or ev.in_reply_to or "")
            if found is not None:
                ritual = await self._load(tx, found[0])
                if ritual is not None and ritual.status == "open":
                    await self._deliver(tx, ritual, Replied(member=member, text=ev.text, ref=found[1],
                                                            channel=found[2]))
                return
        if ev.is_direct:
            row = (await tx.conn.execute(select(t.pending_replies).where(
                t.pending_replies.c.network_id == self.network_id, t.pending_replies.c.person_id == pid))).first()
            if row is not None:
                ritual = await self._load(tx, row.ritual_id)
                if ritual is not None and ritual.status == "open":
                    await self._deliver(tx, ritual, Replied(member=member, text=ev.text, ref=row.ref, channel="dm"))

    async def _reaction(self, tx: _Tx, ev: InboundReaction, member: Member, channel_key: str) -> None:
        target, key = ev.target, ev.key
        if ev.removed and (target is None or key is None) and ev.reaction_id:
            pending = tx.reaction_index.get((ev.platform, ev.reaction_id))
            if pending is not None:
                target, key, reactor = pending
            else:
                row = (await tx.conn.execute(select(t.reactions).where(
                    t.reactions.c.platform == ev.platform, t.reactions.c.reaction_id == ev.reaction_id))).first()
                if row is None:
                    return  # a redaction of something that was not a reaction we saw
                target, key, reactor = row.target, row.key, row.sender
            if reactor != ev.sender:
                # A moderator redacting someone's reaction does not withdraw that person's
                # answer on their behalf (nor answer as the moderator).
                log.info("reaction %s removed by someone else than its author: answer kept", ev.reaction_id)
                return
        if target is None or key is None:
            return
        if not ev.removed and ev.reaction_id:
            # Remembered so that a later redaction (which names only the reaction) finds it;
            # written with the batch's other rows in one statement at flush.
            tx.reactions.append({"platform": ev.platform, "reaction_id": ev.reaction_id, "target": target,
                                 "key": key, "sender": ev.sender})
            tx.reaction_index[(ev.platform, ev.reaction_id)] = (target, key, ev.sender)
        found = await self._ref_of(tx.conn, ev.platform, target)
        if found is None:
            return
        ritual_id, ref, ref_channel, choices = found
        ritual = await self._load(tx, ritual_id)
        if ritual is None or ritual.status != "open":
            return
        norm = emoji.normalize(key)
        choice = choices.get(norm)
        event: Event
        if choice is not None:
            event = Chose(member=member, ref=ref, channel=ref_channel, choice=None if ev.removed else choice,
                          values={"removed": choice} if ev.removed else {}, via="reaction")
        else:
            event = Reacted(member=member, ref=ref, channel=ref_channel, key=norm, removed=ev.removed)
        await self._deliver(tx, ritual, event)

    async def _membership(self, tx: _Tx, ev: InboundMembership, pid: int, member: Member,
                          channel_key: str | None) -> None:
        if channel_key is None or channel_key == "dm":
            return
        ch = self.channels[channel_key]
        present = pid in self.members_of.setdefault(channel_key, set())
        if ev.joined and not present:
            await tx.conn.execute(self._insert(t.channel_members).values(
                channel_id=ch.id, person_id=pid, joined_at=tx.now).on_conflict_do_nothing())
            self.members_of[channel_key].add(pid)
        elif not ev.joined and present:
            await tx.conn.execute(delete(t.channel_members).where(
                t.channel_members.c.channel_id == ch.id, t.channel_members.c.person_id == pid))
            self.members_of[channel_key].discard(pid)
        else:
            return
        await self.bump_directory(tx.conn)
        self._directory = None
        kinds = [k.name for k in self.registry.kinds.values() if k.receives_joins]
        if not kinds:
            return
        rows = (await tx.conn.execute(select(t.rituals.c.id, t.rituals.c.channels).where(
            t.rituals.c.network_id == self.network_id, t.rituals.c.status == "open",
            t.rituals.c.kind.in_(kinds)))).all()
        for r in rows:
            if r.channels and channel_key not in r.channels:
                continue
            ritual = await self._load(tx, r.id)
            if ritual is not None:
                await self._deliver_alone(tx, ritual, Joined(member=member, channel=channel_key) if ev.joined
                                          else Left(member=member, channel=channel_key),
                                          platform=ev.platform, event_id=f"{ev.event_id}#{ritual.id}")

    async def _ref_of(self, conn: AsyncConnection, platform: str, message_id: str
                      ) -> tuple[int, str, str, dict[str, str]] | None:
        """Which ritual's message a platform message is. Recorded refs never move, so they are
        cached; unknown ids are not (the record of a delivery may come from another process)."""
        cached = self._refs.get((platform, message_id))
        if cached is not None:
            return cached
        row = (await conn.execute(select(t.message_refs).where(
            t.message_refs.c.platform == platform, t.message_refs.c.platform_message_id == message_id,
            t.message_refs.c.network_id == self.network_id))).first()
        if row is None:
            return None
        found = (row.ritual_id, row.ref, row.channel_key, dict(row.choices or {}))
        self._cache_ref(platform, message_id, found)
        return found

    def _cache_ref(self, platform: str, message_id: str, found: tuple[int, str, str, dict[str, str]]) -> None:
        if len(self._refs) > 50_000:
            self._refs.clear()  # bounded memory; a miss costs one indexed select
        self._refs[(platform, message_id)] = found

    def _locale_of(self, member: Member) -> str:
        return normalize_locale(member.locale or self.network.locale)

    async def _reply_error(self, tx: _Tx, ev: InboundEvent, msg: Msg, privately: bool = False) -> None:
        """Answer the member whose event could not be run: beside their command or click, or
        (`privately`, for a reaction or a message) by direct message."""
        if not isinstance(ev, InboundCommand | InboundChoice) and not privately:
            log.warning("event %s rejected: %s", ev.event_id, msg.key)
            return
        # The same lookup as when the event came in: a configured account has no workspace
        # scope, the event does.
        pid = self.account_index.get((ev.platform, ev.account_scope, ev.sender))
        if pid is None:
            pid = self.account_index.get((ev.platform, "", ev.sender))
        if pid is None or self.persons[pid].is_bot:
            log.warning("cannot answer %s: unknown sender", ev.event_id)
            return
        member_key = self.persons[pid].key
        if not isinstance(ev, InboundCommand | InboundChoice):
            await self._apply(tx, None, [DirectMessage(member=member_key, text=msg)], f"err:{self._event_hash(ev)}",
                              None)
            return
        channel_key = "dm" if ev.is_direct else self.channel_by_platform.get((ev.platform, ev.channel))
        if channel_key is None:
            return
        note = PrivateNote(member=member_key, channel=channel_key, text=msg, reply_to=self._reply_handle(ev))
        await self._apply(tx, None, [note], f"err:{self._event_hash(ev)}", self._reply_handle(ev))

    @staticmethod
    def _event_hash(ev: InboundEvent) -> str:
        return hashlib.sha256(f"{ev.platform}\0{ev.event_id}".encode()).hexdigest()[:24]

    # ---------------------------------------------------------------- rituals

    async def _create_ritual(self, tx: _Tx, kind_name: str, key: str | None, channels: list[str]) -> Ritual:
        kind = self.registry.get(kind_name)
        number = int((await tx.conn.execute(select(func.coalesce(func.max(t.rituals.c.number), 0)).where(
            t.rituals.c.network_id == self.network_id, t.rituals.c.kind == kind_name))).scalar_one()) + 1
        state = kind.initial_state()
        res = await tx.conn.execute(insert(t.rituals).values(
            network_id=self.network_id, kind=kind_name, key=key or f"{kind_name}:{number}", number=number,
            status="open", channels=channels, state=state.model_dump(mode="json"), version=0,
            created_at=tx.now, updated_at=tx.now))
        rid = int(res.inserted_primary_key[0])  # type: ignore[index]
        ritual = Ritual(rid, kind_name, key or f"{kind_name}:{number}", number, "open", channels, state, 0, True)
        tx.rituals[rid] = ritual
        return ritual

    async def _load(self, tx: _Tx, ritual_id: int) -> Ritual | None:
        if ritual_id in tx.rituals:
            return tx.rituals[ritual_id]
        q = select(t.rituals).where(t.rituals.c.id == ritual_id)
        if self.store.is_postgres:
            q = q.with_for_update()  # another process handling the same ritual waits its turn
        row = (await tx.conn.execute(q)).first()
        return self._keep_loaded(tx, row)

    def _keep_loaded(self, tx: _Tx, row: Any) -> Ritual | None:
        if row is None or row.kind not in self.registry.kinds:
            return None
        kind = self.registry.get(row.kind)
        ritual = Ritual(row.id, row.kind, row.key, row.number, row.status, list(row.channels or []),
                        kind.state_type.model_validate(row.state), row.version)
        tx.rituals[row.id] = ritual
        return ritual

    async def _preload(self, tx: _Tx, ritual_ids: Sequence[int]) -> None:
        """Load (and on PostgreSQL lock, in id order) many rituals with one query."""
        wanted = sorted(set(ritual_ids) - set(tx.rituals))
        for chunk in range(0, len(wanted), 500):
            q = select(t.rituals).where(t.rituals.c.id.in_(wanted[chunk:chunk + 500])).order_by(t.rituals.c.id)
            if self.store.is_postgres:
                q = q.with_for_update()
            for row in (await tx.conn.execute(q)).all():
                self._keep_loaded(tx, row)

    async def _deliver_alone(self, tx: _Tx, ritual: Ritual, event: Event, *, platform: str, event_id: str) -> bool:
        """Deliver in a savepoint of its own, for deliveries that do not answer to one member's
        event (a timer, a boot, one of the rituals a join fans out to): a ritual that fails is
        set aside as a dead letter, the others go on. False if it failed."""
        mark = tx.mark()
        generation = self._dir_generation
        try:
            async with tx.conn.begin_nested():
                await self._deliver(tx, ritual, event)
        except Exception as exc:
            if not await deterministic(tx.conn, exc):
                raise
            await self._rolled_back(tx, mark, generation)
            log.error("ritual %s #%s failed on %s: set aside as a dead letter", ritual.kind, ritual.number,
                      event.type, exc_info=exc)
            await self._dead_letter(tx, platform, event_id, event.type, exc, event=event.model_dump(mode="json"))
            return False
        return True

    async def _deliver(self, tx: _Tx, ritual: Ritual, event: Event) -> list[Action]:
        kind = self.registry.get(ritual.kind)
        ctx = await self._context(tx, ritual)
        # A scenario that raises fails its event, which the caller isolates (a dead letter, or
        # for CommandError a refusal): the state stays as it was.
        when = tx.event_now or tx.now
        with log_context(ritual=ritual_label(ritual.kind, ritual.number)):
            if kind.cpu_heavy:
                state, actions = await asyncio.to_thread(kind.bind(ctx).handle, ritual.state, event, when)
            else:
                state, actions = kind.bind(ctx).handle(ritual.state, event, when)
        ritual.state = state
        ritual.version += 1
        ritual.dirty = True
        chosen = kind.channels(state)
        if chosen is not None and list(chosen) != ritual.channels:
            ritual.channels = list(chosen)
        reply_to = event.reply_to if isinstance(event, Command | Chose) else None
        reply_member = event.member.key if isinstance(event, Command | Chose) else None
        await self._apply(tx, ritual, actions, f"r{ritual.id}v{ritual.version}", reply_to, reply_member)
        return actions

    async def _apply(self, tx: _Tx, ritual: Ritual | None, actions: Sequence[Action], key_prefix: str,
                     reply_to: str | None, reply_member: str | None = None) -> None:
        for i, action in enumerate(actions):
            if isinstance(action, SetTimer):
                assert ritual is not None, "only rituals set timers"
                tx.timer_ops[(ritual.id, action.name)] = {
                    "network_id": self.network_id, "ritual_id": ritual.id, "name": action.name,
                    "due_at": action.due_at, "payload": action.payload}
                tx.timers_changed = True
            elif isinstance(action, CancelTimer):
                assert ritual is not None
                tx.timer_ops[(ritual.id, action.name)] = None
                tx.timers_changed = True
            elif isinstance(action, Record):
                await tx.conn.execute(insert(t.log).values(
                    network_id=self.network_id, ritual_id=ritual.id if ritual else None,
                    ritual_kind=ritual.kind if ritual else "core", ritual_number=ritual.number if ritual else 0,
                    at=tx.now, kind=action.kind, summary=action.summary))
            elif isinstance(action, Finish):
                assert ritual is not None
                ritual.status = "finished"
                ritual.dirty = True
                for pending in [k for k in tx.timer_ops if k[0] == ritual.id]:
                    del tx.timer_ops[pending]
                await tx.conn.execute(delete(t.timers).where(t.timers.c.ritual_id == ritual.id))
                await tx.conn.execute(delete(t.pending_replies).where(t.pending_replies.c.ritual_id == ritual.id))
                tx.timers_changed = True
            else:
                if ritual is not None and isinstance(action, Post | Edit) and await self._unchanged(tx, ritual, action):
                    continue
                # A reply handle (Slack's response_url) answers only the member who acted.
                own = reply_member is None or getattr(action, "member", None) == reply_member
                await self._enqueue(tx, ritual, action, f"mlg:{self.network_id}:{key_prefix}:{i}",
                                    reply_to if own else None)

    async def _unchanged(self, tx: _Tx, ritual: Ritual, action: Post | Edit) -> bool:
        """Remember what a ritual's message says; True for an edit that would change nothing
        (the member would see the same message "edited" for no reason)."""
        if action.ref is None:
            return False
        key = (ritual.id, action.ref, action.channel)
        text_hash = _digest(action.text)
        choices_hash = None if action.choices is None else _digest(action.choices)
        if isinstance(action, Post):
            tx.contents[key] = (text_hash, choices_hash)
            return False
        known = tx.contents.get(key)
        if known is None:
            row = (await tx.conn.execute(select(t.message_contents.c.text_hash, t.message_contents.c.choices_hash)
                                         .where(t.message_contents.c.ritual_id == ritual.id,
                                                t.message_contents.c.ref == action.ref,
                                                t.message_contents.c.channel_key == action.channel))).first()
            known = (row[0], row[1]) if row is not None else None
        if known is not None and known[0] == text_hash and choices_hash in (None, known[1]):
            return True
        tx.contents[key] = (text_hash, choices_hash if choices_hash is not None else (known[1] if known else None))
        return False

    async def _enqueue(self, tx: _Tx, ritual: Ritual | None, action: Action, key: str,
                       reply_to: str | None) -> None:
        platform, route = self._route_of(action, reply_to)
        if platform is None:
            log.warning("no platform for %s (ritual %s): dropped", action, ritual.id if ritual else None)
            return
        if isinstance(action, DirectMessage) and action.expects_reply and ritual is not None:
            pid = self.person_by_key.get(action.member)
            if pid is not None:
                await tx.conn.execute(delete(t.pending_replies).where(
                    t.pending_replies.c.network_id == self.network_id, t.pending_replies.c.person_id == pid))
                await tx.conn.execute(insert(t.pending_replies).values(
                    network_id=self.network_id, person_id=pid, ritual_id=ritual.id, ref=action.ref or "dm"))
        if isinstance(action, PrivateNote | OpenForm) and action.reply_to is None and reply_to:
            action = action.model_copy(update={"reply_to": reply_to})
        tx.outbox_rows.append(dict(
            network_id=self.network_id, ritual_id=ritual.id if ritual else None, idem_key=key, platform=platform,
            action=action.model_dump(mode="json"), route=route, status="pending", attempts=0, created_at=tx.now,
            not_before=tx.now))
        tx.outbox += 1

    def _route_of(self, action: Action, reply_to: str | None) -> tuple[str | None, dict[str, Any]]:
        """Which platform performs an action, and what to resolve at send time."""
        if isinstance(action, DirectMessage):
            pid = self.person_by_key.get(action.member)
            if pid is None or not self.persons[pid].accounts:
                return None, {}
            return self.persons[pid].accounts[0][0], {"member": action.member}
        if isinstance(action, PrivateNote | OpenForm):
            if action.channel == "dm" or action.channel not in self.channels:
                # Answer on the platform the member wrote from (the command's reply handle).
                platform = (action.reply_to or reply_to or "").split("|")[0]
                if platform:
                    return platform, {"member": action.member, "channel": action.channel}
                pid = self.person_by_key.get(action.member)
                if pid is None or not self.persons[pid].accounts:
                    return None, {}
                return self.persons[pid].accounts[0][0], {"member": action.member, "channel": action.channel}
            return self.channels[action.channel].platform, {"member": action.member, "channel": action.channel}
        assert isinstance(action, Post | Edit | React)
        ch = self.channels.get(action.channel)
        if ch is None:
            return None, {}
        return ch.platform, {"channel": action.channel}

    async def _write_pending(self, tx: _Tx) -> None:
        """Write the outbox entries and timer changes decided so far, a few statements for the
        whole transaction rather than some per action (a storm of reminders is hundreds of
        them); done at flush, and before anything in the transaction reads those tables."""
        if tx.timer_ops:
            keys = list(tx.timer_ops)
            for chunk in range(0, len(keys), 500):
                await tx.conn.execute(delete(t.timers).where(
                    tuple_(t.timers.c.ritual_id, t.timers.c.name).in_(keys[chunk:chunk + 500])))
            rows = [row for row in tx.timer_ops.values() if row is not None]
            if rows:
                await tx.conn.execute(insert(t.timers), rows)
            tx.timer_ops.clear()
        if tx.outbox_rows:
            await tx.conn.execute(insert(t.outbox), tx.outbox_rows)
            tx.outbox_rows.clear()
        if tx.contents:
            ins = self._insert(t.message_contents)
            rows = [{"ritual_id": rid, "ref": ref, "channel_key": ch, "text_hash": th, "choices_hash": chh}
                    for (rid, ref, ch), (th, chh) in tx.contents.items()]
            for chunk in range(0, len(rows), 500):
                await tx.conn.execute(ins.on_conflict_do_update(
                    index_elements=[t.message_contents.c.ritual_id, t.message_contents.c.ref,
                                    t.message_contents.c.channel_key],
                    set_={"text_hash": ins.excluded.text_hash, "choices_hash": ins.excluded.choices_hash}),
                    rows[chunk:chunk + 500])
            tx.contents.clear()

    async def _flush(self, tx: _Tx) -> None:
        await self._write_pending(tx)
        if tx.reactions:
            ins = sqlite_insert(t.reactions) if self.store.dialect == "sqlite" else pg_insert(t.reactions)
            for chunk in range(0, len(tx.reactions), 500):
                await tx.conn.execute(ins.values(tx.reactions[chunk:chunk + 500]).on_conflict_do_nothing())
            tx.reactions.clear()
        dirty = [r for r in tx.rituals.values() if r.dirty]
        for status in ("open", "closed"):
            # One executemany per shape: open rituals keep their finished_at, others get now.
            rows = [{"b_id": r.id, "b_state": r.state.model_dump(mode="json"), "b_version": r.version,
                     "b_status": r.status, "b_channels": list(r.channels)}
                    for r in dirty if (r.status == "open") == (status == "open")]
            if not rows:
                continue
            values: dict[str, Any] = {"state": bindparam("b_state"), "version": bindparam("b_version"),
                                      "status": bindparam("b_status"), "channels": bindparam("b_channels"),
                                      "updated_at": tx.now}
            if status != "open":
                values["finished_at"] = tx.now
            await tx.conn.execute(update(t.rituals).where(t.rituals.c.id == bindparam("b_id")).values(**values),
                                  rows)
        for r in dirty:
            r.dirty = False

    def _after_commit(self, tx: _Tx) -> None:
        if tx.outbox:
            self._outbox_ready.set()
        if tx.timers_changed:
            for hook in self.on_timers_changed:
                hook()

    # ---------------------------------------------------------------- timers

    async def next_due(self) -> datetime | None:
        async with self.store.read() as conn:
            value = (await conn.execute(select(func.min(t.timers.c.due_at)).where(
                t.timers.c.network_id == self.network_id))).scalar()
        return t.as_utc(value)

    @_network_scoped
    async def run_due(self, limit: int = 200) -> int:
        """Fire every timer due by now, each exactly once: the timer row is deleted in the same
        transaction that hands `TimerFired` to its ritual."""
        fired = 0
        await self._fresh_directory()
        while True:
            now = self.clock.now()
            async with self._write_lock, self.store.transaction() as conn:
                q = (select(t.timers).where(t.timers.c.network_id == self.network_id, t.timers.c.due_at <= now)
                     .order_by(t.timers.c.due_at, t.timers.c.id).limit(limit))
                if self.store.is_postgres:
                    q = q.with_for_update(skip_locked=True)
                rows = (await conn.execute(q)).all()
                if not rows:
                    break
                tx = _Tx(conn, now)
                due: list[datetime] = []
                await conn.execute(delete(t.timers).where(t.timers.c.id.in_([r.id for r in rows])))
                await self._preload(tx, [r.ritual_id for r in rows])
                # At one instant, rituals that report on others (the digest) run after the
                # others: a deadline at 16:00 closes its round before the 16:00 digest reads it.
                rows = sorted(rows, key=lambda r: (t.as_utc(r.due_at), self._reads_others(tx, r.ritual_id)))
                for r in rows:
                    ritual = await self._load(tx, r.ritual_id)
                    if ritual is None or ritual.status != "open":
                        continue
                    event = TimerFired(name=r.name, due_at=r.due_at, late_by=max(now - r.due_at, timedelta(0)),
                                       payload=dict(r.payload or {}))
                    await self._deliver_alone(tx, ritual, event, platform="timer",
                                              event_id=f"{r.ritual_id}:{r.name}:{t.as_utc(r.due_at)}")
                    due.append(r.due_at)
                    fired += 1
                tx.timers_changed = True
                await self._flush(tx)
            if self.fault == "after_commit" and tx.outbox:
                os.kill(os.getpid(), signal.SIGKILL)
            if due:
                committed = self.clock.now()
                for hook in self.on_fired:
                    hook(committed, due)
            self._after_commit(tx)
        self.stats["timers"] += fired
        return fired

    def _reads_others(self, tx: _Tx, ritual_id: int) -> bool:
        ritual = tx.rituals.get(ritual_id)
        return ritual is not None and self.registry.get(ritual.kind).reads_log

    # ---------------------------------------------------------------- outbox

    @_network_scoped
    async def drain_outbox(self) -> int:
        """Perform pending outbox entries in order. Each is idempotent by its key, so a crash
        between the platform's acceptance and our record does not show a message twice; each
        is claimed first, so two processes sharing the store never both perform it."""
        done = 0
        async with self._send_lock:
            while True:
                now = self.clock.now()
                rows = await self._claim_outbox(now)
                if not rows:
                    return done
                progressed = False
                waiting: list[int] = []
                try:
                    for row in rows:
                        outcome = await self._send_one(row, now)
                        if outcome == "done":
                            progressed = True
                            done += 1
                        elif outcome == "wait":
                            waiting.append(row.id)
                finally:
                    batch, self._unrecorded = self._unrecorded, []
                    await self._record_deliveries(batch)
                if waiting:
                    await self._release(waiting)
                if not progressed:
                    return done

    def _held_back(self) -> list[str]:
        """Platforms this process may not send on right now (a Matrix account with encrypted
        rooms sends only from the process that syncs it): their entries wait for another."""
        return [name for name, adapter in self.adapters.items()
                if not getattr(adapter, "can_perform", lambda: True)()]

    async def _claim_outbox(self, now: datetime, limit: int = 100) -> list[Any]:
        held_back = self._held_back()
        async with self.store.transaction() as conn:
            q = (select(t.outbox.c.id).where(
                t.outbox.c.network_id == self.network_id, t.outbox.c.status == "pending",
                t.outbox.c.not_before <= now, t.outbox.c.platform.not_in(held_back),
                (t.outbox.c.claimed_until.is_(None)) | (t.outbox.c.claimed_until < now))
                .order_by(t.outbox.c.id).limit(limit))
            if self.store.is_postgres:
                q = q.with_for_update(skip_locked=True)
            ids = [r[0] for r in (await conn.execute(q)).all()]
            if not ids:
                return []
            await conn.execute(update(t.outbox).where(t.outbox.c.id.in_(ids)).values(
                claimed_by=self.process_id, claimed_until=now + OUTBOX_CLAIM))
            return list((await conn.execute(select(t.outbox).where(t.outbox.c.id.in_(ids))
                                            .order_by(t.outbox.c.id))).all())

    async def _release(self, ids: Sequence[int]) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(update(t.outbox).where(t.outbox.c.id.in_(list(ids)),
                                                      t.outbox.c.claimed_by == self.process_id)
                               .values(claimed_by=None, claimed_until=None))

    async def _send_one(self, row: Any, now: datetime) -> str:
        """"done" (sent, dropped or failed for good), "wait" (its thread root is not sent
        yet), or "retry" (the platform is unavailable: retried after a delay)."""
        action = OUTBOUND.validate_python(row.action)
        if action.valid_until is not None and action.valid_until < now:
            await self._mark(row.id, "dropped", now, "stale after downtime")
            log.info("outbox %s dropped: stale since %s", row.idem_key, action.valid_until)
            return "done"
        adapter = self.adapters.get(row.platform)
        if adapter is None:
            await self._mark(row.id, "failed", now, f"no adapter for {row.platform}")
            return "done"
        try:
            out = await self._resolve(row, action)
        except PermanentError as exc:
            await self._mark(row.id, "failed", now, str(exc))
            return "done"
        if out is None:
            return "wait"  # an earlier message (its thread root) must be sent first
        try:
            delivery = await adapter.perform(out)
        except TransientError as exc:
            delay = exc.retry_after if exc.retry_after is not None else min(300.0, 2.0 ** min(row.attempts + 1, 8))
            async with self.store.transaction() as conn:
                await conn.execute(update(t.outbox).where(t.outbox.c.id == row.id).values(
                    attempts=row.attempts + 1, not_before=now + timedelta(seconds=delay), error=str(exc),
                    claimed_by=None, claimed_until=None))
            log.warning("outbox %s: platform unavailable (%s), retry in %.1fs", row.idem_key, exc, delay)
            return "done"
        except PermanentError as exc:
            await self._mark(row.id, "failed", now, str(exc))
            log.error("outbox %s failed: %s", row.idem_key, exc)
            return "done"
        except Exception as exc:
            # A bug (a message that cannot be rendered, an adapter error) fails this entry
            # only: the sender goes on with the others and the traceback is logged.
            log.exception("outbox %s failed", row.idem_key)
            await self._mark(row.id, "failed", now, f"{type(exc).__name__}: {exc}")
            return "done"
        if self.fault == "after_send":
            os.kill(os.getpid(), signal.SIGKILL)
        self._remember_sent(row, action, out, delivery)
        self._unrecorded.append((row, action, out, delivery, now))
        self.stats["sent"] += 1
        return "done"

    async def _mark(self, outbox_id: int, status: str, now: datetime, error: str | None) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(update(t.outbox).where(t.outbox.c.id == outbox_id).values(
                status=status, sent_at=now, error=error))

    async def _resolve(self, row: Any, action: Any) -> Outgoing | None:
        route = dict(row.route)
        locale = self.network.locale
        # Each member's first account on this platform, to render mentions.
        accounts: dict[str, str] = {}
        for p in self.persons.values():
            user = next((a[2] for a in p.accounts if a[0] == row.platform), None)
            if user is not None:
                accounts[p.key] = user
        base: dict[str, Any] = {"action": action, "key": row.idem_key, "locale": locale,
                                "timezone": self.network.timezone, "accounts": accounts,
                                "now": row.created_at}
        if isinstance(action, DirectMessage | PrivateNote | OpenForm):
            pid = self.person_by_key.get(route.get("member", ""))
            if pid is None:
                raise PermanentError(f"unknown member {route.get('member')}")
            person = self.persons[pid]
            base["locale"] = normalize_locale(person.locale or locale)
            user = next((a[2] for a in person.accounts if a[0] == row.platform), None)
            base["recipient"] = user
            handle = (getattr(action, "reply_to", None) or "").split("|")
            if len(handle) >= 3 and handle[0] == row.platform:
                base["reply_handle"] = dict(kv.split("=", 1) for kv in handle[3:] if "=" in kv)
                base["channel"] = handle[1]
                base["thread_of"] = handle[2] or None
            elif route.get("channel") in self.channels:
                base["channel"] = self.channels[route["channel"]].platform_id
            else:
                base["channel"] = None
            if isinstance(action, DirectMessage):
                base["channel"] = None
                base["thread_of"] = None
            base["scope"] = next((a[1] for a in person.accounts if a[0] == row.platform), "")
            if isinstance(action, OpenForm) and action.context.get("ref") and action.context.get("channel"):
                ref = await self._platform_ref(row.ritual_id, action.context["ref"], action.context["channel"])
                base["message_id"] = ref or None
            if action_choices := getattr(action, "choices", None):
                base["choice_ids"] = {emoji.normalize(c.emoji): c.id for c in action_choices}
            return Outgoing(**base)
        ch = self.channels[route["channel"]]
        base["channel"] = ch.platform_id
        base["scope"] = self._teams.get(ch.key, "")
        if isinstance(action, Post):
            if action.choices:
                base["choice_ids"] = {emoji.normalize(c.emoji): c.id for c in action.choices}
            if action.thread is not None:
                ref = await self._platform_ref(row.ritual_id, action.thread, action.channel)
                if ref is False:
                    return None
                base["thread_of"] = ref or None
        else:
            ref = await self._platform_ref(row.ritual_id, action.ref, action.channel)
            if ref is False:
                return None
            if not ref:
                raise PermanentError(f"message {action.ref} was never delivered")
            base["message_id"] = ref
            if isinstance(action, Edit) and action.choices:
                base["choice_ids"] = {emoji.normalize(c.emoji): c.id for c in action.choices}
        return Outgoing(**base)

    async def _platform_ref(self, ritual_id: int | None, ref: str, channel_key: str) -> str | bool:
        """The platform id of an earlier message; False while it is still waiting to be sent,
        "" when it never will be (then a thread reply goes to the channel)."""
        if ritual_id is not None and (sent := self._sent_refs.get((ritual_id, ref, channel_key))):
            return sent
        async with self.store.read() as conn:
            row = (await conn.execute(select(t.message_refs.c.platform_message_id).where(
                t.message_refs.c.ritual_id == ritual_id, t.message_refs.c.ref == ref,
                t.message_refs.c.channel_key == channel_key))).first()
        if row is not None and row[0]:
            return str(row[0])
        if row is None and await self._ref_pending(ritual_id, ref, channel_key):
            return False
        return ""

    async def _ref_pending(self, ritual_id: int | None, ref: str, channel_key: str) -> bool:
        async with self.store.read() as conn:
            rows = (await conn.execute(select(t.outbox.c.action, t.outbox.c.route).where(
                t.outbox.c.ritual_id == ritual_id, t.outbox.c.status == "pending"))).all()
        for r in rows:
            a = r.action
            if a.get("ref") == ref and a.get("action") in ("post", "dm") and r.route.get("channel", "dm") in (
                    channel_key, "dm"):
                return True
        return False

    async def _record_deliveries(self, items: Sequence[tuple[Any, Any, Outgoing, Delivery, datetime]]) -> None:
        """Record what the platforms accepted, in one transaction for a batch of sends. A crash
        before it costs nothing: the sends are performed again, idempotently by their keys."""
        if not items:
            return
        sent: list[dict[str, Any]] = []
        refs: dict[tuple[int, str, str], dict[str, Any]] = {}
        choices: list[tuple[int, str, str, dict[str, str]]] = []
        for row, action, out, delivery, now in items:
            sent.append({"b_id": row.id, "b_attempts": row.attempts + 1, "b_sent_at": now})
            ref = getattr(action, "ref", None)
            if isinstance(action, Post | DirectMessage) and ref and row.ritual_id is not None:
                channel_key = action.channel if isinstance(action, Post) else f"dm:{action.member}"
                refs[(row.ritual_id, ref, channel_key)] = {
                    "network_id": self.network_id, "ritual_id": row.ritual_id, "ref": ref,
                    "channel_key": channel_key, "platform": row.platform,
                    "platform_channel": delivery.channel or out.channel,
                    "platform_message_id": delivery.message_id, "choices": dict(out.choice_ids)}
            elif isinstance(action, Edit) and action.choices is not None and row.ritual_id is not None:
                choices.append((row.ritual_id, action.ref, action.channel, dict(out.choice_ids)))
        async with self.store.transaction() as conn:
            await conn.execute(update(t.outbox).where(t.outbox.c.id == bindparam("b_id")).values(
                status="sent", sent_at=bindparam("b_sent_at"), attempts=bindparam("b_attempts"), error=None), sent)
            if refs:
                ins = self._insert(t.message_refs)
                await conn.execute(ins.on_conflict_do_update(
                    index_elements=[t.message_refs.c.ritual_id, t.message_refs.c.ref, t.message_refs.c.channel_key],
                    set_={c: ins.excluded[c] for c in ("platform", "platform_channel", "platform_message_id",
                                                       "choices")}), list(refs.values()))
            for ritual_id, ref, channel_key, ids in choices:
                await conn.execute(update(t.message_refs).where(
                    t.message_refs.c.ritual_id == ritual_id, t.message_refs.c.ref == ref,
                    t.message_refs.c.channel_key == channel_key).values(choices=ids))
        for key in refs:
            self._sent_refs.pop(key, None)

    def _remember_sent(self, row: Any, action: Any, out: Outgoing, delivery: Delivery) -> None:
        """What a send makes known at once, before it is recorded: the message's platform id
        (a thread reply later in the same batch needs it) and the reverse lookup reactions use."""
        ref = getattr(action, "ref", None)
        if isinstance(action, Post | DirectMessage) and ref and row.ritual_id is not None:
            channel_key = action.channel if isinstance(action, Post) else f"dm:{action.member}"
            if delivery.message_id:
                if len(self._sent_refs) > 10_000:
                    self._sent_refs.clear()  # only left over by failed records; the store has the rest
                self._sent_refs[(row.ritual_id, ref, channel_key)] = delivery.message_id
                self._cache_ref(row.platform, delivery.message_id,
                                (row.ritual_id, ref, channel_key, dict(out.choice_ids)))
        elif isinstance(action, Edit) and action.choices is not None and out.message_id:
            self._refs.pop((row.platform, out.message_id), None)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Run the writer (group commit) and the outbox sender in the background."""
        self._tasks.append(asyncio.create_task(self._writer(), name="maillage-writer"))
        self._tasks.append(asyncio.create_task(self._sender(), name="maillage-sender"))
        self._outbox_ready.set()

    async def _sender(self) -> None:
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            try:
                await self.drain_outbox()
            except Exception:
                log.exception("outbox sender failed; retrying")
                await asyncio.sleep(1)
                self._outbox_ready.set()
                continue
            retry = await self._next_retry()
            if retry is not None:
                delay = max(0.0, (retry - self.clock.now()).total_seconds())
                # Entries claimed by a process that died become free when their claim lapses.
                asyncio.get_running_loop().call_later(min(delay, 60.0) + 0.01, self._outbox_ready.set)

    async def _next_retry(self) -> datetime | None:
        """When the sender should look again: the earliest pending entry it may send (one
        another process has claimed: when that claim lapses), or in a second while some
        platform is held back here."""
        held_back = self._held_back()
        now = self.clock.now()
        async with self.store.read() as conn:
            rows = (await conn.execute(select(t.outbox.c.not_before, t.outbox.c.claimed_until).where(
                t.outbox.c.network_id == self.network_id, t.outbox.c.status == "pending",
                t.outbox.c.platform.not_in(held_back)).order_by(t.outbox.c.not_before).limit(50))).all()
        times = [max(t.as_utc(r[0]) or now, t.as_utc(r[1]) or now) for r in rows]
        if held_back:
            times.append(now + timedelta(seconds=1))
        return min(times) if times else None

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
