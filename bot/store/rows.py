"""What the repositories read and write: plain typed rows, the same for SQL and memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.kernel.refs import Ref

Origin = Literal["command", "config", "implicit"]
"""How a ritual came to be: started by a command, declared in the config, or present in every
network (a kind marked implicit)."""


ProfileField = Literal["name", "organisation", "locale", "attribute", "role"]
"""What a profile value is: a person's name, organisation or language, one of their attributes,
or whether they hold a role (the attribute's or role's name goes beside it)."""

Source = Literal["config", "chat"]
"""Where a profile value last came from: the config file, or a command in the chat."""


@dataclass
class PersonRow:
    id: int
    key: str
    name: str
    organisation: str | None
    attributes: dict[str, str]
    locale: str | None
    opted_out: bool
    is_bot: bool
    merged_into: int | None = None
    """Merged into that person by an animateur: this row only keeps the key pointing there."""
    invited: bool = False
    """Already invited to complete their profile (once, whatever happens later)."""


@dataclass(frozen=True)
class SourceRow:
    """Where one of a person's profile values came from, and when. `config_value` is what the
    config said of it when it was last seeded or edited: a chat edit stands until the config
    says something else."""

    person_id: int
    field: ProfileField
    attribute: str
    source: Source
    config_value: str | None
    changed_at: datetime
    changed_by: int | None = None


@dataclass(frozen=True)
class AccountRow:
    id: int
    platform: str
    scope: str
    user_id: str
    person_id: int


@dataclass(frozen=True)
class ChannelRow:
    id: int
    key: str
    platform: str
    platform_id: str
    name: str | None


@dataclass(frozen=True)
class RitualRow:
    id: int
    kind: str
    key: str
    number: int
    status: str
    channels: list[str]
    state: dict[str, Any]
    version: int
    origin: Origin


@dataclass(frozen=True)
class RitualSave:
    """A ritual's new state, status and channels, written at the end of a transaction."""

    id: int
    state: dict[str, Any]
    version: int
    status: str
    channels: list[str]


@dataclass(frozen=True)
class TimerRow:
    id: int
    ritual_id: int
    name: Ref
    due_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class TimerSet:
    ritual_id: int
    name: Ref
    due_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class MessageRef:
    """Which ritual message a platform message is: the ritual, its ref, the channel key, and
    the platform's ids of its choices (emoji or button → choice id)."""

    ritual_id: int
    ref: Ref
    channel: str
    choices: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefDelivered:
    """A ritual message as the platform accepted it."""

    ritual_id: int
    ref: Ref
    channel: str
    platform: str
    platform_channel: str | None
    platform_message_id: str | None
    choices: dict[str, str]


@dataclass(frozen=True)
class ReactionRow:
    platform: str
    reaction_id: str
    target: str
    key: str
    sender: str


@dataclass(frozen=True)
class OutboxNew:
    ritual_id: int | None
    idem_key: str
    platform: str
    action: dict[str, Any]
    route: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class OutboxRow:
    id: int
    ritual_id: int | None
    idem_key: str
    platform: str
    action: dict[str, Any]
    route: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class SentRecord:
    outbox_id: int
    attempts: int
    sent_at: datetime
    purge: bool = False
    """To someone forgotten (the last word of `oublie-moi`): deleted once sent, with the
    platform ids its reply handle holds."""


@dataclass(frozen=True)
class LogRow:
    at: datetime
    kind: str
    ritual_kind: str
    ritual_number: int
    summary: dict[str, Any]


@dataclass(frozen=True)
class DeadLetterNew:
    platform: str
    event_id: str
    kind: str
    sender: str | None
    channel: str | None
    error: str
    detail: str
    event: dict[str, Any]
    at: datetime
