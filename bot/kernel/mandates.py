"""Roles and mandates as rituals read them: the roles the config declares, each mandate (who
holds which role, chosen how, from when until when), and the change a ritual records."""

from __future__ import annotations

import re
from calendar import isleap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.kernel.grammar.tokens import fold
from bot.kernel.localtime import shift
from bot.kernel.refs import Ref

How = Literal["election", "draw", "appointed"]
"""How a person came to hold a role: elected, drawn, or appointed by an animateur."""
Status = Literal["active", "offered", "ended"]
"""A mandate held (or about to be, once its start comes), a seat offered to someone on a
draw's reserve list who has not answered yet, or a mandate over."""
Why = Literal["term", "resignation", "decline", "no_answer", "replaced", "removed", "over_limit"]
"""Why a mandate ended: its term came; its holder resigned; a seat offered was declined or not
answered; a successor took the seat; an animateur withdrew the role; drawn beyond the role's
`max_consecutive` (a draw that did not leave them out), the seat goes to the reserve list."""
RenewBy = Literal["tirage", "election"]

RECORD_KIND = "mandate"
"""The kind of the `Record`s that change mandates (`MandateChange` summaries)."""
WAKE = Ref(scope="mandates", role="wake")
"""The timer the engine sets on the mandates ritual when mandates were created outside it (an
election, a draw, an appointment): it looks at the roles again at once."""
TERM_GRACE = timedelta(days=1)
"""Two mandates of one person in one role are consecutive when the second starts no later
than this after the first ended (a renewal that closes a day late still follows on)."""


@dataclass(frozen=True)
class QuotaSpec:
    """A quota a role's draws keep, as the draw reads it (`territoire` at most 1)."""

    attribute: str
    value: str | None = None
    min: int = 0
    max: int | None = None

    def as_params(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "value": self.value, "min": self.min, "max": self.max}


@dataclass(frozen=True)
class RoleSpec:
    """A role the config declares (`[roles."délégué·e au comité régional"]`)."""

    name: str
    seats: int = 1
    term: timedelta = timedelta(days=365)
    renew_by: RenewBy = "election"
    pool: str | None = None
    """The channel whose members may be drawn or elected (its key)."""
    group: str | None = None
    """The named group whose members may be drawn or elected, instead of a channel."""
    channel: str | None = None
    """Where a renewal's draw or election is held (its key)."""
    quotas: tuple[QuotaSpec, ...] = ()
    max_consecutive: int | None = None
    notice: timedelta = timedelta(days=30)
    auto: bool = False

    def end_of_term(self, start: datetime, tz: ZoneInfo) -> datetime:
        """The planned end of a term starting at `start`: a term of whole years ends on the same
        date that many years later (a year from 5 January is 5 January, leap year or not; from
        29 February, 28 February); any other term is whole days on the local calendar, then
        the rest elapsed."""
        days, rest = self.term.days, (self.term - timedelta(days=self.term.days)).total_seconds()
        if days and not rest and days % 365 == 0:
            local = start.astimezone(tz)
            year = local.year + days // 365
            same = local.replace(year=year, day=min(local.day, 28 if local.month == 2 and not isleap(year) else 31))
            return shift(start, tz, days=(same.date() - local.date()).days)
        return shift(start, tz, days=days, seconds=rest)


@dataclass(frozen=True)
class Mandate:
    """One mandate: a person in a role, for one term. `name` and `organisation` are as the
    directory says the person now and as their organisation was when chosen."""

    id: int
    role: str
    member: str | None
    """The person's key; None once they asked to be forgotten."""
    name: str
    organisation: str | None
    how: How
    chosen_at: datetime
    ends_at: datetime
    """The planned end of the term (of the seat, for one offered)."""
    status: Status = "active"
    started_at: datetime | None = None
    """When the term began (or begins); for a seat offered, when it would begin if accepted."""
    ritual_number: int | None = None
    """The election's or the draw's number."""
    appointed_by: str | None = None
    """Who appointed them (a name), for an appointment."""
    ended_at: datetime | None = None
    why: Why | None = None
    reserve_rank: int | None = None
    """For a seat offered from a draw's reserve list: the offer's rank (1: the first offered)."""
    replaces: int | None = None
    """The mandate whose seat an offer fills."""

    def holds(self, now: datetime) -> bool:
        """In the role right now."""
        return self.status == "active" and self.started_at is not None and self.started_at <= now < self.ends_at

    def is_upcoming(self, now: datetime) -> bool:
        """Chosen for a term that has not begun (a renewal ahead of the end of the current one)."""
        return self.status == "active" and self.started_at is not None and self.started_at > now

    def is_over(self, now: datetime) -> bool:
        """Ended, or past its term (the mandates ritual closes it at its next look)."""
        return self.status == "ended" or (self.status == "active" and self.ends_at <= now)


