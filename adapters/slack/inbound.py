"""Slack payloads (Events API, slash commands, interactivity) translated into the engine's inbound events."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from adapters.slack.blocks import ACTION_PREFIX, Submission
from adapters.slack.markup import to_plain
from bot.kernel.commands import fold
from bot.kernel.model import (
    InboundChoice,
    InboundCommand,
    InboundEvent,
    InboundMembership,
    InboundMessage,
    InboundReaction,
)

PLATFORM = "slack"

Payload = Mapping[str, Any]

# Message subtypes that are still a member writing; every other subtype (edits, deletions,
# joins, bot messages, topic changes…) is Slack's bookkeeping, not something said to the bot.
_SPOKEN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})


def at(ts: Any) -> datetime | None:
    """A Slack timestamp ("1700000000.000100") as an aware datetime, None when unreadable."""
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        # NaN, infinities and instants past the platform's time_t or year 9999.
        return None


def is_dm_channel(channel: str) -> bool:
    return channel.startswith("D")


def _stable_id(prefix: str, payload: Payload) -> str:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return f"{prefix}:{digest[:32]}"


@dataclass(frozen=True)
class Translator:
    """Turns Slack payloads into inbound events. Pure: no I/O, so it is tested on payloads."""

    command_prefix: str = "!reseau"

    # -- Events API -------------------------------------------------------------------

    def event(self, body: Payload, bot_user_id: str | None) -> InboundEvent | None:
        """An `event_callback` body → an inbound event, or None when it is not for the engine."""
        event = body.get("event") or {}
        handler = self._EVENTS.get(str(event.get("type")))
        if handler is None:
            return None
        return handler(self, body, event, bot_user_id)

    def _base(self, body: Payload, event: Payload) -> dict[str, Any]:
        return {
            "platform": PLATFORM,
            "event_id": str(body.get("event_id") or _stable_id("ev", event)),
            "account_scope": str(body.get("team_id") or event.get("team") or ""),
        }

    def _message(
        self, body: Payload, event: Payload, bot_user_id: str | None
    ) -> InboundEvent | None:
        if event.get("subtype") not in _SPOKEN_SUBTYPES or event.get("bot_id"):
            return None
        user = event.get("user")
        channel = event.get("channel")
        ts = event.get("ts")
        if not user or not channel or not ts or user == bot_user_id:
            return None
        text = to_plain(str(event.get("text") or ""))
        thread_ts = event.get("thread_ts")
        thread_of = str(thread_ts) if thread_ts and thread_ts != ts else None
        is_direct = event.get("channel_type") == "im" or is_dm_channel(str(channel))
        common = {
            **self._base(body, event),
            "channel": str(channel),
            "sender": str(user),
            "at": at(ts),
            "is_direct": is_direct,
        }
        command = self.command_text(text)
        if command is not None:
            return InboundCommand(**common, text=command, thread_of=thread_of)
        if thread_of is None and not is_direct:
            # Top-level chatter in a channel is not addressed to the bot: the engine only
            # listens to thread replies and direct messages, and we keep no copy of the rest.
            return None
        return InboundMessage(**common, text=text, message_id=str(ts), thread_of=thread_of)

    def command_text(self, text: str) -> str | None:
        """What follows the prefix ("!reseau aide" → "aide"), or None without the prefix."""
        stripped = text.lstrip()
        prefix = self.command_prefix
        head = stripped[: len(prefix)]
        if not prefix or fold(head) != fold(prefix):
            return None
        rest = stripped[len(prefix) :]
        if rest and not rest[0].isspace():
            return None  # "!reseaux" is another word
        return rest.strip()

    def _reaction(
        self, body: Payload, event: Payload, bot_user_id: str | None
    ) -> InboundEvent | None:
        item = event.get("item") or {}
        user = event.get("user")
        if item.get("type") != "message" or not user or user == bot_user_id:
            return None
        return InboundReaction(
            **self._base(body, event),
            channel=str(item.get("channel")),
            sender=str(user),
            at=at(event.get("event_ts")),
            is_direct=is_dm_channel(str(item.get("channel"))),
            target=str(item.get("ts")),
            # Raw name, skin tone included ("raised_hand::skin-tone-3"): the engine normalises.
            key=str(event.get("reaction")),
            removed=event.get("type") == "reaction_removed",
        )

    def _membership(
        self, body: Payload, event: Payload, bot_user_id: str | None
    ) -> InboundEvent | None:
        user = event.get("user")
        channel = event.get("channel")
        if not user or not channel or user == bot_user_id:
            return None
        return InboundMembership(
            **self._base(body, event),
            channel=str(channel),
            sender=str(user),
            at=at(event.get("event_ts")),
            joined=event.get("type") == "member_joined_channel",
        )

    _EVENTS: ClassVar[
        Mapping[str, Callable[[Translator, Payload, Payload, str | None], InboundEvent | None]]
    ] = {
        "message": _message,
        "reaction_added": _reaction,
        "reaction_removed": _reaction,
        "member_joined_channel": _membership,
        "member_left_channel": _membership,
    }

    # -- slash command ----------------------------------------------------------------

    def slash_command(self, body: Payload) -> InboundCommand:
        channel = str(body.get("channel_id") or "")
        trigger = body.get("trigger_id")
        handle = {k: str(body[k]) for k in ("response_url", "trigger_id", "team_id") if body.get(k)}
        return InboundCommand(
            platform=PLATFORM,
            # A trigger id is minted once per invocation: a stable id for this command.
            event_id=f"cmd:{trigger}" if trigger else _stable_id("cmd", body),
            channel=channel,
            sender=str(body.get("user_id") or ""),
            sender_name=str(body["user_name"]) if body.get("user_name") else None,
            is_direct=is_dm_channel(channel) or body.get("channel_name") == "directmessage",
            account_scope=str(body.get("team_id") or ""),
            text=to_plain(str(body.get("text") or "")).strip(),
            reply_handle=handle,
        )

    # -- interactivity ----------------------------------------------------------------

    def button(self, body: Payload) -> InboundChoice | None:
        """A click on one of the bot's choice buttons (other actions are not the engine's)."""
        actions = [
            a
            for a in body.get("actions") or []
            if str(a.get("action_id", "")).startswith(ACTION_PREFIX)
        ]
        container = body.get("container") or {}
        message_ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        user = body.get("user") or {}
        if not actions or not message_ts or not channel or not user.get("id"):
            return None
        action = actions[0]
        value = action.get("value") or str(action["action_id"])[len(ACTION_PREFIX) :]
        action_ts = action.get("action_ts")
        event_id = (
            f"act:{channel}:{message_ts}:{user['id']}:{action_ts}"
            if action_ts
            else f"act:{body.get('trigger_id')}"
            if body.get("trigger_id")
            else _stable_id("act", body)
        )
        return InboundChoice(
            platform=PLATFORM,
            event_id=event_id,
            channel=str(channel),
            sender=str(user["id"]),
            sender_name=user.get("username") or user.get("name"),
            at=at(action_ts),
            is_direct=is_dm_channel(str(channel)),
            account_scope=team_of(body),
            target=str(message_ts),
            choices=[str(value)],
        )

    def submission(self, body: Payload, form: Submission) -> InboundChoice:
        """A modal submitted: the form's choice with the fields' values."""
        view = body.get("view") or {}
        user = body.get("user") or {}
        channel = form.meta.channel
        return InboundChoice(
            platform=PLATFORM,
            # A modal is submitted once; a rejected submission (errors) is not committed.
            event_id=f"view:{view.get('id')}" if view.get("id") else _stable_id("view", body),
            channel=channel,
            sender=str(user.get("id") or ""),
            sender_name=user.get("username") or user.get("name"),
            is_direct=is_dm_channel(channel),
            account_scope=team_of(body),
            target=form.meta.target or channel,
            choices=[form.meta.choice or form.meta.form],
            values=dict(form.values),
        )


def team_of(body: Payload) -> str:
    """The workspace of an interactivity payload or a command."""
    team = body.get("team")
    if isinstance(team, Mapping) and team.get("id"):
        return str(team["id"])
    user = body.get("user")
    if isinstance(user, Mapping) and user.get("team_id"):
        return str(user["team_id"])
    return str(body.get("team_id") or "")
