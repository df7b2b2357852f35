"""The draw record: what is published, how the panel follows from it, and its verification."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.kernel.i18n import Code, Msg
from bot.kernel.sealing import hashed_id
from scenarios.sortition.digest import digest
from scenarios.sortition.draw import Plan
from scenarios.sortition.leximin import (
    ALGORITHM,
    Infeasible,
    Problem,
    build_problem,
    leximin,
    member_probabilities,
)
from scenarios.sortition.lottery import Lottery, panel_of, replacements
from scenarios.sortition.pool import Bound, Person, Quota, SortitionError, expand_quotas
from scenarios.sortition.seed import Contribution, combine, commitment_of

FORMAT = "maillage-draw/2"
"""Version 2 hashes each person's identifier (`bot.kernel.sealing.id_hash`) wherever it enters
the record's hashes or its chance, so forgetting a person (their identifier replaced by a
pseudonym, its hash kept in `sealed`) leaves the record verifiable; version 1 hashed the
identifiers themselves."""
FORMAT_1 = "maillage-draw/1"
KNOWN_FORMATS = (FORMAT, FORMAT_1)
KNOWN_ALGORITHMS = (ALGORITHM,)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonEntry(_Model):
    id: str
    attributes: dict[str, str] = Field(default_factory=dict)


class ExcludedEntry(_Model):
    id: str
    attributes: dict[str, str] = Field(default_factory=dict)
    reason: str = "rotation"
    draw: int | None = None


class QuotaEntry(_Model):
    attribute: str
    value: str | None = None
    min: int = 0
    max: int | None = None


class BoundEntry(_Model):
    attribute: str
    value: str
    min: int
    max: int


class LotteryEntry(_Model):
    size: int
    profiles: list[list[str]]
    compositions: list[list[int]]
    tickets: list[int]


class Hashes(_Model):
    pool: str
    quotas: str
    lottery: str
    draw: str


class Replacement(_Model):
    """A member of the panel who declined (or did not answer in time) and who took the seat."""

    member: str
    reason: Literal["declined", "no_answer"] = "declined"
    replaced_by: list[str] = Field(default_factory=list)


class DrawRecord(_Model):
    format: str = FORMAT
    algorithm: str = ALGORITHM
    title: str = ""
    k: int
    pool: list[PersonEntry]
    excluded: list[ExcludedEntry] = Field(default_factory=list)
    history: dict[str, int] = Field(default_factory=dict)
    """Past selections per member when the draw balances over history (leximin of past
    selections plus this draw's probability)."""
    quotas: list[QuotaEntry] = Field(default_factory=list)
    bounds: list[BoundEntry] = Field(default_factory=list)
    lottery: LotteryEntry
    probabilities: dict[str, str]
    """Each member's exact chance under the lottery, as a fraction "a/b"."""
    leximin_levels: list[str] = Field(default_factory=list)
    """The solver's successive maximin values (information; floats printed to 12 places)."""
    hashes: Hashes
    contributions: list[Contribution] = Field(default_factory=list)
    seed: str | None = None
    ticket: int | None = None
    panel: list[str] = Field(default_factory=list)
    replacements: list[Replacement] = Field(default_factory=list)
    final_panel: list[str] = Field(default_factory=list)
    sealed: dict[str, str] = Field(default_factory=dict)
    """Pseudonym of a forgotten person → the hash of the identifier it replaced (version 2)."""


def id_of(r: DrawRecord) -> Callable[[str], str]:
    """What the record's hashes and chance read for a person's identifier."""
    if r.format == FORMAT_1:
        return lambda m: m
    return lambda m: hashed_id(r.sealed, m)


# --- building ---------------------------------------------------------------------


def _lottery_entry(lot: Lottery) -> LotteryEntry:
    return LotteryEntry(
        size=lot.size,
        profiles=[list(p) for p in lot.profiles],
        compositions=[list(c) for c in lot.compositions],
        tickets=list(lot.tickets),
    )


def _lottery(entry: LotteryEntry) -> Lottery:
    return Lottery(
        entry.size,
        tuple(tuple(p) for p in entry.profiles),
        tuple(tuple(c) for c in entry.compositions),
        tuple(entry.tickets),
    )


def fraction_text(p: Fraction) -> str:
    return f"{p.numerator}/{p.denominator}"


def compute_hashes(r: DrawRecord) -> Hashes:
    """pool: who may be drawn, who sits out and why; quotas: k, the quotas as asked and as
    expanded; lottery: the tickets; draw: all of these with the algorithm's name."""
    h = id_of(r)
    pool = digest(
        {
            "pool": [{**p.model_dump(mode="json"), "id": h(p.id)} for p in r.pool],
            "excluded": [{**e.model_dump(mode="json"), "id": h(e.id)} for e in r.excluded],
            "history": {h(m): n for m, n in r.history.items()},
        }
    )
    quotas = digest(
        {
            "k": r.k,
            "quotas": [q.model_dump(mode="json") for q in r.quotas],
            "bounds": [b.model_dump(mode="json") for b in r.bounds],
        }
    )
    lottery = digest({**r.lottery.model_dump(mode="json"), "profiles": [[h(m) for m in p] for p in r.lottery.profiles]})
    draw = digest(
        {
            "format": r.format,
            "algorithm": r.algorithm,
            "title": r.title,
            "pool": pool,
            "quotas": quotas,
            "lottery": lottery,
        }
    )
    return Hashes(pool=pool, quotas=quotas, lottery=lottery, draw=draw)


def new_record(plan: Plan, title: str = "") -> DrawRecord:
    """The record as published before the seed: inputs, lottery, probabilities, hashes."""
    lot = plan.lottery
    r = DrawRecord(
        title=title,
        k=plan.k,
        pool=[PersonEntry(id=p.id, attributes=_used(p, plan.bounds)) for p in plan.people],
        excluded=[
            ExcludedEntry(
                id=e.person.id, attributes=_used(e.person, plan.bounds), reason=e.reason, draw=e.draw
            )
            for e in plan.excluded
        ],
        history=dict(sorted(plan.offsets.items())),
        quotas=[QuotaEntry(attribute=q.attribute, value=q.value, min=q.min, max=q.max) for q in plan.quotas],
        bounds=[BoundEntry(attribute=b.attribute, value=b.value, min=b.min, max=b.max) for b in plan.bounds],
        lottery=_lottery_entry(lot),
        probabilities={m: fraction_text(p) for m, p in lot.probabilities().items()},
        leximin_levels=[f"{z:.12f}" for z in plan.distribution.levels],
        hashes=Hashes(pool="", quotas="", lottery="", draw=""),
    )
    return r.model_copy(update={"hashes": compute_hashes(r)})


def _used(p: Person, bounds: Sequence[Bound]) -> dict[str, str]:
    """Only the attributes quotas use go into the record: enough to check it, no more."""
    names = {b.attribute for b in bounds}
    return {a: v for a, v in sorted(p.attributes.items()) if a in names}


def _people(entries: Sequence[PersonEntry | ExcludedEntry]) -> list[Person]:
    return [Person(e.id, dict(e.attributes)) for e in entries]


def problem_of(r: DrawRecord) -> Problem:
    bounds = [Bound(b.attribute, b.value, b.min, b.max) for b in r.bounds]
    return build_problem(_people(r.pool), bounds, r.k, r.history)


def draw(r: DrawRecord, contributions: Sequence[Contribution]) -> DrawRecord:
    """Seed from the contributions, ticket, panel: pure integer arithmetic and SHA-256."""
    h = id_of(r)
    seed = combine(r.hashes.draw, [c.model_copy(update={"member": h(c.member)}) for c in contributions])
    ticket, panel = panel_of(_lottery(r.lottery), seed, h)
    return r.model_copy(
        update={
            "contributions": list(contributions),
            "seed": seed,
            "ticket": ticket,
            "panel": panel,
            "final_panel": panel,
            "replacements": [],
        }
    )


def replace(
    r: DrawRecord, member: str, reason: Literal["declined", "no_answer"], problem: Problem | None = None
) -> tuple[DrawRecord, list[str]]:
    """`member` leaves the panel: the next members of the reserve list who keep every bound
    take the empty seats. Returns the record and who was added (possibly nobody)."""
    if r.seed is None or member not in r.final_panel:
        return r, []
    problem = problem or problem_of(r)
    kept = [m for m in r.final_panel if m != member]
    ever = set(r.panel) | {m for rep in r.replacements for m in [rep.member, *rep.replaced_by]}
    ever.add(member)
    added = replacements(problem, r.seed, kept, ever, r.k - len(kept), id_of(r)) or []
    rep = Replacement(member=member, reason=reason, replaced_by=added)
    return (
        r.model_copy(
            update={
                "replacements": [*r.replacements, rep],
                "final_panel": sorted(kept + added),
            }
        ),
        added,
    )


def probability_of(r: DrawRecord, member: str) -> Fraction | None:
    text = r.probabilities.get(member)
    if text is None:
        return None
    num, den = text.split("/")
    return Fraction(int(num), int(den))


def smallest_probability(r: DrawRecord) -> Fraction:
    return min((Fraction(p) for p in r.probabilities.values()), default=Fraction(0))


def largest_probability(r: DrawRecord) -> Fraction:
    return max((Fraction(p) for p in r.probabilities.values()), default=Fraction(0))


# --- verification -----------------------------------------------------------------


@dataclass
class Verdict:
    ok: bool
    problems: list[Msg] = field(default_factory=list)
    record: DrawRecord | None = None


def _optimality(problem: Problem, probs: Mapping[str, Fraction]) -> list[Msg]:
    try:
        optimum = member_probabilities(problem, leximin(problem).probabilities)
    except Infeasible:
        return [Msg("sortition.verify.composition", index=0)]
    gaps = sorted(((abs(float(probs[m]) - optimum[m]), m) for m in optimum), reverse=True)
    worst, member = gaps[0] if gaps else (0.0, "")
    if worst <= 1e-6:
        return []
    return [
        Msg(
            "sortition.verify.not_leximin",
            count=sum(1 for g, _ in gaps if g > 1e-6),
            member=member,
            published=round(float(probs[member]) * 100, 4),
            optimum=round(optimum[member] * 100, 4),
        )
    ]


def load(data: Mapping[str, Any]) -> DrawRecord:
    try:
        return DrawRecord.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "-"
        raise SortitionError(
            Msg("sortition.verify.malformed", where=Code(text=where), detail=first["msg"])
        ) from None


def verify_record(data: Mapping[str, Any], check_optimal: bool = True) -> Verdict:
    """Replay a record from its inputs and compare every result it states. With
    `check_optimal`, also solve the leximin program again and check that the published
    probabilities are its optimum (within 1e-6: solvers may differ in the last digits)."""
    try:
        r = load(data)
    except SortitionError as e:
        return Verdict(False, [e.msg])
    problems: list[Msg] = []
    if r.format not in KNOWN_FORMATS:
        return Verdict(False, [Msg("sortition.verify.unknown_format", found=r.format, expected=FORMAT)], r)
    if r.algorithm not in KNOWN_ALGORITHMS:
        return Verdict(
            False, [Msg("sortition.verify.unknown_algorithm", found=r.algorithm, expected=ALGORITHM)], r
        )
    hashes = compute_hashes(r)
    for name in ("pool", "quotas", "lottery", "draw"):
        if getattr(hashes, name) != getattr(r.hashes, name):
            problems.append(Msg("sortition.verify.hash", which=name))
    ids = [p.id for p in r.pool]
    # Version 2: a pseudonym keeps its place (its hash is what was ordered), so only repeats count.
    if ids != sorted(set(ids)) and (r.format == FORMAT_1 or len(ids) != len(set(ids))):
        problems.append(Msg("sortition.verify.pool_order"))
    if {e.id for e in r.excluded} & set(ids):
        problems.append(Msg("sortition.verify.excluded_in_pool"))
    everyone = _people([*r.pool, *r.excluded])
    try:
        bounds = expand_quotas(
            [Quota(q.attribute, q.value, q.min, q.max) for q in r.quotas], everyone, r.k
        )
    except SortitionError as e:
        return Verdict(False, [*problems, e.msg], r)
    if [Bound(b.attribute, b.value, b.min, b.max) for b in r.bounds] != bounds:
        problems.append(Msg("sortition.verify.bounds"))
        return Verdict(False, problems, r)
    problem = problem_of(r)
    lot = _lottery(r.lottery)
    if [sorted(p) for p in lot.profiles] != [sorted(p.members) for p in problem.profiles] or (
            r.format == FORMAT_1 and lot.profiles != tuple(p.members for p in problem.profiles)):
        problems.append(Msg("sortition.verify.profiles"))
        return Verdict(False, problems, r)
    if sum(lot.tickets) != lot.size or any(n <= 0 for n in lot.tickets):
        problems.append(Msg("sortition.verify.tickets", total=sum(lot.tickets), size=lot.size))
    for i, comp in enumerate(lot.compositions):
        if not problem.valid(comp):
            problems.append(Msg("sortition.verify.composition", index=i + 1))
    if problems:
        # A lottery that is not well formed cannot be replayed; the problems say why.
        return Verdict(False, problems, r)
    probs = lot.probabilities()
    if {m: fraction_text(p) for m, p in probs.items()} != dict(sorted(r.probabilities.items())):
        problems.append(Msg("sortition.verify.probabilities"))
    if sum(probs.values(), Fraction(0)) != r.k:
        problems.append(Msg("sortition.verify.probability_sum", k=r.k))
    if check_optimal:
        problems += _optimality(problem, probs)
    if r.seed is None:
        return Verdict(not problems, problems, r)
    for c in r.contributions:
        if c.status == "revealed" and (c.secret is None or c.commitment != commitment_of(c.secret)):
            problems.append(Msg("sortition.verify.commitment", member=c.member))
        if c.status in ("committed", "missing") and c.secret is not None:
            problems.append(Msg("sortition.verify.commitment", member=c.member))
    replay = draw(r, r.contributions)
    if replay.seed != r.seed:
        problems.append(Msg("sortition.verify.seed"))
    if replay.ticket != r.ticket or sorted(replay.panel) != sorted(r.panel):
        problems.append(
            Msg("sortition.verify.panel", ticket=(replay.ticket or 0) + 1, panel=Code(text=", ".join(replay.panel)))
        )
    for rep in r.replacements:
        replay, _ = replace(replay, rep.member, rep.reason, problem)
    if replay.replacements != r.replacements:
        problems.append(Msg("sortition.verify.replacements"))
    if sorted(replay.final_panel) != sorted(r.final_panel):
        problems.append(
            Msg("sortition.verify.final_panel", panel=Code(text=", ".join(replay.final_panel)))
        )
    return Verdict(not problems, problems, r)
