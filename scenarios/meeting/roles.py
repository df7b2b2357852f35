"""Rotating meeting roles: who takes facilitation, secrétariat… at a meeting, by rotation or by a
seeded draw among those who said they come, and who replaces a holder who can no longer come."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from typing import Literal

RolesBy = Literal["rotation", "tirage"]

History = Mapping[str, Mapping[str, int]]
"""Role → member key → the number of the last meeting where they held it (higher: more recent)."""


def _tie(seed: str, role: str, member: str) -> str:
    """A reproducible tie-break between people who held a role equally long ago: a hash of the
    meeting's seed, the role and the person (never the clock nor the global generator)."""
    return hashlib.sha256(f"{seed}\x1f{role}\x1f{member}".encode()).hexdigest()


def _rng(seed: str, role: str) -> random.Random:
    """The draw's own generator, seeded from the meeting and the role."""
    return random.Random(int(hashlib.sha256(f"{seed}\x1f{role}".encode()).hexdigest(), 16))


def next_holder(role: str, candidates: Sequence[str], history: History, seed: str, by: RolesBy) -> str | None:
    """Who takes `role` among `candidates`: by rotation, whoever held it longest ago (never
    held first, ties broken by `_tie`); by tirage, a fair draw from a generator seeded by the
    meeting's seed and the role (the same meeting draws the same person again)."""
    if not candidates:
        return None
    ordered = sorted(set(candidates))
    if by == "tirage":
        return _rng(seed, role).choice(ordered)
    last = history.get(role, {})
    return min(ordered, key=lambda k: (last.get(k, 0), _tie(seed, role, k)))


def assign(roles: Sequence[str], present: Sequence[str], history: History, seed: str,
           by: RolesBy) -> dict[str, str]:
    """Each role in its declared order to one of `present`, one role per person while there are
    people left; a role no one is left for is not given (absent from the result)."""
    given: dict[str, str] = {}
    for role in roles:
        free = [k for k in present if k not in given.values()]
        holder = next_holder(role, free, history, seed, by)
        if holder is not None:
            given[role] = holder
    return given


def replace_holder(given: Mapping[str, str], role: str, present: Sequence[str], history: History,
                   seed: str, by: RolesBy) -> dict[str, str]:
    """`given` with `role` handed to the next person in rotation (or the draw) among `present`
    who holds no role yet; the role is left ungiven when nobody is free."""
    out = {r: k for r, k in given.items() if r != role}
    free = [k for k in present if k not in out.values() and k != given.get(role)]
    # A replacement's draw must not give the person who just left: another seed per round.
    holder = next_holder(role, free, history, f"{seed}\x1freplace", by)
    if holder is not None:
        out[role] = holder
    return {r: out[r] for r in [*given, *out] if r in out}


def record(history: dict[str, dict[str, int]], given: Mapping[str, str], n: int) -> None:
    """Meeting number `n` was held with `given`: each holder's turn becomes their latest."""
    for role, member in given.items():
        history.setdefault(role, {})[member] = n
