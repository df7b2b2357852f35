"""HTTP mode against FakeSlack: signed requests only, acks within 3 s, retries handled once, buttons and modals."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlencode

from adapters.slack.blocks import ACTION_PREFIX
from bot.adapter import Outgoing
from bot.kernel.i18n import Msg
from bot.kernel.model import Choice, InboundChoice, InboundCommand, InboundMessage, OpenForm, Post
from tests.fakes.slack_fake import SignedRequest, signed_command, signed_event, signed_interaction
from tests.integration.test_slack_adapter_kit import (
    ALICE,
    BOB,
    GENERAL,
    SECRET,
    TEAM,
    RecordingSink,
    Rig,
    rig,
)

ACK_LIMIT_S = 3.0  # Slack's rule for every ack


def say(text: str) -> Msg:
    return Msg("core.help.command_word", fr=text, en=text)


CHOICES = [
    Choice(id="consent", label=Msg("consent.choice.consent"), emoji="✅"),
    Choice(id="objection", label=Msg("consent.choice.objection"), emoji="✋"),
]


async def _proposal(r: Rig, key: str = "post-1") -> str:
    post = Post(channel="general", text=say("Proposition : acheter un four"), choices=CHOICES)
    delivery = await r.adapter.perform(Outgoing(action=post, key=key, channel=GENERAL))
    assert delivery.message_id is not None
    return delivery.message_id


def _message_event(r: Rig, user: str, text: str, thread_ts: str | None = None) -> dict[str, object]:
    event = r.fake.user_message(TEAM, GENERAL, user, text, thread_ts=thread_ts)
    return r.fake.event_callback(TEAM, event)


async def test_a_signed_event_is_committed_then_acked(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        status, _, took = await r.send(
            signed_event(_message_event(r, ALICE, "!reseau aide"), SECRET)
        )
        assert status == 200 and took < ACK_LIMIT_S
        (event,) = r.sink.events
        assert isinstance(event, InboundCommand)
        assert (event.text, event.sender, event.channel, event.account_scope) == (
            "aide",
            ALICE,
            GENERAL,
            TEAM,
        )
        assert r.fake.errors == []


async def test_forged_stale_unsigned_and_tampered_requests_are_rejected(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        body = _message_event(r, ALICE, "!reseau aide")
        forged = signed_event(body, "not-the-signing-secret")
        stale = signed_event(body, SECRET, timestamp=int(time.time()) - 6 * 60)
        good = signed_event(body, SECRET)
        unsigned = SignedRequest({"content-type": "application/json"}, good.body)
        tampered = SignedRequest(good.headers, good.body.replace("aide", "tirage"))
        for request in (forged, stale, unsigned, tampered):
            status, _, _ = await r.send(request)
            assert status == 401
        assert r.sink.calls == []


async def test_url_verification_answers_the_challenge(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        body = {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
        status, text, _ = await r.send(signed_event(body, SECRET))
        assert status == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text


async def test_a_retried_event_is_handled_once(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        body = _message_event(r, BOB, "une question ?", thread_ts=await _proposal(r))
        first = await r.send(signed_event(body, SECRET))
        again = await r.send(signed_event(body, SECRET, retry_num=1, retry_reason="http_timeout"))
        third = await r.send(signed_event(body, SECRET, retry_num=2, retry_reason="http_error"))
        assert [first[0], again[0], third[0]] == [200, 200, 200]
        assert len(r.sink.calls) == 3
        (event,) = r.sink.events
        assert isinstance(event, InboundMessage) and event.thread_of is not None


async def test_every_ack_is_within_three_seconds_even_when_the_commit_is_slow(
    tmp_path: Path,
) -> None:
    sink = RecordingSink(delay=4.0)
    async with rig(tmp_path, sink=sink) as r:
        body = _message_event(r, ALICE, "!reseau aide")
        status, _, took = await r.send(signed_event(body, SECRET))
        # Not committed in time: not acknowledged, so Slack delivers it again.
        assert took < ACK_LIMIT_S and status >= 500
        command = signed_command(r.fake.slash_command(TEAM, ALICE, GENERAL, "aide"), SECRET)
        status, _, took = await r.send(command)
        # A command is never retried by Slack: acked now, its commit goes on.
        assert took < ACK_LIMIT_S and status == 200
        sink.delay = 0.0
        status, _, took = await r.send(signed_event(body, SECRET, retry_num=1))
        assert status == 200 and took < ACK_LIMIT_S
        await sink.wait_for(2, timeout=10)
        assert sorted(e.kind for e in sink.events) == ["command", "command"]
        assert len({e.event_id for e in sink.events}) == 2


async def test_when_the_store_is_down_nothing_is_acknowledged_as_handled(tmp_path: Path) -> None:
    sink = RecordingSink(fail=True)
    async with rig(tmp_path, sink=sink) as r:
        ts = await _proposal(r)
        status, _, _ = await r.send(signed_event(_message_event(r, ALICE, "!reseau aide"), SECRET))
        assert status >= 500
        # The member who typed a command or clicked is told to try again.
        status, text, _ = await r.send(
            signed_command(r.fake.slash_command(TEAM, ALICE, GENERAL, "aide"), SECRET)
        )
        assert status == 200 and "Désolé" in text
        click = r.fake.block_action(TEAM, BOB, GENERAL, ts, ACTION_PREFIX + "consent")
        status, _, _ = await r.send(signed_interaction(click, SECRET))
        assert status == 200
        await _until(lambda: len(r.fake.responses) == 1)
        assert r.fake.responses[0].body["response_type"] == "ephemeral"
        assert "Désolé" in r.fake.responses[0].body["text"]
        assert r.fake.errors == []


async def _until(predicate: object, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_slash_command_is_acked_and_keeps_its_reply_handle(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        fields = r.fake.slash_command(
            TEAM, ALICE, GENERAL, "decision «Acheter un four» vendredi 18h"
        )
        status, text, took = await r.send(signed_command(fields, SECRET))
        assert status == 200 and text == "" and took < ACK_LIMIT_S
        (event,) = r.sink.events
        assert isinstance(event, InboundCommand)
        assert event.text == "decision «Acheter un four» vendredi 18h"
        assert event.reply_handle["response_url"] == fields["response_url"]
        assert event.reply_handle["trigger_id"] == fields["trigger_id"]
        assert event.sender_name == "alice"


async def test_buttons_become_choices(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        ts = await _proposal(r)
        for user, choice in ((ALICE, "consent"), (BOB, "objection")):
            click = r.fake.block_action(TEAM, user, GENERAL, ts, ACTION_PREFIX + choice)
            status, _, took = await r.send(signed_interaction(click, SECRET))
            assert status == 200 and took < ACK_LIMIT_S
        events = r.sink.events
        assert [
            (e.sender, e.choices, e.target) for e in events if isinstance(e, InboundChoice)
        ] == [(ALICE, ["consent"], ts), (BOB, ["objection"], ts)]
        assert r.fake.errors == []


async def test_a_modal_objection_needs_its_reason(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        ts = await _proposal(r)
        form = OpenForm(
            member="bob",
            channel="general",
            form="objection",
            title=say("Objection"),
            fields=[
                {"id": "reason", "label": Msg("consent.objection.form_reason"), "multiline": True}
            ],
            fallback=say("Dites pourquoi dans le fil."),
            context={"ref": "proposal"},
        )
        opened = await r.adapter.perform(
            Outgoing(
                action=form,
                key="form-1",
                channel=GENERAL,
                recipient=BOB,
                message_id=ts,
                reply_handle={"trigger_id": r.fake.make_trigger_id(TEAM, BOB)},
            )
        )
        view_id = opened.message_id
        assert view_id in r.fake.views(team_id=TEAM)

        blank = r.fake.view_submission(
            TEAM,
            BOB,
            view_id,
            {"field_reason": {"reason": {"type": "plain_text_input", "value": "  "}}},
        )
        status, text, _ = await r.send(signed_interaction(blank, SECRET))
        answer = json.loads(text)
        assert status == 200 and answer["response_action"] == "errors"
        assert answer["errors"] == {"field_reason": "Ce champ est obligatoire."}
        assert r.sink.events == []

        filled = r.fake.view_submission(
            TEAM,
            BOB,
            view_id,
            {
                "field_reason": {
                    "reason": {"type": "plain_text_input", "value": "Trop cher pour nous"}
                }
            },
        )
        status, text, took = await r.send(signed_interaction(filled, SECRET))
        assert status == 200 and text == "" and took < ACK_LIMIT_S
        (event,) = r.sink.events
        assert isinstance(event, InboundChoice)
        assert (event.target, event.choices, event.values) == (
            ts,
            ["objection"],
            {"reason": "Trop cher pour nous"},
        )
        assert r.fake.errors == []


async def test_healthz(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        async with r.http.get(r.url + "/healthz") as resp:
            assert resp.status == 200
            assert (await resp.json())["ok"] is True
        # Only Slack's requests go to Bolt: a form post without signature is refused.
        async with r.http.post(
            r.url + "/slack/events",
            data=urlencode({"payload": "{}"}),
            headers={"content-type": "application/x-www-form-urlencoded"},
        ) as resp:
            assert resp.status == 401
