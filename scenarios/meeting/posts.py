"""A meeting's one channel post: posted once, then edited as answers arrive and as the meeting
nears ("dans 7 jours", "demain", "dans 1 heure"), with its roles once they are given."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.kernel.i18n import Duration, Lines, Msg, Param
from bot.kernel.model import Action, Edit, Post, SetTimer
from scenarios.meeting import messages as m
from scenarios.meeting.base import MeetingsBase, as_style, meeting_ref
from scenarios.meeting.config import SeriesConfig
from scenarios.meeting.state import RSVP, MeetingsState, Occurrence

POST = "post"
"""The role of a meeting's one channel post."""
REFRESH = timedelta(minutes=1)
"""Answers arriving together make one edit of the post, at most one a minute."""


class MeetingPosts(MeetingsBase):
    """The post that says a meeting, its answers and roles, kept up to date by edits."""

    def _rsvps(self, occ: Occurrence) -> dict[str, str]:
        """Who answered what before the meeting (read on its timers, which load its answers)."""
        return {a.member: a.value for a in self.ctx.answers.current(RSVP, part=occ.n)
                if a.member is not None and a.value is not None}

    def _count(self, occ: Occurrence, before: str | None, after: str | None) -> None:
        """The live counts of RSVPs follow each answer, from the member's previous one."""
        if before in occ.rsvp_counts:
            occ.rsvp_counts[before] = max(0, occ.rsvp_counts[before] - 1)
        if after in occ.rsvp_counts:
            occ.rsvp_counts[after] += 1

    def _post_style(self, channel: str) -> str:
        """How the meeting's post offers its answers. A poll someone voted on is not edited again
        (Matrix: clients may drop or misread the votes of an edited poll), and this post is
        edited as the meeting nears: where a platform has reactions, it takes reactions."""
        caps = self.ctx.capabilities(channel)
        style = caps.choice_style()
        return "reactions" if style == "poll" and caps.reactions else style

    def _cfg(self, occ: Occurrence) -> SeriesConfig | None:
        return None if occ.one_off else self.series.get(occ.series)

    def _last_due(self, occ: Occurrence) -> datetime | None:
        """When the last channel reminder is due: from then on the post names who answered
        what and carries the meeting's roles."""
        dues = [lead.before(occ.start, self.tz) for lead in self.leads]
        return max(dues) if dues else None

    def _soon(self, occ: Occurrence, now: datetime) -> Msg:
        """How near the meeting is, the way people say it: in N days, tomorrow, in N hours."""
        days = (occ.start.astimezone(self.tz).date() - now.astimezone(self.tz).date()).days
        if days >= 2:
            return Msg("meeting.soon.days", days=days)
        if days == 1:
            return Msg("meeting.soon.tomorrow")
        left = (occ.start - now).total_seconds()
        if left >= 3600:
            return Msg("meeting.soon.hours", hours=round(left / 3600))
        return Msg("meeting.soon.in", lead=Duration(seconds=max(60.0, left)))

    def _roles_line(self, st: MeetingsState, occ: Occurrence) -> Msg:
        cfg = self._cfg(occ)
        if cfg is None or not cfg.roles:
            return Msg("meeting.roles.none")
        if not occ.roles_given:
            return Msg("meeting.roles.later", roles=Lines(items=list(cfg.roles), sep=", "))
        names = self._names(st)
        items: list[Param] = [
            Msg("meeting.roles.item", role=role, name=names.get(occ.roles[role], occ.roles[role]))
            if role in occ.roles else Msg("meeting.roles.item_nobody", role=role)
            for role in cfg.roles
        ]
        return Msg("meeting.roles.block", items=Lines(items=items, sep=" ; "),
                   how=Msg("meeting.roles.swap_hint"))

    def _post_text(self, st: MeetingsState, occ: Occurrence, now: datetime, names: bool, channel: str) -> Msg:
        """The post's text now: `names` once the last reminder is due (who answered what;
        those who did not answer are only counted, never named)."""
        cutoff = self.cutoff.before(occ.start, self.tz)
        style = self._post_style(channel)
        if names:
            circle = [mb.key for mb in self.ctx.directory.circle(occ.channels)]
            answers = m.answer_names(self._rsvps(occ), self._names(st), circle)
        else:
            answers = m.answer_counts(occ)
        return Msg(
            "meeting.post.body",
            title=occ.title,
            soon=self._soon(occ, now),
            details=m.details(occ),
            agenda=m.agenda(occ, cutoff, now),
            answers=answers,
            roles=self._roles_line(st, occ),
            how=m.how_to_answer(style),
            # How to get a private reminder, said where everyone reads: reminders are opt-in.
            personal=Msg("meeting.post.personal_hint") if self.personal_leads else Msg("meeting.roles.none"),
        )

    def _show(self, st: MeetingsState, occ: Occurrence, now: datetime, out: list[Action],
              names: bool = False) -> None:
        """The meeting's post in each of its channels: posted the first time, edited after."""
        for channel in occ.channels:
            text = self._post_text(st, occ, now, names, channel)
            if occ.posted:
                out.append(Edit(channel=channel, ref=meeting_ref(occ, POST), text=text, valid_until=occ.start))
            else:
                out.append(Post(channel=channel, ref=meeting_ref(occ, POST), text=text, choices=m.rsvp_choices(),
                                choice_style=as_style(self._post_style(channel)), valid_until=occ.start))
        occ.posted = True

    def _names_shown(self, occ: Occurrence, now: datetime) -> bool:
        last = self._last_due(occ)
        return last is not None and now >= last

    def _touch(self, occ: Occurrence, now: datetime, out: list[Action]) -> None:
        """An answer changed the counts: one coalesced edit of the post shortly."""
        if not occ.posted or occ.refresh_pending or occ.status != "scheduled" or now >= occ.start:
            return
        if not any(self.ctx.capabilities(ch).edits for ch in occ.channels):
            return
        occ.refresh_pending = True
        out.append(SetTimer(name=meeting_ref(occ, "refresh"), due_at=min(now + REFRESH, occ.start)))

    def _refresh(self, st: MeetingsState, occ: Occurrence, now: datetime, out: list[Action]) -> None:
        occ.refresh_pending = False
        if occ.status == "scheduled" and occ.posted and now < occ.start:
            self._show(st, occ, now, out, names=self._names_shown(occ, now))

    def _page_refs(self, occ: Occurrence) -> list[str]:
        """The messages that hold the meeting's page of record once it is held."""
        refs = [occ.page_ref] if occ.page_ref is not None else []
        if occ.attendance_asked and "att" not in refs:
            refs.append("att")
        return refs

    def _wants_reminders(self, st: MeetingsState, member: str, series: str) -> bool:
        chosen = st.personal.get(member, [])
        return (series in chosen or "*" in chosen) and series not in st.muted.get(member, [])
