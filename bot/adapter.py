"""The Adapter protocol: platform I/O only — events in through a sink, actions out, capabilities."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.kernel.i18n import PLAIN, Markup, Mention, MentionRenderer, Msg, Renderer
from bot.kernel.model import InboundEvent, OutboundAction
from bot.kernel.scenario import Capabilities

EventSink = Callable[[InboundEvent], Awaitable[bool]]
"""Hand an inbound event to the engine. Returns once it is committed to the store (True when
it was new, False for a duplicate); raises when it could not be committed — the adapter must
then NOT acknowledge it to the platform (no ack to Slack, no sync token advanced on Matrix)."""


class TransientError(Exception):
    """The platform is unavailable or rate-limiting: the sender retries later, nothing lost."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """The action can never succeed (channel gone, message too long): recorded as failed."""


@dataclass(frozen=True)
class Outgoing:
    """One outbox entry, resolved to platform ids, ready for an adapter to perform.

    `key` is the idempotency key: performing the same key twice must not show two messages
    (Matrix: the send's transaction id; Slack: message metadata checked before a resend)."""

    action: OutboundAction
    key: str
    channel: str | None
    """Platform channel id; None for a direct message (open or reuse one with `recipient`)."""
    thread_of: str | None = None
    """Platform id of the thread root message."""
    message_id: str | None = None
    """Platform id of the message to edit or react to."""
    recipient: str | None = None
    """Platform user id for a direct message or a private note."""
    reply_handle: Mapping[str, str] = field(default_factory=dict)
    locale: str = "fr"
    timezone: str = "Europe/Paris"
    accounts: Mapping[str, str] = field(default_factory=dict)
    """Member key → platform user id on this platform, to render mentions."""
    choice_ids: Mapping[str, str] = field(default_factory=dict)
    """Emoji → choice id of the message (for adapters that draw reactions or polls)."""
    scope: str = ""
    """The account namespace the action belongs to: a Slack workspace (team id), from the
    channel's config or the recipient's account; empty when the platform has one namespace."""
    now: datetime | None = None
    """When the action was decided: dates in another year than this one show their year
    (the same text on every retry)."""

    def renderer(self, markup: Markup, mention: MentionRenderer | None = None) -> Renderer:
        return Renderer(self.locale, ZoneInfo(self.timezone), markup,
                        mention or (lambda m, mk: mk.escape(m.name)), now=self.now)

    def render(self, msg: Msg, markup: Markup = PLAIN, mention: MentionRenderer | None = None) -> str:
        return self.renderer(markup, mention).render(msg)

    def user_of(self, mention: Mention) -> str | None:
        return self.accounts.get(mention.member)


@dataclass(frozen=True)
class Delivery:
    """Where the action landed: the platform message id (for later edits, reactions,
    threads) and the channel (a DM's room id)."""

    message_id: str | None
    channel: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelMember:
    user_id: str
    display_name: str | None = None
    is_bot: bool = False


class KeyValue(Protocol):
    """Durable adapter state in the bot's store (Matrix session and sync token, leases)."""

    async def get(self, namespace: str, key: str) -> Any | None: ...

    async def put(self, namespace: str, key: str, value: Any) -> None: ...


class Leases(Protocol):
    """Singleton jobs among the bot's processes (a Matrix account's sync loop): one holder at
    a time, renewed by it, taken over by another process once it expires."""

    async def hold(self, name: str, holder: str, ttl: float) -> bool: ...

    async def release(self, name: str, holder: str) -> None: ...

    async def holder(self, name: str) -> tuple[str, datetime] | None:
        """Who holds the lease and until when (a standby process judges whether the holder
        is alive by seeing it renewed)."""
        ...


class SqlTables(Protocol):
    """Room in the bot's database for an adapter whose library keeps tables of its own through
    SQLAlchemy (Slack's OAuth installs): the bot's async engine, used but never disposed of
    by the adapter. The store provides it; the adapter never imports the store."""

    @property
    def engine(self) -> AsyncEngine: ...


class Adapter(Protocol):
    """A platform connection. Never holds ritual logic: it translates and transports."""

    platform: str
    capabilities: Capabilities

    async def start(self, sink: EventSink) -> None:
        """Connect and start delivering events to `sink` (in background tasks); return once
        connected."""
        ...

    async def stop(self) -> None: ...

    async def perform(self, out: Outgoing) -> Delivery:
        """Perform one outbound action, idempotently by `out.key`. Raise TransientError to be
        retried later, PermanentError when it can never succeed."""
        ...

    async def members(self, channel: str) -> Sequence[ChannelMember]:
        """Current members of a bound channel (to seed the directory at boot)."""
        ...

    def connected(self) -> bool: ...
