"""What was sent to Slack, by idempotency key: written before a send, completed after, so a crash in between is looked up instead of posted twice."""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import metadata_key
from adapters.slack.errors import slack_call
from bot.adapter import Delivery, KeyValue, PermanentError, TransientError

log = logging.getLogger(__name__)

SENT_NS = "slack.sent"
"""Idempotency key → {channel, thread, at, done, ts}: written before a send, completed after."""
HISTORY_MARGIN_S = 120.0
HISTORY_PAGES = 5


def key_tag(key: str) -> str:
    """A short, stable token of an idempotency key, for places without metadata (file names)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class Ledger:
    """The send records in the bot's store, and the history check that completes them."""

    def __init__(self, kv: KeyValue, fault: str | None = None) -> None:
        self.kv = kv
        # Crash tests' hook, like the engine's: `slack_after_post` kills the process right
        # after Slack accepted a message and before it is recorded (the window the history
        # check exists for).
        self._fault = fault

    async def done(self, key: str) -> Delivery | None:
        record = await self.kv.get(SENT_NS, key)
        if isinstance(record, Mapping) and record.get("done"):
            return Delivery(record.get("ts"), record.get("channel"))
        return None

    async def record(self, key: str, delivery: Delivery, thread: str | None = None) -> None:
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

    async def once(
        self,
        key: str,
        client: AsyncWebClient,
        channel: str,
        thread: str | None,
        send: Callable[[], Awaitable[Delivery]],
        tag: str | None = None,
    ) -> Delivery:
        """Send unless this key was already delivered: a send left unconfirmed (a crash
        between Slack's answer and our record) is looked up in the channel's history first."""
        record = await self.kv.get(SENT_NS, key)
        if isinstance(record, Mapping):
            if record.get("done"):
                return Delivery(record.get("ts"), record.get("channel"))
            if not record.get("answered"):
                found = await self.find_sent(
                    client,
                    str(record.get("channel") or channel),
                    record.get("thread"),
                    key,
                    tag,
                    float(record.get("at") or time.time()),
                )
                if found is not None:
                    log.info(
                        "message %s was already posted before a restart: not sending it again",
                        key,
                    )
                    delivery = Delivery(found, str(record.get("channel") or channel))
                    await self.record(key, delivery, thread)
                    return delivery
        attempt = {"channel": channel, "thread": thread, "at": time.time(), "done": False}
        await self._put(key, attempt)
        try:
            delivery = await send()
        except (TransientError, PermanentError) as exc:
            if isinstance(exc.__cause__, SlackApiError):
                # Slack answered with an error: nothing was posted, no history check needed.
                await self._put(key, {**attempt, "answered": True})
            raise
        if self._fault == "slack_after_post":
            os.kill(os.getpid(), signal.SIGKILL)
        try:
            await self.record(key, delivery, thread)
        except Exception as exc:
            # Sent but not recorded: retried later, the history check finds the message.
            raise TransientError(f"could not record the send of {key}: {exc}") from exc
        return delivery

    async def _put(self, key: str, value: Any) -> None:
        try:
            await self.kv.put(SENT_NS, key, value)
        except Exception as exc:  # the store is unavailable: try again later
            raise TransientError(f"could not record the send of {key}: {exc}") from exc

    async def find_sent(
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
