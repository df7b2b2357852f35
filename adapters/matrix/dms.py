"""Direct conversations on Matrix: one room per member (remembered, else found in `m.direct`, else created), and the invitations the bot accepts."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from nio import JoinResponse, RoomCreateResponse, RoomPreset

from adapters.matrix.account import Account, quoted, raise_for
from adapters.matrix.rooms import Rooms
from adapters.matrix.session import NAMESPACE
from adapters.matrix.translate import RoomView
from bot.adapter import TransientError

log = logging.getLogger(__name__)

DM_WAIT_S = 15.0
KV_DM_ROOMS = "dm_rooms"


class DirectRooms:
    """The one-to-one rooms with members, kept in the store so a restart reuses them."""

    def __init__(self, account: Account, next_sync: Callable[[], Awaitable[None]]) -> None:
        self.account = account
        self._next_sync = next_sync
        """Waits for the next sync to be handled (TimeoutError after a second)."""
        self.partner_of: dict[str, str] = {}
        """DM room id → the member it is with."""
        self._created: set[str] = set()

    async def load(self) -> None:
        dm = await self.account.kv.get(NAMESPACE, KV_DM_ROOMS)
        self.partner_of = {str(k): str(v) for k, v in dm.items()} if isinstance(dm, Mapping) else {}

    async def _save(self) -> None:
        await self.account.kv.put(NAMESPACE, KV_DM_ROOMS, self.partner_of)

    async def add(self, room_id: str, user_id: str) -> None:
        self.partner_of[room_id] = user_id
        await self._save()

    async def forget(self, room_id: str) -> None:
        """The bot left the room: it is no longer the way to this member."""
        if self.partner_of.pop(room_id, None) is not None:
            await self._save()

    async def track_membership(self, source: Mapping[str, Any], view: RoomView) -> None:
        if not view.is_direct or source.get("type") != "m.room.member":
            return
        partner = self.partner_of.get(view.room_id)
        if source.get("state_key") == partner and (source.get("content") or {}).get("membership") in ("leave", "ban"):
            # They left the conversation: the next DM opens a new one.
            self.partner_of.pop(view.room_id, None)
            await self._save()

    async def room_for(self, user_id: str) -> str:
        """The one-to-one room with `user_id`: remembered, else found, else created."""
        for room_id, partner in self.partner_of.items():
            if partner == user_id and self._usable(room_id, user_id):
                return room_id
        found = await self._listed(user_id)
        if found is not None:
            return found
        account = self.account
        preset = RoomPreset.trusted_private_chat
        initial_state = []
        if account.section.encryption:
            # Private answers (nominations, objections) stay private: encrypt like Element does.
            initial_state.append({"type": "m.room.encryption", "state_key": "",
                                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
        response = await account.client.room_create(is_direct=True, invite=[user_id], preset=preset,
                                                    initial_state=initial_state)
        if not isinstance(response, RoomCreateResponse):
            raise_for(response, f"open a direct conversation with {user_id}")
        room_id = str(response.room_id)
        self.partner_of[room_id] = user_id
        self._created.add(room_id)
        await self._save()
        await self._mark_direct(user_id, room_id)
        log.info("Matrix: opened a direct conversation with %s", user_id)
        await self._wait_for_room(room_id, user_id)
        return room_id

    def _usable(self, room_id: str, user_id: str) -> bool:
        room = self.account.client.rooms.get(room_id)
        if room is None:
            # Created by this process and not synced yet: still ours. Otherwise the bot is no
            # longer in it (the first sync after start lists every joined room).
            return room_id in self._created
        return user_id in room.users

    async def _listed(self, user_id: str) -> str | None:
        """A DM room the account data lists (created before a crash lost our own record)."""
        direct = await self._account_data("m.direct")
        for room_id in reversed(direct.get(user_id, []) if isinstance(direct, Mapping) else []):
            room = self.account.client.rooms.get(room_id)
            if room is not None and user_id in room.users:
                await self.add(room_id, user_id)
                return str(room_id)
        return None

    async def _wait_for_room(self, room_id: str, member: str) -> None:
        """Until a sync shows the new room with `member` in it (invited or joined). A sync can
        catch the room between its creation and the invite: an encrypted message sent then
        would share its key with nobody but the bot, and the member could never read it."""
        deadline = time.monotonic() + DM_WAIT_S
        while not self.account.knows(room_id, member) and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await self._next_sync()
        if not self.account.knows(room_id, member):
            raise TransientError(f"the new room {room_id} has not synced yet", retry_after=2)

    async def _account_data(self, event_type: str) -> Any:
        account = self.account
        path = f"/_matrix/client/v3/user/{quoted(account.user_id)}/account_data/{quoted(event_type)}"
        response = await account.client.send("GET", path, headers=account.auth())
        async with response:
            if response.status != 200:
                return {}
            return await response.json()

    async def _mark_direct(self, user_id: str, room_id: str) -> None:
        """Record the room in the bot's `m.direct` so clients show it as a DM and a lost local
        record can be recovered."""
        account = self.account
        direct = await self._account_data("m.direct")
        direct = dict(direct) if isinstance(direct, Mapping) else {}
        rooms = [r for r in direct.get(user_id, []) if r != room_id] + [room_id]
        direct[user_id] = rooms
        path = f"/_matrix/client/v3/user/{quoted(account.user_id)}/account_data/m.direct"
        response = await account.client.send("PUT", path, json.dumps(direct),
                                             headers={**account.auth(), "Content-Type": "application/json"})
        async with response:
            if response.status != 200:
                log.warning("Matrix: cannot update m.direct: HTTP %s", response.status)


class Invitations:
    """Which invitations the bot accepts: to a bound room, and to a direct conversation with
    a member of the network; the others are ignored (and said so once)."""

    def __init__(self, account: Account, rooms: Rooms, dms: DirectRooms) -> None:
        self.account = account
        self.rooms = rooms
        self.dms = dms
        self._ignored: set[str] = set()

    async def on_invite(self, room_id: str, state: Sequence[Any]) -> None:
        account, rooms = self.account, self.rooms
        inviter: str | None = None
        is_direct = False
        aliases: set[str] = set()
        for event in state:
            if getattr(event, "state_key", None) == account.user_id and getattr(event, "membership", None) == "invite":
                inviter = getattr(event, "sender", None)
                is_direct = bool((getattr(event, "content", None) or {}).get("is_direct"))
            alias = getattr(event, "canonical_alias", None)
            if isinstance(alias, str):
                aliases.add(alias)
        configured = (room_id in rooms.configured or room_id in rooms.channel_of
                      or bool(aliases & set(rooms.configured)))
        if configured:
            if not account.section.join_rooms:
                return
            channel = rooms.channel_of.get(room_id) or (
                room_id if room_id in rooms.configured else sorted(aliases & set(rooms.configured))[0])
            joined = await account.client.join(room_id)
            if isinstance(joined, JoinResponse):
                rooms.bind_one(channel, room_id)
                log.info("Matrix: joined %s on %s's invitation", channel, inviter)
            else:
                log.warning("Matrix: cannot join %s: %s", channel, joined)
            return
        if is_direct and inviter is not None and rooms.has_member(inviter):
            joined = await account.client.join(room_id)
            if isinstance(joined, JoinResponse):
                await self.dms.add(room_id, inviter)
                log.info("Matrix: accepted a direct conversation with %s", inviter)
            return
        if room_id not in self._ignored:
            self._ignored.add(room_id)
            log.info("Matrix: ignoring an invitation to %s from %s: not a room of the network",
                     room_id, inviter)
