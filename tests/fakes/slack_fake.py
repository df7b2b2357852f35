"""A loopback fake of Slack's Web API and Socket Mode that validates everything it receives.

`FakeSlack` is an aiohttp server on 127.0.0.1 (port 0). Point
`slack_sdk.web.async_client.AsyncWebClient(token, base_url=fake.base_url)` at it. It
records every call, answers with realistic bodies, keeps a small model of the
workspaces (channels, members, users, messages with their metadata, threads,
reactions, modals, files), and *validates* what it receives: required
parameters, `blocks` and `view` payloads (twice: with `slack_sdk` models and with
a JSON Schema generated from the npm package `@slack/types`), message
metadata, socket-mode acks and `response_url` bodies. Every validation failure
answers with a Slack-like error *and* lands in `fake.errors`, so a test ends
with `assert fake.errors == []`.

Socket Mode is served on the same port: `apps.connections.open` (with the app
token) returns `ws://127.0.0.1:PORT/link/?ticket=...`; the fake sends `hello`,
then whatever envelopes the test sends with `send_envelope`, and records acks.

Module-level helpers build signed inbound HTTP requests (Events API, slash
commands, interactivity) for a Bolt app under test.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import itertools
import json
import mimetypes
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

import jsonschema  # type: ignore[import-untyped, unused-ignore]
from aiohttp import BodyPartReader, WSMsgType, web
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from slack_sdk.signature import SignatureVerifier

__all__ = [
    "BlockKitValidator",
    "FakeSlack",
    "RecordedCall",
    "RecordedResponse",
    "SignedRequest",
    "SocketAck",
    "SocketEnvelope",
    "StoredMessage",
    "UploadedFile",
    "ValidationFailure",
    "signed_command",
    "signed_event",
    "signed_interaction",
]

JSONDict = dict[str, Any]

SCHEMA_FILE = Path(__file__).resolve().parent / "slack_schema" / "blockkit.schema.json"
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_LENGTH = 40_000
RESPONSE_URL_MAX_USES = 5
VERIFICATION_TOKEN = "fake-verification-token"
SOCKET_ENVELOPE_TYPES = ("events_api", "slash_commands", "interactive")
_TS_RE = re.compile(r"^\d{9,11}\.\d{6}$")
_TRUE: frozenset[Any] = frozenset({"1", "true", "True", True})


# --------------------------------------------------------------------------------------
# Block Kit validation
# --------------------------------------------------------------------------------------


class BlockKitValidator:
    """Checks blocks and views with `slack_sdk` models and with the generated JSON Schema.

    Messages follow Slack's style: `<problem> [json-pointer:/blocks/0/text]`.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._definitions: JSONDict = dict(schema["definitions"])
        self._validators: dict[str, Any] = {}
        self._discriminator_cache: dict[str, frozenset[str] | None] = {}

    @staticmethod
    @cache
    def default() -> BlockKitValidator:
        """The validator built from `slack_schema/blockkit.schema.json` (loaded once)."""
        return BlockKitValidator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))

    # -- public -------------------------------------------------------------------------

    def validate_blocks(
        self, blocks: Any, pointer: str = "/blocks", max_blocks: int = MAX_MESSAGE_BLOCKS
    ) -> list[str]:
        """Problems found in a list of blocks (empty when valid)."""
        if not isinstance(blocks, list):
            return [f"must provide an array [json-pointer:{pointer}]"]
        problems: list[str] = []
        if len(blocks) > max_blocks:
            problems.append(f"no more than {max_blocks} items allowed [json-pointer:{pointer}]")
        for index, block in enumerate(blocks):
            where = f"{pointer}/{index}"
            problems += self._sdk_block_problems(block, where)
            problems += self._schema_problems(block, {"$ref": "#/definitions/KnownBlock"}, where)
        problems += _duplicate_id_problems(blocks, pointer)
        return _dedupe(problems)

    def validate_view(
        self, view: Any, pointer: str = "/view", kinds: tuple[str, ...] = ("modal",)
    ) -> list[str]:
        """Problems found in a view (modal or home tab; empty when valid)."""
        if not isinstance(view, dict):
            return [f"must provide an object [json-pointer:{pointer}]"]
        kind = view.get("type")
        if kind not in kinds:
            expected = ", ".join(kinds)
            return [f"view type must be one of: {expected} [json-pointer:{pointer}/type]"]
        problems: list[str] = []
        blocks = view.get("blocks")
        if isinstance(blocks, list):
            if len(blocks) > MAX_VIEW_BLOCKS:
                problems.append(
                    f"no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:{pointer}/blocks]"
                )
            for index, block in enumerate(blocks):
                problems += self._sdk_block_problems(block, f"{pointer}/blocks/{index}")
            problems += _duplicate_id_problems(blocks, f"{pointer}/blocks")
            has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
            if kind == "modal" and has_input and not view.get("submit"):
                problems.append(
                    "submit is required when an input block is within the blocks array "
                    f"[json-pointer:{pointer}/submit]"
                )
        try:
            View(**copy.deepcopy(view)).to_dict()
        except Exception as exc:  # slack_sdk raises several exception types
            problems.append(f"slack_sdk: {_short(str(exc))} [json-pointer:{pointer}]")
        definition = "ModalViewKnown" if kind == "modal" else "HomeViewKnown"
        problems += self._schema_problems(view, {"$ref": f"#/definitions/{definition}"}, pointer)
        return _dedupe(problems)

    # -- slack_sdk layer ----------------------------------------------------------------

    @staticmethod
    def _sdk_block_problems(block: Any, pointer: str) -> list[str]:
        if not isinstance(block, dict):
            return [f"must provide an object [json-pointer:{pointer}]"]
        try:
            parsed = Block.parse(copy.deepcopy(block))
            if parsed is None:
                kind = block.get("type")
                return [f"slack_sdk: unsupported block type `{kind}` [json-pointer:{pointer}]"]
            parsed.to_dict()
        except Exception as exc:  # TypeError, SlackObjectFormationError, KeyError, ...
            return [f"slack_sdk: {_short(str(exc))} [json-pointer:{pointer}]"]
        return []

    # -- JSON Schema layer --------------------------------------------------------------

    def _validator(self, schema: Mapping[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            root = {**schema, "definitions": self._definitions}
            validator = jsonschema.Draft7Validator(root)
            self._validators[key] = validator
        return validator

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 20:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            schema = self._definitions[name]
            seen += 1
        return schema

    def _discriminators(self, schema: Mapping[str, Any]) -> frozenset[str] | None:
        """The `type` values a (union) schema accepts, or None when it has no such tag."""
        key = json.dumps(schema, sort_keys=True)
        if key in self._discriminator_cache:
            return self._discriminator_cache[key]
        self._discriminator_cache[key] = None  # guards against recursive unions
        resolved = self._resolve(schema)
        result: frozenset[str] | None = None
        branches = resolved.get("anyOf") or resolved.get("oneOf")
        if isinstance(branches, list):
            collected: set[str] = set()
            for branch in branches:
                tags = self._discriminators(branch)
                if tags is None:
                    collected = set()
                    break
                collected |= tags
            result = frozenset(collected) if collected else None
        else:
            tag = resolved.get("properties", {}).get("type")
            if isinstance(tag, dict):
                if "const" in tag:
                    result = frozenset([str(tag["const"])])
                elif isinstance(tag.get("enum"), list):
                    result = frozenset(str(v) for v in tag["enum"])
        self._discriminator_cache[key] = result
        return result

    def _schema_problems(self, instance: Any, schema: Mapping[str, Any], pointer: str) -> list[str]:
        errors = sorted(
            self._validator(schema).iter_errors(instance),
            key=lambda e: [str(p) for p in e.absolute_path],
        )
        problems: list[str] = []
        for error in errors:
            problems += self._explain(error, pointer)
        return problems

    def _explain(self, error: Any, pointer: str) -> list[str]:
        here = pointer + "".join(f"/{part}" for part in error.absolute_path)
        if error.validator in ("anyOf", "oneOf") and isinstance(error.validator_value, list):
            sub = error.instance
            if isinstance(sub, dict) and isinstance(sub.get("type"), str):
                tags = [self._discriminators(branch) for branch in error.validator_value]
                for branch, branch_tags in zip(error.validator_value, tags, strict=True):
                    if branch_tags is not None and sub["type"] in branch_tags:
                        found = self._schema_problems(sub, branch, here)
                        if found:
                            return found
                if tags and all(t is not None for t in tags):
                    allowed = sorted(set().union(*(t for t in tags if t is not None)))
                    return [
                        f"unsupported type `{sub['type']}` here (expected one of: "
                        f"{', '.join(allowed)}) [json-pointer:{here}/type]"
                    ]
            if error.context:
                return self._explain(jsonschema.exceptions.best_match(error.context), pointer)
        return [f"{_short(error.message)} [json-pointer:{here}]"]


def _duplicate_id_problems(blocks: list[Any], pointer: str) -> list[str]:
    problems: list[str] = []
    seen_blocks: set[str] = set()
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen_blocks:
                problems.append(
                    f"duplicate block_id `{block_id}` [json-pointer:{pointer}/{index}/block_id]"
                )
            seen_blocks.add(block_id)
        elements: list[Any] = []
        if isinstance(block.get("elements"), list):
            elements += block["elements"]
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        if isinstance(block.get("element"), dict):
            elements.append(block["element"])
        seen_actions: set[str] = set()
        for element in elements:
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if isinstance(action_id, str):
                if action_id in seen_actions:
                    problems.append(
                        f"duplicate action_id `{action_id}` in a block [json-pointer:{pointer}/{index}]"
                    )
                seen_actions.add(action_id)
    return problems


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedCall:
    """One Web API call as the fake received it, with the answer it gave."""

    method: str
    team_id: str | None
    token: str | None
    params: JSONDict
    time: float
    http_method: str
    encoding: Literal["json", "form", "query"]
    status: int
    response: JSONDict

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        value = self.response.get("error")
        return str(value) if value is not None else None


@dataclass(frozen=True)
class ValidationFailure:
    """Something the client sent that Slack would reject (or that is a client bug)."""

    source: str  # API method name, "response_url", "socket_mode" or "file_upload"
    team_id: str | None
    error: str
    messages: tuple[str, ...]
    params: JSONDict


@dataclass
class StoredMessage:
    """A message the fake holds in a channel's history."""

    team_id: str
    channel: str
    ts: str
    text: str
    user: str | None
    bot_id: str | None = None
    app_id: str | None = None
    blocks: list[JSONDict] | None = None
    attachments: list[JSONDict] | None = None
    metadata: JSONDict | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    files: list[JSONDict] | None = None
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edited: dict[str, str] | None = None


@dataclass(frozen=True)
class RecordedResponse:
    """A POST to a `response_url` served by the fake."""

    url: str
    team_id: str | None
    channel_id: str | None
    body: JSONDict
    time: float
    status: int


@dataclass
class UploadedFile:
    """A file announced by `files.getUploadURLExternal`, uploaded, then completed."""

    file_id: str
    team_id: str
    user_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    title: str | None = None
    content: bytes | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class SocketEnvelope:
    """An envelope the fake sent over Socket Mode."""

    envelope_id: str
    type: str
    payload: JSONDict
    accepts_response_payload: bool
    retry_attempt: int
    retry_reason: str | None
    sent_at: float  # time.monotonic()


@dataclass(frozen=True)
class SocketAck:
    """An acknowledgement the app sent back over Socket Mode."""

    envelope_id: str
    payload: JSONDict | None
    raw: JSONDict
    latency_s: float


@dataclass(frozen=True)
class SignedRequest:
    """Headers and body of a signed inbound request, ready for Bolt or an HTTP client."""

    headers: dict[str, str]
    body: str


# --------------------------------------------------------------------------------------
# Signed inbound requests
# --------------------------------------------------------------------------------------


def _signed(
    body: str, secret: str, timestamp: int | None, content_type: str, extra: Mapping[str, str]
) -> SignedRequest:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    if signature is None:
        raise ValueError("slack_sdk could not sign the request")
    headers = {
        "content-type": content_type,
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": signature,
        **extra,
    }
    return SignedRequest(headers=headers, body=body)


def signed_event(
    body: Mapping[str, Any] | str,
    secret: str,
    timestamp: int | None = None,
    *,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> SignedRequest:
    """An Events API request (JSON), signed; optionally marked as a Slack retry."""
    text = body if isinstance(body, str) else json.dumps(body)
    extra: dict[str, str] = {}
    if retry_num is not None:
        extra["x-slack-retry-num"] = str(retry_num)
        extra["x-slack-retry-reason"] = retry_reason or "http_timeout"
    return _signed(text, secret, timestamp, "application/json", extra)


def signed_command(
    fields: Mapping[str, str], secret: str, timestamp: int | None = None
) -> SignedRequest:
    """A slash command request (form-encoded), signed."""
    return _signed(
        urlencode(dict(fields)), secret, timestamp, "application/x-www-form-urlencoded", {}
    )


def signed_interaction(
    payload: Mapping[str, Any], secret: str, timestamp: int | None = None
) -> SignedRequest:
    """An interactivity request (`payload=<urlencoded JSON>`), signed."""
    body = "payload=" + quote(json.dumps(payload), safe="")
    return _signed(body, secret, timestamp, "application/x-www-form-urlencoded", {})


# --------------------------------------------------------------------------------------
# Internal model
# --------------------------------------------------------------------------------------


class _ApiError(Exception):
    def __init__(
        self,
        error: str,
        *,
        messages: Iterable[str] = (),
        errors: Iterable[str] | None = None,
        validation: bool = False,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)
        self.errors = list(errors) if errors is not None else None
        self.validation = validation
        self.status = status
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error": self.error, **self.extra}
        if self.errors is not None:
            body["errors"] = self.errors
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def _invalid(*problems: str, error: str = "invalid_arguments") -> _ApiError:
    return _ApiError(
        error,
        errors=list(problems),
        messages=[f"[ERROR] {p}" for p in problems],
        validation=True,
    )


@dataclass
class _Token:
    token: str
    team_id: str | None
    kind: Literal["bot", "user", "app"]
    user_id: str | None
    expires_at: float | None = None
    revoked: bool = False


@dataclass
class _Channel:
    id: str
    name: str
    members: list[str] | None
    is_private: bool = False
    is_im: bool = False
    im_user: str | None = None
    created: int = 0


@dataclass
class _User:
    id: str
    team_id: str
    name: str
    real_name: str
    is_bot: bool = False
    tz: str = "Europe/Paris"
    locale: str = "fr-FR"
    email: str | None = None
    deleted: bool = False


@dataclass
class _Workspace:
    team_id: str
    team_name: str
    domain: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    channels: dict[str, _Channel] = field(default_factory=dict)
    strict_channels: bool = False
    users: dict[str, _User] = field(default_factory=dict)
    strict_users: bool = False
    dms: dict[str, str] = field(default_factory=dict)
    messages: dict[str, list[StoredMessage]] = field(default_factory=dict)
    views: dict[str, JSONDict] = field(default_factory=dict)


@dataclass
class _OAuthGrant:
    code: str
    team_id: str
    team_name: str | None
    bot_token: str
    bot_user_id: str
    scope: str
    refresh_token: str | None
    expires_in: int | None
    authed_user_id: str
    user_token: str | None
    user_scope: str | None
    used: bool = False


@dataclass
class _Refresh:
    team_id: str
    kind: Literal["bot", "user"]
    user_id: str | None
    expires_in: int
    scope: str


@dataclass
class _Script:
    error: str
    status: int = 200
    retry_after_s: int | None = None


@dataclass
class _Ctx:
    method: str
    params: JSONDict
    token: _Token | None
    workspace: _Workspace | None
    basic_auth: tuple[str, str] | None

    @property
    def ws(self) -> _Workspace:
        if self.workspace is None:  # pragma: no cover - guarded by _authenticate
            raise _ApiError("invalid_auth")
        return self.workspace


_AuthKind = Literal["bot", "app", "client", "any"]
_Handler = Callable[[_Ctx], JSONDict]

_JSON_FIELDS = ("blocks", "attachments", "metadata", "view", "files", "user_auth_blocks")


def _slack_len(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units: an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def _truthy(value: Any) -> bool:
    return value in _TRUE


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _ts_micro(ts: str) -> int:
    whole, _, frac = ts.partition(".")
    return int(whole) * 1_000_000 + int((frac + "000000")[:6] or 0)


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    if _blank(cursor):
        return 0
    try:
        kind, _, number = base64.b64decode(str(cursor)).decode().partition(":")
        if kind != "offset":
            raise ValueError(cursor)
        return int(number)
    except ValueError as exc:
        raise _ApiError("invalid_cursor", validation=True) from exc


def _int_param(params: JSONDict, name: str, default: int, maximum: int) -> int:
    raw = params.get(name)
    if _blank(raw):
        return default
    try:
        value = int(str(raw))
    except ValueError as exc:
        raise _invalid(f"invalid value for `{name}`: {raw!r}") from exc
    if value <= 0:
        return default
    return min(value, maximum)


def _short_id(prefix: str, seed: str, length: int = 10) -> str:
    digest = hashlib.sha1(seed.encode()).hexdigest().upper()
    return prefix + digest[: length - len(prefix)]


# --------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------


class FakeSlack:
    """A validating loopback fake of Slack (Web API, Socket Mode, upload and response URLs).

    Use as `async with FakeSlack() as fake:` or `await fake.start()` / `await fake.stop()`.
    """

    def __init__(
        self,
        *,
        app_id: str = "A0FAKEAPP01",
        app_token: str = "xapp-1-A0FAKEAPP01-1-fakeapptoken",
        client_id: str = "1111111111.2222222222",
        client_secret: str = "fake-client-secret",
        bot_name: str = "maillage",
        clock: Callable[[], float] = time.time,
        trigger_ttl_s: float = 3.0,
    ) -> None:
        self.app_id = app_id
        self.app_token = app_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.bot_name = bot_name
        self.trigger_ttl_s = trigger_ttl_s
        self._clock = clock

        self.calls: list[RecordedCall] = []
        self.errors: list[ValidationFailure] = []
        self.responses: list[RecordedResponse] = []
        self.files: dict[str, UploadedFile] = {}
        self.envelopes: list[SocketEnvelope] = []
        self.acks: list[SocketAck] = []

        self._workspaces: dict[str, _Workspace] = {}
        self._tokens: dict[str, _Token] = {
            app_token: _Token(app_token, None, "app", None),
        }
        self._oauth_codes: dict[str, _OAuthGrant] = {}
        self._refresh_tokens: dict[str, _Refresh] = {}
        self._scripts: dict[str, deque[_Script]] = {}
        self._triggers: dict[str, tuple[str, str | None, float, bool]] = {}
        self._response_urls: dict[str, tuple[str | None, str | None, int]] = {}
        self._upload_keys: dict[str, str] = {}
        self._tickets: set[str] = set()
        self._envelopes_by_id: dict[str, SocketEnvelope] = {}
        self._ack_waiters: dict[str, asyncio.Future[SocketAck]] = {}
        self._acks_by_id: dict[str, SocketAck] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected: asyncio.Event | None = None
        self._last_ts_us = 0
        self._ids = itertools.count(1)

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, tuple[_AuthKind, _Handler]] = {
            "api.test": ("client", lambda ctx: {"ok": True, "args": dict(ctx.params)}),
            "auth.test": ("any", self._auth_test),
            "chat.postMessage": ("bot", self._chat_post_message),
            "chat.update": ("bot", self._chat_update),
            "chat.postEphemeral": ("bot", self._chat_post_ephemeral),
            "chat.delete": ("bot", self._chat_delete),
            "conversations.open": ("bot", self._conversations_open),
            "conversations.history": ("bot", self._conversations_history),
            "conversations.replies": ("bot", self._conversations_replies),
            "conversations.members": ("bot", self._conversations_members),
            "conversations.info": ("bot", self._conversations_info),
            "users.info": ("bot", self._users_info),
            "reactions.add": ("bot", self._reactions_add),
            "views.open": ("bot", self._views_open),
            "views.update": ("bot", self._views_update),
            "files.getUploadURLExternal": ("bot", self._files_get_upload_url),
            "files.completeUploadExternal": ("bot", self._files_complete_upload),
            "oauth.v2.access": ("client", self._oauth_v2_access),
            "apps.connections.open": ("app", self._apps_connections_open),
        }

    # ----------------------------------------------------------------------------------
    # lifecycle
    # ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening on 127.0.0.1 on a free port."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{key}", self._handle_upload)
        app.router.add_post("/actions/{key}", self._handle_response_url)
        app.router.add_get("/link/", self._handle_socket)
        self._socket_connected = asyncio.Event()
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])

    async def stop(self) -> None:
        """Close Socket Mode connections and stop the server."""
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"server shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL of the fake, e.g. `http://127.0.0.1:PORT/`."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def base_url(self) -> str:
        """The Web API base URL for `AsyncWebClient(base_url=...)` (ends in `/api/`)."""
        return f"{self.url}api/"

    # ----------------------------------------------------------------------------------
    # set-up
    # ----------------------------------------------------------------------------------

    def add_workspace(
        self,
        team_id: str,
        bot_token: str,
        bot_user_id: str,
        *,
        team_name: str | None = None,
        bot_id: str | None = None,
        domain: str | None = None,
        expires_in: int | None = None,
    ) -> None:
        """Install the app in a workspace: its bot token now authenticates as `team_id`."""
        workspace = self._workspaces.get(team_id)
        if workspace is None:
            name = team_name or f"Team {team_id}"
            workspace = _Workspace(
                team_id=team_id,
                team_name=name,
                domain=domain or re.sub(r"[^a-z0-9-]", "-", name.lower()),
                bot_token=bot_token,
                bot_user_id=bot_user_id,
                bot_id=bot_id or _short_id("B", team_id + bot_user_id, 11),
            )
            self._workspaces[team_id] = workspace
        else:
            workspace.bot_token = bot_token
            workspace.bot_user_id = bot_user_id
            if bot_id:
                workspace.bot_id = bot_id
        workspace.users.setdefault(
            bot_user_id,
            _User(bot_user_id, team_id, self.bot_name, self.bot_name.capitalize(), is_bot=True),
        )
        expires_at = self._clock() + expires_in if expires_in else None
        self._tokens[bot_token] = _Token(bot_token, team_id, "bot", bot_user_id, expires_at)

    def revoke_token(self, token: str) -> None:
        """Make a token answer `invalid_auth` from now on (app uninstalled, token rotated...)."""
        if token in self._tokens:
            self._tokens[token].revoked = True

    def add_channel(
        self,
        team_id: str,
        channel_id: str,
        members: Iterable[str],
        *,
        name: str | None = None,
        is_private: bool = False,
        bot_is_member: bool = True,
    ) -> None:
        """Register a channel. Once a team has registered channels, unknown ones are
        `channel_not_found`; a channel the bot is not in answers `not_in_channel`."""
        workspace = self._workspace(team_id)
        member_list = list(dict.fromkeys(members))
        if bot_is_member and workspace.bot_user_id not in member_list:
            member_list.append(workspace.bot_user_id)
        workspace.channels[channel_id] = _Channel(
            id=channel_id,
            name=name or channel_id.lower(),
            members=member_list,
            is_private=is_private,
            created=int(self._clock()),
        )
        workspace.strict_channels = True

    def add_user(
        self,
        team_id: str,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        tz: str = "Europe/Paris",
        locale: str = "fr-FR",
        email: str | None = None,
        is_bot: bool = False,
    ) -> None:
        """Register a user. Once a team has registered users, unknown ones are `user_not_found`."""
        workspace = self._workspace(team_id)
        handle = name or user_id.lower()
        workspace.users[user_id] = _User(
            user_id, team_id, handle, real_name or handle, is_bot, tz, locale, email
        )
        workspace.strict_users = True

    def add_oauth_code(
        self,
        code: str,
        team_id: str,
        bot_token: str,
        *,
        bot_user_id: str | None = None,
        team_name: str | None = None,
        scope: str = "chat:write,commands,reactions:write,channels:history,groups:history,"
        "im:history,im:write,users:read,files:write",
        refresh_token: str | None = None,
        expires_in: int | None = None,
        authed_user_id: str = "U0INSTALLER",
        user_token: str | None = None,
        user_scope: str | None = None,
    ) -> None:
        """Register an OAuth code that `oauth.v2.access` will exchange (once) for an install.

        With `refresh_token` and `expires_in`, the install uses token rotation: the bot
        token expires (per the fake's clock) and `grant_type=refresh_token` issues new ones.
        """
        self._oauth_codes[code] = _OAuthGrant(
            code=code,
            team_id=team_id,
            team_name=team_name,
            bot_token=bot_token,
            bot_user_id=bot_user_id or _short_id("U", team_id + "bot", 11),
            scope=scope,
            refresh_token=refresh_token,
            expires_in=expires_in,
            authed_user_id=authed_user_id,
            user_token=user_token,
            user_scope=user_scope,
        )

    def make_trigger_id(self, team_id: str | None = None, user_id: str | None = None) -> str:
        """A fresh trigger id, valid once for `trigger_ttl_s` seconds (3 s, like Slack)."""
        team = self._workspace(team_id).team_id
        trigger = f"{int(self._clock())}.{next(self._ids)}.{secrets.token_hex(16)}"
        self._triggers[trigger] = (team, user_id, time.monotonic(), False)
        return trigger

    def make_response_url(self, team_id: str | None = None, channel_id: str | None = None) -> str:
        """A `response_url` served by the fake; POSTs to it land in `fake.responses`."""
        team = self._workspace(team_id).team_id if self._workspaces else team_id
        key = f"{team or 'T0'}/{next(self._ids)}/{secrets.token_urlsafe(12)}"
        key = key.replace("/", "-")
        self._response_urls[key] = (team, channel_id, 0)
        return f"{self.url}actions/{key}"

    # ----------------------------------------------------------------------------------
    # scripting
    # ----------------------------------------------------------------------------------

    def fail_next(self, method: str, error: str, *, times: int = 1, status: int = 200) -> None:
        """The next `times` calls to `method` answer `{"ok": false, "error": error}`."""
        queue = self._scripts.setdefault(method, deque())
        queue.extend(_Script(error, status) for _ in range(times))

    def rate_limit_next(self, method: str, retry_after_s: int = 1, *, times: int = 1) -> None:
        """The next `times` calls to `method` answer HTTP 429 with `Retry-After`."""
        queue = self._scripts.setdefault(method, deque())
        queue.extend(_Script("ratelimited", 429, retry_after_s) for _ in range(times))

    # ----------------------------------------------------------------------------------
    # inspection
    # ----------------------------------------------------------------------------------

    def calls_to(self, method: str, *, team_id: str | None = None) -> list[RecordedCall]:
        """Recorded calls to one method (optionally for one team), oldest first."""
        return [
            c
            for c in self.calls
            if c.method == method and (team_id is None or c.team_id == team_id)
        ]

    @property
    def failed_calls(self) -> list[RecordedCall]:
        """Calls that answered `ok: false` (validation failures, scripted errors, ...)."""
        return [c for c in self.calls if not c.ok]

    def messages(self, channel: str, *, team_id: str | None = None) -> list[StoredMessage]:
        """Every stored message of a channel (replies included), oldest first."""
        workspace = self._workspace(team_id)
        return list(workspace.messages.get(self._dm_alias(workspace, channel), []))

    def message(self, channel: str, ts: str, *, team_id: str | None = None) -> StoredMessage | None:
        """One stored message, or None."""
        for msg in self.messages(channel, team_id=team_id):
            if msg.ts == ts:
                return msg
        return None

    def dm_channel_id(self, team_id: str, user_id: str) -> str:
        """The (stable) DM channel id `conversations.open` gives for this user."""
        return self._dm_id(team_id, user_id)

    def views(self, *, team_id: str | None = None) -> dict[str, JSONDict]:
        """Modals opened (and updated) in a team, by view id."""
        return dict(self._workspace(team_id).views)

    # ----------------------------------------------------------------------------------
    # inbound payload builders (events, commands, interactivity)
    # ----------------------------------------------------------------------------------

    def event_callback(
        self,
        team_id: str,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        event_time: int | None = None,
    ) -> JSONDict:
        """Wrap an event in an Events API `event_callback` body."""
        workspace = self._workspace(team_id)
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "context_team_id": team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": event_time if event_time is not None else int(self._clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": workspace.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_urlsafe(24)}",
        }

    def user_message(
        self,
        team_id: str,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
    ) -> JSONDict:
        """Store a message written by a person and return its `message` event."""
        workspace = self._workspace(team_id)
        chan = self._channel(workspace, channel, post=True)
        ts = self._next_ts()
        msg = StoredMessage(team_id, chan.id, ts, text, user, thread_ts=thread_ts)
        self._store(workspace, msg)
        event: JSONDict = {
            "type": "message",
            "channel": chan.id,
            "user": user,
            "text": text,
            "ts": ts,
            "team": team_id,
            "event_ts": ts,
            "channel_type": "im" if chan.is_im else ("group" if chan.is_private else "channel"),
            "client_msg_id": str(uuid.uuid4()),
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
            parent = self._find(workspace, chan.id, thread_ts)
            if parent is not None and parent.user:
                event["parent_user_id"] = parent.user
        return event

    def user_reaction(
        self,
        team_id: str,
        channel: str,
        ts: str,
        user: str,
        name: str,
        *,
        removed: bool = False,
    ) -> JSONDict:
        """Add (or remove) a person's reaction on a stored message; return the event."""
        workspace = self._workspace(team_id)
        msg = self._find(workspace, channel, ts)
        if msg is None:
            raise ValueError(f"no stored message {ts} in {channel}")
        users = msg.reactions.setdefault(name, [])
        if removed:
            if user in users:
                users.remove(user)
            if not users:
                del msg.reactions[name]
        elif user not in users:
            users.append(user)
        return {
            "type": "reaction_removed" if removed else "reaction_added",
            "user": user,
            "reaction": name,
            "item": {"type": "message", "channel": msg.channel, "ts": ts},
            "item_user": msg.user,
            "event_ts": self._next_ts(),
        }

    def member_joined(self, team_id: str, channel: str, user: str) -> JSONDict:
        """Add a member to a registered channel; return `member_joined_channel`."""
        workspace = self._workspace(team_id)
        chan = self._channel(workspace, channel)
        if chan.members is not None and user not in chan.members:
            chan.members.append(user)
        return {
            "type": "member_joined_channel",
            "user": user,
            "channel": chan.id,
            "channel_type": "G" if chan.is_private else "C",
            "team": team_id,
            "event_ts": self._next_ts(),
        }

    def slash_command(
        self,
        team_id: str,
        user_id: str,
        channel_id: str,
        text: str,
        *,
        command: str = "/reseau",
    ) -> dict[str, str]:
        """Form fields of a slash command, with a fresh `response_url` and `trigger_id`."""
        workspace = self._workspace(team_id)
        user = workspace.users.get(user_id)
        chan = workspace.channels.get(channel_id)
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": workspace.domain,
            "channel_id": channel_id,
            "channel_name": chan.name if chan else channel_id.lower(),
            "user_id": user_id,
            "user_name": user.name if user else user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self.make_response_url(team_id, channel_id),
            "trigger_id": self.make_trigger_id(team_id, user_id),
        }

    def block_action(
        self,
        team_id: str,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        *,
        value: str | None = None,
    ) -> JSONDict:
        """A `block_actions` payload for a click on an element of a stored message.

        Raises ValueError when the message or the element does not exist: a test can
        only click what the bot actually posted.
        """
        workspace = self._workspace(team_id)
        msg = self._find(workspace, channel_id, message_ts)
        if msg is None:
            raise ValueError(f"no stored message {message_ts} in {channel_id}")
        element, block_id = _find_element(msg.blocks or [], action_id)
        if element is None:
            raise ValueError(f"message {message_ts} has no element with action_id {action_id!r}")
        action: JSONDict = {
            "action_id": action_id,
            "block_id": block_id,
            "type": element.get("type", "button"),
            "action_ts": self._next_ts(),
        }
        if "text" in element:
            action["text"] = element["text"]
        chosen = value if value is not None else element.get("value")
        if chosen is not None:
            action["value"] = chosen
        user = workspace.users.get(user_id)
        chan = workspace.channels.get(channel_id)
        return {
            "type": "block_actions",
            "user": {
                "id": user_id,
                "username": user.name if user else user_id.lower(),
                "name": user.name if user else user_id.lower(),
                "team_id": team_id,
            },
            "api_app_id": self.app_id,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "trigger_id": self.make_trigger_id(team_id, user_id),
            "team": {"id": team_id, "domain": workspace.domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": chan.name if chan else channel_id.lower()},
            "message": self._message_json(workspace, msg, include_metadata=True),
            "state": {"values": {}},
            "response_url": self.make_response_url(team_id, channel_id),
            "actions": [action],
        }

    def view_submission(
        self, team_id: str, user_id: str, view_id: str, values: Mapping[str, Any]
    ) -> JSONDict:
        """A `view_submission` payload for a modal the bot opened (state values given)."""
        workspace = self._workspace(team_id)
        view = workspace.views.get(view_id)
        if view is None:
            raise ValueError(f"no open view {view_id}")
        submitted = copy.deepcopy(view)
        submitted["state"] = {"values": copy.deepcopy(dict(values))}
        user = workspace.users.get(user_id)
        return {
            "type": "view_submission",
            "team": {"id": team_id, "domain": workspace.domain},
            "user": {
                "id": user_id,
                "username": user.name if user else user_id.lower(),
                "name": user.name if user else user_id.lower(),
                "team_id": team_id,
            },
            "api_app_id": self.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.make_trigger_id(team_id, user_id),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    # ----------------------------------------------------------------------------------
    # Socket Mode
    # ----------------------------------------------------------------------------------

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections are open."""
        return len(self._sockets)

    async def wait_socket_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a Socket Mode client is connected (and has been sent `hello`)."""
        if self._socket_connected is None:
            raise RuntimeError("FakeSlack is not started")
        await asyncio.wait_for(self._socket_connected.wait(), timeout)

    async def send_envelope(
        self,
        type: str,
        payload: Mapping[str, Any],
        retry_attempt: int = 0,
        retry_reason: str | None = None,
        *,
        accepts_response_payload: bool | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str:
        """Send an envelope to the newest Socket Mode connection; return its `envelope_id`.

        `type` is `events_api`, `slash_commands` or `interactive`. Waits up to `timeout`
        for a connection.
        """
        if type not in SOCKET_ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {type!r}")
        await self.wait_socket_connected(timeout)
        if accepts_response_payload is None:
            accepts_response_payload = type == "slash_commands" or (
                type == "interactive"
                and payload.get("type") in ("view_submission", "block_suggestion")
            )
        envelope_id = str(uuid.uuid4())
        message: JSONDict = {
            "envelope_id": envelope_id,
            "payload": dict(payload),
            "type": type,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            message["retry_attempt"] = retry_attempt
            message["retry_reason"] = retry_reason or ""
        envelope = SocketEnvelope(
            envelope_id=envelope_id,
            type=type,
            payload=dict(payload),
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            sent_at=time.monotonic(),
        )
        self._envelopes_by_id[envelope_id] = envelope
        self.envelopes.append(envelope)
        self._ack_waiters[envelope_id] = asyncio.get_running_loop().create_future()
        await self._sockets[-1].send_str(json.dumps(message))
        return envelope_id

    async def send_raw_frame(
        self,
        data: str,
        *,
        envelope_id: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Send any text frame, junk included, to the newest Socket Mode connection.

        With `envelope_id` (the id the frame carries, if any), an ack for it is expected:
        `wait_ack(envelope_id)` then works as for `send_envelope`, and an ack carrying a
        payload is a validation failure (nothing malformed deserves an answer)."""
        await self.wait_socket_connected(timeout)
        if envelope_id is not None:
            envelope = SocketEnvelope(
                envelope_id=envelope_id,
                type="raw",
                payload={},
                accepts_response_payload=False,
                retry_attempt=0,
                retry_reason=None,
                sent_at=time.monotonic(),
            )
            self._envelopes_by_id[envelope_id] = envelope
            self.envelopes.append(envelope)
            self._ack_waiters[envelope_id] = asyncio.get_running_loop().create_future()
        await self._sockets[-1].send_str(data)

    async def wait_ack(self, envelope_id: str, timeout: float = 3.0) -> SocketAck:  # noqa: ASYNC109
        """The app's ack of an envelope; raises TimeoutError if none came within `timeout`."""
        if envelope_id in self._acks_by_id:
            return self._acks_by_id[envelope_id]
        waiter = self._ack_waiters.get(envelope_id)
        if waiter is None:
            raise KeyError(f"no envelope {envelope_id} was sent")
        return await asyncio.wait_for(asyncio.shield(waiter), timeout)

    async def send_socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask connected clients to reconnect, like Slack does before recycling a connection."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        for socket in list(self._sockets):
            await socket.send_str(json.dumps(message))

    async def drop_socket_connections(self) -> None:
        """Close every Socket Mode connection abruptly (the client should reconnect)."""
        for socket in list(self._sockets):
            await socket.close(code=1011, message=b"dropped by test")

    # ----------------------------------------------------------------------------------
    # HTTP plumbing
    # ----------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: JSONDict = {}
        encoding: Literal["json", "form", "query"] = "query"
        token_value: str | None = None
        token: _Token | None = None
        status = 200
        headers: dict[str, str] = {}
        team_id: str | None = None  # set once the token authenticated
        try:
            params, encoding, token_value, basic = await self._read_request(request)
            decode_problems = self._decode_json_fields(params)
            token = self._tokens.get(token_value) if token_value else None
            workspace = self._workspaces.get(token.team_id) if token and token.team_id else None
            ctx = _Ctx(method, params, token, workspace, basic)
            entry = self._methods.get(method)
            if entry is None:
                raise _ApiError(
                    "unknown_method",
                    messages=[f"[ERROR] the fake does not implement `{method}`"],
                    validation=True,
                )
            auth_kind, handler = entry
            self._authenticate(ctx, auth_kind, token_value)
            team_id = workspace.team_id if workspace is not None else None
            self._run_script(method)
            if decode_problems:
                raise decode_problems[0]
            body = handler(ctx)
        except _ApiError as err:
            body = err.body()
            status = err.status
            headers = err.headers
            if err.validation:
                self._record_failure(method, team_id, err.error, err.messages, params)
        except Exception as exc:  # a bug in the fake: answer, record, and let the test fail
            body = {"ok": False, "error": "fatal_error"}
            status = 500
            self._record_failure(
                method, team_id, "fake_internal_error", [f"{type(exc).__name__}: {exc}"], params
            )
        self.calls.append(
            RecordedCall(
                method=method,
                team_id=team_id,
                token=token_value,
                params=params,
                time=self._clock(),
                http_method=request.method,
                encoding=encoding,
                status=status,
                response=body,
            )
        )
        return web.json_response(body, status=status, headers=headers)

    async def _read_request(
        self, request: web.Request
    ) -> tuple[JSONDict, Literal["json", "form", "query"], str | None, tuple[str, str] | None]:
        params: JSONDict = dict(request.query)
        encoding: Literal["json", "form", "query"] = "query"
        token = params.pop("token", None)
        if request.body_exists:
            if request.content_type == "application/json":
                encoding = "json"
                raw = await request.text()
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except ValueError as exc:
                    raise _ApiError("invalid_json", validation=True) from exc
                if not isinstance(body, dict):
                    raise _ApiError("invalid_json", validation=True)
                body.pop("token", None)  # Slack ignores a token inside a JSON body
                params.update(body)
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                encoding = "form"
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, str):
                        params[key] = value
                token = params.pop("token", token)
            else:
                raise _ApiError(
                    "invalid_form_data",
                    messages=[f"[ERROR] unsupported content type {request.content_type}"],
                    validation=True,
                )
        basic: tuple[str, str] | None = None
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization[len("Bearer ") :].strip()
        elif authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[len("Basic ") :]).decode()
            except ValueError as exc:
                raise _ApiError("invalid_client_id", validation=True) from exc
            client_id, _, secret = decoded.partition(":")
            basic = (client_id, secret)
        return params, encoding, (str(token) if token else None), basic

    @staticmethod
    def _decode_json_fields(params: JSONDict) -> list[_ApiError]:
        problems: list[_ApiError] = []
        for name in _JSON_FIELDS:
            value = params.get(name)
            if not isinstance(value, str):
                continue
            try:
                params[name] = json.loads(value)
            except ValueError:
                error = {
                    "blocks": "invalid_blocks_format",
                    "user_auth_blocks": "invalid_blocks_format",
                    "attachments": "invalid_attachments",
                    "metadata": "invalid_metadata_format",
                }.get(name, "invalid_arguments")
                problems.append(_invalid(f"`{name}` is not valid JSON", error=error))
        return problems

    def _run_script(self, method: str) -> None:
        queue = self._scripts.get(method)
        if not queue:
            return
        script = queue.popleft()
        headers = {}
        if script.retry_after_s is not None:
            headers["Retry-After"] = str(script.retry_after_s)
        raise _ApiError(script.error, status=script.status, headers=headers)

    def _authenticate(self, ctx: _Ctx, kind: _AuthKind, token_value: str | None) -> None:
        if kind == "client":
            return
        if token_value is None:
            raise _ApiError("not_authed", validation=True)
        token = ctx.token
        if token is None or token.revoked:
            raise _ApiError("invalid_auth")
        if token.expires_at is not None and self._clock() >= token.expires_at:
            raise _ApiError("token_expired")
        if kind == "app" and token.kind != "app":
            raise _ApiError("not_allowed_token_type", validation=True)
        if kind == "bot" and token.kind == "app":
            raise _ApiError("not_allowed_token_type", validation=True)
        if kind == "bot" and ctx.workspace is None:
            raise _ApiError("invalid_auth")

    def _record_failure(
        self,
        source: str,
        team_id: str | None,
        error: str,
        messages: Iterable[str],
        params: Mapping[str, Any],
    ) -> None:
        self.errors.append(
            ValidationFailure(source, team_id, error, tuple(messages), copy.deepcopy(dict(params)))
        )

    # ----------------------------------------------------------------------------------
    # model helpers
    # ----------------------------------------------------------------------------------

    def _workspace(self, team_id: str | None) -> _Workspace:
        if team_id is None:
            if len(self._workspaces) != 1:
                raise ValueError("team_id is required when the fake has several (or no) workspaces")
            return next(iter(self._workspaces.values()))
        try:
            return self._workspaces[team_id]
        except KeyError:
            raise ValueError(f"unknown workspace {team_id}; call add_workspace first") from None

    def _next_ts(self) -> str:
        now_us = int(self._clock() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}{secrets.token_hex(3).upper()}"

    def _dm_id(self, team_id: str, user_id: str) -> str:
        return _short_id("D", f"{team_id}:{user_id}", 11)

    def _dm_alias(self, workspace: _Workspace, channel: str) -> str:
        if channel[:1] in ("U", "W") and channel in workspace.dms:
            return workspace.dms[channel]
        return channel

    def _open_dm(self, workspace: _Workspace, user_id: str) -> _Channel:
        self._check_user(workspace, user_id)
        channel_id = self._dm_id(workspace.team_id, user_id)
        chan = workspace.channels.get(channel_id)
        if chan is None:
            chan = _Channel(
                id=channel_id,
                name=channel_id.lower(),
                members=[user_id, workspace.bot_user_id],
                is_private=True,
                is_im=True,
                im_user=user_id,
                created=int(self._clock()),
            )
            workspace.channels[channel_id] = chan
            workspace.dms[user_id] = channel_id
        return chan

    def _check_user(self, workspace: _Workspace, user_id: str) -> _User:
        user = workspace.users.get(user_id)
        if user is None:
            if workspace.strict_users or not re.match(r"^[UW][A-Z0-9]+$", user_id):
                raise _ApiError("user_not_found")
            user = _User(user_id, workspace.team_id, user_id.lower(), user_id.lower())
        return user

    def _channel(self, workspace: _Workspace, channel: Any, *, post: bool = False) -> _Channel:
        if not isinstance(channel, str) or not channel:
            raise _invalid("missing required field: channel")
        if post and channel[0] in ("U", "W"):
            return self._open_dm(workspace, channel)
        if channel.startswith("#"):
            wanted = channel[1:]
            for named in workspace.channels.values():
                if named.name == wanted:
                    return named
            raise _ApiError("channel_not_found")
        known = workspace.channels.get(channel)
        if known is not None:
            return known
        elsewhere = any(
            channel in other.channels
            for other in self._workspaces.values()
            if other is not workspace
        )
        if workspace.strict_channels or elsewhere or not re.match(r"^[CGD][A-Z0-9]+$", channel):
            raise _ApiError("channel_not_found")
        chan = _Channel(
            id=channel,
            name=channel.lower(),
            members=None,
            is_private=channel.startswith("G"),
            is_im=channel.startswith("D"),
            created=int(self._clock()),
        )
        workspace.channels[channel] = chan
        return chan

    @staticmethod
    def _check_bot_in(workspace: _Workspace, chan: _Channel) -> None:
        if chan.members is not None and workspace.bot_user_id not in chan.members:
            raise _ApiError("not_in_channel")

    def _find(self, workspace: _Workspace, channel: str, ts: str) -> StoredMessage | None:
        for msg in workspace.messages.get(self._dm_alias(workspace, channel), []):
            if msg.ts == ts:
                return msg
        return None

    def _store(self, workspace: _Workspace, msg: StoredMessage) -> None:
        workspace.messages.setdefault(msg.channel, []).append(msg)

    def _replies(self, workspace: _Workspace, msg: StoredMessage) -> list[StoredMessage]:
        return [
            m
            for m in workspace.messages.get(msg.channel, [])
            if m.thread_ts == msg.ts and m.ts != msg.ts
        ]

    def _message_json(
        self, workspace: _Workspace, msg: StoredMessage, *, include_metadata: bool
    ) -> JSONDict:
        out: JSONDict = {"type": "message", "text": msg.text, "ts": msg.ts, "team": msg.team_id}
        if msg.user:
            out["user"] = msg.user
        if msg.bot_id:
            out["bot_id"] = msg.bot_id
            out["app_id"] = msg.app_id
            out["bot_profile"] = {
                "id": msg.bot_id,
                "app_id": msg.app_id,
                "name": self.bot_name,
                "deleted": False,
                "team_id": msg.team_id,
            }
        if msg.blocks is not None:
            out["blocks"] = copy.deepcopy(msg.blocks)
        if msg.attachments is not None:
            out["attachments"] = copy.deepcopy(msg.attachments)
        if msg.files:
            out["files"] = copy.deepcopy(msg.files)
            out["upload"] = True
        if msg.thread_ts:
            out["thread_ts"] = msg.thread_ts
            if msg.thread_ts != msg.ts:
                parent = self._find(workspace, msg.channel, msg.thread_ts)
                if parent is not None and parent.user:
                    out["parent_user_id"] = parent.user
                if msg.reply_broadcast:
                    out["subtype"] = "thread_broadcast"
        replies = self._replies(workspace, msg)
        if replies:
            users = list(dict.fromkeys(r.user for r in replies if r.user))
            out["thread_ts"] = msg.ts
            out["reply_count"] = len(replies)
            out["reply_users"] = users
            out["reply_users_count"] = len(users)
            out["latest_reply"] = replies[-1].ts
        if msg.reactions:
            out["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in msg.reactions.items()
            ]
        if msg.edited:
            out["edited"] = dict(msg.edited)
        if include_metadata and msg.metadata is not None:
            out["metadata"] = copy.deepcopy(msg.metadata)
        return out

    def _with_block_ids(self, blocks: list[JSONDict]) -> list[JSONDict]:
        stored = copy.deepcopy(blocks)
        for block in stored:
            block.setdefault(
                "block_id", secrets.token_urlsafe(4).replace("-", "a").replace("_", "b")
            )
        return stored

    # -- shared validation -------------------------------------------------------------

    @staticmethod
    def _require(ctx: _Ctx, *names: str) -> None:
        missing = [name for name in names if _blank(ctx.params.get(name))]
        if missing:
            raise _invalid(*(f"missing required field: {name}" for name in missing))

    @staticmethod
    def _text(ctx: _Ctx) -> str | None:
        text = ctx.params.get("text")
        if text is None:
            return None
        if not isinstance(text, str):
            raise _invalid(f"`text` must be a string, got {type(text).__name__}")
        if _slack_len(text) > MAX_TEXT_LENGTH:
            raise _ApiError("msg_too_long", validation=True)
        return text

    @staticmethod
    def _blocks(ctx: _Ctx, name: str = "blocks") -> list[JSONDict] | None:
        blocks = ctx.params.get(name)
        if blocks is None:
            return None
        if not isinstance(blocks, list):
            raise _invalid(f"`{name}` must be an array", error="invalid_blocks_format")
        problems = BlockKitValidator.default().validate_blocks(blocks, f"/{name}")
        if problems:
            raise _invalid(*problems, error="invalid_blocks")
        return blocks

    @staticmethod
    def _attachments(ctx: _Ctx) -> list[JSONDict] | None:
        attachments = ctx.params.get("attachments")
        if attachments is None:
            return None
        if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
            raise _invalid("`attachments` must be an array of objects", error="invalid_attachments")
        validator = BlockKitValidator.default()
        problems: list[str] = []
        for index, attachment in enumerate(attachments):
            if "blocks" in attachment:
                problems += validator.validate_blocks(
                    attachment["blocks"], f"/attachments/{index}/blocks"
                )
        if problems:
            raise _invalid(*problems, error="invalid_attachments")
        return attachments

    @staticmethod
    def _metadata(ctx: _Ctx) -> JSONDict | None:
        metadata = ctx.params.get("metadata")
        if metadata is None:
            return None
        if not isinstance(metadata, dict):
            raise _invalid("`metadata` must be an object", error="invalid_metadata_format")
        problems: list[str] = []
        event_type = metadata.get("event_type")
        if not isinstance(event_type, str) or not event_type:
            problems.append("metadata.event_type must be a non-empty string")
        if not isinstance(metadata.get("event_payload"), dict):
            problems.append("metadata.event_payload must be an object")
        extra = set(metadata) - {"event_type", "event_payload"}
        if extra:
            problems.append(f"unexpected metadata keys: {sorted(extra)}")
        if problems:
            raise _invalid(*problems, error="invalid_metadata_schema")
        return metadata

    @staticmethod
    def _ts(ctx: _Ctx, name: str, *, error: str = "invalid_arguments") -> str | None:
        value = ctx.params.get(name)
        if _blank(value):
            return None
        if not isinstance(value, str) or not _TS_RE.match(value):
            raise _invalid(f"`{name}` is not a message timestamp: {value!r}", error=error)
        return value

    # ----------------------------------------------------------------------------------
    # Web API methods
    # ----------------------------------------------------------------------------------

    def _auth_test(self, ctx: _Ctx) -> JSONDict:
        token = ctx.token
        if token is not None and token.kind == "app":
            return {"ok": True, "app_id": self.app_id, "is_enterprise_install": False}
        workspace = ctx.ws
        return {
            "ok": True,
            "url": f"https://{workspace.domain}.slack.com/",
            "team": workspace.team_name,
            "user": self.bot_name,
            "team_id": workspace.team_id,
            "user_id": token.user_id if token else workspace.bot_user_id,
            "bot_id": workspace.bot_id,
            "is_enterprise_install": False,
        }

    def _new_bot_message(self, ctx: _Ctx, chan: _Channel, text: str | None) -> StoredMessage:
        workspace = ctx.ws
        return StoredMessage(
            team_id=workspace.team_id,
            channel=chan.id,
            ts=self._next_ts(),
            text=text or "",
            user=workspace.bot_user_id,
            bot_id=workspace.bot_id,
            app_id=self.app_id,
        )

    def _chat_post_message(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "channel")
        text = self._text(ctx)
        blocks = self._blocks(ctx)
        attachments = self._attachments(ctx)
        metadata = self._metadata(ctx)
        thread_ts = self._ts(ctx, "thread_ts", error="invalid_thread_ts")
        if not text and not blocks and not attachments:
            raise _ApiError(
                "no_text",
                messages=["[ERROR] one of `text`, `blocks` or `attachments` is required"],
                validation=True,
            )
        workspace = ctx.ws
        chan = self._channel(workspace, ctx.params["channel"], post=True)
        self._check_bot_in(workspace, chan)
        msg = self._new_bot_message(ctx, chan, text)
        msg.blocks = self._with_block_ids(blocks) if blocks is not None else None
        msg.attachments = copy.deepcopy(attachments)
        msg.metadata = copy.deepcopy(metadata)
        if thread_ts:
            parent = self._find(workspace, chan.id, thread_ts)
            # a reply to a reply goes to the same thread
            msg.thread_ts = (parent.thread_ts or thread_ts) if parent else thread_ts
            msg.reply_broadcast = _truthy(ctx.params.get("reply_broadcast"))
        self._store(workspace, msg)
        return {
            "ok": True,
            "channel": chan.id,
            "ts": msg.ts,
            "message": self._message_json(workspace, msg, include_metadata=True),
        }

    def _chat_update(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "channel", "ts")
        text = self._text(ctx)
        blocks = self._blocks(ctx)
        attachments = self._attachments(ctx)
        metadata = self._metadata(ctx)
        if text is None and blocks is None and attachments is None and metadata is None:
            raise _ApiError(
                "no_text",
                messages=[
                    "[ERROR] nothing to update: give `text`, `blocks`, `attachments` or `metadata`"
                ],
                validation=True,
            )
        workspace = ctx.ws
        chan = self._channel(workspace, ctx.params["channel"])
        msg = self._find(workspace, chan.id, str(ctx.params["ts"]))
        if msg is None:
            raise _ApiError("message_not_found")
        if msg.bot_id != workspace.bot_id:
            raise _ApiError("cant_update_message")
        if text is not None:
            msg.text = text
        if blocks is not None:
            msg.blocks = self._with_block_ids(blocks)
        if attachments is not None:
            msg.attachments = copy.deepcopy(attachments)
        if metadata is not None:
            msg.metadata = copy.deepcopy(metadata)
        msg.edited = {"user": workspace.bot_user_id, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": chan.id,
            "ts": msg.ts,
            "text": msg.text,
            "message": self._message_json(workspace, msg, include_metadata=True),
        }

    def _chat_post_ephemeral(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "channel", "user")
        text = self._text(ctx)
        blocks = self._blocks(ctx)
        attachments = self._attachments(ctx)
        self._ts(ctx, "thread_ts", error="invalid_thread_ts")
        if not text and not blocks and not attachments:
            raise _ApiError("no_text", validation=True)
        workspace = ctx.ws
        chan = self._channel(workspace, ctx.params["channel"], post=True)
        self._check_bot_in(workspace, chan)
        user = str(ctx.params["user"])
        self._check_user(workspace, user)
        if chan.members is not None and user not in chan.members:
            raise _ApiError("user_not_in_channel")
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_delete(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "channel", "ts")
        workspace = ctx.ws
        chan = self._channel(workspace, ctx.params["channel"])
        msg = self._find(workspace, chan.id, str(ctx.params["ts"]))
        if msg is None:
            raise _ApiError("message_not_found")
        if msg.bot_id != workspace.bot_id:
            raise _ApiError("cant_delete_message")
        workspace.messages[chan.id].remove(msg)
        return {"ok": True, "channel": chan.id, "ts": msg.ts}

    def _conversations_open(self, ctx: _Ctx) -> JSONDict:
        workspace = ctx.ws
        users_param = ctx.params.get("users")
        channel_param = ctx.params.get("channel")
        if _blank(users_param) and _blank(channel_param):
            raise _invalid("missing required field: users")
        if not _blank(channel_param):
            chan = self._channel(workspace, channel_param)
            already = True
        else:
            users = [u.strip() for u in str(users_param).split(",") if u.strip()]
            if len(users) != 1:
                if len(users) > 8:
                    raise _ApiError("too_many_users")
                for user in users:
                    self._check_user(workspace, user)
                seed = workspace.team_id + ":" + ",".join(sorted(users))
                mpim_id = _short_id("G", seed, 11)
                chan = workspace.channels.get(mpim_id) or _Channel(
                    id=mpim_id,
                    name="mpdm-" + "--".join(sorted(users)),
                    members=[*users, workspace.bot_user_id],
                    is_private=True,
                    created=int(self._clock()),
                )
                already = mpim_id in workspace.channels
                workspace.channels[mpim_id] = chan
            else:
                already = users[0] in workspace.dms
                chan = self._open_dm(workspace, users[0])
        body: JSONDict = {"ok": True, "channel": {"id": chan.id}}
        if already:
            body["no_op"] = True
            body["already_open"] = True
        if _truthy(ctx.params.get("return_im")):
            body["channel"] = self._channel_json(workspace, chan)
        return body

    def _channel_json(self, workspace: _Workspace, chan: _Channel) -> JSONDict:
        if chan.is_im:
            return {
                "id": chan.id,
                "created": chan.created,
                "is_im": True,
                "is_org_shared": False,
                "user": chan.im_user,
                "is_user_deleted": False,
                "priority": 0,
                "context_team_id": workspace.team_id,
            }
        return {
            "id": chan.id,
            "name": chan.name,
            "name_normalized": chan.name,
            "is_channel": not chan.is_private,
            "is_group": chan.is_private,
            "is_im": False,
            "is_mpim": chan.id.startswith("G") and chan.name.startswith("mpdm-"),
            "is_private": chan.is_private,
            "created": chan.created,
            "is_archived": False,
            "is_general": False,
            "is_shared": False,
            "is_org_shared": False,
            "is_member": chan.members is None or workspace.bot_user_id in chan.members,
            "context_team_id": workspace.team_id,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    def _history_window(self, ctx: _Ctx) -> tuple[int | None, int | None, bool]:
        bounds: list[int | None] = []
        for name, error in (("oldest", "invalid_ts_oldest"), ("latest", "invalid_ts_latest")):
            raw = ctx.params.get(name)
            if _blank(raw):
                bounds.append(None)
                continue
            if not re.match(r"^\d+(\.\d{1,6})?$", str(raw)):
                raise _invalid(f"`{name}` is not a timestamp: {raw!r}", error=error)
            bounds.append(_ts_micro(str(raw)))
        return bounds[0], bounds[1], _truthy(ctx.params.get("inclusive"))

    @staticmethod
    def _in_window(ts: str, oldest: int | None, latest: int | None, inclusive: bool) -> bool:
        micro = _ts_micro(ts)
        if oldest is not None and (micro < oldest or (micro == oldest and not inclusive)):
            return False
        return not (latest is not None and (micro > latest or (micro == latest and not inclusive)))

    def _conversations_history(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "channel")
        oldest, latest, inclusive = self._history_window(ctx)
        limit = _int_param(ctx.params, "limit", 100, 999)
        offset = _decode_cursor(ctx.params.get("cursor"))
        include_metadata = _truthy(ctx.params.get("include_all_metadata"))
        workspace = ctx.ws
        chan = self._channel(workspace, ctx.params["channel"])
        self._check_bot_in(workspace, chan)
        top_level = [
            m
            for m in workspace.messages.get(chan.id, [])
            if (m.thread_ts is None or m.thread_ts == m.ts or m.reply_broadcast)
            and self._in_window(m.ts, oldest, latest, inclusive)
        ]
        newest_first = sorted(top_level, key=lambda m: _ts_micro(m.ts), reverse=True)
        page = newest_first[offset : offset + limit]
        has_more = offset + limit < len(newest_first)
        body: JSONDict = {
            "ok": True,
            "messages": [
                self._message_json(workspace, m, include_metadata=include_metadata) for m in page
            ],
            "has_more": has_more,
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if has_more:
            body["response_metadata"] = {"next_cursor": _encode_cursor(offset + limit)}
        return body

    def _conversations_replies(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "channel", "ts")
        oldest, latest, inclusive = self._history_window(ctx)
        limit = _int_param(ctx.params, "limit", 1000, 1000)
        offset = _decode_cursor(ctx.params.get("cursor"))
        include_metadata = _truthy(ctx.params.get("include_all_metadata"))
        workspace = ctx.ws
        chan = self._channel(workspace, ctx.params["channel"])
        self._check_bot_in(workspace, chan)
        parent = self._find(workspace, chan.id, str(ctx.params["ts"]))
        if parent is None:
            raise _ApiError("thread_not_found")
        root = self._find(workspace, chan.id, parent.thread_ts) if parent.thread_ts else parent
        root = root or parent
        thread = [root, *self._replies(workspace, root)]
        thread = [
            m for m in thread if m is root or self._in_window(m.ts, oldest, latest, inclusive)
        ]
        page = thread[offset : offset + limit]
        has_more = offset + limit < len(thread)
        body: JSONDict = {
            "ok": True,
            "messages": [
                self._message_json(workspace, m, include_metadata=include_metadata) for m in page
            ],
            "has_more": has_more,
        }
        if has_more:
            body["response_metadata"] = {"next_cursor": _encode_cursor(offset + limit)}
        return body

    def _conversations_members(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "channel")
        limit = _int_param(ctx.params, "limit", 100, 1000)
        offset = _decode_cursor(ctx.params.get("cursor"))
        workspace = ctx.ws
        chan = self._channel(workspace, ctx.params["channel"])
        members = list(chan.members or [])
        page = members[offset : offset + limit]
        more = offset + limit < len(members)
        return {
            "ok": True,
            "members": page,
            "response_metadata": {"next_cursor": _encode_cursor(offset + limit) if more else ""},
        }

    def _conversations_info(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "channel")
        workspace = ctx.ws
        chan = self._channel(workspace, ctx.params["channel"])
        info = self._channel_json(workspace, chan)
        if _truthy(ctx.params.get("include_num_members")) and chan.members is not None:
            info["num_members"] = len(chan.members)
        if _truthy(ctx.params.get("include_locale")):
            info["locale"] = "fr-FR"
        return {"ok": True, "channel": info}

    def _users_info(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "user")
        workspace = ctx.ws
        user = self._check_user(workspace, str(ctx.params["user"]))
        body: JSONDict = {
            "id": user.id,
            "team_id": user.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": "Central European Time" if user.tz == "Europe/Paris" else user.tz,
            "tz_offset": 3600 if user.tz == "Europe/Paris" else 0,
            "is_admin": False,
            "is_owner": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": int(self._clock()),
            "profile": {
                "real_name": user.real_name,
                "display_name": user.name,
                "real_name_normalized": user.real_name,
                "display_name_normalized": user.name,
                "team": user.team_id,
                **({"email": user.email} if user.email else {}),
            },
        }
        if user.is_bot and user.id == workspace.bot_user_id:
            body["profile"]["bot_id"] = workspace.bot_id
        if _truthy(ctx.params.get("include_locale")):
            body["locale"] = user.locale
        return {"ok": True, "user": body}

    def _reactions_add(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "channel", "timestamp", "name")
        name = str(ctx.params["name"])
        if ":" in name or " " in name:
            raise _invalid(
                f"reaction name must not contain colons or spaces: {name!r}", error="invalid_name"
            )
        workspace = ctx.ws
        chan = self._channel(workspace, ctx.params["channel"])
        self._check_bot_in(workspace, chan)
        msg = self._find(workspace, chan.id, str(ctx.params["timestamp"]))
        if msg is None:
            raise _ApiError("message_not_found")
        users = msg.reactions.setdefault(name, [])
        if workspace.bot_user_id in users:
            raise _ApiError("already_reacted")
        users.append(workspace.bot_user_id)
        return {"ok": True}

    def _view_json(
        self, workspace: _Workspace, view: JSONDict, view_id: str, root: str
    ) -> JSONDict:
        return {
            "id": view_id,
            "team_id": workspace.team_id,
            "type": view.get("type"),
            "blocks": self._with_block_ids(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self._clock())}.{secrets.token_hex(4)}",
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": None,
            "root_view_id": root,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": workspace.team_id,
            "bot_id": workspace.bot_id,
        }

    def _checked_view(self, ctx: _Ctx) -> JSONDict:
        view = ctx.params.get("view")
        if _blank(view):
            raise _invalid("missing required field: view")
        problems = BlockKitValidator.default().validate_view(view, "/view")
        if problems:
            raise _invalid(*problems)
        assert isinstance(view, dict)
        return view

    def _views_open(self, ctx: _Ctx) -> JSONDict:
        view = self._checked_view(ctx)
        trigger = ctx.params.get("trigger_id") or ctx.params.get("interactivity_pointer")
        if _blank(trigger):
            raise _invalid("missing required field: trigger_id")
        workspace = ctx.ws
        entry = self._triggers.get(str(trigger))
        if entry is None or entry[0] != workspace.team_id:
            raise _ApiError("invalid_trigger_id", validation=True)
        team, user, minted, used = entry
        if used or time.monotonic() - minted > self.trigger_ttl_s:
            raise _ApiError("expired_trigger_id")
        self._triggers[str(trigger)] = (team, user, minted, True)
        view_id = self._new_id("V")
        stored = self._view_json(workspace, view, view_id, view_id)
        workspace.views[view_id] = stored
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _views_update(self, ctx: _Ctx) -> JSONDict:
        view = self._checked_view(ctx)
        view_id = ctx.params.get("view_id")
        external_id = ctx.params.get("external_id")
        if _blank(view_id) and _blank(external_id):
            raise _invalid("missing required field: view_id or external_id")
        workspace = ctx.ws
        current: JSONDict | None = None
        if not _blank(view_id):
            current = workspace.views.get(str(view_id))
        else:
            current = next(
                (v for v in workspace.views.values() if v.get("external_id") == external_id), None
            )
        if current is None:
            raise _ApiError("not_found")
        expected_hash = ctx.params.get("hash")
        if not _blank(expected_hash) and expected_hash != current["hash"]:
            raise _ApiError("hash_conflict")
        stored = self._view_json(workspace, view, current["id"], current["root_view_id"])
        workspace.views[current["id"]] = stored
        return {"ok": True, "view": copy.deepcopy(stored)}

    def _files_get_upload_url(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "filename", "length")
        raw_length = ctx.params["length"]
        try:
            length = int(raw_length)
        except (TypeError, ValueError) as exc:
            raise _invalid(f"`length` must be an integer: {raw_length!r}") from exc
        if length <= 0:
            raise _invalid("`length` must be positive")
        workspace = ctx.ws
        file_id = self._new_id("F")
        key = secrets.token_urlsafe(16)
        self._upload_keys[key] = file_id
        self.files[file_id] = UploadedFile(
            file_id=file_id,
            team_id=workspace.team_id,
            user_id=workspace.bot_user_id,
            filename=str(ctx.params["filename"]),
            length=length,
            alt_txt=ctx.params.get("alt_txt"),
            snippet_type=ctx.params.get("snippet_type"),
        )
        return {"ok": True, "upload_url": f"{self.url}upload/v1/{key}", "file_id": file_id}

    def _file_json(self, upload: UploadedFile) -> JSONDict:
        mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        now = int(self._clock())
        return {
            "id": upload.file_id,
            "created": now,
            "timestamp": now,
            "name": upload.filename,
            "title": upload.title or upload.filename,
            "mimetype": mimetype,
            "filetype": upload.filename.rsplit(".", 1)[-1].lower()
            if "." in upload.filename
            else "",
            "user": upload.user_id,
            "user_team": upload.team_id,
            "size": len(upload.content or b""),
            "mode": "hosted",
            "is_external": False,
            "is_public": bool(upload.channels),
            "url_private": f"{self.url}files-pri/{upload.team_id}-{upload.file_id}/{upload.filename}",
            "permalink": f"{self.url}files/{upload.user_id}/{upload.file_id}/{upload.filename}",
            "channels": list(upload.channels),
            "alt_txt": upload.alt_txt,
        }

    def _files_complete_upload(self, ctx: _Ctx) -> JSONDict:
        self._require(ctx, "files")
        entries = ctx.params["files"]
        if not isinstance(entries, list) or not entries:
            raise _invalid("`files` must be a non-empty array of {id, title}")
        workspace = ctx.ws
        uploads: list[UploadedFile] = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise _invalid(f"files[{index}] must be an object with an `id`")
            upload = self.files.get(entry["id"])
            if upload is None or upload.team_id != workspace.team_id:
                raise _ApiError("file_not_found")
            if upload.content is None:
                raise _ApiError(
                    "file_upload_not_completed",
                    messages=[f"[ERROR] {entry['id']} was never uploaded to its upload_url"],
                    validation=True,
                )
            if entry.get("title") is not None:
                upload.title = str(entry["title"])
            uploads.append(upload)
        initial_comment = ctx.params.get("initial_comment")
        if isinstance(initial_comment, str) and _slack_len(initial_comment) > MAX_TEXT_LENGTH:
            raise _ApiError("msg_too_long", validation=True)
        thread_ts = self._ts(ctx, "thread_ts", error="invalid_thread_ts")
        targets: list[str] = []
        if not _blank(ctx.params.get("channel_id")):
            targets.append(str(ctx.params["channel_id"]))
        if not _blank(ctx.params.get("channels")):
            targets += [c for c in str(ctx.params["channels"]).split(",") if c]
        channels = [self._channel(workspace, target, post=True) for target in targets]
        for chan in channels:
            self._check_bot_in(workspace, chan)
        for upload in uploads:
            upload.completed = True
            upload.initial_comment = initial_comment
            upload.thread_ts = thread_ts
            upload.channels = [chan.id for chan in channels]
        for chan in channels:
            msg = self._new_bot_message(ctx, chan, initial_comment)
            msg.files = [self._file_json(u) for u in uploads]
            msg.thread_ts = thread_ts
            self._store(workspace, msg)
        return {"ok": True, "files": [self._file_json(u) for u in uploads]}

    def _oauth_v2_access(self, ctx: _Ctx) -> JSONDict:
        client_id, secret = ctx.basic_auth or (
            str(ctx.params.get("client_id") or ""),
            str(ctx.params.get("client_secret") or ""),
        )
        if client_id != self.client_id:
            raise _ApiError("invalid_client_id")
        if secret != self.client_secret:
            raise _ApiError("bad_client_secret")
        if ctx.params.get("grant_type") == "refresh_token":
            return self._oauth_refresh(ctx)
        code = ctx.params.get("code")
        if _blank(code):
            raise _invalid("missing required field: code")
        grant = self._oauth_codes.get(str(code))
        if grant is None or grant.used:
            raise _ApiError("invalid_code")
        grant.used = True
        self.add_workspace(
            grant.team_id,
            grant.bot_token,
            grant.bot_user_id,
            team_name=grant.team_name,
            expires_in=grant.expires_in if grant.refresh_token else None,
        )
        workspace = self._workspaces[grant.team_id]
        authed_user: JSONDict = {"id": grant.authed_user_id}
        if grant.user_token:
            self._tokens[grant.user_token] = _Token(
                grant.user_token, grant.team_id, "user", grant.authed_user_id
            )
            authed_user.update(
                {
                    "scope": grant.user_scope or "",
                    "access_token": grant.user_token,
                    "token_type": "user",
                }
            )
        body: JSONDict = {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": authed_user,
            "scope": grant.scope,
            "token_type": "bot",
            "access_token": grant.bot_token,
            "bot_user_id": grant.bot_user_id,
            "team": {"id": workspace.team_id, "name": workspace.team_name},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if grant.refresh_token:
            self._refresh_tokens[grant.refresh_token] = _Refresh(
                grant.team_id, "bot", grant.bot_user_id, grant.expires_in or 43200, grant.scope
            )
            body["refresh_token"] = grant.refresh_token
            body["expires_in"] = grant.expires_in or 43200
        return body

    def _oauth_refresh(self, ctx: _Ctx) -> JSONDict:
        refresh_token = ctx.params.get("refresh_token")
        if _blank(refresh_token):
            raise _invalid("missing required field: refresh_token")
        refresh = self._refresh_tokens.get(str(refresh_token))
        if refresh is None:
            raise _ApiError("invalid_refresh_token")
        workspace = self._workspaces[refresh.team_id]
        new_token = f"xoxe.xoxb-1-{secrets.token_urlsafe(24)}"
        new_refresh = f"xoxe-1-{secrets.token_urlsafe(32)}"
        self._refresh_tokens[new_refresh] = refresh
        workspace.bot_token = new_token
        self._tokens[new_token] = _Token(
            new_token,
            refresh.team_id,
            "bot",
            refresh.user_id,
            self._clock() + refresh.expires_in,
        )
        return {
            "ok": True,
            "app_id": self.app_id,
            "scope": refresh.scope,
            "token_type": refresh.kind,
            "access_token": new_token,
            "bot_user_id": refresh.user_id,
            "refresh_token": new_refresh,
            "expires_in": refresh.expires_in,
            "team": {"id": workspace.team_id, "name": workspace.team_name},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, ctx: _Ctx) -> JSONDict:
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return {
            "ok": True,
            "url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}",
        }

    # ----------------------------------------------------------------------------------
    # upload URL, response_url, Socket Mode endpoints
    # ----------------------------------------------------------------------------------

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = self._upload_keys.get(request.match_info["key"])
        if file_id is None:
            self._record_failure("file_upload", None, "unknown_upload_url", [], {})
            return web.Response(status=404, text="Not Found", content_type="text/plain")
        upload = self.files[file_id]
        if request.content_type == "multipart/form-data":
            data = b""
            reader = await request.multipart()
            part = await reader.next()
            if isinstance(part, BodyPartReader):
                data = bytes(await part.read())
        else:
            data = await request.read()
        if len(data) != upload.length:
            self._record_failure(
                "file_upload",
                upload.team_id,
                "length_mismatch",
                [f"[ERROR] declared length {upload.length}, uploaded {len(data)} bytes"],
                {"file_id": file_id},
            )
        upload.content = data
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        entry = self._response_urls.get(key)
        url = str(request.url)
        raw = await request.text()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        team_id, channel_id, uses = entry if entry else (None, None, 0)

        def answer(status: int, text: str, problems: Iterable[str] = ()) -> web.Response:
            recorded = body if isinstance(body, dict) else {"raw": raw}
            self.responses.append(
                RecordedResponse(url, team_id, channel_id, recorded, self._clock(), status)
            )
            if status != 200:
                self._record_failure("response_url", team_id, text, list(problems), recorded)
            return web.Response(status=status, text=text, content_type="text/plain")

        if entry is None:
            return answer(404, "invalid_url")
        if uses >= RESPONSE_URL_MAX_USES:
            return answer(
                404, "used_url", [f"[ERROR] a response_url accepts {RESPONSE_URL_MAX_USES} posts"]
            )
        self._response_urls[key] = (team_id, channel_id, uses + 1)
        if not isinstance(body, dict):
            return answer(400, "invalid_payload", ["[ERROR] the body must be a JSON object"])
        problems: list[str] = []
        if body.get("response_type") not in (None, "ephemeral", "in_channel"):
            problems.append(f"invalid response_type {body.get('response_type')!r}")
        for flag in ("replace_original", "delete_original"):
            if flag in body and not isinstance(body[flag], bool):
                problems.append(f"`{flag}` must be a boolean")
        if "text" in body and not isinstance(body["text"], str):
            problems.append("`text` must be a string")
        elif isinstance(body.get("text"), str) and _slack_len(body["text"]) > MAX_TEXT_LENGTH:
            return answer(400, "msg_too_long", [f"[ERROR] `text` over {MAX_TEXT_LENGTH}"])
        deleting = body.get("delete_original") is True
        if (
            not deleting
            and not body.get("text")
            and not body.get("blocks")
            and not body.get("attachments")
        ):
            return answer(
                400, "no_text", ["[ERROR] one of `text`, `blocks` or `attachments` is required"]
            )
        if problems:
            return answer(400, "invalid_payload", [f"[ERROR] {p}" for p in problems])
        if "blocks" in body:
            block_problems = BlockKitValidator.default().validate_blocks(body["blocks"])
            if block_problems:
                return answer(400, "invalid_blocks", [f"[ERROR] {p}" for p in block_problems])
        if body.get("response_type") == "in_channel" and team_id and channel_id:
            workspace = self._workspaces.get(team_id)
            if workspace is not None:
                chan = workspace.channels.get(channel_id)
                if chan is not None:
                    msg = StoredMessage(
                        team_id,
                        chan.id,
                        self._next_ts(),
                        str(body.get("text") or ""),
                        workspace.bot_user_id,
                        bot_id=workspace.bot_id,
                        app_id=self.app_id,
                        blocks=self._with_block_ids(body["blocks"]) if body.get("blocks") else None,
                        thread_ts=body.get("thread_ts"),
                    )
                    self._store(workspace, msg)
        return answer(200, "ok")

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket")
        if ticket is None or ticket not in self._tickets:
            self._record_failure("socket_mode", None, "invalid_ticket", [], dict(request.query))
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.append(socket)
        hello = {
            "type": "hello",
            "num_connections": len(self._sockets),
            "debug_info": {
                "host": "applink-fake",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
        await socket.send_str(json.dumps(hello))
        if self._socket_connected is not None:
            self._socket_connected.set()
        try:
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    self._on_socket_text(str(frame.data))
                elif frame.type == WSMsgType.BINARY:
                    self._record_failure(
                        "socket_mode",
                        None,
                        "binary_frame",
                        ["[ERROR] acks must be text frames"],
                        {},
                    )
        finally:
            self._sockets.remove(socket)
            if not self._sockets and self._socket_connected is not None:
                self._socket_connected.clear()
        return socket

    def _on_socket_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            self._record_failure(
                "socket_mode", None, "invalid_json", [f"[ERROR] not JSON: {_short(data)}"], {}
            )
            return
        if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
            self._record_failure(
                "socket_mode",
                None,
                "invalid_ack",
                ["[ERROR] an ack must be an object with an `envelope_id`"],
                {"raw": message},
            )
            return
        envelope_id = message["envelope_id"]
        envelope = self._envelopes_by_id.get(envelope_id)
        if envelope is None:
            self._record_failure(
                "socket_mode", None, "unknown_envelope_id", [f"[ERROR] {envelope_id}"], message
            )
            return
        if envelope_id in self._acks_by_id:
            self._record_failure(
                "socket_mode",
                None,
                "duplicate_ack",
                [f"[ERROR] {envelope_id} acked twice"],
                message,
            )
            return
        payload = message.get("payload")
        problems = self._ack_problems(envelope, payload)
        if problems:
            self._record_failure("socket_mode", None, "invalid_ack_payload", problems, message)
        ack = SocketAck(
            envelope_id=envelope_id,
            payload=payload if isinstance(payload, dict) else None,
            raw=message,
            latency_s=time.monotonic() - envelope.sent_at,
        )
        self.acks.append(ack)
        self._acks_by_id[envelope_id] = ack
        waiter = self._ack_waiters.get(envelope_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)

    @staticmethod
    def _ack_problems(envelope: SocketEnvelope, payload: Any) -> list[str]:
        if payload is None:
            return []
        if not isinstance(payload, dict):
            return ["[ERROR] the ack payload must be an object"]
        if not envelope.accepts_response_payload:
            if payload:
                return [f"[ERROR] a `{envelope.type}` envelope does not accept a response payload"]
            return []
        validator = BlockKitValidator.default()
        problems: list[str] = []
        if envelope.type == "slash_commands":
            if payload.get("response_type") not in (None, "ephemeral", "in_channel"):
                problems.append(f"invalid response_type {payload.get('response_type')!r}")
            if "text" in payload and not isinstance(payload["text"], str):
                problems.append("`text` must be a string")
            if "blocks" in payload:
                problems += validator.validate_blocks(payload["blocks"], "/payload/blocks")
        elif envelope.payload.get("type") == "view_submission":
            action = payload.get("response_action")
            if action not in (None, "errors", "update", "push", "clear"):
                problems.append(f"invalid response_action {action!r}")
            if action == "errors":
                errors = payload.get("errors")
                if not isinstance(errors, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in errors.items()
                ):
                    problems.append("`errors` must map block_id to a message")
            if action in ("update", "push"):
                problems += validator.validate_view(payload.get("view"), "/payload/view")
        return [p if p.startswith("[ERROR]") else f"[ERROR] {p}" for p in problems]


def _find_element(blocks: list[JSONDict], action_id: str) -> tuple[JSONDict | None, str | None]:
    for block in blocks:
        candidates: list[Any] = []
        if isinstance(block.get("elements"), list):
            candidates += block["elements"]
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element, block.get("block_id")
    return None, None
