"""A uniform lottery over published compositions, and the integer-only replay from a seed."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction

from scenarios.sortition.digest import derive
from scenarios.sortition.leximin import Composition, Distribution, Problem

LOTTERY_SIZE = 1_000_000_000
"""Tickets of a rounded lottery ("Fair Sortition Made Transparent" with a large M), used
only when the exact one cannot be recovered: rounding the leximin weights to 1/M moves each
probability by less than 1e-7; a small M suits balls in an urn, but tickets here are picked
by SHA-256, so a large M costs nothing."""


@dataclass(frozen=True)
class Lottery:
    """`tickets[i]` tickets for `compositions[i]`; `profiles` name who each count is drawn
    from. A ticket number in [0, size) picks the composition; members of each profile are
    then ranked by the seed."""

    size: int
    profiles: tuple[tuple[str, ...], ...]
    compositions: tuple[Composition, ...]
    tickets: tuple[int, ...]

    def probabilities(self) -> dict[str, Fraction]:
        """Each member's exact chance under this lottery (integer arithmetic only)."""
        out: dict[str, Fraction] = {}
        for t, members in enumerate(self.profiles):
            seats = sum(n * comp[t] for comp, n in zip(self.compositions, self.tickets, strict=True))
            p = Fraction(seats, self.size * len(members))
            for m in members:
                out[m] = p
        return dict(sorted(out.items()))

    def composition_at(self, ticket: int) -> int:
        for i, n in enumerate(self.tickets):
            if ticket < n:
                return i
            ticket -= n
        raise ValueError("ticket beyond the lottery")


def round_distribution(problem: Problem, dist: Distribution, size: int = LOTTERY_SIZE) -> Lottery:
    """Largest remainders: every composition gets floor(weight × size) tickets, the leftover
    tickets go to the largest fractional parts (ties by composition order). Deterministic."""
    exact = [w * size for w in dist.weights]
    tickets = [math.floor(v) for v in exact]
    left = size - sum(tickets)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - tickets[i]), dist.compositions[i]))
    for i in order[: max(0, left)]:
        tickets[i] += 1
    kept = [(c, n) for c, n in zip(dist.compositions, tickets, strict=True) if n > 0]
    return Lottery(
        size,
        tuple(p.members for p in problem.profiles),
        tuple(c for c, _ in kept),
        tuple(n for _, n in kept),
    )


def ticket_of(seed: str, size: int) -> int:
    """The winning ticket: enough SHA-256 blocks for 128 bits more than `size` needs, reduced
    mod size, so no ticket is favoured by more than 2^-128."""
    blocks = (size.bit_length() + 128 + 255) // 256
    number = 0
    for i in range(blocks):
        number = (number << 256) | derive(seed, "ticket", str(i))
    return number % size


def _same(m: str) -> str:
    return m


def rank(seed: str, label: str, members: Sequence[str], id_of: Callable[[str], str] = _same) -> list[str]:
    """Members in the order the seed gives them (by hash, ties by id): `id_of` is what the
    record hashes for each (a draw record of version 2 reads a hash of the identifier)."""
    return sorted(members, key=lambda m: (derive(seed, label, id_of(m)), id_of(m)))


def panel_of(lottery: Lottery, seed: str, id_of: Callable[[str], str] = _same) -> tuple[int, list[str]]:
    """Ticket and panel for a seed: the composition says how many per profile, the seed's
    ranking inside each profile says who."""
    ticket = ticket_of(seed, lottery.size)
    comp = lottery.compositions[lottery.composition_at(ticket)]
    chosen: list[str] = []
    for t, members in enumerate(lottery.profiles):
        chosen += rank(seed, "member", members, id_of)[: comp[t]]
    return ticket, sorted(chosen)


def replacements(
    problem: Problem, seed: str, kept: Sequence[str], unavailable: Collection[str], needed: int,
    id_of: Callable[[str], str] = _same,
) -> list[str] | None:
    """The next members of the reserve list (everyone the seed did not draw, in the seed's
    order) who, with the members kept, still make a panel within every bound; None if
    no such replacement exists."""
    where = {m: t for t, p in enumerate(problem.profiles) for m in p.members}
    counts = [0] * len(problem.profiles)
    for m in kept:
        counts[where[m]] += 1
    blocked = set(kept) | set(unavailable)
    reserve = rank(seed, "reserve", [m for m in where if m not in blocked], id_of)
    avail = [0] * len(problem.profiles)
    for m in reserve:
        avail[where[m]] += 1
    chosen: list[str] = []
    for _ in range(needed):
        for m in reserve:
            if m in chosen:
                continue
            t = where[m]
            counts[t] += 1
            avail[t] -= 1
            if _completable(problem, counts, avail, needed - len(chosen) - 1):
                chosen.append(m)
                break
            counts[t] -= 1
            avail[t] += 1
        else:
            return None
    return chosen


