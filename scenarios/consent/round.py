"""The consent round as a library: state, answers, phases, closing and records.

`RoundMachine` holds the rules; `RoundState` is plain data (JSON round trip safe). The
`decision` ritual (`scenarios.consent.kind`) and the election's final step
(`scenarios.election`) both drive it, each with its own ref scope and timer prefix.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.kernel.commands import fold
from bot.kernel.i18n import Code, Duration, Lines, Mention, Msg, When
from bot.kernel.inputs import TEXT, too_long
from bot.kernel.localtime import shift, split_lead
from bot.kernel.model import (
    Action,
    CancelTimer,
    Choice,
    Chose,
    DirectMessage,
    Edit,
    Member,
    OpenForm,
    Post,
    PrivateNote,
    Record,
    Ref,
    Replied,
    ReplyHandle,
    SetTimer,
    TimerFired,
)
from bot.kernel.scenario import Context
from scenarios.consent.config import ConsentConfig

CHOICE_IDS: tuple[str, ...] = ("consent", "concern", "objection", "stand_aside")
EMOJIS: dict[str, str] = {"consent": "✅", "concern": "⚠️", "objection": "✋", "stand_aside": "🙊"}

Status = Literal[
    "new", "questions", "answers", "integrating", "adopted", "withdrawn", "lapsed", "cancelled"
]
OPEN: frozenset[str] = frozenset({"questions", "answers"})
OVER: frozenset[str] = frozenset({"adopted", "withdrawn", "lapsed", "cancelled"})

# Stale reminders (the bot was down) are skipped past this lateness: the deadline is what
# matters, and a burst of old reminders helps nobody.
REMINDER_GRACE = timedelta(hours=1)

_OBJECTION_PREFIX = re.compile(r"^\s*(objection|object|objecter|j'objecte)\b\s*[:,.\-–—]?\s*", re.IGNORECASE)


def choices() -> list[Choice]:
    """The four answers, in the order they are shown."""
    return [Choice(id=c, label=Msg(f"consent.choice.{c}"), emoji=EMOJIS[c]) for c in CHOICE_IDS]


def strip_objection(text: str) -> str:
    """ "objection : trop tôt" → "trop tôt"."""
    return _OBJECTION_PREFIX.sub("", text, count=1).strip()


def starts_with_objection(text: str) -> bool:
    return _OBJECTION_PREFIX.match(fold(text)) is not None and bool(strip_objection(text))


def percent(share: float) -> int:
    return round(share * 100)


LATE_CLOSE = timedelta(minutes=1)
"""A deadline handled later than this (downtime) is reported as closed late."""


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Answer(_Data):
    """A member's current answer. `name` is empty in an anonymous round: the key of the
    answers map is all that is kept, to prevent double answers and allow changes."""

    choice: str
    at: datetime
    channel: str
    via: str = "reaction"
    name: str = ""
    reason: str | None = None
    asked: bool = False
    """The bot already asked this member for the objection's reason (ask once)."""


class LateAnswer(_Data):
    """An answer that came after the deadline: not counted, but the record says so."""

    choice: str | None
    at: datetime
    name: str | None = None


class VersionRecord(_Data):
    """One past version of the proposal, as kept in the history."""

    version: int
    title: str
    opened_at: datetime
    deadline: datetime
    closed_at: datetime
    outcome: str
    counts: dict[str, int]
    objections: list[dict[str, str | None]] = Field(default_factory=list)


