"""How a consent round takes its answers: reactions, clicks and polls, `objection`, thread and
private replies giving an objection's or a réserve's reason, late answers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timedelta

from bot.kernel.i18n import Msg, When
from bot.kernel.inputs import TEXT, too_long
from bot.kernel.model import (
    SHOWN_WHERE_GIVEN,
    Action,
    Chose,
    Member,
    RecordAnswer,
    Replied,
    ReplyHandle,
)
from scenarios.consent.posts import RoundPosts
from scenarios.consent.state import (
    CHOICE_IDS,
    LATE,
    TOPIC,
    RoundState,
    starts_with_objection,
    strip_objection,
)
from scenarios.consent.texts import deadline_of

REASON_KEYS: dict[str, str] = {"objection": "objection", "concern": "concern"}
"""The answers whose reason is asked, and the catalog section of their words."""


class RoundAnswers(RoundPosts, ABC):
    """The answers' side of the round's rules (`scenarios.consent.round.RoundMachine`)."""

    @abstractmethod
    def close(self, state: RoundState, now: datetime, late_by: timedelta = timedelta(0),
              late_members: tuple[str, ...] = ()) -> tuple[RoundState, list[Action]]:
        """Close the round: the round machine does it; an answer after the deadline asks for it."""

    def _answers_here(self, st: RoundState, member: Member) -> bool:
        """Whether the member may answer: in the circle, or already answered."""
        return self.tally(st).of(member.key) is not None or self.ctx.directory.in_circle(member.key, st.channels,
                                                                                         st.group)

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
        if not self._answers_here(st, member):
            if ev.choice is None:
                return state, []
            return st, [self._not_in_circle(st, member, ev.channel)]
        if ev.choice is None:
            current = self.tally(st).of(member.key)
            # The engine names the removed reaction's choice: removing ✅ after switching to
            # ✋ leaves the objection standing.
            withdrawn = ev.withdrawn
            if current is None or (withdrawn and withdrawn != current.value):
                # A reaction removed that is no longer the member's answer: nothing changes.
                return state, []
            self._count(st, current.value, -1)
            return st, [*self._touch(st, now), self._answer_row(st, member, None)]
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
        if not self._answers_here(st, member):
            return st, [self._not_in_circle(st, member, channel)]
        return self._answer(st, member, "objection", channel, "text", reason or None, now)

    def on_reply(self, state: RoundState, ev: Replied, now: datetime) -> tuple[RoundState, list[Action]]:
        """A thread reply or a DM answer: the reason of an objection (or of a réserve, when it
        was asked), or a clarifying question."""
        version = state.version_of(ev.ref)
        if version is None:
            return state, []
        st = state.fork()
        current = self.tally(st).of(ev.member.key) if version == st.version else None
        awaited = current is not None and not current.reason and (
            current.value == "objection" or (current.value == "concern" and bool(current.data.get("asked"))))
        if version == st.version and st.is_open and (awaited or starts_with_objection(ev.text)):
            # A reason is kept and published: past its limit the member is told, nothing kept.
            long = too_long(ev.text.strip(), TEXT)
            if long is not None:
                return state, [self._note(ev.member, ev.channel, long)]
        if version == st.version and st.is_open and current is not None and awaited:
            choice = current.value or "objection"
            if st.deadline is not None and now >= st.deadline:
                return self._late(st, ev.member, choice, ev.channel, now)
            reason = (strip_objection(ev.text) if choice == "objection" else "") or ev.text.strip()
            return st, [self._note(ev.member, ev.channel, Msg(f"consent.{REASON_KEYS[choice]}.recorded", **self._n(st), reason=reason)),
                        self._answer_row(st, ev.member, choice, reason, current.data)]
        if version == st.version and st.is_open and starts_with_objection(ev.text):
            return self.on_objection(st, ev.member, strip_objection(ev.text), ev.channel, now)
        st.questions += 1
        return st, []

    def _count(self, st: RoundState, choice: str | None, step: int) -> None:
        if choice in st.counts:
            st.counts[choice] = max(0, st.counts[choice] + step)

    def _answer_row(self, st: RoundState, member: Member, value: str | None, reason: str | None = None,
                    data: dict[str, object] | None = None) -> RecordAnswer:
        return RecordAnswer(member=member.key, topic=TOPIC, part=st.part, version=st.version, value=value,
                            reason=reason, data=dict(data or {}))

    def _answer(
        self, st: RoundState, member: Member, choice: str, channel: str, via: str,
        reason: str | None, now: datetime,
    ) -> tuple[RoundState, list[Action]]:
        previous = self.tally(st).of(member.key)
        same = previous is not None and previous.value == choice
        if choice in REASON_KEYS and not reason and previous is not None and same:
            reason = previous.reason
        asked = bool(previous.data.get("asked")) if previous is not None and same and choice in REASON_KEYS else False
        acts: list[Action] = []
        if choice in REASON_KEYS and not reason and not asked:
            # Why: required for an objection, welcome for a réserve (the outcome lists both).
            asked = True
            acts += self._ask_reason(st, member, channel, choice)
        elif choice == "objection" and reason and via in ("text", "form"):
            acts.append(self._note(member, channel, Msg("consent.objection.recorded", **self._n(st), reason=reason)))
        elif choice == "objection" and via == "text":
            # Typed again without a reason, after the bot already asked for one: the command
            # still gets its answer, which says how to give the reason.
            acts.append(self._note(member, channel, Msg("consent.objection.without_reason", **self._n(st))))
        elif via not in SHOWN_WHERE_GIVEN:
            acts.append(self._note(member, channel, Msg("consent.answer.ack", **self._n(st), choice=Msg(f"consent.choice.{choice}"), deadline=When(at=deadline_of(st)))))
        if previous is not None:
            self._count(st, previous.value, -1)
        self._count(st, choice, +1)
        acts += self._touch(st, now)
        # Last, so that the messages keep the places (and idempotency keys) they always had.
        acts.append(self._answer_row(st, member, choice, reason or None, {"asked": True} if asked else None))
        return st, acts

    def _late(self, st: RoundState, member: Member, choice: str | None, channel: str, now: datetime) -> tuple[RoundState, list[Action]]:
        """An answer after the deadline, before the round was closed (the bot was down, or
        the deadline timer has not run yet): not counted, recorded as late; the round closes."""
        acts: list[Action] = []
        late: tuple[str, ...] = ()
        if choice is not None:
            st.late += 1
            late = (member.key,)
            acts.append(self._note(member, channel, Msg("consent.answer.late", **self._n(st), deadline=When(at=deadline_of(st)))))
            acts.append(RecordAnswer(member=member.key, topic=LATE, part=st.part, version=st.version, value=choice))
        late_by = now - st.deadline if st.deadline else timedelta(0)
        st2, closing = self.close(st, now, late_by=late_by, late_members=late)
        return st2, acts + closing

