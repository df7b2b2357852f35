"""The café-réseau ritual: opt-in answers, a monthly pairing across organisations, private introductions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from bot.kernel.answers import Need
from bot.kernel.i18n import Code, Lines, Mention, Month, Msg, Param, When
from bot.kernel.model import (
    Action,
    Command,
    DirectMessage,
    Event,
    Joined,
    Member,
    PrivateNote,
    Record,
    RecordAnswer,
    Ref,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import CatchUp, Context, RitualKind
from scenarios.cafe.commands import COMMANDS, JOIN, LEAVE
from scenarios.cafe.config import CafeConfig, load_config
from scenarios.cafe.pairing import Grouping, Person, pair, pair_key, round_seed

TIMER = Ref(role="round")
TOPIC = "cafe"
"""The opt-in answer's topic: value YES or NO, one current answer per member."""
YES, NO = "yes", "no"
RECORD = "cafe"
"""The round's record: `cafes` (groups formed), `people`, `alone`, `round`, `seed`; what the
digest counts for « 12 cafés ce mois-ci »."""
INTRO_VALID = timedelta(days=3)


class Met(BaseModel):
    """Two people who were in one group (`a` < `b`), how often, and the last round's number."""

    a: str
    b: str
    times: int = 1
    last: int


class Arrival(BaseModel):
    """Someone the ritual saw join one of its channels, and when."""

    member: str
    at: datetime


class Skipped(BaseModel):
    due_at: datetime
    late_by_seconds: float


class CafeState(BaseModel):
    next_due: datetime | None = None
    rounds: int = 0
    """Rounds held; a pair's age is counted in rounds."""
    met: list[Met] = Field(default_factory=list)
    """Every pair that ever met, so "never met" is true across months and restarts."""
    arrived: list[Arrival] = Field(default_factory=list)
    """When members joined one of the ritual's channels, as seen by the ritual; members never
    seen joining were there before it and are of long standing. A list of values, not a mapping
    keyed by member: forgetting a person rewrites values that are their key, not mapping keys."""
    last_round: str | None = None
    last_cafes: int = 0
    skipped: list[Skipped] = Field(default_factory=list)


