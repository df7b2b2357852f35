"""The engine's typed events (inbound from adapters, and as scenarios see them) and actions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from bot.kernel.i18n import Lines, Msg

# Re-exported: rituals find it beside the events and actions that carry it.
from bot.kernel.refs import Ref as Ref


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------------------
# Inbound: what an adapter hands the engine. Platform ids only; no ritual logic.
# ---------------------------------------------------------------------------


class _Inbound(_Frozen):
    platform: str
    """Adapter name: "matrix", "slack", "console"."""
    event_id: str
    """The platform's id of this event, the deduplication key (with the platform)."""
    channel: str
    """Platform id of the room/channel (a DM room too)."""
    sender: str
    """Platform user id of the member who did it."""
    sender_name: str | None = None
    at: datetime | None = None
    """When the platform says it happened (origin_server_ts, Slack ts)."""
    is_direct: bool = False
    """True when the channel is a one-to-one conversation with the bot."""
    account_scope: str = ""
    """Namespace of user ids on the platform (a Slack team id; empty elsewhere)."""


class InboundCommand(_Inbound):
    """`!reseau …` typed in a channel or `/reseau …`: `text` is what follows the prefix."""

    kind: Literal["command"] = "command"
    text: str
    thread_of: str | None = None
    """Platform id of the thread root when typed in a thread."""
    reply_handle: dict[str, str] = Field(default_factory=dict)
    """Platform data to answer privately or open a form (Slack response_url, trigger_id)."""


class InboundMessage(_Inbound):
    """Any other message: a thread reply, a DM answer."""

    kind: Literal["message"] = "message"
    text: str
    message_id: str
    thread_of: str | None = None
    in_reply_to: str | None = None


class InboundReaction(_Inbound):
    """A reaction added (`removed=False`) or withdrawn. On removal `target`/`key` may be
    unknown (a Matrix redaction names only the reaction event): the engine resolves them."""

    kind: Literal["reaction"] = "reaction"
    target: str | None
    key: str | None
    reaction_id: str | None = None
    removed: bool = False


class InboundChoice(_Inbound):
    """A button clicked, a poll answered, a form submitted, on a message the bot posted."""

    kind: Literal["choice"] = "choice"
    target: str
    """Platform id of the bot's message carrying the choices (or the form's origin)."""
    choices: list[str]
    """Choice ids picked (a poll may allow several; empty = answer withdrawn)."""
    values: dict[str, str] = Field(default_factory=dict)
    """Form fields (a modal's objection reason)."""
    reply_handle: dict[str, str] = Field(default_factory=dict)
    """Platform data to answer the member who clicked (Slack response_url, trigger_id)."""


class InboundMembership(_Inbound):
    """Someone joined or left a bound channel."""

    kind: Literal["membership"] = "membership"
    joined: bool


InboundEvent = Annotated[
    InboundCommand | InboundMessage | InboundReaction | InboundChoice | InboundMembership,
    Field(discriminator="kind"),
]
INBOUND: TypeAdapter[InboundEvent] = TypeAdapter(InboundEvent)


# ---------------------------------------------------------------------------
# What scenarios see: members and channels by network key, messages by ritual ref.
# ---------------------------------------------------------------------------


class ReplyHandle(_Frozen):
    """Where a private answer to the member who acted goes: the platform, the channel and
    thread they typed in, and the platform's one-time reply data (Slack's response_url,
    trigger_id). The engine makes it; rituals pass it along untouched."""

    platform: str
    channel: str
    thread: str | None = None
    data: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_legacy(cls, value: Any) -> Any:
        # Outbox rows written before the handle was typed hold "platform|channel|thread|k=v|…".
        if isinstance(value, str):
            parts = value.split("|")
            parts += [""] * (3 - len(parts))
            platform, channel, thread, *pairs = parts
            data = dict(kv.split("=", 1) for kv in pairs if "=" in kv)
            return {"platform": platform, "channel": channel, "thread": thread or None, "data": data}
        return value


class Member(_Frozen):
    """A member as rituals see them: `key` is the person (linked accounts share it)."""

    key: str
    name: str
    account: str
    """"platform:user" of the account that acted (where to DM them back)."""
    organisation: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    locale: str | None = None
    is_animateur: bool = False
    is_bot: bool = False
    opted_out: bool = False


class _Event(_Frozen):
    pass


