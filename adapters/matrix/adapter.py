"""The Matrix adapter on matrix-nio: a sync loop that never loses an event, idempotent sends; its parts composed for one bot account."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from aiohttp import ClientConnectionError
from nio import AsyncClient

from adapters.matrix.account import Account, Backoff, quiet_nio_logs, quietly
from adapters.matrix.config import MatrixSection
from adapters.matrix.crypto import Encryption
from adapters.matrix.dms import DirectRooms, Invitations
from adapters.matrix.lease import LEASE_TTL_S, SyncLease
from adapters.matrix.outbound import InFlight, Outbound
from adapters.matrix.rooms import Rooms
from adapters.matrix.session import Session
from adapters.matrix.sync import SYNC_TIMEOUT_MS, TIMELINE_LIMIT, SyncLoop
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
from bot.config import Config, secret
from bot.kernel.scenario import Capabilities

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(buttons=False, polls=True, reactions=True, threads=True, edits=True,
                            ephemeral=False, images=True, forms=False, mentions=True)

class MatrixAdapter:
    """Matrix I/O for one bot account: events in through the sink, actions out.

    The parts: the account (settings, store, client), the bound rooms, direct conversations
    and invitations, encryption, the sync loop, the sync lease (several processes), and the
    outbound sends."""

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
        fault: str | None = None,
    ) -> None:
        self.section = section
        self.kv = kv
        self.leases = leases
        """Several processes may run this account: the one holding the lease syncs; all may
        send (plain rooms), since a send is idempotent by its transaction id. Without leases
        this process syncs alone."""
        self.holder_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.command_prefix = command_prefix
        self.store_dir = Path(store_dir if store_dir is not None else section.store_path)
        self._stopping = False
        quiet_nio_logs()
        account = Account(section, kv, store_dir=self.store_dir,
                          env=env if env is not None else os.environ,
                          pickle_key=pickle_key, config_file=config_file)
        self._account = account
        self._rooms = Rooms(account, channels)
        self._dms = DirectRooms(account, next_sync=lambda: self.wait_synced(within=1.0))
        self._crypto = Encryption(account)
        in_flight = InFlight()
        self._sync = SyncLoop(account, self._rooms, self._dms, Invitations(account, self._rooms, self._dms),
                              self._crypto, in_flight, command_prefix=command_prefix,
                              timeline_limit=timeline_limit, sync_timeout_ms=sync_timeout_ms)
        self._lease = (SyncLease(leases, section.user_id, self.holder_id, self._sync, self._load_state,
                                 ttl=lease_ttl) if leases is not None else None)
        self._outbound = Outbound(account, self._rooms, self._dms, self._crypto, in_flight, fault=fault)

    @property
    def client(self) -> AsyncClient:
        """The nio client of the current login (a new login makes a new one)."""
        return self._account.client

    @property
    def session(self) -> Session | None:
        return self._account.session

    @property
    def user_id(self) -> str:
        return self.section.user_id

    @property
    def syncing(self) -> bool:
        """This process runs the account's sync loop (it holds the lease, if there are any)."""
        return self._sync.running

    def connected(self) -> bool:
        if self._stopping:
            return False
        if self._lease is not None and not self.syncing:
            # Standing by: ready once logged in and while another process is seen syncing.
            return self.session is not None and self._lease.ready()
        return self._sync.connected and self._sync.first_handled

    def can_perform(self) -> bool:
        """Whether this process may send now. Encrypted rooms need the room keys and device
        lists only the syncing process keeps, so there only the lease holder sends."""
        return not self.section.encryption or self.leases is None or self.syncing

    def sync_lag(self) -> float | None:
        """Seconds since the last sync was handled (None where this process does not sync)."""
        return self._sync.lag()

    async def wait_synced(self, count: int = 1, within: float = 30.0) -> None:
        """Wait until `count` more syncs have been handled (tests and the demo use it)."""
        await self._sync.wait_synced(count, within)

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        """Log in (or restore the session), join the bound rooms, start syncing; return once
        the first sync has arrived (rooms and encryption state known)."""
        self._sync.sink = sink
        backoff = Backoff()
        while True:
            try:
                await self._open_session()
                break
            except (TransientError, ClientConnectionError, TimeoutError) as exc:
                delay = backoff.next(getattr(exc, "retry_after", None))
                log.warning("Matrix: cannot reach %s to log in (%s); retrying in %.1f s",
                            self.section.homeserver, exc, delay)
                await asyncio.sleep(delay)
        await self._load_state()
        if self.client.should_upload_keys:
            await quietly(self.client.keys_upload(), "upload the device keys")
        await self._rooms.bind()
        first_sync = self._sync.first_sync
        if self._lease is None:
            task = self._sync.start()
            first = asyncio.create_task(first_sync.wait())
            await asyncio.wait({first, task}, return_when=asyncio.FIRST_COMPLETED)
            first.cancel()
            if task.done():
                task.result()  # raises the loop's error
            return
        # With leases: return once this process syncs (first sync arrived) or stands by.
        lease_task = self._lease.start()
        waiters = {asyncio.create_task(first_sync.wait()), asyncio.create_task(self._lease.standing_by.wait())}
        await asyncio.wait({*waiters, lease_task}, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if lease_task.done():
            lease_task.result()

    async def _open_session(self) -> Session:
        if self._lease is None:
            return await self._account.open()
        return await self._lease.login(self._account.open)

    async def _load_state(self) -> None:
        await self._sync.load()
        await self._dms.load()
        await self._crypto.load()

    async def stop(self) -> None:
        """Stop syncing: a long poll or a backoff is interrupted at once; events being handed
        to the engine are finished first (bounded), so a stop acknowledges nothing half-done."""
        self._stopping = True
        self._sync.stopping = True
        if self._lease is not None:
            await self._lease.stop()
        await self._sync.end()
        if self._lease is not None:
            await self._lease.release()
        self._sync.connected = False
        await self.client.close()

    # -- directory and outbound -------------------------------------------------------------

    async def members(self, channel: str) -> Sequence[ChannelMember]:
        return await self._rooms.members(channel)

    async def perform(self, out: Outgoing) -> Delivery:
        return await self._outbound.perform(out)


def build(config: Config, kv: KeyValue, leases: Leases | None = None,
          env: Mapping[str, str] | None = None, fault: str | None = None) -> MatrixAdapter:
    """The adapter for a configured network (called by the composition root): the bound
    Matrix rooms, the command prefix, and the crypto store next to the config file; the
    login's secrets read from `env` (default: the process's environment)."""
    section = config.section("matrix", MatrixSection)
    if section is None:
        raise PermanentError("the config binds Matrix rooms but has no [matrix] section")
    store_dir = Path(section.store_path)
    if not store_dir.is_absolute():
        store_dir = config.path.parent / store_dir
    rooms = config.rooms("matrix")
    pickle_key = secret(section.pickle_key_env, "matrix.pickle_key_env", config.path) \
        if section.pickle_key_env else None
    return MatrixAdapter(section, rooms, kv, command_prefix=config.network.command_prefix,
                         store_dir=store_dir, leases=leases, pickle_key=pickle_key,
                         config_file=str(config.path), env=env, fault=fault)