class Cafe:
    """The café-réseau bound to one network's context; `handle` is pure."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tz: ZoneInfo = ctx.network.tz
        self.config: CafeConfig
        self.config, channels = load_config(ctx.config)
        self.channels = list(ctx.ritual_channels) or channels or sorted(ctx.channels)

    def handle(self, state: CafeState, event: Event, now: datetime) -> tuple[CafeState, list[Action]]:
        out: list[Action] = []
        if isinstance(event, Command):
            # An opt-in is an answer row: the state (with every pair ever met) is not copied.
            if event.name in (JOIN.name, LEAVE.name):
                self._opt(state, event, out)
            return state, out
        st = state.model_copy(deep=True)
        match event:
            case Started():
                self._schedule(st, now, out)
            case TimerFired(name=name) if name == TIMER:
                if CafeKind.catch_up.is_stale(event.late_by):
                    # A round days late would pair people for a month mostly gone: skipped,
                    # the next one comes on schedule.
                    st.skipped = [*st.skipped, Skipped(due_at=event.due_at,
                                                       late_by_seconds=event.late_by.total_seconds())][-10:]
                else:
                    self._round(st, event.due_at, now, out)
                self._schedule(st, now, out)
            case Joined(member=m) if all(a.member != m.key for a in st.arrived):
                st.arrived.append(Arrival(member=m.key, at=now))
            case _:
                pass
        return st, out

    def _schedule(self, st: CafeState, now: datetime, out: list[Action]) -> None:
        nxt = self.config.recurrence(self.tz.key).after(now)
        st.next_due = nxt
        if nxt is not None:
            out.append(SetTimer(name=TIMER, due_at=nxt))

    # --- opting in and out -----------------------------------------------------------------

    def _opt(self, st: CafeState, cmd: Command, out: list[Action]) -> None:
        joining = cmd.name == JOIN.name
        before = self.ctx.answers.of(cmd.member.key, TOPIC)
        value = YES if joining else NO
        if before is None or before.value != value:
            out.append(RecordAnswer(member=cmd.member.key, topic=TOPIC, value=value))
        if joining:
            text = (Msg("cafe.opt.yes", when=When(at=st.next_due, style="datetime"))
                    if st.next_due is not None else Msg("cafe.opt.yes_unscheduled"))
        else:
            text = Msg("cafe.opt.no")
        if cmd.channel == "dm":
            out.append(DirectMessage(member=cmd.member.key, text=text))
        else:
            out.append(PrivateNote(member=cmd.member.key, channel=cmd.channel, text=text, reply_to=cmd.reply_to))

    # --- a round ------------------------------------------------------------------------------

    def pool(self) -> list[Member]:
        """Who takes part this round: the ritual's circle (never the bot nor who left the
        network's lists) who answered `cafe oui` last."""
        opted = {a.member for a in self.ctx.answers.current(TOPIC) if a.value == YES}
        return [m for m in self.ctx.directory.circle(self.channels) if m.key in opted]

    def _person(self, arrivals: Mapping[str, datetime], m: Member, due: datetime) -> Person:
        arrived = arrivals.get(m.key)
        newcomer = arrived is not None and due - arrived <= timedelta(days=self.config.newcomer_days)
        return Person(key=m.key, organisation=m.organisation,
                      territory=m.attributes.get(self.config.territory) or None, newcomer=newcomer)

    def _round(self, st: CafeState, due: datetime, now: datetime, out: list[Action]) -> None:
        local = due.astimezone(self.tz)
        round_key = local.date().isoformat()
        seed = round_seed(self.config.seed, self.ctx.network.name, round_key)
        members = self.pool()
        arrivals = {a.member: a.at for a in st.arrived}
        people = [self._person(arrivals, m, due) for m in members]
        number = st.rounds + 1
        met = {(m.a, m.b): number - m.last for m in st.met}
        grouping = pair(people, met, seed)
        self._remember(st, grouping, number)
        st.rounds = number
        st.last_round = round_key
        st.last_cafes = len(grouping.groups)
        month = Month(year=local.year, month=local.month)
        by_key = {m.key: m for m in members}
        for group in grouping.groups:
            for key in group:
                others = [by_key[o] for o in group if o != key]
                out.append(DirectMessage(member=key, text=self.introduction(by_key[key], others, month),
                                         valid_until=now + INTRO_VALID))
        for key in grouping.alone:
            out.append(DirectMessage(member=key, text=Msg("cafe.intro.alone", month=month),
                                     valid_until=now + INTRO_VALID))
        out.append(Record(kind=RECORD, summary={
            "round": round_key, "cafes": len(grouping.groups),
            "people": sum(len(g) for g in grouping.groups), "alone": len(grouping.alone),
            "trios": sum(1 for g in grouping.groups if len(g) == 3), "seed": seed}))

    def _remember(self, st: CafeState, grouping: Grouping, number: int) -> None:
        index = {(m.a, m.b): m for m in st.met}
        for group in grouping.groups:
            for i, a in enumerate(group):
                for b in group[i + 1:]:
                    k = pair_key(a, b)
                    if k in index:
                        index[k].times += 1
                        index[k].last = number
                    else:
                        index[k] = Met(a=k[0], b=k[1], last=number)
                        st.met.append(index[k])

    # --- the introduction --------------------------------------------------------------------

    def introduction(self, me: Member, others: Sequence[Member], month: Month) -> Msg:
        lines: list[Param] = [self._presented(me, o) for o in others]
        return Msg("cafe.intro.body", month=month, count=len(others), people=Lines(items=lines))

    def _presented(self, me: Member, other: Member) -> Msg:
        org = other.organisation or ""
        territory = other.attributes.get(self.config.territory) or ""
        if org and territory:
            about = Msg("cafe.intro.about_both", organisation=org, territory=territory)
        elif org or territory:
            about = Msg("cafe.intro.about_one", what=org or territory)
        else:
            about = Msg("cafe.intro.about_none")
        return Msg("cafe.intro.person", name=other.name, about=about, reach=self._reach(me, other))

    @staticmethod
    def _reach(me: Member, other: Member) -> Msg:
        """How to reach the other from where `me` is told: on the same platform, a mention (the
        adapter makes it a link to them); on another one, that platform and their handle there."""
        mine, _, _ = me.account.partition(":")
        theirs, _, handle = other.account.partition(":")
        if theirs == mine or not handle:
            return Msg("cafe.intro.reach_here", who=Mention(member=other.key, name=other.name))
        return Msg("cafe.intro.reach_other", platform=theirs.capitalize(), handle=Code(text=handle))


class CafeKind(RitualKind[CafeState]):
    """`[[rituals]] kind = "cafe"`, configured once: pairs the opted-in members on its
    schedule; `cafe oui` / `cafe non` reach it wherever they are typed (route "singleton")."""

    name = "cafe"
    state_type = CafeState
    config_model = CafeConfig
    catch_up = CatchUp(
        grace=timedelta(days=2),
        description="a pairing more than 2 days late is skipped; the next one comes on schedule",
    )
    commands = COMMANDS
    receives_joins = True
    uses_answers = True
    cpu_heavy = True
    """The matching grows as the cube of the opted-in members: run beside the event loop."""

    def bind(self, ctx: Context) -> Cafe:
        return Cafe(ctx)

    def answers_needed(self, state: CafeState, event: Event, now: datetime) -> Need:
        if isinstance(event, TimerFired):
            return "all"
        if isinstance(event, Command):
            return "member"
        return "none"

    def summarize(self, state: CafeState) -> Mapping[str, Any] | None:
        if state.last_round is None:
            return None
        return {"round": state.last_round, "cafes": state.last_cafes}

    def upcoming(
        self, config: Mapping[str, Any], tz: ZoneInfo, start: datetime, count: int
    ) -> list[tuple[datetime, str]]:
        cfg, _ = load_config(config)
        return [(at, "cafe.schedule.round") for at in cfg.recurrence(tz.key).occurrences(start, count)]
