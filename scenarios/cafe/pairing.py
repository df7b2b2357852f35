"""Who meets whom this month: the weighted graph of the opted-in members and its maximum-weight matching.

Pure and reproducible: the same people, history and seed give the same pairs. The order in
which people and edges enter the graph comes from the month's seed (networkx's matching is
deterministic given that order), never from the global random generator nor the clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

# The weights, stated once (README "Café-réseau" says the same). Every pair that may meet is an
# edge of weight BASE plus its bonuses; two people of one organisation have no edge at all.
BASE = 1
TERRITORY = 10
"""Both territories known and different."""
NEWCOMER = 20
"""Exactly one of the two is a newcomer: a newcomer meets someone of long standing."""
REPEAT_AGE_CAP = 12
"""A pair that met before gains the number of rounds since they last met, at most this: the
longest-unseen repeat is preferred when a repeat cannot be avoided."""
FRESH_PER_PERSON = 64
"""Never met before: FRESH_PER_PERSON × the number of people. Larger than every other bonus of
a whole matching together (at most (BASE + TERRITORY + NEWCOMER + REPEAT_AGE_CAP) × n/2 =
21.5 n < 64 n), so a matching with one more never-met pair always wins."""


@dataclass(frozen=True)
class Person:
    """One opted-in member as the pairing sees them."""

    key: str
    organisation: str | None
    """None: no organisation known, so no one shares it."""
    territory: str | None
    newcomer: bool


@dataclass(frozen=True)
class Grouping:
    """This round's groups (pairs, and trios when someone was left over) and who could not be
    paired (no one of another organisation left); each group in the seeded order."""

    groups: tuple[tuple[str, ...], ...]
    alone: tuple[str, ...]


def round_seed(seed: str, network: str, round_key: str) -> str:
    """The round's seed: SHA-256 of the ritual's seed, the network and the round (its local
    date), in hexadecimal; kept in the round's record so anyone can replay it."""
    return hashlib.sha256(f"café-réseau\x1f{seed}\x1f{network}\x1f{round_key}".encode()).hexdigest()


def _rank(seed: str, key: str) -> str:
    return hashlib.sha256(f"{seed}\x1f{key}".encode()).hexdigest()


def _same_org(a: Person, b: Person) -> bool:
    return (a.organisation is not None and b.organisation is not None
            and a.organisation.casefold() == b.organisation.casefold())


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def weight(a: Person, b: Person, ago: int | None, people: int) -> int:
    """The edge's weight; `ago`: rounds since the two last met (None: never)."""
    w = BASE
    if a.territory and b.territory and a.territory.casefold() != b.territory.casefold():
        w += TERRITORY
    if a.newcomer != b.newcomer:
        w += NEWCOMER
    if ago is None:
        w += FRESH_PER_PERSON * people
    else:
        w += min(max(ago, 0), REPEAT_AGE_CAP)
    return w


def graph(people: Sequence[Person], met: Mapping[tuple[str, str], int], seed: str) -> nx.Graph:
    """The graph of who may meet: people in the seeded order, an edge for each two of
    different organisations, weighted by `weight`. `met`: rounds since each pair (`pair_key`)
    last met."""
    order = sorted(people, key=lambda p: (_rank(seed, p.key), p.key))
    g = nx.Graph()
    g.add_nodes_from(p.key for p in order)
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            if not _same_org(a, b):
                g.add_edge(a.key, b.key, weight=weight(a, b, met.get(pair_key(a.key, b.key)), len(order)))
    return g


def pair(people: Sequence[Person], met: Mapping[tuple[str, str], int], seed: str) -> Grouping:
    """Pairs by maximum-weight matching among the matchings of most pairs (`maxcardinality`);
    someone left over joins the pair where their two edges weigh most (a trio), one extra per
    pair; whoever is still left (everyone else is of their organisation) is alone this round."""
    g = graph(people, met, seed)
    order = {key: i for i, key in enumerate(g.nodes)}
    matching = nx.max_weight_matching(g, maxcardinality=True, weight="weight")
    pairs = sorted((tuple(sorted(e, key=order.__getitem__)) for e in matching), key=lambda e: order[e[0]])
    groups: list[list[str]] = [list(p) for p in pairs]
    matched = {k for p in pairs for k in p}
    alone: list[str] = []
    for key in g.nodes:
        if key in matched:
            continue
        best: tuple[int, int] | None = None
        for i, grp in enumerate(groups):
            if len(grp) != 2 or not all(g.has_edge(key, other) for other in grp):
                continue
            score = sum(int(g.edges[key, other]["weight"]) for other in grp)
            if best is None or score > best[0]:
                best = (score, i)
        if best is None:
            alone.append(key)
        else:
            groups[best[1]].append(key)
    return Grouping(groups=tuple(tuple(grp) for grp in groups), alone=tuple(alone))


def fresh_matching_exists(people: Sequence[Person], met: Mapping[tuple[str, str], int], seed: str) -> bool:
    """Whether the people could all be paired (all but one when their number is odd) by pairs
    that never met: the matching of the graph without the edges of pairs that met before."""
    g = graph(people, met, seed)
    g.remove_edges_from([e for e in g.edges if pair_key(*e) in met])
    return 2 * len(nx.max_weight_matching(g, maxcardinality=True)) >= len(people) - len(people) % 2
