"""Matrix events (their JSON `source`) translated into the engine's inbound events: pure, no I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

from bot.kernel.model import (
    InboundChoice,
    InboundCommand,
    InboundEvent,
    InboundMembership,
    InboundMessage,
    InboundReaction,
)

PLATFORM = "matrix"

POLL_START_TYPES = ("m.poll.start", "org.matrix.msc3381.poll.start")
POLL_RESPONSE_TYPES = ("m.poll.response", "org.matrix.msc3381.poll.response")
POLL_END_TYPES = ("m.poll.end", "org.matrix.msc3381.poll.end")

_TEXT_MSGTYPES = ("m.text", "m.notice", "m.emote")
_PILL = re.compile(r"^https://matrix\.to/#/(@[^/?]+)")


@dataclass(frozen=True)
class RoomView:
    """What translation needs to know about the room an event came from."""

    room_id: str
    bot_user_id: str
    command_prefix: str
    is_direct: bool = False
    display_name: Callable[[str], str | None] = lambda _user: None


def translate(source: Mapping[str, Any], room: RoomView) -> InboundEvent | None:
    """The inbound event for one Matrix event, or None when the engine has no use for it
    (the bot's own events, edits, state changes other than memberships, unknown types)."""
    event_type = source.get("type")
    if not isinstance(event_type, str) or not isinstance(source.get("event_id"), str):
        return None
    if source.get("sender") == room.bot_user_id:
        return None
    if "redacted_because" in (source.get("unsigned") or {}):
        # Already redacted when we first see it (after downtime): nothing left to count;
        # the redaction event itself follows and is translated on its own.
        return None
    handler = _HANDLERS.get(event_type)
    return handler(source, room) if handler is not None else None


# --- helpers ---------------------------------------------------------------------------------


def _common(source: Mapping[str, Any], room: RoomView) -> dict[str, Any]:
    sender = str(source.get("sender", ""))
    ts = source.get("origin_server_ts")
    at = datetime.fromtimestamp(ts / 1000, UTC) if isinstance(ts, int | float) else None
    return {
        "platform": PLATFORM,
        "event_id": str(source["event_id"]),
        "channel": room.room_id,
        "sender": sender,
        "sender_name": room.display_name(sender),
        "at": at,
        "is_direct": room.is_direct,
    }


def _content(source: Mapping[str, Any]) -> Mapping[str, Any]:
    content = source.get("content")
    return content if isinstance(content, Mapping) else {}


def _relation(content: Mapping[str, Any]) -> Mapping[str, Any]:
    rel = content.get("m.relates_to")
    return rel if isinstance(rel, Mapping) else {}


def _reply_target(rel: Mapping[str, Any]) -> str | None:
    reply = rel.get("m.in_reply_to")
    if isinstance(reply, Mapping) and isinstance(reply.get("event_id"), str):
        return str(reply["event_id"])
    return None


def strip_reply_fallback(body: str) -> str:
    """Drop the "> <@alice> quoted text" lines older clients put before a reply's text."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith(">"):
        return body
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    return "\n".join(lines[i:]).lstrip("\n")


class _PillText(HTMLParser):
    """Text of an HTML body where user pills become their Matrix ids, so that
    `!reseau tirage @alice` names the member Element showed as a pill."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._pill_depth = 0
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "mx-reply":
            self._skip_depth += 1
        elif tag == "a" and self._pill_depth == 0:
            href = dict(attrs).get("href") or ""
            m = _PILL.match(href)
            if m:
                self._pill_depth = 1
                self.parts.append(unquote(m.group(1)))
        elif tag == "a" and self._pill_depth:
            self._pill_depth += 1
        elif tag in ("br", "p", "div", "li") and not self._skip_depth:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mx-reply" and self._skip_depth:
            self._skip_depth -= 1
        elif tag == "a" and self._pill_depth:
            self._pill_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._pill_depth and not self._skip_depth:
            self.parts.append(data)


def message_text(content: Mapping[str, Any]) -> str:
    """The member's text: from the HTML body when it carries user pills, else the body."""
    body = content.get("body")
    text = strip_reply_fallback(body) if isinstance(body, str) else ""
    formatted = content.get("formatted_body")
    if (
        content.get("format") == "org.matrix.custom.html"
        and isinstance(formatted, str)
        and "matrix.to/#/@" in formatted
    ):
        parser = _PillText()
        parser.feed(formatted)
        parser.close()
        text = "".join(parser.parts)
    return text.strip()


def command_text(text: str, prefix: str) -> str | None:
    """What follows the command prefix (case-insensitive, then a space or the end), or None."""
    stripped = text.lstrip()
    if not stripped.lower().startswith(prefix.lower()):
        return None
    rest = stripped[len(prefix):]
    if rest and not rest[0].isspace():
        return None
    return rest.strip()


# --- handlers ---------------------------------------------------------------------------------


def _on_message(source: Mapping[str, Any], room: RoomView) -> InboundEvent | None:
    content = _content(source)
    if content.get("msgtype") not in _TEXT_MSGTYPES:
        return None
    rel = _relation(content)
    if rel.get("rel_type") == "m.replace":
        # An edit: members fix typos; re-running a command on each edit would act twice.
        return None
    thread_of = str(rel["event_id"]) if rel.get("rel_type") == "m.thread" and isinstance(
        rel.get("event_id"), str) else None
    reply_to = _reply_target(rel)
    if thread_of is not None and rel.get("is_falling_back", False):
        # In a thread, the reply relation is only the fallback for clients without threads.
        reply_to = None
    text = message_text(content)
    common = _common(source, room)
    command = command_text(text, room.command_prefix)
    if command is not None:
        return InboundCommand(**common, text=command, thread_of=thread_of)
    return InboundMessage(**common, text=text, message_id=common["event_id"],
                          thread_of=thread_of, in_reply_to=reply_to)


def _on_reaction(source: Mapping[str, Any], room: RoomView) -> InboundEvent | None:
    rel = _relation(_content(source))
    target, key = rel.get("event_id"), rel.get("key")
    if rel.get("rel_type") != "m.annotation" or not isinstance(target, str) or not isinstance(key, str):
        return None
    common = _common(source, room)
    return InboundReaction(**common, target=target, key=key, reaction_id=common["event_id"])


def _on_redaction(source: Mapping[str, Any], room: RoomView) -> InboundEvent | None:
    # Room versions up to 10 put `redacts` at the top level, version 11 in the content.
    redacts = source.get("redacts") or _content(source).get("redacts")
    if not isinstance(redacts, str):
        return None
    # Only a redaction can say "this reaction is withdrawn"; the engine knows which of the
    # redacted ids were reactions and ignores the rest.
    return InboundReaction(**_common(source, room), target=None, key=None,
                           reaction_id=redacts, removed=True)


def poll_selections(content: Mapping[str, Any]) -> list[str] | None:
    """Answer ids of a poll response in any of its forms (spec, MSC3381 stable and unstable)."""
    stable = content.get("m.selections")
    if isinstance(stable, list):
        return [str(s) for s in stable]
    for key in ("org.matrix.msc3381.poll.response", "m.poll.response"):
        block = content.get(key)
        if isinstance(block, Mapping) and isinstance(block.get("answers"), list):
            return [str(a) for a in block["answers"]]
    return None


def _on_poll_response(source: Mapping[str, Any], room: RoomView) -> InboundEvent | None:
    content = _content(source)
    rel = _relation(content)
    target = rel.get("event_id")
    if rel.get("rel_type") != "m.reference" or not isinstance(target, str):
        return None
    selections = poll_selections(content)
    if selections is None:
        return None
    return InboundChoice(**_common(source, room), target=target, choices=selections)


def _on_member(source: Mapping[str, Any], room: RoomView) -> InboundEvent | None:
    if room.is_direct:
        return None
    user = source.get("state_key")
    if not isinstance(user, str) or user == room.bot_user_id:
        return None
    membership = _content(source).get("membership")
    prev = (source.get("unsigned") or {}).get("prev_content") or {}
    was_joined = isinstance(prev, Mapping) and prev.get("membership") == "join"
    if membership == "join" and not was_joined:
        joined = True
    elif membership in ("leave", "ban") and was_joined:
        joined = False
    else:
        # Invites, knocks, profile changes (join → join): not a change of who is here.
        return None
    common = _common(source, room)
    # The member is the one whose membership changed, not whoever kicked them.
    common["sender"] = user
    common["sender_name"] = room.display_name(user)
    return InboundMembership(**common, joined=joined)


_HANDLERS: dict[str, Callable[[Mapping[str, Any], RoomView], InboundEvent | None]] = {
    "m.room.message": _on_message,
    "m.reaction": _on_reaction,
    "m.room.redaction": _on_redaction,
    "m.room.member": _on_member,
    **{t: _on_poll_response for t in POLL_RESPONSE_TYPES},
}
