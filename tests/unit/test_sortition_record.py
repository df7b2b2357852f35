"""The draw record: seed from commit–reveal, replay, reserve list, and tamper detection."""

from __future__ import annotations

import json
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from scenarios.sortition.draw import Exclusion, plan_draw
from scenarios.sortition.lottery import panel_of, rank
from scenarios.sortition.pool import Quota, parse_people_csv, parse_quotas_csv
from scenarios.sortition.record import (
    DrawRecord,
    _lottery,
    compute_hashes,
    draw,
    fraction_text,
    id_of,
    new_record,
    problem_of,
    replace,
    verify_record,
)
from scenarios.sortition.seed import Contribution, combine, commitment_of, normalise_commitment

DATA = Path(__file__).resolve().parents[1] / "data" / "sortition"
PEOPLE = parse_people_csv((DATA / "pool40.csv").read_text())
QUOTAS = parse_quotas_csv((DATA / "quotas40.csv").read_text())
BY_ID = {p.id: p for p in PEOPLE}


@pytest.fixture(scope="module")
def published() -> DrawRecord:
    plan = plan_draw(PEOPLE, QUOTAS, 3, [Exclusion(BY_ID["m01"], "rotation", 4)])
    return new_record(plan, "délégué")


def _revealed(*pairs: tuple[str, str]) -> list[Contribution]:
    return [Contribution(member=m, commitment=commitment_of(s), secret=s, status="revealed") for m, s in pairs]


def test_commitment_is_the_sha256_of_the_utf8_secret() -> None:
    c = commitment_of("abc")  # the FIPS 180-2 test vector
    assert c == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert commitment_of("tirage à Lyon") != commitment_of("tirage a Lyon")
    assert normalise_commitment(c.upper()) == c
    assert normalise_commitment(" ".join(c[i : i + 8] for i in range(0, 64, 8))) == c
    assert normalise_commitment("tournesol") is None


def test_seed_ignores_order_and_missing_reveals_but_not_secrets(published: DrawRecord) -> None:
    h = published.hashes.draw
    a = _revealed(("bob", "x"), ("chloe", "y"))
    missing = Contribution(member="dina", commitment=commitment_of("z"), status="missing")
    assert combine(h, a) == combine(h, list(reversed(a))) == combine(h, [*a, missing])
    assert combine(h, a) != combine(h, _revealed(("bob", "x"), ("chloe", "y2")))
    assert combine(h, a) != combine("0" * 64, a)


def test_draw_then_verify_reproduces(published: DrawRecord) -> None:
    r = draw(published, _revealed(("bob", "x"), ("chloe", "y")))
    assert r.seed is not None and len(r.panel) == 3
    assert "m01" not in r.panel
    v = verify_record(json.loads(r.model_dump_json()))
    assert v.ok, v.problems
    assert sum(Fraction(p) for p in r.probabilities.values()) == 3


def test_panels_follow_the_lottery_probabilities(published: DrawRecord) -> None:
    """1,500 seeds: every panel meets the quotas, and members are drawn as often as the
    published probabilities say (within 5 standard deviations)."""
    lot = _lottery(published.lottery)
    problem = problem_of(published)
    where = {m: t for t, p in enumerate(problem.profiles) for m in p.members}
    counts: Counter[str] = Counter()
    n = 1500
    for i in range(n):
        _, panel = panel_of(lot, f"{i:064x}")
        comp = [0] * len(problem.profiles)
        for m in panel:
            comp[where[m]] += 1
        assert problem.valid(tuple(comp))
        counts.update(panel)
    for m, text in published.probabilities.items():
        p = float(Fraction(text))
        sd = (n * p * (1 - p)) ** 0.5
        assert abs(counts[m] - n * p) <= 5 * sd + 1


