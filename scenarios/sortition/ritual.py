"""The draw ritual in chat: announce and commit, collect the seed, draw, ask, replace."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.kernel.commands import fold
from bot.kernel.i18n import Code, Lines, Link, Mention, Msg, When
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
from bot.kernel.register import page_link
from bot.kernel.scenario import CatchUp, Context, LogEntry, RitualKind, Scenario
from scenarios.sortition.commands import CLOSE, COMMANDS, COMMIT, PROBABILITY, REVEAL
from scenarios.sortition.draw import Exclusion, feasible, plan_draw
from scenarios.sortition.pool import (
    ORGANISATION,
    Person,
    Quota,
    SortitionError,
    expand_quotas,
    merge_quotas,
    parse_quota_token,
)
from scenarios.sortition.record import (
    DrawRecord,
    draw,
    largest_probability,
    new_record,
    probability_of,
    replace,
    smallest_probability,
)
from scenarios.sortition.seed import Contribution, commitment_of, matches, normalise_commitment

# --- configuration ------------------------------------------------------------------


class QuotaConfig(BaseModel):
    """`{attribute = "territoire", min = 1, max = 1}`; without `value`, for each value."""

    model_config = ConfigDict(extra="forbid")

    attribute: str
    value: str | None = None
    min: int = Field(0, ge=0)
    max: int | None = Field(None, ge=0)


def _quota_list(v: Any) -> Any:
    """Quotas may be written as in the command (`"territoire=1"`) or as tables."""
    if not isinstance(v, list):
        return v
    out: list[Any] = []
    for item in v:
        if isinstance(item, str):
            try:
                q = parse_quota_token(item)
            except SortitionError:
                raise ValueError(f"quota {item!r}: expected e.g. \"territoire=1\" or \"structure<=1\"") from None
            out.append({"attribute": q.attribute, "value": q.value, "min": q.min, "max": q.max})
        else:
            out.append(item)
    return out


class RoleConfig(BaseModel):
    """Settings of draws for one role (`[defaults.draw.roles."délégué"]`)."""

    model_config = ConfigDict(extra="forbid")

    size: int | None = Field(None, ge=1)
    group: str | None = None
    quotas: list[QuotaConfig] = Field(default_factory=list)
    rotation: int | None = Field(None, ge=0)
    balance: bool | None = None

    _quotas = field_validator("quotas", mode="before")(_quota_list)


class DrawConfig(BaseModel):
    """`[defaults.draw]` (command-started draws) or a `[[rituals]]` entry of kind "draw"."""

    model_config = ConfigDict(extra="forbid")

    role: str | None = None
    size: int | None = Field(None, ge=1)
    group: str | None = None
    quotas: list[QuotaConfig] = Field(default_factory=list)
    rotation: int = Field(1, ge=0)
    """Nobody drawn in the last `rotation` draws of the same role may be drawn."""
    balance: bool = True
    """Leximin over past selections plus this draw's chance (draws of the role in the log):
    who served less goes first. False: each draw on its own (plain leximin)."""
    min_contributors: int = Field(2, ge=1)
    commit_hours: float = Field(24.0, gt=0)
    reveal_hours: float = Field(24.0, gt=0)
    accept_hours: float = Field(72.0, gt=0)
    no_answer: Literal["replace", "accept"] = "replace"
    roles: dict[str, RoleConfig] = Field(default_factory=dict)

    _quotas = field_validator("quotas", mode="before")(_quota_list)

    def for_role(self, name: str) -> RoleConfig | None:
        for key in sorted(self.roles):
            if fold(key) == fold(name):
                return self.roles[key]
        return None


def _config(ctx: Context) -> DrawConfig:
    raw = {k: v for k, v in dict(ctx.config).items() if k not in ("id", "kind", "channels")}
    return DrawConfig.model_validate(raw)


# --- state ---------------------------------------------------------------------------

Phase = Literal["new", "commit", "reveal", "accept", "done", "cancelled"]


class DrawState(BaseModel):
    """Everything the draw remembers between events (stored by the engine as JSON)."""

    phase: Phase = "new"
    channel: str | None = None
    by: str | None = None
    title: str = ""
    record: DrawRecord | None = None
    contributions: list[Contribution] = Field(default_factory=list)
    extended: bool = False
    commit_until: datetime | None = None
    reveal_until: datetime | None = None
    pending: list[str] = Field(default_factory=list)
    """Drawn members who have not answered yet."""
    accepted: list[str] = Field(default_factory=list)


CONTRIBUTE = "contribute"
ACCEPT = "accept"
DECLINE = "decline"
ANNOUNCE, COMMIT_END, REVEAL_END = Ref(role="announce"), Ref(role="commit_end"), Ref(role="reveal_end")


def _percent(p: Fraction) -> float:
    return round(float(p) * 100, 2)


# --- the scenario ----------------------------------------------------------------------

Handler = Callable[[DrawState, Any, datetime], tuple[DrawState, list[Action]]]


class DrawScenario:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.config = _config(ctx)
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

    # -- helpers -------------------------------------------------------------------

    def mention(self, key: str) -> Mention:
        m = self.ctx.directory.member(key)
        return Mention(member=key, name=m.name if m else key)

    def mentions(self, keys: Sequence[str]) -> Lines:
        return Lines(items=[self.mention(k) for k in keys], sep=", ")

    def with_page(self, message: Msg) -> Msg:
        """The message, and the draw's page in the register when it is on the web."""
        page = page_link(self.ctx.network.register_url, "draw", self.ctx.number)
        return Msg("sortition.page.linked", message=message, link=Link(url=page)) if page else message

    def heading(self, state: DrawState) -> Msg:
        if state.title:
            return Msg("sortition.heading_role", number=self.ctx.number, role=state.title)
        return Msg("sortition.heading", number=self.ctx.number)

    def post(self, state: DrawState, text: Msg, **kw: Any) -> Post:
        assert state.channel is not None
        return Post(channel=state.channel, text=text, thread=ANNOUNCE, **kw)

    # -- start --------------------------------------------------------------------------

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

    def pool(
        self, asked: Any, role: Any, channel: str | None
    ) -> tuple[list[Person], Msg]:
        d = self.ctx.directory
        if isinstance(asked, str) and asked:
            name = asked.lstrip("#@")
            for key in sorted(self.ctx.channels):
                info = self.ctx.channels[key]
                if fold(name) in (fold(key), fold(info.name)):
                    return _persons(d.circle(channels=[key])), Msg("sortition.pool_channel", name=info.name)
            for g in sorted(d.groups):
                if fold(g) == fold(name):
                    return _persons(d.circle(group=g)), Msg("sortition.pool_group", name=g)
            raise SortitionError(Msg("sortition.error.unknown_pool", name=asked))
        group = (role.group if role is not None else None) or self.config.group
        if group:
            if group not in d.groups:
                raise SortitionError(Msg("sortition.error.unknown_pool", name=group))
            return _persons(d.circle(group=group)), Msg("sortition.pool_group", name=group)
        if channel is None:
            raise SortitionError(Msg("sortition.error.no_channel"))
        here = self.ctx.channels.get(channel)
        return _persons(d.circle(channels=[channel])), Msg(
            "sortition.pool_channel", name=here.name if here else channel
        )

    def rotation_advice(
        self, people: Sequence[Person], quotas: Sequence[Quota], k: int, past: Sequence[PastDraw], r: int
    ) -> Msg:
        """The longest rotation that still lets the quotas hold, for the animateur to choose."""
        for shorter in range(r - 1, -1, -1):
            out = {e.person.id for e in exclusions(past, shorter, people)}
            eligible = [p for p in people if p.id not in out]
            try:
                bounds = expand_quotas(quotas, people, k)
            except SortitionError:
                break
            if feasible(eligible, bounds, k):
                return Msg("sortition.rotation.advice", rotation=shorter)
        return Msg("sortition.rotation.no_advice")

    def announcement(
        self, state: DrawState, r: DrawRecord, pool_name: Msg, rotation: int, until: datetime
    ) -> Msg:
        quotas = [
            Msg("sortition.bullet", item=Quota(q.attribute, q.value, q.min, q.max).describe())
            for q in r.quotas
        ]
        notes: list[Msg] = [
            Msg("sortition.announce.excluded", rotation=rotation, count=len(r.excluded),
                who=self.mentions([e.id for e in r.excluded]))
            if r.excluded
            else Msg("sortition.announce.none_excluded", rotation=rotation)
        ]
        zero = [m for m, p in r.probabilities.items() if Fraction(p) == 0]
        if zero:
            notes.append(Msg("sortition.announce.zero", count=len(zero), who=self.mentions(zero)))
        return Msg(
            "sortition.announce.text",
            heading=self.heading(state),
            k=r.k,
            pool=pool_name,
            n=len(r.pool),
            notes=Lines(items=list(notes)),
            quotas=Lines(items=list(quotas)) if quotas else Msg("sortition.announce.no_quotas"),
            smallest=_percent(smallest_probability(r)),
            largest=_percent(largest_probability(r)),
            balance=Msg("sortition.announce.balance") if r.history else Msg("sortition.announce.plain"),
            pool_hash=Code(text=r.hashes.pool),
            quotas_hash=Code(text=r.hashes.quotas),
            lottery_hash=Code(text=r.hashes.lottery),
            draw_hash=Code(text=r.hashes.draw),
            algorithm=Code(text=r.algorithm),
            until=When(at=until, style="short"),
            needed=self.config.min_contributors,
        )

    # -- commands --------------------------------------------------------------------------

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

    def probability(self, r: DrawRecord, member: str) -> Msg:
        p = probability_of(r, member)
        if p is not None:
            same = sum(1 for q in r.probabilities.values() if q == r.probabilities[member]) - 1
            return Msg(
                "sortition.probability.yours",
                percent=_percent(p),
                fraction=Code(text=r.probabilities[member]),
                same=same,
                smallest=_percent(smallest_probability(r)),
                largest=_percent(largest_probability(r)),
                k=r.k,
                n=len(r.pool),
            )
        for e in r.excluded:
            if e.id == member:
                return Msg("sortition.probability.excluded", draw=e.draw or 0)
        return Msg("sortition.probability.not_in_pool")

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
        return self.add_commitment(state, Contribution(member=member, commitment=digest))

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
        return state, actions

    # -- seed phases --------------------------------------------------------------------------

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

    # -- the draw and the answers ---------------------------------------------------------------

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
        return state, actions

    def accepted(self, state: DrawState, member: str) -> tuple[DrawState, list[Action]]:
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
        return self.maybe_done(state, actions)

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
        return self.maybe_done(state, actions)

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

    # -- timers -------------------------------------------------------------------------------

    def on_timer(self, state: DrawState, ev: TimerFired, now: datetime) -> tuple[DrawState, list[Action]]:
        if ev.name == COMMIT_END and state.phase == "commit":
            return self.close_commit(state, now)
        if ev.name == REVEAL_END and state.phase == "reveal":
            return self.close_reveal(state, now)
        if ev.name.role == "accept" and (member := ev.name.member) is not None and state.phase == "accept":
            if member not in state.pending:
                return state, []
            if self.config.no_answer == "accept":
                return self.accepted(state, member)
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


