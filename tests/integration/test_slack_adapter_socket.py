"""Socket Mode end to end over a local WebSocket: envelopes acked with their envelope_id, retries handled once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.slack.blocks import ACTION_PREFIX
from bot.adapter import Outgoing
from bot.kernel.i18n import Msg
from bot.kernel.model import (
    Choice,
    InboundChoice,
    InboundCommand,
    InboundMembership,
    InboundReaction,
    Post,
)
from tests.integration.test_slack_adapter_kit import (
    ALICE,
    BOB,
    CHLOE,
    GENERAL,
    TEAM,
    RecordingSink,
    rig,
)

ACK_LIMIT_S = 3.0


async def test_envelopes_are_acked_with_their_envelope_id(tmp_path: Path) -> None:
    async with rig(tmp_path, mode="socket", signing_secret=None) as r:
        fake = r.fake
        assert r.adapter.http is None  # no public URL needed
        assert r.adapter.connected()
        post = Post(
            channel="general",
            text=Msg("core.help.command_word", fr="Réunion jeudi", en="x"),
            choices=[Choice(id="yes", label=Msg("consent.choice.consent"), emoji="✅")],
        )
        ts = (
            await r.adapter.perform(Outgoing(action=post, key="rsvp-1", channel=GENERAL))
        ).message_id
        assert ts is not None

        sent = [
            await fake.send_envelope(
                "slash_commands", fake.slash_command(TEAM, ALICE, GENERAL, "aide")
            ),
            await fake.send_envelope(
                "events_api",
                fake.event_callback(
                    TEAM, fake.user_reaction(TEAM, GENERAL, ts, BOB, "white_check_mark")
                ),
            ),
            await fake.send_envelope(
                "interactive", fake.block_action(TEAM, CHLOE, GENERAL, ts, ACTION_PREFIX + "yes")
            ),
            await fake.send_envelope(
                "events_api",
                fake.event_callback(TEAM, fake.member_joined(TEAM, GENERAL, "U0DAVID")),
            ),
        ]
        for envelope_id in sent:
            ack = await fake.wait_ack(envelope_id, timeout=ACK_LIMIT_S)
            assert ack.envelope_id == envelope_id and ack.latency_s < ACK_LIMIT_S
        events = await r.sink.wait_for(4)
        kinds = {type(e) for e in events}
        assert kinds == {InboundCommand, InboundReaction, InboundChoice, InboundMembership}
        assert fake.errors == []


async def test_a_retried_envelope_is_handled_once(tmp_path: Path) -> None:
    async with rig(tmp_path, mode="socket", signing_secret=None) as r:
        fake = r.fake
        body = fake.event_callback(TEAM, fake.user_message(TEAM, GENERAL, ALICE, "!reseau aide"))
        first = await fake.send_envelope("events_api", body)
        retry = await fake.send_envelope(
            "events_api", body, retry_attempt=1, retry_reason="timeout"
        )
        for envelope_id in (first, retry):
            await fake.wait_ack(envelope_id)
        assert len(r.sink.calls) == 2 and len(r.sink.events) == 1


async def test_an_uncommitted_event_is_not_acked_and_a_failed_command_says_so(
    tmp_path: Path,
) -> None:
    sink = RecordingSink(fail=True)
    async with rig(tmp_path, mode="socket", signing_secret=None, sink=sink) as r:
        fake = r.fake
        event = await fake.send_envelope(
            "events_api",
            fake.event_callback(TEAM, fake.user_message(TEAM, GENERAL, ALICE, "!reseau aide")),
        )
        command = await fake.send_envelope(
            "slash_commands", fake.slash_command(TEAM, ALICE, GENERAL, "aide")
        )
        ack = await fake.wait_ack(command)
        assert ack.payload is not None and "Désolé" in ack.payload["text"]
        with pytest.raises(TimeoutError):
            # Slack re-sends an envelope that is not acked: the event is not lost.
            await fake.wait_ack(event, timeout=1.0)
        assert fake.errors == []


async def test_reconnects_when_slack_recycles_the_connection(tmp_path: Path) -> None:
    async with rig(tmp_path, mode="socket", signing_secret=None) as r:
        fake = r.fake
        opened = len(fake.calls_to("apps.connections.open"))
        await fake.send_socket_disconnect()
        for _ in range(200):
            if len(fake.calls_to("apps.connections.open")) > opened and fake.socket_connections:
                break
            await asyncio.sleep(0.05)
        envelope = await fake.send_envelope(
            "slash_commands", fake.slash_command(TEAM, BOB, GENERAL, "aide")
        )
        await fake.wait_ack(envelope)
        assert [e.sender for e in await r.sink.wait_for(1)] == [BOB]
        assert all(c.token == fake.app_token for c in fake.calls_to("apps.connections.open"))
