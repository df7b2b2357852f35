"""The consent round as a library: its rules (answers, phases, the author's moves, time).

`RoundMachine` holds the rules; `RoundState` (`scenarios.consent.state`) is plain data with
counts, never who answered what: each answer is a row (`RecordAnswer`), and the machine reads
the member's own from `Context.answers` on their events, everyone's on the rare events that
need them (`answers_needed`). The `decision` ritual (`scenarios.consent.kind`) and the
election's final step (`scenarios.election`) both drive it, each with its own ref scope and
timer prefix. How answers are taken is in `scenarios.consent.answering`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.kernel.answers import Need
from bot.kernel.i18n import Duration, Msg, When
from bot.kernel.model import (
    Action,
    AnonymizeAnswers,
    CancelTimer,
    Chose,
    Command,
    Edit,
    Event,
    Member,
    Post,
    Record,
    Replied,
    ReplyHandle,
    SetTimer,
    TimerFired,
)
from scenarios.consent.answering import RoundAnswers
from scenarios.consent.commands import OBJECTION
from scenarios.consent.record import archive, record
from scenarios.consent.state import (
    CHOICE_IDS,
    EMOJIS,
    LATE,
    OPEN,
    OVER,
    TOPIC,
    RoundState,
    VersionRecord,
    choices,
    no_counts,
)
from scenarios.consent.texts import deadline_of

__all__ = ["CHOICE_IDS", "EMOJIS", "OPEN", "OVER", "RoundMachine", "RoundState", "VersionRecord", "answers_needed",
           "choices"]

# Stale reminders (the bot was down) are skipped past this lateness: the deadline is what
# matters, and a burst of old reminders helps nobody.
REMINDER_GRACE = timedelta(hours=1)

LATE_CLOSE = timedelta(minutes=1)
"""A deadline handled later than this (downtime) is reported as closed late."""


def answers_needed(st: RoundState, event: Event, now: datetime) -> Need:
    """What the round reads for an event: the member's own answer when they answer (or ask
    a question); everyone's when the event may close the round (past the deadline), on its
    timers (the live count, reminders, the deadline), and on the author's or an animateur's
    commands (amend, withdraw: they archive and record)."""
    if isinstance(event, TimerFired):
        return "all"
    if isinstance(event, Chose | Replied | Command):
        if st.is_open and st.deadline is not None and now >= st.deadline:
            return "all"  # this answer comes late: it closes the round
        if isinstance(event, Command) and event.name != OBJECTION.name:
            return "all"
        return "member"
    return "all"


class RoundMachine(RoundAnswers):
    """The rules of a consent round, bound to a context and its settings. Every method takes
    a state and returns a new one (the input is never changed) with the actions to take."""

    # --- setup ------------------------------------------------------------

    def new_state(
        self,
        *,
        title: str,
        author: Member,
        channels: list[str],
        deadline: datetime,
        now: datetime,
        questions_until: datetime | None = None,
        quorum: float | None = None,
        anonymous: bool | None = None,
        group: str | None = None,
        ref_scope: str | None = None,
        ref_n: int | None = None,
        timer_prefix: str = "consent",
        subject: str = "proposal",
        headline: Msg | None = None,
        subject_data: dict[str, str] | None = None,
        description: str = "",
        spared: tuple[str, ...] = (),
        adopted: Msg | None = None,
    ) -> RoundState:
        """A round ready to `open`. Without an explicit questions deadline, the config's
        questions phase applies, capped at a third of the round. `spared`: members never
        reminded besides the author (an election's nominee); `adopted`: what the outcome says
        when adopted (the election's "X is elected")."""
        if questions_until is None and self.cfg.questions:
            # The configured phase, but never more than a third of a short round: answers
            # need most of the time.
            questions_until = now + min(self.cfg.questions, (deadline - now) / 3)
        if questions_until is not None and not now < questions_until < deadline:
            questions_until = None
        return RoundState(
            description=description.strip(), ref_scope=ref_scope, ref_n=ref_n, timer_prefix=timer_prefix,
            subject=subject, number=self.ctx.number, title=title, headline=headline, adopted=adopted,
            subject_data=dict(subject_data or {}), author=author.key, author_name=author.name,
            channels=list(dict.fromkeys(channels)), group=group if group is not None else self.cfg.group,
            anonymous=self.cfg.anonymous if anonymous is None else anonymous,
            quorum=quorum if quorum is not None else self.cfg.quorum, spared=list(spared),
            reminders=list(self.cfg.reminders), refresh=self.cfg.refresh, integration=self.cfg.integration,
            started_at=now, opened_at=now, questions_until=questions_until, deadline=deadline,
        )

    def open(self, state: RoundState, now: datetime) -> tuple[RoundState, list[Action]]:
        st = state.fork()
        st.status = "questions" if st.questions_until else "answers"
        acts: list[Action] = []
        acts += self._post_proposals(st)
        acts += self._send_ballots(st)
        acts += self._schedule(st, now)
        return st, acts

    def synced(self, state: RoundState) -> RoundState:
        """The state with its counts read again from the rows, when everyone's answers are at
        hand: the live count follows each answer, the rows are the truth (a merge of two
        people's accounts, for one, leaves one answer where two were counted)."""
        if not self.ctx.answers.complete or state.status == "new":
            return state
        tally = self.tally(state)
        counts, late = tally.counts(), len(tally.late())
        if counts == state.counts and late == state.late:
            return state
        return state.model_copy(update={"counts": counts, "late": late})

    # --- the author's moves -------------------------------------------------

    def on_amend(
        self, state: RoundState, member: Member, title: str | None, deadline: datetime | None,
        channel: str, now: datetime, reply_to: ReplyHandle | None = None,
    ) -> tuple[RoundState, list[Action]]:
        """A new version: the answers reset, the old messages point to the new ones."""
        if member.key != state.author:
            return state, [self._note(member, channel, Msg("consent.amend.not_author", **self._n(state), author=state.author_name), reply_to)]
        if state.status not in OPEN | {"integrating"}:
            return state, [self._note(member, channel, Msg("consent.answer.closed", **self._n(state)), reply_to)]
        st = state.fork()
        acts: list[Action] = []
        old = st.version
        if st.is_open:
            archive(st, "amended", now)
        for ch in st.channels:
            if self._edits(ch):
                acts.append(Edit(channel=ch, ref=st.proposal_ref(ch, old), text=self._proposal_text(st, version=old, phase=Msg("consent.proposal.phase_over"), top=Msg("consent.proposal.top_replaced", version=old + 1)), choices=[]))
        if deadline is None:
            floor = now + self.cfg.duration
            deadline = st.deadline if st.deadline is not None and st.deadline > floor else floor
        st.version = old + 1
        if title:
            st.title = title
        st.counts = no_counts()
        st.late = 0
        st.circle = None
        st.questions = 0
        st.opened_at = now
        st.questions_until = None
        st.deadline = deadline
        st.outcome = None
        st.closed_at = None
        st.closed_late_by = None
        st.status = "answers"
        st.refresh_pending = False
        if st.reminded:
            st.reminded_earlier = old
        st.reminded = False
        # The new version is a new post: its reactions start from zero where everyone sees
        # them, which is how people notice the reset. The old post, edited above, points to
        # it; only a channel that cannot edit gets the pointer as a reply in the old thread.
        for ch in st.channels:
            if not self._edits(ch):
                acts.append(Post(channel=ch, thread=st.thread_ref(ch, old), text=Msg("consent.amend.pointer", **self._n(st), version=st.version, deadline=When(at=deadline))))
        acts += self._post_proposals(st)
        acts += self._send_ballots(st)
        acts += [CancelTimer(name=st.timer("lapse")), CancelTimer(name=st.timer("refresh"))]
        acts += self._schedule(st, now)
        return st, acts

    def on_withdraw(
        self, state: RoundState, member: Member, channel: str, now: datetime, reply_to: ReplyHandle | None = None,
        *, by_author_only: bool = True, record: bool = True,
    ) -> tuple[RoundState, list[Action]]:
        if by_author_only and member.key != state.author:
            return state, [self._note(member, channel, Msg("consent.withdraw.not_author", **self._n(state), author=state.author_name), reply_to)]
        if state.is_over:
            return state, [self._note(member, channel, Msg("consent.answer.closed", **self._n(state)), reply_to)]
        st = state.fork()
        was_open = st.is_open
        acts: list[Action] = self._cancel_all(st)
        if was_open:
            archive(st, "withdrawn", now)
        st.status = "withdrawn"
        st.closed_at = now
        phase = Msg("consent.proposal.phase_over")
        top = self._top(st, "withdrawn", now)
        # The proposal's post says it, at its top (an edit pings nobody); a channel that
        # cannot edit is told in the proposal's thread, never by a new channel post.
        for ch in st.channels:
            if self._edits(ch):
                acts.append(Edit(channel=ch, ref=st.proposal_ref(ch), text=self._proposal_text(st, phase=phase, top=top), choices=[]))
            else:
                acts.append(Post(channel=ch, thread=st.thread_ref(ch), text=Msg("consent.withdraw.posted", **self._n(st), title=st.title, author=self._mention_author(st))))
        if record:
            acts.append(self._record(st, "withdrawn", now))
        acts += self._forget_who(st)
        return st, acts

    def cancel(self, state: RoundState, now: datetime, phase: Msg) -> tuple[RoundState, list[Action]]:
        """Stop the round without an outcome of its own (the election's proposed person
        declined, or another person is proposed): edits the messages, cancels timers."""
        st = state.fork()
        acts: list[Action] = self._cancel_all(st)
        if st.is_open:
            archive(st, "cancelled", now)
        st.status = "cancelled"
        st.closed_at = now
        for ch in st.channels:
            if self._edits(ch):
                acts.append(Edit(channel=ch, ref=st.proposal_ref(ch), text=self._proposal_text(st, phase=phase), choices=[]))
        acts += self._forget_who(st)
        return st, acts

    # --- time -------------------------------------------------------------

    def on_timer(self, state: RoundState, ev: TimerFired, now: datetime) -> tuple[RoundState, list[Action]]:
        if not state.owns_timer(ev.name):
            return state, []
        version = ev.payload.get("version")
        if version is not None and version != state.version:
            return state, []  # a timer of a replaced version that was not cancelled in time
        name = ev.name.role
        st = state.fork()
        if name == "deadline":
            if not st.is_open:
                return state, []
            late_by = max(ev.late_by, now - st.deadline) if st.deadline else ev.late_by
            return self.close(st, now, late_by=late_by)
        if name == "questions":
            if st.status != "questions":
                return state, []
            st.status = "answers"
            acts: list[Action] = []
            for ch in st.channels:
                if self._edits(ch):
                    acts.append(Edit(channel=ch, ref=st.proposal_ref(ch), text=self._proposal_text(st)))
                if ev.late_by <= REMINDER_GRACE:
                    acts.append(Post(channel=ch, thread=st.thread_ref(ch), text=Msg("consent.phase.answers_open", **self._n(st), deadline=When(at=deadline_of(st)))))
            return st, acts
        if name == "remind":
            if not st.is_open or ev.late_by > REMINDER_GRACE:
                return state, []
            return st, self._remind(st, now)
        if name == "refresh":
            st.refresh_pending = False
            if not st.is_open:
                return st, []
            return st, [
                Edit(channel=ch, ref=st.proposal_ref(ch), text=self._proposal_text(st))
                for ch in st.channels
                if self._edits(ch)
            ]
        if name == "lapse":
            if st.status != "integrating":
                return state, []
            st.status = "lapsed"
            lapsed = Msg("consent.outcome.lapsed", **self._n(st), title=st.title, duration=Duration(seconds=st.integration.total_seconds()))
            acts = []
            for ch in st.channels:
                if self._edits(ch):
                    acts.append(Edit(channel=ch, ref=st.proposal_ref(ch), text=self._proposal_text(st, phase=Msg("consent.proposal.phase_detail"), top=self._top(st, "lapsed", now)), choices=[]))
                acts.append(Post(channel=ch, thread=st.thread_ref(ch), text=lapsed))
            acts.append(self._record(st, "lapsed", now))
            return st, acts
        return state, []

    def close(self, state: RoundState, now: datetime, late_by: timedelta = timedelta(0),
              late_members: tuple[str, ...] = ()) -> tuple[RoundState, list[Action]]:
        """The deadline: adopted, objections to integrate, or not enough participation."""
        st = state.fork()
        circle = self.tally(st).circle_size()
        answered = st.answered
        counts = dict(st.counts)
        if st.quorum is not None and (not circle or answered / circle < st.quorum):
            outcome = "no_quorum"
        elif counts["objection"]:
            outcome = "objections"
        else:
            outcome = "adopted"
        closed_at = st.deadline or now
        st.outcome = outcome
        st.closed_at = closed_at
        st.circle = circle
        # An alarm always rings a little late; only a real outage is worth saying.
        st.closed_late_by = late_by if late_by > LATE_CLOSE else None
        acts: list[Action] = self._cancel_all(st, keep_lapse=True)
        rec = record(self.tally(st), outcome, now, circle, late_members)
        archive(st, outcome, closed_at)
        st.status = "adopted" if outcome == "adopted" else "integrating"
        summary = self._outcome_msg(st, outcome, counts, answered, circle)
        # The outcome is not a new channel post: the proposal's post says it at its top (an
        # edit pings nobody) and its detail is a reply in the proposal's thread.
        top = self._top(st, outcome, closed_at)
        for ch in st.channels:
            if self._edits(ch):
                acts.append(Edit(channel=ch, ref=st.proposal_ref(ch), text=self._proposal_text(st, phase=Msg("consent.proposal.phase_detail"), top=top), choices=[]))
            acts.append(Post(channel=ch, thread=st.thread_ref(ch), text=summary))
        acts.append(rec)
        if outcome != "adopted":
            acts.append(SetTimer(name=st.timer("lapse"), due_at=now + st.integration, payload={"version": st.version}))
        acts += self._forget_who(st)
        return st, acts

    # --- helpers ----------------------------------------------------------

    def _record(self, st: RoundState, outcome: str, now: datetime) -> Record:
        circle = st.circle if st.circle is not None else self.tally(st).circle_size()
        return record(self.tally(st), outcome, now, circle)

    def _forget_who(self, st: RoundState) -> list[Action]:
        """In an anonymous round, who answered was kept only to prevent double answers: once
        the round is over, its answers no longer say who gave them."""
        if not st.anonymous:
            return []
        return [AnonymizeAnswers(topic=TOPIC), AnonymizeAnswers(topic=LATE)]
