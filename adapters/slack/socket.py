"""Socket Mode with a checked door: a malformed frame or envelope is acked or dropped with one warning, never run."""

from __future__ import annotations

import asyncio
import json
import logging
from time import time
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.envelope import Malformed, check

log = logging.getLogger(__name__)

ENVELOPE_TYPES = frozenset({"events_api", "slash_commands", "interactive"})
CONTROL_TYPES = frozenset({"hello", "disconnect"})


class CheckedClient(SocketModeClient):
    """slack_sdk's client, reading each frame through `checked` first: its own loop logs an
    unparseable frame as an error with a traceback and leaves a bad envelope unacked, so
    Slack delivers it again and again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Envelopes being run, held until they end (the event loop keeps weak references).
        self._running: set[asyncio.Future[None]] = set()

    async def process_message(self) -> None:
        raw = await self.message_queue.get()
        if raw is None:
            return
        message = await self.checked(raw)
        if message is not None:
            # As slack_sdk does: each envelope runs on its own, the loop reads on.
            task = asyncio.ensure_future(self.run_message_listeners(message, raw))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def checked(self, raw: Any) -> dict[str, Any] | None:
        """The frame as a message to run, or None once it is dropped (and acked if it can be)."""
        try:
            message = json.loads(raw)
        except (TypeError, ValueError, RecursionError):
            log.warning("dropped a Socket Mode frame that is not JSON")
            return None
        if not isinstance(message, dict):
            log.warning("dropped a Socket Mode frame that is not an object")
            return None
        kind = message.get("type")
        if kind in CONTROL_TYPES:
            return message
        envelope_id = message.get("envelope_id")
        if not isinstance(envelope_id, str) or not envelope_id:
            log.warning("dropped a Socket Mode frame without an envelope id")
            return None
        try:
            if kind not in ENVELOPE_TYPES:
                raise Malformed(f"unknown envelope type {kind!r}")
            check(message.get("payload"))
        except Malformed as exc:
            # Acked: a redelivery would be just as malformed.
            log.warning("acked and dropped a malformed Socket Mode envelope: %s", exc)
            await self._ack(envelope_id)
            return None
        return message

    async def _ack(self, envelope_id: str) -> None:
        try:
            await self.send_socket_mode_response(SocketModeResponse(envelope_id=envelope_id))
        except Exception as exc:  # the connection is going: Slack will retry, we refuse again
            log.warning("could not ack a dropped envelope: %s", type(exc).__name__)


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler on the checked client."""

    def __init__(
        self,
        app: AsyncApp,
        app_token: str,
        logger: logging.Logger,
        web_client: AsyncWebClient,
    ) -> None:
        # Not super().__init__: it builds slack_sdk's unchecked client (and its HTTP session).
        self.app = app
        self.app_token = app_token
        self.client = CheckedClient(app_token=app_token, logger=logger, web_client=web_client)
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        start = time()
        try:
            response = await run_async_bolt_app(self.app, req)
        except Exception as exc:  # Bolt's context builder read a shape the check let through
            log.warning("acked and dropped an envelope Bolt cannot read: %s", type(exc).__name__)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        await send_async_response(client, req, response, start)
