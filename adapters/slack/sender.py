"""Outbound actions performed on Slack, each at most once per idempotency key, even across a crash, each within Slack's limits."""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import (
    CHOICES_BLOCK_ID,
    Button,
    choice_blocks,
    message_metadata,
)
from adapters.slack.errors import error_code, slack_call
from adapters.slack.fit import Part, comment, edit_part, message_parts, part_key
from adapters.slack.handles import ReplyHandles
from adapters.slack.ledger import SENT_NS, Ledger, key_tag
from adapters.slack.markup import clip, emoji_name, mrkdwn, note_mark, plain
from adapters.slack.private import PrivateSender
from adapters.slack.workspaces import Workspaces
from bot.adapter import Delivery, KeyValue, Outgoing, PermanentError, TransientError
from bot.kernel.model import Choice, DirectMessage, Edit, Image, OpenForm, Post, PrivateNote, React

__all__ = ["CHOICES_NS", "SENT_NS", "ReplyHandles", "Sender", "key_tag"]

log = logging.getLogger(__name__)

CHOICES_NS = "slack.choices"
""""channel:ts" → the actions blocks of a message, so an Edit without choices keeps them."""


class Sender:
    """Performs `Outgoing` actions with the right workspace's client."""

    def __init__(
        self, workspaces: Workspaces, kv: KeyValue, handles: ReplyHandles, fault: str | None = None
    ) -> None:
        self.workspaces = workspaces
        self.handles = handles
        self.ledger = Ledger(kv, fault)
        self.private = PrivateSender(self, self.ledger, handles)
        self._handlers: Mapping[
            type[Any], Callable[[Outgoing, AsyncWebClient, str], Awaitable[Delivery]]
        ] = {
            Post: self._post,
            Edit: self._edit,
            React: self._react,
            DirectMessage: self._direct,
            PrivateNote: self.private.note,
            OpenForm: self.private.form,
        }

    @property
    def kv(self) -> KeyValue:
        """The adapter's store, shared with the ledger (tests swap it for a failing one)."""
        return self.ledger.kv

    @kv.setter
    def kv(self, kv: KeyValue) -> None:
        self.ledger.kv = kv

    async def perform(self, out: Outgoing, team: str | None) -> Delivery:
        handler = self._handlers.get(type(out.action))
        if handler is None:
            raise PermanentError(f"the Slack adapter does not perform {type(out.action).__name__}")
        client = await self.workspaces.client(team)
        return await handler(out, client, team or "")

    def _buttons(self, out: Outgoing, choices: Sequence[Choice]) -> list[Button]:
        return [Button(c.id, plain(out, c.label), c.emoji, c.row) for c in choices]

    # -- messages ---------------------------------------------------------------------

    async def message(
        self,
        out: Outgoing,
        client: AsyncWebClient,
        channel: str,
        text: str,
        choices: Sequence[Choice],
        style: str,
        thread: str | None,
        key: str | None = None,
    ) -> Delivery:
        """Post `text` (in several messages when it is longer than one can hold; the last
        has the buttons) and return where the last one landed."""
        actions = (
            choice_blocks(self._buttons(out, choices)) if choices and style != "reactions" else []
        )
        parts = message_parts(text, actions)
        delivery = Delivery(None, channel)
        for index, part in enumerate(parts):
            delivery = await self._post_part(
                client, channel, thread, part, part_key(key or out.key, index, len(parts))
            )
        if actions and delivery.message_id:
            blocks = parts[-1].blocks or []
            kept = [b for b in blocks if b.get("type") == "actions"]
            await self.kv.put(CHOICES_NS, f"{delivery.channel}:{delivery.message_id}", kept)
        if choices and style == "reactions" and delivery.message_id and delivery.channel:
            for choice in choices:
                await self._add_reaction(
                    client, delivery.channel, delivery.message_id, choice.emoji
                )
        return delivery

    async def _post_part(
        self, client: AsyncWebClient, channel: str, thread: str | None, part: Part, key: str
    ) -> Delivery:
        async def send() -> Delivery:
            args: dict[str, Any] = {
                "channel": channel,
                "text": part.text,
                "metadata": message_metadata(key),
                "unfurl_links": False,
                "unfurl_media": False,
            }
            if part.blocks:
                args["blocks"] = part.blocks
            if thread:
                args["thread_ts"] = thread
            async with slack_call("chat.postMessage"):
                resp = await client.chat_postMessage(**args)
            return Delivery(str(resp["ts"]), str(resp.get("channel") or channel))

        return await self.ledger.once(key, client, channel, thread, send)

    # -- actions ----------------------------------------------------------------------

    async def _post(self, out: Outgoing, client: AsyncWebClient, team: str) -> Delivery:
        action = out.action
        assert isinstance(action, Post)
        if not out.channel:
            raise PermanentError("a post needs a channel")
        text = mrkdwn(out, action.text)
        if action.image is not None:
            return await self._file(out, client, out.channel, text, action.image)
        return await self.message(
            out, client, out.channel, text, action.choices, action.choice_style, out.thread_of
        )

    async def _file(
        self, out: Outgoing, client: AsyncWebClient, channel: str, text: str, image: Image
    ) -> Delivery:
        alt = clip(plain(out, image.alt), 1000)
        return await self.upload(out, client, channel, text, image.png_b64, image.filename or "image.png", alt)

    async def upload(
        self, out: Outgoing, client: AsyncWebClient, channel: str, text: str, data_b64: str,
        name: str, alt: str,
    ) -> Delivery:
        """A file shared in `channel` with `text` as its comment (a chart, a member's data)."""
        tag = key_tag(out.key)
        stem, dot, ext = name.rpartition(".")
        filename = f"{stem}-{tag}.{ext}" if dot and stem else f"{name}-{tag}"
        try:
            data = base64.b64decode(data_b64, validate=True)
        except (binascii.Error, ValueError):
            raise PermanentError("the file is not valid base64") from None
        caption = comment(text, note_mark(out)) if text else None

        async def send() -> Delivery:
            since = time.time()
            async with slack_call("files.uploadV2"):
                await client.files_upload_v2(
                    channel=channel,
                    file=data,
                    filename=filename,
                    title=clip(alt, 250),
                    alt_txt=alt,
                    initial_comment=caption,
                    thread_ts=out.thread_of,
                )
            # Slack shares the file in a message of its own; its ts is found by the file
            # name (uploads carry no metadata). Real Slack may share a moment later: then
            # the delivery has no message id, which only rules out editing the chart.
            try:
                ts = await self.ledger.find_sent(
                    client, channel, out.thread_of, out.key, tag, since
                )
            except (TransientError, PermanentError):
                ts = None  # the upload is done: a failed lookup must not make it "unsent"
            return Delivery(ts, channel)

        return await self.ledger.once(out.key, client, channel, out.thread_of, send, tag=tag)

    async def _edit(self, out: Outgoing, client: AsyncWebClient, team: str) -> Delivery:
        action = out.action
        assert isinstance(action, Edit)
        if not out.channel or not out.message_id:
            raise PermanentError("an edit needs the channel and ts of the message")
        text = mrkdwn(out, action.text)
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
        # An edit replaces one message: what does not fit in it is shortened, visibly.
        part = edit_part(text, actions, note_mark(out))
        async with slack_call("chat.update"):
            await client.chat_update(
                channel=out.channel,
                ts=out.message_id,
                text=part.text,
                blocks=part.blocks,
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

    async def open_dm(self, client: AsyncWebClient, user: str) -> str:
        async with slack_call("conversations.open"):
            resp = await client.conversations_open(users=user)
        return str(resp["channel"]["id"])

    async def _direct(self, out: Outgoing, client: AsyncWebClient, team: str) -> Delivery:
        action = out.action
        assert isinstance(action, DirectMessage)
        done = await self.ledger.done(out.key)
        if done is not None:
            return done
        if not out.recipient:
            raise PermanentError("a direct message needs the member's Slack user id")
        channel = out.channel or await self.open_dm(client, out.recipient)
        text = mrkdwn(out, action.text)
        return await self.message(
            out, client, channel, text, action.choices, action.choice_style, out.thread_of
        )
