"""The network's meetings calendar: series and one-offs, reminders, RSVP, agenda, attendance."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.kernel.commands import fold
from bot.kernel.i18n import Duration, Lines, Link, Msg, Param, When
from bot.kernel.inputs import DURATION_MAX
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
    Reacted,
    Record,
    Ref,
    ReplyHandle,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import CatchUp, Context, NetworkInfo, RitualKind
from scenarios.meeting import messages as m
from scenarios.meeting.commands import (
    AGENDA,
    CALENDAR,
    CANCEL,
    COMMANDS,
    MINUTES,
    MUTE,
    NEW,
    RECORD,
    UNMUTE,
)
from scenarios.meeting.config import Lead, MeetingConfig, SeriesConfig, load_config
from scenarios.meeting.state import AgendaItem, Answer, MeetingsState, Occurrence, Skip
from scenarios.meeting.when import WhenError, parse_when

# Occurrences are materialised this far ahead (and always the next one of each series), so
# the digest sees the next two weeks and a monthly meeting can collect its agenda.
MIN_HORIZON = timedelta(days=15)
# Past meetings kept in the state for `reunion cr`, pages and the .ics history.
KEEP_PAST = 24
KEEP_SKIPS = 20


def _ref(o: Occurrence, role: str, n: int | None = None, member: str | None = None) -> Ref:
    return Ref(key=o.key, role=role, n=n, member=member)


def _occ(st: MeetingsState, ref: Ref | None) -> Occurrence | None:
    """The occurrence one of this ritual's messages or timers is about."""
    return st.find(ref.key) if ref is not None and ref.key is not None else None


