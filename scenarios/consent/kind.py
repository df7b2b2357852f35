"""The `decision` ritual: commands, their grammar, and the scenario driving a `RoundMachine`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.kernel.answers import Need
from bot.kernel.commands import CommandError, fold
from bot.kernel.i18n import Msg, When
from bot.kernel.inputs import WHEN, check_length
from bot.kernel.model import (
    Action,
    Chose,
    Command,
    Event,
    Finish,
    Member,
    PrivateNote,
    Replied,
    ReplyHandle,
    Started,
    TimerFired,
)
from bot.kernel.scenario import CatchUp, Context, RitualKind, Scenario
from scenarios.consent.commands import (
    AMEND,
    COMMANDS,
    DECISION,
    OBJECTION,
    ROUND_COMMANDS,
    WITHDRAW,
)
from scenarios.consent.config import ConsentConfig, load_config
from scenarios.consent.deadline import MAX_AHEAD, DeadlineError, parse_deadline
from scenarios.consent.round import OVER, RoundMachine, RoundState, answers_needed


def typed_deadline(text: str, now: datetime, tz: ZoneInfo, default_time: time,
                   max_ahead: timedelta | None = MAX_AHEAD) -> datetime:
    """A deadline typed by a member: its length checked, then `parse_deadline` (which refuses
    one more than `max_ahead` ahead, the config's `max_ahead`, and numbers written with other
    digits than 0 to 9). Raises DeadlineError, with the answer, and nothing else."""
    try:
        check_length(text, WHEN)
    except CommandError as exc:
        raise DeadlineError(exc.msg) from None
    return parse_deadline(text, now, tz, default_time, max_ahead)


def round_command(machine: RoundMachine, st: RoundState, cmd: Command, now: datetime) -> tuple[RoundState, list[Action]]:
    """`objection`, `amender` or `retirer` on a running round, wherever it runs (a decision, an
    election's consent step): the one dispatch of the round's commands."""
    member, channel, args, reply_to = cmd.member, cmd.channel, cmd.args, cmd.reply_to
    if cmd.name == OBJECTION.name:
        reason = str(args.get("reason") or "").strip() or None
        return machine.on_objection(st, member, reason, channel, now, reply_to)
    if cmd.name == WITHDRAW.name:
        return machine.on_withdraw(st, member, channel, now, reply_to)
    if cmd.name != AMEND.name:
        return st, []
    deadline: datetime | None = None
    if args.get("deadline"):
        try:
            deadline = typed_deadline(str(args["deadline"]), now, machine.ctx.network.tz, machine.cfg.default_time,
                                      machine.cfg.max_ahead)
        except DeadlineError as exc:
            return st, [PrivateNote(member=member.key, channel=channel, text=exc.msg, reply_to=reply_to)]
    title = args.get("title")
    new, acts = machine.on_amend(st, member, str(title) if title else None, deadline, channel, now, reply_to)
    if "quorum" in args and new is not st:
        new = new.model_copy(update={"quorum": args["quorum"]})
    return new, acts


def _config(ctx: Context) -> ConsentConfig:
    return load_config(ctx.config, ctx.network.settings)


def resolve_channels(ctx: Context, names: list[str]) -> tuple[list[str], str | None]:
    """Channel keys for keys or display names typed in a command; the first unknown one."""
    out: list[str] = []
    for raw in names:
        name = raw.lstrip("#")
        if name in ctx.channels:
            out.append(name)
            continue
        match = [k for k, info in ctx.channels.items() if fold(info.name.lstrip("#")) == fold(name)]
        if not match:
            return out, raw
        out.append(match[0])
    return out, None


def check_start(ctx: Context, params: Mapping[str, Any], channel: str | None, now: datetime) -> Msg | None:
    """Why a `decision` cannot start as typed (for an engine that validates before creating
    the ritual), or None. The scenario makes the same checks on `Started`."""
    try:
        _plan(ctx, _config(ctx), params, channel, now)
    except _StartError as exc:
        return exc.msg
    return None


class _StartError(Exception):
    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.key)
        self.msg = msg


def _plan(
    ctx: Context, cfg: ConsentConfig, params: Mapping[str, Any], channel: str | None, now: datetime
) -> dict[str, Any]:
    title = str(params.get("title") or "").strip()
    if not title:
        raise _StartError(Msg("consent.cmd.missing_title"))
    tz = ctx.network.tz
    deadline: datetime
    text = params.get("deadline")
    try:
        if isinstance(text, datetime):
            deadline = text
        elif text:
            deadline = typed_deadline(str(text), now, tz, cfg.default_time, cfg.max_ahead)
        else:
            deadline = now + cfg.duration
        questions_until: datetime | None = None
        qtext = params.get("questions")
        if isinstance(qtext, datetime):
            questions_until = qtext
        elif qtext:
            questions_until = typed_deadline(str(qtext), now, tz, cfg.default_time, cfg.max_ahead)
    except DeadlineError as exc:
        raise _StartError(exc.msg) from None
    if questions_until is not None and questions_until >= deadline:
        raise _StartError(Msg("consent.cmd.questions_after_deadline", questions=When(at=questions_until), deadline=When(at=deadline)))
    wanted = ([channel] if channel and channel != "dm" else []) + list(params.get("channels") or []) + list(cfg.channels)
    channels, unknown = resolve_channels(ctx, wanted) if ctx.channels else (wanted, None)
    if unknown is not None:
        raise _StartError(Msg("core.cmd.unknown_channel", channel=unknown))
    channels = list(dict.fromkeys(channels))
    if not channels:
        raise _StartError(Msg("consent.cmd.no_channel"))
    group = params.get("group") or cfg.group
    if group is not None and group not in ctx.directory.groups:
        raise _StartError(Msg("consent.cmd.unknown_group", group=str(group)))
    quorum = params.get("quorum")
    return {
        "title": title,
        "deadline": deadline,
        "questions_until": questions_until,
        "channels": channels,
        "group": group,
        "quorum": float(quorum) if quorum is not None else None,
        "anonymous": params.get("anonymous"),
        "description": str(params.get("text") or ""),
    }


class ConsentScenario:
    """One consent round (a `decision`), bound to its context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.cfg = _config(ctx)
        self.machine = RoundMachine(ctx, self.cfg)

    def handle(self, state: RoundState, event: Event, now: datetime) -> tuple[RoundState, list[Action]]:
        new, acts = self._dispatch(self.machine.synced(state), event, now)
        if new.is_over and not state.is_over:
            acts.append(Finish(outcome=new.status))
        return new, acts

    def _dispatch(self, st: RoundState, event: Event, now: datetime) -> tuple[RoundState, list[Action]]:
        match event:
            case Started(by=by, channel=channel, params=params):
                if st.status != "new":
                    return st, []
                return self.start(st, by, channel, params, now)
            case Command(name=DECISION.name, member=member, channel=channel, args=args, reply_to=reply_to):
                if st.status != "new":
                    return st, []
                return self.start(st, member, channel, args, now, reply_to)
            case Command() if st.status == "new":
                return st, []
            case Command(name=name) if name in ROUND_COMMANDS:
                return round_command(self.machine, st, event, now)
            case Chose():
                return self.machine.on_chose(st, event, now)
            case Replied():
                return self.machine.on_reply(st, event, now)
            case TimerFired():
                return self.machine.on_timer(st, event, now)
        return st, []

    def start(
        self, st: RoundState, by: Member | None, channel: str | None, params: Mapping[str, Any],
        now: datetime, reply_to: ReplyHandle | None = None,
    ) -> tuple[RoundState, list[Action]]:
        if by is None:
            raise ValueError("a decision is started by a member")
        try:
            plan = _plan(self.ctx, self.cfg, params, channel, now)
        except _StartError as exc:
            failed = st.model_copy(update={"status": "cancelled"})
            return failed, [PrivateNote(member=by.key, channel=channel or "dm", text=exc.msg, reply_to=reply_to)]
        new = self.machine.new_state(author=by, now=now, **plan)
        opened, acts = self.machine.open(new, now)
        if (channel and channel not in opened.channels) or len(opened.channels) > 1 or not params.get("deadline"):
            # Say where it went and which deadline applies when that was not typed.
            acts.append(PrivateNote(member=by.key, channel=channel or opened.channels[0], reply_to=reply_to, text=Msg("consent.started", number=opened.number, deadline=When(at=plan["deadline"]), channels=self.machine.where(opened))))
        return opened, acts


class ConsentRound(RitualKind[RoundState]):
    """A decision by consent: proposal, questions, answers, objections, amendments."""

    name = "consent"
    state_type = RoundState
    configurable = False
    config_model = ConsentConfig
    # Deadlines always act, even late: the round closes with the answers received before
    # it. Reminders and phase announcements more than an hour late are skipped.
    catch_up = CatchUp(
        timedelta(hours=1),
        "a deadline that passed during downtime closes the round with the answers received "
        "before it; reminders over an hour late are skipped",
    )
    commands = COMMANDS
    uses_answers = True

    def bind(self, ctx: Context) -> Scenario[RoundState]:
        return ConsentScenario(ctx)

    def answers_needed(self, state: RoundState, event: Event, now: datetime) -> Need:
        return answers_needed(state, event, now)

    def channels(self, state: RoundState) -> Sequence[str] | None:
        return state.channels or None

    def summarize(self, state: RoundState) -> Mapping[str, Any] | None:
        if state.status == "new" or (state.status == "cancelled" and not state.history):
            return None
        return {
            "subject": state.subject,
            "number": state.number,
            "title": state.title,
            "version": state.version,
            "status": state.status,
            "outcome": state.outcome,
            "deadline": state.deadline.isoformat() if state.deadline else None,
            "answered": state.answered,
            "counts": dict(state.counts),
            "over": state.status in OVER,
        }
