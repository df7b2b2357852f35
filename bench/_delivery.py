"""A recording adapter for the benchmarks: it declares the Matrix adapter's capabilities and keeps, for each action the bot performs, what Matrix would deliver (a channel post, a thread reply, an edit, a direct message, a reaction) and to whom."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from adapters.matrix import content as mx
from adapters.matrix.adapter import CAPABILITIES
from bot.adapter import ChannelMember, Delivery, EventSink, Outgoing, PermanentError
from bot.kernel.i18n import Lines, Msg
from bot.kernel.model import Choice, DirectMessage, Edit, OpenForm, Post, React

Kind = Literal["post", "thread", "edit", "dm", "react"]


@dataclass(frozen=True)
class Delivered:
    """One action as Matrix would deliver it. A private note is a direct message there
    (Matrix has no message only one member sees in a room), and so is a form's fallback."""

    seq: int
    at: datetime
    kind: Kind
    action: str
    """The engine's action type: Post, Edit, React, DirectMessage, PrivateNote, OpenForm."""
    key: str
    """The catalog key of the message's text (the emoji for a reaction)."""
    source: str
    """The ritual family that said it: the key's domain; an election's consent step is
    told apart from a decision by the round's own wording (`consent.what.election`)."""
    room: str | None
    """The bound room of a post, thread reply, edit or reaction; None for a direct message."""
    recipient: str | None
    """The user a direct message goes to."""
    message_id: str
    thread_of: str | None = None
    """The thread root of a thread reply."""
    target: str | None = None
    """The message an edit replaces or a reaction annotates."""
    audience: tuple[str, ...] = ()
    """Who is in the room when a post, thread reply or edit arrives (everyone sees it)."""
    mentions: tuple[str, ...] = ()
    """Users the message mentions, as the Matrix adapter collects them (its pills and
    `m.mentions`): the members given as mention parameters of the text."""
    choices: tuple[str, ...] = ()
    poll: bool = False
    events: int = 1
    """Matrix events the action takes: the leading parts of a long text, the message (or
    poll), and an image sent after it."""
    image: bool = False
    seeded_reactions: int = 0
    """Reactions the adapter puts under a message whose choices are not a poll."""
    text: str = ""


def source_of(msg: Msg) -> str:
    """The key's domain; the consent round of an election says it is one (its wording names
    the election: `consent.what.election`, `consent.proposal.headline_election`)."""
    domain = msg.key.split(".", 1)[0]
    if msg.key.startswith("core.charter."):
        return "charter"  # the charter reminder's words are in the core catalog
    if domain == "consent" and any(k.startswith(("consent.what.election", "consent.proposal.headline_election"))
                                   for k in _keys(msg)):
        return "election"
    return domain


def _keys(param: object) -> Iterator[str]:
    """Every catalog key in a message, its parameters' included."""
    if isinstance(param, Msg):
        yield param.key
        for value in param.params.values():
            yield from _keys(value)
    elif isinstance(param, Lines):
        for item in param.items:
            yield from _keys(item)


@dataclass
class MatrixDelivery:
    """Records instead of sending. Message ids are `$e1`, `$e2`…; a direct conversation's
    room is `!dm-<user>`. Performing a key twice returns the first delivery (the outbox's
    idempotency), so nothing is counted twice."""

    rooms: Mapping[str, Sequence[tuple[str, str]]]
    """Room id → (user id, display name) of the members present when the bot starts."""
    now: Callable[[], datetime]
    platform: str = "matrix"
    capabilities = CAPABILITIES
    delivered: list[Delivered] = field(default_factory=list)
    listeners: list[Callable[[Delivered], None]] = field(default_factory=list)
    _present: dict[str, dict[str, str]] = field(default_factory=dict)
    _by_key: dict[str, Delivery] = field(default_factory=dict)
    _sink: EventSink | None = None

    def __post_init__(self) -> None:
        self._present = {room: dict(people) for room, people in self.rooms.items()}

    # --- the Adapter port -----------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        self._sink = None

    def connected(self) -> bool:
        return self._sink is not None

    async def members(self, channel: str) -> Sequence[ChannelMember]:
        return [ChannelMember(user_id=u, display_name=n) for u, n in self._present.get(channel, {}).items()]

    async def perform(self, out: Outgoing) -> Delivery:
        known = self._by_key.get(out.key)
        if known is not None:
            return known
        record = self._record(out)
        delivery = Delivery(record.message_id, channel=record.room or f"!dm-{record.recipient}")
        self._by_key[out.key] = delivery
        self.delivered.append(record)
        for listen in self.listeners:
            listen(record)
        return delivery

    # --- who is in a room -----------------------------------------------------------

    def present(self, room: str) -> dict[str, str]:
        """The room's members now: user id → display name."""
        return self._present.setdefault(room, {})

    def joined(self, room: str, user: str, name: str) -> None:
        self.present(room)[user] = name

    # --- what Matrix would deliver --------------------------------------------------

    def _record(self, out: Outgoing) -> Delivered:
        action = out.action
        seq = len(self.delivered) + 1
        base = Delivered(seq=seq, at=self.now(), kind="post", action=type(action).__name__, key="", source="",
                         room=out.channel, recipient=None, message_id=f"$e{seq}")
        if isinstance(action, Post):
            rendered = mx.render(out, action.text)
            poll = _as_poll(action.choices, action.choice_style)
            sends = mx.post(rendered, thread=out.thread_of, notice=action.notice,
                            answers=mx.poll_answers(out, action.choices) if poll else None)
            return replace(base, kind="thread" if out.thread_of else "post", key=action.text.key,
                           source=source_of(action.text), thread_of=out.thread_of, audience=self._audience(out),
                           mentions=rendered.mentions, choices=tuple(c.id for c in action.choices),
                           poll=poll, events=len(sends) + (1 if action.image else 0), image=action.image is not None,
                           seeded_reactions=0 if poll else len(action.choices), text=rendered.plain)
        if isinstance(action, Edit):
            rendered = mx.render(out, action.text)
            return replace(base, kind="edit", key=action.text.key, source=source_of(action.text),
                           target=out.message_id, audience=self._audience(out),
                           mentions=rendered.mentions, choices=tuple(c.id for c in action.choices or []),
                           text=rendered.plain)
        if isinstance(action, React):
            return replace(base, kind="react", key=action.emoji, source="reaction", target=out.message_id)
        if out.recipient is None:
            raise PermanentError("a direct message needs its recipient's account")
        # DirectMessage, PrivateNote, OpenForm: all direct messages on Matrix.
        text = action.fallback if isinstance(action, OpenForm) else action.text
        rendered = mx.render(out, text)
        choices = action.choices if isinstance(action, DirectMessage) else []
        poll = isinstance(action, DirectMessage) and _as_poll(choices, action.choice_style)
        sends = mx.post(rendered, thread=None, notice=True, answers=mx.poll_answers(out, choices) if poll else None)
        return replace(base, kind="dm", key=text.key, source=source_of(text), room=None, recipient=out.recipient,
                       mentions=rendered.mentions, choices=tuple(c.id for c in choices), poll=poll,
                       events=len(sends), seeded_reactions=0 if poll else len(choices), text=rendered.plain)

    def _audience(self, out: Outgoing) -> tuple[str, ...]:
        return tuple(self.present(out.channel)) if out.channel else ()


def _as_poll(choices: Sequence[Choice], style: str) -> bool:
    """What the Matrix adapter draws as a native poll (otherwise a message with reactions)."""
    return bool(choices) and style in ("poll", "buttons") and len(choices) <= mx.MAX_POLL_ANSWERS
