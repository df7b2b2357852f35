"""The console adapter: a terminal chat (`alice: !reseau aide`, `bob: +✅ m3`), first-class."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import stat
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.adapter import ChannelMember, Delivery, EventSink, Outgoing
from bot.config import Config, PlatformConfig
from bot.kernel.i18n import PLAIN, Code, Markup, Mention, Msg, normalize_locale, render_plain
from bot.kernel.model import (
    DirectMessage,
    Edit,
    InboundChoice,
    InboundCommand,
    InboundEvent,
    InboundMembership,
    InboundMessage,
    InboundReaction,
    OpenForm,
    Post,
    PrivateNote,
    React,
)
from bot.kernel.scenario import Capabilities

log = logging.getLogger(__name__)

_LINE = re.compile(r"^(?:\[(?P<where>[^\]]+)\]\s*)?(?P<who>[\w.@:-]+)\s*:\s*(?P<text>.*)$")
_MEMBERSHIP = re.compile(r"^(?:\[(?P<where>[^\]]+)\]\s*)?(?P<sign>[+-])(?P<who>[\w.@:-]+)$")


class BadLine(ValueError):
    """A line the console does not understand; `msg` says what was expected, in the network's language."""

    def __init__(self, line: str) -> None:
        super().__init__(f"expected 'name: text', got {line!r}")
        self.msg = Msg("console.bad_line", line=Code(text=line), example=Code(text="alice: !reseau aide"))


@dataclass
class Sent:
    """One line the bot wrote, as the console shows it and as tests inspect it."""

    key: str
    message_id: str
    where: str
    kind: str
    text: str
    target: str | None = None
    recipient: str | None = None
    choices: dict[str, str] = field(default_factory=dict)
    image_alt: str | None = None
    attachment: str | None = None
    """A file sent with a private note: its name."""
    attachment_b64: str | None = None


