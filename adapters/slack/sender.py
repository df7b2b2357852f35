"""Outbound actions performed on Slack, each at most once per idempotency key, even across a crash."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.blocks import (
    CHOICES_BLOCK_ID,
    Button,
    FormMeta,
    choice_blocks,
    message_blocks,
    message_metadata,
    metadata_key,
    modal_view,
    text_blocks,
)
from adapters.slack.errors import error_code, slack_call
from adapters.slack.forms import KNOWN_FORMS, Texts, form_fields
from adapters.slack.markup import clip, emoji_name
from adapters.slack.workspaces import Workspaces
from bot.adapter import Delivery, KeyValue, Outgoing, PermanentError, TransientError
from bot.i18n import Fmt, Mention, Msg, escape_member_text
from bot.model import Choice, DirectMessage, Edit, Image, OpenForm, Post, PrivateNote, React

log = logging.getLogger(__name__)

SENT_NS = "slack.sent"
"""Idempotency key → {channel, thread, at, done, ts}: written before a send, completed after."""
CHOICES_NS = "slack.choices"
""""channel:ts" → the actions blocks of a message, so an Edit without choices keeps them."""

HISTORY_MARGIN_S = 120.0
HISTORY_PAGES = 5
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# Slack's answers that mean "this user or channel cannot get an ephemeral message here".
_EPHEMERAL_UNREACHABLE = frozenset(
    {
        "user_not_in_channel",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "messages_tab_disabled",
    }
)
_TRIGGER_SPENT = frozenset({"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"})


def key_tag(key: str) -> str:
    """A short, stable token of an idempotency key, for places without metadata (file names)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass
class _Handle:
    channel: str
    trigger_id: str | None
    response_url: str | None
    at: float
    message_ts: str | None = None
    """The message clicked, when the handle comes from a button."""


class ReplyHandles:
    """The latest trigger id and response_url of each member, from their last command or click.

    Why: a button click reaches the engine as an `InboundChoice`, which carries no reply
    handle, yet opening a modal in answer to it needs that click's trigger id (valid 3 s)."""

    TRIGGER_TTL_S = 2.8
    RESPONSE_URL_TTL_S = 25 * 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._handles: dict[tuple[str, str], _Handle] = {}

    def remember(
        self,
        team: str,
        user: str,
        channel: str,
        trigger_id: str | None,
        response_url: str | None,
        message_ts: str | None = None,
    ) -> None:
        self._handles[(team, user)] = _Handle(
            channel, trigger_id, response_url, self._clock(), message_ts
        )

    def trigger(self, team: str, user: str) -> tuple[str, str | None] | None:
        """A fresh trigger id of the member's last interaction (single use, like Slack's),
        with the message they clicked on, if any."""
        handle = self._handles.get((team, user))
        if handle is None or not handle.trigger_id:
            return None
        if self._clock() - handle.at > self.TRIGGER_TTL_S:
            return None
        trigger, handle.trigger_id = handle.trigger_id, None
        return trigger, handle.message_ts

    def response_url(self, team: str, user: str, channel: str) -> str | None:
        handle = self._handles.get((team, user))
        if handle is None or handle.channel != channel or not handle.response_url:
            return None
        if self._clock() - handle.at > self.RESPONSE_URL_TTL_S:
            return None
        return handle.response_url


