"""End-to-end encryption on Matrix: the device's keys kept up to date between syncs, and encrypted events not readable yet, kept and retried until their key arrives."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import ClientConnectionError
from nio import MegolmEvent
from nio.exceptions import EncryptionError, LocalProtocolError

from adapters.matrix.account import Account, quietly
from adapters.matrix.session import NAMESPACE

log = logging.getLogger(__name__)

PENDING_MAX = 1_000
PENDING_GIVE_UP_S = 24 * 3600.0
KV_PENDING = "undecrypted"

Redeliver = Callable[[Mapping[str, Any], str], Awaitable[None]]
"""Hands a decrypted event's source, from the given room, to the engine."""


class Encryption:
    """The device's keys and the encrypted events waiting for theirs (kept in the store, so
    the sync token may move past them)."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.pending: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Future[None]] = set()
        self._keys_lock = asyncio.Lock()

    async def load(self) -> None:
        pending = await self.account.kv.get(NAMESPACE, KV_PENDING)
        self.pending = [p for p in pending if isinstance(p, dict)] if isinstance(pending, list) else []

    async def _save(self) -> None:
        await self.account.kv.put(NAMESPACE, KV_PENDING, self.pending)

    async def park(self, room_id: str, event: Any) -> None:
        """Keep an event this device cannot decrypt yet, durably before the sync token moves
        past it, and ask for its key."""
        account = self.account
        log.warning(
            "Matrix: cannot decrypt event %s in %s from %s (session %s): no room key for this "
            "device yet. It is kept and retried when the key arrives; if it never does, the "
            "sender's client did not share it with %s (device %s).",
            event.event_id, room_id, event.sender, event.session_id, account.user_id,
            account.client.device_id)
        if len(self.pending) >= PENDING_MAX:
            dropped = self.pending.pop(0)
            log.error("Matrix: too many undecryptable events; giving up on %s", dropped.get("event_id"))
        source = dict(event.source)
        source["room_id"] = room_id
        self.pending.append({"event_id": event.event_id, "room_id": room_id,
                             "first_seen": time.time(), "source": source})
        # Ask the sender's devices to share the key (honoured by clients that trust us).
        self._background(self._request_key(event))
        await self._save()

    async def _request_key(self, event: Any) -> None:
        try:
            await self.account.client.request_room_key(event)
        except (LocalProtocolError, ClientConnectionError, TimeoutError) as exc:
            log.debug("Matrix: no key request for %s: %s", event.event_id, exc)

    def _background(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def retry(self, redeliver: Redeliver) -> None:
        """Decrypt what now can be and hand it on; give up on what waited too long."""
        olm = self.account.client.olm
        if not self.pending or olm is None:
            return
        keep: list[dict[str, Any]] = []
        changed = False
        for item in self.pending:
            source = item.get("source") or {}
            event = MegolmEvent.from_dict(dict(source))
            decrypted = None
            if isinstance(event, MegolmEvent):
                event.room_id = str(item.get("room_id", ""))
                try:
                    decrypted = olm.decrypt_megolm_event(event)
                except EncryptionError:
                    decrypted = None
            if decrypted is not None and hasattr(decrypted, "source"):
                log.info("Matrix: decrypted event %s now that its key arrived", item.get("event_id"))
                await redeliver(decrypted.source, event.room_id)
                changed = True
            elif time.time() - float(item.get("first_seen", 0)) > PENDING_GIVE_UP_S:
                log.error("Matrix: giving up on encrypted event %s in %s: its key never arrived",
                          item.get("event_id"), item.get("room_id"))
                changed = True
            else:
                keep.append(item)
        if changed:
            self.pending = keep
            await self._save()

    async def housekeeping(self) -> None:
        """What nio's sync_forever does between syncs: keys and to-device messages."""
        client = self.account.client
        if client.olm is None:
            return
        await quietly(client.send_to_device_messages(), "send to-device messages")
        if client.should_upload_keys:
            await quietly(client.keys_upload(), "upload the device keys")
        await self.query_keys()
        if client.should_claim_keys:
            await quietly(client.keys_claim(client.get_users_for_key_claiming()), "claim keys")

    async def query_keys(self) -> None:
        """Learn the devices of the encrypted rooms' members. Done before every encrypted send
        too: a room key shared before a member's devices are known never reaches them, and
        that message stays unreadable for them forever."""
        async with self._keys_lock:
            client = self.account.client
            if client.should_query_keys:
                await quietly(client.keys_query(), "query device keys")
