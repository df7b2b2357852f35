"""Preparing a draw: quotas checked and explained, leximin solved, the lottery fixed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np

from bot.kernel.i18n import Lines, Msg
from scenarios.sortition.leximin import (
    Distribution,
    Infeasible,
    Problem,
    build_problem,
    leximin,
    new_highs,
)
from scenarios.sortition.lottery import LOTTERY_SIZE, Lottery, exact_lottery, round_distribution
from scenarios.sortition.pool import (
    Bound,
    Person,
    Quota,
    SortitionError,
    check_counts,
    expand_quotas,
)


@dataclass(frozen=True)
class Exclusion:
    """Someone of the pool who may not be drawn this time, and why (rotation: the number of
    the earlier draw they were drawn in)."""

    person: Person
    reason: str = "rotation"
    draw: int | None = None


@dataclass(frozen=True)
class Plan:
    """Everything fixed before the seed exists."""

    k: int
    people: tuple[Person, ...]
    """Who may be drawn (the pool minus exclusions), sorted by id."""
    quotas: tuple[Quota, ...]
    bounds: tuple[Bound, ...]
    excluded: tuple[Exclusion, ...]
    offsets: Mapping[str, int]
    problem: Problem
    distribution: Distribution
    lottery: Lottery
    warnings: tuple[Msg, ...] = field(default=())


def plan_draw(
    pool: Sequence[Person],
    quotas: Sequence[Quota],
    k: int,
    excluded: Sequence[Exclusion] = (),
    offsets: Mapping[str, int] | None = None,
    lottery_size: int = LOTTERY_SIZE,
) -> Plan:
    """Validate, solve and round. `pool` is everyone considered, `excluded` those of them who
    sit this draw out: quotas are read against the whole pool, so that a rotation that
    removes a whole territory is reported as a conflict instead of quietly dropping the
    territory's seat."""
    out = {e.person.id for e in excluded}
    everyone = sorted(pool, key=lambda p: p.id)
    eligible = [p for p in everyone if p.id not in out]
    if k <= 0:
        raise SortitionError(Msg("sortition.error.k_not_positive", k=k))
    if k > len(everyone):
        raise SortitionError(Msg("sortition.error.k_above_pool", k=k, n=len(everyone)))
    bounds = expand_quotas(quotas, everyone, k)
    check_counts(everyone, bounds, k)
    if not feasible(everyone, bounds, k):
        raise SortitionError(
            Msg("sortition.infeasible.combined", k=k, details=Lines(items=explain(everyone, bounds, k)))
        )
    ex = tuple(sorted(excluded, key=lambda e: e.person.id))
    if k > len(eligible):
        raise SortitionError(_rotation_conflict(ex, Msg("sortition.error.k_above_pool", k=k, n=len(eligible))))
    try:
        check_counts(eligible, bounds, k)
    except SortitionError as e:
        raise SortitionError(_rotation_conflict(ex, e.msg)) from None
    offsets = {m: n for m, n in sorted((offsets or {}).items()) if n and m not in out}
    problem = build_problem(eligible, bounds, k, offsets)
    try:
        dist = leximin(problem)
    except Infeasible:
        details = Msg(
            "sortition.infeasible.combined", k=k, details=Lines(items=explain(eligible, bounds, k))
        )
        raise SortitionError(_rotation_conflict(ex, details)) from None
    return Plan(
        k=k,
        people=tuple(eligible),
        quotas=tuple(quotas),
        bounds=tuple(bounds),
        excluded=ex,
        offsets=offsets,
        problem=problem,
        distribution=dist,
        lottery=exact_lottery(problem, dist) or round_distribution(problem, dist, lottery_size),
    )


def _rotation_conflict(excluded: Sequence[Exclusion], why: Msg) -> Msg:
    return Msg(
        "sortition.rotation.conflict",
        count=len(excluded),
        who=Lines(items=[e.person.id for e in excluded], sep=", "),
        why=why,
    )


def feasible(people: Sequence[Person], bounds: Sequence[Bound], k: int) -> bool:
    if k > len(people):
        return False
    try:
        check_counts(people, bounds, k)
    except SortitionError:
        return False
    problem = build_problem(people, bounds, k)
    return _relaxation(problem, relax=False) is not None


def explain(people: Sequence[Person], bounds: Sequence[Bound], k: int) -> list[Msg]:
    """Which bounds must move, and to what, for a panel to exist: the smallest total change
    (an integer program with a slack on each side of each bound)."""
    problem = build_problem(people, bounds, k)
    slacks = _relaxation(problem, relax=True)
    if slacks is None:
        return [Msg("sortition.infeasible.unknown")]
    lines: list[Msg] = []
    for b, (lo, hi) in zip(problem.bounds, slacks, strict=True):
        if lo:
            lines.append(
                Msg("sortition.infeasible.relax_min", attribute=b.attribute, value=b.value,
                    min=b.min, suggested=b.min - lo)
            )
        if hi:
            lines.append(
                Msg("sortition.infeasible.relax_max", attribute=b.attribute, value=b.value,
                    max=b.max, suggested=b.max + hi)
            )
    return lines or [Msg("sortition.infeasible.unknown")]


def _relaxation(problem: Problem, relax: bool) -> list[tuple[int, int]] | None:
    """Without `relax`: whether any panel exists. With it: the per-bound slacks (below the
    minimum, above the maximum) of a panel that moves the bounds least."""
    T = len(problem.profiles)
    B = len(problem.bounds)
    h = new_highs()
    h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
    inf = highspy.kHighsInf
    for prof in problem.profiles:
        h.addCol(0.0, 0.0, float(prof.size), 0, np.array([], dtype=np.int32), np.array([]))
    n_slack = 2 * B if relax else 0
    for _ in range(n_slack):
        h.addCol(1.0, 0.0, float(problem.k), 0, np.array([], dtype=np.int32), np.array([]))
    n = T + n_slack
    h.changeColsIntegrality(
        n, np.arange(n, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * n)
    )
    h.addRow(float(problem.k), float(problem.k), T, np.arange(T, dtype=np.int32), np.ones(T))
    for i, (b, row) in enumerate(zip(problem.bounds, problem.rows, strict=True)):
        idx = list(row)
        vals = [1.0] * len(row)
        if relax:
            # count + lo >= min ; count - hi <= max
            h.addRow(float(b.min), inf, len(idx) + 1, np.array([*idx, T + 2 * i], dtype=np.int32),
                     np.array([*vals, 1.0]))
            h.addRow(-inf, float(b.max), len(idx) + 1,
                     np.array([*idx, T + 2 * i + 1], dtype=np.int32), np.array([*vals, -1.0]))
        else:
            h.addRow(float(b.min), float(b.max), len(idx), np.array(idx, dtype=np.int32),
                     np.array(vals))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    x = h.getSolution().col_value
    if not relax:
        return []
    return [(round(x[T + 2 * i]), round(x[T + 2 * i + 1])) for i in range(B)]
