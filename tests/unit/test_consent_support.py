"""A small world for consent and election scenario tests: members, channels, a fake clock,
and a driver that keeps the state as JSON between events (as the store does)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from bot.kernel.i18n import Msg, keys_used, render_plain
from bot.kernel.model import (
    Action,
    Chose,
    Command,
    DirectMessage,
    Edit,
    Event,
    Finish,
    Member,
    OpenForm,
    Post,
    PrivateNote,
    Record,
    Ref,
    Replied,
    ReplyHandle,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import (
    Capabilities,
    ChannelInfo,
    Context,
    Directory,
    NetworkInfo,
    RitualKind,
)
from tests.answer_book import AnswerBook
from tests.spaces import spaces

HANDLE = ReplyHandle(platform="console", channel="c")
"""A private answer's way back, passed through untouched."""

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
"""A Monday morning."""

MATRIX = Capabilities(buttons=False, polls=False, reactions=True, threads=True, edits=True)
SLACK = Capabilities(buttons=True, reactions=True, threads=True, edits=True, ephemeral=True, forms=True)
NO_EDITS = Capabilities(reactions=True, edits=False)

S = TypeVar("S", bound=BaseModel)


def person(key: str, platform: str = "matrix", animateur: bool = False) -> Member:
    return Member(key=key, name=key.capitalize(), account=f"{platform}:@{key}:example.org", is_animateur=animateur)


ANIM = person("alice", animateur=True)


def make_ctx(
    members: Sequence[Member],
    channels: Mapping[str, tuple[str, Capabilities, Sequence[str]]],
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    settings: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    number: int = 1,
    locale: str = "fr",
) -> Context:
    """`channels`: key → (platform, capabilities, member keys)."""
    return Context(
        network=NetworkInfo(name="Réseau", locale=locale, timezone="Europe/Paris", settings=dict(settings or {})),
        directory=Directory(
            members={m.key: m for m in members},
            channel_members={k: list(v[2]) for k, v in channels.items()},
            groups={k: list(v) for k, v in (groups or {}).items()},
        ),
        channels={k: ChannelInfo(k, k.capitalize(), v[0], v[1]) for k, v in channels.items()},
        config=dict(config or {}),
        number=number,
    )


def circle_of(n: int, platform: str = "matrix") -> list[Member]:
    """alice (animateur) and n-1 others: bob, m02, m03…"""
    others = [person("bob", platform)] + [person(f"m{i:02d}", platform) for i in range(2, n)]
    return [ANIM, *others][:n]


def one_channel(n: int = 5, caps: Capabilities = MATRIX, **kw: Any) -> tuple[Context, list[Member]]:
    people = circle_of(n)
    return make_ctx(people, {"general": ("matrix", caps, [m.key for m in people])}, **kw), people


@dataclass
class Driver(Generic[S]):
    """Feeds events at instants; the state goes through JSON between events; timers are
    kept so `advance` fires them in order at their due time (or late, after downtime);
    answers are kept as rows, and each event's context holds those its kind asks for."""

    kind: RitualKind[S]
    ctx: Context
    state_json: str = ""
    now: datetime = T0
    timers: dict[Ref, SetTimer] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    finished: str | None = None
    book: AnswerBook = field(default_factory=AnswerBook)

    def __post_init__(self) -> None:
        if not self.state_json:
            self.state_json = self.kind.initial_state().model_dump_json()

    @property
    def state(self) -> S:
        return self.kind.state_type.model_validate_json(self.state_json)

    def send(self, event: Event, at: datetime | None = None) -> list[Action]:
        if at is not None:
            assert at >= self.now, "time goes forward"
            self.now = at
        assert self.finished is None, f"finished ({self.finished}) rituals get no events"
        state = self.state
        ctx = replace(self.ctx, answers=self.book.view(self.kind, state, event, self.now))
        state, acts = self.kind.bind(ctx).handle(state, event, self.now)
        self.state_json = state.model_dump_json()
        self.book.keep(acts, self.now)
        for a in acts:
            if isinstance(a, SetTimer):
                self.timers[a.name] = a
            elif getattr(a, "action", None) == "cancel_timer":
                self.timers.pop(a.name, None)  # type: ignore[union-attr]
            elif isinstance(a, Finish):
                self.finished = a.outcome
                self.timers.clear()
        self.actions.extend(acts)
        return acts

    def advance(self, delta: timedelta, down: bool = False) -> list[Action]:
        """Move the clock; fire due timers at their time, or all at the end when the bot was
        down (late, with `late_by`)."""
        end = self.now + delta
        out: list[Action] = []
        while self.finished is None:
            due = sorted((t.due_at, name) for name, t in self.timers.items() if t.due_at <= end)
            if not due:
                break
            at, name = due[0]
            timer = self.timers.pop(name)
            fire_at = end if down else max(at, self.now)
            out += self.send(TimerFired(name=name, due_at=at, late_by=max(fire_at - at, timedelta(0)), payload=timer.payload), fire_at)
        self.now = max(self.now, end)
        return out

    def restart(self) -> Driver[S]:
        """A new process: the same JSON state and timers (the store), a fresh binding; the
        actions seen so far stay for the assertions."""
        return Driver(self.kind, self.ctx, self.state_json, self.now, dict(self.timers), self.actions, self.finished,
                      self.book)


# --- events -------------------------------------------------------------------------


def start(by: Member = ANIM, channel: str = "general", **params: Any) -> Started:
    return Started(by=by, channel=channel, params=params)


def cmd(member: Member, name: str, channel: str = "general", **args: Any) -> Command:
    return Command(member=member, name=name, args=args, channel=channel, reply_to=HANDLE)


def chose(member: Member, choice: str | None, ref: Ref | str = "proposal:v1:general", channel: str = "general",
          via: str = "reaction", removed: str | None = None, **values: str) -> Chose:
    return Chose(member=member, ref=ref, channel=channel, choice=choice, via=via, values=values,  # type: ignore[arg-type]
                 withdrawn=removed)


def reply(member: Member, text: str, ref: Ref | str = "proposal:v1:general", channel: str = "general") -> Replied:
    return Replied(member=member, text=text, ref=ref, channel=channel)


# --- looking at actions ----------------------------------------------------------------


def of(actions: Iterable[Action], cls: type[Any]) -> list[Any]:
    return [a for a in actions if isinstance(a, cls)]


def records(actions: Iterable[Action], kind: str = "decision") -> list[dict[str, Any]]:
    return [dict(a.summary) for a in actions if isinstance(a, Record) and a.kind == kind]


def texts(actions: Iterable[Action], locale: str = "fr") -> list[str]:
    """Every outbound action rendered: fails on a missing catalog key or parameter."""
    out: list[str] = []
    for a in actions:
        for msg in _msgs(a):
            out.append(spaces(render_plain(msg, locale)))
    return out


def _msgs(a: Action) -> list[Msg]:
    if isinstance(a, Post | Edit | DirectMessage | PrivateNote):
        found = [a.text]
        choices = getattr(a, "choices", None) or []
        found += [c.label for c in choices]
        return found
    if isinstance(a, OpenForm):
        return [a.title, a.fallback] + [f["label"] for f in a.fields if isinstance(f.get("label"), Msg)]
    return []


def all_keys(actions: Iterable[Action]) -> set[str]:
    return keys_used(m for a in actions for m in _msgs(a))
