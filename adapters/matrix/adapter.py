"""The Matrix adapter on matrix-nio: a sync loop that never loses an event, idempotent sends."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import random
import signal
import socket
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, NoReturn
from urllib.parse import quote

from aiohttp import ClientConnectionError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinedMembersResponse,
    JoinResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomResolveAliasResponse,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
)
from nio.exceptions import EncryptionError, LocalProtocolError

from adapters.matrix import content as mx
from adapters.matrix.session import (
    NAMESPACE,
    Session,
    is_transient,
    open_session,
    retry_after,
    save_session,
)
from adapters.matrix.translate import RoomView, translate
from bot.adapter import (
    ChannelMember,
    Delivery,
    EventSink,
    KeyValue,
    Leases,
    Outgoing,
    PermanentError,
    TransientError,
)
from bot.config import Config, MatrixSection, secret
from bot.kernel.i18n import Msg
from bot.kernel.model import (
    Choice,
    DirectMessage,
    Edit,
    Image,
    OpenForm,
    Post,
    PrivateNote,
    React,
)
from bot.kernel.scenario import Capabilities

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(buttons=False, polls=True, reactions=True, threads=True, edits=True,
                            ephemeral=False, images=True, forms=False, mentions=True)

TIMELINE_LIMIT = 100
"""Events per room per sync. Synapse's default of 10 drops the rest of a burst unless the
gap is paged back; a high limit makes gaps rare, the gap filling makes them harmless."""
SYNC_TIMEOUT_MS = 30_000
GAP_PAGE = 100
GAP_MAX_PAGES = 200
SEEN_IDS = 20_000
PENDING_MAX = 1_000
PENDING_GIVE_UP_S = 24 * 3600.0
DM_WAIT_S = 15.0
STOP_GRACE_S = 30.0
REPLY_GRACE_S = 0.04
"""After handing events to the engine, how long the next long poll waits for a reply to start."""
REPLY_WAIT_MAX_S = 1.0
LEASE_TTL_S = 8.0
FIRST_SYNC_SKEW_S = 120.0
"""How far the homeserver's clock may be behind ours when reading a first sync's timeline."""
"""How long the sync lease outlives its holder's last renewal: the takeover delay after a
kill -9. The holder renews it four times per period and stops syncing a second before it
would lapse if the store stops answering."""

FAULT_ENV = "MAILLAGE_MATRIX_FAULT"
"""Fault injection for the crash tests: `kill-after-send` SIGKILLs the process right after
the homeserver accepted a send and before the caller could record it."""

_CHATTY_NIO_LOGGERS = ("nio.rooms", "nio.client.base_client", "nio.client.async_client",
                       "nio.responses", "nio.crypto.log", "nio.events.misc")
"""nio logs every event it parses at INFO: at the bot's usual INFO level that is a line per
event (and measurable CPU); they are kept at WARNING unless configured otherwise."""

_KV_NEXT_BATCH = "next_batch"
_KV_DM_ROOMS = "dm_rooms"
_KV_PENDING = "undecrypted"


class _Backoff:
    """Exponential backoff with jitter, reset by a success."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first, self.cap, self.attempt = first, cap, 0

    def next(self, floor: float | None = None) -> float:
        delay = min(self.cap, self.first * (2 ** self.attempt)) * random.uniform(0.8, 1.2)
        self.attempt = min(self.attempt + 1, 16)
        return float(max(delay, floor or 0.0))

    def reset(self) -> None:
        self.attempt = 0


def _kv_key(prefix: str, value: str) -> str:
    """A store key short enough for the kv table whatever the id's length."""
    key = f"{prefix}:{value}"
    return key if len(key) <= 200 else f"{prefix}#" + hashlib.sha256(value.encode()).hexdigest()


