"""Leximin selection probabilities by column generation with HiGHS (and an exact check)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
from highspy._core import _Highs

from scenarios.sortition.pool import Bound, Person

ALGORITHM = "maillage-leximin/1"
"""Published with every draw: a change to how distributions or lotteries are computed
must change this name, so an old record is never judged by new rules."""

Composition = tuple[int, ...]
"""How many of the panel come from each profile (same order as `Problem.profiles`)."""

_INF = highspy.kHighsInf
# Pricing stops when no panel improves the dual by more than this; the smallest probability is
# then within this distance of the optimum (far below the 1e-6 the tests ask).
_PRICE_TOL = 1e-10
# A dual value above this marks a profile whose probability every optimum shares.
_FIX_TOL = 1e-9


class Infeasible(Exception):
    """No panel satisfies every bound (the caller explains which ones)."""


@dataclass(frozen=True)
class Profile:
    """Members nobody could tell apart for this draw: same value of every quota attribute
    and the same past selections. The leximin optimum gives them equal probabilities (it is
    unique and symmetric), so the program works on profiles, not people."""

    values: tuple[str | None, ...]
    offset: int
    members: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass(frozen=True)
class Problem:
    k: int
    attributes: tuple[str, ...]
    profiles: tuple[Profile, ...]
    bounds: tuple[Bound, ...]
    rows: tuple[tuple[int, ...], ...]
    """For each bound, the profiles whose members count towards it."""

    def valid(self, comp: Composition) -> bool:
        if len(comp) != len(self.profiles) or sum(comp) != self.k:
            return False
        if any(c < 0 or c > p.size for c, p in zip(comp, self.profiles, strict=True)):
            return False
        return all(
            b.min <= sum(comp[t] for t in row) <= b.max
            for b, row in zip(self.bounds, self.rows, strict=True)
        )


def build_problem(
    people: Sequence[Person],
    bounds: Sequence[Bound],
    k: int,
    offsets: Mapping[str, int] | None = None,
) -> Problem:
    """Group the pool into profiles (sorted, so the program is the same on every run)."""
    attributes = tuple(sorted({b.attribute for b in bounds}))
    groups: dict[tuple[tuple[str, ...], int], list[str]] = {}
    for p in sorted(people, key=lambda p: p.id):
        values = tuple(p.value(a) or "" for a in attributes)
        off = (offsets or {}).get(p.id, 0)
        groups.setdefault((values, off), []).append(p.id)
    profiles = tuple(
        Profile(tuple(v or None for v in values), off, tuple(members))
        for (values, off), members in sorted(groups.items())
    )
    ordered = tuple(sorted(bounds))
    rows = tuple(
        tuple(
            t
            for t, prof in enumerate(profiles)
            if prof.values[attributes.index(b.attribute)] == b.value
        )
        for b in ordered
    )
    return Problem(k, attributes, profiles, ordered, rows)


@dataclass(frozen=True)
class Distribution:
    """A probability distribution over compositions and what it gives each profile."""

    compositions: tuple[Composition, ...]
    weights: tuple[float, ...]
    probabilities: tuple[float, ...]
    """Per profile: each member's chance of being drawn."""
    levels: tuple[float, ...]
    """The successive maximised values (the first one is the maximin)."""
    stage_of: tuple[int, ...] = ()
    """Per profile: the index in `levels` of the stage that fixed its probability (as
    level − offset), or -1 for a profile no valid panel includes (probability 0)."""

    def smallest(self) -> float:
        return min(self.probabilities) if self.probabilities else 0.0


def new_highs() -> _Highs:
    """A quiet, single-threaded, seeded HiGHS: the same answers run after run."""
    # highspy's `Highs()` registers its Python callbacks in its constructor, and that first
    # call prints the HiGHS banner to the process's stdout (fd 1) before any option can be
    # set: into the user's terminal or the demo transcript. The bare solver class it wraps
    # (`highspy._core._Highs`, also exported by highspy) has every method used here and prints nothing until it runs;
    # output is switched off before anything else.
    h = _Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    return h


def _ints(xs: Sequence[int]) -> npt.NDArray[np.int32]:
    return np.array(xs, dtype=np.int32)


def _floats(xs: Sequence[float]) -> npt.NDArray[np.float64]:
    return np.array(xs, dtype=np.float64)


