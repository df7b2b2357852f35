"""The date poll ritual: slots read at the start, answers per slot kept as rows, one reminder, the close into a meeting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from bot.kernel.answers import Need
from bot.kernel.i18n import Msg
from bot.kernel.inputs import CommandError
from bot.kernel.model import (
    Action,
    CancelTimer,
    Chose,
    Command,
    DirectMessage,
    Edit,
    Event,
    Finish,
    Member,
    Post,
    PrivateNote,
    Record,
    RecordAnswer,
    Ref,
    ReplyHandle,
    SetTimer,
    Started,
    StartRitual,
    TimerFired,
)
from bot.kernel.scenario import CatchUp, Context, RitualKind
from scenarios.datepoll import texts
from scenarios.datepoll.commands import ANSWER, ANSWERS, CANCEL, CLOSE, COMMANDS
from scenarios.datepoll.config import DatePollConfig, load_config
from scenarios.datepoll.slots import read_deadline, read_slots
from scenarios.datepoll.state import TOPIC, DatePollState, Style

TABLE = Ref(role="table")
"""The poll's one top-level post, edited at each answer and at the close."""
SLOT = "slot"
"""A slot's own poll (`n` its number), in the table's thread where polls are the way to answer."""
CLOSE_AT, REMIND, LAPSE, REFRESH = Ref(role="close"), Ref(role="remind"), Ref(role="lapse"), Ref(role="refresh")
RECORD = "datepoll"
"""The poll's outcome in the log: title, slots with their counts, the chosen one (or none)."""


