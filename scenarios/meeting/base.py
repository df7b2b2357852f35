"""What the meetings calendar's parts share: its settings bound to a context, how it names a
meeting's messages and timers, and how it answers a member privately."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.kernel.i18n import Msg
from bot.kernel.model import (
    Action,
    DirectMessage,
    Member,
    PrivateNote,
    Ref,
    ReplyHandle,
    TimerFired,
)
from bot.kernel.scenario import Context
from scenarios.meeting.config import Lead, SeriesConfig, load_config
from scenarios.meeting.state import (
    MeetingsState,
    Occurrence,
    Skip,
)

# Occurrences are materialised this far ahead (and always the next one of each series), so
# the digest sees the next two weeks and a monthly meeting can collect its agenda.
MIN_HORIZON = timedelta(days=15)

ChoiceStyle = Literal["buttons", "poll", "reactions"]


def meeting_ref(o: Occurrence, role: str, n: int | None = None, member: str | None = None) -> Ref:
    return Ref(key=o.key, role=role, n=n, member=member)


def occurrence_of(st: MeetingsState, ref: Ref | None) -> Occurrence | None:
    """The occurrence one of this ritual's messages or timers is about."""
    return st.find(ref.key) if ref is not None and ref.key is not None else None


def as_style(style: str) -> ChoiceStyle:
    """`Capabilities.choice_style()` says a str; a Post wants one of the three styles."""
    if style == "buttons":
        return "buttons"
    if style == "poll":
        return "poll"
    return "reactions"


class MeetingsBase:
    """The calendar's settings, bound to one network's context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tz: ZoneInfo = ctx.network.tz
        self.config, channels = load_config(ctx.config)
        # The entry's channels (the engine passes them as `ritual_channels`), else every channel.
        self.channels = list(ctx.ritual_channels) or channels or sorted(ctx.channels)
        self.series: dict[str, SeriesConfig] = {s.id: s for s in self.config.all_series()}
        self.leads = self.config.lead_list()
        self.personal_leads = self.config.personal_lead_list()
        self.cutoff = Lead.parse(self.config.agenda_cutoff)
        self.window = Lead.parse(self.config.attendance_window)
        self.duration = Lead.parse(self.config.duration)
        self.recs = {sid: cfg.recurrence(self.tz.key) for sid, cfg in self.series.items()}
        self.fingerprint = hashlib.sha256(json.dumps(
            [self.tz.key, self.channels, [c.model_dump(mode="json") for c in self.series.values()]],
            sort_keys=True).encode()).hexdigest()[:16]
        longest = max((lead.approx for lead in [*self.leads, *self.personal_leads]), default=timedelta(0))
        self.horizon = max(MIN_HORIZON, longest + timedelta(days=1))

    def _note(self, member: Member, channel: str, text: Msg, reply_to: ReplyHandle | None = None) -> Action:
        if channel == "dm":
            return DirectMessage(member=member.key, text=text)
        return PrivateNote(member=member.key, channel=channel, text=text, reply_to=reply_to)

    def _names(self, st: MeetingsState) -> dict[str, str]:
        names = dict(st.names)
        for key, member in self.ctx.directory.members.items():
            names[key] = member.name
        return names

    def _series_title(self, st: MeetingsState, series: str) -> str:
        cfg = self.series.get(series)
        if cfg is not None:
            return cfg.title
        for o in st.occurrences:
            if o.series == series:
                return o.title
        return series

    def _skip(self, st: MeetingsState, ev: TimerFired, reason: str) -> None:
        st.skipped.append(Skip(timer=ev.name, due_at=ev.due_at, reason=reason))

    def _stale_reminder(self, occ: Occurrence, ev: TimerFired, leads: list[Lead], now: datetime) -> str | None:
        """Catch-up: a reminder is dropped once the meeting has begun, or when a later
        reminder is already due (only the latest one goes out after downtime)."""
        if occ.status != "scheduled":
            return "not_scheduled"
        if now >= occ.start:
            return "meeting_started"
        for lead in leads:
            due = lead.before(occ.start, self.tz)
            if ev.due_at < due <= now:
                return "superseded"
        return None

    def _dm_style(self, member: Member) -> str:
        """A direct message goes to the member's own platform: answer the way it allows."""
        platform = member.account.partition(":")[0]
        for info in sorted(self.ctx.channels.values(), key=lambda i: i.key):
            if info.platform == platform:
                return info.capabilities.choice_style()
        return self.ctx.capabilities("dm").choice_style()

    def _remember(self, st: MeetingsState, member: Member) -> None:
        st.names[member.key] = member.name

    # Defined by the parts that make the calendar (`scenarios.meeting.kind.Meetings`).

    def _materialize(self, st: MeetingsState, occ: Occurrence, now: datetime, out: list[Action]) -> None:
        raise NotImplementedError

    def _next_of_series(self, st: MeetingsState, cfg: SeriesConfig, now: datetime, out: list[Action],
                        after: datetime) -> Occurrence | None:
        raise NotImplementedError

    def _set_mute(self, st: MeetingsState, member: Member, series: str, mute: bool, channel: str,
                  out: list[Action], reply_to: ReplyHandle | None = None) -> None:
        raise NotImplementedError

    def _meeting_summary(self, st: MeetingsState, occ: Occurrence) -> dict[str, Any]:
        raise NotImplementedError
