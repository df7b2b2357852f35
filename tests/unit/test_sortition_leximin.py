"""Leximin by column generation against the exact LP over every panel, on small pools."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import pytest

from scenarios.sortition.leximin import (
    Infeasible,
    build_problem,
    exact_leximin,
    leximin,
    member_probabilities,
)
from scenarios.sortition.lottery import exact_lottery, round_distribution
from scenarios.sortition.pool import (
    Bound,
    Person,
    Quota,
    expand_quotas,
    parse_people_csv,
    parse_quotas_csv,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "sortition"


def _instance(seed: int) -> tuple[list[Person], list[Bound], int]:
    """A small network: territories, organisations, a college; quotas like the real ones."""
    rng = random.Random(seed)
    n = rng.randint(8, 12)
    k = rng.randint(2, 4)
    people = [
        Person(
            f"p{i:02d}",
            {
                "territoire": rng.choice(["Nord", "Nord", "Sud", "Est"]),
                "structure": rng.choice(["S1", "S2", "S3", "S4", "S5"]),
                "college": rng.choice(["salarié", "bénévole"]),
            },
        )
        for i in range(n)
    ]
    quotas = [Quota("structure", None, 0, rng.choice([1, 2])), Quota("college", None, 1, k)]
    if rng.random() < 0.6:
        quotas.append(Quota("territoire", None, 0, rng.choice([1, 2])))
    return people, expand_quotas(quotas, people, k), k


def _feasible_instances(count: int) -> list[tuple[int, list[Person], list[Bound], int]]:
    out: list[tuple[int, list[Person], list[Bound], int]] = []
    seed = 0
    while len(out) < count:
        people, bounds, k = _instance(seed)
        try:
            exact_leximin(people, bounds, k)
        except Infeasible:
            seed += 1
            continue
        out.append((seed, people, bounds, k))
        seed += 1
    return out


INSTANCES = _feasible_instances(8)


@pytest.mark.parametrize(("seed", "people", "bounds", "k"), INSTANCES, ids=[f"seed{s}" for s, *_ in INSTANCES])
def test_column_generation_matches_the_exact_lp_over_all_panels(
    seed: int, people: list[Person], bounds: list[Bound], k: int
) -> None:
    exact = exact_leximin(people, bounds, k)
    problem = build_problem(people, bounds, k)
    dist = leximin(problem)
    ours = member_probabilities(problem, dist.probabilities)
    # The leximin vector is unique: every member's probability, not only the smallest, agrees.
    assert max(abs(ours[m] - exact[m]) for m in exact) < 1e-6
    assert abs(min(ours.values()) - min(exact.values())) < 1e-6
    assert abs(sum(ours.values()) - k) < 1e-9
    assert all(problem.valid(c) for c in dist.compositions)
    assert abs(sum(dist.weights) - 1) < 1e-9


@pytest.mark.parametrize(("seed", "people", "bounds", "k"), INSTANCES[:4], ids=[f"seed{s}" for s, *_ in INSTANCES[:4]])
def test_balanced_over_history_matches_the_exact_lp(
    seed: int, people: list[Person], bounds: list[Bound], k: int
) -> None:
    offsets = {p.id: i % 3 for i, p in enumerate(people)}
    exact = exact_leximin(people, bounds, k, offsets)
    problem = build_problem(people, bounds, k, offsets)
    ours = member_probabilities(problem, leximin(problem).probabilities)
    assert max(abs(ours[m] - exact[m]) for m in exact) < 1e-6


def test_exact_lottery_gives_rational_probabilities_summing_to_k() -> None:
    for _, people, bounds, k in INSTANCES:
        problem = build_problem(people, bounds, k)
        dist = leximin(problem)
        lot = exact_lottery(problem, dist) or round_distribution(problem, dist)
        probs = lot.probabilities()
        assert sum(probs.values(), Fraction(0)) == k
        floats = member_probabilities(problem, dist.probabilities)
        assert all(abs(float(probs[m]) - floats[m]) < 1e-8 for m in probs)
        assert sum(lot.tickets) == lot.size
        assert all(problem.valid(c) for c in lot.compositions)


def test_forty_members_smallest_probability_is_one_in_fourteen_exactly() -> None:
    """Nord has 14 members and exactly one seat per panel, so no one can do better than 1/14
    for all of them; leximin reaches it, and the lottery carries it exactly."""
    people = parse_people_csv((DATA / "pool40.csv").read_text())
    quotas = parse_quotas_csv((DATA / "quotas40.csv").read_text())
    bounds = expand_quotas(quotas, people, 3)
    problem = build_problem(people, bounds, 3)
    dist = leximin(problem)
    lot = exact_lottery(problem, dist)
    assert lot is not None
    probs = lot.probabilities()
    assert min(probs.values()) == Fraction(1, 14)
    assert {p for m, p in probs.items() if m >= "m15"} == {Fraction(1, 13)}
    assert abs(dist.smallest() - 1 / 14) < 1e-9


def test_members_no_valid_panel_includes_get_zero() -> None:
    people = [Person("a", {"t": "N"}), Person("b", {"t": "N"}), Person("c", {"t": "S"}), Person("d", {})]
    bounds = expand_quotas([Quota("t", None, 1, 1)], people, 2)
    problem = build_problem(people, bounds, 2)
    probs = member_probabilities(problem, leximin(problem).probabilities)
    assert probs == pytest.approx({"a": 0.5, "b": 0.5, "c": 1.0, "d": 0.0})


def test_no_valid_panel_at_all_is_infeasible() -> None:
    people = [Person("a", {"t": "N"}), Person("b", {"t": "N"})]
    bounds = [Bound("t", "N", 0, 1)]
    with pytest.raises(Infeasible):
        leximin(build_problem(people, bounds, 2))


def test_same_input_same_distribution() -> None:
    _, people, bounds, k = INSTANCES[0]
    a = leximin(build_problem(people, bounds, k))
    b = leximin(build_problem(list(reversed(people)), list(reversed(bounds)), k))
    assert a.compositions == b.compositions and a.weights == b.weights