class Meetings:
    """The calendar bound to one network's context; `handle` is pure."""

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
                pass
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
                    out.append(SetTimer(name=_ref(occ, "end"), due_at=occ.end))
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
        st.occurrences.append(occ)
        st.occurrences.sort(key=lambda o: (o.start, o.key))
        for prefix, leads in (("r", self.leads), ("p", self.personal_leads)):
            for i, lead in enumerate(leads):
                due = lead.before(occ.start, self.tz)
                # A reminder whose moment is already past when the meeting is planned is not
                # sent at all ("in 7 days" for a meeting set up 3 days ahead).
                if due > now:
                    out.append(SetTimer(name=_ref(occ, prefix, i), due_at=due))
        out.append(SetTimer(name=_ref(occ, "end"), due_at=occ.end))

    def _drop(self, st: MeetingsState, occ: Occurrence, out: list[Action]) -> None:
        st.occurrences = [o for o in st.occurrences if o.key != occ.key]
        for prefix, leads in (("r", self.leads), ("p", self.personal_leads)):
            for i in range(len(leads)):
                out.append(CancelTimer(name=_ref(occ, prefix, i)))
        out.append(CancelTimer(name=_ref(occ, "end")))
        out.append(CancelTimer(name=_ref(occ, "close")))

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
        occ = _occ(st, ev.name)
        if occ is None:
            return
        match ev.name:
            case Ref(role="r", n=int(i)):
                self._remind(st, occ, ev, i, now, out)
            case Ref(role="p", n=int(i)):
                self._remind_personally(st, occ, ev, i, now, out)
            case Ref(role="end"):
                self._ended(st, occ, ev, now, out)
            case Ref(role="close"):
                self._close(st, occ, now, out)

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

    def _skip(self, st: MeetingsState, ev: TimerFired, reason: str) -> None:
        st.skipped.append(Skip(timer=ev.name, due_at=ev.due_at, reason=reason))

    def _remind(self, st: MeetingsState, occ: Occurrence, ev: TimerFired, i: int, now: datetime,
                out: list[Action]) -> None:
        reason = self._stale_reminder(occ, ev, self.leads, now)
        if reason is not None:
            self._skip(st, ev, reason)
            return
        is_last = all(lead.before(occ.start, self.tz) <= ev.due_at for lead in self.leads)
        circle = [mb.key for mb in self.ctx.directory.circle(occ.channels)]
        answers = m.answer_names(occ, self._names(st), circle) if is_last else m.answer_counts(occ)
        cutoff = self.cutoff.before(occ.start, self.tz)
        for channel in occ.channels:
            style = self.ctx.capabilities(channel).choice_style()
            text = Msg(
                "meeting.reminder.channel",
                title=occ.title,
                lead=Duration(seconds=(occ.start - now).total_seconds()),
                details=m.details(occ),
                agenda=m.agenda(occ, cutoff, now),
                answers=answers,
                how=m.how_to_answer(style),
            )
            out.append(Post(channel=channel, text=text, ref=_ref(occ, "r", i), choices=m.rsvp_choices(),
                            choice_style=_style(style), valid_until=occ.start))
        occ.reminders_sent.append(ev.name)

    def _remind_personally(self, st: MeetingsState, occ: Occurrence, ev: TimerFired, i: int,
                           now: datetime, out: list[Action]) -> None:
        reason = self._stale_reminder(occ, ev, self.personal_leads, now)
        if reason is not None:
            self._skip(st, ev, reason)
            return
        cutoff = self.cutoff.before(occ.start, self.tz)
        for member in self.ctx.directory.circle(occ.channels):
            if occ.series in st.muted.get(member.key, []) or occ.rsvp.get(member.key) == "no":
                continue
            style = self._dm_style(member)
            text = Msg(
                "meeting.reminder.personal",
                title=occ.title,
                lead=Duration(seconds=(occ.start - now).total_seconds()),
                details=m.details(occ),
                agenda=m.agenda(occ, cutoff, now),
                answer=Msg("meeting.reminder.your_answer", answer=Msg(f"meeting.choice.{occ.rsvp[member.key]}"))
                if member.key in occ.rsvp else Msg("meeting.reminder.no_answer_yet"),
                how=m.how_to_answer(style),
                mute=Msg("meeting.reminder.mute_hint", series=self._series_title(st, occ.series)),
            )
            out.append(DirectMessage(member=member.key, text=text, ref=_ref(occ, "dm", member=member.key),
                                     choices=m.rsvp_choices(with_mute=True), choice_style=_style(style),
                                     valid_until=occ.start))
        occ.reminders_sent.append(ev.name)

    def _dm_style(self, member: Member) -> str:
        """A direct message goes to the member's own platform: answer the way it allows."""
        platform = member.account.partition(":")[0]
        for info in sorted(self.ctx.channels.values(), key=lambda i: i.key):
            if info.platform == platform:
                return info.capabilities.choice_style()
        return self.ctx.capabilities("dm").choice_style()

    def _ended(self, st: MeetingsState, occ: Occurrence, ev: TimerFired, now: datetime,
               out: list[Action]) -> None:
        if occ.status != "scheduled":
            return
        mode = self.config.attendance
        if mode == "off":
            occ.status = "held"
            out.append(Record(kind="meeting", summary=self._meeting_summary(st, occ)))
            return
        close_at = self.window.after(occ.end, self.tz)
        if mode == "rsvp" or now >= close_at:
            if mode == "ask":
                self._skip(st, ev, "attendance_window_over")
            self._close(st, occ, now, out)
            return
        occ.status = "attendance"
        expected = sorted(k for k, a in occ.rsvp.items() if a == "yes")
        names = self._names(st)
        present = sorted((names.get(k, k) for k in expected), key=str.casefold)
        for channel in occ.channels:
            style = self.ctx.capabilities(channel).choice_style()
            out.append(Post(
                channel=channel,
                ref=_ref(occ, "att"),
                text=Msg("meeting.attendance.ask", title=occ.title,
                         when=When(at=occ.start, style="datetime"),
                         present=m.names_or_nobody(present),
                         until=When(at=close_at, style="short"),
                         how=Msg("meeting.attendance.how_reactions" if style == "reactions"
                                 else "meeting.attendance.how_buttons")),
                choices=m.attendance_choices(),
                choice_style=_style(style),
                valid_until=close_at,
            ))
        out.append(SetTimer(name=_ref(occ, "close"), due_at=close_at))

    def _close(self, st: MeetingsState, occ: Occurrence, now: datetime, out: list[Action]) -> None:
        if occ.status not in ("scheduled", "attendance"):
            return
        asked = occ.status == "attendance"
        said_yes = {k for k, a in occ.rsvp.items() if a == "yes"}
        came = {k for k, c in occ.came.items() if c}
        missed = {k for k, c in occ.came.items() if not c}
        occ.attendees = sorted((said_yes | came) - missed)
        occ.status = "held"
        expected = sorted({mb.key for mb in self.ctx.directory.circle(occ.channels)} | set(occ.attendees))
        by_org: dict[str, dict[str, int]] = {}
        for k in expected:
            member = self.ctx.directory.member(k)
            org = (member.organisation if member else None) or ""
            row = by_org.setdefault(org, {"expected": 0, "present": 0})
            row["expected"] += 1
            row["present"] += k in occ.attendees
        out.append(Record(kind="attendance", summary={
            "meeting": occ.key,
            "series": occ.series,
            "title": occ.title,
            "start": occ.start.isoformat(),
            "channels": list(occ.channels),
            "expected": expected,
            "present": list(occ.attendees),
            "by_organisation": {k: by_org[k] for k in sorted(by_org)},
            "source": "corrected" if occ.came else "rsvp",
        }))
        out.append(Record(kind="meeting", summary=self._meeting_summary(st, occ)))
        page = m.page(occ, self._names(st))
        # The attendance question becomes the page of record: no extra message.
        occ.page_ref = "att" if asked else "page"
        for channel in occ.channels:
            if asked:
                out.append(Edit(channel=channel, ref=_ref(occ, "att"), text=page, choices=[]))
            else:
                out.append(Post(channel=channel, ref=_ref(occ, "page"), text=page))

    def _meeting_summary(self, st: MeetingsState, occ: Occurrence) -> dict[str, Any]:
        names = self._names(st)
        return {
            "meeting": occ.key,
            "series": occ.series,
            "title": occ.title,
            "start": occ.start.isoformat(),
            "end": occ.end.isoformat(),
            "place": occ.place,
            "link": occ.link,
            "channels": list(occ.channels),
            "agenda": [a.text for a in occ.agenda],
            "attendees": list(occ.attendees),
            "attendee_names": [names.get(k, k) for k in occ.attendees],
            "minutes": occ.minutes,
            "status": occ.status,
        }

    # --- answers -------------------------------------------------------------------------

    def _remember(self, st: MeetingsState, member: Member) -> None:
        st.names[member.key] = member.name

    def _chose(self, st: MeetingsState, ev: Chose, now: datetime, out: list[Action]) -> None:
        occ = _occ(st, ev.ref)
        if occ is None:
            return
        self._remember(st, ev.member)
        who = ev.member.key
        removed = ev.withdrawn if ev.choice is None else None
        if ev.ref.role == "att":
            if occ.status != "attendance":
                return
            if ev.choice in ("came", "missed"):
                occ.came[who] = ev.choice == "came"
            elif removed in ("came", "missed") and occ.came.get(who) == (removed == "came"):
                del occ.came[who]
            return
        if ev.choice == "mute" or removed == "mute":
            self._set_mute(st, ev.member, occ.series, ev.choice == "mute", ev.channel, out)
            return
        if occ.status != "scheduled":
            return
        if ev.choice in ("yes", "no", "maybe"):
            answer: Answer = ev.choice  # type: ignore[assignment]
            occ.rsvp[who] = answer
            if ev.via in ("button", "poll"):
                # A button gives no visible trace: say what was noted.
                out.append(self._note(ev.member, ev.channel, Msg(
                    "meeting.rsvp.noted", answer=Msg(f"meeting.choice.{answer}"), title=occ.title,
                    when=When(at=occ.start, style="datetime"))))
        elif removed is not None and occ.rsvp.get(who) == removed:
            del occ.rsvp[who]

    def _reacted(self, st: MeetingsState, ev: Reacted, out: list[Action]) -> None:
        if ev.key != m.MUTE_EMOJI:
            return
        occ = _occ(st, ev.ref)
        if occ is not None:
            self._remember(st, ev.member)
            self._set_mute(st, ev.member, occ.series, not ev.removed, ev.channel, out)

    def _set_mute(self, st: MeetingsState, member: Member, series: str, mute: bool, channel: str,
                  out: list[Action], reply_to: ReplyHandle | None = None) -> None:
        muted = set(st.muted.get(member.key, []))
        if mute:
            muted.add(series)
        else:
            muted.discard(series)
        if muted:
            st.muted[member.key] = sorted(muted)
        else:
            st.muted.pop(member.key, None)
        title = self._series_title(st, series)
        text = Msg("meeting.mute.done" if mute else "meeting.mute.undone", series=title)
        out.append(self._note(member, channel, text, reply_to))

    def _note(self, member: Member, channel: str, text: Msg, reply_to: ReplyHandle | None = None) -> Action:
        if channel == "dm":
            return DirectMessage(member=member.key, text=text)
        return PrivateNote(member=member.key, channel=channel, text=text, reply_to=reply_to)

    # --- commands ------------------------------------------------------------------------

    def _command(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        self._remember(st, cmd.member)
        handlers = {
            NEW.name: self._cmd_new,
            AGENDA.name: self._cmd_agenda,
            MINUTES.name: self._cmd_minutes,
            CALENDAR.name: self._cmd_calendar,
            RECORD.name: self._cmd_record,
            CANCEL.name: self._cmd_cancel,
            MUTE.name: self._cmd_mute,
            UNMUTE.name: self._cmd_mute,
        }
        handler = handlers.get(cmd.name)
        if handler is not None:
            handler(st, cmd, now, out)

    def _reply(self, cmd: Command, text: Msg) -> Action:
        return self._note(cmd.member, cmd.channel, text, cmd.reply_to)

    def _cmd_new(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        if not cmd.member.is_animateur:
            out.append(self._reply(cmd, Msg("meeting.cmd.animateurs_only")))
            return
        title = str(cmd.args.get("title", "")).strip()
        text = str(cmd.args.get("text", ""))
        try:
            # At most a year ahead, like a deadline (WhenError.msg says why).
            when = parse_when(text, now, self.tz, self.ctx.network.locale, max_ahead=DURATION_MAX)
        except WhenError as exc:
            out.append(self._reply(cmd, exc.msg(text)))
            return
        channels = [cmd.channel] if cmd.channel != "dm" and cmd.channel in self._known_channels() else self.channels
        occ = Occurrence(
            key=f"once-{st.next_one_off}",
            series=f"once-{st.next_one_off}",
            one_off=True,
            title=title,
            start=when.start,
            end=self.duration.after(when.start, self.tz),
            place=when.place,
            link=when.link,
            channels=channels,
            created_by=cmd.member.key,
        )
        st.next_one_off += 1
        self._materialize(st, occ, now, out)
        cutoff = self.cutoff.before(occ.start, self.tz)
        for channel in channels:
            style = self.ctx.capabilities(channel).choice_style()
            out.append(Post(
                channel=channel,
                ref=_ref(occ, "new"),
                text=Msg("meeting.announce", title=occ.title, by=cmd.member.name, details=m.details(occ),
                         agenda=m.agenda(occ, cutoff, now), how=m.how_to_answer(style)),
                choices=m.rsvp_choices(),
                choice_style=_style(style),
                valid_until=occ.start,
            ))

    def _known_channels(self) -> set[str]:
        return set(self.ctx.channels) | set(self.channels)

    def _target(self, st: MeetingsState, cmd: Command) -> Occurrence | None:
        """The meeting a command is about: the one whose message it was typed under, else
        the next scheduled meeting announced in that channel, else the next one at all."""
        if (occ := _occ(st, cmd.thread_ref)) is not None:
            return occ
        upcoming = [o for o in st.occurrences if o.status == "scheduled"]
        here = [o for o in upcoming if cmd.channel in o.channels]
        pool = here or (upcoming if cmd.channel == "dm" or not self._in_any(st, cmd.channel) else [])
        return pool[0] if pool else None

    def _in_any(self, st: MeetingsState, channel: str) -> bool:
        return any(channel in o.channels for o in st.occurrences)

    def _cmd_agenda(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        occ = self._target(st, cmd)
        if occ is None or occ.status != "scheduled":
            out.append(self._reply(cmd, Msg("meeting.agenda.no_meeting")))
            return
        text = str(cmd.args.get("text", "")).strip()
        cutoff = self.cutoff.before(occ.start, self.tz)
        if not text:
            out.append(self._reply(cmd, Msg("meeting.agenda.show", title=occ.title,
                                            when=When(at=occ.start, style="datetime"),
                                            agenda=m.agenda(occ, cutoff, now))))
            return
        item = AgendaItem(text=text, by=cmd.member.key, by_name=cmd.member.name, at=now)
        if now < cutoff:
            occ.agenda.append(item)
            out.append(self._reply(cmd, Msg("meeting.agenda.added", title=occ.title,
                                            when=When(at=occ.start, style="datetime"), text=text)))
            return
        # Past the cut-off: the item goes to the series' following meeting, and we say so.
        following: Occurrence | None = None
        cfg = self.series.get(occ.series)
        if cfg is not None and not occ.one_off:
            following = self._next_of_series(st, cfg, now, out, after=occ.start)
        if following is None:
            out.append(self._reply(cmd, Msg("meeting.agenda.closed", title=occ.title,
                                            cutoff=When(at=cutoff, style="short"))))
            return
        following.agenda.append(item)
        out.append(self._reply(cmd, Msg("meeting.agenda.added_next", title=occ.title,
                                        closed=When(at=occ.start, style="day"),
                                        when=When(at=following.start, style="datetime"), text=text)))

    def _cmd_cancel(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        """The meeting typed under (or the next one here) is called off: said in its channels,
        its timers cancelled, kept on the calendar as cancelled (EXDATE in the .ics)."""
        if not cmd.member.is_animateur:
            out.append(self._reply(cmd, Msg("meeting.cmd.animateurs_only")))
            return
        occ = self._target(st, cmd)
        if occ is None or occ.status != "scheduled":
            out.append(self._reply(cmd, Msg("meeting.agenda.no_meeting")))
            return
        if occ.start <= now:
            # Under way: its announcement would come too late (the posts are valid until
            # the start), and the member would hear nothing; say so instead.
            out.append(self._reply(cmd, Msg("meeting.cmd.cancel_started", title=occ.title,
                                            when=When(at=occ.start, style="datetime"))))
            return
        reason = str(cmd.args.get("reason", "")).strip()
        occ.status = "cancelled"
        for prefix, leads in (("r", self.leads), ("p", self.personal_leads)):
            for i in range(len(leads)):
                out.append(CancelTimer(name=_ref(occ, prefix, i)))
        out.append(CancelTimer(name=_ref(occ, "end")))
        text = Msg("meeting.cancelled", title=occ.title, when=When(at=occ.start, style="datetime"),
                   by=cmd.member.name,
                   reason=Msg("meeting.cancel_reason", reason=reason) if reason else Msg("meeting.no_reason"))
        for channel in occ.channels:
            out.append(Post(channel=channel, ref=_ref(occ, "cancel"), text=text, valid_until=occ.start))
        out.append(Record(kind="meeting", summary={**self._meeting_summary(st, occ), "status": "cancelled",
                                                   "reason": reason or None}))

    def _cmd_minutes(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        url = str(cmd.args.get("url", "")).strip()
        if not url.lower().startswith(("https://", "http://")) or any(c.isspace() for c in url):
            out.append(self._reply(cmd, Msg("meeting.minutes.bad_link", text=url)))
            return
        occ = _occ(st, cmd.thread_ref)
        if occ is None:
            past = [o for o in st.occurrences if o.start <= now and o.status != "cancelled"]
            here = [o for o in past if cmd.channel in o.channels] or past
            occ = here[-1] if here else None
        if occ is None or occ.start > now:
            out.append(self._reply(cmd, Msg("meeting.minutes.no_meeting")))
            return
        occ.minutes = url
        out.append(Record(kind="minutes", summary={
            "meeting": occ.key, "series": occ.series, "title": occ.title,
            "start": occ.start.isoformat(), "url": url, "by": cmd.member.key,
        }))
        if occ.page_ref is not None:
            page = m.page(occ, self._names(st))
            for channel in occ.channels:
                out.append(Edit(channel=channel, ref=_ref(occ, occ.page_ref), text=page))
        out.append(self._reply(cmd, Msg("meeting.minutes.saved", title=occ.title,
                                        when=When(at=occ.start, style="datetime"))))

    def _cmd_calendar(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        if self.config.calendar_url:
            out.append(self._reply(cmd, Msg("meeting.calendar.link",
                                            link=Link(url=self.config.calendar_url))))
        else:
            out.append(self._reply(cmd, Msg("meeting.calendar.unavailable")))

    def _cmd_record(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        held = [o for o in st.occurrences if o.status == "held"]
        here = [o for o in held if cmd.channel in o.channels] or held
        if not here:
            out.append(self._reply(cmd, Msg("meeting.page.none")))
            return
        out.append(self._reply(cmd, m.page(here[-1], self._names(st))))

    def _cmd_mute(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        mute = cmd.name == MUTE.name
        wanted = str(cmd.args.get("series", "")).strip()
        options = self._series_options(st)
        chosen: str | None = None
        if (occ := _occ(st, cmd.thread_ref)) is not None:
            chosen = occ.series
        elif wanted:
            for sid, title in options.items():
                if fold(wanted) in (fold(sid), fold(title)):
                    chosen = sid
                    break
        elif len(options) == 1:
            chosen = next(iter(options))
        if chosen is None:
            listing: list[Param] = [Msg("meeting.mute.option", title=t) for t in options.values()]
            out.append(self._reply(cmd, Msg("meeting.mute.which", options=Lines(items=listing))))
            return
        self._set_mute(st, cmd.member, chosen, mute, cmd.channel, out, cmd.reply_to)

    def _series_options(self, st: MeetingsState) -> dict[str, str]:
        out = {sid: cfg.title for sid, cfg in self.series.items()}
        for o in st.occurrences:
            if o.one_off and o.status == "scheduled":
                out[o.series] = o.title
        return out

    def _series_title(self, st: MeetingsState, series: str) -> str:
        cfg = self.series.get(series)
        if cfg is not None:
            return cfg.title
        for o in st.occurrences:
            if o.series == series:
                return o.title
        return series

    def _names(self, st: MeetingsState) -> dict[str, str]:
        names = dict(st.names)
        for key, member in self.ctx.directory.members.items():
            names[key] = member.name
        return names


ChoiceStyle = Literal["buttons", "poll", "reactions"]


def _style(style: str) -> ChoiceStyle:
    """`Capabilities.choice_style()` says a str; a Post wants one of the three styles."""
    if style == "buttons":
        return "buttons"
    if style == "poll":
        return "poll"
    return "reactions"


class MeetingKind(RitualKind[MeetingsState]):
    """`[[rituals]] kind = "meeting"`, configured once per network: the calendar holding the
    recurring series of the config and the one-off meetings animateurs add by command. One
    instance for all meetings is what lets `ordre-du-jour`, `reunion cr` and RSVPs reach
    "the next meeting" (route "singleton") without naming it."""

    name = "meeting"
    implicit = True
    state_type = MeetingsState
    config_model = MeetingConfig

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
        "rsvp": {a: sum(1 for v in o.rsvp.values() if v == a) for a in ("yes", "no", "maybe")},
        "attendees": list(o.attendees),
        "minutes": o.minutes,
    }
