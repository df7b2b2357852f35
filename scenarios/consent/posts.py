"""What a round sends besides its answers' acknowledgements: the proposals, private ballots,
the one private reminder to those who have not answered, the request for an objection's or a
réserve's reason; and the round's timers (deadline, questions phase, reminder, live count)."""

from __future__ import annotations

from datetime import datetime

from bot.kernel.i18n import Mention, Msg, When
from bot.kernel.localtime import shift, split_lead
from bot.kernel.model import Action, CancelTimer, DirectMessage, Member, OpenForm, Post, SetTimer
from scenarios.consent.state import RoundState, choices
from scenarios.consent.texts import RoundTexts, deadline_of


class RoundPosts(RoundTexts):
    """The round's outgoing messages and timers, bound to a context and its settings."""

    def _ask_reason(self, st: RoundState, member: Member, channel: str, choice: str = "objection") -> list[Action]:
        """Why: in the proposal's thread, or privately (an anonymous round, an answer given
        elsewhere). `choice`: "objection" (a reason is expected) or "concern" (welcome)."""
        acts: list[Action] = []
        words = "concern" if choice == "concern" else "objection"
        # An objection's reason is required: its author is mentioned (pinged) to give it. A
        # réserve's is only welcome, and the proposal says where to give it: named in words, no
        # interruption (issue 15).
        who: Mention | str = Mention(member=member.key, name=member.name) if words == "objection" else member.name
        private = st.anonymous or channel not in st.channels
        if private:
            acts.append(DirectMessage(member=member.key, ref=st.ballot_ref(member.key, role="ask"), text=Msg(f"consent.{words}.ask_dm", **self._n(st), title=st.title), expects_reply=True))
        else:
            acts.append(Post(channel=channel, thread=st.thread_ref(channel),
                             text=Msg(f"consent.{words}.ask", who=who, **self._n(st))))
        if words == "objection" and self.ctx.capabilities(channel).forms:
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
        # One private reminder per version, at the earliest lead still ahead: whole days on the
        # calendar, the rest in elapsed time (bot.kernel.localtime), the same instant whether the
        # deadline was just parsed or reloaded from the store.
        dues = [shift(st.deadline, self.ctx.network.tz, days=-d, seconds=-s)
                for d, s in (split_lead(lead) for lead in st.reminders)]
        ahead = [due for due in dues if due > now]
        first = min(ahead) if ahead else None
        chosen = dues.index(first) if first is not None else None
        for i, due in enumerate(dues):
            if i == chosen:
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
                             thread=st.thread_ref(ch) if st.thread is not None else None,
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
        """Those of the circle who have not answered, each by a private message, once per
        proposal; never the author, nor the person the round is about (an election's nominee).
        After an amendment, those who had answered are reminded (the new version reset their
        answer), not those who left a reminded version unanswered: they were told once.
        Nobody is ever named in public for not answering."""
        if st.reminded:
            return []  # a state stored when a version had several reminders
        st.reminded = True
        spared = {st.author, *st.spared}
        if st.reminded_earlier:
            answered = {a.member for a in self.tally(st).current(st.reminded_earlier)}
            spared |= {m.key for m in self.tally(st).circle() if m.key not in answered}
        return [DirectMessage(member=m.key, text=Msg("consent.remind.dm", **self._n(st), title=st.title,
                                       deadline=When(at=deadline_of(st)), where=self.where(st)))
                for m in self.tally(st).missing() if m.key not in spared]
