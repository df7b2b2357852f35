"""Mandates follow the rituals: an election's or a draw's `Record` for a declared role creates
the mandates in the transaction that appends it to the log (as the register is projected),
the mandates ritual's own records change seats, an animateur's `role donner` appoints; rituals
and queries read them back as a typed view, names as the directory says them now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot.config.roles import MANDATES_KIND
from bot.engine.directory import People
from bot.engine.register import pseudonym
from bot.engine.tx import Ritual, Tx
from bot.kernel.i18n import Lines, Msg, When
from bot.kernel.inputs import CommandError
from bot.kernel.mandates import (
    RECORD_KIND,
    WAKE,
    How,
    Mandate,
    MandateChange,
    MandatesView,
    RoleSpec,
    find_role,
)
from bot.kernel.model import Record
from bot.store.forget_rows import forgotten_number
from bot.store.mandate_rows import MandateNew, MandateRow
from bot.store.ports import Unit
from bot.store.rows import TimerSet

DRAW_SETTLED = frozenset({"done", "incomplete"})
"""A draw's statuses once its panel is settled (everyone drawn accepted, or was replaced)."""


async def load_mandates(unit: Unit, people: People, locale: str) -> MandatesView:
    """Every mandate of the network, the declared roles, and the published records of the
    draws whose mandates are held or offered (their reserve lists may fill a seat)."""
    rows = await unit.mandates.of_network(people.network_id)
    draws: dict[int, Mapping[str, Any]] = {}
    for n in sorted({r.ritual_number for r in rows if r.how == "draw" and r.status != "ended"
                     and r.ritual_number is not None}):
        entry = await unit.register.entry(people.network_id, "draw", n, "draw")
        record = entry.data.get("record") if entry is not None else None
        if isinstance(record, Mapping):
            draws[n] = record
    return MandatesView(roles=dict(people.config.declared_roles),
                        mandates=tuple(_mandate(r, people, locale) for r in rows), draws=draws)


def _mandate(r: MandateRow, people: People, locale: str) -> Mandate:
    person = people.persons.get(r.person_id)
    forgotten = person is None or person.opted_out
    by = people.persons.get(r.appointed_by) if r.appointed_by is not None else None
    return Mandate(
        id=r.id, role=r.role, member=None if forgotten or person is None else person.key,
        name=pseudonym((forgotten_number(person.key) if person else None) or r.person_id, locale)
        if forgotten or person is None else person.name,
        organisation=r.organisation, how=r.how, chosen_at=r.chosen_at, ends_at=r.ends_at, status=r.status,
        started_at=r.started_at, ritual_number=r.ritual_number,
        appointed_by=(by.name if by is not None and not by.opted_out else None), ended_at=r.ended_at,
        why=r.ended_why, reserve_rank=r.reserve_rank, replaces=r.replaces)


async def record_mandates(tx: Tx, people: People, ritual: Ritual | None, action: Record) -> None:
    """What a record changes in the mandates: an election that elected someone, or a settled
    draw, for a declared role, chooses them; the mandates ritual's records change seats."""
    roles = people.config.declared_roles
    if not roles:
        return
    s = action.summary
    if action.kind == "election" and s.get("outcome") == "elected":
        spec = find_role(str(s.get("role") or ""), roles, prefix=False)
        pid = _elected(people, s)
        if spec is not None and pid is not None:
            await choose(tx, people, spec, [pid], "election", ritual.number if ritual else None)
    elif action.kind == "draw" and s.get("status") in DRAW_SETTLED:
        spec = find_role(str(s.get("role") or ""), roles, prefix=False)
        panel = [people.person_by_key.get(k) for k in s.get("final_panel") or [] if isinstance(k, str)]
        chosen = [pid for pid in panel if pid is not None]
        if spec is not None and chosen:
            await choose(tx, people, spec, chosen, "draw", ritual.number if ritual else None)
    elif action.kind == RECORD_KIND:
        try:
            change = MandateChange.model_validate(s)
        except ValidationError:
            return
        await _change(tx, people, change)


def _elected(people: People, s: Mapping[str, Any]) -> int | None:
    """The person an election elected: by key when its record gives one, else by name when
    one person only bears it (as the register reads it)."""
    key = s.get("elected_key")
    if isinstance(key, str) and key in people.person_by_key:
        return people.person_by_key[key]
    name = s.get("elected")
    same = [p.id for p in people.persons.values() if isinstance(name, str) and p.name == name and not p.is_bot]
    return same[0] if len(same) == 1 else None