class Started(_Event):
    """A ritual instance was created (by config or by a command); `params` are its inputs."""

    type: Literal["started"] = "started"
    by: Member | None = None
    channel: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class Command(_Event):
    """A parsed command routed to this ritual."""

    type: Literal["command"] = "command"
    member: Member
    name: str
    """Canonical (French) command name, e.g. "objection"."""
    args: dict[str, Any] = Field(default_factory=dict)
    channel: str
    """Channel key where it was typed ("dm" for a direct message)."""
    thread_ref: Ref | None = None
    """This ritual's message when typed in its thread."""
    reply_to: ReplyHandle | None = None
    """Where a private answer to this member goes (engine-managed)."""


class Replied(_Event):
    """A member wrote in the thread of one of this ritual's messages, or answered its DM."""

    type: Literal["replied"] = "replied"
    member: Member
    text: str
    ref: Ref
    channel: str


class Chose(_Event):
    """A member picked (or withdrew, when `choice` is None) an answer on a message of this
    ritual: reaction, button or poll, already mapped to the message's choice ids."""

    type: Literal["chose"] = "chose"
    member: Member
    ref: Ref
    channel: str
    choice: str | None
    values: dict[str, str] = Field(default_factory=dict)
    via: Literal["reaction", "button", "poll", "form", "text"] = "reaction"
    withdrawn: str | None = None
    """With `choice` None: the choice whose reaction was removed, when known (removing ✅
    after switching to ✋ withdraws nothing)."""
    reply_to: ReplyHandle | None = None
    """Where a private answer to this member goes (engine-managed)."""


SHOWN_WHERE_GIVEN: frozenset[str] = frozenset({"reaction", "poll"})
"""The ways of answering (`Chose.via`) the member sees where they answered (their reaction, their
vote in a poll): the answer is its own confirmation, no private note follows. A click on a
button leaves no trace and a form closes: those are confirmed privately."""


class Reacted(_Event):
    """A reaction that is not one of the message's choices (normalised emoji)."""

    type: Literal["reacted"] = "reacted"
    member: Member
    ref: Ref
    channel: str
    key: str
    removed: bool = False


class Joined(_Event):
    type: Literal["joined"] = "joined"
    member: Member
    channel: str
    invitation: Lines | None = None
    """What the newcomer may complete in their profile (the engine's invitation, due once), given
    only to a kind that `greets`: it says it in its own private message, the engine sends none."""


class Left(_Event):
    type: Literal["left"] = "left"
    member: Member
    channel: str


class TimerFired(_Event):
    """A timer this ritual set fell due. `late_by` says how long after `due_at` it fired
    (after downtime); the kind's catch-up policy decides what a late timer still does."""

    type: Literal["timer"] = "timer"
    name: Ref
    due_at: datetime
    late_by: timedelta = timedelta(0)
    payload: dict[str, Any] = Field(default_factory=dict)


Event = Annotated[
    Started | Command | Replied | Chose | Reacted | Joined | Left | TimerFired,
    Field(discriminator="type"),
]
EVENT: TypeAdapter[Event] = TypeAdapter(Event)


# ---------------------------------------------------------------------------
# Actions: outbound (through an adapter) and internal (timers, records, lifecycle).
# ---------------------------------------------------------------------------


class Choice(_Frozen):
    """One answer offered on a message: a button, a poll option, or a reaction."""

    id: str
    label: Msg
    emoji: str
    row: int | None = None
    """Where buttons are laid out, choices of one row are shown on a line of their own (a date
    poll's three answers per slot); None: the choices share the message's rows."""


class Image(_Frozen):
    """A PNG the ritual made (the digest chart), base64; `alt` is its text equivalent."""

    png_b64: str
    alt: Msg
    filename: str = "image.png"


class Attachment(_Frozen):
    """A file sent with a private message (a member's own data): its bytes in base64, its media
    type and the name it is saved under."""

    data_b64: str
    media_type: str
    filename: str


class _Outbound(_Frozen):
    valid_until: datetime | None = None
    """Past this instant the action is stale: the sender drops it (downtime catch-up)."""


class Post(_Outbound):
    """A message in a bound channel, optionally in the thread of one of this ritual's
    messages; `ref` names it so later events (reactions, replies, edits) find it."""

    action: Literal["post"] = "post"
    channel: str
    text: Msg
    ref: Ref | None = None
    thread: Ref | None = None
    """This ritual's message whose thread it goes in."""
    choices: list[Choice] = Field(default_factory=list)
    choice_style: Literal["buttons", "poll", "reactions"] = "buttons"
    image: Image | None = None
    notice: bool = True
    """Bot-style message (Matrix m.notice) rather than a plain one."""


class Edit(_Outbound):
    """Replace the text (and choices) of a message this ritual posted under `ref`."""

    action: Literal["edit"] = "edit"
    channel: str
    ref: Ref
    text: Msg
    choices: list[Choice] | None = None


