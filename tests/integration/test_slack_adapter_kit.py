"""The Slack adapter's test kit (a recording sink, a rig around FakeSlack) and its pure layer: translation, markup, Block Kit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.slack.adapter import SlackAdapter
from adapters.slack.blocks import (
    Button,
    FormField,
    FormMeta,
    choice_blocks,
    message_blocks,
    modal_view,
    read_submission,
)
from adapters.slack.inbound import Translator
from adapters.slack.markup import chunks, emoji_name, to_plain
from adapters.slack.settings import OAuthCredentials, SlackSettings
from bot.kernel.model import (
    InboundChoice,
    InboundCommand,
    InboundEvent,
    InboundMembership,
    InboundMessage,
    InboundReaction,
)
from bot.store import Store, open_store
from tests.fakes.slack_fake import BlockKitValidator, FakeSlack, SignedRequest

TEAM = "T0MAILLAGE"
BOT_TOKEN = "xoxb-1-maillage-fake"
BOT_USER = "U0BOT"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
GENERAL = "C0GENERAL"
ALICE, BOB, CHLOE = "U0ALICE", "U0BOB", "U0CHLOE"
PEOPLE = {ALICE: "alice", BOB: "bob", CHLOE: "chloe"}


# ---------------------------------------------------------------------------------------
# The kit
# ---------------------------------------------------------------------------------------


class RecordingSink:
    """The engine's sink as an adapter sees it: commits once per event id (False for a
    duplicate), optionally slowly or not at all."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.delay = delay
        self.fail = fail
        self.calls: list[InboundEvent] = []
        self.events: list[InboundEvent] = []
        self._seen: set[tuple[str, str]] = set()
        self._changed = asyncio.Event()

    async def __call__(self, event: InboundEvent) -> bool:
        self.calls.append(event)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("the store is down")
        key = (event.platform, event.event_id)
        if key in self._seen:
            return False
        self._seen.add(key)
        self.events.append(event)
        self._changed.set()
        return True

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[InboundEvent]:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} events, got {len(self.events)}: {self.events}"
                )
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass
        return self.events


def populate(
    fake: FakeSlack, team: str = TEAM, token: str = BOT_TOKEN, bot: str = BOT_USER
) -> None:
    """One workspace with three people in #general."""
    fake.add_workspace(team, token, bot, team_name="Réseau des Tiers-Lieux")
    for user, name in PEOPLE.items():
        fake.add_user(team, user, name=name, real_name=name.capitalize())
    fake.add_channel(team, GENERAL, list(PEOPLE), name="general")


@dataclass
class Rig:
    fake: FakeSlack
    adapter: SlackAdapter
    sink: RecordingSink
    store: Store
    settings: SlackSettings
    http: aiohttp.ClientSession
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        assert self.adapter.http is not None
        return self.adapter.http.url

    async def send(
        self, request: SignedRequest, path: str = "/slack/events"
    ) -> tuple[int, str, float]:
        """POST a signed request to the adapter's endpoint: status, body, seconds to answer."""
        started = time.monotonic()
        async with self.http.post(
            self.url + path, data=request.body.encode(), headers=request.headers
        ) as resp:
            body = await resp.text()
            return resp.status, body, time.monotonic() - started


def settings_for(fake: FakeSlack, **changes: Any) -> SlackSettings:
    base = SlackSettings(
        mode="http",
        bot_token=BOT_TOKEN,
        app_token=fake.app_token,
        signing_secret=SECRET,
        http_port=0,
        api_base_url=fake.base_url,
        locale="fr",
    )
    return replace(base, **changes)


@asynccontextmanager
async def rig(
    tmp: Path,
    *,
    sink: RecordingSink | None = None,
    setup: Callable[[FakeSlack], None] = populate,
    store: Store | None = None,
    oauth: bool = False,
    **changes: Any,
) -> AsyncIterator[Rig]:
    """FakeSlack + a started adapter (HTTP mode by default) + the bot's real SQLite store.
    With `oauth`, no bot token: workspaces are installed through the OAuth flow."""
    async with FakeSlack() as fake:
        setup(fake)
        own = store is None
        the_store = store or await open_store(f"sqlite+aiosqlite:///{tmp / 'maillage.db'}")
        if oauth:
            changes = {
                "bot_token": None,
                "oauth": OAuthCredentials(fake.client_id, fake.client_secret),
                **changes,
            }
        settings = settings_for(fake, **changes)
        adapter = SlackAdapter(settings, the_store.kv(), tables=the_store)
        the_sink = sink or RecordingSink()
        await adapter.start(the_sink)
        try:
            async with aiohttp.ClientSession() as http:
                yield Rig(fake, adapter, the_sink, the_store, settings, http)
        finally:
            await adapter.stop()
            if own:
                await the_store.close()


