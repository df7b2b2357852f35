"""The Slack loopback fake, exercised with the real slack_sdk clients.

These tests pin down what the fake accepts and rejects, so the Slack adapter's
tests can trust an assertion like `fake.errors == []`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack_fake import (
    FakeSlack,
    signed_command,
    signed_event,
    signed_interaction,
)

T1, T2 = "T0000000001", "T0000000002"
TOKEN1, TOKEN2 = "xoxb-1-team-one", "xoxb-2-team-two"
BOT1, BOT2 = "U0BOT000001", "U0BOT000002"
CHANNEL = "C0000000001"
ALICE, BOB = "U0ALICE0001", "U0BOB000001"

VOTE_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Proposition* : adopter la charte"}},
    {
        "type": "actions",
        "block_id": "vote",
        "elements": [
            {
                "type": "button",
                "action_id": "consent",
                "text": {"type": "plain_text", "text": "✅ Consentement"},
                "value": "consent",
                "style": "primary",
            },
            {
                "type": "button",
                "action_id": "object",
                "text": {"type": "plain_text", "text": "✋ Objection"},
                "value": "object",
                "style": "danger",
            },
        ],
    },
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        server.add_workspace(T1, TOKEN1, BOT1, team_name="Réseau Un")
        server.add_workspace(T2, TOKEN2, BOT2, team_name="Réseau Deux")
        server.add_channel(T1, CHANNEL, [ALICE, BOB], name="general")
        yield server


def client(fake: FakeSlack, token: str = TOKEN1, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.base_url, **kwargs)


async def test_valid_message_with_blocks_is_accepted_and_recorded(fake: FakeSlack) -> None:
    web = client(fake)
    blocks = [
        SectionBlock(text="Une proposition"),
        ActionsBlock(elements=[ButtonElement(text="OK", action_id="ok", value="1")]),
    ]
    first = await web.chat_postMessage(channel=CHANNEL, text="Proposition", blocks=blocks)
    second = await web.chat_postMessage(channel=CHANNEL, text="Encore", blocks=VOTE_BLOCKS)

    assert first["ok"] and first["channel"] == CHANNEL
    assert first["message"]["bot_id"] and first["message"]["user"] == BOT1
    assert float(second["ts"]) > float(first["ts"])
    assert all(b.get("block_id") for b in first["message"]["blocks"])  # Slack fills them in
    call = fake.calls_to("chat.postMessage")[1]
    assert call.team_id == T1 and call.token == TOKEN1 and call.encoding == "json"
    assert call.params["blocks"] == VOTE_BLOCKS  # decoded, as sent
    assert fake.errors == []


async def test_form_encoded_body_with_token_param(fake: FakeSlack) -> None:
    anonymous = AsyncWebClient(base_url=fake.base_url)
    response = await anonymous.api_call(
        "chat.postMessage",
        data={"token": TOKEN1, "channel": CHANNEL, "blocks": json.dumps(VOTE_BLOCKS)},
    )
    assert response["ok"]
    call = fake.calls_to("chat.postMessage")[0]
    assert call.encoding == "form" and call.team_id == T1
    assert call.params["blocks"] == VOTE_BLOCKS and "token" not in call.params
    assert fake.errors == []


@pytest.mark.parametrize(
    ("bad_block", "pointer"),
    [
        (  # a button without text
            {"type": "actions", "elements": [{"type": "button", "action_id": "a", "value": "v"}]},
            "/blocks/0/elements/0",
        ),
        ({"type": "carrousel", "text": "?"}, "/blocks/0/type"),  # an unknown block type
        (  # an unknown key: slack_sdk drops it silently, the schema does not
            {"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "colour": "red"},
            "/blocks/0",
        ),
        ({"type": "header", "text": {"type": "mrkdwn", "text": "*no*"}}, "/blocks/0/text/type"),
    ],
)
async def test_invalid_block_is_rejected_and_recorded(
    fake: FakeSlack, bad_block: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client(fake).chat_postMessage(channel=CHANNEL, text="x", blocks=[bad_block])

    body = caught.value.response.data
    assert body["error"] == "invalid_blocks"
    messages = body["response_metadata"]["messages"]
    assert any(f"[json-pointer:{pointer}]" in m for m in messages), messages
    assert [e.error for e in fake.errors] == ["invalid_blocks"]
    assert fake.errors[0].source == "chat.postMessage" and fake.errors[0].team_id == T1
    assert fake.messages(CHANNEL, team_id=T1) == []


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_required_parameters(fake: FakeSlack) -> None:
    web = client(fake)
    with pytest.raises(SlackApiError) as no_text:
        await web.chat_postMessage(channel=CHANNEL)
    with pytest.raises(SlackApiError) as no_channel:
        await web.api_call("chat.postMessage", json={"text": "hello"})
    with pytest.raises(SlackApiError) as bad_metadata:
        await web.chat_postMessage(channel=CHANNEL, text="x", metadata={"event_type": "vote"})

    assert no_text.value.response["error"] == "no_text"
    assert no_channel.value.response["error"] == "invalid_arguments"
    assert no_channel.value.response["response_metadata"]["messages"] == [
        "[ERROR] missing required field: channel"
    ]
    assert bad_metadata.value.response["error"] == "invalid_metadata_schema"
    assert [e.error for e in fake.errors] == [
        "no_text",
        "invalid_arguments",
        "invalid_metadata_schema",
    ]


async def test_two_workspaces_and_their_tokens(fake: FakeSlack) -> None:
    one, two = client(fake, TOKEN1), client(fake, TOKEN2)
    assert (await one.auth_test())["team_id"] == T1
    assert (await two.auth_test())["user_id"] == BOT2
    await two.chat_postMessage(channel="C0000000002", text="hello two")

    with pytest.raises(SlackApiError) as other_team:
        await two.chat_postMessage(channel=CHANNEL, text="wrong team")
    assert other_team.value.response["error"] == "channel_not_found"

    fake.revoke_token(TOKEN2)
    for token in (TOKEN2, "xoxb-never-issued"):
        with pytest.raises(SlackApiError) as denied:
            await client(fake, token).auth_test()
        assert denied.value.response["error"] == "invalid_auth"

    assert [c.team_id for c in fake.calls_to("auth.test")] == [T1, T2, None, None]
    assert [c.team_id for c in fake.calls_to("chat.postMessage")] == [T2, T2]
    assert fake.errors == []  # auth and routing errors are answers, not client bugs


async def test_registered_channel_rules(fake: FakeSlack) -> None:
    web = client(fake)
    fake.add_channel(T1, "C0000000009", [ALICE], bot_is_member=False)
    with pytest.raises(SlackApiError) as unknown:
        await web.chat_postMessage(channel="C0UNKNOWN01", text="x")
    with pytest.raises(SlackApiError) as outside:
        await web.conversations_history(channel="C0000000009")
    members = await web.conversations_members(channel=CHANNEL)
    info = await web.conversations_info(channel=CHANNEL)

    assert unknown.value.response["error"] == "channel_not_found"
    assert outside.value.response["error"] == "not_in_channel"
    assert members["members"] == [ALICE, BOB, BOT1]
    assert info["channel"]["name"] == "general" and info["channel"]["is_member"]


async def test_scripted_failure(fake: FakeSlack) -> None:
    web = client(fake)
    fake.fail_next("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError) as caught:
        await web.chat_postMessage(channel=CHANNEL, text="x")
    assert caught.value.response["error"] == "channel_not_found"
    assert (await web.chat_postMessage(channel=CHANNEL, text="x"))["ok"]


async def test_rate_limit_surfaces_as_429_and_is_retried(fake: FakeSlack) -> None:
    fake.rate_limit_next("chat.postMessage", retry_after_s=7)
    with pytest.raises(SlackApiError) as caught:
        await client(fake).chat_postMessage(channel=CHANNEL, text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"

    fake.rate_limit_next("chat.postMessage", retry_after_s=0)
    patient = client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    response = await patient.chat_postMessage(channel=CHANNEL, text="retried")

    assert response["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 429, 200]
    assert fake.errors == []


async def test_history_with_metadata_threads_and_paging(fake: FakeSlack) -> None:
    web = client(fake)
    posted = []
    for number in range(3):
        response = await web.chat_postMessage(
            channel=CHANNEL,
            text=f"round {number}",
            metadata={"event_type": "maillage_outbox", "event_payload": {"key": f"k{number}"}},
        )
        posted.append(response["ts"])
    reply = await web.chat_postMessage(channel=CHANNEL, text="in thread", thread_ts=posted[0])
    await web.reactions_add(channel=CHANNEL, timestamp=posted[1], name="white_check_mark")

    with_meta = await web.conversations_history(channel=CHANNEL, include_all_metadata=True)
    without = await web.conversations_history(channel=CHANNEL)
    page = await web.conversations_history(channel=CHANNEL, oldest=posted[0], limit=1)
    rest = await web.conversations_history(
        channel=CHANNEL, oldest=posted[0], limit=1, cursor=page["response_metadata"]["next_cursor"]
    )
    thread = await web.conversations_replies(channel=CHANNEL, ts=posted[0])

    assert [m["ts"] for m in with_meta["messages"]] == posted[::-1]  # newest first, no replies
    assert with_meta["messages"][0]["metadata"] == {
        "event_type": "maillage_outbox",
        "event_payload": {"key": "k2"},
    }
    assert all("metadata" not in m for m in without["messages"])
    assert [m["ts"] for m in page["messages"]] == [posted[2]] and page["has_more"]
    assert [m["ts"] for m in rest["messages"]] == [posted[1]] and not rest["has_more"]
    assert rest["messages"][0]["reactions"] == [
        {"name": "white_check_mark", "users": [BOT1], "count": 1}
    ]
    assert [m["ts"] for m in thread["messages"]] == [posted[0], reply["ts"]]
    assert with_meta["messages"][-1]["reply_count"] == 1
    assert fake.errors == []


async def test_dm_update_delete_and_users(fake: FakeSlack) -> None:
    fake.add_user(T1, ALICE, name="alice", real_name="Alice Martin", locale="fr-FR")
    web = client(fake)
    opened = await web.conversations_open(users=ALICE)
    again = await web.conversations_open(users=ALICE)
    dm = opened["channel"]["id"]
    posted = await web.chat_postMessage(channel=dm, text="Bienvenue !")
    await web.chat_update(channel=dm, ts=posted["ts"], text="Bienvenue Alice !")
    user = await web.users_info(user=ALICE, include_locale=True)
    with pytest.raises(SlackApiError) as missing:
        await web.users_info(user="U0NOBODY001")
    ephemeral = await web.chat_postEphemeral(channel=CHANNEL, user=ALICE, text="psst")
    await web.chat_delete(channel=dm, ts=posted["ts"])

    assert dm.startswith("D") and again["channel"]["id"] == dm and again["already_open"]
    assert dm == fake.dm_channel_id(T1, ALICE)
    assert user["user"]["real_name"] == "Alice Martin" and user["user"]["locale"] == "fr-FR"
    assert missing.value.response["error"] == "user_not_found"
    assert ephemeral["message_ts"]
    assert fake.messages(dm, team_id=T1) == []
    assert fake.errors == []


async def test_views_need_a_fresh_trigger_and_a_valid_view(fake: FakeSlack) -> None:
    web = client(fake)
    view = {
        "type": "modal",
        "callback_id": "nominate",
        "title": {"type": "plain_text", "text": "Nomination"},
        "submit": {"type": "plain_text", "text": "Envoyer"},
        "blocks": [
            {
                "type": "input",
                "block_id": "who",
                "label": {"type": "plain_text", "text": "Qui ?"},
                "element": {"type": "users_select", "action_id": "who"},
            }
        ],
    }
    trigger = fake.make_trigger_id(T1, ALICE)
    opened = await web.views_open(trigger_id=trigger, view=view)
    with pytest.raises(SlackApiError) as reused:
        await web.views_open(trigger_id=trigger, view=view)
    updated = await web.views_update(view_id=opened["view"]["id"], view=view)
    with pytest.raises(SlackApiError) as invalid:
        await web.views_open(trigger_id=fake.make_trigger_id(T1), view={**view, "submit": None})

    assert opened["view"]["id"].startswith("V") and updated["view"]["callback_id"] == "nominate"
    assert reused.value.response["error"] == "expired_trigger_id"
    assert invalid.value.response["error"] == "invalid_arguments"
    assert any(
        "submit is required" in m for m in invalid.value.response["response_metadata"]["messages"]
    )
    assert [e.error for e in fake.errors] == ["invalid_arguments"]
    submission = fake.view_submission(T1, ALICE, opened["view"]["id"], {"who": {"who": {}}})
    assert submission["view"]["callback_id"] == "nominate"


async def test_files_upload_v2_end_to_end(fake: FakeSlack) -> None:
    web = client(fake)
    response = await web.files_upload_v2(
        channel=CHANNEL,
        content="organisation,responses\nA,3\n",
        filename="participation.csv",
        title="Participation",
        initial_comment="Le résumé de la semaine",
    )

    file_id = response["file"]["id"]
    upload = fake.files[file_id]
    assert upload.content == b"organisation,responses\nA,3\n" and upload.completed
    assert upload.title == "Participation" and upload.channels == [CHANNEL]
    [shared] = fake.messages(CHANNEL, team_id=T1)
    assert shared.text == "Le résumé de la semaine" and shared.files
    assert shared.files[0]["id"] == file_id
    assert [c.method for c in fake.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert fake.errors == []


async def test_oauth_install_with_token_rotation(fake: FakeSlack) -> None:
    fake.add_oauth_code(
        "code-123", "T0000000003", "xoxe.xoxb-1-first", refresh_token="xoxe-1-r", expires_in=43200
    )
    anonymous = AsyncWebClient(base_url=fake.base_url)
    install = await anonymous.oauth_v2_access(
        client_id=fake.client_id, client_secret=fake.client_secret, code="code-123"
    )
    with pytest.raises(SlackApiError) as reused:
        await anonymous.oauth_v2_access(
            client_id=fake.client_id, client_secret=fake.client_secret, code="code-123"
        )
    refreshed = await anonymous.oauth_v2_access(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        grant_type="refresh_token",
        refresh_token=install["refresh_token"],
    )

    assert install["team"]["id"] == "T0000000003" and install["token_type"] == "bot"
    assert install["access_token"] == "xoxe.xoxb-1-first" and install["expires_in"] == 43200
    assert reused.value.response["error"] == "invalid_code"
    assert refreshed["access_token"] != install["access_token"]
    auth = await client(fake, refreshed["access_token"]).auth_test()
    assert auth["team_id"] == "T0000000003" and auth["bot_id"]


async def test_response_url_posts_are_validated_and_recorded(fake: FakeSlack) -> None:
    url = fake.make_response_url(T1, CHANNEL)
    webhook = AsyncWebhookClient(url)
    good = await webhook.send(text="Décision enregistrée", response_type="ephemeral")
    bad = await webhook.send(blocks=[{"type": "section"}])

    assert good.status_code == 200 and good.body == "ok"
    assert bad.status_code == 400 and bad.body == "invalid_blocks"
    assert [r.body.get("text") for r in fake.responses] == ["Décision enregistrée", None]
    assert [e.source for e in fake.errors] == ["response_url"]


async def test_socket_mode_envelope_and_ack(fake: FakeSlack) -> None:
    received: list[SocketModeRequest] = []

    async def on_request(socket: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        payload = {"text": "Commande reçue"} if request.type == "slash_commands" else None
        await socket.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload=payload)
        )

    socket_client = SocketModeClient(
        app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.base_url)
    )
    socket_client.socket_mode_request_listeners.append(on_request)
    await socket_client.connect()  # type: ignore[no-untyped-call, unused-ignore]
    try:
        event = fake.event_callback(T1, fake.user_message(T1, CHANNEL, ALICE, "bonjour"))
        event_id = await fake.send_envelope("events_api", event, 1, "timeout")
        event_ack = await fake.wait_ack(event_id, timeout=3)
        command = fake.slash_command(T1, ALICE, CHANNEL, "aide")
        command_id = await fake.send_envelope("slash_commands", command)
        command_ack = await fake.wait_ack(command_id, timeout=3)
    finally:
        await socket_client.close()  # type: ignore[no-untyped-call, unused-ignore]

    assert event_ack.envelope_id == event_id and event_ack.payload is None
    assert event_ack.latency_s < 3
    assert received[0].retry_attempt == 1 and received[0].retry_reason == "timeout"
    assert received[0].payload["event"]["text"] == "bonjour"
    assert command_ack.envelope_id == command_id
    assert command_ack.payload == {"text": "Commande reçue"}
    assert fake.calls_to("apps.connections.open")[0].token == fake.app_token
    assert fake.errors == []


async def test_socket_mode_bad_ack_is_recorded(fake: FakeSlack) -> None:
    session = aiohttp.ClientSession()
    try:
        opened = await AsyncWebClient(
            token=fake.app_token, base_url=fake.base_url
        ).apps_connections_open(app_token=fake.app_token)
        async with session.ws_connect(opened["url"]) as socket:
            hello = json.loads((await socket.receive()).data)
            envelope_id = await fake.send_envelope("events_api", fake.event_callback(T1, {}))
            envelope = json.loads((await socket.receive()).data)
            await socket.send_str(json.dumps({"envelope_id": "not-sent"}))
            await socket.send_str(json.dumps({"envelope_id": envelope_id, "payload": {"x": 1}}))
            ack = await fake.wait_ack(envelope_id)
    finally:
        await session.close()

    assert hello["type"] == "hello" and envelope["envelope_id"] == envelope_id
    assert envelope["accepts_response_payload"] is False
    assert ack.payload == {"x": 1}
    assert [e.error for e in fake.errors] == ["unknown_envelope_id", "invalid_ack_payload"]


async def test_wait_ack_times_out_without_ack(fake: FakeSlack) -> None:
    session = aiohttp.ClientSession()
    try:
        opened = await AsyncWebClient(base_url=fake.base_url).apps_connections_open(
            app_token=fake.app_token
        )
        async with session.ws_connect(opened["url"]):
            envelope_id = await fake.send_envelope("events_api", fake.event_callback(T1, {}))
            with pytest.raises(asyncio.TimeoutError):
                await fake.wait_ack(envelope_id, timeout=0.2)
    finally:
        await session.close()


async def test_signed_inbound_requests(fake: FakeSlack) -> None:
    secret = "signing-secret"
    verifier = SignatureVerifier(secret)
    event = signed_event(
        fake.event_callback(T1, {"type": "app_mention"}), secret, retry_num=1, retry_reason="x"
    )
    command = signed_command(fake.slash_command(T1, ALICE, CHANNEL, "tirage 3"), secret)
    posted = await client(fake).chat_postMessage(channel=CHANNEL, text="x", blocks=VOTE_BLOCKS)
    click = signed_interaction(
        fake.block_action(T1, ALICE, CHANNEL, posted["ts"], "consent"), secret
    )
    stale = signed_event({"type": "url_verification"}, secret, timestamp=1_000_000_000)

    for request in (event, command, click):
        assert verifier.is_valid_request(request.body, request.headers)
    assert not verifier.is_valid_request(stale.body, stale.headers)
    assert event.headers["x-slack-retry-num"] == "1"
    assert parse_qs(command.body)["text"] == ["tirage 3"]
    action = json.loads(parse_qs(click.body)["payload"][0])
    assert action["actions"][0]["value"] == "consent" and action["actions"][0]["block_id"] == "vote"
    with pytest.raises(ValueError, match="no element"):
        fake.block_action(T1, ALICE, CHANNEL, posted["ts"], "missing")


async def test_clock_drives_timestamps_and_token_expiry() -> None:
    now = [1_767_225_600.0]  # 2026-01-01T00:00:00Z
    async with FakeSlack(clock=lambda: now[0]) as server:
        server.add_workspace(T1, TOKEN1, BOT1, expires_in=3600)
        web = client(server)
        first = await web.chat_postMessage(channel=CHANNEL, text="a")
        second = await web.chat_postMessage(channel=CHANNEL, text="b")
        now[0] += 3600
        with pytest.raises(SlackApiError) as expired:
            await web.auth_test()

    assert (first["ts"], second["ts"]) == ("1767225600.000000", "1767225600.000001")
    assert expired.value.response["error"] == "token_expired"
