"""The network's meetings calendar: series and one-offs, reminders, RSVP, agenda, attendance."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.kernel.answers import Need
from bot.kernel.i18n import Msg, When
from bot.kernel.model import (
    Action,
    CancelTimer,
    Chose,
    Command,
    Event,
    Finish,
    Reacted,
    Ref,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import CatchUp, Context, NetworkInfo, RitualKind
from scenarios.meeting.base import meeting_ref, occurrence_of
from scenarios.meeting.commands import (
    COMMANDS,
)
from scenarios.meeting.config import Lead, MeetingConfig, SeriesConfig, load_config
from scenarios.meeting.handlers import MeetingCommands
from scenarios.meeting.rsvp import MeetingAnswers
from scenarios.meeting.state import (
    MeetingsState,
    Occurrence,
)

# Past meetings kept in the state for `reunion cr`, pages and the .ics history.
KEEP_PAST = 24
KEEP_SKIPS = 20
ANSWERS_READ_BY = frozenset({"r", "p", "end", "close", "refresh"})
"""A meeting's timers that read its answers: reminders, the post's edit, its end, the close of attendance."""


class Meetings(MeetingAnswers, MeetingCommands):
    """The calendar bound to one network's context; `handle` is pure."""

    # --- entry point -------------------------------------------------------------------

    def handle(self, state: MeetingsState, event: Event, now: datetime) -> tuple[MeetingsState, list[Action]]:
        st = state.model_copy(deep=True)
        out: list[Action] = []
        if st.started_at is None:
            st.started_at = now
        # Keep the materialised calendar in step with the config on every event: a config
        # edited between two events takes effect at the next one.
        self._sync(st, now, out)
        match event:
            case Started():
                self._started(st, event, now, out)
            case TimerFired():
                self._timer(st, event, now, out)
            case Command():
                self._command(st, event, now, out)
            case Chose():
                self._chose(st, event, now, out)
            case Reacted():
                self._reacted(st, event, out)
            case _:
                pass
        self._sync(st, now, out)
        if st.one_meeting and st.occurrences and all(o.status in ("held", "cancelled") for o in st.occurrences):
            out.append(Finish(outcome=st.occurrences[0].status))
        return st, out

    # --- calendar ------------------------------------------------------------------------

    def _sync(self, st: MeetingsState, now: datetime, out: list[Action]) -> None:
        """Materialise the series' meetings up to the horizon (and always the next one), and
        after a config change, drop or update the meetings that no longer match it."""
        if st.fingerprint != self.fingerprint:
            self._reconcile(st, now, out)
            st.fingerprint = self.fingerprint
        plan: datetime | None = None
        for cfg in self.series.values():
            rec = self.recs[cfg.id]
            frontier = self._frontier(st, cfg, now)
            has_future = any(o.series == cfg.id and not o.one_off and o.start > now and o.status == "scheduled"
                             for o in st.occurrences)
            while frontier is not None and (frontier <= now + self.horizon or not has_future):
                # A meeting that fell entirely within downtime is not materialised after the fact.
                if frontier > now:
                    self._materialize(st, self._series_occurrence(cfg, frontier), now, out)
                    has_future = True
                frontier = rec.after(frontier)
            st.frontier[cfg.id] = frontier
            if frontier is not None:
                due = frontier - self.horizon
                plan = due if plan is None or due < plan else plan
        if plan != st.plan_due:
            st.plan_due = plan
            out.append(SetTimer(name=Ref(role="plan"), due_at=plan) if plan else CancelTimer(name=Ref(role="plan")))
        self._prune(st)

    def _frontier(self, st: MeetingsState, cfg: SeriesConfig, now: datetime) -> datetime | None:
        """The series' first occurrence not yet materialised (computed once, then kept)."""
        if cfg.id in st.frontier:
            return st.frontier[cfg.id]
        mine = [o.start for o in st.occurrences if o.series == cfg.id and not o.one_off]
        frontier = self.recs[cfg.id].after(max([now - timedelta(seconds=1), *mine]))
        st.frontier[cfg.id] = frontier
        return frontier

    def _reconcile(self, st: MeetingsState, now: datetime, out: list[Action]) -> None:
        st.frontier = {}
        for occ in list(st.occurrences):
            if occ.one_off or occ.status != "scheduled" or occ.start <= now:
                continue
            cfg = self.series.get(occ.series)
            if cfg is not None and self.recs[cfg.id].after(occ.start - timedelta(seconds=1)) == occ.start:
                # Same moment: take the config's current words and places.
                fresh = self._series_occurrence(cfg, occ.start)
                occ.title, occ.place, occ.link, occ.channels = fresh.title, fresh.place, fresh.link, fresh.channels
                if fresh.end != occ.end:
                    occ.end = fresh.end
                    out.append(SetTimer(name=meeting_ref(occ, "end"), due_at=occ.end))
                continue
            # The series was removed or its rule changed: drop this occurrence and carry its
            # agenda to the series' next meeting.
            self._drop(st, occ, out)
            if cfg is not None and occ.agenda:
                heir = self._next_of_series(st, cfg, now, out, after=now)
                if heir is not None:
                    heir.agenda.extend(occ.agenda)

    def _series_occurrence(self, cfg: SeriesConfig, start: datetime) -> Occurrence:
        local = start.astimezone(self.tz)
        return Occurrence(
            key=f"{cfg.id}.{local:%Y%m%d}",
            series=cfg.id,
            title=cfg.title,
            start=start,
            end=Lead.parse(cfg.duration).after(start, self.tz),
            place=cfg.place,
            link=cfg.link,
            channels=list(cfg.channels or self.channels),
        )

    def _next_of_series(
        self, st: MeetingsState, cfg: SeriesConfig, now: datetime, out: list[Action], after: datetime
    ) -> Occurrence | None:
        """The series' first scheduled meeting after `after`, materialised if needed."""
        for o in st.occurrences:
            if o.series == cfg.id and not o.one_off and o.status == "scheduled" and o.start > after:
                return o
        rec = self.recs[cfg.id]
        frontier = self._frontier(st, cfg, now)
        while frontier is not None and frontier <= after:
            frontier = rec.after(frontier)
        if frontier is None:
            st.frontier[cfg.id] = None
            return None
        occ = self._series_occurrence(cfg, frontier)
        self._materialize(st, occ, now, out)
        st.frontier[cfg.id] = rec.after(frontier)
        return occ

    def _materialize(self, st: MeetingsState, occ: Occurrence, now: datetime, out: list[Action]) -> None:
        if occ.n == 0:
            st.number(occ)
        st.occurrences.append(occ)
        st.occurrences.sort(key=lambda o: (o.start, o.key))
        for prefix, leads in (("r", self.leads), ("p", self.personal_leads)):
            for i, lead in enumerate(leads):
                due = lead.before(occ.start, self.tz)
                # A reminder whose moment is already past when the meeting is planned is not
                # sent at all ("in 7 days" for a meeting set up 3 days ahead).
                if due > now:
                    out.append(SetTimer(name=meeting_ref(occ, prefix, i), due_at=due))
        out.append(SetTimer(name=meeting_ref(occ, "end"), due_at=occ.end))

    def _drop(self, st: MeetingsState, occ: Occurrence, out: list[Action]) -> None:
        st.occurrences = [o for o in st.occurrences if o.key != occ.key]
        for prefix, leads in (("r", self.leads), ("p", self.personal_leads)):
            for i in range(len(leads)):
                out.append(CancelTimer(name=meeting_ref(occ, prefix, i)))
        out.append(CancelTimer(name=meeting_ref(occ, "end")))
        out.append(CancelTimer(name=meeting_ref(occ, "close")))
        out.append(CancelTimer(name=meeting_ref(occ, "refresh")))

    def _prune(self, st: MeetingsState) -> None:
        past = [o for o in st.occurrences if o.status in ("held", "cancelled")]
        if len(past) > KEEP_PAST:
            gone = {o.key for o in past[: len(past) - KEEP_PAST]}
            st.occurrences = [o for o in st.occurrences if o.key not in gone]
        st.skipped = st.skipped[-KEEP_SKIPS:]

    # --- timers --------------------------------------------------------------------------

    def _timer(self, st: MeetingsState, ev: TimerFired, now: datetime, out: list[Action]) -> None:
        if ev.name == Ref(role="plan"):
            return  # _sync did the work
        occ = occurrence_of(st, ev.name)
        if occ is None:
            return
        if self.ctx.answers.complete:
            # Its answers are all at hand: the live counts are read again from them.
            rsvps = self._rsvps(occ)
            occ.rsvp_counts = {a: sum(1 for v in rsvps.values() if v == a) for a in occ.rsvp_counts}
        match ev.name:
            case Ref(role="r", n=int(i)):
                self._remind(st, occ, ev, i, now, out)
            case Ref(role="p", n=int(i)):
                self._remind_personally(st, occ, ev, i, now, out)
            case Ref(role="end"):
                self._ended(st, occ, ev, now, out)
            case Ref(role="close"):
                self._close(st, occ, now, out)
            case Ref(role="refresh"):
                self._refresh(st, occ, now, out)

    # --- answers -------------------------------------------------------------------------

    # --- commands ------------------------------------------------------------------------