class RoundState(_Data):
    """A consent round: who, what, when, and the answers of the current version."""

    ref_scope: str | None = None
    """The refs' scope and number: none for a decision's round, ("candidate", n) for an election's."""
    ref_n: int | None = None
    timer_prefix: str = "consent"
    subject: str = "proposal"
    """"proposal" for a decision, "election" when the election proposes a person."""
    number: int = 0
    title: str = ""
    description: str = ""
    """What is proposed and why, when given (the proposal form's text); member content."""
    headline: Msg | None = None
    """Replaces the standard title line (the election's "X as delegate")."""
    subject_data: dict[str, str] = Field(default_factory=dict)
    author: str = ""
    author_name: str = ""
    channels: list[str] = Field(default_factory=list)
    group: str | None = None
    anonymous: bool = False
    quorum: float | None = None
    remind_via: Literal["mention", "dm"] = "mention"
    reminders: list[timedelta] = Field(default_factory=list)
    refresh: timedelta = timedelta(minutes=1)
    integration: timedelta = timedelta(days=14)
    status: Status = "new"
    version: int = 1
    started_at: datetime | None = None
    opened_at: datetime | None = None
    questions_until: datetime | None = None
    deadline: datetime | None = None
    answers: dict[str, Answer] = Field(default_factory=dict)
    late: list[LateAnswer] = Field(default_factory=list)
    questions: int = 0
    refresh_pending: bool = False
    ballots: list[str] = Field(default_factory=list)
    """Members sent a private ballot (anonymous round on channels whose answers are public)."""
    history: list[VersionRecord] = Field(default_factory=list)
    outcome: str | None = None
    closed_at: datetime | None = None
    closed_late_by: timedelta | None = None

    def fork(self) -> RoundState:
        """A copy safe to change: the containers this module mutates are copied, their items
        (replaced, never modified in place) are shared. A deep copy per answer cost O(circle)
        model copies; this costs a few dict and list copies."""
        return self.model_copy(update={
            "answers": dict(self.answers), "late": list(self.late), "ballots": list(self.ballots),
            "history": list(self.history), "channels": list(self.channels),
            "reminders": list(self.reminders), "subject_data": dict(self.subject_data),
        })

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def is_over(self) -> bool:
        return self.status in OVER

    @model_validator(mode="before")
    @classmethod
    def _scope_of_prefix(cls, data: Any) -> Any:
        # States saved before refs were typed name the round "proposal" or "candidate<n>".
        if isinstance(data, dict) and (m := re.fullmatch(r"([a-z]+)([0-9]+)", str(data.get("ref_prefix")))):
            data = {**data, "ref_scope": m[1], "ref_n": int(m[2])}
        return {k: v for k, v in data.items() if k != "ref_prefix"} if isinstance(data, dict) else data

    def proposal_ref(self, channel: str, version: int | None = None) -> Ref:
        return Ref(role="proposal", scope=self.ref_scope, n=self.ref_n, version=version or self.version, channel=channel)

    def ballot_ref(self, member: str, version: int | None = None, role: str = "ballot") -> Ref:
        return Ref(role=role, scope=self.ref_scope, n=self.ref_n, version=version or self.version, member=member)

    def version_of(self, ref: Ref) -> int | None:
        """The version one of this round's messages belongs to; None for any other message."""
        return ref.version if (ref.scope, ref.n) == (self.ref_scope, self.ref_n) else None

    def timer(self, name: str, n: int | None = None) -> Ref:
        return Ref(scope=self.timer_prefix, role=name, n=n)

    def owns_timer(self, name: Ref) -> bool:
        return name.scope == self.timer_prefix

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(CHOICE_IDS, 0)
        for a in self.answers.values():
            out[a.choice] = out.get(a.choice, 0) + 1
        return out

    def objections(self) -> list[dict[str, str | None]]:
        return [
            {"by": (a.name or None) if not self.anonymous else None, "reason": a.reason}
            for _, a in sorted(self.answers.items())
            if a.choice == "objection"
        ]


