"""A pulse's results: counts per score, means, the groups' counts and the comments in the seed's
order, computed once at the close from the answers (which then lose who gave them)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from scenarios.pulse.config import SHOWN_FROM

SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Given:
    """One member's answer to the whole pulse, as the close reads it (never kept as such)."""

    member: str
    scores: tuple[int, ...]
    """One per question, in the questions' order."""
    comment: str | None


def pulse_seed(seed: str, network: str, pulse_key: str) -> str:
    """The pulse's seed: SHA-256 of the ritual's seed, the network and the pulse (its local
    date); it orders the comments, so their order says nothing of who wrote first."""
    return hashlib.sha256(f"météo\x1f{seed}\x1f{network}\x1f{pulse_key}".encode()).hexdigest()


def shuffled(comments: Sequence[str], seed: str) -> list[str]:
    """The comments in an order drawn from the seed alone (not the order given)."""
    return sorted(comments, key=lambda c: (hashlib.sha256(f"{seed}\x1f{c}".encode()).hexdigest(), c))


def counts(given: Sequence[Given], question: int) -> dict[str, int]:
    """How many gave each score (1 to 5) to one question (0-based)."""
    out = {str(s): 0 for s in SCORES}
    for g in given:
        out[str(g.scores[question])] += 1
    return out


def tenths(count: Mapping[str, int]) -> int | None:
    """The mean score in tenths, rounded half up (38 for 3,8); None without answers."""
    n = sum(count.values())
    if not n:
        return None
    total = sum(int(score) * c for score, c in count.items())
    return (total * 10 * 2 + n) // (2 * n)


def split(given: Sequence[Given], group_of: Callable[[str], str], questions: int) -> list[dict[str, object]] | None:
    """The results per group (an organisation, a territory; "" when not given), or None when
    any group has fewer than SHOWN_FROM answers: showing the others would tell the small
    one's by subtraction from the whole network's."""
    groups: dict[str, list[Given]] = {}
    for g in given:
        groups.setdefault(group_of(g.member), []).append(g)
    if len(groups) < 2 or any(len(v) < SHOWN_FROM for v in groups.values()):
        return None
    return [{"group": name, "answers": len(groups[name]),
             "tenths": [tenths(counts(groups[name], q)) for q in range(questions)]}
            for name in sorted(groups, key=lambda k: (k == "", k.casefold()))]


def summary(given: Sequence[Given], *, questions: int, asked: int, seed: str,
            organisation_of: Callable[[str], str], territory_of: Callable[[str], str]) -> dict[str, object]:
    """What the pulse's record keeps: always the number asked and answered; the counts, the
    means, the comments and the splits only from SHOWN_FROM answers. No member key, no
    per-member row: one answer is never told apart from the others."""
    out: dict[str, object] = {"asked": asked, "answered": len(given), "questions": questions,
                              "shown": len(given) >= SHOWN_FROM}
    if len(given) < SHOWN_FROM:
        return out
    per_question = [counts(given, q) for q in range(questions)]
    out["counts"] = per_question
    out["tenths"] = [tenths(c) for c in per_question]
    out["comments"] = shuffled([g.comment for g in given if g.comment], seed)
    out["by_organisation"] = split(given, organisation_of, questions)
    out["by_territory"] = split(given, territory_of, questions)
    return out
