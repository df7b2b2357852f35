"""The meetings calendar's commands: a one-off meeting, the agenda, minutes, the page of
record, cancelling a meeting, the calendar's address, muting a series."""

from __future__ import annotations

from datetime import datetime

from bot.kernel.commands import fold
from bot.kernel.i18n import Duration, Lines, Link, Msg, Param, When
from bot.kernel.inputs import DURATION_MAX
from bot.kernel.model import (
    Action,
    CancelTimer,
    Command,
    Edit,
    Post,
    Record,
    RecordAnswer,
    Started,
)
from scenarios.meeting import messages as m
from scenarios.meeting.base import as_style, meeting_ref, occurrence_of
from scenarios.meeting.commands import (
    AGENDA,
    CALENDAR,
    CANCEL,
    MINUTES,
    MUTE,
    NEW,
    PERSONAL_OFF,
    PERSONAL_ON,
    RECORD,
    ROLE_SWAP,
    UNMUTE,
)
from scenarios.meeting.posts import POST
from scenarios.meeting.state import (
    ANSWERS,
    RSVP,
    AgendaItem,
    MeetingsState,
    Occurrence,
)
from scenarios.meeting.turns import MeetingRoles
from scenarios.meeting.when import WhenError, parse_when


class MeetingCommands(MeetingRoles):
    """What members and animateurs ask of the calendar by command."""

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
            PERSONAL_ON.name: self._cmd_personal,
            PERSONAL_OFF.name: self._cmd_personal,
            ROLE_SWAP.name: self._cmd_swap,
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
        occ = self._one_off(st, title, when.start, when.place, when.link, channels, cmd.member.key, now, out)
        self._announce(occ, cmd.member.name, now, out)

    def _started(self, st: MeetingsState, ev: Started, now: datetime, out: list[Action]) -> None:
        """A one-off meeting another ritual starts (a date poll's chosen slot, `StartRitual`):
        `params["one_off"]` says what `reunion` would (title, start, place, link), and
        `params["rsvps"]` the answers already given (member key → yes, no, maybe), kept as
        RSVPs before the announcement."""
        raw = ev.params.get("one_off")
        if not isinstance(raw, dict) or ev.by is None:
            return
        start = datetime.fromisoformat(str(raw["start"]))
        st.one_meeting = True
        channels = [ev.channel] if ev.channel and ev.channel != "dm" else self.channels
        occ = self._one_off(st, str(raw.get("title") or ""), start, raw.get("place"), raw.get("link"), channels,
                            ev.by.key, now, out)
        rsvps = ev.params.get("rsvps")
        for key, answer in sorted(rsvps.items()) if isinstance(rsvps, dict) else []:
            if answer in ANSWERS and self.ctx.directory.member(key) is not None:
                occ.rsvp_counts[answer] += 1
                out.append(RecordAnswer(member=key, topic=RSVP, part=occ.n, value=answer))
        self._announce(occ, ev.by.name, now, out)

    def _one_off(self, st: MeetingsState, title: str, start: datetime, place: str | None, link: str | None,
                 channels: list[str], by: str, now: datetime, out: list[Action]) -> Occurrence:
        occ = Occurrence(
            key=f"once-{st.next_one_off}",
            series=f"once-{st.next_one_off}",
            one_off=True,
            title=title,
            start=start,
            end=self.duration.after(start, self.tz),
            place=place,
            link=link,
            channels=channels,
            created_by=by,
        )
        st.next_one_off += 1
        self._materialize(st, occ, now, out)
        return occ

    def _announce(self, occ: Occurrence, by: str, now: datetime, out: list[Action]) -> None:
        cutoff = self.cutoff.before(occ.start, self.tz)
        channels = occ.channels
        for channel in channels:
            style = self._post_style(channel)
            # The meeting's one post: its reminders edit it.
            out.append(Post(
                channel=channel,
                ref=meeting_ref(occ, POST),
                text=Msg("meeting.announce", title=occ.title, by=by, details=m.details(occ),
                         agenda=m.agenda(occ, cutoff, now), how=m.how_to_answer(style)),
                choices=m.rsvp_choices(),
                choice_style=as_style(style),
                valid_until=occ.start,
            ))
        occ.posted = True

    def _known_channels(self) -> set[str]:
        return set(self.ctx.channels) | set(self.channels)

    def _target(self, st: MeetingsState, cmd: Command) -> Occurrence | None:
        """The meeting a command is about: the one whose message it was typed under, else
        the next scheduled meeting announced in that channel, else the next one at all."""
        if (occ := occurrence_of(st, cmd.thread_ref)) is not None:
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
                out.append(CancelTimer(name=meeting_ref(occ, prefix, i)))
        out.append(CancelTimer(name=meeting_ref(occ, "end")))
        text = Msg("meeting.cancelled", title=occ.title, when=When(at=occ.start, style="datetime"),
                   by=cmd.member.name,
                   reason=Msg("meeting.cancel_reason", reason=reason) if reason else Msg("meeting.no_reason"))
        out.append(CancelTimer(name=meeting_ref(occ, "refresh")))
        occ.refresh_pending = False
        for channel in occ.channels:
            if occ.posted:
                # Said on the meeting's own post, its answers closed: no new post.
                out.append(Edit(channel=channel, ref=meeting_ref(occ, POST), text=text, choices=[]))
            else:
                out.append(Post(channel=channel, ref=meeting_ref(occ, "cancel"), text=text, valid_until=occ.start))
        out.append(Record(kind="meeting", summary={**self._meeting_summary(st, occ), "status": "cancelled",
                                                   "reason": reason or None}))

    def _cmd_minutes(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        url = str(cmd.args.get("url", "")).strip()
        if not url.lower().startswith(("https://", "http://")) or any(c.isspace() for c in url):
            out.append(self._reply(cmd, Msg("meeting.minutes.bad_link", text=url)))
            return
        occ = occurrence_of(st, cmd.thread_ref)
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
        page = m.page(occ, self._names(st), self._roles_summary(st, occ))
        for role in self._page_refs(occ):
            for channel in occ.channels:
                out.append(Edit(channel=channel, ref=meeting_ref(occ, role), text=page))
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
        out.append(self._reply(cmd, m.page(here[-1], self._names(st), self._roles_summary(st, here[-1]))))

    def _cmd_mute(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        mute = cmd.name == MUTE.name
        wanted = str(cmd.args.get("series", "")).strip()
        options = self._series_options(st)
        chosen: str | None = None
        if (occ := occurrence_of(st, cmd.thread_ref)) is not None:
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

    def _cmd_personal(self, st: MeetingsState, cmd: Command, now: datetime, out: list[Action]) -> None:
        """`reunion rappels perso` asks for a private reminder before every meeting (or one
        series'); `reunion rappels perso non` stops them."""
        on = cmd.name == PERSONAL_ON.name
        wanted = str(cmd.args.get("series", "")).strip()
        if wanted:
            options = self._series_options(st)
            chosen = next((sid for sid, title in options.items() if fold(wanted) in (fold(sid), fold(title))), None)
            if chosen is None:
                listing: list[Param] = [Msg("meeting.mute.option", title=t) for t in options.values()]
                out.append(self._reply(cmd, Msg("meeting.mute.which", options=Lines(items=listing))))
                return
            self._set_mute(st, cmd.member, chosen, not on, cmd.channel, out, cmd.reply_to)
            return
        me = cmd.member.key
        st.muted.pop(me, None)
        if on:
            st.personal[me] = ["*"]
        else:
            st.personal.pop(me, None)
        leads = [Duration(seconds=lead.approx.total_seconds()) for lead in self.personal_leads]
        if not on:
            text = Msg("meeting.personal.off")
        elif leads:
            text = Msg("meeting.personal.on", leads=Lines(items=list(leads), sep=", "))
        else:
            text = Msg("meeting.personal.none_configured")
        out.append(self._reply(cmd, text))
