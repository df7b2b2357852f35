"""Leximin draws (Maillage) against the maximin of `sortition-algorithms` (highspy), same run.

Run: `.venv/bin/python bench/sortition.py [--repeat 3]`.
For each instance, prints the median wall time and the smallest selection probability of
each, and the time ratio (baseline / Maillage). Maillage's time is the whole preparation of a
draw (quota checks, leximin by column generation, exact lottery); the baseline's is its
`find_distribution_maximin` with the highspy backend (its own setup included). Target: a
smallest probability at least the baseline's, in less time.

Instances (tests/data/sortition/):
- 40 members, 12 organisations in 3 territories, k=3: one per territory, at most one per
  organisation, one or two per gender (pool40.csv, quotas40.csv);
- 200 members, k=20, three categories (gender, age, region) drawn skewed against the
  quotas (pool200.csv, quotas200.csv).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scenarios.sortition.draw import plan_draw  # noqa: E402
from scenarios.sortition.pool import (  # noqa: E402
    Person,
    Quota,
    expand_quotas,
    parse_people_csv,
    parse_quotas_csv,
)

DATA = ROOT / "tests" / "data" / "sortition"
INSTANCES = [
    ("40 members, 3 territories, 12 orgs, gender", "pool40.csv", "quotas40.csv", 3),
    ("200 members, 3 skewed categories", "pool200.csv", "quotas200.csv", 20),
]


def maillage(people: list[Person], quotas: list[Quota], k: int) -> float:
    plan = plan_draw(people, quotas, k)
    return float(min(plan.lottery.probabilities().values()))


def baseline(people: list[Person], quotas: list[Quota], k: int) -> float:
    """sortition-algorithms' maximin, highspy backend, on the same people and bounds."""
    from requests.structures import CaseInsensitiveDict
    from sortition_algorithms.committee_generation import find_distribution_maximin
    from sortition_algorithms.features import FeatureValueMinMax
    from sortition_algorithms.people import People
    from sortition_algorithms.utils import set_random_provider

    features: CaseInsensitiveDict = CaseInsensitiveDict()  # type: ignore[type-arg]
    for b in expand_quotas(quotas, people, k):
        features.setdefault(b.attribute, CaseInsensitiveDict())[b.value] = FeatureValueMinMax(min=b.min, max=b.max)
    pool = People([])
    for i, p in enumerate(people):
        pool.add(p.id, {a: p.attributes[a] for a in features}, features, i)
    set_random_provider(42)
    committees, weights, _ = find_distribution_maximin(features, pool, k, [], "highspy")
    got = dict.fromkeys(pool, 0.0)
    for c, w in zip(committees, weights, strict=True):
        for m in c:
            got[m] += w
    return min(got.values())


def timed(fn: object, *args: object) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start, float(value)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each (median time reported)")
    args = ap.parse_args()
    import logging

    logging.disable(logging.INFO)  # the baseline logs each step at INFO
    print(f"{'instance':44} {'n':>4} {'k':>3}  {'maillage leximin':>26}  {'baseline maximin':>26}  {'ratio':>7}")
    ok = True
    for label, pool_file, quota_file, k in INSTANCES:
        people = parse_people_csv((DATA / pool_file).read_text("utf-8"))
        quotas = parse_quotas_csv((DATA / quota_file).read_text("utf-8"))
        maillage(people, quotas, k)  # warm-up: imports and solver libraries, for both
        baseline(people, quotas, k)
        ours = [timed(maillage, people, quotas, k) for _ in range(args.repeat)]
        base = [timed(baseline, people, quotas, k) for _ in range(args.repeat)]
        t_ours = statistics.median(t for t, _ in ours)
        t_base = statistics.median(t for t, _ in base)
        p_ours = min(p for _, p in ours)
        p_base = max(p for _, p in base)
        # The baseline's float can sit a few 1e-17 above the exact optimum Maillage reaches.
        at_least = p_ours >= p_base - 1e-12
        faster = t_ours < t_base
        ok = ok and at_least and faster
        print(
            f"{label:44} {len(people):>4} {k:>3}  {t_ours:8.3f} s [{p_ours:.10f}]  "
            f"{t_base:8.3f} s [{p_base:.10f}]  {t_base / t_ours:6.1f}x"
            f"  smallest ≥ baseline: {'yes' if at_least else 'NO'}, faster: {'yes' if faster else 'NO'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
