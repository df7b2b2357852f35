"""A seat freed before its term ends (a resignation, a seat declined): offered privately to the
next person on the reserve list of the draw that filled it, as the draw itself replaces those
who decline; else the animateurs are told that a new choice is needed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal

from pydantic import ValidationError

from bot.kernel.i18n import Code, Msg, When
from bot.kernel.mandates import RECORD_KIND, Mandate, MandateChange, MandatesView, RoleSpec, Why
from bot.kernel.model import Action, Choice, DirectMessage, Record, Ref, SetTimer
from bot.kernel.scenario import Context
from scenarios.mandates.state import MandatesState, Offer
from scenarios.sortition.record import DrawRecord
from scenarios.sortition.record import replace as replace_on_panel

ACCEPT, DECLINE = "accept", "decline"
OFFER = "offer"
"""The role of an offer's message and of its answer's deadline (`Ref(role=OFFER, member=…)`)."""
DEFAULT_ACCEPT_HOURS = 72.0
MAX_SKIPPED = 50
"""How many people of a reserve list an offer may pass over (gone from the network meanwhile)."""


def record(change: MandateChange) -> Record:
    return Record(kind=RECORD_KIND, summary=change.model_dump(mode="json"))


def team(ctx: Context, text: Msg) -> list[Action]:
    """The animateurs, privately: never the whole network."""
    return [DirectMessage(member=k, text=text) for k in sorted(ctx.network.roles.get("animateur", ()))]


def ended(view: MandatesView, m: Mandate, now: datetime, why: Why) -> MandatesView:
    """The view as it will be once `m` ends (the store changes when this event commits)."""
    return replace(view, mandates=tuple(replace(x, status="ended", ended_at=now, why=why) if x.id == m.id else x
                                        for x in view.mandates))


def accept_hours(ctx: Context) -> float:
    draw = ctx.network.settings.get("draw")
    hours = draw.get("accept_hours") if isinstance(draw, dict) else None
    return float(hours) if isinstance(hours, int | float) and hours > 0 else DEFAULT_ACCEPT_HOURS


def next_on_reserve(ctx: Context, state: MandatesState, number: int, leaving: str, why: Why,
                    skip: Collection[str] = ()) -> tuple[MandatesState, str | None]:
    """Who takes `leaving`'s seat on draw #`number`'s panel by the draw's own rule (the next on
    its reserve list who keeps every quota), passing over anyone no longer in the network and
    those `skip` names (who reached the role's `max_consecutive`)."""
    raw = state.reserves.get(str(number)) or ctx.mandates.draws.get(number)
    if raw is None:
        return state, None
    try:
        r = DrawRecord.model_validate(raw)
    except ValidationError:
        return state, None
    reason: Literal["declined", "no_answer"] = "no_answer" if why == "no_answer" else "declined"
    found: str | None = None
    for _ in range(MAX_SKIPPED):
        r, added = replace_on_panel(r, leaving, reason)
        if not added:
            break
        candidate = ctx.directory.member(added[0])
        if candidate is not None and not candidate.opted_out and not candidate.is_bot and added[0] not in skip:
            found = added[0]
            break
        # Gone from the network since the draw, or not to serve again yet: passed over.
        leaving, reason = added[0], "no_answer"
    reserves = {**state.reserves, str(number): r.model_dump(mode="json")}
    return state.model_copy(update={"reserves": reserves}), found


def fill(ctx: Context, state: MandatesState, spec: RoleSpec, freed: Mandate, leaving: str, now: datetime,
         why: Why) -> tuple[MandatesState, list[Action], str | None]:
    """Offer the freed seat to the next on the reserve list when a draw filled it. Returns the
    new state, the actions (the offer, its record and deadline) and who was offered (None:
    nobody, a new choice is needed)."""
    if freed.how != "draw" or freed.ritual_number is None:
        return state, [], None
    number = freed.ritual_number
    starts = max(now, freed.started_at or now)
    limit = spec.max_consecutive
    skip = {m.member for m in ctx.mandates.of_role(spec.name) if m.member and limit is not None
            and ctx.mandates.consecutive(spec.name, m.member, starts) >= limit}
    state, who = next_on_reserve(ctx, state, number, leaving, why, skip)
    if who is None:
        return state, [], None
    # The offer's place in the order of the draw's offers (those made earlier are rows already).
    rank = 1 + sum(1 for m in ctx.mandates.of_role(spec.name) if m.ritual_number == number and m.reserve_rank)
    until = now + timedelta(hours=accept_hours(ctx))
    # A seat offered and declined is still the seat of the mandate that freed it first.
    replaces = freed.replaces if freed.status == "offered" and freed.replaces is not None else freed.id
    offer = Offer(role=spec.name, member=who, draw=number, rank=rank, starts_at=starts, ends_at=freed.ends_at,
                  replaces=replaces, until=until)
    state = state.model_copy(update={"offers": [*state.offers, offer]})
    ref = Ref(role=OFFER, member=who)
    style = ctx.capabilities(spec.channel or spec.pool or "").choice_style()
    actions: list[Action] = [
        record(MandateChange(op="offer", role=spec.name, member=who, draw=number, rank=rank, starts_at=starts,
                             ends_at=freed.ends_at, replaces=offer.replaces)),
        DirectMessage(member=who, ref=ref, choice_style=style,
                      text=Msg("mandates.offer.ask", role=spec.name, number=number,
                               until=When(at=freed.ends_at, style="date"), deadline=When(at=until, style="short")),
                      choices=[Choice(id=ACCEPT, label=Msg("mandates.offer.yes"), emoji="✅"),
                               Choice(id=DECLINE, label=Msg("mandates.offer.no"), emoji="❌")]),
        SetTimer(name=ref, due_at=until),
    ]
    return state, actions, who


def renew_hint(spec: RoleSpec) -> Msg:
    return Msg("mandates.team.renew_hint", command=Code(text=f"mandat renouveler {spec.name}"))
