"""The satisfaction pulse (« météo du réseau »): one private question a month, answers until the
close, then only aggregates in the log and no answer left that says who gave it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from bot.kernel.answers import Need
from bot.kernel.i18n import Lines, Month, Msg, Param, When
from bot.kernel.model import (
    Action,
    AnonymizeAnswers,
    CancelTimer,
    Command,
    DirectMessage,
    Event,
    PrivateNote,
    Record,
    RecordAnswer,
    Ref,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import CatchUp, Context, RitualKind
from scenarios.pulse.commands import ANSWER, COMMANDS
from scenarios.pulse.config import PulseConfig, load_config
from scenarios.pulse.results import Given, pulse_seed, summary

OPEN, REMIND, CLOSE = Ref(role="open"), Ref(role="remind"), Ref(role="close")
RECORD = "pulse"
"""The closed pulse's record: `pulse`, `month`, `channels`, `asked`, `answered`, `shown`, and from 5 answers
`counts`, `tenths`, `comments`, `by_organisation`, `by_territory`; `trend` (the last months'
means) and `labels` (configured questions) always. What the digest shows."""
TREND_MONTHS = 12
QUESTION_VALID = timedelta(days=2)


def topic(question: int) -> str:
    """The answers' topic of one question (0-based): "pulse1", "pulse2", "pulse3"; their part
    is the pulse's number, so each month's answers stand apart."""
    return f"pulse{question + 1}"


class Past(BaseModel):
    """A closed pulse as the trend needs it: its month, how many answered, its first
    question's mean in tenths (None: fewer than 5 answers, not shown)."""

    month: str
    answered: int
    tenths: int | None = None


class Current(BaseModel):
    """The pulse open now: no member in it (who answered is in the answers, until the close)."""

    number: int
    key: str
    """Its local date (ISO), for its seed."""
    opened_at: datetime
    closes_at: datetime
    asked: int
    questions: list[str] = Field(default_factory=list)
    """The configured questions when it opened (empty: the catalog's one)."""
    reminded: bool = False


class Skipped(BaseModel):
    due_at: datetime
    late_by_seconds: float


class PulseState(BaseModel):
    next_due: datetime | None = None
    pulses: int = 0
    current: Current | None = None
    past: list[Past] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)


