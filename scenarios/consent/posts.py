"""What a round sends besides its answers' acknowledgements: the proposals, private ballots,
reminders to those who have not answered, the request for an objection's reason; and the
round's timers (deadline, questions phase, reminders, the coalesced live count)."""

from __future__ import annotations

from datetime import datetime

from bot.kernel.i18n import Lines, Mention, Msg, When
from bot.kernel.localtime import shift, split_lead
from bot.kernel.model import Action, CancelTimer, DirectMessage, Member, OpenForm, Post, SetTimer
from scenarios.consent.state import RoundState, choices
from scenarios.consent.texts import RoundTexts, deadline_of


class RoundPosts(RoundTexts):
    """The round's outgoing messages and timers, bound to a context and its settings."""

    def _ask_reason(self, st: RoundState, member: Member, channel: str) -> list[Action]:
        acts: list[Action] = []
        text = Msg("consent.objection.ask", who=Mention(member=member.key, name=member.name), **self._n(st))
        private = st.anonymous or channel not in st.channels
        if private:
            acts.append(DirectMessage(member=member.key, ref=st.ballot_ref(member.key, role="ask"), text=Msg("consent.objection.ask_dm", **self._n(st), title=st.title), expects_reply=True))
        else:
            acts.append(Post(channel=channel, thread=st.proposal_ref(channel), text=text))
        if self.ctx.capabilities(channel).forms:
            acts.append(
                OpenForm(
                    member=member.key,
                    channel=channel,
                    form="objection",
                    title=Msg("consent.objection.form_title", **self._n(st)),
                    fields=[{"id": "reason", "label": Msg("consent.objection.form_reason"), "multiline": True}],
                    fallback=Msg("consent.objection.ask_dm", **self._n(st), title=st.title),
                    about=st.proposal_ref(channel) if not private else st.ballot_ref(member.key, role="ask"),
                )
            )
        return acts

    def _touch(self, st: RoundState, now: datetime) -> list[Action]:
        """Live counts on the proposal: one coalesced edit per `refresh` interval."""
        if st.refresh_pending or not any(self._edits(ch) for ch in st.channels):
            return []
        st.refresh_pending = True
        return [SetTimer(name=st.timer("refresh"), due_at=now + st.refresh, payload={"version": st.version})]

    def _schedule(self, st: RoundState, now: datetime) -> list[Action]:
        assert st.deadline is not None
        payload = {"version": st.version}
        acts: list[Action] = [SetTimer(name=st.timer("deadline"), due_at=st.deadline, payload=payload)]
        if st.questions_until is not None:
            acts.append(SetTimer(name=st.timer("questions"), due_at=st.questions_until, payload=payload))
        else:
            acts.append(CancelTimer(name=st.timer("questions")))
        for i, lead in enumerate(st.reminders):
            # Whole days on the calendar, the rest in elapsed time (bot.kernel.localtime): the same
            # instant whether the deadline was just parsed or reloaded from the store.
            days, seconds = split_lead(lead)
            due = shift(st.deadline, self.ctx.network.tz, days=-days, seconds=-seconds)
            if due > now:
                acts.append(SetTimer(name=st.timer("remind", i), due_at=due, payload=payload))
            else:
                acts.append(CancelTimer(name=st.timer("remind", i)))
        return acts

    def _cancel_all(self, st: RoundState, keep_lapse: bool = False) -> list[Action]:
        names = [st.timer(n) for n in ("deadline", "questions", "refresh")] + [st.timer("remind", i) for i in range(len(st.reminders))]
        if not keep_lapse:
            names.append(st.timer("lapse"))
        st.refresh_pending = False
        return [CancelTimer(name=n) for n in names]

    def _post_proposals(self, st: RoundState) -> list[Action]:
        ballot = self._ballot_channels(st)
        acts: list[Action] = []
        for ch in st.channels:
            caps = self.ctx.capabilities(ch)
            acts.append(Post(channel=ch, ref=st.proposal_ref(ch), text=self._proposal_text(st, channel=ch),
                             choices=[] if ch in ballot else choices(),
                             choice_style="buttons" if ch in ballot else caps.choice_style(), notice=False))
        return acts

    def _send_ballots(self, st: RoundState) -> list[Action]:
        ballot = self._ballot_channels(st)
        if not ballot:
            return []
        # Members who can answer privately on a buttons channel of the round need no ballot.
        private_platforms = {
            self.ctx.channels[ch].platform for ch in st.channels if ch in self.ctx.channels and ch not in ballot
        }
        acts: list[Action] = []
        for m in self.tally(st).circle():
            platform = m.account.split(":", 1)[0]
            if platform in private_platforms:
                continue
            acts.append(DirectMessage(
                member=m.key, ref=st.ballot_ref(m.key),
                text=Msg("consent.ballot", **self._n(st), title_line=self._title_line(st, st.version), deadline=When(at=deadline_of(st))),
                choices=choices(), choice_style=self._dm_style(platform)))
        return acts

    def _remind(self, st: RoundState, now: datetime) -> list[Action]:
        missing = self.tally(st).missing()
        if not missing:
            return []
        acts: list[Action] = []
        by_dm: list[Member] = []
        if st.remind_via == "dm" or st.anonymous:
            by_dm = missing
        else:
            members = self.ctx.directory.channel_members
            placed: set[str] = set()
            for ch in st.channels:
                here = [m for m in missing if m.key in set(members.get(ch, ())) and m.key not in placed]
                if not here:
                    continue
                placed.update(m.key for m in here)
                acts.append(Post(channel=ch, thread=st.proposal_ref(ch), text=Msg("consent.remind.thread", who=Lines(items=[Mention(member=m.key, name=m.name) for m in here], sep=", "), **self._n(st), title=st.title, deadline=When(at=deadline_of(st)))))
            by_dm = [m for m in missing if m.key not in placed]
        for m in by_dm:
            acts.append(DirectMessage(member=m.key, text=Msg("consent.remind.dm", **self._n(st), title=st.title, deadline=When(at=deadline_of(st)), where=self.where(st))))
        return acts