def _persons(members: Sequence[Any]) -> list[Person]:
    out: list[Person] = []
    for m in members:
        attrs = dict(m.attributes)
        if m.organisation and ORGANISATION not in attrs:
            attrs[ORGANISATION] = m.organisation
        out.append(Person(m.key, attrs))
    return out


# --- rotation from the network's log -------------------------------------------------------


class PastDraw(BaseModel):
    number: int
    at: datetime
    final_panel: list[str]


def previous_draws(log: Sequence[LogEntry], role: str) -> list[PastDraw]:
    """Earlier draws of the same role, oldest first; the latest record of each draw wins
    (a draw records when drawn, then when its panel is settled)."""
    latest: dict[int, LogEntry] = {}
    for e in log:
        if e.kind != "draw" or e.ritual_kind != "draw":
            continue
        if fold(str(e.summary.get("role", ""))) != fold(role):
            continue
        if e.ritual_number not in latest or latest[e.ritual_number].at <= e.at:
            latest[e.ritual_number] = e
    draws = [
        PastDraw(number=n, at=e.at, final_panel=sorted(str(m) for m in e.summary.get("final_panel", [])))
        for n, e in latest.items()
        if e.summary.get("status") != "cancelled"
    ]
    return sorted(draws, key=lambda d: (d.at, d.number))


def exclusions(past: Sequence[PastDraw], rotation: int, people: Sequence[Person]) -> list[Exclusion]:
    """Members of the pool drawn in the last `rotation` draws of the role."""
    if rotation <= 0:
        return []
    by_id = {p.id: p for p in people}
    out: dict[str, Exclusion] = {}
    for d in past[-rotation:]:
        for m in d.final_panel:
            if m in by_id:
                out[m] = Exclusion(by_id[m], "rotation", d.number)
    return [out[m] for m in sorted(out)]


def history_counts(past: Sequence[PastDraw], pool: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in past:
        for m in d.final_panel:
            if m in pool:
                counts[m] = counts.get(m, 0) + 1
    return dict(sorted(counts.items()))


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