class DatePoll:
    """One date poll bound to a network's context; `handle` is pure."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tz = ctx.network.tz
        self.config: DatePollConfig = load_config(ctx.config)

    def handle(self, state: DatePollState, event: Event, now: datetime) -> tuple[DatePollState, list[Action]]:
        st = state.model_copy(deep=True)
        out: list[Action] = []
        match event:
            case Started():
                self._start(st, event, now, out)
            case Command():
                self._command(st, event, now, out)
            case Chose():
                self._chose(st, event, now, out)
            case TimerFired(name=name) if name == REFRESH:
                st.refresh_due = None
                if st.status == "open":
                    st.edited_at = now
                    self._edit(st, out)
            case TimerFired(name=name) if name == REMIND:
                self._remind(st, now, out)
            case TimerFired(name=name) if name == CLOSE_AT:
                if st.status == "open":
                    self._recount(st)
                    self._close(st, None, None, now, out)
            case TimerFired(name=name) if name == LAPSE:
                if st.status == "tie":
                    st.status, st.tied = "closed", []
                    self._edit(st, out, choices=[])
                    self._finish(st, "lapsed", out)
            case _:
                pass
        return st, out

    # --- the start ----------------------------------------------------------------------

    def _start(self, st: DatePollState, ev: Started, now: datetime, out: list[Action]) -> None:
        if ev.by is None:
            return
        params = ev.params
        slots = read_slots([str(s) for s in params.get("slots", [])], now, self.tz, self.ctx.network.locale,
                           self.config)
        deadline = read_deadline(cast(str | None, params.get("deadline")), slots[0], now, self.tz, self.config)
        channel = ev.channel if ev.channel and ev.channel != "dm" else next(iter(self.ctx.ritual_channels), None)
        if channel is None:
            raise CommandError(Msg("core.cmd.not_in_dm"))
        st.title = str(params.get("title", "")).strip()
        st.by, st.channel, st.slots, st.deadline = ev.by.key, channel, slots, deadline
        st.style = cast(Style, self.ctx.capabilities(channel).choice_style())
        by = ev.by.name
        out.append(Post(channel=channel, ref=TABLE, text=texts.table(st, by, by),
                        choices=texts.table_choices(st) if st.style == "buttons" else [], choice_style="buttons"))
        if st.style == "poll":
            # One poll per slot, in the table's thread: a poll asks one question (Element
            # shows it whole), and a thread is not an interruption of the channel.
            for n, slot in enumerate(slots, start=1):
                out.append(Post(channel=channel, ref=Ref(role=SLOT, n=n), thread=TABLE,
                                text=texts.slot_question(n, slot), choices=texts.slot_choices(),
                                choice_style="poll", valid_until=deadline))
        out.append(SetTimer(name=CLOSE_AT, due_at=deadline))
        if self.config.reminder is not None and deadline - self.config.reminder > now:
            out.append(SetTimer(name=REMIND, due_at=deadline - self.config.reminder))

    # --- answers ------------------------------------------------------------------------

    def _command(self, st: DatePollState, cmd: Command, now: datetime, out: list[Action]) -> None:
        if cmd.name == ANSWER.name:
            given = [(int(a["slot"]), str(a["answer"])) for a in cmd.args.get("answers", [])]
            self._answer(st, cmd.member, given, cmd.channel, cmd.reply_to, now, out)
        elif cmd.name == CLOSE.name:
            self._cmd_close(st, cmd, now, out)
        elif cmd.name == CANCEL.name:
            if st.status not in ("open", "tie"):
                out.append(self._note(cmd.member, cmd.channel, Msg("datepoll.answer.over", title=st.title),
                                      cmd.reply_to))
                return
            st.status = "cancelled"
            reason = str(cmd.args.get("reason") or "").strip() or None
            self._edit(st, out, choices=[], by=cmd.member.name, reason=reason)
            self._finish(st, "cancelled", out)

    def _chose(self, st: DatePollState, ev: Chose, now: datetime, out: list[Action]) -> None:
        if ev.ref.role == TABLE.role:
            # The table's buttons say `n.answer`; a reaction on the table is no answer (its
            # emoji do not say which slot).
            if ev.via == "reaction" or ev.choice is None:
                return
            number, _, answer = ev.choice.partition(".")
            if not number.isdigit() or answer not in ANSWERS:
                return
            self._answer(st, ev.member, [(int(number), answer)], ev.channel, ev.reply_to, now, out)
        elif ev.ref.role == SLOT and ev.ref.n is not None:
            n = ev.ref.n
            if ev.choice in ANSWERS:
                self._answer(st, ev.member, [(n, ev.choice)], ev.channel, ev.reply_to, now, out)
            elif ev.choice is None:
                mine = self.ctx.answers.of(ev.member.key, TOPIC, part=n)
                # A withdrawn poll vote withdraws; a removed reaction only the answer it gave.
                if mine is not None and ev.withdrawn in (None, mine.value):
                    self._answer(st, ev.member, [(n, None)], ev.channel, ev.reply_to, now, out)

    def _answer(self, st: DatePollState, member: Member, given: Sequence[tuple[int, str | None]], channel: str,
                reply_to: ReplyHandle | None, now: datetime, out: list[Action]) -> None:
        """A member's answers to some slots: rows of their own, the counts kept in step, the
        table edited (what the member sees is their feedback; only a refusal is answered)."""
        if st.status != "open":
            out.append(self._note(member, channel, Msg("datepoll.answer.over", title=st.title), reply_to))
            return
        wrong = [n for n, _ in given if not 1 <= n <= len(st.slots)]
        if wrong:
            out.append(self._note(member, channel, Msg("datepoll.answer.no_such_slot", n=wrong[0],
                                                       count=len(st.slots)), reply_to))
            return
        current: dict[int, str | None] = {}
        for n in range(1, len(st.slots) + 1):
            mine = self.ctx.answers.of(member.key, TOPIC, part=n)
            current[n] = mine.value if mine is not None else None
        had = any(current.values())
        changed = False
        for n, value in given:
            old = current[n]
            if old == value:
                continue
            slot = st.slots[n - 1]
            if old is not None:
                slot.add(old, -1)
            if value is not None:
                slot.add(value, 1)
            current[n] = value
            changed = True
            out.append(RecordAnswer(member=member.key, topic=TOPIC, part=n, value=value))
        has = any(current.values())
        st.answered = max(0, st.answered + (has and not had) - (had and not has))
        if changed:
            self._touch(st, now, out)

    def _touch(self, st: DatePollState, now: datetime, out: list[Action]) -> None:
        """The table edited at once, unless it was a moment ago: then once, a little later."""
        if st.refresh_due is not None:
            return
        if st.edited_at is None or now - st.edited_at >= self.config.refresh:
            st.edited_at = now
            self._edit(st, out)
            return
        st.refresh_due = st.edited_at + self.config.refresh
        out.append(SetTimer(name=REFRESH, due_at=st.refresh_due))

    def _recount(self, st: DatePollState) -> set[str]:
        """The counts read again from every answer (a timer, a close); who answered."""
        who: set[str] = set()
        for n, slot in enumerate(st.slots, start=1):
            rows = self.ctx.answers.current(TOPIC, part=n)
            for a in ANSWERS:
                setattr(slot, a, sum(1 for r in rows if r.value == a))
            who |= {r.member for r in rows if r.member is not None}
        st.answered = len(who)
        return who

    # --- the reminder -------------------------------------------------------------------

    def _remind(self, st: DatePollState, now: datetime, out: list[Action]) -> None:
        if st.status != "open" or st.reminded or st.deadline is None or now >= st.deadline:
            return
        st.reminded = True
        answered = self._recount(st)
        channels = [st.channel] if st.channel else list(self.ctx.ritual_channels)
        info = self.ctx.channels.get(st.channel or "")
        name = info.name if info is not None else (st.channel or "")
        for m in self.ctx.directory.circle(channels):
            if m.key in answered or m.key == st.by:
                continue
            out.append(DirectMessage(member=m.key, text=texts.reminder(st, name), valid_until=st.deadline))

    # --- the close ----------------------------------------------------------------------

    def _cmd_close(self, st: DatePollState, cmd: Command, now: datetime, out: list[Action]) -> None:
        if st.status not in ("open", "tie"):
            out.append(self._note(cmd.member, cmd.channel, Msg("datepoll.answer.over", title=st.title),
                                  cmd.reply_to))
            return
        pick = cmd.args.get("slot")
        if pick is not None:
            pick = int(pick)
            if not 1 <= pick <= len(st.slots):
                out.append(self._note(cmd.member, cmd.channel, Msg("datepoll.answer.no_such_slot", n=pick,
                                                                   count=len(st.slots)), cmd.reply_to))
                return
            if st.slots[pick - 1].start <= now:
                out.append(self._note(cmd.member, cmd.channel, Msg(
                    "datepoll.close.past", n=pick, slot=texts.slot_line(st.slots[pick - 1])), cmd.reply_to))
                return
        self._recount(st)
        self._close(st, pick, cmd, now, out)

    def _close(self, st: DatePollState, pick: int | None, cmd: Command | None, now: datetime,
               out: list[Action]) -> None:
        """The best slot wins (most oui, then most si besoin, among those still ahead); a tie
        is not the bot's to settle: the table says it and the animateur is asked."""
        if pick is None:
            ahead = [n for n, s in enumerate(st.slots, start=1) if s.start > now]
            if not ahead:
                st.status = "closed"
                self._edit(st, out, choices=[])
                self._finish(st, "lapsed", out)
                return
            best = max((st.slots[n - 1].yes, st.slots[n - 1].maybe) for n in ahead)
            tied = [n for n in ahead if (st.slots[n - 1].yes, st.slots[n - 1].maybe) == best]
            if len(tied) > 1:
                st.status, st.tied = "tie", tied
                self._edit(st, out)
                ask = Msg("datepoll.close.ask", title=st.title, slots=texts.tied_lines(st))
                if cmd is not None:
                    out.append(self._note(cmd.member, cmd.channel, ask, cmd.reply_to))
                elif st.by is not None:
                    out.append(DirectMessage(member=st.by, text=ask))
                out.append(CancelTimer(name=REMIND))
                out.append(CancelTimer(name=REFRESH))
                st.refresh_due = None
                # Nobody picked before the first tied slot: the poll ends without a meeting.
                out.append(SetTimer(name=LAPSE, due_at=st.slots[tied[0] - 1].start))
                return
            pick = tied[0]
        st.status, st.chosen, st.tied = "closed", pick, []
        slot = st.slots[pick - 1]
        self._edit(st, out, choices=[])
        rsvps = {a.member: texts.MEETING_RSVP[a.value] for a in self.ctx.answers.current(TOPIC, part=pick)
                 if a.member is not None and a.value in texts.MEETING_RSVP}
        by = st.by or (cmd.member.key if cmd is not None else None)
        if by is not None:
            out.append(StartRitual(kind="meeting", by=by, channel=st.channel, params={
                "one_off": {"title": st.title, "start": slot.start.isoformat(), "place": slot.place,
                            "link": slot.link},
                "rsvps": rsvps}))
        self._finish(st, "closed", out)

    def _finish(self, st: DatePollState, outcome: str, out: list[Action]) -> None:
        for timer in (CLOSE_AT, REMIND, LAPSE, REFRESH):
            out.append(CancelTimer(name=timer))
        chosen = st.slots[st.chosen - 1] if st.chosen is not None else None
        out.append(Record(kind=RECORD, summary={
            "title": st.title, "outcome": outcome, "answered": st.answered,
            "slots": [{"start": s.start.isoformat(), "yes": s.yes, "maybe": s.maybe, "no": s.no} for s in st.slots],
            "chosen": chosen.start.isoformat() if chosen is not None else None}))
        out.append(Finish(outcome=outcome))

    # --- saying it ----------------------------------------------------------------------

    def _edit(self, st: DatePollState, out: list[Action], choices: list[Any] | None = None, by: str | None = None,
              reason: str | None = None) -> None:
        if st.channel is None:
            return
        launcher = self.ctx.directory.member(st.by) if st.by else None
        name = launcher.name if launcher is not None else ""
        out.append(Edit(channel=st.channel, ref=TABLE, text=texts.table(st, name, by or name, reason),
                        choices=choices if st.style == "buttons" else None))

    @staticmethod
    def _note(member: Member, channel: str, text: Msg, reply_to: ReplyHandle | None) -> Action:
        if channel == "dm":
            return DirectMessage(member=member.key, text=text)
        return PrivateNote(member=member.key, channel=channel, text=text, reply_to=reply_to)


