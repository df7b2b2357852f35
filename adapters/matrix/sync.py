"""The Matrix sync loop: each sync's events handed to the engine before its token is stored, a failed handling fetched again, the replies let out before the next long poll."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import ClientConnectionError
from nio import MegolmEvent, SyncResponse

from adapters.matrix.account import Account, Backoff, kv_key
from adapters.matrix.crypto import Encryption
from adapters.matrix.dms import DirectRooms, Invitations
from adapters.matrix.outbound import InFlight
from adapters.matrix.rooms import Rooms
from adapters.matrix.session import NAMESPACE, Session, retry_after, save_session
from adapters.matrix.timeline import after_own_join, fill_gap, since_own_join
from adapters.matrix.translate import POLL_RESPONSE_TYPES, RoomView, translate
from bot.adapter import EventSink, TransientError
from bot.kernel.model import InboundChoice

log = logging.getLogger(__name__)

TIMELINE_LIMIT = 100
"""Events per room per sync. Synapse's default of 10 drops the rest of a burst unless the
gap is paged back; a high limit makes gaps rare, the gap filling makes them harmless."""
SYNC_TIMEOUT_MS = 30_000
SEEN_IDS = 20_000
STOP_GRACE_S = 30.0
REPLY_GRACE_S = 0.04
"""After handing events to the engine, how long the next long poll waits for a reply to start."""
REPLY_WAIT_MAX_S = 1.0
KV_NEXT_BATCH = "next_batch"


class SyncLoop:
    """One account's sync loop and what it hands to the engine."""

    def __init__(self, account: Account, rooms: Rooms, dms: DirectRooms, invitations: Invitations,
                 crypto: Encryption, in_flight: InFlight, *, command_prefix: str,
                 timeline_limit: int = TIMELINE_LIMIT, sync_timeout_ms: int = SYNC_TIMEOUT_MS) -> None:
        self.account = account
        self.rooms = rooms
        self.dms = dms
        self.invitations = invitations
        self.crypto = crypto
        self.in_flight = in_flight
        self.command_prefix = command_prefix
        self._timeline_limit = timeline_limit
        self._sync_timeout_ms = sync_timeout_ms
        self.sink: EventSink | None = None
        self.stopping = False
        """The adapter stops: no new sync starts."""
        self.connected = False
        """The last sync request was answered."""
        self.first_sync = asyncio.Event()
        self.first_handled = False
        """The first sync's events are committed: until then this process is not ready."""
        self._since: str | None = None
        """The sync token up to which every event is committed by the engine."""
        self._stored_since: str | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._polls_voted: OrderedDict[str, None] = OrderedDict()
        """Polls this process has marked as voted on (a mark is written once per poll)."""
        self._task: asyncio.Task[None] | None = None
        self._halt = False
        self._interruptible = False
        self._started_wall = time.time()
        """When this process started (wall clock, as the homeserver stamps events): what was
        said in a room after the bot joined it and after this start is answered, not history."""
        self._count = 0
        self._done = asyncio.Condition()
        self._delivered = 0
        self._last_sync: float | None = None
        self._sync_since: float | None = None

    async def load(self) -> None:
        """The stored sync token (another process may have moved it on since we started)."""
        since = await self.account.kv.get(NAMESPACE, KV_NEXT_BATCH)
        self._since = since if isinstance(since, str) and since else None
        self._stored_since = self._since

    # -- running and stopping ---------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        self._sync_since = asyncio.get_running_loop().time()
        self._last_sync = None
        self._task = asyncio.create_task(self._run(), name="matrix-sync")
        return self._task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def lag(self) -> float | None:
        """Seconds since the last sync was handled (None where this process does not sync)."""
        if not self.running or self._sync_since is None:
            return None
        return asyncio.get_running_loop().time() - (self._last_sync or self._sync_since)

    async def end(self) -> None:
        """Stop the sync loop: a long poll or a backoff is cut short; events being handed to
        the engine are finished first (bounded); the sync token is stored."""
        task, self._task = self._task, None
        if task is None:
            return
        self._halt = True
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
            self._halt = False
            self.connected = False

    async def wait_synced(self, count: int = 1, within: float = 30.0) -> None:
        """Wait until `count` more syncs have been handled (tests and the demo use it)."""
        async with self._done:
            target = self._count + count
            await asyncio.wait_for(self._done.wait_for(lambda: self._count >= target), within)

    async def _idle(self, delay: float) -> None:
        """A backoff that `end()` may cut short."""
        self._interruptible = True
        try:
            await asyncio.sleep(delay)
        finally:
            self._interruptible = False

    # -- the loop ---------------------------------------------------------------------------

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
        backoff = Backoff()
        first = True
        while not self.stopping and not self._halt:
            fresh = self._since is None
            try:
                self._interruptible = True
                response = await self.account.client.sync(
                    timeout=0 if first else self._sync_timeout_ms,
                    sync_filter=self._sync_filter(),
                    since=self._since,
                    # Full state on the first sync after a restart, so nio knows every
                    # room's members and encryption before the first send.
                    full_state=True if first else None,
                )
            except (ClientConnectionError, TimeoutError) as exc:
                self.connected = False
                delay = backoff.next()
                log.warning("Matrix: sync failed (%s); retrying in %.1f s", exc or type(exc).__name__, delay)
                await self._idle(delay)
                continue
            finally:
                self._interruptible = False
            if not isinstance(response, SyncResponse):
                self.connected = False
                await self._sync_error(response, backoff)
                continue
            self.connected = True
            self.first_sync.set()
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
                self.account.client.next_batch = self._since or ""
                await self._idle(delay)
                continue
            backoff.reset()
            first = False
            self.first_handled = True
            # Everything in this sync is committed: the token may advance (in memory now; in
            # the store below, or by end() if it interrupts the wait for replies).
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
            async with self._done:
                self._count += 1
                self._done.notify_all()
            await self.crypto.housekeeping()

    async def _replies_first(self) -> None:
        """Let the answer to what we just delivered go out before the next long poll: the
        engine commits, then sends (a few ms later); a sync request arriving at the homeserver
        at the same moment makes it serve both at once and delays the answer members wait
        for. The next events are not lost meanwhile: they wait in the homeserver."""
        loop = asyncio.get_running_loop()
        sends = self.in_flight
        deadline = loop.time() + REPLY_WAIT_MAX_S
        grace_until = loop.time() + REPLY_GRACE_S
        self._interruptible = True
        try:
            while not self.stopping and not self._halt:
                now = loop.time()
                if now >= deadline:
                    return
                if sends.count:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(sends.idle.wait(), deadline - now)
                    continue
                if now >= grace_until:
                    return
                sends.started.clear()
                try:
                    await asyncio.wait_for(sends.started.wait(), grace_until - now)
                except TimeoutError:
                    return
        finally:
            self._interruptible = False

    async def _persist_since(self) -> None:
        if self._since is not None and self._since != self._stored_since:
            await self.account.kv.put(NAMESPACE, KV_NEXT_BATCH, self._since)
            self._stored_since = self._since

    async def _sync_error(self, response: Any, backoff: Backoff) -> None:
        code = getattr(response, "status_code", None)
        if code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
            await self._relogin()
            return
        delay = backoff.next(retry_after(response))
        log.warning("Matrix: sync refused (%s); retrying in %.1f s", response, delay)
        await self._idle(delay)

    async def _relogin(self) -> None:
        """The token was revoked: log in again with the password (a new device)."""
        account = self.account
        section = account.section
        if not (section.password_env and account.env.get(section.password_env)):
            log.error("Matrix: the access token of %s was revoked and no password is configured;"
                      " set $%s", account.user_id, section.access_token_env)
            await self._idle(30)
            return
        await save_session(account.kv, Session(account.user_id, "", ""))
        await account.client.close()
        account.client = account.new_client()
        try:
            await account.open()
        except (TransientError, ClientConnectionError, TimeoutError) as exc:
            log.warning("Matrix: cannot log in again yet: %s", exc)
            await self._idle(5)

    # -- handling one sync ------------------------------------------------------------------

    async def _handle(self, response: SyncResponse, skip_timeline: bool) -> None:
        for room_id, info in response.rooms.invite.items():
            await self.invitations.on_invite(room_id, info.invite_state)
        for room_id in response.rooms.leave:
            channel = self.rooms.channel_of.get(room_id)
            if channel is not None:
                log.warning("Matrix: the bot is no longer in %s (%s)", channel, room_id)
            await self.dms.forget(room_id)
        user_id = self.account.user_id
        if skip_timeline:
            # First start ever: the rooms' past is history, not commands to answer now; what
            # was said after the bot joined, since this process started, is for it.
            log.info("Matrix: first sync; %d room(s), past messages are not replayed",
                     len(response.rooms.join))
            for room_id, info in response.rooms.join.items():
                await self._deliver(room_id, since_own_join(list(info.timeline.events), user_id,
                                                            self._started_wall))
            return
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and self._since is not None and self._wanted(room_id):
                older = await fill_gap(self.account.client, room_id, info.timeline.prev_batch, self._since)
                known = {getattr(e, "event_id", None) for e in events}
                events = [e for e in older if getattr(e, "event_id", None) not in known] + events
            await self._deliver(room_id, after_own_join(events, user_id))
        await self.crypto.retry(self._redeliver)

    def _wanted(self, room_id: str) -> bool:
        return room_id in self.rooms.channel_of or room_id in self.dms.partner_of

    def _view(self, room_id: str) -> RoomView:
        room = self.account.client.rooms.get(room_id)

        def name(user: str) -> str | None:
            if room is None:
                return None
            found = room.users.get(user)
            return getattr(found, "display_name", None) or None

        return RoomView(room_id=room_id, bot_user_id=self.account.user_id,
                        command_prefix=self.command_prefix,
                        is_direct=room_id in self.dms.partner_of, display_name=name)

    async def _deliver(self, room_id: str, events: Sequence[Any]) -> None:
        if not self._wanted(room_id):
            return
        view = self._view(room_id)
        for event in events:
            event_id = getattr(event, "event_id", None)
            if not isinstance(event_id, str) or event_id in self._seen:
                continue
            if isinstance(event, MegolmEvent):
                await self.crypto.park(room_id, event)
            else:
                await self._to_engine(event.source, view)
            self._remember(event_id)

    async def _redeliver(self, source: Mapping[str, Any], room_id: str) -> None:
        await self._to_engine(source, self._view(room_id))

    async def _to_engine(self, source: Mapping[str, Any], view: RoomView) -> None:
        await self.dms.track_membership(source, view)
        inbound = translate(source, self._as_channel(view))
        if inbound is None:
            return
        if isinstance(inbound, InboundChoice) and source.get("type") in POLL_RESPONSE_TYPES:
            await self._voted(inbound.target)
        assert self.sink is not None
        await self.sink(inbound)
        self._delivered += 1

    async def _voted(self, poll: str) -> None:
        """A poll someone voted on is never edited again (`adapters.matrix.outbound`): marked
        before the vote reaches the engine, whose answer may be an edit; once per poll and process."""
        if poll in self._polls_voted:
            return
        await self.account.kv.put(NAMESPACE, kv_key("voted", poll), True)
        self._polls_voted[poll] = None
        if len(self._polls_voted) > SEEN_IDS:
            self._polls_voted.popitem(last=False)

    def _as_channel(self, view: RoomView) -> RoomView:
        """Bound rooms are named as the config names them (an alias stays an alias)."""
        channel = self.rooms.channel_of.get(view.room_id, view.room_id)
        if channel == view.room_id:
            return view
        return RoomView(room_id=channel, bot_user_id=view.bot_user_id,
                        command_prefix=view.command_prefix, is_direct=view.is_direct,
                        display_name=view.display_name)

    def _remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)