class ConsoleAdapter:
    """Reads lines, writes lines. Message ids are m1, m2…; with a transcript file, what was
    delivered survives a crash, so a resent outbox entry is recognised and not shown twice."""

    platform = "console"
    capabilities = Capabilities(buttons=True, polls=False, reactions=True, threads=True, edits=True,
                                ephemeral=True, images=True, forms=False)

    def __init__(
        self,
        channels: Sequence[str] = ("general",),
        members: Mapping[str, Sequence[str]] | None = None,
        prefix: str = "!reseau",
        bot_name: str = "maillage",
        transcript: Path | None = None,
        write: Callable[[str], None] | None = None,
        read_stdin: bool = False,
        locale: str = "fr",
    ) -> None:
        self.channels = list(channels)
        self.locale = locale
        self._members = {k: list(v) for k, v in (members or {}).items()}
        self.prefix = prefix
        self.bot_name = bot_name
        self.transcript = transcript
        self.write = write or (lambda line: print(line, flush=True))
        self.read_stdin = read_stdin
        self.sent: list[Sent] = []
        self._by_key: dict[str, Sent] = {}
        self._counter = 0
        self._sink: EventSink | None = None
        self._task: asyncio.Task[None] | None = None
        if transcript is not None and transcript.exists():
            for line in transcript.read_text("utf-8").splitlines():
                if line.strip():
                    rec = Sent(**json.loads(line))
                    self._remember(rec)

    def _remember(self, rec: Sent) -> None:
        self.sent.append(rec)
        self._by_key[rec.key] = rec
        num = int(rec.message_id[1:]) if rec.message_id[1:].isdigit() else 0
        self._counter = max(self._counter, num)

    # ------------------------------------------------------------ inbound

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        if self.read_stdin:
            self._task = asyncio.create_task(self._read_stdin())

    async def _read_stdin(self) -> None:
        """Read lines until the input ends; then say so and let the rest of the bot run on
        (other adapters, rituals, /healthz): a closed input is not a reason to stop."""
        readline = await self._stdin_lines()
        while readline is not None:
            raw = await readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            try:
                await self.feed(line)
            except BadLine as exc:
                self.write(f"  ? {render_plain(exc.msg, self.locale)}")
            except Exception:  # one line the bot could not take must not end the reading
                log.warning("console: the line %r was not handled", line, exc_info=True)
        self.write(f"  ! {render_plain(Msg('console.stdin_closed'), self.locale)}")

    async def _stdin_lines(self) -> Callable[[], Awaitable[bytes]] | None:
        """How to read standard input, by what it is: None when it is closed."""
        stream = sys.stdin
        try:
            fd = stream.fileno()
            mode = os.fstat(fd).st_mode
        except (AttributeError, OSError, ValueError):  # no stdin at all (`<&-`) or closed
            return None
        if os.isatty(fd) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            # A reader on the loop, not a thread blocked in readline(): stopping the bot
            # must not wait for the next line someone types.
            reader = asyncio.StreamReader()
            loop = asyncio.get_running_loop()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stream)
            return reader.readline
        # A file or /dev/null: the loop cannot watch them (epoll refuses), and a read never
        # waits for a person, so a thread reads them.
        return lambda: asyncio.to_thread(stream.buffer.readline)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def connected(self) -> bool:
        return self._sink is not None

    async def members(self, channel: str) -> list[ChannelMember]:
        return [ChannelMember(user_id=u) for u in self._members.get(channel, [])]

    def parse(self, line: str) -> InboundEvent:
        """One console line → one inbound event. Forms:
        `alice: !reseau aide` (command) · `[#comite] alice: …` (another channel) ·
        `[dm] alice: …` (direct message) · `alice: > m3 texte` (reply in m3's thread) ·
        `alice: +✅ m3` / `alice: -✅ m3` (reaction) · `alice: ?m3 consent` (button) ·
        `+alice` / `-alice` (joins / leaves)."""
        eid = f"con-{uuid.uuid4().hex}"
        m = _MEMBERSHIP.match(line.strip())
        if m:
            channel = self._where(m.group("where"))
            return InboundMembership(platform="console", event_id=eid, channel=channel, sender=m.group("who"),
                                     sender_name=m.group("who"), joined=m.group("sign") == "+")
        m = _LINE.match(line.strip())
        if not m:
            raise BadLine(line)
        who, text = m.group("who"), m.group("text").strip()
        where = m.group("where")
        direct = where is not None and where.strip().lower().startswith("dm")
        channel = f"dm:{who}" if direct else self._where(where)
        common: dict[str, Any] = {"platform": "console", "event_id": eid, "channel": channel, "sender": who,
                                  "sender_name": who, "is_direct": direct}
        thread: str | None = None
        if text.startswith(">"):
            parts = text[1:].strip().split(maxsplit=1)
            thread, text = parts[0], parts[1] if len(parts) > 1 else ""
        if text.startswith(("+", "-")) and len(text.split()) == 2 and not text.startswith(self.prefix):
            key, target = text[1:].split()
            return InboundReaction(**common, target=target, key=key, reaction_id=f"r-{who}-{target}-{key}",
                                   removed=text.startswith("-"))
        if text.startswith("?"):
            parts = text[1:].split(maxsplit=2)
            values = {"reason": parts[2]} if len(parts) > 2 else {}
            return InboundChoice(**common, target=parts[0], choices=[parts[1]] if len(parts) > 1 else [],
                                 values=values)
        if text.startswith(self.prefix + " ") or text == self.prefix:
            return InboundCommand(**common, text=text[len(self.prefix):].strip(), thread_of=thread)
        return InboundMessage(**common, text=text, message_id=f"in-{eid}", thread_of=thread)

    def _where(self, where: str | None) -> str:
        if where is None:
            return self.channels[0]
        return where.strip().lstrip("#")

    async def feed(self, line: str) -> bool:
        if self._sink is None:
            raise RuntimeError("console adapter not started")
        return await self._sink(self.parse(line))

    # ------------------------------------------------------------ outbound

    def _mention(self, m: Mention, markup: Markup) -> str:
        return "@" + m.name

    async def perform(self, out: Outgoing) -> Delivery:
        if out.key in self._by_key:
            prior = self._by_key[out.key]
            return Delivery(prior.message_id, prior.where)
        action = out.action
        render = out.renderer(PLAIN, self._mention)
        self._counter += 1
        mid = f"m{self._counter}"
        choices: dict[str, str] = {}
        image_alt: str | None = None
        target: str | None = None
        recipient: str | None = None
        if isinstance(action, Post):
            where, kind, text = f"#{out.channel}", "post", render(action.text)
            target = out.thread_of
            choices = {c.id: f"{c.emoji} {render(c.label)}" for c in action.choices}
            image_alt = render(action.image.alt) if action.image else None
        elif isinstance(action, Edit):
            where, kind, text, target = f"#{out.channel}", "edit", render(action.text), out.message_id
            mid = out.message_id or mid
            choices = {c.id: f"{c.emoji} {render(c.label)}" for c in action.choices or []}
        elif isinstance(action, React):
            where, kind, text, target = f"#{out.channel}", "react", action.emoji, out.message_id
        elif isinstance(action, DirectMessage):
            recipient = out.recipient
            where, kind, text = f"dm:{recipient}", "dm", render(action.text)
            choices = {c.id: f"{c.emoji} {render(c.label)}" for c in action.choices}
        elif isinstance(action, PrivateNote):
            recipient = out.recipient
            where, kind, text = f"#{out.channel}" if out.channel else f"dm:{recipient}", "note", render(action.text)
            if action.attachment is not None:
                where = f"dm:{recipient}"  # a file goes privately, never in a channel
        elif isinstance(action, OpenForm):
            recipient = out.recipient
            where, kind, text = f"dm:{recipient}", "note", render(action.fallback)
        else:  # pragma: no cover - the union is exhaustive
            raise TypeError(action)
        file = action.attachment if isinstance(action, PrivateNote) else None
        rec = Sent(out.key, mid, where, kind, text, target, recipient, choices, image_alt,
                   file.filename if file else None, file.data_b64 if file else None)
        self._persist(rec)
        self._remember(rec)
        self.write(self.format(rec))
        return Delivery(mid, out.channel)

    def _persist(self, rec: Sent) -> None:
        if self.transcript is None:
            return
        with self.transcript.open("a", encoding="utf-8") as f:
            f.write(json.dumps(rec.__dict__, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def format(self, rec: Sent) -> str:
        head = {"post": f"[{rec.where}{' ↳ ' + rec.target if rec.target else ''}] {self.bot_name} ({rec.message_id})",
                "edit": f"[{rec.where}] {self.bot_name} ({rec.message_id}, ✎)",
                "react": f"[{rec.where}] {self.bot_name} +{rec.text} {rec.target}",
                "dm": f"[{rec.where}] {self.bot_name} ({rec.message_id})",
                "note": f"[{rec.where} → {rec.recipient}] {self.bot_name}"}[rec.kind]
        if rec.kind == "react":
            return head
        lines = [f"{head}: {rec.text}"]
        if rec.choices:
            lines.append("    " + "  ".join(f"[{label} → ?{rec.message_id} {cid}]" for cid, label in rec.choices.items()))
        if rec.image_alt:
            lines.append(f"    [image] {rec.image_alt}")
        if rec.attachment:
            lines.append(f"    [file] {rec.attachment}")
        return "\n".join(lines)

    # ------------------------------------------------------------ test helpers

    def find(self, needle: str) -> list[Sent]:
        return [s for s in self.sent if needle in s.text]

    def last(self) -> Sent:
        return self.sent[-1]


CONSOLE: PlatformConfig[Any] = PlatformConfig("console")
"""What the console registers in the config: channels and accounts named `console`, no section."""


def build(config: Config, *, read_stdin: bool, transcript: Path | None = None) -> ConsoleAdapter:
    """The console for a configured network (called by the composition root): its bound
    rooms, each with every member who has a console account."""
    rooms = config.rooms("console")
    members: dict[str, list[str]] = {}
    for m in config.file.members:
        for acc in m.accounts:
            if acc.startswith("console:"):
                for r in rooms:
                    members.setdefault(r, []).append(acc.split(":", 1)[1])
    return ConsoleAdapter(rooms, members, prefix=config.network.command_prefix, read_stdin=read_stdin,
                          locale=normalize_locale(config.network.locale), transcript=transcript)
