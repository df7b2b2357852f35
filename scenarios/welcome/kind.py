"""Welcome: a newcomer in a bound channel is greeted once, privately, with the charter, roles, next
meeting and the invitation to complete their profile, in one message."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.kernel.i18n import Lines, Mention, Msg, Param, When, has_key
from bot.kernel.mandates import same_role
from bot.kernel.model import Action, DirectMessage, Event, Joined, Post, Record, Ref
from bot.kernel.scenario import CatchUp, Context, RitualKind
from scenarios.mandates.who import role_line
from scenarios.meeting.config import Lead

COMMON_KEYS = ("id", "kind", "channels")


class WelcomeConfig(BaseModel):
    """`[[rituals]] kind = "welcome"`, configured once for the network."""

    model_config = ConfigDict(extra="forbid")

    message: str | None = None
    """The network's own words of welcome, shown under the greeting."""
    again_after: str = "365d"
    """Someone who leaves and comes back is greeted again only after this long."""
    where: Literal["channel", "dm"] = "dm"
    """Greet by direct message (one message, with the profile invitation: nothing in public at
    their arrival, the weekly digest lists newcomers), or in the channel they joined."""
    charter: bool = True
    roles: bool = True
    next_meeting: bool = True

    @field_validator("again_after")
    @classmethod
    def _period(cls, v: str) -> str:
        Lead.parse(v)
        return v


class WelcomeState(BaseModel):
    greeted: dict[str, datetime] = Field(default_factory=dict)
    """Member key → when they were last greeted."""


def load_config(raw: Mapping[str, Any]) -> tuple[WelcomeConfig, list[str]]:
    channels = raw.get("channels") or []
    body = {k: v for k, v in raw.items() if k not in COMMON_KEYS}
    return WelcomeConfig.model_validate(body), [str(c) for c in channels]


def _instant(v: Any) -> datetime | None:
    if not isinstance(v, str):
        return None
    try:
        at = datetime.fromisoformat(v)
    except ValueError:
        return None
    return at if at.tzinfo else None


class Welcome:
    """The greeter bound to one network's context; `handle` is pure."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.config, channels = load_config(ctx.config)
        self.channels = list(ctx.ritual_channels) or channels
        self.again_after = Lead.parse(self.config.again_after)

    def handle(self, state: WelcomeState, event: Event, now: datetime) -> tuple[WelcomeState, list[Action]]:
        if not isinstance(event, Joined):
            return state, []
        member = event.member
        if member.is_bot or member.opted_out:
            return state, []
        # The engine's profile invitation comes with the event (this kind `greets`): said in
        # the greeting, or alone when there is no greeting this time.
        alone: list[Action] = [DirectMessage(member=member.key, text=Msg(
            "welcome.invite", network=self.ctx.network.proper, lines=event.invitation))] if event.invitation else []
        if self.channels and event.channel not in self.channels:
            return state, alone
        last = state.greeted.get(member.key)
        if last is not None and now < self.again_after.after(last, self.ctx.network.tz):
            return state, alone
        st = state.model_copy(deep=True)
        st.greeted[member.key] = now
        out: list[Action] = []
        if self.config.where == "dm":
            text = self.greeting(member.key, member.name, event.channel, now, event.invitation)
            out.append(DirectMessage(member=member.key, text=text))
        else:
            text = self.greeting(member.key, member.name, event.channel, now)
            out.append(Post(channel=event.channel, text=text, ref=Ref(role="welcome", member=member.key), notice=True))
            out += alone
        out.append(Record(kind="welcome", summary={
            "member": member.key,
            "name": member.name,
            "organisation": member.organisation,
            "channel": event.channel,
            "again": last is not None,
        }))
        return st, out

    def greeting(self, key: str, name: str, channel: str, now: datetime, invitation: Lines | None = None) -> Msg:
        net = self.ctx.network
        sections: list[Param] = []
        if self.config.message:
            sections.append(Msg("welcome.custom", text=self.config.message))
        if self.config.charter:
            sections.append(Msg("welcome.charter", text=net.charter) if net.charter.strip()
                            else Msg("welcome.no_charter"))
        if self.config.roles:
            sections.append(self.roles(now))
        if self.config.next_meeting:
            sections.append(self.next_meeting(channel, now))
        if invitation is not None:
            sections.append(Msg("welcome.profile", lines=invitation))
        sections.append(Msg("welcome.help"))
        return Msg("welcome.greeting", who=Mention(member=key, name=name), network=net.proper,
                   sections=Lines(items=sections))

    def roles(self, now: datetime) -> Msg:
        # Declared roles first, each with its holders until when (the mandates).
        mandates = self.ctx.mandates
        lines: list[Param] = [role_line(spec, mandates, now) for _, spec in sorted(mandates.roles.items())]
        for role in sorted(self.ctx.network.roles):
            if any(same_role(role, declared) for declared in mandates.roles):
                continue
            keys = self.ctx.network.roles[role]
            names = sorted((self._name(k) for k in keys), key=str.casefold)
            if not names:
                continue
            # The engine's catalog names the roles it knows; other roles are the config's words.
            label: Param = Msg(f"core.charter.role_{role}") if has_key(f"core.charter.role_{role}") else role
            lines.append(Msg("welcome.role_line", role=label, people=Lines(items=list(names), sep=", ")))
        if not lines:
            return Msg("welcome.no_roles")
        return Msg("welcome.roles", lines=Lines(items=lines))

    def _name(self, key: str) -> str:
        member = self.ctx.directory.member(key)
        return member.name if member else key

    def next_meeting(self, channel: str, now: datetime) -> Msg:
        candidates: list[tuple[datetime, Mapping[str, Any]]] = []
        for ritual in self.ctx.open_rituals:
            upcoming = ritual.summary.get("upcoming") if ritual.kind == "meeting" else None
            if not isinstance(upcoming, list):
                continue
            for item in upcoming:
                if not isinstance(item, Mapping):
                    continue
                at = _instant(item.get("start"))
                if at is not None and at > now and isinstance(item.get("title"), str):
                    candidates.append((at, item))
        if not candidates:
            return Msg("welcome.no_meeting")
        candidates.sort(key=lambda c: c[0])
        here = [c for c in candidates if channel in (c[1].get("channels") or [])]
        at, item = (here or candidates)[0]
        place = item.get("place")
        if isinstance(place, str) and place:
            return Msg("welcome.meeting_place", title=str(item["title"]), when=When(at=at, style="datetime"),
                       place=place)
        return Msg("welcome.meeting", title=str(item["title"]), when=When(at=at, style="datetime"))


class WelcomeKind(RitualKind[WelcomeState]):
    """`[[rituals]] kind = "welcome"`: receives joins of the network's channels."""

    name = "welcome"
    state_type = WelcomeState
    config_model = WelcomeConfig
    catch_up = CatchUp(grace=None, description="no timers: a join seen after downtime is still greeted once")
    receives_joins = True
    greets = True
    reads_log = True
    reads_mandates = True

    def bind(self, ctx: Context) -> Welcome:
        return Welcome(ctx)