def _completable(problem: Problem, counts: list[int], avail: list[int], slots: int) -> bool:
    """Whether `slots` more members, taken from `avail`, can bring the counts within every
    bound: a depth-first search over profiles, pruned on the maxima (exact, integers)."""
    T = len(counts)
    member_of = [[i for i, row in enumerate(problem.rows) if t in row] for t in range(T)]
    sums = [sum(counts[t] for t in row) for row in problem.rows]
    if any(s > b.max for s, b in zip(sums, problem.bounds, strict=True)):
        return False

    def search(t: int, left: int) -> bool:
        if left == 0:
            return all(b.min <= s <= b.max for s, b in zip(sums, problem.bounds, strict=True))
        if t == T:
            return False
        deficit = sum(max(0, b.min - s) for s, b in zip(sums, problem.bounds, strict=True))
        if deficit > left * max(1, len(problem.attributes)):
            return False
        for take in range(min(avail[t], left), -1, -1):
            ok = True
            for i in member_of[t]:
                sums[i] += take
                ok = ok and sums[i] <= problem.bounds[i].max
            if ok and search(t + 1, left - take):
                for i in member_of[t]:
                    sums[i] -= take
                return True
            for i in member_of[t]:
                sums[i] -= take
        return False

    return search(0, slots)


# Exact rationals: the leximin optimum of integer data is rational. The solver tells which
# stage fixed each profile; solving "every profile sits exactly at its stage's level" over
# the compositions it used, in rationals, gives the optimum exactly (1/14, 7/82), a lottery
# with a few hundred tickets, and probabilities members can read ("1 chance in 14").
_MAX_TICKETS = 2**512
"""Beyond this the record would carry numbers of more than 150 digits: round instead."""


def exact_lottery(problem: Problem, dist: Distribution) -> Lottery | None:
    """Unknowns: the weight of each composition and the value of each level. Equations: each
    profile's probability equals its level minus its offset (0 for profiles no panel can
    include), and the weights sum to 1. Accepted only if the solution is unique, the weights
    are positive and each level is within 1e-9 of the solver's; else None (the caller
    rounds instead)."""
    comps = list(dist.compositions)
    if not comps or len(dist.stage_of) != len(problem.profiles):
        return None
    S, J = len(comps), len(dist.levels)
    # Row t, multiplied by the profile's size to stay in integers:
    #   sum_P c_tP w_P - size_t * level_j(t) = -size_t * offset_t
    rows: list[list[int]] = []
    for t, prof in enumerate(problem.profiles):
        row = [c[t] for c in comps] + [0] * J
        rhs = 0
        j = dist.stage_of[t]
        if j >= 0:
            row[S + j] = -prof.size
            rhs = -prof.size * prof.offset
        rows.append([*row, rhs])
    rows.append([1] * S + [0] * J + [1])
    solution = _solve(rows, S + J)
    if solution is None:
        return None
    weights, levels = solution[:S], solution[S:]
    if any(w <= 0 for w in weights):
        return None
    if any(abs(float(z) - f) > 1e-9 for z, f in zip(levels, dist.levels, strict=True)):
        return None
    size = math.lcm(*(w.denominator for w in weights))
    if size > _MAX_TICKETS:
        return None
    return Lottery(
        size,
        tuple(p.members for p in problem.profiles),
        tuple(comps),
        tuple(int(w * size) for w in weights),
    )


def _solve(rows: list[list[int]], n: int) -> list[Fraction] | None:
    """The unique rational solution of an (over-determined) integer linear system, or None
    when it has none or several: Gauss–Jordan elimination kept in integers (each row
    divided by the gcd of its entries), exact and much faster than with fractions."""
    rows = [list(r) for r in rows]
    top = 0
    for col in range(n):
        pivot = next((i for i in range(top, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            return None
        rows[top], rows[pivot] = rows[pivot], rows[top]
        p_row = rows[top]
        p = p_row[col]
        for i in range(len(rows)):
            f = rows[i][col]
            if i == top or f == 0:
                continue
            new = [a * p - b * f for a, b in zip(rows[i], p_row, strict=True)]
            g = math.gcd(*new)
            rows[i] = [v // g for v in new] if g > 1 else new
        top += 1
    if any(row[n] != 0 for row in rows[top:]):
        return None
    return [Fraction(rows[i][n], rows[i][i]) for i in range(n)]