class React(_Outbound):
    action: Literal["react"] = "react"
    channel: str
    ref: Ref
    emoji: str


class DirectMessage(_Outbound):
    """A private message to one member (a DM room/conversation the adapter opens or reuses)."""

    action: Literal["dm"] = "dm"
    member: str
    """Member key."""
    text: Msg
    ref: Ref | None = None
    choices: list[Choice] = Field(default_factory=list)
    choice_style: Literal["buttons", "poll", "reactions"] = "buttons"
    expects_reply: bool = False
    """The member's next plain DM goes to this ritual as `Replied`."""


class PrivateNote(_Outbound):
    """Seen by one member only, in the channel where they acted when the platform can
    (Slack ephemeral), else by direct message."""

    action: Literal["note"] = "note"
    member: str
    channel: str
    text: Msg
    reply_to: ReplyHandle | None = None
    attachment: Attachment | None = None
    """A file for this member only: delivered by direct message (never in a channel)."""


class OpenForm(_Outbound):
    """A form (Slack modal) opened in answer to a command or click; platforms without forms
    get `fallback` as a private note instead."""

    action: Literal["form"] = "form"
    member: str
    channel: str
    form: str
    """Form id the adapter knows how to draw ("proposal", "objection")."""
    title: Msg
    fields: list[dict[str, Any]] = Field(default_factory=list)
    fallback: Msg
    reply_to: ReplyHandle | None = None
    context: dict[str, str] = Field(default_factory=dict)
    """Carried by the adapter with the form (Slack's private metadata)."""
    about: Ref | None = None
    """This ritual's message the form answers: its platform id goes to the adapter when
    `context` names that message's channel."""


OutboundAction = Annotated[
    Post | Edit | React | DirectMessage | PrivateNote | OpenForm,
    Field(discriminator="action"),
]
OUTBOUND: TypeAdapter[OutboundAction] = TypeAdapter(OutboundAction)


class SetTimer(_Frozen):
    """Wake this ritual at `due_at` with `TimerFired(name)`; replaces a timer of that name."""

    action: Literal["set_timer"] = "set_timer"
    name: Ref
    due_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)


class CancelTimer(_Frozen):
    action: Literal["cancel_timer"] = "cancel_timer"
    name: Ref


class Record(_Frozen):
    """Append to the network's log of what it decided, drew and did (never rewritten)."""

    action: Literal["record"] = "record"
    kind: str
    """"decision", "draw", "election", "meeting", "attendance", …"""
    summary: dict[str, Any] = Field(default_factory=dict)


class RecordAnswer(_Frozen):
    """Keep a member's answer as a row of its own (`bot.kernel.answers`): it replaces their
    current answer to the same question, which stays in the history, timestamped."""

    action: Literal["answer"] = "answer"
    member: str
    """Member key of who answers."""
    topic: str
    part: int = 0
    version: int = 1
    value: str | None
    """None: the answer is withdrawn."""
    reason: str | None = None
    subject: str | None = None
    """Member key of the person the answer names (a nomination's nominee)."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Small details the ritual needs back (never a person's name or key: forgetting a person
    must not rewrite JSON)."""


class AnonymizeAnswers(_Frozen):
    """This ritual's answers (of one topic) no longer say who gave them: an anonymous round,
    once closed, keeps only what was answered."""

    action: Literal["anonymize_answers"] = "anonymize_answers"
    topic: str | None = None
    drop: bool = False
    """Delete the answers instead (the satisfaction pulse, whose record keeps the totals): a
    row without its person still has its time, its place in the table and its history, which
    line up with what was sent to each member when they answered."""


class StartRitual(_Frozen):
    """Start a ritual of another kind as a member's command would (a renewal's draw or
    election): `by` is the member key it is started for, `channel` where it is held, `params`
    what the command would have given it (its `Started` event's)."""

    action: Literal["start_ritual"] = "start_ritual"
    kind: str
    by: str
    channel: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class Finish(_Frozen):
    """This ritual instance is over: it no longer receives events except queries."""

    action: Literal["finish"] = "finish"
    outcome: str = "done"


InternalAction = SetTimer | CancelTimer | Record | RecordAnswer | AnonymizeAnswers | StartRitual | Finish
Action = Post | Edit | React | DirectMessage | PrivateNote | OpenForm | InternalAction


def is_outbound(a: Action) -> bool:
    return not isinstance(a, SetTimer | CancelTimer | Record | RecordAnswer | AnonymizeAnswers | StartRitual | Finish)