@dataclass(frozen=True)
class MandatesView:
    """What the engine loaded of roles and mandates for one ritual or query: every mandate of
    the network (held, offered, past: a role's history is short), the declared roles, and the
    published records of the draws whose reserve list may still fill a seat."""

    roles: Mapping[str, RoleSpec] = field(default_factory=dict)
    mandates: Sequence[Mandate] = ()
    draws: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)

    def role(self, text: str) -> RoleSpec | None:
        """The declared role a typed name means (case, accents and the point médian aside): the
        role of that name, else the only one whose name starts with it ("délégué" for
        "délégué·e au comité régional")."""
        return find_role(text, self.roles)

    def of_role(self, role: str) -> list[Mandate]:
        return [m for m in self.mandates if m.role == role]

    def holding(self, role: str, now: datetime) -> list[Mandate]:
        """Who holds the role now, the earliest chosen first."""
        return sorted((m for m in self.of_role(role) if m.holds(now)), key=lambda m: (m.chosen_at, m.id))

    def upcoming(self, role: str, now: datetime) -> list[Mandate]:
        return sorted((m for m in self.of_role(role) if m.is_upcoming(now)), key=lambda m: (m.started_at, m.id))

    def offered(self, role: str) -> list[Mandate]:
        return [m for m in self.of_role(role) if m.status == "offered"]

    def current_of(self, member: str, now: datetime) -> list[Mandate]:
        """The member's mandates held or about to begin, by role."""
        return sorted((m for m in self.mandates if m.member == member and (m.holds(now) or m.is_upcoming(now))),
                      key=lambda m: (m.role, m.id))

    def consecutive(self, role: str, member: str, until: datetime) -> int:
        """How many terms in a row the member has held the role up to `until` (the term running
        then counts): each earlier one ended no more than `TERM_GRACE` before the next began."""
        # Terms actually begun: a seat declined, or a term ended before it began, never was one.
        terms = sorted((m for m in self.of_role(role) if m.member == member and m.started_at is not None
                        and m.started_at <= until and m.status != "offered"
                        and (m.ended_at is None or m.ended_at > m.started_at)),
                       key=lambda m: m.started_at or m.chosen_at, reverse=True)
        count, start = 0, until
        for m in terms:
            end = m.ended_at or m.ends_at
            if end < start - TERM_GRACE:
                break
            count += 1
            start = m.started_at or start
        return count


class MandateChange(BaseModel):
    """What a `Record(kind="mandate")` says happened to a seat; the engine writes it to the
    mandates in the transaction that records it. `op`: "end" a mandate (`mandate`, `why`);
    "offer" a freed seat to someone on a draw's reserve list (`draw`, `rank`, `starts_at`,
    `ends_at`, `replaces`); their answer, "accept" or "decline" (`why` "decline" or "no_answer")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["end", "offer", "accept", "decline"]
    role: str
    member: str
    mandate: int | None = None
    why: Why | None = None
    at: datetime | None = None
    """When it ended, if not now (a term ends at its planned end, even looked at later)."""
    draw: int | None = None
    rank: int | None = None
    starts_at: datetime | None = None
    """An offer's seat begins then (now, or when the term it belongs to begins)."""
    ends_at: datetime | None = None
    replaces: int | None = None


def _folded(text: str) -> str:
    # "délégué·e" and "délégué" are one word here: the inclusive ending is left out.
    return " ".join(fold(_INCLUSIVE.sub("", text)).split())


_INCLUSIVE = re.compile(r"[·•.]\w*")


def find_role(text: str, roles: Mapping[str, RoleSpec], *, prefix: bool = True) -> RoleSpec | None:
    """The role of `roles` a typed name means (see `MandatesView.role`); without `prefix`, only
    the role of that very name (a draw's title, `role donner`: "délégué" may be a role of its own)."""
    wanted = _folded(text)
    if not wanted:
        return None
    exact = [r for name, r in sorted(roles.items()) if _folded(name) == wanted]
    if exact or not prefix:
        return exact[0] if exact else None
    starting = [r for name, r in sorted(roles.items()) if _folded(name).startswith(wanted)]
    return starting[0] if len(starting) == 1 else None


def same_role(a: str, b: str) -> bool:
    """Whether two role names mean the same role (a draw's title, a command's word)."""
    return _folded(a) == _folded(b)