class DatePollKind(RitualKind[DatePollState]):
    """`dates « titre » créneaux… jusqu'à …`: a poll started by command in a channel, its
    settings in `[defaults.datepoll]`; answered by `dates 1 oui, 2 non`, buttons or polls."""

    name = "datepoll"
    state_type = DatePollState
    config_model = DatePollConfig
    configurable = False
    uses_answers = True
    commands = COMMANDS
    catch_up = CatchUp(
        grace=None,
        description=("the close runs however late, with the answers given before it; the reminder is "
                     "dropped once the deadline is past"),
    )

    def bind(self, ctx: Context) -> DatePoll:
        return DatePoll(ctx)

    def answers_needed(self, state: DatePollState, event: Event, now: datetime) -> Need:
        if isinstance(event, TimerFired) and event.name == REFRESH:
            return "none"  # the counts are in the state
        if isinstance(event, TimerFired):
            return "all"
        if isinstance(event, Command) and event.name == CLOSE.name:
            return "all"
        if isinstance(event, Command | Chose):
            return "member"
        return "none"

    def summarize(self, state: DatePollState) -> Mapping[str, Any] | None:
        if state.status not in ("open", "tie") or state.deadline is None:
            return None
        # What the digest lists among what awaits answers (its channel, its title, its deadline).
        return {"title": state.title, "deadline": state.deadline.isoformat(), "answered": state.answered,
                "channels": [state.channel] if state.channel else [],
                "slots": [s.start.isoformat() for s in state.slots]}

