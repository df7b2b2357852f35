"""The throwaway homeserver works end to end: users, rooms, messages through sync."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    RoomCreateResponse,
    RoomInviteResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from adapters.matrix.devserver import DevHomeserver, RegisteredUser
from tests.fixtures.synapse import synapse_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.synapse]


def _client(server: DevHomeserver, user: RegisteredUser) -> AsyncClient:
    client = AsyncClient(
        server.base_url,
        user.user_id,
        device_id=user.device_id,
        config=AsyncClientConfig(encryption_enabled=False),
    )
    client.restore_login(user.user_id, user.device_id, user.access_token)
    return client


async def test_register_is_idempotent(synapse_server: DevHomeserver) -> None:  # noqa: F811
    name = f"twice-{uuid.uuid4().hex[:8]}"
    first = await synapse_server.register(name, "pw-1")
    second = await synapse_server.register(name, "pw-1")
    assert first.user_id == second.user_id == f"@{name}:{synapse_server.server_name}"
    assert second.access_token and second.access_token != first.access_token


async def test_message_reaches_the_other_member(synapse_server: DevHomeserver) -> None:  # noqa: F811
    suffix = uuid.uuid4().hex[:8]
    alice_user = await synapse_server.register(f"alice-{suffix}", "alice-pw", admin=True)
    bob_user = await synapse_server.register(f"bob-{suffix}", "bob-pw")
    assert alice_user.user_id == f"@alice-{suffix}:localhost"

    alice = _client(synapse_server, alice_user)
    bob = _client(synapse_server, bob_user)
    try:
        created = await alice.room_create(name="Réseau test")
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id
        invited = await alice.room_invite(room_id, bob_user.user_id)
        assert isinstance(invited, RoomInviteResponse), invited

        first = await bob.sync(timeout=0)
        assert isinstance(first, SyncResponse), first
        assert room_id in first.rooms.invite
        joined = await bob.join(room_id)
        assert isinstance(joined, JoinResponse), joined
        # Move bob's sync token past his own join.
        await bob.sync(timeout=0)

        body = f"Bonjour Bob ! {suffix}"
        sent = await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
        assert isinstance(sent, RoomSendResponse), sent

        received: list[RoomMessageText] = []
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            response = await bob.sync(timeout=1000)
            assert isinstance(response, SyncResponse), response
            room = response.rooms.join.get(room_id)
            if room is not None:
                received += [
                    event
                    for event in room.timeline.events
                    if isinstance(event, RoomMessageText) and event.body == body
                ]
        assert received, "bob never saw alice's message"
        assert received[0].sender == alice_user.user_id
        assert received[0].event_id == sent.event_id
    finally:
        await asyncio.gather(alice.close(), bob.close())
