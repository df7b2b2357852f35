"""The latest trigger id and response_url of each member, kept from their last command or click."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


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
