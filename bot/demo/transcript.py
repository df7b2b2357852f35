"""The demo's printed conversation: one speaker per line, and what each Matrix event of the bot is worth showing."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.kernel.i18n import Msg, Renderer, format_when

WIDTH = 96
POLL_START = "org.matrix.msc3381.poll.start"
TEXT = "org.matrix.msc1767.text"
GLUED = re.compile(r" (?=[:;?!»])|(?<=«) ")
"""Spaces a line must not break at: French punctuation stays with the word before it."""
HELD = "\ue000"
"""Holds such a space while lines are wrapped (a private character, never in a message)."""


class Transcript:
    """The conversation as it happens, one speaker per line, long messages wrapped."""

    def __init__(self, locale: str, tz: ZoneInfo, now: Callable[[], datetime],
                 write: Callable[[str], None]) -> None:
        self.locale = locale
        self.tz = tz
        self.now = now
        self.write = write
        self.names: dict[str, str] = {}
        """Short names by Matrix user id."""
        self._heading: str | None = None
        self._shown: str | None = None

    def render(self, msg: Msg) -> str:
        """A line of the demo in the network's language, dated against the demo's own time."""
        return Renderer(self.locale, self.tz, now=self.now())(msg)

    def heading(self, at: datetime) -> None:
        """The time of what follows; printed only if something is said at that time."""
        when = format_when(at, "datetime", self.locale, self.tz)
        self._heading = f"── {when[:1].upper()}{when[1:]} " + "─" * max(4, WIDTH - len(when) - 4)

    def line(self, who: str, text: str, marker: str = "›") -> None:
        if self._heading is not None and self._heading != self._shown:
            self.write("")
            self.write(self._heading)
            self._shown = self._heading
        prefix = f"  {who} {marker} "
        lines = [GLUED.sub(HELD, ln) for ln in text.strip().splitlines() if ln.strip()] or [""]
        body = textwrap.wrap(lines[0], WIDTH - len(prefix)) or [""]
        out = [prefix + body[0]] + [" " * len(prefix) + b for b in body[1:]]
        for extra in lines[1:]:
            wrapped = textwrap.wrap(extra, WIDTH - len(prefix)) or [""]
            out += [" " * len(prefix) + w for w in wrapped]
        for o in out:
            self.write(o.replace(HELD, " "))


def content(event: Any) -> dict[str, Any]:
    """The content of a matrix-nio event, as the homeserver sent it."""
    source = getattr(event, "source", None) or {}
    found = source.get("content")
    return found if isinstance(found, dict) else {}


def _text_of(found: dict[str, Any]) -> str:
    for key in ("body", TEXT):
        value = found.get(key)
        if isinstance(value, str):
            return value
    return ""


def poll_question(event: Any) -> str:
    block = content(event).get(POLL_START) or {}
    return str((block.get("question") or {}).get("body", ""))


def poll_answers(event: Any) -> list[tuple[str, str]]:
    """(answer id, label) of a poll the bot started."""
    block = content(event).get(POLL_START) or {}
    return [(str(a.get("id")), str(a.get(TEXT, ""))) for a in block.get("answers", [])]


def describe(event: Any, render: Callable[[Msg], str]) -> tuple[str, str] | None:
    """(marker, text) for one of the bot's events, or None when it is not worth a line."""
    source = getattr(event, "source", None) or {}
    kind = source.get("type", "")
    found = content(event)
    relation = found.get("m.relates_to") or {}
    if kind == "m.reaction":
        return None  # the vocabulary seeded under a message: shown with the message itself
    if relation.get("rel_type") == "m.replace":
        new = found.get("m.new_content") or {}
        block = new.get(POLL_START) or {}
        question = block.get("question", {}).get("body") if isinstance(block, dict) else None
        return "✎", str(question or _text_of(new))
    if kind.endswith("poll.start"):
        answers = [label for _, label in poll_answers(event)]
        return "›", poll_question(event) + "\n" + "   ".join(f"[ {a} ]" for a in answers)
    if kind.endswith("poll.end"):
        return "■", _text_of(found)
    if found.get("msgtype") == "m.image":
        url = found.get("url") or render(Msg("demo.act.encrypted_image"))
        return "🖼", render(Msg("demo.act.image", alt=str(found.get("body", "")), url=str(url)))
    text = _text_of(found)
    if not text:
        return None
    return ("↳" if relation.get("rel_type") == "m.thread" else "›"), text
