"""Shared fixtures for the rhythm scenarios (meeting, digest, welcome): a network, a fake clock
that fires a scenario's timers in order, and helpers to read what it did."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from bot.kernel.i18n import Msg, Renderer, keys_used, render_plain
from bot.kernel.model import (
    Action,
    CancelTimer,
    Chose,
    Command,
    DirectMessage,
    Edit,
    Event,
    Member,
    Post,
    PrivateNote,
    Record,
    Ref,
    SetTimer,
    TimerFired,
)
from bot.kernel.scenario import (
    Capabilities,
    ChannelInfo,
    Context,
    Directory,
    LogEntry,
    NetworkInfo,
    RitualKind,
    RitualSummary,
)
from tests.answer_book import AnswerBook
from tests.markups import MARKUPS

TZ = ZoneInfo("Europe/Paris")
EVERYTHING = Capabilities()
CHARTER = "Nous coopérons pour que chaque tiers-lieu du territoire vive."


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def member(key: str, org: str | None, animateur: bool = False, name: str | None = None) -> Member:
    return Member(key=key, name=name or key.capitalize(), account=f"console:{key}", organisation=org,
                  is_animateur=animateur)


MEMBERS = {
    m.key: m
    for m in (
        member("alice", "Asso Alpha", animateur=True),
        member("bob", "Coop Beta"),
        member("chloe", "Asso Alpha"),
        member("dan", None),
    )
}
ALICE, BOB, CHLOE, DAN = (MEMBERS[k] for k in ("alice", "bob", "chloe", "dan"))


def context(
    config: Mapping[str, Any],
    *,
    members: Mapping[str, Member] = MEMBERS,
    channels: Mapping[str, Sequence[str]] | None = None,
    log: Sequence[LogEntry] = (),
    open_rituals: Sequence[RitualSummary] = (),
    locale: str = "fr",
    capabilities: Capabilities = EVERYTHING,
) -> Context:
    chan_members = channels if channels is not None else {"general": sorted(members)}
    return Context(
        network=NetworkInfo(name="Tiers-Lieux du Val", locale=locale, timezone="Europe/Paris",
                            charter=CHARTER, roles={"animateur": ["alice"]}),
        directory=Directory(members=dict(members), channel_members=dict(chan_members)),
        channels={k: ChannelInfo(k, k, "console", capabilities) for k in chan_members},
        # As the engine passes them: the entry's options, and its channels apart.
        config={k: v for k, v in config.items() if k != "channels"},
        ritual_channels=tuple(config.get("channels", ())),
        log=log,
        open_rituals=open_rituals,
    )


@dataclass
class Emitted:
    at: datetime
    action: Action


@dataclass
class Sim:
    """One ritual on a fake clock: `send` delivers an event now, `run_until` fires due timers
    in order (each at its due time, or late when the bot is "down"), like the engine would."""

    kind: RitualKind[Any]
    ctx: Context
    now: datetime
    state: BaseModel | None = None
    timers: dict[str, datetime] = field(default_factory=dict)
    emitted: list[Emitted] = field(default_factory=list)
    book: AnswerBook = field(default_factory=AnswerBook)
    """Answers kept as rows, as the engine keeps them."""

    def __post_init__(self) -> None:
        if self.state is None:
            self.state = self.kind.initial_state()

    def send(self, event: Event) -> list[Action]:
        scenario = self.kind.bind(replace(self.ctx, answers=self.book.view(self.kind, self.state, event, self.now)))
        self.state, actions = scenario.handle(self.state, event, self.now)
        self.book.keep(actions, self.now)
        for a in actions:
            if isinstance(a, SetTimer):
                self.timers[a.name] = a.due_at
            elif isinstance(a, CancelTimer):
                self.timers.pop(a.name, None)
            self.emitted.append(Emitted(self.now, a))
        return actions

    def run_until(self, until: datetime, *, down_until: datetime | None = None) -> list[Action]:
        """Fire every timer due up to `until`. While the bot is down (before `down_until`),
        due timers wait and then fire together, late, when it comes back."""
        out: list[Action] = []
        while self.timers:
            name, due = min(self.timers.items(), key=lambda kv: (kv[1], kv[0]))
            if due > until:
                break
            fire_at = max(due, down_until) if down_until is not None and due < down_until else due
            self.now = max(self.now, fire_at)
            del self.timers[name]
            out.extend(self.send(TimerFired(name=name, due_at=due, late_by=self.now - due)))
        self.now = max(self.now, until)
        return out

    def advance(self, delta: timedelta) -> list[Action]:
        return self.run_until(self.now + delta)

    def records(self, kind: str | None = None) -> list[Record]:
        return [e.action for e in self.emitted
                if isinstance(e.action, Record) and (kind is None or e.action.kind == kind)]

    def log_entries(self, ritual_kind: str) -> list[LogEntry]:
        """What the engine would have appended to the network's log from this ritual."""
        return [
            LogEntry(at=e.at, kind=e.action.kind, ritual_kind=ritual_kind, ritual_number=1,
                     summary=e.action.summary)
            for e in self.emitted if isinstance(e.action, Record)
        ]

    def summary(self, number: int = 1) -> RitualSummary:
        assert self.state is not None
        return RitualSummary(kind=self.kind.name, number=number, status="open",
                             summary=self.kind.summarize(self.state) or {})


def posts(actions: Iterable[Action]) -> list[Post]:
    return [a for a in actions if isinstance(a, Post)]


def dms(actions: Iterable[Action]) -> list[DirectMessage]:
    return [a for a in actions if isinstance(a, DirectMessage)]


def notes(actions: Iterable[Action]) -> list[PrivateNote]:
    return [a for a in actions if isinstance(a, PrivateNote)]


def edits(actions: Iterable[Action]) -> list[Edit]:
    return [a for a in actions if isinstance(a, Edit)]


def text(action: Post | DirectMessage | PrivateNote | Edit, locale: str = "fr") -> str:
    """Plain rendering, with Babel's (narrow) no-break spaces as plain spaces for readable asserts."""
    return render_plain(action.text, locale).replace("\u00a0", " ").replace("\u202f", " ")


def render(msg: Msg, fmt: str, locale: str = "fr") -> str:
    return Renderer(locale, TZ, MARKUPS[fmt]).render(msg)


def mref(occurrence: str, role: str, n: int | None = None, member: str | None = None) -> Ref:
    """One of a meeting's messages or timers: its occurrence, its role, a number, a member."""
    return Ref(key=occurrence, role=role, n=n, member=member)


def command(who: Member, name: str, channel: str = "general", thread_ref: Ref | str | None = None,
            **args: Any) -> Command:
    return Command(member=who, name=name, args=args, channel=channel, thread_ref=thread_ref)


def chose(who: Member, ref: Ref | str, choice: str | None, channel: str = "general",
          via: str = "reaction", removed: str | None = None) -> Chose:
    return Chose(member=who, ref=ref, channel=channel, choice=choice, withdrawn=removed, via=via)  # type: ignore[arg-type]


def all_msgs(actions: Iterable[Action]) -> list[Msg]:
    out: list[Msg] = []
    for a in actions:
        if isinstance(a, Post | DirectMessage | PrivateNote | Edit):
            out.append(a.text)
        if isinstance(a, Post) and a.image is not None:
            out.append(a.image.alt)
        if isinstance(a, Post | DirectMessage):
            out.extend(c.label for c in a.choices)
    return out


def used_keys(actions: Iterable[Action]) -> set[str]:
    return keys_used(all_msgs(actions))