class Sender:
    """Performs `Outgoing` actions with the right workspace's client."""

    def __init__(self, workspaces: Workspaces, kv: KeyValue, handles: ReplyHandles) -> None:
        self.workspaces = workspaces
        self.kv = kv
        self.handles = handles
        # Test hook, like the engine's: MAILLAGE_FAULT=slack_after_post kills the process
        # right after Slack accepted a message and before it is recorded (the window the
        # history check exists for).
        self._fault = os.environ.get("MAILLAGE_FAULT")
        self._handlers: Mapping[
            type[Any], Callable[[Outgoing, AsyncWebClient, str], Awaitable[Delivery]]
        ] = {
            Post: self._post,
            Edit: self._edit,
            React: self._react,
            DirectMessage: self._direct,
            PrivateNote: self._note,
            OpenForm: self._form,
        }

    async def perform(self, out: Outgoing, team: str | None) -> Delivery:
        handler = self._handlers.get(type(out.action))
        if handler is None:
            raise PermanentError(f"the Slack adapter does not perform {type(out.action).__name__}")
        client = await self.workspaces.client(team)
        return await handler(out, client, team or "")

    # -- rendering --------------------------------------------------------------------

    @staticmethod
    def mrkdwn(out: Outgoing, msg: Msg) -> str:
        def mention(m: Mention, fmt: Fmt) -> str:
            user = out.user_of(m)
            if user and _USER_ID.match(user):
                return f"<@{user}>"
            return escape_member_text(m.name, fmt)

        return out.render(msg, "mrkdwn", mention)

    @staticmethod
    def plain(out: Outgoing, msg: Msg) -> str:
        return out.render(msg, "plain")

    def _buttons(self, out: Outgoing, choices: Sequence[Choice]) -> list[Button]:
        return [Button(c.id, self.plain(out, c.label), c.emoji) for c in choices]

    # -- idempotent sends -------------------------------------------------------------

    async def _done(self, key: str) -> Delivery | None:
        record = await self.kv.get(SENT_NS, key)
        if isinstance(record, Mapping) and record.get("done"):
            return Delivery(record.get("ts"), record.get("channel"))
        return None

    async def _record(self, key: str, delivery: Delivery, thread: str | None = None) -> None:
        await self.kv.put(
            SENT_NS,
            key,
            {
                "channel": delivery.channel,
                "thread": thread,
                "at": time.time(),
                "done": True,
                "ts": delivery.message_id,
            },
        )

    async def _once(
        self,
        out: Outgoing,
        client: AsyncWebClient,
        channel: str,
        thread: str | None,
        send: Callable[[], Awaitable[Delivery]],
        tag: str | None = None,
    ) -> Delivery:
        """Send unless this key was already delivered: a send left unconfirmed (a crash
        between Slack's answer and our record) is looked up in the channel's history first."""
        record = await self.kv.get(SENT_NS, out.key)
        if isinstance(record, Mapping):
            if record.get("done"):
                return Delivery(record.get("ts"), record.get("channel"))
            if not record.get("answered"):
                found = await self._find_sent(
                    client,
                    str(record.get("channel") or channel),
                    record.get("thread"),
                    out.key,
                    tag,
                    float(record.get("at") or time.time()),
                )
                if found is not None:
                    log.info(
                        "message %s was already posted before a restart: not sending it again",
                        out.key,
                    )
                    delivery = Delivery(found, str(record.get("channel") or channel))
                    await self._record(out.key, delivery, thread)
                    return delivery
        attempt = {"channel": channel, "thread": thread, "at": time.time(), "done": False}
        await self._kv_put(out.key, attempt)
        try:
            delivery = await send()
        except (TransientError, PermanentError) as exc:
            if isinstance(exc.__cause__, SlackApiError):
                # Slack answered with an error: nothing was posted, no history check needed.
                await self._kv_put(out.key, {**attempt, "answered": True})
            raise
        if self._fault == "slack_after_post":
            os.kill(os.getpid(), signal.SIGKILL)
        try:
            await self._record(out.key, delivery, thread)
        except Exception as exc:
            # Sent but not recorded: retried later, the history check finds the message.
            raise TransientError(f"could not record the send of {out.key}: {exc}") from exc
        return delivery

    async def _kv_put(self, key: str, value: Any) -> None:
        try:
            await self.kv.put(SENT_NS, key, value)
        except Exception as exc:  # the store is unavailable: try again later
            raise TransientError(f"could not record the send of {key}: {exc}") from exc

    async def _find_sent(
        self,
        client: AsyncWebClient,
        channel: str,
        thread: str | None,
        key: str,
        tag: str | None,
        since: float,
    ) -> str | None:
        """The ts of a message carrying `key` in its metadata (or `tag` in a file name)."""
        oldest = f"{max(since - HISTORY_MARGIN_S, 0.0):.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            args: dict[str, Any] = {
                "channel": channel,
                "oldest": oldest,
                "include_all_metadata": True,
                "limit": 200,
            }
            if cursor:
                args["cursor"] = cursor
            if thread:
                async with slack_call("conversations.replies"):
                    resp = await client.conversations_replies(ts=thread, **args)
            else:
                async with slack_call("conversations.history"):
                    resp = await client.conversations_history(**args)
            for message in resp.get("messages") or []:
                if metadata_key(message) == key:
                    return str(message["ts"])
                files = message.get("files") or []
                if tag and any(tag in str(f.get("name", "")) for f in files):
                    return str(message["ts"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    async def _message(
        self,
        out: Outgoing,
        client: AsyncWebClient,
        channel: str,
        text: str,
        choices: Sequence[Choice],
        style: str,
        thread: str | None,
    ) -> Delivery:
        actions = (
            choice_blocks(self._buttons(out, choices)) if choices and style != "reactions" else []
        )

        async def send() -> Delivery:
            args: dict[str, Any] = {
                "channel": channel,
                "text": text,
                "metadata": message_metadata(out.key),
                "unfurl_links": False,
                "unfurl_media": False,
            }
            if actions:
                args["blocks"] = message_blocks(text, actions)
            if thread:
                args["thread_ts"] = thread
            async with slack_call("chat.postMessage"):
                resp = await client.chat_postMessage(**args)
            return Delivery(str(resp["ts"]), str(resp.get("channel") or channel))

        delivery = await self._once(out, client, channel, thread, send)
        if actions:
            await self.kv.put(CHOICES_NS, f"{delivery.channel}:{delivery.message_id}", actions)
        if choices and style == "reactions" and delivery.message_id and delivery.channel:
            for choice in choices:
                await self._add_reaction(
                    client, delivery.channel, delivery.message_id, choice.emoji
                )
        return delivery

    # -- actions ----------------------------------------------------------------------

    async def _post(self, out: Outgoing, client: AsyncWebClient, team: str) -> Delivery:
        action = out.action
        assert isinstance(action, Post)
        if not out.channel:
            raise PermanentError("a post needs a channel")
        text = self.mrkdwn(out, action.text)
        if action.image is not None:
            return await self._file(out, client, out.channel, text, action.image)
        return await self._message(
            out, client, out.channel, text, action.choices, action.choice_style, out.thread_of
        )

    async def _file(
        self, out: Outgoing, client: AsyncWebClient, channel: str, text: str, image: Image
    ) -> Delivery:
        tag = key_tag(out.key)
        stem, dot, ext = image.filename.rpartition(".")
        filename = (
            f"{stem}-{tag}.{ext}" if dot and stem else f"{image.filename or 'image'}-{tag}.png"
        )
        try:
            data = base64.b64decode(image.png_b64, validate=True)
        except (binascii.Error, ValueError):
            raise PermanentError("the image is not valid base64") from None
        alt = clip(self.plain(out, image.alt), 1000)

        async def send() -> Delivery:
            since = time.time()
            async with slack_call("files.uploadV2"):
                await client.files_upload_v2(
                    channel=channel,
                    file=data,
                    filename=filename,
                    title=clip(alt, 250),
                    alt_txt=alt,
                    initial_comment=text or None,
                    thread_ts=out.thread_of,
                )
            # Slack shares the file in a message of its own; its ts is found by the file
            # name (uploads carry no metadata). Real Slack may share a moment later: then
            # the delivery has no message id, which only rules out editing the chart.
            try:
                ts = await self._find_sent(client, channel, out.thread_of, out.key, tag, since)
            except (TransientError, PermanentError):
                ts = None  # the upload is done: a failed lookup must not make it "unsent"
            return Delivery(ts, channel)

        return await self._once(out, client, channel, out.thread_of, send, tag=tag)

    async def _edit(self, out: Outgoing, client: AsyncWebClient, team: str) -> Delivery:
        action = out.action
        assert isinstance(action, Edit)
        if not out.channel or not out.message_id:
            raise PermanentError("an edit needs the channel and ts of the message")
        text = self.mrkdwn(out, action.text)
        slot = f"{out.channel}:{out.message_id}"
        if action.choices is None:
            stored = await self.kv.get(CHOICES_NS, slot)
            actions = (
                list(stored)
                if isinstance(stored, list)
                else await self._current_actions(client, out.channel, out.message_id)
            )
        else:
            actions = choice_blocks(self._buttons(out, action.choices))
            await self.kv.put(CHOICES_NS, slot, actions)
        blocks = message_blocks(text, actions) if actions else text_blocks(text)
        async with slack_call("chat.update"):
            await client.chat_update(
                channel=out.channel,
                ts=out.message_id,
                text=text,
                blocks=blocks,
                metadata=message_metadata(out.key),
            )
        return Delivery(out.message_id, out.channel)

    async def _current_actions(
        self, client: AsyncWebClient, channel: str, ts: str
    ) -> list[dict[str, Any]]:
        """The buttons a message shows now (for messages posted before the choices were kept)."""
        async with slack_call("conversations.history"):
            resp = await client.conversations_history(
                channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
            )
        for message in resp.get("messages") or []:
            return [
                b
                for b in message.get("blocks") or []
                if b.get("type") == "actions"
                and str(b.get("block_id", "")).startswith(CHOICES_BLOCK_ID)
            ]
        return []

    async def _add_reaction(
        self, client: AsyncWebClient, channel: str, ts: str, emoji: str
    ) -> None:
        name = emoji_name(emoji)
        if name is None:
            raise PermanentError(f"no Slack name for the emoji {emoji!r}")
        try:
            async with slack_call("reactions.add"):
                await client.reactions_add(channel=channel, timestamp=ts, name=name)
        except PermanentError as exc:
            if (
                isinstance(exc.__cause__, SlackApiError)
                and error_code(exc.__cause__) == "already_reacted"
            ):
                return  # the reaction is there: that is what was asked
            raise

    async def _react(self, out: Outgoing, client: AsyncWebClient, team: str) -> Delivery:
        action = out.action
        assert isinstance(action, React)
        if not out.channel or not out.message_id:
            raise PermanentError("a reaction needs the channel and ts of the message")
        await self._add_reaction(client, out.channel, out.message_id, action.emoji)
        return Delivery(out.message_id, out.channel)

    async def _open_dm(self, client: AsyncWebClient, user: str) -> str:
        async with slack_call("conversations.open"):
            resp = await client.conversations_open(users=user)
        return str(resp["channel"]["id"])

    async def _direct(self, out: Outgoing, client: AsyncWebClient, team: str) -> Delivery:
        action = out.action
        assert isinstance(action, DirectMessage)
        done = await self._done(out.key)
        if done is not None:
            return done
        if not out.recipient:
            raise PermanentError("a direct message needs the member's Slack user id")
        channel = out.channel or await self._open_dm(client, out.recipient)
        text = self.mrkdwn(out, action.text)
        return await self._message(
            out, client, channel, text, action.choices, action.choice_style, out.thread_of
        )

    async def _note(self, out: Outgoing, client: AsyncWebClient, team: str) -> Delivery:
        action = out.action
        assert isinstance(action, PrivateNote | OpenForm)
        text = self.mrkdwn(out, action.text if isinstance(action, PrivateNote) else action.fallback)
        return await self._ephemeral(out, client, team, text)

    async def _ephemeral(
        self, out: Outgoing, client: AsyncWebClient, team: str, text: str
    ) -> Delivery:
        """Seen by one member: through the command's response_url when there is one, else
        chat.postEphemeral, else (member not in the channel) a direct message."""
        done = await self._done(out.key)
        if done is not None:
            return done
        user = out.recipient
        channel = out.channel
        if not user:
            raise PermanentError("a private note needs the member's Slack user id")
        url = out.reply_handle.get("response_url") or (
            self.handles.response_url(team, user, channel) if channel else None
        )
        if url and await self._respond(url, text):
            delivery = Delivery(None, channel)
            await self._record(out.key, delivery)
            return delivery
        if channel:
            try:
                async with slack_call("chat.postEphemeral"):
                    await client.chat_postEphemeral(
                        channel=channel, user=user, text=text, thread_ts=out.thread_of
                    )
                delivery = Delivery(None, channel)
                await self._record(out.key, delivery)
                return delivery
            except PermanentError as exc:
                cause = exc.__cause__
                if not (
                    isinstance(cause, SlackApiError) and error_code(cause) in _EPHEMERAL_UNREACHABLE
                ):
                    raise
                log.info(
                    "private note to %s not possible in %s (%s): sending it as a DM",
                    user,
                    channel,
                    error_code(cause),
                )
        dm = await self._open_dm(client, user)
        return await self._message(out, client, dm, text, (), "buttons", None)

    async def _respond(self, url: str, text: str) -> bool:
        body: dict[str, Any] = {
            "response_type": "ephemeral",
            "replace_original": False,
            "text": text,
        }
        try:
            resp = await AsyncWebhookClient(url).send_dict(body)
        except Exception as exc:  # network errors: chat.postEphemeral is the fallback
            log.info(
                "response_url failed (%s): falling back to chat.postEphemeral", type(exc).__name__
            )
            return False
        if resp.status_code == 200:
            return True
        log.info("response_url answered %s %s: falling back", resp.status_code, resp.body)
        return False

    async def _form(self, out: Outgoing, client: AsyncWebClient, team: str) -> Delivery:
        action = out.action
        assert isinstance(action, OpenForm)
        done = await self._done(out.key)
        if done is not None:
            return done
        user = out.recipient or ""
        trigger = out.reply_handle.get("trigger_id")
        clicked: str | None = None
        if not trigger and user:
            # An answer to a click: the engine does not carry the click's trigger id, the
            # adapter kept it (with the message clicked, which the submission is about).
            fresh = self.handles.trigger(team, user)
            if fresh is not None:
                trigger, clicked = fresh
        if action.form not in KNOWN_FORMS and not action.fields:
            raise PermanentError(f"unknown form {action.form!r}")
        if not trigger:
            log.info("no fresh trigger id to open the %s form: sending its fallback", action.form)
            return await self._note(out, client, team)
        texts = Texts(out.locale, lambda m: self.plain(out, m))
        meta = FormMeta(
            form=action.form,
            channel=out.channel or "",
            target=out.message_id or clicked or out.thread_of or action.context.get("target"),
            choice=action.context.get("choice"),
            context=action.context,
        )
        intro = action.context.get("intro")
        view = modal_view(
            meta,
            title=self.plain(out, action.title),
            fields=form_fields(action.form, action.fields, texts),
            submit=texts("slack.form.submit"),
            close=texts("slack.form.cancel"),
            intro_mrkdwn=escape_member_text(intro, "mrkdwn") if intro else None,
        )
        try:
            async with slack_call("views.open"):
                resp = await client.views_open(trigger_id=trigger, view=view)
        except PermanentError as exc:
            cause = exc.__cause__
            if isinstance(cause, SlackApiError) and error_code(cause) in _TRIGGER_SPENT:
                log.info(
                    "the trigger id expired before the %s form opened: sending its fallback",
                    action.form,
                )
                return await self._note(out, client, team)
            raise
        delivery = Delivery(str(resp["view"]["id"]), out.channel)
        await self._record(out.key, delivery)
        return delivery
