"""The network's rooms on Matrix: the room ids and aliases the config binds, the room ids they resolve to, joining them, their members."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from aiohttp import ClientConnectionError
from nio import JoinedMembersResponse, JoinResponse, RoomResolveAliasResponse

from adapters.matrix.account import Account, raise_for, reported
from bot.adapter import ChannelMember, PermanentError, TransientError

log = logging.getLogger(__name__)


class Rooms:
    """The bound rooms, by the name the engine knows them by and by room id."""

    def __init__(self, account: Account, channels: Iterable[str]) -> None:
        self.account = account
        self.configured = list(dict.fromkeys(channels))
        self.room_of: dict[str, str] = {}
        """Configured platform id (room id or alias) → room id."""
        self.channel_of: dict[str, str] = {}
        """Room id → the platform id the engine knows the channel by."""

    def bind_one(self, channel: str, room_id: str) -> None:
        self.room_of[channel] = room_id
        self.channel_of[room_id] = channel

    async def bind(self) -> None:
        """Resolve aliases and join the configured rooms (when allowed)."""
        client = self.account.client
        for channel in self.configured:
            room_id = channel
            if channel.startswith("#"):
                resolved = await reported(client.room_resolve_alias(channel), "resolve")
                if isinstance(resolved, RoomResolveAliasResponse):
                    room_id = resolved.room_id
                else:
                    log.warning("Matrix: cannot resolve the room alias %s (%s)", channel,
                                getattr(resolved, "message", resolved))
                    continue
            self.bind_one(channel, room_id)
            if self.account.section.join_rooms:
                joined = await reported(client.join(room_id), "join")
                if not isinstance(joined, JoinResponse):
                    log.warning("Matrix: cannot join %s (%s): invite %s to the room",
                                channel, getattr(joined, "message", joined), self.account.user_id)

    def room(self, channel: str | None) -> str:
        """The room id to send to for a channel the engine names."""
        if not channel:
            raise PermanentError("no Matrix room given")
        room_id = self.room_of.get(channel)
        if room_id is not None:
            return room_id
        if channel.startswith("!"):
            return channel
        raise TransientError(f"the room alias {channel} is not resolved yet", retry_after=5)

    def has_member(self, user_id: str) -> bool:
        """Whether `user_id` has joined one of the bound rooms (an invitation is not enough)."""
        client = self.account.client
        for room_id in self.channel_of:
            room = client.rooms.get(room_id)
            if room is not None and user_id in room.users and user_id not in room.invited_users:
                return True
        return False

    async def members(self, channel: str) -> Sequence[ChannelMember]:
        room_id = self.room(channel)
        try:
            response = await self.account.client.joined_members(room_id)
        except (ClientConnectionError, TimeoutError) as exc:
            raise TransientError(f"Matrix unreachable: {exc}") from exc
        if not isinstance(response, JoinedMembersResponse):
            raise_for(response, f"list the members of {channel}")
        bot = self.account.user_id
        return [ChannelMember(user_id=m.user_id, display_name=m.display_name or None,
                              is_bot=m.user_id == bot) for m in response.members]