# ---------------------------------------------------------------------------------------
# Translation of payloads (pure)
# ---------------------------------------------------------------------------------------

T = Translator("!reseau")


def _callback(event: Mapping[str, Any], event_id: str = "Ev1") -> dict[str, Any]:
    return {"type": "event_callback", "team_id": TEAM, "event_id": event_id, "event": dict(event)}


def _message(text: str, **extra: Any) -> dict[str, Any]:
    return _callback(
        {
            "type": "message",
            "channel": GENERAL,
            "user": ALICE,
            "text": text,
            "ts": "1700000000.000100",
            "channel_type": "channel",
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!reseau aide", "aide"),
        (
            "  !Réseau   decision «Acheter un four» vendredi 18h ",
            "decision «Acheter un four» vendredi 18h",
        ),
        ("!RESEAU", ""),
        ("!reseaux aide", None),
        ("bonjour !reseau", None),
    ],
)
def test_command_prefix(text: str, expected: str | None) -> None:
    assert T.command_text(text) == expected


def test_a_typed_command_in_a_thread_keeps_its_thread() -> None:
    ev = T.event(_message("!reseau objection trop tôt", thread_ts="1699999999.000001"), BOT_USER)
    assert isinstance(ev, InboundCommand)
    assert (ev.text, ev.thread_of, ev.event_id, ev.account_scope) == (
        "objection trop tôt",
        "1699999999.000001",
        "Ev1",
        TEAM,
    )


def test_thread_replies_and_dms_reach_the_engine_but_channel_chatter_does_not() -> None:
    reply = T.event(_message("une question", thread_ts="1699999999.000001"), BOT_USER)
    assert isinstance(reply, InboundMessage) and reply.thread_of == "1699999999.000001"
    dm = T.event(_message("Bob, parce que…", channel="D0ALICE", channel_type="im"), BOT_USER)
    assert isinstance(dm, InboundMessage) and dm.is_direct and dm.thread_of is None
    assert T.event(_message("bonjour à tous"), BOT_USER) is None
    # A thread's root message has thread_ts == ts: it is not a reply.
    assert T.event(_message("racine", thread_ts="1700000000.000100"), BOT_USER) is None


@pytest.mark.parametrize(
    "extra",
    [
        {"subtype": "message_changed"},
        {"subtype": "bot_message"},
        {"bot_id": "B0OTHER"},
        {"user": BOT_USER},
    ],
)
def test_edits_bots_and_our_own_messages_are_ignored(extra: dict[str, Any]) -> None:
    assert T.event(_message("!reseau aide", **extra), BOT_USER) is None


def test_slack_markup_is_read_back_as_plain_text() -> None:
    raw = "!reseau tirage <@U0BOB|bob> <#C0GENERAL|general> &lt;b&gt; &amp;amp; <!here> <https://x.org/a|lien>"
    ev = T.event(_message(raw), BOT_USER)
    assert isinstance(ev, InboundCommand)
    assert ev.text == "tirage @U0BOB #C0GENERAL <b> &amp; @here https://x.org/a"
    assert to_plain("<!subteam^S1|@animateurs> ok") == "@animateurs ok"


def test_reactions_keep_the_raw_name_and_target() -> None:
    body = _callback(
        {
            "type": "reaction_removed",
            "user": BOB,
            "reaction": "raised_hand::skin-tone-3",
            "item": {"type": "message", "channel": GENERAL, "ts": "1700000000.000100"},
            "event_ts": "1700000001.000200",
        },
        "Ev2",
    )
    ev = T.event(body, BOT_USER)
    assert isinstance(ev, InboundReaction)
    assert (ev.target, ev.key, ev.removed, ev.sender) == (
        "1700000000.000100",
        "raised_hand::skin-tone-3",
        True,
        BOB,
    )
    file_reaction = _callback(
        {
            "type": "reaction_added",
            "user": BOB,
            "reaction": "eyes",
            "item": {"type": "file", "file": "F1"},
        }
    )
    assert T.event(file_reaction, BOT_USER) is None


def test_joins_and_leaves() -> None:
    joined = T.event(
        _callback({"type": "member_joined_channel", "user": CHLOE, "channel": GENERAL}), BOT_USER
    )
    left = T.event(
        _callback({"type": "member_left_channel", "user": CHLOE, "channel": GENERAL}), BOT_USER
    )
    assert isinstance(joined, InboundMembership) and joined.joined
    assert isinstance(left, InboundMembership) and not left.joined
    assert (
        T.event(
            _callback({"type": "member_joined_channel", "user": BOT_USER, "channel": GENERAL}),
            BOT_USER,
        )
        is None
    )


