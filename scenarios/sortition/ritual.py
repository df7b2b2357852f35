"""The draw ritual in chat: announce and commit, collect the seed, draw, ask, replace."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from bot.kernel.i18n import Code, Lines, Msg, When
from bot.kernel.inputs import SECRET, too_long
from bot.kernel.model import (
    Action,
    CancelTimer,
    Choice,
    Chose,
    Command,
    DirectMessage,
    Event,
    Finish,
    Post,
    PrivateNote,
    Record,
    Ref,
    Replied,
    SetTimer,
    Started,
    TimerFired,
)
from bot.kernel.scenario import CatchUp, Context, RitualKind, Scenario
from scenarios.sortition.commands import CLOSE, COMMANDS, COMMIT, PROBABILITY, REVEAL
from scenarios.sortition.draw import plan_draw
from scenarios.sortition.pool import (
    Quota,
    SortitionError,
    merge_quotas,
)
from scenarios.sortition.record import (
    draw,
    new_record,
    replace,
)
from scenarios.sortition.rotation import exclusions, history_counts, previous_draws
from scenarios.sortition.seed import Contribution, commitment_of, matches, normalise_commitment
from scenarios.sortition.settings import DrawConfig
from scenarios.sortition.state import (
    ACCEPT,
    ANNOUNCE,
    COMMIT_END,
    CONTRIBUTE,
    DECLINE,
    REVEAL_END,
    DrawState,
    acceptance,
    contribution,
)
from scenarios.sortition.texts import DrawTexts

__all__ = ["DrawConfig", "DrawKind", "DrawScenario", "DrawState"]

Handler = Callable[[DrawState, Any, datetime], tuple[DrawState, list[Action]]]


class DrawScenario(DrawTexts):
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
        past = previous_draws(self.ctx.log, title)
        pool_ids = {p.id for p in people}
        try:
            plan = plan_draw(
                people,
                quotas,
                k,
                excluded=exclusions(past, rotation, people),
                offsets=history_counts(past, pool_ids) if balance else None,
            )
        except SortitionError as e:
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
        return state, [announce, SetTimer(name=COMMIT_END, due_at=commit_until)]

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
        if ev.name == CLOSE.name:
            if state.phase == "commit":
                return self.close_commit(state, now, early=True, note=note)
            if state.phase == "reveal":
                return self.close_reveal(state, now)
            return state, note(Msg("sortition.close.nothing"))
        return state, []

    def commit(
        self, state: DrawState, member: str, text: str, note: Callable[[Msg], list[Action]]
    ) -> tuple[DrawState, list[Action]]:
        if state.phase != "commit":
            return state, note(Msg("sortition.seed.commit_closed"))
        digest = normalise_commitment(text)
        if digest is None:
            return state, note(Msg("sortition.seed.not_a_commitment", example=Code(text=commitment_of("exemple"))))
        if any(c.commitment == digest and c.member != member for c in state.contributions):
            return state, note(Msg("sortition.seed.duplicate"))
        c = Contribution(member=member, commitment=digest)
        state, actions = self.add_commitment(state, c)
        return state, [*actions, contribution(c)]

    def add_commitment(self, state: DrawState, c: Contribution) -> tuple[DrawState, list[Action]]:
        others = [x for x in state.contributions if x.member != c.member]
        contributions = sorted([*others, c], key=lambda x: x.member)
        state = state.model_copy(update={"contributions": contributions})
        assert c.commitment is not None
        msg = Msg(
            "sortition.seed.committed",
            member=self.mention(c.member),
            commitment=Code(text=c.commitment),
            count=len(contributions),
            needed=self.config.min_contributors,
        )
        return state, [self.post(state, msg)]

    def reveal(
        self,
        state: DrawState,
        member: str,
        secret: str,
        note: Callable[[Msg], list[Action]],
        now: datetime,
    ) -> tuple[DrawState, list[Action]]:
        if state.phase == "commit":
            return state, note(Msg("sortition.seed.reveal_too_early"))
        if state.phase != "reveal":
            return state, note(Msg("sortition.seed.reveal_closed"))
        mine = next((c for c in state.contributions if c.member == member), None)
        if mine is None:
            return state, note(Msg("sortition.seed.no_commitment"))
        if mine.status == "revealed":
            return state, note(Msg("sortition.seed.already_revealed"))
        secret = secret.strip()
        if not matches(mine, secret):
            return state, note(
                Msg("sortition.seed.mismatch", got=Code(text=commitment_of(secret)),
                    expected=Code(text=mine.commitment or ""))
            )
        updated = [
            c.model_copy(update={"secret": secret, "status": "revealed"}) if c.member == member else c
            for c in state.contributions
        ]
        state = state.model_copy(update={"contributions": updated})
        actions: list[Action] = [self.post(state, Msg("sortition.seed.revealed", member=self.mention(member)))]
        if all(c.status == "revealed" for c in updated):
            state, more = self.perform(state, now)
            actions += more
        return state, [*actions, contribution(next(c for c in updated if c.member == member))]

    def close_commit(
        self,
        state: DrawState,
        now: datetime,
        early: bool = False,
        note: Callable[[Msg], list[Action]] | None = None,
    ) -> tuple[DrawState, list[Action]]:
        count = len(state.contributions)
        needed = self.config.min_contributors
        if count < needed:
            if early and note is not None:
                return state, note(Msg("sortition.seed.not_enough_yet", count=count, needed=needed))
            if not state.extended:
                until = now + timedelta(hours=self.config.commit_hours)
                state = state.model_copy(update={"extended": True, "commit_until": until})
                return state, [
                    self.post(state, Msg("sortition.seed.extended", count=count, needed=needed,
                                         until=When(at=until, style="short"))),
                    SetTimer(name=COMMIT_END, due_at=until),
                ]
            return self.cancel(state, Msg("sortition.seed.cancelled", count=count, needed=needed))
        # Secrets given privately to the bot are revealed by the bot at once.
        updated = [
            c.model_copy(update={"status": "revealed"}) if c.assisted else c for c in state.contributions
        ]
        until = now + timedelta(hours=self.config.reveal_hours)
        state = state.model_copy(update={"contributions": updated, "phase": "reveal", "reveal_until": until})
        actions: list[Action] = [CancelTimer(name=COMMIT_END)]
        waiting = [c.member for c in updated if c.status != "revealed"]
        if not waiting:
            more_state, more = self.perform(state, now)
            return more_state, actions + more
        actions += [
            self.post(state, Msg("sortition.seed.reveal_phase", who=self.mentions(waiting),
                                 until=When(at=until, style="short"))),
            SetTimer(name=REVEAL_END, due_at=until),
        ]
        return state, actions

    def close_reveal(self, state: DrawState, now: datetime) -> tuple[DrawState, list[Action]]:
        missing = [c.member for c in state.contributions if c.status != "revealed"]
        updated = [
            c if c.status == "revealed" else c.model_copy(update={"status": "missing"})
            for c in state.contributions
        ]
        state = state.model_copy(update={"contributions": updated})
        actions: list[Action] = [CancelTimer(name=REVEAL_END)]
        if not any(c.status == "revealed" for c in updated):
            state, more = self.cancel(state, Msg("sortition.seed.nobody_revealed"))
            return state, actions + more
        if missing:
            actions.append(self.post(state, Msg("sortition.seed.missing", who=self.mentions(missing))))
        state, more = self.perform(state, now)
        return state, actions + more

    def cancel(self, state: DrawState, why: Msg) -> tuple[DrawState, list[Action]]:
        state = state.model_copy(update={"phase": "cancelled"})
        return state, [
            self.post(state, Msg("sortition.cancelled", heading=self.heading(state), why=why)),
            Record(kind="draw", summary=self.summary(state, "cancelled")),
            Finish(outcome="cancelled"),
        ]

    def perform(self, state: DrawState, now: datetime) -> tuple[DrawState, list[Action]]:
        assert state.record is not None
        r = draw(state.record, state.contributions)
        state = state.model_copy(update={"record": r, "phase": "accept"})
        assert r.seed is not None and r.ticket is not None
        counted = [c.member for c in r.contributions if c.status == "revealed"]
        result = Msg(
            "sortition.result",
            heading=self.heading(state),
            panel=Lines(items=[self.mention(m) for m in r.panel]),
            seed=Code(text=r.seed),
            contributors=self.mentions(counted),
            ticket=r.ticket + 1,
            size=r.lottery.size,
        )
        actions: list[Action] = [Post(channel=state.channel or "", text=self.with_page(result))]
        actions.append(Record(kind="draw", summary=self.summary(state, "drawn")))
        state, asks = self.ask(state, r.panel, now)
        return state, actions + asks

    def ask(self, state: DrawState, members: Sequence[str], now: datetime) -> tuple[DrawState, list[Action]]:
        until = now + timedelta(hours=self.config.accept_hours)
        actions: list[Action] = []
        for m in members:
            actions.append(
                DirectMessage(
                    member=m,
                    ref=Ref(role="ask", member=m),
                    text=Msg("sortition.accept.ask", heading=self.heading(state),
                             until=When(at=until, style="short")),
                    choices=[
                        Choice(id=ACCEPT, label=Msg("sortition.accept.yes"), emoji="✅"),
                        Choice(id=DECLINE, label=Msg("sortition.accept.no"), emoji="❌"),
                    ],
                    choice_style=self.ctx.capabilities(state.channel or "").choice_style(),
                )
            )
            actions.append(SetTimer(name=Ref(role="accept", member=m), due_at=until, payload={"member": m}))
        pending = sorted(set(state.pending) | set(members))
        return state.model_copy(update={"pending": pending}), actions

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
                return self.accepted(state, member)
            return self.declined(state, member, "declined", now)
        return state, []

    def on_replied(self, state: DrawState, ev: Replied, now: datetime) -> tuple[DrawState, list[Action]]:
        member = ev.member.key
        if ev.ref != Ref(role="secret", member=member):
            return state, []
        secret = ev.text.strip()
        if state.phase != "commit":
            return state, [DirectMessage(member=member, text=Msg("sortition.seed.commit_closed"))]
        if not secret:
            return state, [DirectMessage(member=member, text=Msg("sortition.seed.empty_secret"),
                                         ref=ev.ref, expects_reply=True)]
        long = too_long(secret, SECRET)
        if long is not None:
            # The secret is published in the record at the reveal: it keeps the stated size.
            return state, [DirectMessage(member=member, text=long, ref=ev.ref, expects_reply=True)]
        c = Contribution(member=member, commitment=commitment_of(secret), secret=secret, assisted=True)
        if any(x.commitment == c.commitment and x.member != member for x in state.contributions):
            return state, [DirectMessage(member=member, text=Msg("sortition.seed.duplicate"))]
        state, actions = self.add_commitment(state, c)
        actions.append(
            DirectMessage(member=member, text=Msg("sortition.seed.thanks", commitment=Code(text=c.commitment or "")))
        )
        return state, [*actions, contribution(c)]

    def accepted(self, state: DrawState, member: str, by_default: bool = False) -> tuple[DrawState, list[Action]]:
        state = state.model_copy(
            update={
                "pending": [m for m in state.pending if m != member],
                "accepted": sorted({*state.accepted, member}),
            }
        )
        actions: list[Action] = [
            CancelTimer(name=Ref(role="accept", member=member)),
            DirectMessage(member=member, text=Msg("sortition.accept.thanks")),
            self.post(state, Msg("sortition.accept.accepted", member=self.mention(member))),
        ]
        state, actions = self.maybe_done(state, actions)
        return state, [*actions, acceptance(member, "accepted", by_default)]

    def declined(
        self, state: DrawState, member: str, reason: Literal["declined", "no_answer"], now: datetime
    ) -> tuple[DrawState, list[Action]]:
        assert state.record is not None
        r, added = replace(state.record, member, reason)
        state = state.model_copy(
            update={"record": r, "pending": [m for m in state.pending if m != member]}
        )
        actions: list[Action] = [CancelTimer(name=Ref(role="accept", member=member))]
        if reason == "declined":
            actions.append(DirectMessage(member=member, text=Msg("sortition.accept.noted")))
        key = "sortition.replace.declined" if reason == "declined" else "sortition.replace.no_answer"
        if added:
            actions.append(self.post(state, Msg(key, member=self.mention(member),
                                                 replacement=Msg("sortition.replace.by", who=self.mentions(added)))))
            state, asks = self.ask(state, added, now)
            actions += asks
        else:
            actions.append(self.post(state, Msg(key, member=self.mention(member),
                                                 replacement=Msg("sortition.replace.nobody"))))
        state, actions = self.maybe_done(state, actions)
        return state, [*actions, acceptance(member, reason)]

    def maybe_done(self, state: DrawState, actions: list[Action]) -> tuple[DrawState, list[Action]]:
        assert state.record is not None
        if state.pending:
            return state, actions
        r = state.record
        complete = len(r.final_panel) == r.k
        state = state.model_copy(update={"phase": "done"})
        actions += [
            Post(
                channel=state.channel or "",
                text=self.with_page(Msg(
                    "sortition.final" if complete else "sortition.final_incomplete",
                    heading=self.heading(state),
                    panel=Lines(items=[self.mention(m) for m in r.final_panel]),
                    count=len(r.final_panel),
                    k=r.k,
                )),
            ),
            Record(kind="draw", summary=self.summary(state, "done" if complete else "incomplete")),
            Finish(outcome="done" if complete else "incomplete"),
        ]
        return state, actions

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

    def summary(self, state: DrawState, status: str) -> dict[str, Any]:
        r = state.record
        return {
            "role": state.title,
            "status": status,
            "k": r.k if r else 0,
            "panel": list(r.panel) if r else [],
            "final_panel": list(r.final_panel) if r else [],
            "record": r.model_dump(mode="json") if r else None,
        }


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
