"""The draw ritual in chat: its commands and events routed to the draw's steps (announce,
seed, panel), one draw per role at a time, and the kind the engine knows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel

from bot.kernel.commands import fold
from bot.kernel.i18n import Msg
from bot.kernel.model import (
    Action,
    Choice,
    Chose,
    Command,
    DirectMessage,
    Event,
    Finish,
    Post,
    PrivateNote,
    Ref,
    Replied,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import CatchUp, Context, RitualKind, Scenario
from scenarios.sortition.commands import CANCEL, CLOSE, COMMANDS, COMMIT, PROBABILITY, REVEAL
from scenarios.sortition.draw import plan_draw
from scenarios.sortition.pool import (
    Quota,
    SortitionError,
    merge_quotas,
)
from scenarios.sortition.record import new_record
from scenarios.sortition.rotation import (
    asked_exclusions,
    exclusions,
    history_counts,
    previous_draws,
)
from scenarios.sortition.seeding import DrawSeeding
from scenarios.sortition.settings import DrawConfig
from scenarios.sortition.state import (
    ACCEPT,
    ANNOUNCE,
    COMMIT_END,
    CONTRIBUTE,
    DECLINE,
    REVEAL_END,
    RUNNING,
    DrawState,
)

__all__ = ["DrawConfig", "DrawKind", "DrawScenario", "DrawState"]

Handler = Callable[[DrawState, Any, datetime], tuple[DrawState, list[Action]]]


class DrawScenario(DrawSeeding):
    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.handlers: dict[str, Handler] = {
            "started": self.on_started,
            "command": self.on_command,
            "chose": self.on_chose,
            "replied": self.on_replied,
            "timer": self.on_timer,
        }

    def handle(self, state: DrawState, event: Event, now: datetime) -> tuple[DrawState, list[Action]]:
        handler = self.handlers.get(event.type)
        if handler is None:
            return state, []
        return handler(state, event, now)

    def on_started(self, state: DrawState, ev: Started, now: datetime) -> tuple[DrawState, list[Action]]:
        if ev.by is None:
            # A `[[rituals]]` entry of kind "draw" would be started by the engine at every boot:
            # draws start by command only; their defaults live in `[defaults.draw]`.
            return state.model_copy(update={"phase": "cancelled"}), [Finish(outcome="by_command_only")]
        params = dict(ev.params)
        channel = ev.channel or next(iter(self.ctx.ritual_channels), None)
        by = ev.by.key
        try:
            return self.start(params, channel, by, now)
        except SortitionError as e:
            note = PrivateNote(member=by, channel=channel or "dm", text=e.msg)
            return state.model_copy(update={"phase": "cancelled"}), [note, Finish(outcome="rejected")]

    def start(
        self, params: Mapping[str, Any], channel: str | None, by: str, now: datetime
    ) -> tuple[DrawState, list[Action]]:
        cfg = self.config
        title = str(params.get("role") or cfg.role or "")
        role = cfg.for_role(title) if title else None
        k = params.get("k") or (role.size if role else None) or cfg.size
        if not isinstance(k, int):
            raise SortitionError(Msg("sortition.cmd.missing_k"))
        people, pool_name = self.pool(params.get("pool"), role, channel)
        base = [Quota(q.attribute, q.value, q.min, q.max) for q in cfg.quotas]
        if role is not None and role.quotas:
            base = merge_quotas(base, [Quota(q.attribute, q.value, q.min, q.max) for q in role.quotas])
        typed = [Quota(q["attribute"], q["value"], q["min"], q["max"]) for q in params.get("quotas", [])]
        quotas = merge_quotas(base, typed)
        rotation = params.get("rotation")
        if rotation is None:
            rotation = role.rotation if role is not None and role.rotation is not None else cfg.rotation
        balance = bool(params.get("balance")) or (
            role.balance if role is not None and role.balance is not None else cfg.balance
        )
        self.refuse_a_second_draw(title)
        past = previous_draws(self.ctx.log, title)
        pool_ids = {p.id for p in people}
        # Who the starter leaves out (the mandates ritual: who reached max_consecutive or keeps
        # a seat) first, with their reason; rotation adds those drawn lately.
        asked = asked_exclusions(params.get("exclude"), people)
        out = {e.person.id for e in asked}
        excluded = [*asked, *(e for e in exclusions(past, rotation, people) if e.person.id not in out)]
        try:
            plan = plan_draw(
                people,
                quotas,
                k,
                excluded=excluded,
                offsets=history_counts(past, pool_ids) if balance else None,
            )
        except SortitionError as e:
            if e.msg.key == "sortition.rotation.conflict" and asked:
                raise SortitionError(Msg("sortition.exclude.refused", why=e.msg)) from None
            if e.msg.key == "sortition.rotation.conflict":
                raise SortitionError(
                    Msg("sortition.rotation.refused", why=e.msg,
                        advice=self.rotation_advice(people, quotas, k, past, rotation))
                ) from None
            raise
        record = new_record(plan, title)
        if channel is None:
            raise SortitionError(Msg("sortition.error.no_channel"))
        commit_until = now + timedelta(hours=cfg.commit_hours)
        state = DrawState(
            phase="commit",
            channel=channel,
            by=by,
            title=title,
            record=record,
            commit_until=commit_until,
        )
        caps = self.ctx.capabilities(channel)
        announce = Post(
            channel=channel,
            ref=ANNOUNCE,
            text=self.announcement(state, record, pool_name, rotation, commit_until),
            choices=[Choice(id=CONTRIBUTE, label=Msg("sortition.seed.button"), emoji="🎲")],
            choice_style=caps.choice_style(),
        )
        # The technical layer (how it is fair, the commitments) goes in the announcement's thread.
        details = Post(channel=channel, thread=ANNOUNCE, text=self.details(record))
        return state, [announce, details, SetTimer(name=COMMIT_END, due_at=commit_until)]

    def refuse_a_second_draw(self, title: str) -> None:
        """Two draws for the same role at once would each think the other's people free."""
        if not title:
            return
        for r in self.ctx.open_rituals:
            if r.kind != DrawKind.name or r.summary.get("phase") not in RUNNING:
                continue
            if fold(str(r.summary.get("role") or "")) == fold(title):
                raise SortitionError(Msg("sortition.error.already_running", role=title, number=r.number))

    def on_command(self, state: DrawState, ev: Command, now: datetime) -> tuple[DrawState, list[Action]]:
        def note(msg: Msg) -> list[Action]:
            return [PrivateNote(member=ev.member.key, channel=ev.channel, text=msg, reply_to=ev.reply_to)]

        if state.record is None:
            return state, []
        if ev.name == PROBABILITY.name:
            return state, note(self.probability(state.record, ev.member.key))
        if ev.name == COMMIT.name:
            return self.commit(state, ev.member.key, str(ev.args.get("commitment", "")), note)
        if ev.name == REVEAL.name:
            return self.reveal(state, ev.member.key, str(ev.args.get("secret", "")), note, now)
        if ev.name == CANCEL.name:
            if state.phase not in RUNNING:
                return state, note(Msg("sortition.close.nothing"))
            # Any animateur may cancel a draw (the command is theirs), not only who started it:
            # the starter may be away, and the message says who did it.
            # Named, not mentioned: the edit need not ping them.
            return self.cancel(state, Msg("sortition.cancel.by", who=ev.member.name), by=ev.member.key)
        if ev.name == CLOSE.name:
            if state.phase == "commit":
                return self.close_commit(state, now, early=True, note=note)
            if state.phase == "reveal":
                return self.close_reveal(state, now)
            return state, note(Msg("sortition.close.nothing"))
        return state, []

    def on_chose(self, state: DrawState, ev: Chose, now: datetime) -> tuple[DrawState, list[Action]]:
        member = ev.member.key
        if ev.ref == ANNOUNCE and ev.choice == CONTRIBUTE:
            if state.phase != "commit":
                return state, [DirectMessage(member=member, text=Msg("sortition.seed.commit_closed"))]
            return state, [
                DirectMessage(
                    member=member,
                    ref=Ref(role="secret", member=member),
                    text=Msg("sortition.seed.ask_secret", heading=self.heading(state)),
                    expects_reply=True,
                )
            ]
        if ev.ref == Ref(role="ask", member=member) and ev.choice in (ACCEPT, DECLINE) and member in state.pending:
            if ev.choice == ACCEPT:
                return self.accepted(state, member, via=ev.via)
            return self.declined(state, member, "declined", now, via=ev.via)
        return state, []

    def on_replied(self, state: DrawState, ev: Replied, now: datetime) -> tuple[DrawState, list[Action]]:
        member = ev.member.key
        if ev.ref != Ref(role="secret", member=member):
            return state, []
        return self.secret(state, member, ev.text, ev.ref)

    def on_timer(self, state: DrawState, ev: TimerFired, now: datetime) -> tuple[DrawState, list[Action]]:
        if ev.name == COMMIT_END and state.phase == "commit":
            return self.close_commit(state, now)
        if ev.name == REVEAL_END and state.phase == "reveal":
            return self.close_reveal(state, now)
        if ev.name.role == "accept" and (member := ev.name.member) is not None and state.phase == "accept":
            if member not in state.pending:
                return state, []
            if self.config.no_answer == "accept":
                return self.accepted(state, member, by_default=True)
            return self.declined(state, member, "no_answer", now)
        return state, []


class DrawKind(RitualKind[DrawState]):
    name: ClassVar[str] = "draw"
    state_type = DrawState
    config_model: ClassVar[type[BaseModel] | None] = DrawConfig
    catch_up: ClassVar[CatchUp] = CatchUp(
        None,
        "deadlines act even when late: the seed phases close and the draw happens with what "
        "was received before the deadline; late acceptance deadlines replace who did not answer",
    )
    commands = COMMANDS
    reads_log: ClassVar[bool] = True
    configurable: ClassVar[bool] = False
    cpu_heavy: ClassVar[bool] = True

    def bind(self, ctx: Context) -> Scenario[DrawState]:
        return DrawScenario(ctx)

    def summarize(self, state: DrawState) -> Mapping[str, Any] | None:
        if state.record is None:
            return None
        return {
            "role": state.title,
            "phase": state.phase,
            "k": state.record.k,
            "panel": list(state.record.final_panel),
        }