def test_refusal_takes_the_next_compatible_member_of_the_reserve_list(published: DrawRecord) -> None:
    r = draw(published, _revealed(("bob", "x"), ("chloe", "y")))
    assert r.seed is not None
    leaving = r.panel[0]
    r2, added = replace(r, leaving, "declined")
    assert len(added) == 1 and added[0] not in r.panel and added[0] != "m01"
    problem = problem_of(r)
    where = {m: t for t, p in enumerate(problem.profiles) for m in p.members}
    comp = [0] * len(problem.profiles)
    for m in r2.final_panel:
        comp[where[m]] += 1
    assert problem.valid(tuple(comp))
    # It is the first of the reserve list whose profile fits: everyone before it does not.
    reserve = [m for m in rank(r.seed, "reserve", list(where), id_of(r)) if m not in r.panel]
    before = reserve[: reserve.index(added[0])]
    for m in before:
        trial = [0] * len(problem.profiles)
        for x in [*r2.final_panel, m]:
            if x != added[0]:
                trial[where[x]] += 1
        assert not problem.valid(tuple(trial))
    assert verify_record(json.loads(r2.model_dump_json())).ok


def test_no_compatible_replacement_leaves_the_seat_empty() -> None:
    people = parse_people_csv("id,t\na,N\nb,S\nc,S\n")
    plan = plan_draw(people, [Quota("t", None, 1, 1)], 2)
    r = draw(new_record(plan), _revealed(("x", "y")))
    r2, added = replace(r, "a", "no_answer")
    assert added == [] and r2.final_panel == sorted(set(r.panel) - {"a"})
    assert r2.replacements[0].reason == "no_answer"
    assert verify_record(json.loads(r2.model_dump_json())).ok


def _tampered(r: DrawRecord, path: list[Any], value: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(r.model_dump_json())
    node: Any = data
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        (["pool", 0, "attributes", "territoire"], "Sud", "sortition.verify.hash"),
        (["k"], 4, "sortition.verify.hash"),
        (["lottery", "tickets", 0], 1, "sortition.verify.hash"),
        (["probabilities", "m02"], "1/2", "sortition.verify.probabilities"),
        (["seed"], "0" * 64, "sortition.verify.seed"),
        (["ticket"], 0, "sortition.verify.panel"),
        (["panel"], ["m02", "m15", "m28"], "sortition.verify.panel"),
        (["final_panel"], ["m02", "m15", "m28"], "sortition.verify.final_panel"),
        (["contributions", 0, "secret"], "autre", "sortition.verify.commitment"),
        (["algorithm"], "maillage-leximin/0", "sortition.verify.unknown_algorithm"),
        (["format"], "autre/1", "sortition.verify.unknown_format"),
        (["k"], "trois", "sortition.verify.malformed"),
    ],
)
def test_tampering_is_detected(published: DrawRecord, path: list[Any], value: Any, key: str) -> None:
    r = draw(published, _revealed(("bob", "x"), ("chloe", "y")))
    verdict = verify_record(_tampered(r, path, value))
    assert not verdict.ok
    assert key in [p.key for p in verdict.problems]


def test_a_published_record_replays_identically() -> None:
    """A record written by this version (tests/data/sortition/record40.json): its panel must
    replay the same on every machine and every later version that keeps its algorithm."""
    data = json.loads((DATA / "record40.json").read_text("utf-8"))
    verdict = verify_record(data)
    assert verdict.ok, verdict.problems
    assert verdict.record is not None and verdict.record.final_panel == data["final_panel"]


def test_a_valid_but_unfair_lottery_is_caught_by_solving_again(published: DrawRecord) -> None:
    """All tickets on one composition: quotas hold and the hashes are consistent, but the
    published probabilities are not the leximin optimum."""
    lot = published.lottery.model_copy(
        update={"compositions": [published.lottery.compositions[0]], "tickets": [published.lottery.size]}
    )
    probs = {m: fraction_text(p) for m, p in _lottery(lot).probabilities().items()}
    biased = published.model_copy(update={"lottery": lot, "probabilities": probs})
    biased = biased.model_copy(update={"hashes": compute_hashes(biased)})
    data = json.loads(biased.model_dump_json())
    assert verify_record(data, check_optimal=False).ok
    verdict = verify_record(data)
    assert [p.key for p in verdict.problems] == ["sortition.verify.not_leximin"]
