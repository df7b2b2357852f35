"""The Scenario protocol, ritual kinds, and the read-only context a scenario is bound to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from bot.kernel.answers import Answers, Need
from bot.kernel.commands import CommandSpec
from bot.kernel.i18n import ProperName
from bot.kernel.mandates import MandatesView
from bot.kernel.model import Action, Event, Member, Started, TimerFired
from bot.kernel.refs import Ref
from bot.kernel.register import RegisterView

S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class Capabilities:
    """What a platform can show, so a scenario can fall back (buttons → poll → reactions)."""

    buttons: bool = False
    polls: bool = False
    reactions: bool = True
    threads: bool = True
    edits: bool = True
    ephemeral: bool = False
    images: bool = True
    forms: bool = False
    mentions: bool = True

    def choice_style(self) -> str:
        if self.buttons:
            return "buttons"
        if self.polls:
            return "poll"
        return "reactions"


@dataclass(frozen=True)
class ChannelInfo:
    key: str
    name: str
    platform: str
    capabilities: Capabilities = Capabilities()


@dataclass(frozen=True)
class NetworkInfo:
    name: str
    locale: str
    timezone: str
    charter: str = ""
    roles: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Role name → member keys ("animateur" among them)."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Network-wide options of the config (welcome text, defaults…)."""
    name_with_article: str | None = None
    """The name as sentences say it ("le Réseau des tiers-lieux"): see `proper`."""
    register_url: str | None = None
    """Where the network's register is on the web (`[registre] base_url`): outcomes link to
    their page (`bot.kernel.register.page_link`)."""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def proper(self) -> ProperName:
        """The network's name for a sentence: `{network:of}` says "du Réseau des tiers-lieux"."""
        return ProperName(name=self.name, with_article=self.name_with_article)


@dataclass(frozen=True)
class Directory:
    """Who is in the network, in which channel, and in which named group."""

    members: Mapping[str, Member] = field(default_factory=dict)
    channel_members: Mapping[str, Sequence[str]] = field(default_factory=dict)
    groups: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def member(self, key: str) -> Member | None:
        return self.members.get(key)

    def circle(self, channels: Sequence[str] = (), group: str | None = None) -> list[Member]:
        """Members who count for a ritual: a named group, else the union of channels' members;
        never the bot, never members who opted out. Sorted by key, so iteration is stable."""
        keys: set[str] = set()
        if group is not None:
            keys.update(self.groups.get(group, ()))
        else:
            for ch in channels:
                keys.update(self.channel_members.get(ch, ()))
        out = [self.members[k] for k in sorted(keys) if k in self.members]
        return [m for m in out if not m.is_bot and not m.opted_out]

    def in_circle(self, key: str, channels: Sequence[str] = (), group: str | None = None) -> bool:
        """Whether one member counts for a ritual (as `circle` says), without listing the
        circle: what an answer checks, at a cost that does not grow with the circle."""
        m = self.members.get(key)
        if m is None or m.is_bot or m.opted_out:
            return False
        if group is not None:
            return key in self._groups.get(group, frozenset())
        return any(key in self._channels.get(ch, frozenset()) for ch in channels)

    @cached_property
    def _channels(self) -> dict[str, frozenset[str]]:
        # Built once per directory view (the engine keeps one until the directory changes).
        return {ch: frozenset(keys) for ch, keys in self.channel_members.items()}

    @cached_property
    def _groups(self) -> dict[str, frozenset[str]]:
        return {g: frozenset(keys) for g, keys in self.groups.items()}


@dataclass(frozen=True)
class LogEntry:
    """One line of the network's append-only log (see `Record`)."""

    at: datetime
    kind: str
    ritual_kind: str
    ritual_number: int
    summary: Mapping[str, Any]


@dataclass(frozen=True)
class RitualSummary:
    """What an open ritual says about itself (for the digest and `decisions`)."""

    kind: str
    number: int
    status: str
    summary: Mapping[str, Any]
    next_due: datetime | None = None


@dataclass(frozen=True)
class Context:
    """Everything a scenario may read besides its own state. Built by the engine, or by a test."""

    network: NetworkInfo
    directory: Directory = Directory()
    channels: Mapping[str, ChannelInfo] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    """This ritual's own config entry (for configured rituals) or the kind's defaults."""
    ritual_channels: Sequence[str] = ()
    """The channels this ritual lives in: its `[[rituals]]` entry's `channels`, or the channel
    where the command that started it was typed."""
    ritual_id: int = 0
    number: int = 0
    """Per-network, per-kind number members use to name it (decision #12)."""
    log: Sequence[LogEntry] = ()
    """Recent log entries (last weeks), newest last; filled for kinds that declare `reads_log`."""
    open_rituals: Sequence[RitualSummary] = ()
    """Other open rituals' summaries; filled for kinds that declare `reads_log`."""
    register: RegisterView = field(default_factory=RegisterView)
    """The decision register: its recent entries for kinds that declare `reads_log` (as far
    back as `log`), every decision for a kind's query (`decisions`)."""

    answers: Answers = field(default_factory=Answers)
    """Members' answers in this ritual, as much as its kind asked for this event
    (`RitualKind.answers_needed`): the acting member's, or everyone's on rare events."""
    mandates: MandatesView = field(default_factory=MandatesView)
    """The declared roles and every mandate, for kinds that declare `reads_mandates` (and the
    queries of such kinds: `qui`)."""

    def capabilities(self, channel: str) -> Capabilities:
        info = self.channels.get(channel)
        return info.capabilities if info else Capabilities()