class _Pricer:
    """The integer program over compositions: finds the valid panel of largest weight."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        T = len(problem.profiles)
        h = new_highs()
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 1e-12)
        # Presolve pays for itself even on these small programs (half the time on 40 members);
        # the feasibility-jump heuristic does not: it costs ~13 ms a call, the rest ~2 ms.
        h.setOptionValue("presolve", "on")
        h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
        for prof in problem.profiles:
            h.addCol(0.0, 0.0, float(prof.size), 0, _ints([]), _floats([]))
        h.changeColsIntegrality(
            T, _ints(list(range(T))), np.array([highspy.HighsVarType.kInteger] * T)
        )
        h.addRow(float(problem.k), float(problem.k), T, _ints(list(range(T))), _floats([1.0] * T))
        for b, row in zip(problem.bounds, problem.rows, strict=True):
            h.addRow(float(b.min), float(b.max), len(row), _ints(list(row)), _floats([1.0] * len(row)))
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self.h = h

    def best(self, weights: Sequence[float]) -> Composition | None:
        T = len(self.problem.profiles)
        self.h.changeColsCost(T, _ints(list(range(T))), _floats(list(weights)))
        self.h.run()
        status = self.h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"pricing program ended with {self.h.modelStatusToString(status)}")
        values = self.h.getSolution().col_value
        comp = tuple(round(v) for v in values)
        if not self.problem.valid(comp):
            raise RuntimeError("pricing program returned an invalid panel")
        return comp


class _Master:
    """The restricted linear program: weights on known compositions, maximising the
    smallest (offset) probability of the profiles not fixed yet."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        h = new_highs()
        h.setOptionValue("primal_feasibility_tolerance", 1e-10)
        h.setOptionValue("dual_feasibility_tolerance", 1e-10)
        h.addCol(-1.0, -_INF, _INF, 0, _ints([]), _floats([]))  # z, minimise -z
        for prof in problem.profiles:
            h.addRow(-float(prof.offset), _INF, 1, _ints([0]), _floats([-1.0]))
        h.addRow(1.0, 1.0, 0, _ints([]), _floats([]))
        self.h = h
        self.columns: list[Composition] = []
        self.known: set[Composition] = set()
        self.fixed: dict[int, float] = {}

    def add(self, comp: Composition) -> bool:
        if comp in self.known:
            return False
        T = len(self.problem.profiles)
        idx = [t for t in range(T) if comp[t]]
        vals = [comp[t] / self.problem.profiles[t].size for t in idx]
        self.h.addCol(0.0, 0.0, _INF, len(idx) + 1, _ints([*idx, T]), _floats([*vals, 1.0]))
        self.columns.append(comp)
        self.known.add(comp)
        return True

    def fix(self, t: int, value: float) -> None:
        self.fixed[t] = value
        self.h.changeCoeff(t, 0, 0.0)
        self.h.changeRowBounds(t, value, _INF)

    def solve(self) -> tuple[float, list[float], float, list[float]]:
        self.h.run()
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"master program ended with {self.h.modelStatusToString(status)}")
        sol = self.h.getSolution()
        T = len(self.problem.profiles)
        duals = list(sol.row_dual)
        return sol.col_value[0], duals[:T], duals[T], list(sol.col_value[1:])


def leximin(problem: Problem) -> Distribution:
    """Leximin over valid panels: maximise the smallest probability, then the next…

    Each stage is solved by column generation (the master LP re-optimises, the pricing
    integer program finds a panel its duals undervalue). When no panel improves the dual,
    every profile with a positive dual has the same probability in all optima
    (complementary slackness), so it is fixed and the next stage maximises the rest."""
    T = len(problem.profiles)
    pricer = _Pricer(problem)
    master = _Master(problem)
    first = pricer.best([0.0] * T)
    if first is None:
        raise Infeasible()
    master.add(first)
    _cover(problem, pricer, master)
    levels: list[float] = []
    x: list[float] = []
    stage_of = [-1] * T
    while len(master.fixed) < T:
        while True:
            z, duals, dual_sum, x = master.solve()
            weights = [duals[t] / problem.profiles[t].size for t in range(T)]
            comp = pricer.best(weights)
            assert comp is not None
            gain = sum(w * c for w, c in zip(weights, comp, strict=True)) + dual_sum
            if gain <= _PRICE_TOL or not master.add(comp):
                break
        levels.append(z)
        unfixed = [t for t in range(T) if t not in master.fixed]
        tight = [t for t in unfixed if duals[t] > _FIX_TOL]
        if not tight:
            # Numerically flat duals: the profile that binds most is still tight.
            tight = [max(unfixed, key=lambda t: (duals[t], -t))]
        for t in tight:
            master.fix(t, max(0.0, z - problem.profiles[t].offset))
            stage_of[t] = len(levels) - 1
    return _distribution(problem, master.columns, x, levels, stage_of)


def _cover(problem: Problem, pricer: _Pricer, master: _Master) -> None:
    """Start from panels that together include every profile that can be included; a profile
    no valid panel includes gets probability 0 from the start."""
    T = len(problem.profiles)
    covered = {t for comp in master.columns for t in range(T) if comp[t]}
    while True:
        weights = [0.0 if t in covered else 1.0 for t in range(T)]
        comp = pricer.best(weights)
        assert comp is not None
        new = {t for t in range(T) if comp[t] and t not in covered}
        if not new:
            break
        master.add(comp)
        covered |= new
    for t in range(T):
        if t in covered:
            continue
        comp = pricer.best([1.0 if u == t else 0.0 for u in range(T)])
        assert comp is not None
        if comp[t]:
            master.add(comp)
            covered |= {u for u in range(T) if comp[u]}
        else:
            master.fix(t, 0.0)