class MatrixAdapter:
    """Matrix I/O for one bot account: events in through the sink, actions out."""

    platform = "matrix"
    capabilities = CAPABILITIES

    def __init__(
        self,
        section: MatrixSection,
        channels: Iterable[str],
        kv: KeyValue,
        *,
        command_prefix: str = "!reseau",
        store_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        pickle_key: str | None = None,
        timeline_limit: int = TIMELINE_LIMIT,
        sync_timeout_ms: int = SYNC_TIMEOUT_MS,
        leases: Leases | None = None,
        lease_ttl: float = LEASE_TTL_S,
        config_file: str = "config",
    ) -> None:
        self.section = section
        self._config_file = config_file
        """Named by the error when the environment holds no credentials."""
        self.kv = kv
        self.leases = leases
        """Several processes may run this account: the one holding the lease syncs; all may
        send (plain rooms), since a send is idempotent by its transaction id. Without leases
        this process syncs alone."""
        self._lease_ttl = lease_ttl
        self._lease_name = f"matrix-sync:{section.user_id}"
        self.holder_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._lease_task: asyncio.Task[None] | None = None
        self._standing_by = asyncio.Event()
        self._lease_ok = False
        self._last_sync: float | None = None
        self._sync_since: float | None = None
        self.command_prefix = command_prefix
        self.store_dir = Path(store_dir if store_dir is not None else section.store_path)
        self._env = env if env is not None else os.environ
        self._pickle_key = pickle_key
        self._timeline_limit = timeline_limit
        self._sync_timeout_ms = sync_timeout_ms
        self._configured = list(dict.fromkeys(channels))
        self._room_of: dict[str, str] = {}
        """Configured platform id (room id or alias) → room id."""
        self._channel_of: dict[str, str] = {}
        """Room id → the platform id the engine knows the channel by."""
        self._dm_rooms: dict[str, str] = {}
        """DM room id → the member it is with."""
        self._pending: list[dict[str, Any]] = []
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._since: str | None = None
        """The sync token up to which every event is committed by the engine."""
        self._stored_since: str | None = None
        self._sink: EventSink | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._sync_halt = False
        self._lease_wakeup = asyncio.Event()
        self._interruptible = False
        self._connected = False
        self._first_sync = asyncio.Event()
        self._first_handled = False
        """The first sync's events are committed: until then this process is not ready."""
        self._started_wall = time.time()
        """When this process started (wall clock, as the homeserver stamps events): what was
        said in a room after the bot joined it and after this start is answered, not history."""
        self._holder_seen: tuple[str, datetime] | None = None
        self._holder_renewed_at: float | None = None
        self._sync_count = 0
        self._sync_done = asyncio.Condition()
        self._created_dms: set[str] = set()
        self._tasks: set[asyncio.Future[None]] = set()
        self._keys_lock = asyncio.Lock()
        self._delivered = 0
        self._sends = 0
        self._send_started = asyncio.Event()
        self._sends_idle = asyncio.Event()
        self._sends_idle.set()
        self._ignored_invites: set[str] = set()
        self._fault = self._env.get(FAULT_ENV, "")
        self.session: Session | None = None
        for name in _CHATTY_NIO_LOGGERS:
            nio_log = logging.getLogger(name)
            if nio_log.level == logging.NOTSET:
                nio_log.setLevel(logging.WARNING)
        self.client = self._new_client()

    # -- lifecycle --------------------------------------------------------------------------

    def _new_client(self) -> AsyncClient:
        config = AsyncClientConfig(
            encryption_enabled=self.section.encryption,
            # Our own sync token lives in the bot's store, committed after the engine's.
            store_sync_tokens=False,
            # Surface rate limits and outages to our own retry logic instead of looping inside
            # a request: a send becomes TransientError (the outbox retries it), the sync loop
            # backs off.
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=60,
            **({"pickle_key": self._pickle_key} if self._pickle_key else {}),
        )
        if self.section.encryption:
            self.store_dir.mkdir(parents=True, exist_ok=True)
        return AsyncClient(self.section.homeserver, self.section.user_id,
                           store_path=str(self.store_dir), config=config)

    @property
    def user_id(self) -> str:
        return self.section.user_id

    def connected(self) -> bool:
        if self._stopping:
            return False
        if self.leases is not None and not self.syncing:
            # Standing by: ready while the store answers and another process is seen syncing
            # (its lease renewed lately); a lease left by a process that died is not a sync.
            alive = (self._holder_renewed_at is not None
                     and time.monotonic() - self._holder_renewed_at < self._lease_ttl / 2)
            return self.session is not None and self._lease_ok and alive
        return self._connected and self._first_handled

    def can_perform(self) -> bool:
        """Whether this process may send now. Encrypted rooms need the room keys and device
        lists only the syncing process keeps, so there only the lease holder sends."""
        return not self.section.encryption or self.leases is None or self.syncing

    def sync_lag(self) -> float | None:
        """Seconds since the last sync was handled (None where this process does not sync)."""
        if not self.syncing or self._sync_since is None:
            return None
        return asyncio.get_running_loop().time() - (self._last_sync or self._sync_since)

    async def start(self, sink: EventSink) -> None:
        """Log in (or restore the session), join the bound rooms, start syncing; return once
        the first sync has arrived (rooms and encryption state known)."""
        self._sink = sink
        backoff = _Backoff()
        while True:
            try:
                self.session = await self._open_session()
                break
            except (TransientError, ClientConnectionError, TimeoutError) as exc:
                delay = backoff.next(getattr(exc, "retry_after", None))
                log.warning("Matrix: cannot reach %s to log in (%s); retrying in %.1f s",
                            self.section.homeserver, exc, delay)
                await asyncio.sleep(delay)
        await self._load_state()
        if self.client.should_upload_keys:
            await self._quietly(self.client.keys_upload(), "upload the device keys")
        await self._bind_rooms()
        if self.leases is None:
            task = self._start_sync()
            first = asyncio.create_task(self._first_sync.wait())
            await asyncio.wait({first, task}, return_when=asyncio.FIRST_COMPLETED)
            first.cancel()
            if task.done():
                task.result()  # raises the loop's error
            return
        # With leases: return once this process syncs (first sync arrived) or stands by.
        self._lease_task = asyncio.create_task(self._keep_lease(), name="matrix-lease")
        waiters = {asyncio.create_task(self._first_sync.wait()), asyncio.create_task(self._standing_by.wait())}
        await asyncio.wait({*waiters, self._lease_task}, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if self._lease_task.done():
            self._lease_task.result()

    async def _open_session(self) -> Session:
        """Log in, or restore the stored session. Processes sharing the account take turns,
        so they all end up on one device: the homeserver deduplicates a send's transaction id
        per device, which is what makes a send retried by another process harmless."""
        if self.leases is None:
            return await open_session(self.client, self.section, self.kv, self._env, self._config_file)
        name = f"matrix-login:{self.user_id}"
        # Polling the store: the other process's turn ends in its transaction, not in ours.
        while not await self.leases.hold(name, self.holder_id, 60.0):  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        try:
            return await open_session(self.client, self.section, self.kv, self._env, self._config_file)
        finally:
            await self.leases.release(name, self.holder_id)

    def _start_sync(self) -> asyncio.Task[None]:
        self._sync_since = asyncio.get_running_loop().time()
        self._last_sync = None
        self._task = asyncio.create_task(self._run(), name="matrix-sync")
        return self._task

    @property
    def syncing(self) -> bool:
        """This process runs the account's sync loop (it holds the lease, if there are any)."""
        return self._task is not None and not self._task.done()

    async def _keep_lease(self) -> None:
        """Take the sync lease when it is free, renew it while held, and stop syncing the
        moment it cannot be renewed in time: two processes never both acknowledge events
        (and if a slow one did, the engine's unique key still keeps each event once)."""
        assert self.leases is not None
        loop = asyncio.get_running_loop()
        valid_until = 0.0
        while not self._stopping:
            asked = loop.time()
            try:
                held = await self.leases.hold(self._lease_name, self.holder_id, self._lease_ttl)
                self._lease_ok = True
                if held:
                    valid_until = asked + self._lease_ttl
                else:
                    await self._watch_holder()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._lease_ok = False
                # The store is unreachable: keep syncing on the last renewal, not past it.
                held = loop.time() < valid_until - 1.0
                log.warning("Matrix: cannot renew the sync lease of %s (%s)", self.user_id, exc)
            if held and not self.syncing and not self._stopping:
                log.info("Matrix: this process (%s) now runs the sync of %s", self.holder_id, self.user_id)
                self._standing_by.clear()
                try:
                    # The previous holder may have moved the sync token on since we started.
                    await self._load_state()
                except Exception as exc:
                    log.warning("Matrix: cannot read the sync state yet (%s)", exc)
                else:
                    self._start_sync()
            elif not held and self.syncing:
                log.warning("Matrix: the sync lease of %s is held elsewhere; this process stands by",
                            self.user_id)
                await self._end_sync()
            if not held:
                self._standing_by.set()
            await self._idle_lease(self._lease_ttl / 4)

    async def _watch_holder(self) -> None:
        """Note when the process holding the sync lease is seen renewing it."""
        assert self.leases is not None
        seen = await self.leases.holder(self._lease_name)
        if seen is not None and self._holder_seen is not None and seen[0] == self._holder_seen[0] \
                and seen[1] > self._holder_seen[1]:
            self._holder_renewed_at = time.monotonic()
        elif seen is None or (self._holder_seen is not None and seen[0] != self._holder_seen[0]):
            self._holder_renewed_at = None
        self._holder_seen = seen

    async def _idle_lease(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._lease_wakeup.wait(), delay)

    async def stop(self) -> None:
        """Stop syncing: a long poll or a backoff is interrupted at once; events being handed
        to the engine are finished first (bounded), so a stop acknowledges nothing half-done."""
        self._stopping = True
        self._lease_wakeup.set()
        lease_task, self._lease_task = self._lease_task, None
        if lease_task is not None:
            lease_task.cancel()
            await asyncio.wait({lease_task})
        await self._end_sync()
        if self.leases is not None:
            try:  # handed over at once rather than after the lease expires
                await self.leases.release(self._lease_name, self.holder_id)
            except Exception:
                log.warning("Matrix: could not release the sync lease; another process takes over "
                            "when it expires", exc_info=True)
        self._connected = False
        await self.client.close()

    async def _end_sync(self) -> None:
        """Stop the sync loop: a long poll or a backoff is cut short; events being handed to
        the engine are finished first (bounded); the sync token is stored."""
        task, self._task = self._task, None
        if task is None:
            return
        self._sync_halt = True
        try:
            if self._interruptible:
                task.cancel()
            done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_S)
            if not done:
                task.cancel()
                await asyncio.wait({task})
            if not task.cancelled() and task.exception() is not None:
                log.error("Matrix: the sync loop ended with an error: %r", task.exception())
            try:
                await self._persist_since()
            except Exception:
                log.warning("Matrix: could not store the sync token; the last events will be "
                            "fetched again (and recognised) by the next sync", exc_info=True)
        finally:
            self._sync_halt = False
            self._connected = False

    async def wait_synced(self, count: int = 1, within: float = 30.0) -> None:
        """Wait until `count` more syncs have been handled (tests and the demo use it)."""
        async with self._sync_done:
            target = self._sync_count + count
            await asyncio.wait_for(self._sync_done.wait_for(lambda: self._sync_count >= target), within)

    async def _idle(self, delay: float) -> None:
        """A backoff that `stop()` may cut short."""
        self._interruptible = True
        try:
            await asyncio.sleep(delay)
        finally:
            self._interruptible = False

    # -- state ------------------------------------------------------------------------------

    async def _load_state(self) -> None:
        since = await self.kv.get(NAMESPACE, _KV_NEXT_BATCH)
        self._since = since if isinstance(since, str) and since else None
        self._stored_since = self._since
        dm = await self.kv.get(NAMESPACE, _KV_DM_ROOMS)
        self._dm_rooms = {str(k): str(v) for k, v in dm.items()} if isinstance(dm, Mapping) else {}
        pending = await self.kv.get(NAMESPACE, _KV_PENDING)
        self._pending = [p for p in pending if isinstance(p, dict)] if isinstance(pending, list) else []

    async def _bind_rooms(self) -> None:
        """Resolve aliases and join the configured rooms (when allowed)."""
        for channel in self._configured:
            room_id = channel
            if channel.startswith("#"):
                resolved = await self._call(self.client.room_resolve_alias(channel), "resolve")
                if isinstance(resolved, RoomResolveAliasResponse):
                    room_id = resolved.room_id
                else:
                    log.warning("Matrix: cannot resolve the room alias %s (%s)", channel,
                                getattr(resolved, "message", resolved))
                    continue
            self._room_of[channel] = room_id
            self._channel_of[room_id] = channel
            if self.section.join_rooms:
                joined = await self._call(self.client.join(room_id), "join")
                if not isinstance(joined, JoinResponse):
                    log.warning("Matrix: cannot join %s (%s): invite %s to the room",
                                channel, getattr(joined, "message", joined), self.user_id)

    async def _call(self, coro: Awaitable[Any], what: str) -> Any:
        """A request whose failure is reported, not raised (start-up best effort)."""
        try:
            return await coro
        except (ClientConnectionError, TimeoutError) as exc:
            log.warning("Matrix: cannot %s: %s", what, exc)
            return exc

    async def _quietly(self, coro: Awaitable[Any], what: str) -> None:
        try:
            response = await coro
        except (ClientConnectionError, TimeoutError, LocalProtocolError) as exc:
            log.warning("Matrix: cannot %s: %s", what, exc)
            return
        if getattr(response, "status_code", None):
            log.warning("Matrix: cannot %s: %s", what, response)

    # -- the sync loop ----------------------------------------------------------------------

    def _sync_filter(self) -> dict[str, Any]:
        return {
            "room": {
                "timeline": {"limit": self._timeline_limit},
                "state": {"lazy_load_members": False},
                "ephemeral": {"not_types": ["*"]},
            },
            "presence": {"not_types": ["*"]},
        }

    async def _run(self) -> None:
        backoff = _Backoff()
        first = True
        while not self._stopping and not self._sync_halt:
            fresh = self._since is None
            try:
                self._interruptible = True
                response = await self.client.sync(
                    timeout=0 if first else self._sync_timeout_ms,
                    sync_filter=self._sync_filter(),
                    since=self._since,
                    # Full state on the first sync after a restart, so nio knows every
                    # room's members and encryption before the first send.
                    full_state=True if first else None,
                )
            except (ClientConnectionError, TimeoutError) as exc:
                self._connected = False
                delay = backoff.next()
                log.warning("Matrix: sync failed (%s); retrying in %.1f s", exc or type(exc).__name__, delay)
                await self._idle(delay)
                continue
            finally:
                self._interruptible = False
            if not isinstance(response, SyncResponse):
                self._connected = False
                await self._sync_error(response, backoff)
                continue
            self._connected = True
            self._first_sync.set()
            try:
                await self._handle(response, skip_timeline=fresh)
            except asyncio.CancelledError:
                raise
            except Exception:
                delay = backoff.next()
                log.exception("Matrix: handling a sync failed; its events will be fetched again "
                              "in %.1f s (nothing is acknowledged)", delay)
                # nio ignores a sync response whose token it has already seen; rewinding its
                # token makes it decrypt the replayed events again.
                self.client.next_batch = self._since or ""
                await self._idle(delay)
                continue
            backoff.reset()
            first = False
            self._first_handled = True
            # Everything in this sync is committed: the token may advance (in memory now; in
            # the store below, or by stop() if it interrupts the wait for replies).
            self._since = response.next_batch
            self._last_sync = asyncio.get_running_loop().time()
            if self._delivered:
                self._delivered = 0
                # Before writing our own sync token: that write would compete with the
                # engine's for the store while the answer is being prepared.
                await self._replies_first()
            try:
                await self._persist_since()
            except Exception as exc:
                # The store is down: the token stays in memory and is written with the next
                # sync; a crash meanwhile only makes these events come again (and be recognised).
                log.warning("Matrix: could not store the sync token (%s); kept in memory", exc)
            async with self._sync_done:
                self._sync_count += 1
                self._sync_done.notify_all()
            await self._housekeeping()

    async def _replies_first(self) -> None:
        """Let the answer to what we just delivered go out before the next long poll: the
        engine commits, then sends (a few ms later); a sync request arriving at the homeserver
        at the same moment makes it serve both at once and delays the answer members wait
        for. The next events are not lost meanwhile: they wait in the homeserver."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_WAIT_MAX_S
        grace_until = loop.time() + REPLY_GRACE_S
        self._interruptible = True
        try:
            while not self._stopping and not self._sync_halt:
                now = loop.time()
                if now >= deadline:
                    return
                if self._sends:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._sends_idle.wait(), deadline - now)
                    continue
                if now >= grace_until:
                    return
                self._send_started.clear()
                try:
                    await asyncio.wait_for(self._send_started.wait(), grace_until - now)
                except TimeoutError:
                    return
        finally:
            self._interruptible = False

    async def _persist_since(self) -> None:
        if self._since is not None and self._since != self._stored_since:
            await self.kv.put(NAMESPACE, _KV_NEXT_BATCH, self._since)
            self._stored_since = self._since

    async def _sync_error(self, response: Any, backoff: _Backoff) -> None:
        code = getattr(response, "status_code", None)
        if code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
            await self._relogin()
            return
        delay = backoff.next(retry_after(response))
        log.warning("Matrix: sync refused (%s); retrying in %.1f s", response, delay)
        await self._idle(delay)

    async def _relogin(self) -> None:
        """The token was revoked: log in again with the password (a new device)."""
        if not (self.section.password_env and self._env.get(self.section.password_env)):
            log.error("Matrix: the access token of %s was revoked and no password is configured;"
                      " set $%s", self.user_id, self.section.access_token_env)
            await self._idle(30)
            return
        await save_session(self.kv, Session(self.user_id, "", ""))
        await self.client.close()
        self.client = self._new_client()
        try:
            self.session = await open_session(self.client, self.section, self.kv, self._env)
        except (TransientError, ClientConnectionError, TimeoutError) as exc:
            log.warning("Matrix: cannot log in again yet: %s", exc)
            await self._idle(5)

    async def _housekeeping(self) -> None:
        """What nio's sync_forever does between syncs: keys and to-device messages."""
        if self.client.olm is None:
            return
        client = self.client
        await self._quietly(client.send_to_device_messages(), "send to-device messages")
        if client.should_upload_keys:
            await self._quietly(client.keys_upload(), "upload the device keys")
        await self._query_keys()
        if client.should_claim_keys:
            await self._quietly(client.keys_claim(client.get_users_for_key_claiming()), "claim keys")

    async def _query_keys(self) -> None:
        """Learn the devices of the encrypted rooms' members. Done before every encrypted send
        too: a room key shared before a member's devices are known never reaches them, and
        that message stays unreadable for them forever."""
        async with self._keys_lock:
            if self.client.should_query_keys:
                await self._quietly(self.client.keys_query(), "query device keys")

    # -- handling one sync ------------------------------------------------------------------

    async def _handle(self, response: SyncResponse, skip_timeline: bool) -> None:
        for room_id, info in response.rooms.invite.items():
            await self._on_invite(room_id, info.invite_state)
        for room_id in response.rooms.leave:
            channel = self._channel_of.get(room_id)
            if channel is not None:
                log.warning("Matrix: the bot is no longer in %s (%s)", channel, room_id)
            if self._dm_rooms.pop(room_id, None) is not None:
                await self.kv.put(NAMESPACE, _KV_DM_ROOMS, self._dm_rooms)
        if skip_timeline:
            # First start ever: the rooms' past is history, not commands to answer now; what
            # was said after the bot joined, since this process started, is for it.
            log.info("Matrix: first sync; %d room(s), past messages are not replayed",
                     len(response.rooms.join))
            for room_id, info in response.rooms.join.items():
                await self._deliver(room_id, self._since_own_join(list(info.timeline.events)))
            return
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and self._since is not None and self._wanted(room_id):
                older = await self._fill_gap(room_id, info.timeline.prev_batch, self._since)
                known = {getattr(e, "event_id", None) for e in events}
                events = [e for e in older if getattr(e, "event_id", None) not in known] + events
            await self._deliver(room_id, self._after_own_join(events))
        await self._retry_pending()

    def _wanted(self, room_id: str) -> bool:
        return room_id in self._channel_of or room_id in self._dm_rooms

    def _since_own_join(self, events: list[Any]) -> list[Any]:
        """On a first sync: the events after the bot's own join in this timeline (none if the
        join is older than it), and only those stamped after this process started."""
        after = self._after_own_join(events)
        if len(after) == len(events):
            return []
        floor = (self._started_wall - FIRST_SYNC_SKEW_S) * 1000
        return [e for e in after if (getattr(e, "server_timestamp", 0) or 0) >= floor]

    def _after_own_join(self, events: list[Any]) -> list[Any]:
        """Only what happened after the bot joined: older history is not addressed to it."""
        for i in range(len(events) - 1, -1, -1):
            source = getattr(events[i], "source", {}) or {}
            if (source.get("type") == "m.room.member" and source.get("state_key") == self.user_id
                    and (source.get("content") or {}).get("membership") == "join"
                    and ((source.get("unsigned") or {}).get("prev_content") or {}).get("membership") != "join"):
                return events[i + 1:]
        return events

    async def _fill_gap(self, room_id: str, prev_batch: str | None, since: str) -> list[Any]:
        """Page back from the start of a limited timeline to where the last sync ended."""
        if not prev_batch:
            return []
        older: list[Any] = []
        token = prev_batch
        for _ in range(GAP_MAX_PAGES):
            page = await self.client.room_messages(room_id, start=token, end=since, limit=GAP_PAGE)
            if not isinstance(page, RoomMessagesResponse):
                # Raising keeps the sync token where it was: the whole sync is fetched again.
                raise TransientError(f"cannot fill the gap in {room_id}: {page}")
            older.extend(page.chunk)
            if not page.chunk or not page.end or page.end == token:
                break
            token = page.end
        else:
            log.error("Matrix: gap in %s longer than %d events; the oldest ones were skipped",
                      room_id, GAP_PAGE * GAP_MAX_PAGES)
        log.info("Matrix: filled a gap of %d event(s) in %s", len(older), room_id)
        older.reverse()
        return older

    def _view(self, room_id: str) -> RoomView:
        room = self.client.rooms.get(room_id)

        def name(user: str) -> str | None:
            if room is None:
                return None
            found = room.users.get(user)
            return getattr(found, "display_name", None) or None

        return RoomView(room_id=room_id, bot_user_id=self.user_id,
                        command_prefix=self.command_prefix,
                        is_direct=room_id in self._dm_rooms, display_name=name)

    async def _deliver(self, room_id: str, events: Sequence[Any]) -> None:
        if not self._wanted(room_id):
            return
        view = self._view(room_id)
        for event in events:
            event_id = getattr(event, "event_id", None)
            if not isinstance(event_id, str) or event_id in self._seen:
                continue
            if isinstance(event, MegolmEvent):
                self._park_undecryptable(room_id, event)
                # Kept durably before the sync token moves past it.
                await self.kv.put(NAMESPACE, _KV_PENDING, self._pending)
            else:
                await self._to_engine(event.source, view)
            self._remember(event_id)

    async def _to_engine(self, source: Mapping[str, Any], view: RoomView) -> None:
        await self._track_dm_membership(source, view)
        inbound = translate(source, self._as_channel(view))
        if inbound is None:
            return
        assert self._sink is not None
        await self._sink(inbound)
        self._delivered += 1

    def _as_channel(self, view: RoomView) -> RoomView:
        """Bound rooms are named as the config names them (an alias stays an alias)."""
        channel = self._channel_of.get(view.room_id, view.room_id)
        if channel == view.room_id:
            return view
        return RoomView(room_id=channel, bot_user_id=view.bot_user_id,
                        command_prefix=view.command_prefix, is_direct=view.is_direct,
                        display_name=view.display_name)

    def _remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)

    async def _track_dm_membership(self, source: Mapping[str, Any], view: RoomView) -> None:
        if not view.is_direct or source.get("type") != "m.room.member":
            return
        partner = self._dm_rooms.get(view.room_id)
        if source.get("state_key") == partner and (source.get("content") or {}).get("membership") in ("leave", "ban"):
            # They left the conversation: the next DM opens a new one.
            self._dm_rooms.pop(view.room_id, None)
            await self.kv.put(NAMESPACE, _KV_DM_ROOMS, self._dm_rooms)

    # -- encrypted events we cannot read (yet) ------------------------------------------------

    def _park_undecryptable(self, room_id: str, event: Any) -> None:
        log.warning(
            "Matrix: cannot decrypt event %s in %s from %s (session %s): no room key for this "
            "device yet. It is kept and retried when the key arrives; if it never does, the "
            "sender's client did not share it with %s (device %s).",
            event.event_id, room_id, event.sender, event.session_id, self.user_id,
            self.client.device_id)
        if len(self._pending) >= PENDING_MAX:
            dropped = self._pending.pop(0)
            log.error("Matrix: too many undecryptable events; giving up on %s", dropped.get("event_id"))
        source = dict(event.source)
        source["room_id"] = room_id
        self._pending.append({"event_id": event.event_id, "room_id": room_id,
                              "first_seen": time.time(), "source": source})
        # Ask the sender's devices to share the key (honoured by clients that trust us).
        self._background(self._request_key(event))

    async def _request_key(self, event: Any) -> None:
        try:
            await self.client.request_room_key(event)
        except (LocalProtocolError, ClientConnectionError, TimeoutError) as exc:
            log.debug("Matrix: no key request for %s: %s", event.event_id, exc)

    def _background(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _retry_pending(self) -> None:
        if not self._pending or self.client.olm is None:
            return
        keep: list[dict[str, Any]] = []
        changed = False
        for item in self._pending:
            source = item.get("source") or {}
            event = MegolmEvent.from_dict(dict(source))
            decrypted = None
            if isinstance(event, MegolmEvent):
                event.room_id = str(item.get("room_id", ""))
                try:
                    decrypted = self.client.olm.decrypt_megolm_event(event)
                except EncryptionError:
                    decrypted = None
            if decrypted is not None and hasattr(decrypted, "source"):
                log.info("Matrix: decrypted event %s now that its key arrived", item.get("event_id"))
                await self._to_engine(decrypted.source, self._view(event.room_id))
                changed = True
            elif time.time() - float(item.get("first_seen", 0)) > PENDING_GIVE_UP_S:
                log.error("Matrix: giving up on encrypted event %s in %s: its key never arrived",
                          item.get("event_id"), item.get("room_id"))
                changed = True
            else:
                keep.append(item)
        if changed:
            self._pending = keep
            await self.kv.put(NAMESPACE, _KV_PENDING, self._pending)

    # -- invites ----------------------------------------------------------------------------

    async def _on_invite(self, room_id: str, state: Sequence[Any]) -> None:
        inviter: str | None = None
        is_direct = False
        aliases: set[str] = set()
        for event in state:
            if getattr(event, "state_key", None) == self.user_id and getattr(event, "membership", None) == "invite":
                inviter = getattr(event, "sender", None)
                is_direct = bool((getattr(event, "content", None) or {}).get("is_direct"))
            alias = getattr(event, "canonical_alias", None)
            if isinstance(alias, str):
                aliases.add(alias)
        configured = (room_id in self._configured or room_id in self._channel_of
                      or bool(aliases & set(self._configured)))
        if configured:
            if not self.section.join_rooms:
                return
            channel = self._channel_of.get(room_id) or (
                room_id if room_id in self._configured else sorted(aliases & set(self._configured))[0])
            joined = await self.client.join(room_id)
            if isinstance(joined, JoinResponse):
                self._room_of[channel] = room_id
                self._channel_of[room_id] = channel
                log.info("Matrix: joined %s on %s's invitation", channel, inviter)
            else:
                log.warning("Matrix: cannot join %s: %s", channel, joined)
            return
        if is_direct and inviter is not None and self._is_network_member(inviter):
            joined = await self.client.join(room_id)
            if isinstance(joined, JoinResponse):
                self._dm_rooms[room_id] = inviter
                await self.kv.put(NAMESPACE, _KV_DM_ROOMS, self._dm_rooms)
                log.info("Matrix: accepted a direct conversation with %s", inviter)
            return
        if room_id not in self._ignored_invites:
            self._ignored_invites.add(room_id)
            log.info("Matrix: ignoring an invitation to %s from %s: not a room of the network",
                     room_id, inviter)

    def _is_network_member(self, user_id: str) -> bool:
        for room_id in self._channel_of:
            room = self.client.rooms.get(room_id)
            if room is not None and user_id in room.users and user_id not in room.invited_users:
                return True
        return False

    # -- outbound ---------------------------------------------------------------------------

    async def perform(self, out: Outgoing) -> Delivery:
        performer = self._performers.get(type(out.action))
        if performer is None:
            raise PermanentError(f"the Matrix adapter cannot perform {type(out.action).__name__}")
        self._sends += 1
        self._sends_idle.clear()
        self._send_started.set()
        try:
            return await performer(self, out)
        except (ClientConnectionError, TimeoutError) as exc:
            raise TransientError(f"Matrix unreachable: {exc or type(exc).__name__}") from exc
        finally:
            self._sends -= 1
            if not self._sends:
                self._sends_idle.set()

    async def _perform_post(self, out: Outgoing) -> Delivery:
        action = out.action
        assert isinstance(action, Post)
        room_id = self._room(out.channel)
        event_id = await self._post_in(room_id, out, action.text, out.thread_of, action.choices,
                                       action.choice_style, action.notice)
        if action.image is not None:
            await self._send_image(room_id, out, action.image, out.thread_of)
        return Delivery(event_id, channel=out.channel)

    async def _perform_edit(self, out: Outgoing) -> Delivery:
        action = out.action
        assert isinstance(action, Edit)
        room_id = self._room(out.channel)
        target = out.message_id
        if not target:
            raise PermanentError("an edit needs the id of the message it replaces")
        text = mx.render(out, action.text)
        poll = await self.kv.get(NAMESPACE, _kv_key("poll", target))
        if isinstance(poll, Mapping):
            answers = ([mx.PollAnswer(str(a), str(t)) for a, t in poll.get("answers", [])]
                       if action.choices is None else mx.poll_answers(out, action.choices))
            if answers:
                await self._send(room_id, mx.POLL_START_TYPE,
                                 mx.edit_poll(target, text, answers, mx.mark(out)), mx.txn_id(out.key))
            else:
                # No answers left: the question is closed — end the poll with the new text.
                await self._send(room_id, mx.POLL_END_TYPE, mx.end_poll(target, text, mx.mark(out)),
                                 mx.txn_id(out.key))
            return Delivery(target, channel=out.channel)
        await self._send(room_id, "m.room.message", mx.edit_message(target, text, mx.mark(out)),
                         mx.txn_id(out.key))
        if action.choices:
            await self._seed_reactions(room_id, target, action.choices, out.key)
        return Delivery(target, channel=out.channel)

    async def _perform_react(self, out: Outgoing) -> Delivery:
        action = out.action
        assert isinstance(action, React)
        room_id = self._room(out.channel)
        if not out.message_id:
            raise PermanentError("a reaction needs the id of the message it reacts to")
        event_id = await self._react(room_id, out.message_id, action.emoji, mx.txn_id(out.key))
        return Delivery(event_id, channel=out.channel)

    async def _perform_dm(self, out: Outgoing) -> Delivery:
        action = out.action
        assert isinstance(action, DirectMessage)
        room_id = await self._dm_room(self._recipient(out))
        event_id = await self._post_in(room_id, out, action.text, None, action.choices,
                                       action.choice_style, True)
        return Delivery(event_id, channel=room_id)

    async def _perform_note(self, out: Outgoing) -> Delivery:
        # Matrix has no message only one member sees in a room: a direct message instead.
        action = out.action
        assert isinstance(action, PrivateNote | OpenForm)
        text = action.text if isinstance(action, PrivateNote) else action.fallback
        room_id = await self._dm_room(self._recipient(out))
        event_id = await self._post_in(room_id, out, text, None, [], "reactions", True)
        return Delivery(event_id, channel=room_id)

    _performers: ClassVar[dict[type, Callable[[MatrixAdapter, Outgoing], Awaitable[Delivery]]]] = {
        Post: _perform_post,
        Edit: _perform_edit,
        React: _perform_react,
        DirectMessage: _perform_dm,
        PrivateNote: _perform_note,
        OpenForm: _perform_note,
    }

    def _recipient(self, out: Outgoing) -> str:
        if not out.recipient:
            raise PermanentError("a direct message needs the recipient's Matrix id")
        return out.recipient

    def _room(self, channel: str | None) -> str:
        if not channel:
            raise PermanentError("no Matrix room given")
        room_id = self._room_of.get(channel)
        if room_id is not None:
            return room_id
        if channel.startswith("!"):
            return channel
        raise TransientError(f"the room alias {channel} is not resolved yet", retry_after=5)

    async def _post_in(self, room_id: str, out: Outgoing, text: Msg, thread: str | None,
                       choices: Sequence[Choice], style: str, notice: bool) -> str:
        rendered = mx.render(out, text)
        if choices and style in ("poll", "buttons") and len(choices) <= mx.MAX_POLL_ANSWERS:
            # Matrix has no buttons: a native poll is the closest thing Element shows.
            answers = mx.poll_answers(out, choices)
            event_id = await self._send_all(
                room_id, mx.post(rendered, thread=thread, notice=notice, answers=answers), out.key)
            await self.kv.put(NAMESPACE, _kv_key("poll", event_id),
                              {"answers": [[a.id, a.text] for a in answers]})
            return event_id
        event_id = await self._send_all(room_id, mx.post(rendered, thread=thread, notice=notice), out.key)
        if choices:
            await self._seed_reactions(room_id, event_id, choices, out.key)
        return event_id

    async def _send_all(self, room_id: str, sends: Sequence[mx.Send], key: str) -> str:
        """A text too long for one event goes first in parts; the post itself (last) keeps
        the key's transaction id and is the one answered, reacted to and edited."""
        for send in sends[:-1]:
            await self._send(room_id, send.type, send.content, mx.txn_id(key, send.part))
        return await self._send(room_id, sends[-1].type, sends[-1].content, mx.txn_id(key))

    async def _seed_reactions(self, room_id: str, target: str, choices: Sequence[Choice], key: str) -> None:
        """The vocabulary as reactions under the message: members click instead of typing."""
        for choice in choices:
            part = "r." + hashlib.sha256(choice.emoji.encode()).hexdigest()[:12]
            await self._react(room_id, target, choice.emoji, mx.txn_id(key, part))

    async def _react(self, room_id: str, target: str, emoji: str, txn: str) -> str | None:
        try:
            return await self._send(room_id, "m.reaction", mx.reaction(target, emoji), txn)
        except _DuplicateAnnotation:
            return None

    async def _send_image(self, room_id: str, out: Outgoing, image: Image, thread: str | None) -> str:
        data = base64.b64decode(image.png_b64)
        encrypted = self._is_encrypted(room_id)
        media_key = _kv_key("media", f"{out.key}:{int(encrypted)}")
        uploaded = await self.kv.get(NAMESPACE, media_key)
        if not isinstance(uploaded, Mapping):
            response, keys = await self.client.upload(
                io.BytesIO(data), content_type="image/png", filename=image.filename,
                encrypt=encrypted, filesize=len(data))
            if not isinstance(response, UploadResponse):
                _raise_for(response, "upload the image")
            uploaded = {"url": response.content_uri, "keys": keys}
            # Remembered so a retried send reuses the upload instead of storing the file twice.
            await self.kv.put(NAMESPACE, media_key, uploaded)
        size = mx.png_size(data)
        alt = out.render(image.alt, "plain")
        if encrypted:
            file = {**(uploaded.get("keys") or {}), "url": uploaded["url"]}
            body = mx.image(alt, image.filename, len(data), file=file,
                            width=size[0] if size else None, height=size[1] if size else None)
        else:
            body = mx.image(alt, image.filename, len(data), url=str(uploaded["url"]),
                            width=size[0] if size else None, height=size[1] if size else None)
        return await self._send(room_id, "m.room.message", mx.in_thread(body, thread),
                                mx.txn_id(out.key, "img"))

    def _is_encrypted(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return bool(self.client.olm is not None and room is not None and room.encrypted)

    async def _send(self, room_id: str, event_type: str, body: dict[str, Any], txn: str) -> str:
        """One idempotent send: the same `txn` from this device is one event, however many
        times it is sent (the homeserver answers a resend with the first event's id)."""
        if self.client.olm is not None and room_id not in self.client.rooms:
            # An encrypted send needs the room's members; they arrive with the next sync.
            raise TransientError(f"room {room_id} not synced yet", retry_after=1)
        partner = self._dm_rooms.get(room_id)
        if partner is not None and self._is_encrypted(room_id) and not self._knows(room_id, partner):
            raise TransientError(f"the direct conversation {room_id} does not list {partner} yet", retry_after=1)
        if self._is_encrypted(room_id) and event_type != "m.reaction":
            await self._query_keys()
        try:
            response = await self.client.room_send(room_id, event_type, body, tx_id=txn,
                                                   ignore_unverified_devices=True)
        except LocalProtocolError as exc:
            raise TransientError(f"cannot send to {room_id} yet: {exc}", retry_after=1) from exc
        except EncryptionError as exc:
            raise TransientError(f"cannot encrypt for {room_id}: {exc}", retry_after=2) from exc
        if isinstance(response, RoomSendResponse):
            if self._fault == "kill-after-send":
                log.warning("Matrix: fault injection: killing the process after sending %s", txn)
                os.kill(os.getpid(), signal.SIGKILL)
            return str(response.event_id)
        if getattr(response, "status_code", None) == "M_DUPLICATE_ANNOTATION":
            raise _DuplicateAnnotation()
        _raise_for(response, f"send {event_type} to {room_id}")

    # -- direct messages --------------------------------------------------------------------

    async def _dm_room(self, user_id: str) -> str:
        """The one-to-one room with `user_id`: remembered, else found, else created."""
        for room_id, partner in self._dm_rooms.items():
            if partner == user_id and self._usable_dm(room_id, user_id):
                return room_id
        created = await self._pending_dm(user_id)
        if created is not None:
            return created
        preset = RoomPreset.trusted_private_chat
        initial_state = []
        if self.section.encryption:
            # Private answers (nominations, objections) stay private: encrypt like Element does.
            initial_state.append({"type": "m.room.encryption", "state_key": "",
                                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
        response = await self.client.room_create(is_direct=True, invite=[user_id], preset=preset,
                                                 initial_state=initial_state)
        if not isinstance(response, RoomCreateResponse):
            _raise_for(response, f"open a direct conversation with {user_id}")
        room_id = str(response.room_id)
        self._dm_rooms[room_id] = user_id
        self._created_dms.add(room_id)
        await self.kv.put(NAMESPACE, _KV_DM_ROOMS, self._dm_rooms)
        await self._mark_direct(user_id, room_id)
        log.info("Matrix: opened a direct conversation with %s", user_id)
        await self._wait_for_room(room_id, user_id)
        return room_id

    def _usable_dm(self, room_id: str, user_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        if room is None:
            # Created by this process and not synced yet: still ours. Otherwise the bot is no
            # longer in it (the first sync after start lists every joined room).
            return room_id in self._created_dms
        return user_id in room.users

    async def _pending_dm(self, user_id: str) -> str | None:
        """A DM room the account data lists (created before a crash lost our own record)."""
        direct = await self._account_data("m.direct")
        for room_id in reversed(direct.get(user_id, []) if isinstance(direct, Mapping) else []):
            room = self.client.rooms.get(room_id)
            if room is not None and user_id in room.users:
                self._dm_rooms[room_id] = user_id
                await self.kv.put(NAMESPACE, _KV_DM_ROOMS, self._dm_rooms)
                return str(room_id)
        return None

    def _knows(self, room_id: str, member: str) -> bool:
        room = self.client.rooms.get(room_id)
        return room is not None and member in room.users

    async def _wait_for_room(self, room_id: str, member: str) -> None:
        """Until a sync shows the new room with `member` in it (invited or joined). A sync can
        catch the room between its creation and the invite: an encrypted message sent then
        would share its key with nobody but the bot, and the member could never read it."""
        deadline = time.monotonic() + DM_WAIT_S
        while not self._knows(room_id, member) and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await self.wait_synced(within=1.0)
        if not self._knows(room_id, member):
            raise TransientError(f"the new room {room_id} has not synced yet", retry_after=2)

    async def _account_data(self, event_type: str) -> Any:
        path = f"/_matrix/client/v3/user/{_q(self.user_id)}/account_data/{_q(event_type)}"
        response = await self.client.send("GET", path, headers=self._auth())
        async with response:
            if response.status != 200:
                return {}
            return await response.json()

    async def _mark_direct(self, user_id: str, room_id: str) -> None:
        """Record the room in the bot's `m.direct` so clients show it as a DM and a lost local
        record can be recovered."""
        direct = await self._account_data("m.direct")
        direct = dict(direct) if isinstance(direct, Mapping) else {}
        rooms = [r for r in direct.get(user_id, []) if r != room_id] + [room_id]
        direct[user_id] = rooms
        path = f"/_matrix/client/v3/user/{_q(self.user_id)}/account_data/m.direct"
        response = await self.client.send("PUT", path, json.dumps(direct),
                                          headers={**self._auth(), "Content-Type": "application/json"})
        async with response:
            if response.status != 200:
                log.warning("Matrix: cannot update m.direct: HTTP %s", response.status)

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.client.access_token}"}

    # -- directory --------------------------------------------------------------------------

    async def members(self, channel: str) -> Sequence[ChannelMember]:
        room_id = self._room(channel)
        try:
            response = await self.client.joined_members(room_id)
        except (ClientConnectionError, TimeoutError) as exc:
            raise TransientError(f"Matrix unreachable: {exc}") from exc
        if not isinstance(response, JoinedMembersResponse):
            _raise_for(response, f"list the members of {channel}")
        return [ChannelMember(user_id=m.user_id, display_name=m.display_name or None,
                              is_bot=m.user_id == self.user_id) for m in response.members]


class _DuplicateAnnotation(Exception):
    """The same reaction from the bot is already there: nothing to do."""


def _q(part: str) -> str:
    return quote(part, safe="")


def _raise_for(response: Any, what: str) -> NoReturn:
    """Turn a homeserver error into the outbox's vocabulary: retry later, or give up."""
    if is_transient(response):
        raise TransientError(f"cannot {what}: {response}", retry_after=retry_after(response))
    if getattr(response, "status_code", None) in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
        raise TransientError(f"cannot {what}: logged out ({response})", retry_after=5)
    raise PermanentError(f"cannot {what}: {response}")



def build(config: Config, kv: KeyValue, leases: Leases | None = None) -> MatrixAdapter:
    """The adapter for a configured network (called by the composition root): the bound
    Matrix rooms, the command prefix, and the crypto store next to the config file."""
    section = config.file.matrix
    if section is None:
        raise PermanentError("the config binds Matrix rooms but has no [matrix] section")
    store_dir = Path(section.store_path)
    if not store_dir.is_absolute():
        store_dir = config.path.parent / store_dir
    rooms = [c.room for c in config.file.channels if c.platform == "matrix"]
    pickle_key = secret(section.pickle_key_env, "matrix.pickle_key_env", config.path) \
        if section.pickle_key_env else None
    return MatrixAdapter(section, rooms, kv, command_prefix=config.network.command_prefix,
                         store_dir=store_dir, leases=leases, pickle_key=pickle_key,
                         config_file=str(config.path))