class Scenario(Protocol[S]):
    """A ritual's state machine: pure; time passed in; randomness from a seed in the state."""

    def handle(self, state: S, event: Event, now: datetime) -> tuple[S, list[Action]]: ...


@dataclass(frozen=True)
class CatchUp:
    """What a kind does with a timer that fires late after downtime. `grace`: how late a
    timer may be and still act as if on time (None = always acts, e.g. a deadline closes
    with the answers received before it). Beyond it the scenario gets `TimerFired` with
    `late_by > grace` and must not post stale messages; it reschedules and records the skip."""

    grace: timedelta | None
    description: str

    def is_stale(self, late_by: timedelta) -> bool:
        return self.grace is not None and late_by > self.grace


DIRECT_TEXT = Ref(role="direct")
"""The ref of a private message that answers nothing, given to a kind that `takes_direct_text`."""


class RitualKind(Generic[S]):
    """Declares one kind of ritual: its state type, config, commands and catch-up policy.
    Subclasses live in `scenarios/` and are found there by the registry."""

    name: ClassVar[str]
    state_type: type[S]
    config_model: ClassVar[type[BaseModel] | None] = None
    """Validates `[[rituals]]` entries of this kind (None: not configurable)."""
    catch_up: ClassVar[CatchUp] = CatchUp(timedelta(hours=1), "skip what is over an hour late")
    commands: ClassVar[Sequence[CommandSpec]] = ()
    receives_joins: ClassVar[bool] = False
    greets: ClassVar[bool] = False
    """Says the engine's profile invitation (`Joined.invitation`) to a newcomer itself, within
    its own private message: a newcomer then gets one message, and the engine sends none."""
    reads_log: ClassVar[bool] = False
    configurable: ClassVar[bool] = True
    """May appear in `[[rituals]]`. Kinds started only by command (a decision, a draw) say
    False: their config lives in `[defaults.<kind>]`."""
    implicit: ClassVar[bool] = False
    """Present in every network, with the kind's defaults, even when the config has no entry
    of this kind: its "singleton" commands always reach an instance, made the first time one
    needs it (a one-off meeting works in a network that configured no meeting series)."""
    cpu_heavy: ClassVar[bool] = False
    """Its `handle` may compute for a while (a draw's solver): the engine runs it in a worker
    thread so the platforms' acknowledgements and syncs go on meanwhile."""

    uses_answers: ClassVar[bool] = False
    """Keeps members' answers as rows (`RecordAnswer`) and reads them from `Context.answers`."""
    reads_mandates: ClassVar[bool] = False
    """Reads who holds which role (`Context.mandates`): the welcome, the digest, the mandates."""
    takes_direct_text: ClassVar[bool] = False
    """A private message that answers nothing (no reply awaited) reaches the open ritual of
    this kind, when exactly one is open, as `Replied` with the ref `DIRECT_TEXT`: an
    election's nominations, written to the bot without a command. It may ignore it."""

    def bind(self, ctx: Context) -> Scenario[S]:
        raise NotImplementedError

    def answers_needed(self, state: S, event: Event, now: datetime) -> Need:
        """Which answers the engine loads before `handle` (kinds that use answers): by default
        the acting member's on a member's event, everyone's on a timer or a start. A kind asks
        for more on the events that need it (closing, a reminder, an animateur's command), so
        that an answer's cost does not grow with the circle."""
        if isinstance(event, TimerFired | Started):
            return "all"
        return "member"

    def answers_part(self, state: S, event: Event) -> int | None:
        """The one part of the ritual (a meeting of a calendar) whose answers an event needs,
        so that a long-lived ritual's timers do not read every answer it ever kept; None:
        every part."""
        return None

    def initial_state(self) -> S:
        return self.state_type()

    def summarize(self, state: S) -> Mapping[str, Any] | None:
        """A short view for other rituals (digest) and queries; None: nothing to show."""
        return None

    def channels(self, state: S) -> Sequence[str] | None:
        """The channels this ritual lives in, when its launch chose them (a round opened in
        several channels is found from each); None: the channels it was created with. A post
        elsewhere (an answer where a command was typed) never adds a channel."""
        return None

    def export_calendar(
        self, config: Mapping[str, Any], state: S | None, network: NetworkInfo, now: datetime
    ) -> bytes | None:
        """An iCalendar (.ics) of what this ritual schedules, for members' calendar
        applications; None when the kind has nothing to put in a calendar."""
        return None

    def upcoming(
        self, config: Mapping[str, Any], tz: ZoneInfo, start: datetime, count: int
    ) -> list[tuple[datetime, str]]:
        """Next firings of a configured ritual from its config alone (`maillage schedule`)."""
        return []


@dataclass
class Registry:
    kinds: dict[str, RitualKind[Any]] = field(default_factory=dict)

    def add(self, kind: RitualKind[Any]) -> None:
        if kind.name in self.kinds:
            raise ValueError(f"ritual kind {kind.name} declared twice")
        self.kinds[kind.name] = kind

    def get(self, name: str) -> RitualKind[Any]:
        return self.kinds[name]

    def commands(self) -> list[tuple[RitualKind[Any], CommandSpec]]:
        return [(k, c) for k in self.kinds.values() for c in k.commands]
