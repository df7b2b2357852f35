"""A meeting's answers: RSVPs before it, who came after it (rows of their own, read on the
meeting's timers), the reminders that show them, its page and records, muting a series."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.kernel.i18n import Duration, Msg, When
from bot.kernel.model import (
    Action,
    Chose,
    DirectMessage,
    Edit,
    Member,
    Post,
    Reacted,
    Record,
    RecordAnswer,
    ReplyHandle,
    SetTimer,
    TimerFired,
)
from scenarios.meeting import messages as m
from scenarios.meeting.base import as_style, meeting_ref, occurrence_of
from scenarios.meeting.posts import POST
from scenarios.meeting.state import (
    ATTENDANCE,
    RSVP,
    Answer,
    MeetingsState,
    Occurrence,
)
from scenarios.meeting.turns import SWAP, MeetingRoles


class MeetingAnswers(MeetingRoles):
    """Answers, reminders and attendance of the calendar's meetings."""

    def _remind(self, st: MeetingsState, occ: Occurrence, ev: TimerFired, i: int, now: datetime,
                out: list[Action]) -> None:
        """A channel reminder is the meeting's one post: posted the first time, then edited
        ("demain", "dans 1 heure"); the last one names who answered what and gives the roles."""
        reason = self._stale_reminder(occ, ev, self.leads, now)
        if reason is not None:
            self._skip(st, ev, reason)
            return
        is_last = all(lead.before(occ.start, self.tz) <= ev.due_at for lead in self.leads)
        if is_last:
            self._give_roles(st, occ)
        self._show(st, occ, now, out, names=is_last)
        occ.reminders_sent.append(ev.name)

    def _remind_personally(self, st: MeetingsState, occ: Occurrence, ev: TimerFired, i: int,
                           now: datetime, out: list[Action]) -> None:
        reason = self._stale_reminder(occ, ev, self.personal_leads, now)
        if reason is not None:
            self._skip(st, ev, reason)
            return
        cutoff = self.cutoff.before(occ.start, self.tz)
        rsvps = self._rsvps(occ)
        for member in self.ctx.directory.circle(occ.channels):
            # Opt-in (`reunion rappels perso`): only those who asked, unless they said no.
            if not self._wants_reminders(st, member.key, occ.series) or rsvps.get(member.key) == "no":
                continue
            style = self._dm_style(member)
            text = Msg(
                "meeting.reminder.personal",
                title=occ.title,
                lead=Duration(seconds=(occ.start - now).total_seconds()),
                details=m.details(occ),
                agenda=m.agenda(occ, cutoff, now),
                answer=Msg("meeting.reminder.your_answer", answer=Msg(f"meeting.choice.{rsvps[member.key]}"))
                if member.key in rsvps else Msg("meeting.reminder.no_answer_yet"),
                how=m.how_to_answer(style),
                mute=Msg("meeting.reminder.mute_hint", series=self._series_title(st, occ.series)),
            )
            out.append(DirectMessage(member=member.key, text=text, ref=meeting_ref(occ, "dm", member=member.key),
                                     choices=m.rsvp_choices(with_mute=True), choice_style=as_style(style),
                                     valid_until=occ.start))
        occ.reminders_sent.append(ev.name)

    def _ended(self, st: MeetingsState, occ: Occurrence, ev: TimerFired, now: datetime,
               out: list[Action]) -> None:
        if occ.status != "scheduled":
            return
        mode = self.config.attendance
        if mode == "off":
            occ.status = "held"
            self._held(st, occ)
            out.append(Record(kind="meeting", summary=self._meeting_summary(st, occ)))
            return
        close_at = self.window.after(occ.end, self.tz)
        if mode == "rsvp" or now >= close_at:
            if mode == "ask":
                self._skip(st, ev, "attendance_window_over")
            self._close(st, occ, now, out)
            return
        occ.status = "attendance"
        occ.attendance_asked = True
        expected = sorted(k for k, a in self._rsvps(occ).items() if a == "yes")
        names = self._names(st)
        present = sorted((names.get(k, k) for k in expected), key=str.casefold)
        for channel in occ.channels:
            style = self.ctx.capabilities(channel).choice_style()
            # In the thread of the meeting's post when there is one: no second post in the channel.
            out.append(Post(
                channel=channel,
                ref=meeting_ref(occ, "att"),
                thread=meeting_ref(occ, POST) if occ.posted else None,
                text=Msg("meeting.attendance.ask", title=occ.title,
                         when=When(at=occ.start, style="datetime"),
                         present=m.names_or_nobody(present),
                         until=When(at=close_at, style="short"),
                         how=Msg("meeting.attendance.how_reactions" if style == "reactions"
                                 else "meeting.attendance.how_buttons")),
                choices=m.attendance_choices(),
                choice_style=as_style(style),
                valid_until=close_at,
            ))
        out.append(SetTimer(name=meeting_ref(occ, "close"), due_at=close_at))

    def _close(self, st: MeetingsState, occ: Occurrence, now: datetime, out: list[Action]) -> None:
        if occ.status not in ("scheduled", "attendance"):
            return
        asked = occ.status == "attendance"
        said_yes = {k for k, a in self._rsvps(occ).items() if a == "yes"}
        corrections = self._attendance(occ)
        came = {k for k, c in corrections.items() if c == "came"}
        missed = {k for k, c in corrections.items() if c == "missed"}
        occ.attendees = sorted((said_yes | came) - missed)
        occ.status = "held"
        self._held(st, occ)
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
            "source": "corrected" if corrections else "rsvp",
        }))
        out.append(Record(kind="meeting", summary=self._meeting_summary(st, occ)))
        page = m.page(occ, self._names(st), self._roles_summary(st, occ))
        # The meeting's post (and the attendance question) become the page of record: no
        # extra message.
        occ.page_ref = POST if occ.posted else "att" if asked else "page"
        for channel in occ.channels:
            for role in self._page_refs(occ):
                if role != "page":
                    out.append(Edit(channel=channel, ref=meeting_ref(occ, role), text=page, choices=[]))
                else:
                    out.append(Post(channel=channel, ref=meeting_ref(occ, "page"), text=page))

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
            # Only a series with roles says them: the records of the others keep their shape.
            **({"roles": self._roles_summary(st, occ)} if occ.roles else {}),
        }

    def _chose(self, st: MeetingsState, ev: Chose, now: datetime, out: list[Action]) -> None:
        occ = occurrence_of(st, ev.ref)
        if occ is None:
            return
        self._remember(st, ev.member)
        who = ev.member.key
        removed = ev.withdrawn if ev.choice is None else None
        if ev.ref.role == "att":
            if occ.status != "attendance":
                return
            said = self.ctx.answers.of(who, ATTENDANCE, part=occ.n)
            if ev.choice in ("came", "missed"):
                out.append(RecordAnswer(member=who, topic=ATTENDANCE, part=occ.n, value=ev.choice))
            elif removed in ("came", "missed") and said is not None and said.value == removed:
                out.append(RecordAnswer(member=who, topic=ATTENDANCE, part=occ.n, value=None))
            return
        if ev.ref.role == SWAP:
            self._swap_answer(st, occ, ev, now, out)
            return
        if ev.choice == "mute" or removed == "mute":
            self._set_mute(st, ev.member, occ.series, ev.choice == "mute", ev.channel, out)
            return
        if occ.status != "scheduled":
            return
        previous = self.ctx.answers.of(who, RSVP, part=occ.n)
        if ev.choice in ("yes", "no", "maybe"):
            answer: Answer = ev.choice  # type: ignore[assignment]
            if ev.via == "button":
                # A button gives no visible trace: say what was noted (a poll shows one's vote,
                # a reaction is its own trace).
                out.append(self._note(ev.member, ev.channel, Msg(
                    "meeting.rsvp.noted", answer=Msg(f"meeting.choice.{answer}"), title=occ.title,
                    when=When(at=occ.start, style="datetime"))))
            self._count(occ, previous.value if previous else None, answer)
            out.append(RecordAnswer(member=who, topic=RSVP, part=occ.n, value=answer))
        elif removed is not None and previous is not None and previous.value == removed:
            self._count(occ, removed, None)
            out.append(RecordAnswer(member=who, topic=RSVP, part=occ.n, value=None))
        else:
            return
        if ev.choice != "yes" and who in occ.roles.values():
            self._holder_left(st, occ, who, now, out)
        else:
            if ev.choice == "yes":
                self._fill(occ, who)
            self._touch(occ, now, out)

    def _attendance(self, occ: Occurrence) -> dict[str, str]:
        """Who said they came or missed it, after the meeting."""
        return {a.member: a.value for a in self.ctx.answers.current(ATTENDANCE, part=occ.n)
                if a.member is not None and a.value is not None}

    def _reacted(self, st: MeetingsState, ev: Reacted, out: list[Action]) -> None:
        if ev.key != m.MUTE_EMOJI:
            return
        occ = occurrence_of(st, ev.ref)
        if occ is not None:
            self._remember(st, ev.member)
            self._set_mute(st, ev.member, occ.series, not ev.removed, ev.channel, out)

    def _set_mute(self, st: MeetingsState, member: Member, series: str, mute: bool, channel: str,
                  out: list[Action], reply_to: ReplyHandle | None = None) -> None:
        muted = set(st.muted.get(member.key, []))
        chosen = set(st.personal.get(member.key, []))
        if mute:
            chosen.discard(series)
            if "*" in chosen:
                muted.add(series)
        else:
            muted.discard(series)
            chosen.add(series)
        for table, keys in ((st.muted, muted), (st.personal, chosen)):
            if keys:
                table[member.key] = sorted(keys)
            else:
                table.pop(member.key, None)
        title = self._series_title(st, series)
        text = Msg("meeting.mute.done" if mute else "meeting.mute.undone", series=title)
        out.append(self._note(member, channel, text, reply_to))