async def choose(tx: Tx, people: People, spec: RoleSpec, chosen: Sequence[int], how: How,
                 number: int | None, by: int | None = None) -> list[int]:
    """Mandates for people just chosen for a role. Each takes the first seat free from now: at
    once when the role has one, else when a current term ends (a renewal chosen ahead of the
    end starts when the term it renews ends). Returns their ids."""
    nid, now, tz = people.network_id, tx.when, ZoneInfo(people.config.network.timezone)
    rows = [r for r in await tx.unit.mandates.of_network(nid) if r.role == spec.name and r.status == "active"
            and r.ends_at > now]
    seats = [(r.started_at or now, r.ends_at) for r in rows]
    ids: list[int] = []
    for pid in chosen:
        start = first_free(seats, spec.seats, now)
        end = spec.end_of_term(start, tz)
        seats.append((start, end))
        person = people.persons.get(pid)
        ids.append(await tx.unit.mandates.add(nid, MandateNew(
            role=spec.name, person_id=pid, organisation=person.organisation if person else None, how=how,
            chosen_at=now, ends_at=end, status="active", started_at=start, ritual_number=number, appointed_by=by)))
    await wake(tx, people)
    return ids


def first_free(seats: Sequence[tuple[datetime, datetime]], count: int, now: datetime) -> datetime:
    """The first instant from `now` when fewer than `count` of these (start, end) terms run."""
    for at in sorted({now, *(end for _, end in seats if end > now)}):
        if sum(1 for start, end in seats if start <= at < end) < count:
            return at
    return now


async def _change(tx: Tx, people: People, c: MandateChange) -> None:
    nid, now = people.network_id, tx.when
    pid = people.person_by_key.get(c.member)
    if c.op == "end" and c.mandate is not None:
        await tx.unit.mandates.end(c.mandate, c.at or now, c.why or "term")
        return
    if pid is None:
        return
    if c.op == "offer" and c.ends_at is not None:
        person = people.persons.get(pid)
        await tx.unit.mandates.add(nid, MandateNew(
            role=c.role, person_id=pid, organisation=person.organisation if person else None, how="draw",
            chosen_at=now, ends_at=c.ends_at, status="offered", started_at=c.starts_at, ritual_number=c.draw,
            reserve_rank=c.rank, replaces=c.replaces))
        return
    offered = [r for r in await tx.unit.mandates.of_network(nid)
               if r.role == c.role and r.person_id == pid and r.status == "offered"]
    for r in offered:
        if c.op == "accept":
            # A seat of a term not begun yet (a renewal ahead) is held from that term's start.
            await tx.unit.mandates.start(r.id, max(now, r.started_at or now))
        elif c.op == "decline":
            await tx.unit.mandates.end(r.id, now, c.why or "decline")


async def wake(tx: Tx, people: People) -> None:
    """The mandates ritual looks at the roles again at once (mandates changed outside it)."""
    for row in await tx.unit.rituals.open(people.network_id, [MANDATES_KIND]):
        if row.origin == "config":
            tx.timer_ops[(row.id, WAKE)] = TimerSet(row.id, WAKE, tx.now, {})
            tx.timers_changed = True


async def appoint(tx: Tx, people: People, spec: RoleSpec, pid: int, by: int, give: bool) -> Msg:
    """`role donner` / `role retirer` for a declared role: an appointment (by whom, when) to a
    free seat, or the end of the person's mandate ("removed")."""
    nid, now = people.network_id, tx.when
    person = people.persons[pid]
    rows = [r for r in await tx.unit.mandates.of_network(nid) if r.role == spec.name and r.status == "active"
            and r.ends_at > now]
    theirs = [r for r in rows if r.person_id == pid]
    if not give:
        if not theirs:
            return Msg("mandats.role.not_held", name=person.name, role=spec.name)
        for r in theirs:
            await tx.unit.mandates.end(r.id, now, "removed")
        await wake(tx, people)
        return Msg("mandats.role.removed", name=person.name, role=spec.name)
    if theirs:
        return Msg("mandats.role.already", name=person.name, role=spec.name)
    held = [r for r in rows if (r.started_at or now) <= now]
    if len(held) >= spec.seats:
        names = [people.persons[r.person_id].name for r in held if r.person_id in people.persons]
        raise CommandError(Msg("mandats.role.full", role=spec.name, seats=spec.seats,
                               holders=Lines(items=list(names), sep=", ")))
    (mandate,) = await choose(tx, people, spec, [pid], "appointed", None, by)
    end = next(r.ends_at for r in await tx.unit.mandates.of_network(nid) if r.id == mandate)
    return Msg("mandats.role.appointed", name=person.name, role=spec.name, until=When(at=end, style="date"))