def _distribution(
    problem: Problem,
    columns: Sequence[Composition],
    x: Sequence[float],
    levels: Sequence[float],
    stage_of: Sequence[int],
) -> Distribution:
    kept = [(c, max(0.0, w)) for c, w in zip(columns, x, strict=True) if w > 1e-12]
    total = sum(w for _, w in kept)
    kept = sorted((c, w / total) for c, w in kept)
    probs = [
        sum(w * c[t] for c, w in kept) / prof.size for t, prof in enumerate(problem.profiles)
    ]
    return Distribution(
        tuple(c for c, _ in kept),
        tuple(w for _, w in kept),
        tuple(probs),
        tuple(levels),
        tuple(stage_of),
    )


def member_probabilities(problem: Problem, probs: Sequence[float]) -> dict[str, float]:
    return {m: probs[t] for t, prof in enumerate(problem.profiles) for m in prof.members}


# --- exact LP over every panel (small pools: the tests' reference) ----------------------


def exact_leximin(
    people: Sequence[Person],
    bounds: Sequence[Bound],
    k: int,
    offsets: Mapping[str, int] | None = None,
) -> dict[str, float]:
    """Leximin probabilities from the LP over all valid panels of named people, without
    profiles or column generation: each stage maximises the smallest value, then every
    person whose probability cannot rise without lowering it is fixed (one LP each)."""
    ids = sorted(p.id for p in people)
    by_id = {p.id: p for p in people}
    off = [float((offsets or {}).get(i, 0)) for i in ids]
    panels: list[tuple[int, ...]] = []
    for combo in itertools.combinations(range(len(ids)), k):
        counts: dict[tuple[str, str], int] = {}
        for i in combo:
            for a, v in by_id[ids[i]].attributes.items():
                counts[(a, v)] = counts.get((a, v), 0) + 1
        if all(b.min <= counts.get((b.attribute, b.value), 0) <= b.max for b in bounds):
            panels.append(combo)
    if not panels:
        raise Infeasible()
    n = len(ids)
    fixed: dict[int, float] = {}
    reachable = {i for combo in panels for i in combo}
    for i in range(n):
        if i not in reachable:
            fixed[i] = 0.0
    result: list[float] = [0.0] * n
    while len(fixed) < n:
        z, _ = _exact_stage(panels, n, off, fixed, None, None)
        unfixed = [i for i in range(n) if i not in fixed]
        newly = []
        for i in unfixed:
            best, _ = _exact_stage(panels, n, off, fixed, z, i)
            # Other rows may sit up to the solver's tolerance below their level, which lets
            # the target rise by a few times that: 1e-7 still separates real headroom.
            if best <= z - off[i] + 1e-7:
                newly.append(i)
        if not newly:
            newly = unfixed
        for i in newly:
            fixed[i] = max(0.0, z - off[i])
    _, result = _exact_stage(panels, n, off, fixed, None, None, final=True)
    return {ids[i]: result[i] for i in range(n)}


def _exact_stage(
    panels: Sequence[tuple[int, ...]],
    n: int,
    off: Sequence[float],
    fixed: Mapping[int, float],
    level: float | None,
    target: int | None,
    final: bool = False,
) -> tuple[float, list[float]]:
    """Variables: one weight per panel, then z. Rows: one per person, then the sum."""
    h = new_highs()
    h.addCol(0.0 if (target is not None or final) else -1.0, -_INF, _INF, 0, _ints([]), _floats([]))
    for i in range(n):
        if i in fixed:
            h.addRow(fixed[i], _INF, 0, _ints([]), _floats([]))
        elif level is not None:
            h.addRow(max(0.0, level - off[i]), _INF, 0, _ints([]), _floats([]))
        elif final:
            h.addRow(0.0, _INF, 0, _ints([]), _floats([]))
        else:
            h.addRow(-off[i], _INF, 1, _ints([0]), _floats([-1.0]))
    h.addRow(1.0, 1.0, 0, _ints([]), _floats([]))
    for combo in panels:
        cost = -1.0 if target is not None and target in combo else 0.0
        h.addCol(cost, 0.0, _INF, len(combo) + 1, _ints([*combo, n]), _floats([1.0] * (len(combo) + 1)))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError("exact leximin stage is not optimal")
    sol = h.getSolution()
    x = sol.col_value[1:]
    probs = [0.0] * n
    for combo, w in zip(panels, x, strict=True):
        for i in combo:
            probs[i] += w
    if target is not None:
        return probs[target], probs
    return sol.col_value[0], probs