def test_slash_command_carries_its_reply_handle() -> None:
    ev = T.slash_command(
        {
            "team_id": TEAM,
            "channel_id": GENERAL,
            "user_id": ALICE,
            "user_name": "alice",
            "command": "/reseau",
            "text": "decision <@U0BOB> &amp; co",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "response_url": "http://127.0.0.1:1/actions/x",
        }
    )
    assert ev.text == "decision @U0BOB & co"
    assert ev.event_id == "cmd:13345224609.738474920.8088930838d88f008e0"
    assert ev.reply_handle == {
        "response_url": "http://127.0.0.1:1/actions/x",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team_id": TEAM,
    }


def test_only_our_buttons_become_choices() -> None:
    body = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": BOB, "username": "bob"},
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": GENERAL},
        "actions": [
            {
                "action_id": "maillage_choice:consent",
                "value": "consent",
                "action_ts": "1700000005.000001",
            }
        ],
    }
    action: dict[str, Any] = body["actions"][0]  # type: ignore[index]
    ev = T.button(body)
    assert isinstance(ev, InboundChoice)
    assert (ev.target, ev.choices, ev.sender) == ("1700000000.000100", ["consent"], BOB)
    # The same click delivered twice has the same id; another click another one.
    assert T.button(body) == ev
    other = {**body, "actions": [{**action, "action_ts": "1700000009.000001"}]}
    assert T.button(other).event_id != ev.event_id  # type: ignore[union-attr]
    assert T.button({**body, "actions": [{"action_id": "elsewhere", "value": "x"}]}) is None


# ---------------------------------------------------------------------------------------
# Markup and Block Kit (checked with the fake's validator: slack_sdk models + JSON Schema)
# ---------------------------------------------------------------------------------------


def test_emoji_names_for_reactions() -> None:
    assert emoji_name("✅") == "white_check_mark"
    assert emoji_name("⚠️") == "warning"
    assert emoji_name("✋🏽") == "raised_hand"
    assert emoji_name(":tada:") == "tada"
    assert emoji_name("🦄") is None


def test_long_texts_are_cut_where_slack_accepts_them() -> None:
    text = ("x" * 2990 + " <@U0ALICE>\n") * 3
    parts = chunks(text)
    assert all(len(p) <= 3000 for p in parts)
    assert "".join(parts).count("<@U0ALICE>") == 3


def test_message_blocks_are_valid_block_kit() -> None:
    buttons = [Button("consent", "Je consens", "✅"), Button("objection", "J'objecte", "✋")]
    blocks = message_blocks("*Proposition #1*\n" + "texte " * 1200, choice_blocks(buttons))
    assert BlockKitValidator.default().validate_blocks(blocks) == []
    actions = blocks[-1]
    assert [e["value"] for e in actions["elements"]] == ["consent", "objection"]
    assert actions["elements"][0]["text"]["text"] == "✅ Je consens"
    many = choice_blocks([Button(f"c{i}", f"choix {i}", "🎲") for i in range(30)])
    assert [len(b["elements"]) for b in many] == [25, 5]
    assert BlockKitValidator.default().validate_blocks(message_blocks("x", many)) == []


def test_a_form_round_trips_through_a_modal() -> None:
    meta = FormMeta(
        form="objection",
        channel=GENERAL,
        target="1700000000.000100",
        choice="objection",
        context={"ref": "proposal:1:general"},
    )
    fields = [
        FormField("reason", "Raison de l'objection", "multiline"),
        FormField("deadline", "Échéance", "datetime", required=False),
    ]
    view = modal_view(meta, "Objection à la proposition numéro 12", fields, "Envoyer", "Annuler")
    assert BlockKitValidator.default().validate_view(view) == []
    assert len(view["title"]["text"]) <= 24
    view["state"] = {
        "values": {
            "field_reason": {"reason": {"type": "plain_text_input", "value": "  trop tôt  "}},
            "field_deadline": {
                "deadline": {"type": "datetimepicker", "selected_date_time": 1700000000}
            },
        }
    }
    sub = read_submission(view)
    assert sub is not None and sub.meta == meta and not sub.missing
    assert sub.values == {"reason": "trop tôt", "deadline": "2023-11-14T22:13:20+00:00"}
    view["state"]["values"]["field_reason"]["reason"]["value"] = "   "
    blank = read_submission(view)
    assert blank is not None and blank.missing == ["field_reason"]
    assert read_submission({**view, "callback_id": "someone_else"}) is None