class MeetingKind(RitualKind[MeetingsState]):
    """`[[rituals]] kind = "meeting"`, configured once per network: the calendar holding the
    recurring series of the config and the one-off meetings animateurs add by command. One
    instance for all meetings is what lets `ordre-du-jour`, `reunion cr` and RSVPs reach
    "the next meeting" (route "singleton") without naming it."""

    name = "meeting"
    implicit = True
    state_type = MeetingsState
    config_model = MeetingConfig
    uses_answers = True

    def export_calendar(
        self, config: Mapping[str, Any], state: MeetingsState | None, network: NetworkInfo, now: datetime
    ) -> bytes | None:
        from scenarios.meeting.ics import build_calendar

        return build_calendar(config, state, network=network.name, timezone=network.timezone,
                              locale=network.locale, now=now)
    catch_up = CatchUp(
        grace=None,
        description=(
            "reminders fire late only while the meeting has not begun and no later reminder "
            "is due (after downtime only the latest goes out, never a burst); the attendance "
            "question is skipped once its correction window is over (the RSVPs are then "
            "recorded as attendance); closing attendance and planning always run"
        ),
    )
    commands = COMMANDS

    def answers_needed(self, state: MeetingsState, event: Event, now: datetime) -> Need:
        """A member's own answers when they answer; a meeting's answers on its reminders and
        after it (who said yes, who came); none for commands and the calendar's planning."""
        if isinstance(event, Chose):
            occ = occurrence_of(state, event.ref)
            if occ is not None and event.choice != "yes" and event.member.key in occ.roles.values() \
                    and event.ref.role != "att":
                # A role holder who no longer comes is replaced from who does: all the RSVPs.
                return "all"
            return "member"
        if isinstance(event, TimerFired) and event.name.role in ANSWERS_READ_BY \
                and occurrence_of(state, event.name) is not None:
            return "all"
        return "none"

    def answers_part(self, state: MeetingsState, event: Event) -> int | None:
        occ = occurrence_of(state, event.name) if isinstance(event, TimerFired) else None
        return occ.n if occ is not None else None

    def bind(self, ctx: Context) -> Meetings:
        return Meetings(ctx)

    def summarize(self, state: MeetingsState) -> Mapping[str, Any] | None:
        """For the digest and welcome: `upcoming` (scheduled meetings, soonest first) and
        `recent` (held ones, latest last); instants as ISO strings."""
        upcoming = [o for o in state.occurrences if o.status == "scheduled"]
        held = [o for o in state.occurrences if o.status == "held"]
        return {
            "upcoming": [_occurrence_summary(o) for o in upcoming],
            "recent": [_occurrence_summary(o) for o in held[-5:]],
            # Held, attendance still asked: the digest says it is being counted.
            "counting": [_occurrence_summary(o) for o in state.occurrences if o.status == "attendance"],
        }

    def upcoming(
        self, config: Mapping[str, Any], tz: ZoneInfo, start: datetime, count: int
    ) -> list[tuple[datetime, str]]:
        """Reminders, personal reminders, meetings and attendance questions of the configured
        series, with a catalog key (no parameters) saying what each firing is."""
        return [(at, msg.key.removesuffix("_of")) for at, msg in self.schedule(config, tz, start, count)]

    def schedule(
        self, config: Mapping[str, Any], tz: ZoneInfo, start: datetime, count: int
    ) -> list[tuple[datetime, Msg]]:
        """Like `upcoming`, with the details (series title, meeting time, lead) as a message."""
        cfg, _ = load_config(config)
        leads, personal = cfg.lead_list(), cfg.personal_lead_list()
        firings: list[tuple[datetime, Msg]] = []
        for series in cfg.all_series():
            rec = series.recurrence(tz.key)
            # Reminders precede their meeting: look at enough meetings to fill `count`.
            for meeting in rec.occurrences(start, count):
                at = When(at=meeting, style="datetime")
                for lead in leads:
                    firings.append((lead.before(meeting, tz), Msg(
                        "meeting.schedule.reminder_of", title=series.title, meeting=at)))
                for lead in personal:
                    firings.append((lead.before(meeting, tz), Msg(
                        "meeting.schedule.personal_of", title=series.title, meeting=at)))
                firings.append((meeting, Msg("meeting.schedule.meeting_of", title=series.title, meeting=at)))
                if cfg.attendance == "ask":
                    end = Lead.parse(series.duration).after(meeting, tz)
                    firings.append((end, Msg("meeting.schedule.attendance_of", title=series.title, meeting=at)))
        firings = [f for f in firings if f[0] >= start]
        firings.sort(key=lambda f: f[0])
        return [(at.astimezone(tz), msg) for at, msg in firings[:count]]


def _occurrence_summary(o: Occurrence) -> dict[str, Any]:
    return {
        "key": o.key,
        "series": o.series,
        "title": o.title,
        "start": o.start.isoformat(),
        "end": o.end.isoformat(),
        "place": o.place,
        "link": o.link,
        "channels": list(o.channels),
        "agenda": [a.text for a in o.agenda],
        "rsvp": {a: o.rsvp_counts.get(a, 0) for a in ("yes", "no", "maybe")},
        "attendees": list(o.attendees),
        "minutes": o.minutes,
        **({"roles": dict(o.roles)} if o.roles else {}),
    }