class Pulse:
    """The pulse bound to one network's context; `handle` is pure."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tz: ZoneInfo = ctx.network.tz
        self.config: PulseConfig
        self.config, channels = load_config(ctx.config)
        self.channels = list(ctx.ritual_channels) or channels or sorted(ctx.channels)

    def handle(self, state: PulseState, event: Event, now: datetime) -> tuple[PulseState, list[Action]]:
        st = state.model_copy(deep=True)
        out: list[Action] = []
        match event:
            case Started():
                self._schedule(st, now, out)
            case TimerFired(name=name) if name == OPEN:
                if PulseKind.catch_up.is_stale(event.late_by):
                    st.skipped = [*st.skipped, Skipped(due_at=event.due_at,
                                                       late_by_seconds=event.late_by.total_seconds())][-10:]
                else:
                    self._open(st, event.due_at, now, out)
                self._schedule(st, now, out)
            case TimerFired(name=name) if name == REMIND and st.current is not None and not st.current.reminded:
                # Once per pulse, whatever happens to its timer: `reminded` is kept.
                st.current.reminded = True
                if not PulseKind.catch_up.is_stale(event.late_by):
                    self._remind(st.current, out)
            case TimerFired(name=name) if name == CLOSE and st.current is not None:
                self._close(st, out)
            case Command(name=name) if name == ANSWER.name:
                self._answer(st, event, out)
            case _:
                pass
        return st, out

    def _schedule(self, st: PulseState, now: datetime, out: list[Action]) -> None:
        nxt = self.config.recurrence(self.tz.key).after(now)
        st.next_due = nxt
        if nxt is not None:
            out.append(SetTimer(name=OPEN, due_at=nxt))

    # --- opening --------------------------------------------------------------------------

    def _open(self, st: PulseState, due: datetime, now: datetime, out: list[Action]) -> None:
        if st.current is not None:
            # A schedule closer than the pulse's length: the last one closes before the next.
            self._close(st, out)
            out.append(CancelTimer(name=CLOSE))
        circle = self.ctx.directory.circle(self.channels)
        number = st.pulses + 1
        closes = now + timedelta(days=self.config.open_days)
        cur = Current(number=number, key=due.astimezone(self.tz).date().isoformat(), opened_at=now,
                      closes_at=closes, asked=len(circle), questions=list(self.config.questions))
        st.pulses = number
        st.current = cur
        out.append(SetTimer(name=CLOSE, due_at=closes))
        if 0 < self.config.remind_days < self.config.open_days:
            out.append(SetTimer(name=REMIND, due_at=now + timedelta(days=self.config.remind_days)))
        else:
            cur.reminded = True
        text = self.question(cur)
        for m in circle:
            out.append(DirectMessage(member=m.key, text=text, valid_until=now + QUESTION_VALID))

    def _month(self, cur: Current) -> Month:
        local = cur.opened_at.astimezone(self.tz)
        return Month(year=local.year, month=local.month)

    def question(self, cur: Current) -> Msg:
        """The private question: one question, or up to three numbered, and how to answer."""
        when = When(at=cur.closes_at, style="datetime")
        if not cur.questions:
            return Msg("pulse.ask.one", month=self._month(cur), closes=when)
        items: list[Param] = [Msg("pulse.ask.item", n=i + 1, question=q) for i, q in enumerate(cur.questions)]
        return Msg("pulse.ask.several", month=self._month(cur), count=len(cur.questions),
                   questions=Lines(items=items), closes=when)

    # --- answering ------------------------------------------------------------------------

    def _answer(self, st: PulseState, cmd: Command, out: list[Action]) -> None:
        cur = st.current
        scores = [int(s) for s in cmd.args.get("scores") or []]
        comment = cmd.args.get("comment")
        comment = comment.strip() if isinstance(comment, str) and comment.strip() else None
        if cur is None:
            text = (Msg("pulse.answer.none_next", when=When(at=st.next_due, style="date"))
                    if st.next_due is not None else Msg("pulse.answer.none"))
        elif not self.ctx.directory.in_circle(cmd.member.key, self.channels):
            text = Msg("pulse.answer.not_asked")
        else:
            count = len(cur.questions) or 1
            before = self.ctx.answers.of(cmd.member.key, topic(0), part=cur.number)
            if not scores and comment is not None and before is not None:
                # A comment alone, once answered: the scores stay.
                out.append(RecordAnswer(member=cmd.member.key, topic=topic(0), part=cur.number,
                                        value=before.value, reason=comment))
                text = Msg("pulse.answer.noted")
            elif len(scores) != count:
                text = Msg("pulse.answer.count", count=count, given=len(scores))
            else:
                # A change without a comment keeps the comment given before.
                kept = comment if comment is not None else (before.reason if before is not None else None)
                for i, score in enumerate(scores):
                    out.append(RecordAnswer(member=cmd.member.key, topic=topic(i), part=cur.number,
                                            value=str(score), reason=kept if i == 0 else None))
                # Never the scores nor the comment: this message stays in the outbox's rows.
                text = Msg("pulse.answer.noted")
        if cmd.channel == "dm":
            out.append(DirectMessage(member=cmd.member.key, text=text))
        else:
            out.append(PrivateNote(member=cmd.member.key, channel=cmd.channel, text=text, reply_to=cmd.reply_to))

    # --- the reminder and the close -------------------------------------------------------

    def _remind(self, cur: Current, out: list[Action]) -> None:
        text = Msg("pulse.remind.body", month=self._month(cur), closes=When(at=cur.closes_at, style="datetime"),
                   count=len(cur.questions) or 1)
        for m in self.ctx.directory.circle(self.channels):
            if self.ctx.answers.of(m.key, topic(0), part=cur.number) is None:
                out.append(DirectMessage(member=m.key, text=text, valid_until=cur.closes_at))

    def _given(self, cur: Current) -> list[Given]:
        count = len(cur.questions) or 1
        out: list[Given] = []
        for first in self.ctx.answers.current(topic(0), part=cur.number):
            if first.member is None or first.value is None:
                continue
            scores = [first.value]
            for q in range(1, count):
                a = self.ctx.answers.of(first.member, topic(q), part=cur.number)
                scores.append(a.value if a is not None and a.value is not None else "")
            if all(s.isdigit() and 1 <= int(s) <= 5 for s in scores):
                out.append(Given(member=first.member, scores=tuple(int(s) for s in scores), comment=first.reason))
        return out

    def _group(self, key: str, territory: bool) -> str:
        m = self.ctx.directory.member(key)
        if m is None:
            return ""
        return (m.attributes.get(self.config.territory) if territory else m.organisation) or ""

    def _close(self, st: PulseState, out: list[Action]) -> None:
        cur = st.current
        assert cur is not None
        st.current = None
        given = self._given(cur)
        seed = pulse_seed(self.config.seed, self.ctx.network.name, cur.key)
        # Someone who joined a channel after the question may answer too: never more answers than asked.
        result = summary(given, questions=len(cur.questions) or 1, asked=max(cur.asked, len(given)), seed=seed,
                         organisation_of=lambda k: self._group(k, False),
                         territory_of=lambda k: self._group(k, True))
        local = cur.opened_at.astimezone(self.tz)
        month = f"{local.year:04d}-{local.month:02d}"
        tenths = result.get("tenths")
        first = tenths[0] if isinstance(tenths, list) and tenths else None
        st.past = [*st.past, Past(month=month, answered=len(given), tenths=first)][-TREND_MONTHS:]
        out.append(Record(kind=RECORD, summary={
            "pulse": cur.number, "month": month, "labels": list(cur.questions), "seed": seed,
            "channels": list(self.channels), **result,
            "trend": [p.model_dump() for p in st.past]}))
        # The answers go: the record holds all that is shown. Stripping the person alone would
        # leave each row's time and order, which match the confirmation sent to each member.
        out.append(AnonymizeAnswers(drop=True))
        out.append(CancelTimer(name=REMIND))


class PulseKind(RitualKind[PulseState]):
    """`[[rituals]] kind = "pulse"`, configured once: asks its question on its schedule;
    `meteo 4` reaches it wherever it is typed (route "singleton")."""

    name = "pulse"
    state_type = PulseState
    config_model = PulseConfig
    catch_up = CatchUp(
        grace=timedelta(days=2),
        description="a pulse more than 2 days late is skipped (and a late reminder not sent); a close always happens",
    )
    commands = COMMANDS
    uses_answers = True

    def bind(self, ctx: Context) -> Pulse:
        return Pulse(ctx)

    def answers_needed(self, state: PulseState, event: Event, now: datetime) -> Need:
        if isinstance(event, TimerFired):
            return "all" if event.name in (REMIND, CLOSE) or state.current is not None else "none"
        if isinstance(event, Command):
            return "member"
        return "none"

    def answers_part(self, state: PulseState, event: Event) -> int | None:
        return state.current.number if state.current is not None else None

    def summarize(self, state: PulseState) -> Mapping[str, Any] | None:
        return None

    def upcoming(
        self, config: Mapping[str, Any], tz: ZoneInfo, start: datetime, count: int
    ) -> list[tuple[datetime, str]]:
        cfg, _ = load_config(config)
        return [(at, "pulse.schedule.ask") for at in cfg.recurrence(tz.key).occurrences(start, count)]
