"""The `decision` ritual: commands, their grammar, and the scenario driving a `RoundMachine`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.kernel.commands import ArgSpec, CommandError, CommandSpec, Token, fold
from bot.kernel.i18n import Msg, When
from bot.kernel.inputs import (
    DECISIONS_COUNT,
    NAME,
    PROPOSAL,
    RITUAL_NUMBER,
    TITLE,
    WHEN,
    check_length,
    looks_numeric,
    parse_int,
    parse_share,
    shown,
)
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
from scenarios.consent.config import ConsentConfig, load_config
from scenarios.consent.deadline import MAX_AHEAD, DeadlineError, parse_deadline
from scenarios.consent.queries import answer_decisions
from scenarios.consent.round import OVER, RoundMachine, RoundState

# Words that end a title typed without quotes and start its deadline.
SEPARATORS: frozenset[str] = frozenset(
    fold(w) for w in ("jusqu'à", "jusqu'au", "jusqu’à", "jusqu’au", "until", "till", "avant", "d'ici", "échéance", "deadline")
)
_OPTION_KEYS: dict[str, str] = {
    "quorum": "quorum",
    "anonyme": "anonymous",
    "anonymous": "anonymous",
    "groupe": "group",
    "group": "group",
    "cercle": "group",
    "circle": "group",
    "salons": "channels",
    "salon": "channels",
    "channels": "channels",
    "channel": "channels",
    "aussi": "channels",
    "also": "channels",
    "questions": "questions",
}
_FLAGS: dict[str, tuple[str, Any]] = {
    "anonyme": ("anonymous", True),
    "anonymous": ("anonymous", True),
    "nominatif": ("anonymous", False),
    "named": ("anonymous", False),
}


def _options(tokens: list[Token]) -> tuple[dict[str, Any], list[Token]]:
    """Pull `key=value` options and flags out; return them and the other tokens in order."""
    opts: dict[str, Any] = {}
    rest: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok.quoted:
            rest.append(tok)
            continue
        word = fold(tok.text)
        if word in _FLAGS:
            key, value = _FLAGS[word]
            opts[key] = value
            continue
        if "=" not in tok.text:
            rest.append(tok)
            continue
        raw_key, _, value = tok.text.partition("=")
        option = _OPTION_KEYS.get(fold(raw_key))
        if option is None:
            raise CommandError(Msg("consent.cmd.unknown_option", option=shown(raw_key)))
        if not value and i < len(tokens) and tokens[i].quoted:
            value = tokens[i].text
            i += 1
        if not value:
            raise CommandError(Msg("consent.cmd.empty_option", option=shown(raw_key)))
        if option == "quorum":
            try:
                opts["quorum"] = parse_share(value, "core.input.quorum")
            except CommandError:
                # The round's own wording, which names the option and gives its example.
                raise CommandError(Msg("consent.cmd.bad_quorum", value=shown(value))) from None
        elif option == "anonymous":
            opts["anonymous"] = fold(value) in ("oui", "yes", "true", "1", "vrai")
        elif option == "channels":
            names = [check_length(c.strip().lstrip("#"), NAME) for c in value.split(",") if c.strip()]
            opts.setdefault("channels", []).extend(names)
        elif option == "questions":
            opts[option] = check_length(value, WHEN)
        else:
            opts[option] = check_length(value, NAME)
    return opts, rest


def _title_and_deadline(tokens: list[Token]) -> tuple[str | None, str | None]:
    """A quoted title then the deadline, or words up to "jusqu'à"/"until" then the deadline."""
    if not tokens:
        return None, None
    if tokens[0].quoted:
        title = tokens[0].text
        rest = tokens[1:]
        if rest and fold(rest[0].text) in SEPARATORS:
            rest = rest[1:]
        deadline = " ".join(t.text for t in rest).strip()
        return title or None, deadline or None
    for i, tok in enumerate(tokens):
        if not tok.quoted and fold(tok.text) in SEPARATORS:
            title = " ".join(t.text for t in tokens[:i]).strip()
            deadline = " ".join(t.text for t in tokens[i + 1 :]).strip()
            return title or None, deadline or None
    return " ".join(t.text for t in tokens).strip() or None, None


def parse_decision(tokens: list[Token]) -> dict[str, Any]:
    """`decision "Titre" [jusqu'à <échéance>] [quorum=50%] [anonyme] [groupe=x] [salons=a,b]
    [questions=<échéance>]` → the params of `Started`."""
    opts, rest = _options(tokens)
    title, deadline = _title_and_deadline(rest)
    if not title:
        raise CommandError(Msg("consent.cmd.missing_title"))
    args: dict[str, Any] = {"title": title, **opts}
    if deadline:
        args["deadline"] = deadline
    return args


def decision_from_form(values: Mapping[str, str]) -> dict[str, Any]:
    """The proposal form (a Slack modal: title, text, deadline) → the params of `Started`."""
    title = check_length((values.get("title") or "").strip(), TITLE)
    if not title:
        raise CommandError(Msg("consent.cmd.missing_title"))
    args: dict[str, Any] = {"title": title}
    if (values.get("text") or "").strip():
        args["text"] = check_length(values["text"].strip(), PROPOSAL)
    if (values.get("deadline") or "").strip():
        args["deadline"] = check_length(values["deadline"].strip(), WHEN)
    return args


def parse_amend(tokens: list[Token]) -> dict[str, Any]:
    """`amender ["nouveau texte"] [jusqu'à <échéance>]`."""
    opts, rest = _options(tokens)
    if set(opts) - {"quorum"}:
        raise CommandError(Msg("consent.cmd.amend_options"))
    title, deadline = _title_and_deadline(rest)
    args: dict[str, Any] = {}
    if title:
        args["title"] = title
    if deadline:
        args["deadline"] = deadline
    if not args:
        raise CommandError(Msg("consent.cmd.amend_empty"))
    return args


def parse_decisions(tokens: list[Token]) -> dict[str, Any]:
    """`decisions [#N | nombre]`."""
    if not tokens:
        return {}
    if len(tokens) > 1:
        raise CommandError(Msg("consent.cmd.decisions_usage"))
    text = tokens[0].text.strip()
    if text.startswith("#") and looks_numeric(text[1:]):
        return {"number": parse_int(text[1:], RITUAL_NUMBER)}
    if looks_numeric(text):
        return {"count": parse_int(text, DECISIONS_COUNT)}
    raise CommandError(Msg("consent.cmd.decisions_usage"))


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        name="decision",
        aliases=("decide",),
        route="start",
        summary_key="consent.help.decision",
        args=(
            ArgSpec("title", "text", "consent.arg.title", limit=TITLE),
            ArgSpec("deadline", "rest", "consent.arg.deadline", required=False, limit=WHEN),
        ),
        animateur_only=True,
        example_key="consent.help.example_decision",
        parse=parse_decision,
        form="proposal",
        from_form=decision_from_form,
    ),
    CommandSpec(
        name="objection",
        aliases=("object",),
        route="ritual",
        summary_key="consent.help.objection",
        args=(ArgSpec("reason", "rest", "consent.arg.reason", required=False),),
        example_key="consent.help.example_objection",
        # The election's final step is a consent round too: typed in its thread, the
        # command goes to the election, which hands it to the same machinery.
        extra={"rituals": ("consent", "election")},
    ),
    CommandSpec(
        name="amender",
        aliases=("amend",),
        route="ritual",
        summary_key="consent.help.amend",
        args=(
            ArgSpec("title", "text", "consent.arg.new_text", required=False, limit=TITLE),
            ArgSpec("deadline", "rest", "consent.arg.deadline", required=False, limit=WHEN),
        ),
        example_key="consent.help.example_amend",
        parse=parse_amend,
        extra={"rituals": ("consent", "election")},
    ),
    CommandSpec(
        name="retirer",
        aliases=("withdraw",),
        route="ritual",
        summary_key="consent.help.withdraw",
        example_key="consent.help.example_withdraw",
        extra={"rituals": ("consent", "election")},
    ),
    CommandSpec(
        name="decisions",
        aliases=("decisions",),
        route="query",
        summary_key="consent.help.decisions",
        args=(ArgSpec("which", "text", "consent.arg.which", required=False),),
        example_key="consent.help.example_decisions",
        parse=parse_decisions,
        answer=answer_decisions,
    ),
)


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
        new, acts = self._dispatch(state, event, now)
        if new.is_over and not state.is_over:
            acts.append(Finish(outcome=new.status))
        return new, acts

    def _dispatch(self, st: RoundState, event: Event, now: datetime) -> tuple[RoundState, list[Action]]:
        match event:
            case Started(by=by, channel=channel, params=params):
                if st.status != "new":
                    return st, []
                return self.start(st, by, channel, params, now)
            case Command(name="decision", member=member, channel=channel, args=args, reply_to=reply_to):
                if st.status != "new":
                    return st, []
                return self.start(st, member, channel, args, now, reply_to)
            case Command() if st.status == "new":
                return st, []
            case Command(name="objection", member=member, channel=channel, args=args, reply_to=reply_to):
                reason = str(args.get("reason") or "").strip() or None
                return self.machine.on_objection(st, member, reason, channel, now, reply_to)
            case Command(name="amender", member=member, channel=channel, args=args, reply_to=reply_to):
                return self.amend(st, member, args, channel, now, reply_to)
            case Command(name="retirer", member=member, channel=channel, reply_to=reply_to):
                return self.machine.on_withdraw(st, member, channel, now, reply_to)
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

    def amend(
        self, st: RoundState, member: Member, args: Mapping[str, Any], channel: str, now: datetime,
        reply_to: ReplyHandle | None,
    ) -> tuple[RoundState, list[Action]]:
        deadline: datetime | None = None
        text = args.get("deadline")
        if text:
            try:
                deadline = typed_deadline(str(text), now, self.ctx.network.tz, self.cfg.default_time,
                                          self.cfg.max_ahead)
            except DeadlineError as exc:
                return st, [PrivateNote(member=member.key, channel=channel, text=exc.msg, reply_to=reply_to)]
        title = args.get("title")
        new, acts = self.machine.on_amend(st, member, str(title) if title else None, deadline, channel, now, reply_to)
        if "quorum" in args and new is not st:
            new = new.model_copy(update={"quorum": args["quorum"]})
        return new, acts


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

    def bind(self, ctx: Context) -> Scenario[RoundState]:
        return ConsentScenario(ctx)

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
            "answered": len(state.answers),
            "counts": state.counts(),
            "over": state.status in OVER,
        }
