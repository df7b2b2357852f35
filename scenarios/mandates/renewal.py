"""A role's renewal as the role says it is made: how many seats, among whom, who is left out
(those who reached `max_consecutive`, those whose term goes on), and the draw or election that
would fill them — proposed to the animateurs, started on their command or by itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.kernel.i18n import Code, Lines, Msg, Param, When
from bot.kernel.mandates import Mandate, MandatesView, RoleSpec
from bot.kernel.model import StartRitual
from bot.kernel.scenario import Context
from scenarios.sortition.pool import Quota

DRAW_KIND = "draw"
ELECTION_KIND = "election"


@dataclass(frozen=True)
class Plan:
    """What renewing a role means now."""

    spec: RoleSpec
    seats: int
    """Seats to fill: those vacant, and those whose term ends within the notice with no one
    chosen yet for the next."""
    starts: datetime
    """When the new terms begin (the first end among the terms renewed, or now)."""
    ending: tuple[Mandate, ...]
    pool: tuple[str, ...]
    """Who may be chosen, before anyone is left out."""
    excluded: tuple[str, ...]
    """Reached `max_consecutive` by the new term."""
    continuing: tuple[str, ...]
    """Hold (or are offered, or were chosen for) a seat of the role that goes on."""
    channel: str | None

    @property
    def eligible(self) -> list[str]:
        out = set(self.excluded) | set(self.continuing)
        return [k for k in self.pool if k not in out]

    @property
    def has_candidates(self) -> bool:
        """A draw needs as many people as seats; an election at least one."""
        wanted = self.seats if self.spec.renew_by == "tirage" else 1
        return len(self.eligible) >= wanted

    def start(self, by: str) -> StartRitual:
        """The draw or the election, as an animateur would type it."""
        spec = self.spec
        if spec.renew_by == "tirage":
            params: dict[str, object] = {
                "k": self.seats, "role": spec.name, "rotation": 0,
                "quotas": [q.as_params() for q in spec.quotas],
                # Who may not be drawn this time, with the rule's reason; the draw leaves them out
                # of its pool, says so and records it (so `draw verify` replays it).
                "exclude": [{"id": k, "reason": "max_consecutive"} for k in self.excluded]
                + [{"id": k, "reason": "holds_seat"} for k in self.continuing if k not in self.excluded],
            }
            if spec.group or spec.pool:
                params["pool"] = spec.group or spec.pool
            return StartRitual(kind=DRAW_KIND, by=by, channel=self.channel, params=params)
        params = {"role": spec.name}
        if spec.group:
            params["group"] = spec.group
        if spec.pool and spec.pool != self.channel:
            params["channels"] = [spec.pool]
        return StartRitual(kind=ELECTION_KIND, by=by, channel=self.channel, params=params)


def plan(ctx: Context, view: MandatesView, spec: RoleSpec, now: datetime, *, asked: bool = False) -> Plan:
    """The renewal of `spec` as things stand: at `notice` before terms end (or for vacant
    seats); `asked` (an animateur's command) renews the next terms to end even earlier."""
    holding = view.holding(spec.name, now)
    upcoming = view.upcoming(spec.name, now)
    offered = view.offered(spec.name)
    vacant = max(0, spec.seats - len(holding) - len(offered))
    ending = sorted((m for m in holding if m.ends_at - spec.notice <= now), key=lambda m: m.ends_at)
    if asked and not ending and not vacant and holding:
        # Asked ahead of the notice: the terms that end first (terms chosen together end together).
        first = min(m.ends_at for m in holding).date()
        ending = sorted((m for m in holding if m.ends_at.date() == first), key=lambda m: m.ends_at)
    # Successors already chosen take the seats that free first.
    ending = ending[len(upcoming):]
    seats = vacant + len(ending)
    starts = ending[0].ends_at if ending and not vacant else now
    channel = spec.channel or spec.pool or next(iter(ctx.channels), None)
    if spec.group:
        pool = [m.key for m in ctx.directory.circle(group=spec.group)]
    else:
        where = spec.pool or channel
        pool = [m.key for m in ctx.directory.circle(channels=[where] if where else [])]
    continuing = {m.member for m in [*holding, *upcoming, *offered] if m.member and m not in ending}
    # Who keeps a seat is left out for that; the limit is said of the others only.
    excluded = [k for k in pool if k not in continuing and spec.max_consecutive is not None
                and view.consecutive(spec.name, k, starts) >= spec.max_consecutive]
    return Plan(spec=spec, seats=seats, starts=starts, ending=tuple(ending), pool=tuple(pool),
                excluded=tuple(excluded), continuing=tuple(sorted(continuing)), channel=channel)


def pool_label(ctx: Context, p: Plan) -> Msg:
    if p.spec.group:
        return Msg("mandates.team.pool_group", name=p.spec.group)
    key = p.spec.pool or p.channel or ""
    info = ctx.channels.get(key)
    return Msg("mandates.team.pool_channel", name=info.name if info else key)


def proposal(ctx: Context, p: Plan) -> Msg:
    """What the renewal would be, in words: the draw (seats, pool, quotas) or the election, and
    who may not be chosen this time and why."""
    spec = p.spec
    parts: list[Param] = []
    if spec.renew_by == "tirage":
        quotas: Param = Msg("mandates.team.quotas", list=Lines(items=[
            Quota(q.attribute, q.value, q.min, q.max).describe() for q in spec.quotas], sep=", ")) if spec.quotas else ""
        parts.append(Msg("mandates.team.proposal_draw", seats=p.seats, pool=pool_label(ctx, p), quotas=quotas))
    else:
        parts.append(Msg("mandates.team.proposal_election", pool=pool_label(ctx, p)))
    if p.excluded and spec.max_consecutive is not None:
        parts.append(Msg("mandates.team.excluded", max=spec.max_consecutive,
                         names=Lines(items=[_name(ctx, k) for k in p.excluded], sep=", ")))
    return Msg("mandates.team.lines", lines=Lines(items=parts))


def command(spec: RoleSpec) -> Code:
    return Code(text=f"mandat renouveler {spec.name}")


def no_candidate(ctx: Context, p: Plan) -> Msg:
    needed = p.seats if p.spec.renew_by == "tirage" else 1
    return Msg("mandates.team.no_candidate", role=p.spec.name, pool=pool_label(ctx, p), eligible=len(p.eligible),
               needed=needed)


def ending_line(ctx: Context, p: Plan) -> Msg:
    names = Lines(items=[m.name for m in p.ending], sep=", ")
    return Msg("mandates.team.ending", names=names, until=When(at=p.starts, style="date"))


def _name(ctx: Context, key: str) -> str:
    member = ctx.directory.member(key)
    return member.name if member else key