class RoundMachine:
    """The rules of a consent round, bound to a context and its settings. Every method takes
    a state and returns a new one (the input is never changed) with the actions to take."""

    def __init__(self, ctx: Context, cfg: ConsentConfig) -> None:
        self.ctx = ctx
        self.cfg = cfg

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
    ) -> RoundState:
        """A round ready to `open`. Without an explicit questions deadline, the config's
        questions phase applies, capped at a third of the round."""
        if questions_until is None and self.cfg.questions:
            # The configured phase, but never more than a third of a short round: answers
            # need most of the time.
            questions_until = now + min(self.cfg.questions, (deadline - now) / 3)
        if questions_until is not None and not now < questions_until < deadline:
            questions_until = None
        return RoundState(
            description=description.strip(),
            ref_scope=ref_scope,
            ref_n=ref_n,
            timer_prefix=timer_prefix,
            subject=subject,
            number=self.ctx.number,
            title=title,
            headline=headline,
            subject_data=dict(subject_data or {}),
            author=author.key,
            author_name=author.name,
            channels=list(dict.fromkeys(channels)),
            group=group if group is not None else self.cfg.group,
            anonymous=self.cfg.anonymous if anonymous is None else anonymous,
            quorum=quorum if quorum is not None else self.cfg.quorum,
            remind_via=self.cfg.remind_via,
            reminders=list(self.cfg.reminders),
            refresh=self.cfg.refresh,
            integration=self.cfg.integration,
            started_at=now,
            opened_at=now,
            questions_until=questions_until,
            deadline=deadline,
        )

    def open(self, state: RoundState, now: datetime) -> tuple[RoundState, list[Action]]:
        st = state.fork()
        st.status = "questions" if st.questions_until else "answers"
        acts: list[Action] = []
        acts += self._post_proposals(st)
        acts += self._send_ballots(st)
        acts += self._schedule(st, now)
        return st, acts

    # --- who counts -------------------------------------------------------

    def circle(self, st: RoundState) -> list[Member]:
        return self.ctx.directory.circle(st.channels, st.group)

    def circle_keys(self, st: RoundState) -> set[str]:
        return {m.key for m in self.circle(st)}

    def _name(self, st: RoundState, member: Member) -> str:
        return "" if st.anonymous else member.name

    # --- inbound ----------------------------------------------------------

    def on_chose(self, state: RoundState, ev: Chose, now: datetime) -> tuple[RoundState, list[Action]]:
        version = state.version_of(ev.ref)
        if version is None:
            return state, []
        st = state.fork()
        member = ev.member
        if version != st.version:
            if ev.choice is None:
                return state, []
            return st, [self._note(member, ev.channel, Msg("consent.answer.replaced", **self._n(st), version=st.version))]
        if not st.is_open:
            if ev.choice is None:
                return state, []
            return st, [self._note(member, ev.channel, Msg("consent.answer.closed", **self._n(st)))]
        if st.deadline is not None and now >= st.deadline:
            return self._late(st, member, ev.choice, ev.channel, now)
        if member.key not in st.answers and member.key not in self.circle_keys(st):
            if ev.choice is None:
                return state, []
            return st, [self._not_in_circle(st, member, ev.channel)]
        if ev.choice is None:
            current = st.answers.get(member.key)
            # The engine names the removed reaction's choice: removing ✅ after switching to
            # ✋ leaves the objection standing.
            withdrawn = ev.withdrawn
            if current is None or (withdrawn and withdrawn != current.choice):
                # A reaction removed that is no longer the member's answer: nothing changes.
                return state, []
            del st.answers[member.key]
            return st, self._touch(st, now)
        if ev.choice not in CHOICE_IDS:
            return state, []
        long = too_long(ev.values.get("reason") or "", TEXT)
        if long is not None:
            return state, [self._note(member, ev.channel, long, ev.reply_to)]
        return self._answer(st, member, ev.choice, ev.channel, ev.via, ev.values.get("reason"), now)

    def on_objection(
        self, state: RoundState, member: Member, reason: str | None, channel: str, now: datetime,
        reply_to: ReplyHandle | None = None,
    ) -> tuple[RoundState, list[Action]]:
        """`objection <raison>` typed as a command (or a thread reply starting with it)."""
        st = state.fork()
        if not st.is_open:
            return st, [self._note(member, channel, Msg("consent.answer.closed", **self._n(st)), reply_to)]
        if st.deadline is not None and now >= st.deadline:
            return self._late(st, member, "objection", channel, now)
        if member.key not in st.answers and member.key not in self.circle_keys(st):
            return st, [self._not_in_circle(st, member, channel)]
        return self._answer(st, member, "objection", channel, "text", reason or None, now)

    def on_reply(self, state: RoundState, ev: Replied, now: datetime) -> tuple[RoundState, list[Action]]:
        """A thread reply or a DM answer: an objection's reason, or a clarifying question."""
        version = state.version_of(ev.ref)
        if version is None:
            return state, []
        st = state.fork()
        current = st.answers.get(ev.member.key)
        objecting = current is not None and current.choice == "objection" and not current.reason
        if version == st.version and st.is_open and (objecting or starts_with_objection(ev.text)):
            # A reason is kept and published: past its limit the member is told, nothing kept.
            long = too_long(ev.text.strip(), TEXT)
            if long is not None:
                return state, [self._note(ev.member, ev.channel, long)]
        if version == st.version and st.is_open and current is not None \
                and current.choice == "objection" and not current.reason:
            if st.deadline is not None and now >= st.deadline:
                return self._late(st, ev.member, "objection", ev.channel, now)
            reason = strip_objection(ev.text) or ev.text.strip()
            st.answers[ev.member.key] = current.model_copy(update={"reason": reason})
            return st, [self._note(ev.member, ev.channel, Msg("consent.objection.recorded", **self._n(st), reason=reason))]
        if version == st.version and st.is_open and starts_with_objection(ev.text):
            return self.on_objection(st, ev.member, strip_objection(ev.text), ev.channel, now)
        st.questions += 1
        return st, []

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
            self._archive(st, "amended", now)
        for ch in st.channels:
            if self._edits(ch):
                acts.append(Edit(channel=ch, ref=st.proposal_ref(ch, old), text=self._proposal_text(st, version=old, phase=Msg("consent.proposal.phase_replaced", version=old + 1)), choices=[]))
        if deadline is None:
            floor = now + self.cfg.duration
            deadline = st.deadline if st.deadline is not None and st.deadline > floor else floor
        st.version = old + 1
        if title:
            st.title = title
        st.answers = {}
        st.late = []
        st.ballots = []
        st.questions = 0
        st.opened_at = now
        st.questions_until = None
        st.deadline = deadline
        st.outcome = None
        st.closed_at = None
        st.closed_late_by = None
        st.status = "answers"
        st.refresh_pending = False
        for ch in st.channels:
            acts.append(Post(channel=ch, thread=st.proposal_ref(ch, old), text=Msg("consent.amend.pointer", **self._n(st), version=st.version, deadline=When(at=deadline))))
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
            self._archive(st, "withdrawn", now)
        st.status = "withdrawn"
        st.closed_at = now
        phase = Msg("consent.proposal.phase_withdrawn")
        for ch in st.channels:
            if self._edits(ch):
                acts.append(Edit(channel=ch, ref=st.proposal_ref(ch), text=self._proposal_text(st, phase=phase), choices=[]))
            acts.append(Post(channel=ch, text=Msg("consent.withdraw.posted", **self._n(st), title=st.title, author=self._mention_author(st))))
        if record:
            acts.append(self._record(st, "withdrawn", now))
        return st, acts

    def cancel(self, state: RoundState, now: datetime, phase: Msg) -> tuple[RoundState, list[Action]]:
        """Stop the round without an outcome of its own (the election's proposed person
        declined, or another person is proposed): edits the messages, cancels timers."""
        st = state.fork()
        acts: list[Action] = self._cancel_all(st)
        if st.is_open:
            self._archive(st, "cancelled", now)
        st.status = "cancelled"
        st.closed_at = now
        for ch in st.channels:
            if self._edits(ch):
                acts.append(Edit(channel=ch, ref=st.proposal_ref(ch), text=self._proposal_text(st, phase=phase), choices=[]))
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
                    acts.append(Post(channel=ch, thread=st.proposal_ref(ch), text=Msg("consent.phase.answers_open", **self._n(st), deadline=When(at=_deadline(st)))))
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
            acts = [Post(channel=ch, text=Msg("consent.outcome.lapsed", **self._n(st), title=st.title, duration=Duration(seconds=st.integration.total_seconds()))) for ch in st.channels]
            acts.append(self._record(st, "lapsed", now))
            return st, acts
        return state, []

    def close(self, state: RoundState, now: datetime, late_by: timedelta = timedelta(0)) -> tuple[RoundState, list[Action]]:
        """The deadline: adopted, objections to integrate, or not enough participation."""
        st = state.fork()
        circle = self.circle_keys(st) | set(st.answers)
        answered = len(st.answers)
        counts = st.counts()
        if st.quorum is not None and (not circle or answered / len(circle) < st.quorum):
            outcome = "no_quorum"
        elif counts["objection"]:
            outcome = "objections"
        else:
            outcome = "adopted"
        closed_at = st.deadline or now
        st.outcome = outcome
        st.closed_at = closed_at
        # An alarm always rings a little late; only a real outage is worth saying.
        st.closed_late_by = late_by if late_by > LATE_CLOSE else None
        acts: list[Action] = self._cancel_all(st, keep_lapse=True)
        record = self._record(st, outcome, now, circle_size=len(circle))
        self._archive(st, outcome, closed_at)
        st.status = "adopted" if outcome == "adopted" else "integrating"
        summary = self._outcome_msg(st, outcome, counts, answered, len(circle))
        for ch in st.channels:
            if self._edits(ch):
                acts.append(Edit(channel=ch, ref=st.proposal_ref(ch), text=self._proposal_text(st, phase=Msg("consent.proposal.phase_closed", outcome=Msg(f"consent.outcome.word_{outcome}"))), choices=[]))
            acts.append(Post(channel=ch, text=summary))
        acts.append(record)
        if outcome != "adopted":
            acts.append(SetTimer(name=st.timer("lapse"), due_at=now + st.integration, payload={"version": st.version}))
        if st.anonymous:
            # Who answered was kept only to prevent double answers: the round is over.
            st.answers = {f"#{i}": a for i, a in enumerate(st.answers.values(), 1)}
        return st, acts

    # --- helpers ----------------------------------------------------------

    def _answer(
        self, st: RoundState, member: Member, choice: str, channel: str, via: str,
        reason: str | None, now: datetime,
    ) -> tuple[RoundState, list[Action]]:
        previous = st.answers.get(member.key)
        if choice == "objection" and not reason and previous is not None and previous.choice == "objection":
            reason = previous.reason
        asked = previous.asked if previous is not None and previous.choice == "objection" else False
        answer = Answer(choice=choice, at=now, channel=channel, via=via, name=self._name(st, member), reason=reason or None, asked=asked)
        acts: list[Action] = []
        if choice == "objection" and not answer.reason and not answer.asked:
            answer = answer.model_copy(update={"asked": True})
            acts += self._ask_reason(st, member, channel)
        elif choice == "objection" and answer.reason and via in ("text", "form"):
            acts.append(self._note(member, channel, Msg("consent.objection.recorded", **self._n(st), reason=answer.reason)))
        elif choice == "objection" and via == "text":
            # Typed again without a reason, after the bot already asked for one: the command
            # still gets its answer, which says how to give the reason.
            acts.append(self._note(member, channel, Msg("consent.objection.without_reason", **self._n(st))))
        elif via in ("button", "poll", "form"):
            acts.append(self._note(member, channel, Msg("consent.answer.ack", **self._n(st), choice=Msg(f"consent.choice.{choice}"), deadline=When(at=_deadline(st)))))
        st.answers[member.key] = answer
        acts += self._touch(st, now)
        return st, acts

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

    def _late(self, st: RoundState, member: Member, choice: str | None, channel: str, now: datetime) -> tuple[RoundState, list[Action]]:
        """An answer after the deadline, before the round was closed (the bot was down, or
        the deadline timer has not run yet): not counted, recorded as late; the round closes."""
        acts: list[Action] = []
        if choice is not None:
            st.late.append(LateAnswer(choice=choice, at=now, name=None if st.anonymous else member.name))
            acts.append(self._note(member, channel, Msg("consent.answer.late", **self._n(st), deadline=When(at=_deadline(st)))))
        late_by = now - st.deadline if st.deadline else timedelta(0)
        st2, closing = self.close(st, now, late_by=late_by)
        return st2, acts + closing

    def _not_in_circle(self, st: RoundState, member: Member, channel: str) -> PrivateNote:
        if st.group:
            return self._note(member, channel, Msg("consent.answer.not_in_group", **self._n(st), group=st.group))
        return self._note(member, channel, Msg("consent.answer.not_in_circle", **self._n(st)))

    def _note(self, member: Member, channel: str, text: Msg, reply_to: ReplyHandle | None = None) -> PrivateNote:
        return PrivateNote(member=member.key, channel=channel, text=text, reply_to=reply_to)

    def _edits(self, channel: str) -> bool:
        return self.ctx.capabilities(channel).edits

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

    def _n(self, st: RoundState) -> dict[str, Any]:
        """The round's number, and how messages name it ("la décision #3", "l'élection #2")."""
        what = "election" if st.subject == "election" else "decision"
        return {
            "number": st.number,
            "what": Msg(f"consent.what.{what}", number=st.number),
            "what_cap": Msg(f"consent.what.{what}_cap", number=st.number),
        }

    def _mention_author(self, st: RoundState) -> Mention:
        return Mention(member=st.author, name=st.author_name)

    def _title_line(self, st: RoundState, version: int) -> Msg:
        if st.headline is not None:
            key = "consent.proposal.headline_election" if st.subject == "election" else "consent.proposal.headline"
            return Msg(key, headline=st.headline, **self._n(st), version=version)
        return Msg("consent.proposal.title", title=st.title, **self._n(st), version=version)

    def _phase(self, st: RoundState) -> Msg:
        if st.status == "questions" and st.questions_until is not None:
            return Msg("consent.proposal.phase_questions", questions_until=When(at=st.questions_until), deadline=When(at=_deadline(st)))
        return Msg("consent.proposal.phase_answers", deadline=When(at=_deadline(st)))

    def _proposal_text(self, st: RoundState, version: int | None = None, phase: Msg | None = None, channel: str | None = None) -> Msg:
        v = version or st.version
        lines: list[Msg] = [self._title_line(st, v), Msg("consent.proposal.by", author=self._mention_author(st))]
        if st.description:
            lines.append(Msg("consent.proposal.description", text=st.description))
        if v > 1:
            lines.append(Msg("consent.proposal.amended", previous=v - 1))
        lines.append(phase or self._phase(st))
        if phase is None:
            if channel is not None and channel in self._ballot_channels(st):
                lines.append(Msg("consent.proposal.how_ballot"))
            else:
                lines.append(Msg("consent.proposal.how"))
            if st.group:
                lines.append(Msg("consent.proposal.circle_group", group=st.group))
            if st.quorum is not None:
                lines.append(Msg("consent.proposal.quorum", percent=percent(st.quorum)))
            if st.anonymous:
                lines.append(Msg("consent.proposal.anonymous"))
        if v == st.version and st.answers:
            c = st.counts()
            lines.append(Msg("consent.proposal.counts", consent=c["consent"], concern=c["concern"], objection=c["objection"], stand_aside=c["stand_aside"], answered=len(st.answers), circle=len(self.circle_keys(st) | set(st.answers))))
        return Msg("consent.proposal.body", lines=Lines(items=list(lines)))

    def _ballot_channels(self, st: RoundState) -> set[str]:
        """In an anonymous round, channels whose answers others would see (reactions, polls)."""
        if not st.anonymous:
            return set()
        return {ch for ch in st.channels if not self.ctx.capabilities(ch).buttons}

    def _post_proposals(self, st: RoundState) -> list[Action]:
        ballot = self._ballot_channels(st)
        acts: list[Action] = []
        for ch in st.channels:
            caps = self.ctx.capabilities(ch)
            acts.append(
                Post(
                    channel=ch,
                    ref=st.proposal_ref(ch),
                    text=self._proposal_text(st, channel=ch),
                    choices=[] if ch in ballot else choices(),
                    choice_style="buttons" if ch in ballot else caps.choice_style(),
                    notice=False,
                )
            )
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
        for m in self.circle(st):
            platform = m.account.split(":", 1)[0]
            if platform in private_platforms:
                continue
            st.ballots.append(m.key)
            acts.append(
                DirectMessage(
                    member=m.key,
                    ref=st.ballot_ref(m.key),
                    text=Msg("consent.ballot", **self._n(st), title_line=self._title_line(st, st.version), deadline=When(at=_deadline(st))),
                    choices=choices(),
                    choice_style=self._dm_style(platform),
                )
            )
        return acts

    def _dm_style(self, platform: str) -> str:
        for info in self.ctx.channels.values():
            if info.platform == platform:
                return info.capabilities.choice_style()
        return "reactions"

    def _remind(self, st: RoundState, now: datetime) -> list[Action]:
        missing = [m for m in self.circle(st) if m.key not in st.answers]
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
                acts.append(Post(channel=ch, thread=st.proposal_ref(ch), text=Msg("consent.remind.thread", who=Lines(items=[Mention(member=m.key, name=m.name) for m in here], sep=", "), **self._n(st), title=st.title, deadline=When(at=_deadline(st)))))
            by_dm = [m for m in missing if m.key not in placed]
        for m in by_dm:
            acts.append(DirectMessage(member=m.key, text=Msg("consent.remind.dm", **self._n(st), title=st.title, deadline=When(at=_deadline(st)), where=self.where(st))))
        return acts

    def where(self, st: RoundState) -> Lines:
        names = [self.ctx.channels[ch].name if ch in self.ctx.channels else ch for ch in st.channels]
        return Lines(items=[Code(text=n) for n in names], sep=", ")

    def _archive(self, st: RoundState, outcome: str, closed_at: datetime) -> None:
        if st.history and st.history[-1].version == st.version:
            st.history[-1] = st.history[-1].model_copy(update={"outcome": outcome, "closed_at": closed_at})
            return
        st.history.append(
            VersionRecord(
                version=st.version,
                title=st.title,
                opened_at=st.opened_at or closed_at,
                deadline=st.deadline or closed_at,
                closed_at=closed_at,
                outcome=outcome,
                counts=st.counts(),
                objections=st.objections(),
            )
        )

    def _outcome_msg(self, st: RoundState, outcome: str, counts: dict[str, int], answered: int, circle: int) -> Msg:
        count_line = Msg("consent.outcome.counts", consent=counts["consent"], concern=counts["concern"], objection=counts["objection"], stand_aside=counts["stand_aside"], answered=answered, circle=circle)
        title_line = self._title_line(st, st.version)
        parts: list[Msg] = []
        if outcome == "adopted":
            parts.append(Msg("consent.outcome.adopted", title_line=title_line))
        elif outcome == "objections":
            parts.append(Msg("consent.outcome.objections", title_line=title_line, objections=self._objection_lines(st), author=self._mention_author(st)))
        else:
            parts.append(Msg("consent.outcome.no_quorum", title_line=title_line, answered=answered, circle=circle, percent=percent(st.quorum or 0), author=self._mention_author(st)))
        parts.append(count_line)
        if not st.anonymous:
            names = self._names(st)
            for choice in CHOICE_IDS:
                if names[choice]:
                    parts.append(Msg(f"consent.outcome.names_{choice}", names=Lines(items=list(names[choice]), sep=", ")))
        if st.late:
            parts.append(Msg("consent.outcome.late", count=len(st.late)))
        if st.closed_late_by:
            parts.append(Msg("consent.outcome.closed_late", deadline=When(at=st.closed_at or _deadline(st))))
        return Msg("consent.outcome.body", lines=Lines(items=list(parts)))

    def _objection_lines(self, st: RoundState) -> Lines:
        items: list[Msg] = []
        for o in st.objections():
            reason: Msg | str = o["reason"] if o["reason"] else Msg("consent.objection.no_reason")
            if o["by"]:
                items.append(Msg("consent.outcome.objection_line", who=o["by"], reason=reason))
            else:
                items.append(Msg("consent.outcome.objection_line_anonymous", reason=reason))
        return Lines(items=list(items))

    def _names(self, st: RoundState) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {c: [] for c in CHOICE_IDS}
        for a in sorted(st.answers.values(), key=lambda a: fold(a.name)):
            out[a.choice].append(a.name)
        return out

    def _record(self, st: RoundState, outcome: str, now: datetime, circle_size: int | None = None) -> Record:
        """The log entry: JSON-ready (ISO instants), names only when not anonymous."""
        counts = st.counts()
        history = [v.model_dump(mode="json") for v in st.history]
        current = {
            "version": st.version,
            "title": st.title,
            "opened_at": _iso(st.opened_at),
            "deadline": _iso(st.deadline),
            "closed_at": _iso(st.closed_at or now),
            "outcome": outcome,
            "counts": counts,
            "objections": st.objections(),
        }
        if not history or history[-1]["version"] != st.version:
            history.append(current)
        summary: dict[str, Any] = {
            "subject": st.subject,
            "number": st.number,
            "title": st.title,
            "version": st.version,
            "outcome": outcome,
            "author": st.author_name,
            "channels": list(st.channels),
            "group": st.group,
            "started_at": _iso(st.started_at),
            "opened_at": _iso(st.opened_at),
            "deadline": _iso(st.deadline),
            "closed_at": _iso(st.closed_at or now),
            "recorded_at": _iso(now),
            "anonymous": st.anonymous,
            "quorum": st.quorum,
            "circle_size": circle_size if circle_size is not None else len(self.circle_keys(st) | set(st.answers)),
            "answered": len(st.answers),
            "counts": counts,
            "objections": st.objections(),
            "questions": st.questions,
            "history": history,
        }
        if st.subject_data:
            summary.update(st.subject_data)
        if not st.anonymous:
            summary["names"] = self._names(st)
        if st.late:
            summary["late_answers"] = {
                "count": len(st.late),
                "note": "received after the deadline, not counted",
                **({} if st.anonymous else {"names": [a.name for a in st.late if a.name]}),
            }
        if st.closed_late_by:
            summary["closed_late_by_seconds"] = int(st.closed_late_by.total_seconds())
            summary["closed_note"] = "deadline passed while the bot was down; closed on restart with the answers received before the deadline"
        return Record(kind="decision", summary=summary)


def _deadline(st: RoundState) -> datetime:
    if st.deadline is None:
        raise ValueError("a round without a deadline was not opened")
    return st.deadline


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
